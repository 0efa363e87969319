-- Every current ticket serving an order whose amounts or refunds changed.
with

current_states as (select * from settlement_current_states),

changed_orders as (select * from settlement_scan_orders),

final as (
    select c.*
    from current_states as c
    semi join changed_orders as o on o.platform = c.order_platform and o.order_id = c.order_id
)

select * from final
