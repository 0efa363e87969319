-- A payee's months (a technician, or a partner of any type: $payee_kind): every line paid to them
-- (tickets, monthly partner lines, chargebacks, adjustments) that the caller may see. As in
-- payee_lines, the scope limits the lines by their ticket's place, so a regional lead's totals
-- hold only the payee's work in the lead's regions.
with

lines as (
    select * from settlement_lines
    where payee_id = $payee
        and (payee_type = 'technician') = ($payee_kind = 'technician')
        and ($technician_id is null or (payee_type = 'technician' and payee_id = $technician_id))
        and ($partner_id is null or (payee_type <> 'technician' and payee_id = $partner_id))
),

places as (select ticket_id, region_group, province_code from ticket_facts),

visible as (
    select l.*
    from lines as l
    left join places as p on p.ticket_id = l.ticket_id
    where $all_regions or $partner_id is not null
        or p.region_group = any($region_groups) or p.province_code = any($provinces)
),

final as (
    select
        period,
        -- A partner's type is the partner's own (reference data): one per payee.
        max(payee_type) as payee_type,
        count(*) filter (where line_kind = 'ticket' and not is_rework) as tickets,
        count(*) filter (where line_kind = 'ticket' and is_rework) as reworks,
        sum(amount_cents) as amount_cents,
        sum(ladder_cents) as ladder_cents,
        sum(chargeback_cents) as chargeback_cents,
        sum(clawback_cents) as clawback_cents,
        sum(amount_cents) filter (where line_kind = 'adjustment') as adjustment_cents
    from visible
    group by period
)

select * from final order by period desc
