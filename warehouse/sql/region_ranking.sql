-- Provinces of a period with their per-ticket economics, for best and worst lists.
with

scoped as (
    select * from ticket_economics
    where period = $period
        and ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
),

final as (
    select
        region_group,
        province_code,
        any_value(province_name) as province_name,
        count(*) as tickets,
        sum(revenue_cents) as revenue_cents,
        sum(payout_cents) as payout_cents,
        sum(revenue_cents) - sum(payout_cents) as margin_cents
    from scoped
    group by region_group, province_code
)

select * from final order by province_code
