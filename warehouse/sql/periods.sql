-- Periods with settled tickets the caller may see, newest first (a partner contact: the periods
-- of their partner's tickets).
with

scoped as (
    select period from ticket_economics
    where ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
        and $partner_id is null
    union all
    select period from ticket_economics where partner_id = $partner_id
),

final as (select distinct period from scoped)

select * from final order by period desc
