-- A technician's months: every line paid to them (tickets, chargebacks, adjustments).
with

lines as (
    select * from settlement_lines
    where payee_type = 'technician' and payee_id = $payee
        and ($technician_id is null or payee_id = $technician_id)
        and ($all_regions or payee_id in (
            select technician_id from ticket_economics
            where region_group = any($region_groups) or province_code = any($provinces)
        ))
),

final as (
    select
        period,
        count(*) filter (where line_kind = 'ticket' and not is_rework) as tickets,
        count(*) filter (where line_kind = 'ticket' and is_rework) as reworks,
        sum(amount_cents) as amount_cents,
        sum(ladder_cents) as ladder_cents,
        sum(chargeback_cents) as chargeback_cents,
        sum(clawback_cents) as clawback_cents,
        sum(amount_cents) filter (where line_kind = 'adjustment') as adjustment_cents
    from lines
    group by period
)

select * from final order by period desc
