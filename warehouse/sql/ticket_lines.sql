-- Settlement lines of the given tickets that the caller may see, with every breakdown column.
with

visible as (
    select ticket_id, region_group, province_code, technician_id from ticket_economics
    where ticket_id = any($tickets)
        and ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
),

final as (
    select l.* exclude (run_id)
    from settlement_lines as l
    inner join visible as v on v.ticket_id = l.ticket_id
    where $technician_id is null or (l.payee_type = 'technician' and l.payee_id = $technician_id)
)

select * from final order by ticket_id, line_kind, payee_type, payee_id
