"""Closed periods never change: differences become adjustment lines in the first open period.

Pure Polars. ``recomputed`` holds what closed periods' lines would be now; ``frozen`` what they
were when closed plus every adjustment already frozen for them. Their difference, column by
column, is the adjustment.
"""

from __future__ import annotations

import polars as pl

from settlement.frames import BREAKDOWN

# The columns a stored line is identified by (unique within a period).
LINE_IDENTITY = (
    "period",
    "line_kind",
    "payee_type",
    "payee_id",
    "ticket_id",
    "origin_period",
    "origin_kind",
    "currency",
)
LINE_ORDER = [*LINE_IDENTITY, "dispute_id"]  # a manual line is one per dispute

# The payout currency is part of the key: a line whose currency changed is reversed in the old
# currency and booked anew in the new one, so no adjustment mixes two currencies.
ADJUSTMENT_KEY = [
    "origin_period",
    "origin_kind",
    "payee_type",
    "payee_id",
    "ticket_id",
    "currency",
]
SUMS = (*BREAKDOWN, "amount_cents", "amount_local_cents")
# The columns of an adjustment line, as ``adjustments`` gives them.
ADJUSTMENT_LINES: dict[str, pl.DataType] = {
    **{name: pl.String() for name in ("period", "line_kind", *ADJUSTMENT_KEY, "price_tier")},
    "ladder_rate_bp": pl.Int64(),
    **{name: pl.Int64() for name in SUMS},
    "is_rework": pl.Boolean(),
    "is_refunded": pl.Boolean(),
    "rule_version": pl.String(),
}


def _by_origin(lines: pl.LazyFrame) -> pl.LazyFrame:
    return lines.group_by(ADJUSTMENT_KEY).agg(
        *(pl.col(name).sum() for name in SUMS),
        pl.col("is_refunded").any(),
        pl.col("rule_version").last(),
    )


def adjustments(
    recomputed: pl.LazyFrame, frozen: pl.LazyFrame, target_of: dict[str, str]
) -> pl.LazyFrame:
    """Adjustment lines for every (origin period, kind, payee, ticket, currency) whose amounts
    moved, each booked in ``target_of[origin period]`` (the first open period after it).

    Both inputs carry ``origin_period`` (the closed period) and ``origin_kind`` (the corrected
    line's kind) next to the line columns. Rows present on one side only count as 0 on the
    other: a line that appeared is adjusted in full, one that vanished is reversed in full. An
    adjustment states whether its line is refunded now and the version that priced it now (the
    frozen one's when the line vanished).
    """
    now, then = _by_origin(recomputed), _by_origin(frozen)
    joined = now.join(
        then, on=ADJUSTMENT_KEY, how="full", coalesce=True, suffix="_then", nulls_equal=True
    )
    delta = joined.with_columns(
        *((pl.col(name).fill_null(0) - pl.col(f"{name}_then").fill_null(0)).alias(name)
          for name in SUMS),
        is_refunded=pl.col("is_refunded").fill_null(False),
        rule_version=pl.coalesce("rule_version", "rule_version_then"),
    ).drop(*(f"{name}_then" for name in (*SUMS, "is_refunded", "rule_version")))  # fmt: skip
    changed = pl.any_horizontal(pl.col(name) != 0 for name in SUMS)
    return delta.filter(changed).with_columns(
        period=pl.col("origin_period").replace_strict(target_of, return_dtype=pl.String),
        line_kind=pl.lit("adjustment"),
        price_tier=pl.lit(None, pl.String),
        ladder_rate_bp=pl.lit(10_000, pl.Int64),
        is_rework=pl.lit(False),
    )


def corrections(
    now_closed: pl.LazyFrame, frozen: pl.LazyFrame, target_of: dict[str, str]
) -> pl.LazyFrame:
    """The adjustment lines (``ADJUSTMENT_LINES``) of closed periods: what their lines are now
    (``now_closed``: stored columns) against what they hold frozen (``frozen``: their own lines
    and their adjustments in closed periods, as stored). Frozen lines are taken oldest first, so
    a vanished line's adjustment names the version that priced it last. Per payee: any split of
    the payees gives the same lines."""
    frozen = frozen.sort(["period", *LINE_ORDER], nulls_last=True).with_columns(
        origin_period=pl.coalesce("origin_period", "period"),
        origin_kind=pl.coalesce("origin_kind", "line_kind"),
    )
    now_closed = now_closed.with_columns(
        origin_period=pl.col("period"), origin_kind=pl.col("line_kind")
    )
    return adjustments(now_closed, frozen, target_of).select(
        pl.col(name).cast(dtype) for name, dtype in ADJUSTMENT_LINES.items()
    )
