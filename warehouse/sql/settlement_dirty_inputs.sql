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

-- The groups' tickets: a left join per kind of group (each group is one row), not a union
-- that would have to deduplicate them.
technician_groups as (select payee_id, month from dirty where kind = 'technician'),
partner_groups as (select payee_id, month from dirty where kind = 'partner'),

members as (
    select c.ticket_id, c.completed_date, c.rework_of, c.order_platform, c.order_id
    from in_dirty_periods as c
    left join technician_groups as g on g.payee_id = c.technician_id and g.month = c.month
    left join partner_groups as h on h.payee_id = c.partner_id and h.month = c.month
    where g.payee_id is not null or h.payee_id is not null
),

-- The reworks among them, and the links and orders whose tickets must come along.
reworks as (
    select ticket_id, completed_date, rework_of, month
    from in_dirty_periods
    where rework_of is not null
),

wanted_links as (
    select rework_of from members where rework_of is not null
    union
    select rework_of from reworks
),

member_orders as (
    select distinct order_platform, order_id from members where order_id is not null
),

-- One pass over every ticket finds both the originals of those reworks (with their
-- technician, for the chargebacks) and the tickets serving the members' orders.
related as (
    select
        t.ticket_id,
        t.completed_date,
        t.technician_id,
        l.rework_of is not null as is_original,
        m.order_id is not null as is_sibling
    from tickets as t
    left join wanted_links as l on l.rework_of = t.ticket_id
    left join member_orders as m
        on m.order_platform = t.order_platform and m.order_id = t.order_id
),

found as materialized (
    select * from related where is_original or is_sibling
),

-- A chargeback is a line of the original's technician in the rework's period.
charged as (
    select r.ticket_id, r.completed_date, r.rework_of
    from reworks as r
    inner join found as o on o.ticket_id = r.rework_of and o.is_original
    semi join dirty as d
        on d.kind = 'technician' and d.payee_id = o.technician_id and d.month = r.month
),

originals as (
    select o.ticket_id, o.completed_date
    from found as o
    where o.is_original and o.ticket_id in (
        select rework_of from members where rework_of is not null
        union
        select rework_of from charged
    )
),

siblings as (select ticket_id, completed_date from found where is_sibling),

-- A ticket may come more than once: the result is only ever semi joined.
final as (
    select ticket_id, completed_date from members
    union all
    select ticket_id, completed_date from charged
    union all
    select ticket_id, completed_date from originals
    union all
    select ticket_id, completed_date from siblings
)

select * from final
