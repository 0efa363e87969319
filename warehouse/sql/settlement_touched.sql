-- The ticket states whose own lines may change: the changed tickets as they are now and as the
-- baseline saw them (settlement_touched_by_rules.sql and settlement_touched_by_orders.sql add
-- the tickets of periods whose rule versions changed and those serving changed orders).
with

changed as (select * from settlement_scan_tickets),

final as (
    select ticket_id, period, technician_id, partner_id, order_platform, order_id, rework_of
    from changed
)

select * from final
