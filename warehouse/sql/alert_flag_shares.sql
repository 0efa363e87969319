-- Per technician and per city, per period: how many completed tickets, and how many carry each
-- flag Data health watches (urgent, night, remote guidance, rework). The alert arithmetic on
-- these counts is Polars'; the tickets behind a spike are read only for the spikes
-- (alert_ticket_flags of one period).
with

tickets as (
    select * from ticket_facts
    where status = 'completed' and completed_date is not null and $may_see_operations
),

flagged as (
    select
        strftime(completed_date, '%Y-%m') as period,
        technician_id,
        city_name,
        coalesce(is_urgent, false)::integer as urgent,
        coalesce(is_night, false)::integer as night,
        (coalesce(remote_guidance_minutes, 0) > 0)::integer as remote,
        (rework_of is not null)::integer as rework
    from tickets
),

by_subject as (
    select 'technician' as subject_kind, technician_id as subject, period,
        count(*) as tickets, sum(urgent) as urgent, sum(night) as night, sum(remote) as remote,
        sum(rework) as rework
    from flagged where technician_id is not null group by all
    union all
    select 'city' as subject_kind, city_name as subject, period,
        count(*) as tickets, sum(urgent) as urgent, sum(night) as night, sum(remote) as remote,
        sum(rework) as rework
    from flagged where city_name is not null group by all
),

final as (
    unpivot by_subject on urgent, night, remote, rework into name flag value flagged
)

select subject_kind, subject, period, flag, tickets, flagged::bigint as flagged
from final order by subject_kind, subject, period, flag
