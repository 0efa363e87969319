-- One row per settled ticket: its place, item, people, revenue and payouts. The dashboard's
-- main fact; its scope columns (region_group, province_code, technician_id) are what row-level
-- access filters on.

create or replace view ticket_economics as
with

payouts as (
    select
        ticket_id,
        any_value(period) as period,
        sum(amount_cents) as payout_cents,
        sum(amount_cents) filter (where payee_type = 'technician') as technician_cents,
        sum(amount_cents) filter (where payee_type <> 'technician') as partner_cents,
        bool_or(is_rework) as is_rework,
        bool_or(is_refunded) as is_refunded,
        any_value(price_tier) filter (where line_kind = 'ticket') as price_tier
    from settlement_lines
    where ticket_id is not null and line_kind in ('ticket', 'chargeback')
    group by ticket_id
),

order_revenue as (
    -- An order's net takings belong to the first ticket that served it.
    select
        t.ticket_id,
        o.net_paid_cents as revenue_cents,
        row_number() over (
            partition by t.order_platform, t.order_id order by t.completed_at, t.ticket_id
        ) as nth
    from tickets as t
    inner join order_facts as o on o.platform = t.order_platform and o.order_id = t.order_id
    where t.status = 'completed'
),

final as (
    select
        f.ticket_id,
        p.period,
        f.completed_date,
        f.item_code,
        f.item_name,
        f.item_category,
        f.city_code,
        f.city_name,
        f.city_tier,
        f.province_code,
        f.province_name,
        f.region_group,
        f.technician_id,
        f.partner_id,
        pa.partner_type,
        f.scenario,
        f.channel,
        f.order_platform,
        f.is_urgent,
        f.is_night,
        p.is_rework,
        p.is_refunded,
        p.price_tier,
        coalesce(r.revenue_cents, 0) as revenue_cents,
        p.payout_cents,
        coalesce(p.technician_cents, 0) as technician_cents,
        coalesce(p.partner_cents, 0) as partner_cents
    from ticket_facts as f
    inner join payouts as p on p.ticket_id = f.ticket_id
    left join order_revenue as r on r.ticket_id = f.ticket_id and r.nth = 1
    left join partners as pa on pa.partner_id = f.partner_id
)

select * from final
