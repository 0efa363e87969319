-- Headline figures of a period and the one before it: tickets, revenue, payouts, shares.
with

scoped as (
    select * from ticket_economics
    where period in ($period, $previous)
        and ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
),

final as (
    select
        period,
        count(*) as tickets,
        sum(revenue_cents) as revenue_cents,
        sum(payout_cents) as payout_cents,
        sum(technician_cents) as technician_cents,
        sum(partner_cents) as partner_cents,
        count(*) filter (where is_urgent) as urgent_tickets,
        count(*) filter (where is_rework) as rework_tickets,
        count(*) filter (where is_refunded) as refunded_tickets
    from scoped
    group by period
)

select * from final order by period
