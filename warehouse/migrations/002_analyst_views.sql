-- Views analysts reach for first: tickets and orders with their place, item and refunds resolved.

create or replace view ticket_facts as
select
    t.*,
    c.city_name,
    c.city_tier,
    c.is_plateau,
    c.province_code,
    p.province_name,
    p.region_group,
    i.item_name,
    i.category as item_category
from tickets as t
left join cities as c on c.city_code = t.city_code
left join provinces as p on p.province_code = c.province_code
left join service_items as i on i.item_code = t.item_code;

create or replace view order_facts as
with refunded as (
    select platform, order_id, sum(refund_cents) as refunded_cents, max(refunded_at) as last_refunded_at
    from order_refunds
    where status = 'succeeded'
    group by platform, order_id
)
select
    o.*,
    coalesce(r.refunded_cents, 0) as refunded_cents,
    r.last_refunded_at,
    o.paid_cents - coalesce(r.refunded_cents, 0) as net_paid_cents
from orders as o
left join refunded as r on r.platform = o.platform and r.order_id = o.order_id;
