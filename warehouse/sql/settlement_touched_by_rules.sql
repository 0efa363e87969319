-- Every current ticket of a period whose rule versions changed.
with

current_states as (select * from settlement_current_states),

final as (
    select * from current_states where period = any($periods)
)

select * from final
