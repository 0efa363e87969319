-- Every period of settlement input tickets with its tickets' hashes combined, and whether they
-- differ from the baseline's (0 and no tickets for a period whose tickets all left).
with

tickets as (
    select * from tickets where status = 'completed' and completed_date is not null
),

seen as (select * from settlement_seen_periods),

by_month as (
    select
        date_trunc('month', t.completed_date) as month,
        bit_xor(hash(t)) as fingerprint,
        count(*) as tickets
    from tickets as t
    group by all
),

now_periods as (
    select strftime(month, '%Y-%m') as period, month, fingerprint, tickets from by_month
),

final as (
    select
        coalesce(n.period, s.period) as period,
        coalesce(n.month, strptime(s.period, '%Y-%m')::date) as month,
        coalesce(n.fingerprint, 0)::ubigint as fingerprint,
        coalesce(n.tickets, 0) as tickets,
        coalesce(n.fingerprint, 0) <> coalesce(s.fingerprint, 0)
        or coalesce(n.tickets, 0) <> coalesce(s.tickets, 0) as is_changed
    from now_periods as n
    full join seen as s on s.period = n.period
)

select * from final
