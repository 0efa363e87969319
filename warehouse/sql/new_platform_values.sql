-- Values a platform sent that its documented vocabulary lacks (a new status, trade type,
-- refund state ...): each quarantined only its own record; this is where an operator sees
-- that a platform changed. Readers name such rejections "unknown <vocabulary> value".
with

unknown as (
    select feed, field, value, record_number, file, run_id
    from quarantine
    where $may_see_operations
        and reason like 'unknown % value'
),

final as (
    select
        feed,
        -- the field without its list position: refund_order[3].refund_state -> refund_order[].refund_state
        regexp_replace(field, '\[[0-9]+\]', '[]', 'g') as field,
        value,
        count(*) as records,
        count(distinct file) as files,
        max(run_id) as last_run_id
    from unknown
    group by all
)

select * from final order by records desc, feed, field, value
