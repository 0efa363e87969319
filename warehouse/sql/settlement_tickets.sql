-- Completed tickets with everything settlement needs about their place and people.
with

tickets as (
    select * from tickets where status = 'completed' and completed_date is not null
),

cities as (select * from cities),
provinces as (select * from provinces),
technicians as (select * from technicians),
partners as (select * from partners),

final as (
    select
        t.ticket_id,
        t.item_code,
        t.quantity,
        t.parts,
        t.city_code,
        c.city_tier,
        c.is_plateau,
        c.province_code,
        p.region_group,
        t.technician_id,
        hc.province_code as technician_province_code,
        t.partner_id,
        pa.partner_type,
        pp.region_group as partner_region_group,
        pa.province_code as partner_province_code,
        t.is_urgent,
        t.is_night,
        t.is_township,
        t.is_high_altitude,
        t.remote_guidance_minutes,
        t.member_level,
        t.order_platform,
        t.order_id,
        t.rework_of,
        t.completed_at,
        t.completed_date
    from tickets as t
    left join cities as c on c.city_code = t.city_code
    left join provinces as p on p.province_code = c.province_code
    left join technicians as tech on tech.technician_id = t.technician_id
    left join cities as hc on hc.city_code = tech.home_city_code
    left join partners as pa on pa.partner_id = t.partner_id
    left join provinces as pp on pp.province_code = pa.province_code
)

select * from final
