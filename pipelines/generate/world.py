"""The simulated world behind the demo feeds, in canonical shapes.

``simulate_world`` (built by the generator) produces the true state of every ticket, order and
refund; each feed's writer (``pipelines/sources/<feed>/writer.py``) renders it in that platform's
own format, including the later status updates and the dirty records real feeds carry.
Ingesting every feed must reconstruct these frames, less what the writers deliberately spoiled.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines import canonical

# Orders carry, beyond the canonical final state, the time of each lifecycle event so that writers
# can emit the order as it stood at the end of each month it changed in (nulls: never happened).
WORLD_ORDER_EVENTS: dict[str, pl.DataType] = {
    "final_paid_at": canonical.TIMESTAMP,  # pre-sale balance payment
    "shipped_at": canonical.TIMESTAMP,
    "completed_at": canonical.TIMESTAMP,
    "closed_at": canonical.TIMESTAMP,  # cancelled, unpaid timeout, or deposit forfeited
}
WORLD_ORDERS: dict[str, pl.DataType] = {**canonical.ORDERS, **WORLD_ORDER_EVENTS}


@dataclass(frozen=True)
class World:
    tickets: pl.DataFrame  # canonical.TICKETS, final state
    orders: pl.DataFrame  # WORLD_ORDERS, final state plus event times
    order_refunds: pl.DataFrame  # canonical.ORDER_REFUNDS, final state
    seed: int


ORDER_EVENTS = ["paid_at", "final_paid_at", "shipped_at", "completed_at", "closed_at"]


def order_state_at(orders: pl.DataFrame, at: pl.Expr) -> pl.DataFrame:
    """Orders as they stood at ``at``: later events forgotten, status, stage, paid amount and
    ``updated_at`` derived from the events that had happened. One definition for the world's
    final state and for every intermediate version a feed writer emits."""
    happened = orders.with_columns(
        pl.when(pl.col(name) <= at).then(pl.col(name)).alias(name) for name in ORDER_EVENTS
    )
    paid = pl.col("paid_at").is_not_null()
    fully_paid = paid & (~pl.col("is_presale") | pl.col("final_paid_at").is_not_null())
    return happened.with_columns(
        status=pl.when(pl.col("closed_at").is_not_null())
        .then(pl.lit("closed"))
        .when(pl.col("completed_at").is_not_null())
        .then(pl.lit("completed"))
        .when(pl.col("shipped_at").is_not_null())
        .then(pl.lit("shipped"))
        .when(paid)
        .then(pl.lit("paid"))
        .otherwise(pl.lit("pending_payment")),
        presale_stage=pl.when(~pl.col("is_presale"))
        .then(pl.lit(None, pl.String))
        .when(pl.col("final_paid_at").is_not_null())
        .then(pl.lit("final_paid"))
        .when(paid & pl.col("closed_at").is_not_null())
        .then(pl.lit("deposit_forfeited"))
        .when(paid)
        .then(pl.lit("deposit_paid"))
        .otherwise(pl.lit("deposit_pending")),
        paid_cents=pl.when(fully_paid)
        .then(pl.col("total_cents"))
        .when(paid)
        .then(pl.col("deposit_cents"))
        .otherwise(pl.lit(0, pl.Int64)),
        updated_at=pl.max_horizontal("created_at", *ORDER_EVENTS),
    )
