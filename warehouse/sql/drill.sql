-- One level of the region drill-down: totals per child of the chosen parent (null = any).
with

scoped as (
    select * from ticket_economics
    where period = $period
        and ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
        and ($group is null or region_group = $group)
        and ($province is null or province_name = $province)
        and ($city is null or city_name = $city)
),

keyed as (
    select
        case $level
            when 'group' then region_group
            when 'province' then province_name
            when 'city' then city_name
            else technician_id
        end as child,
        *
    from scoped
),

final as (
    select
        child,
        count(*) as tickets,
        sum(revenue_cents) as revenue_cents,
        sum(payout_cents) as payout_cents,
        sum(technician_cents) as technician_cents,
        count(*) filter (where is_urgent) as urgent_tickets,
        count(*) filter (where is_rework) as rework_tickets
    from keyed
    group by child
)

select * from final order by payout_cents desc
