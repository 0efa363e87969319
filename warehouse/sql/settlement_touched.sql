-- The ticket states whose own lines may change: changed tickets as they are now and as the
-- baseline saw them, every ticket of a period whose rule versions changed, and every ticket
-- serving an order whose amounts or refunds changed.
with

changed as (select * from settlement_scan_tickets),

current_states as (select * from settlement_current_states),

changed_orders as (select * from settlement_scan_orders),

final as (
    select ticket_id, period, technician_id, partner_id, order_platform, order_id, rework_of
    from changed
    union all
    select * from current_states where period = any($periods)
    union all
    select c.*
    from current_states as c
    semi join changed_orders as o on o.platform = c.order_platform and o.order_id = c.order_id
)

select * from final
