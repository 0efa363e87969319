-- Every settlement input ticket as it is now, by its group keys and links: the baseline's row,
-- unless the ticket changed (then its new row; none when it left the inputs).
with

changed as (select * from settlement_scan_tickets),

unchanged as (
    select s.ticket_id, s.period, s.technician_id, s.partner_id, s.order_platform, s.order_id,
        s.rework_of
    from settlement_seen_tickets as s
    anti join changed as c on c.ticket_id = s.ticket_id
),

final as (
    select * from unchanged
    union all
    select ticket_id, period, technician_id, partner_id, order_platform, order_id, rework_of
    from changed
    where side = 'new'
)

select * from final
