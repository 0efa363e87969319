-- The latest ingestion runs.
with

final as (
    select * exclude (file_sha256) from ingestion_runs where $may_see_operations
)

select * from final order by run_id desc limit $limit
