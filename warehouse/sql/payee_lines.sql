-- Every line paid to one technician in one period.
with

final as (
    select l.* exclude (run_id)
    from settlement_lines as l
    where l.payee_type = 'technician' and l.payee_id = $payee and l.period = $period
        and ($technician_id is null or l.payee_id = $technician_id)
        and ($all_regions or l.payee_id in (
            select technician_id from ticket_economics
            where region_group = any($region_groups) or province_code = any($provinces)
        ))
)

select * from final order by ticket_id
