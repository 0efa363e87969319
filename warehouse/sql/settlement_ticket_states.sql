-- Every settlement input ticket by its group keys and links, with a hash of its row (the same
-- hash settlement_changed_periods.sql and settlement_changed_tickets.sql compute).
with

tickets as (
    select * from tickets where status = 'completed' and completed_date is not null
),

final as (
    select
        t.ticket_id,
        strftime(t.completed_date, '%Y-%m') as period,
        t.technician_id,
        t.partner_id,
        t.order_platform,
        t.order_id,
        t.rework_of,
        hash(t) as fingerprint
    from tickets as t
)

select * from final
