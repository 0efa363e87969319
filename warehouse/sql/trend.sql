-- Monthly revenue and payouts per ticket, split by scenario, channel or partner type.
with

scoped as (
    select * from ticket_economics
    where ($all_regions or region_group = any($region_groups) or province_code = any($provinces))
        and ($technician_id is null or technician_id = $technician_id)
),

segmented as (
    select
        period,
        case $split
            when 'scenario' then scenario
            when 'channel' then channel
            else coalesce(partner_type, 'none')
        end as segment,
        revenue_cents,
        payout_cents
    from scoped
),

final as (
    select
        period,
        segment,
        count(*) as tickets,
        sum(revenue_cents) as revenue_cents,
        sum(payout_cents) as payout_cents
    from segmented
    group by period, segment
)

select * from final order by period, segment
