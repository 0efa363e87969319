-- Every line paid to one payee (a technician, or a partner of any type: $payee_kind) in one
-- period that the caller may see. The scope limits the lines themselves, by the place of each
-- line's ticket: a regional lead sees a payee's lines of tickets in their regions only, never the
-- same payee's work elsewhere (a line with no ticket has no place, so only an all-regions scope
-- sees it). A payee's own scope (technician, partner contact) sees exactly their own lines.
with

lines as (
    select * from settlement_lines
    where payee_id = $payee and period = $period
        and (payee_type = 'technician') = ($payee_kind = 'technician')
        and ($technician_id is null or (payee_type = 'technician' and payee_id = $technician_id))
        and ($partner_id is null or (payee_type <> 'technician' and payee_id = $partner_id))
),

places as (select ticket_id, region_group, province_code from ticket_facts),

final as (
    select l.* exclude (run_id)
    from lines as l
    left join places as p on p.ticket_id = l.ticket_id
    where $all_regions or $partner_id is not null
        or p.region_group = any($region_groups) or p.province_code = any($provinces)
)

select * from final order by ticket_id, line_kind
