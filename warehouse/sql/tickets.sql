-- Tickets matching optional filters (null = any), with their economics; newest first.
-- matching_tickets counts every match, so a list cut at $limit (null = none) can say so.
with

scoped as (
    select * from ticket_economics
    where ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
),

final as (
    select
        ticket_id, period, completed_date, region_group, province_name, city_name, city_tier,
        price_tier, technician_id, partner_id, item_code, item_name, item_category, scenario,
        channel, is_urgent, is_rework, is_refunded, revenue_cents, technician_cents,
        partner_cents, payout_cents, count(*) over () as matching_tickets
    from scoped
    where ($period is null or period = $period)
        and ($group is null or region_group = $group)
        and ($province is null or province_name = $province)
        and ($city is null or city_name = $city)
        and ($technician is null or technician_id = $technician)
        and ($item is null or item_code || ' ' || item_name = $item or item_category = $item)
)

select * from final order by completed_date desc, ticket_id limit $limit
