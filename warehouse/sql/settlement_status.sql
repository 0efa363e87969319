-- Periods and their state, with the latest settlement run.
with

periods as (select * from settlement_periods where $may_see_operations),

totals as (
    select period, count(*) as lines, sum(amount_cents) as amount_cents
    from settlement_lines
    group by period
),

final as (
    select p.period, p.status, p.closed_at, p.closed_by, t.lines, t.amount_cents
    from periods as p
    left join totals as t on t.period = p.period
)

select * from final order by period desc
