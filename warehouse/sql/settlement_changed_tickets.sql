-- The tickets of changed periods whose row differs from the baseline's, once as they are now
-- (side 'new', absent when the ticket left the inputs) and once as the baseline saw them (side
-- 'old', absent when the ticket is new). $first_day and $end_day bound the changed periods (a
-- range skips most of the table: tickets arrive roughly in completion order).
with

changed as (select period, month from settlement_scan_periods where is_changed),

tickets as (
    select * from tickets where status = 'completed' and completed_date is not null
),

now_tickets as (
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
    semi join changed as c on c.month = date_trunc('month', t.completed_date)
    where t.completed_date >= $first_day and t.completed_date < $end_day
),

seen_tickets as (
    select s.*
    from settlement_seen_tickets as s
    semi join changed as c on c.period = s.period
),

differing as (
    select coalesce(n.ticket_id, s.ticket_id) as ticket_id
    from now_tickets as n
    full join seen_tickets as s on s.ticket_id = n.ticket_id
    where n.fingerprint is distinct from s.fingerprint
),

final as (
    select 'new' as side, n.*
    from now_tickets as n semi join differing as d on d.ticket_id = n.ticket_id
    union all
    select 'old' as side, s.*
    from seen_tickets as s semi join differing as d on d.ticket_id = s.ticket_id
)

select * from final
