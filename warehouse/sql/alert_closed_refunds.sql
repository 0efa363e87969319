-- Refunds that arrived for closed periods: adjustment lines clawing back a closed period, and
-- succeeded refunds of an order whose ticket's period was closed before the refund came.
with

periods as (select * from settlement_periods where $may_see_operations),

adjusted as (
    select distinct l.ticket_id, l.origin_period as closed_period, 'adjustment' as evidence
    from settlement_lines as l
    inner join periods as p on p.period = l.origin_period and p.status = 'closed'
    where l.line_kind = 'adjustment' and l.ticket_id is not null
        and (l.is_refunded or l.clawback_cents <> 0)
),

late_refunds as (
    select distinct t.ticket_id, p.period as closed_period, 'refund_after_close' as evidence
    from tickets as t
    inner join periods as p
        on p.period = strftime(t.completed_date, '%Y-%m') and p.status = 'closed'
    inner join order_refunds as r
        on r.platform = t.order_platform and r.order_id = t.order_id
    where t.status = 'completed' and r.status = 'succeeded' and r.refunded_at > p.closed_at
),

final as (
    select * from adjusted
    union
    select * from late_refunds
)

select * from final order by closed_period, ticket_id, evidence
