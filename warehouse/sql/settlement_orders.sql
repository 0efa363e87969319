-- Orders as settlement sees them: paid so far, refunded (succeeded refunds), forfeited deposits,
-- and the delivery province (null for virtual or self-pickup orders).
with

orders as (select * from orders),

refunded as (
    select platform, order_id, sum(refund_cents) as refunded_cents
    from order_refunds
    where status = 'succeeded'
    group by platform, order_id
),

final as (
    select
        o.platform,
        o.order_id,
        o.paid_cents,
        coalesce(r.refunded_cents, 0)::bigint as refunded_cents,
        coalesce(o.presale_stage = 'deposit_forfeited', false) as is_forfeited,
        o.province_code
    from orders as o
    left join refunded as r on r.platform = o.platform and r.order_id = o.order_id
)

select * from final
