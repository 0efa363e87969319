-- Earnings matrix: service item (or category) x region level, for one or all periods.
-- column_rank orders columns the way people read China: by region group, then province code.
with

scoped as (
    select * from ticket_economics
    where ($period is null or period = $period)
        and ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
),

-- Summed by place and item first: the keys below are then built once per group, not per ticket.
grouped as (
    select
        item_code, item_name, item_category, region_group, province_code, province_name,
        city_code, city_name,
        count(*) as tickets,
        sum(revenue_cents) as revenue_cents,
        sum(payout_cents) as payout_cents
    from scoped
    group by all
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
        lpad(coalesce(list_position(
            ['华北', '东北', '华东', '华中', '华南', '西南', '西北'], region_group
        ), 99)::varchar, 2, '0')
        || case $columns when 'group' then '' else province_code end
        || case $columns when 'city' then city_code else '' end as column_rank,
        tickets,
        revenue_cents,
        payout_cents
    from grouped
),

final as (
    select
        row_key,
        column_key,
        min(column_rank) as column_rank,
        sum(tickets) as tickets,
        sum(revenue_cents) as revenue_cents,
        sum(payout_cents) as payout_cents
    from keyed
    group by row_key, column_key
)

select * from final order by row_key, column_key
