-- Each shop platform pulled by API: its last successful pull, how far its data reaches
-- (the window end asked for) and its newest record, the lag against now, whether that is past
-- the limit, and its last error (with whether the latest pull failed).
with

pulls as (
    select split_part(feed, '_', 1) as platform, *
    from ingestion_runs
    where source = 'api' and $may_see_operations
),

succeeded as (
    select
        platform,
        max(finished_at) as last_success_at,
        max(window_end) as pulled_until,
        max(watermark) as newest_record_at
    from pulls
    where status = 'succeeded'
    group by platform
),

latest as (
    select platform, status as last_status
    from pulls
    qualify row_number() over (partition by platform order by run_id desc) = 1
),

errors as (
    select platform, finished_at as last_error_at, error as last_error
    from pulls
    where status = 'failed'
    qualify row_number() over (partition by platform order by run_id desc) = 1
),

final as (
    select
        latest.platform,
        succeeded.last_success_at,
        succeeded.pulled_until,
        succeeded.newest_record_at,
        round(date_diff('second', succeeded.pulled_until, $now) / 60.0, 1) as lag_minutes,
        coalesce(date_diff('second', succeeded.pulled_until, $now) > $max_lag_minutes * 60, true)
            or latest.last_status = 'failed' as is_behind,
        $max_lag_minutes as max_lag_minutes,
        latest.last_status,
        errors.last_error_at,
        errors.last_error
    from latest
    left join succeeded using (platform)
    left join errors using (platform)
)

select * from final order by platform
