-- The tickets that settle the dirty groups exactly: every ticket of those groups (a ladder
-- ranks the whole month), the reworks whose chargebacks fall in them, the originals all of
-- these rework, and every ticket serving the orders of the groups' tickets. $first_day and
-- $end_day bound the groups' periods: tickets arrive roughly in completion order, so the range
-- skips most of the table before any join.
with

dirty as (
    select kind, payee_id, strptime(period, '%Y-%m')::date as month
    from settlement_dirty_groups
),

tickets as not materialized (
    select
        ticket_id,
        completed_date,
        date_trunc('month', completed_date) as month,
        technician_id,
        partner_id,
        order_platform,
        order_id,
        rework_of
    from main.tickets
    where status = 'completed' and completed_date is not null
),

in_dirty_periods as (
    select *
    from tickets
    where completed_date >= $first_day and completed_date < $end_day
        and month in (select month from dirty)
),

members as (
    select c.ticket_id, c.rework_of, c.order_platform, c.order_id
    from in_dirty_periods as c
    semi join dirty as d
        on d.kind = 'technician' and d.payee_id = c.technician_id and d.month = c.month
    union
    select c.ticket_id, c.rework_of, c.order_platform, c.order_id
    from in_dirty_periods as c
    semi join dirty as d
        on d.kind = 'partner' and d.payee_id = c.partner_id and d.month = c.month
),

-- A chargeback is a line of the original's technician in the rework's period.
charged as (
    select r.ticket_id, r.rework_of
    from in_dirty_periods as r
    inner join tickets as o on o.ticket_id = r.rework_of
    semi join dirty as d
        on d.kind = 'technician' and d.payee_id = o.technician_id and d.month = r.month
),

links as (
    select rework_of from members where rework_of is not null
    union
    select rework_of from charged
),

originals as (
    select o.ticket_id
    from tickets as o
    semi join links as l on l.rework_of = o.ticket_id
),

member_orders as (
    select distinct order_platform, order_id from members where order_id is not null
),

siblings as (
    select s.ticket_id
    from tickets as s
    semi join member_orders as m
        on m.order_platform = s.order_platform and m.order_id = s.order_id
),

final as (
    select ticket_id from members
    union
    select ticket_id from charged
    union
    select ticket_id from originals
    union
    select ticket_id from siblings
)

select * from final
