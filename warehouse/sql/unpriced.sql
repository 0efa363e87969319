-- Tickets the rules could not price, with where and what they were.
with

final as (
    select u.period, u.ticket_id, u.reason, u.rule_version, f.item_code, f.city_name,
        f.province_name, f.region_group, f.technician_id
    from settlement_unpriced as u
    left join ticket_facts as f on f.ticket_id = u.ticket_id
    where $may_see_operations
)

select * from final order by period desc, ticket_id limit $limit
