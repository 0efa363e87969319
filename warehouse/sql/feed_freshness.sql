-- Each feed's freshness: its newest accepted record and its last runs.
with

runs as (select * from ingestion_runs where $may_see_operations),

final as (
    select
        feed,
        max(watermark) as newest_record_at,
        max(finished_at) as last_run_at,
        max(finished_at) filter (where status = 'succeeded') as last_success_at,
        count(*) as runs,
        count(*) filter (where status = 'failed') as failed_runs,
        sum(records_read) filter (where status = 'succeeded') as records_read,
        sum(quarantined) filter (where status = 'succeeded') as quarantined
    from runs
    group by feed
)

select * from final order by feed
