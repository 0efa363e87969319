-- The reference rows settlement joins to tickets (place, people), each table's hashes combined.
with

cities as (select bit_xor(hash(c)) as fingerprint, count(*) as rows from cities as c),
provinces as (select bit_xor(hash(p)) as fingerprint, count(*) as rows from provinces as p),
technicians as (select bit_xor(hash(t)) as fingerprint, count(*) as rows from technicians as t),
partners as (select bit_xor(hash(p)) as fingerprint, count(*) as rows from partners as p),

final as (
    select
        concat_ws(
            ' ',
            c.fingerprint, c.rows, p.fingerprint, p.rows, t.fingerprint, t.rows,
            pa.fingerprint, pa.rows
        ) as digest
    from cities as c, provinces as p, technicians as t, partners as pa
)

select * from final
