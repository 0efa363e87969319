-- How often each rule fired per period: lines with a non-zero component of that kind, and
-- the period's lines, so that a count reads as a rate.
with

lines as (select * from settlement_lines where $may_see_operations),

final as (
    select
        period,
        count(*) as lines,
        count(*) filter (where coefficient_cents <> 0) as coefficient,
        count(*) filter (where urgent_cents <> 0) as urgent,
        count(*) filter (where night_cents <> 0) as night,
        count(*) filter (where high_altitude_cents <> 0) as high_altitude,
        count(*) filter (where plateau_cents <> 0) as plateau,
        count(*) filter (where township_cents <> 0) as township,
        count(*) filter (where remote_cents <> 0) as remote_guidance,
        count(*) filter (where discount_cents <> 0) as member_discount,
        count(*) filter (where ladder_cents <> 0) as ladder,
        count(*) filter (where rework_cents <> 0) as rework,
        count(*) filter (where chargeback_cents <> 0) as chargeback,
        count(*) filter (where clawback_cents <> 0) as clawback,
        count(*) filter (where guarantee_cents <> 0) as guarantee,
        count(*) filter (where fee_cents <> 0) as channel_fee,
        count(*) filter (where tax_cents <> 0) as cross_province_vat,
        count(*) filter (where line_kind = 'adjustment') as adjustment
    from lines
    group by period
)

select * from final order by period desc
