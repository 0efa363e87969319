-- The tickets that settle the dirty groups exactly: every ticket of those groups (a ladder
-- ranks the whole month), the reworks whose chargebacks fall in them, the originals all of
-- these rework, and every ticket serving the orders of the groups' tickets.
with

dirty as (select * from settlement_dirty_groups),

current_states as not materialized (select * from settlement_current_states),

members as (
    select c.ticket_id, c.rework_of, c.order_platform, c.order_id
    from current_states as c
    semi join dirty as d
        on d.kind = 'technician' and d.payee_id = c.technician_id and d.period = c.period
    union
    select c.ticket_id, c.rework_of, c.order_platform, c.order_id
    from current_states as c
    semi join dirty as d
        on d.kind = 'partner' and d.payee_id = c.partner_id and d.period = c.period
),

charged as (
    select r.ticket_id, r.rework_of
    from current_states as r
    inner join current_states as o on o.ticket_id = r.rework_of
    semi join dirty as d
        on d.kind = 'technician' and d.payee_id = o.technician_id and d.period = r.period
),

links as (
    select rework_of from members where rework_of is not null
    union
    select rework_of from charged
),

originals as (
    select o.ticket_id
    from current_states as o
    semi join links as l on l.rework_of = o.ticket_id
),

member_orders as (
    select distinct order_platform, order_id from members where order_id is not null
),

siblings as (
    select s.ticket_id
    from current_states as s
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
