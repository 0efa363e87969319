"""Closed periods never change: differences become adjustment lines in the first open period.

Pure Polars. ``recomputed`` holds what closed periods' lines would be now; ``frozen`` what they
were when closed plus every adjustment already frozen for them. Their difference, column by
column, is the adjustment.
"""

from __future__ import annotations

import polars as pl

from settlement.frames import BREAKDOWN

ADJUSTMENT_KEY = ["origin_period", "origin_kind", "payee_type", "payee_id", "ticket_id"]


def _by_origin(lines: pl.LazyFrame) -> pl.LazyFrame:
    return lines.group_by(ADJUSTMENT_KEY).agg(
        pl.col(name).sum() for name in (*BREAKDOWN, "amount_cents", "amount_local_cents")
    )


def adjustments(
    recomputed: pl.LazyFrame, frozen: pl.LazyFrame, into_period: str, rule_version: pl.Expr
) -> pl.LazyFrame:
    """Adjustment lines for every (origin period, kind, payee, ticket) whose amounts moved.

    Both inputs carry ``origin_period`` (the closed period) and ``origin_kind`` (the corrected
    line's kind) next to the line columns. Rows present on one side only count as 0 on the
    other: a line that appeared is adjusted in full, one that vanished is reversed in full.
    """
    now, then = _by_origin(recomputed), _by_origin(frozen)
    sums = [*BREAKDOWN, "amount_cents", "amount_local_cents"]
    joined = now.join(
        then, on=ADJUSTMENT_KEY, how="full", coalesce=True, suffix="_then", nulls_equal=True
    )
    delta = joined.with_columns(
        (pl.col(name).fill_null(0) - pl.col(f"{name}_then").fill_null(0)).alias(name)
        for name in sums
    ).drop(f"{name}_then" for name in sums)
    changed = pl.any_horizontal(pl.col(name) != 0 for name in sums)
    return delta.filter(changed).with_columns(
        period=pl.lit(into_period),
        line_kind=pl.lit("adjustment"),
        price_tier=pl.lit(None, pl.String),
        ladder_rate_bp=pl.lit(10_000, pl.Int64),
        currency=pl.lit("CNY"),
        is_rework=pl.lit(False),
        is_refunded=pl.lit(False),
        rule_version=rule_version,
    )
