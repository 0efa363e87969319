-- Completed tickets with the flags whose shares Data health watches per technician and city:
-- urgent, night, remote guidance, rework. One row per ticket, of the $periods asked for (all when
-- null): the tickets behind a spike.
with

tickets as (
    select * from ticket_facts
    where status = 'completed' and completed_date is not null and $may_see_operations
        and ($periods is null or strftime(completed_date, '%Y-%m') = any($periods))
),

final as (
    select
        ticket_id,
        strftime(completed_date, '%Y-%m') as period,
        technician_id,
        city_code,
        city_name,
        coalesce(is_urgent, false) as is_urgent,
        coalesce(is_night, false) as is_night,
        coalesce(remote_guidance_minutes, 0) > 0 as is_remote,
        rework_of is not null as is_rework
    from tickets
)

select * from final order by period, ticket_id
