-- Quarantined records, optionally of one feed and one reason (null = any).
with

final as (
    select feed, file, record_number, field, value, reason, raw_record, run_id
    from quarantine
    where $may_see_operations
        and ($feed is null or feed = $feed)
        and ($reason is null or reason = $reason)
)

select * from final order by run_id desc, file, record_number limit $limit
