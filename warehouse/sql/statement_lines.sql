-- A closed period's settlement lines for statements: each with its payee's name and, for ticket
-- lines, the ticket's completion date, item and city.
with

lines as (
    select * from settlement_lines
    where period = $period and ($payee_id is null or payee_id = $payee_id)
),

tickets as (select ticket_id, completed_date, item_code, city_code from tickets),
items as (select item_code, item_name from service_items),
cities as (select city_code, city_name from cities),
technicians as (select technician_id, technician_name from technicians),
partners as (select partner_id, partner_name from partners),

final as (
    select
        l.period,
        l.payee_type,
        l.payee_id,
        coalesce(
            case when l.payee_type = 'technician' then tech.technician_name else pa.partner_name end,
            l.payee_id
        ) as payee_name,
        l.line_kind,
        l.ticket_id,
        t.completed_date,
        i.item_name,
        c.city_name,
        l.origin_period,
        l.origin_kind,
        l.price_tier,
        l.ladder_rate_bp,
        l.* exclude (
            period, payee_type, payee_id, line_kind, ticket_id, origin_period, origin_kind,
            price_tier, ladder_rate_bp, amount, run_id
        )
    from lines as l
    left join tickets as t on t.ticket_id = l.ticket_id
    left join items as i on i.item_code = t.item_code
    left join cities as c on c.city_code = t.city_code
    left join technicians as tech on tech.technician_id = l.payee_id
    left join partners as pa on pa.partner_id = l.payee_id
)

select * from final
order by payee_type, payee_id, line_kind, completed_date, ticket_id, origin_period, currency
