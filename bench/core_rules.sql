-- The reference the engine is held to (python -m bench settle): the core ticket rules in one
-- DuckDB query over the same input frame. Tier price (a city's own tier, else its city tier's),
-- region coefficient (city, else province), urgent surcharge, night fee, member discount, the
-- technician's graduated count ladder, reworks within the window paid 0 labour. Rounding half
-- away from zero on integers, as the engine does. Inputs: tickets, tier_map, city_tiers,
-- item_prices, city_coefficients, province_coefficients, discounts, brackets; $urgent_bp,
-- $night_cents, $window_days.
with

tickets as (select * from tickets),

placed as (
    select
        t.*,
        strftime(t.completed_date, '%Y-%m') as period,
        coalesce(ct.price_tier, tm.price_tier) as price_tier
    from tickets as t
    left join city_tiers as ct on ct.city_code = t.city_code
    left join tier_map as tm on tm.city_tier = t.city_tier
),

priced as (
    select
        p.*,
        ip.price_cents * p.quantity as base_cents,
        coalesce(cc.coef_bp, pc.coef_bp, 10000) as coef_bp,
        coalesce(d.discount_bp, 0) as discount_bp
    from placed as p
    inner join item_prices as ip on ip.item_code = p.item_code and ip.price_tier = p.price_tier
    left join city_coefficients as cc on cc.city_code = p.city_code
    left join province_coefficients as pc on pc.province_code = p.province_code
    left join discounts as d on d.member_level = p.member_level
),

reworks as (
    select r.ticket_id
    from priced as r
    inner join priced as o on o.ticket_id = r.rework_of
    where r.ticket_id <> o.ticket_id
        and r.completed_at >= o.completed_at
        and r.completed_at <= o.completed_at + to_days($window_days)
),

components as (
    select
        p.ticket_id,
        p.technician_id,
        p.period,
        p.completed_at,
        w.ticket_id is not null as is_rework,
        p.base_cents
        + sign(p.base_cents * (p.coef_bp - 10000))
        * ((abs(p.base_cents * (p.coef_bp - 10000)) * 2 + 10000) // 20000)
        + case when p.is_urgent then (p.base_cents * $urgent_bp * 2 + 10000) // 20000 else 0 end
        + case when p.is_night then $night_cents else 0 end
        - (p.base_cents * p.discount_bp * 2 + 10000) // 20000 as labour
    from priced as p
    left join reworks as w on w.ticket_id = p.ticket_id
),

ranked as (
    select
        *,
        sum(case when is_rework then 0 else 1 end) over (
            partition by technician_id, period order by completed_at, ticket_id
            rows between unbounded preceding and current row
        ) as position
    from components
),

rated as (
    select
        r.*,
        case when r.is_rework then 10000 else (
            select max_by(b.rate_bp, b.start) from brackets as b where b.start <= r.position
        ) end as rate_bp
    from ranked as r
),

final as (
    select
        ticket_id,
        case when is_rework then 0 else
            labour + sign(labour * (rate_bp - 10000))
            * ((abs(labour * (rate_bp - 10000)) * 2 + 10000) // 20000)
        end as amount_cents
    from rated
)

select count(*) as lines, sum(amount_cents)::bigint as amount_cents from final
