-- Earnings matrix: service item (or category) x region level, for one or all periods.
with

scoped as (
    select * from ticket_economics
    where ($period is null or period = $period)
        and ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
),

keyed as (
    select
        case $rows when 'item' then item_code || ' ' || item_name else item_category end
            as row_key,
        case $columns
            when 'group' then region_group
            when 'province' then province_name
            else city_name
        end as column_key,
        revenue_cents,
        payout_cents
    from scoped
),

final as (
    select
        row_key,
        column_key,
        count(*) as tickets,
        sum(revenue_cents) as revenue_cents,
        sum(payout_cents) as payout_cents
    from keyed
    group by row_key, column_key
)

select * from final order by row_key, column_key
