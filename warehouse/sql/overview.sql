-- Headline figures of a period and the one before it: tickets, revenue, payouts, shares.
-- Payouts are every settlement line of the period: ticket and charge-back lines (through
-- ticket_economics) plus partner monthly lines and adjustments, which belong to no ticket's
-- region and so are counted only for a view of all regions.
with

scoped as (
    select * from ticket_economics
    where period in ($period, $previous)
        and ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
),

other_lines as (
    select
        period,
        sum(amount_cents) filter (where line_kind = 'partner_monthly') as monthly_cents,
        sum(amount_cents) filter (where line_kind not in ('partner_monthly')) as adjustment_cents
    from settlement_lines
    where period in ($period, $previous)
        and line_kind not in ('ticket', 'chargeback')
        and $all_regions and $technician_id is null
    group by period
),

ticket_totals as (
    select
        period,
        count(*) as tickets,
        sum(revenue_cents) as revenue_cents,
        sum(payout_cents) as ticket_payout_cents,
        sum(technician_cents) as technician_cents,
        sum(partner_cents) as partner_cents,
        count(*) filter (where is_urgent) as urgent_tickets,
        count(*) filter (where is_rework) as rework_tickets,
        count(*) filter (where is_refunded) as refunded_tickets
    from scoped
    group by period
),

final as (
    select
        t.period,
        t.tickets,
        t.revenue_cents,
        t.ticket_payout_cents
        + coalesce(o.monthly_cents, 0)
        + coalesce(o.adjustment_cents, 0) as payout_cents,
        t.ticket_payout_cents,
        coalesce(o.monthly_cents, 0) as monthly_cents,
        coalesce(o.adjustment_cents, 0) as adjustment_cents,
        t.technician_cents,
        t.partner_cents,
        t.urgent_tickets,
        t.rework_tickets,
        t.refunded_tickets
    from ticket_totals as t
    left join other_lines as o on o.period = t.period
)

select * from final order by period
