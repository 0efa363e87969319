-- The settlement input orders' hashes combined (each as settlement reads it).
with

orders as (select * from settlement_input_orders),

final as (
    select coalesce(bit_xor(hash(o)), 0)::ubigint as fingerprint, count(*) as orders
    from orders as o
)

select * from final
