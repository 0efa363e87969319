-- The (payee, period) groups whose lines may change (kind: technician or partner). A ticket's
-- lines are in its technician's and its partner's group of its period; a rework's chargeback
-- in its original's technician's group of the rework's period; whether a rework is one depends
-- on its original; which ticket served an order first decides the partner lines of every
-- ticket serving it.
with

touched as (select * from settlement_touched),

every_state as not materialized (
    select ticket_id, period, technician_id, partner_id, order_platform, order_id, rework_of
    from settlement_seen_tickets
    union all
    select ticket_id, period, technician_id, partner_id, order_platform, order_id, rework_of
    from settlement_scan_tickets
    where side = 'new'
),

own as (
    select 'technician' as kind, technician_id as payee_id, period from touched
    union all
    select 'partner' as kind, partner_id as payee_id, period from touched
),

charged as (
    select 'technician' as kind, o.technician_id as payee_id, t.period
    from touched as t
    inner join every_state as o on o.ticket_id = t.rework_of
),

reworks as (
    select r.period, r.technician_id, r.partner_id, t.technician_id as original_technician_id
    from touched as t
    inner join every_state as r on r.rework_of = t.ticket_id
),

of_reworks as (
    select 'technician' as kind, technician_id as payee_id, period from reworks
    union all
    select 'partner' as kind, partner_id as payee_id, period from reworks
    union all
    select 'technician' as kind, original_technician_id as payee_id, period from reworks
),

touched_orders as (
    select distinct order_platform, order_id from touched where order_id is not null
),

siblings as (
    select 'partner' as kind, s.partner_id as payee_id, s.period
    from touched_orders as o
    inner join every_state as s
        on s.order_platform = o.order_platform and s.order_id = o.order_id
),

final as (
    select distinct kind, payee_id, period
    from (
        select * from own
        union all
        select * from charged
        union all
        select * from of_reworks
        union all
        select * from siblings
    )
    where payee_id is not null
)

select * from final
