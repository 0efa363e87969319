-- Orders whose settlement input (paid, refunded, forfeited, delivery province) differs from
-- the baseline's, with their hash now (null when the order is gone).
with

inputs as (select * from settlement_input_orders),

seen as (select * from settlement_seen_orders),

now_orders as (
    select o.platform, o.order_id, hash(o) as fingerprint from inputs as o
),

final as (
    select
        coalesce(n.platform, s.platform) as platform,
        coalesce(n.order_id, s.order_id) as order_id,
        n.fingerprint
    from now_orders as n
    full join seen as s on s.platform = n.platform and s.order_id = n.order_id
    where n.fingerprint is distinct from s.fingerprint
)

select * from final
