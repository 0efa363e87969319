-- Quarantine counts per feed and reason.
with

final as (
    select feed, reason, count(*) as records
    from quarantine
    where $may_see_operations
    group by feed, reason
)

select * from final order by records desc
