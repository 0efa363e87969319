-- Every (period, rule, ticket) where a rule's component is non-zero on a settlement line: the
-- tickets behind a rule's trigger rate (rule names as in rule_triggers.sql), of the $rules and
-- $periods asked for (all when null).
with

lines as (
    select * from settlement_lines
    where $may_see_operations and ($periods is null or period = any($periods))
),

fired as (
    unpivot (
        select
            period, ticket_id,
            coefficient_cents <> 0 as coefficient,
            urgent_cents <> 0 as urgent,
            night_cents <> 0 as night,
            high_altitude_cents <> 0 as high_altitude,
            plateau_cents <> 0 as plateau,
            township_cents <> 0 as township,
            remote_cents <> 0 as remote_guidance,
            discount_cents <> 0 as member_discount,
            ladder_cents <> 0 as ladder,
            rework_cents <> 0 as rework,
            chargeback_cents <> 0 as chargeback,
            clawback_cents <> 0 as clawback,
            guarantee_cents <> 0 as guarantee,
            fee_cents <> 0 as channel_fee,
            tax_cents <> 0 as cross_province_vat,
            line_kind = 'adjustment' as adjustment
        from lines
    ) on columns(* exclude (period, ticket_id)) into name rule value fires
),

final as (
    select distinct period, rule, ticket_id from fired
    where fires and ticket_id is not null and ($rules is null or rule = any($rules))
)

select * from final order by period, rule, ticket_id
