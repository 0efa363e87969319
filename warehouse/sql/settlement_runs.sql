-- Recent settlement runs, newest first; a failed run says why, so a re-settlement started by a
-- publish never fails unseen.
with

runs as (select * from settlement_runs where $may_see_operations),

final as (
    select
        run_id,
        started_at,
        finished_at,
        status,
        periods,
        rule_versions,
        lines_written,
        adjustments,
        unpriced,
        error
    from runs
)

select * from final order by run_id desc limit $limit
