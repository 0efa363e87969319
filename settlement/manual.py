"""Manual adjustment lines: an accepted dispute's amount, booked in one period.

They are not priced by the rules: the amount is the analyst's, carried in ``manual_cents`` (the
line's only part) with the dispute it settles. The settlement run and the replay of a closed
period build them the same way, here.
"""

from __future__ import annotations

import polars as pl

from settlement.frames import BREAKDOWN

# An accepted adjustment as recorded: who, about which ticket, how much.
MANUAL = {
    "dispute_id": pl.Int64,
    "period": pl.String,
    "payee_type": pl.String,
    "payee_id": pl.String,
    "ticket_id": pl.String,
    "amount_cents": pl.Int64,
}


def manual_lines(manual: pl.DataFrame, booked: dict[int, str]) -> pl.DataFrame:
    """Accepted disputes as ``manual_adjustment`` lines in their ``booked`` periods."""
    zero = pl.lit(0, pl.Int64)
    return manual.with_columns(
        period=pl.col("dispute_id").replace_strict(booked, return_dtype=pl.String),
        # A disputed line without a ticket (a partner's monthly line) is recorded with ''.
        ticket_id=pl.when(pl.col("ticket_id") != "").then(pl.col("ticket_id")),
        line_kind=pl.lit("manual_adjustment"),
        origin_period=pl.lit(None, pl.String),
        origin_kind=pl.lit(None, pl.String),
        price_tier=pl.lit(None, pl.String),
        ladder_rate_bp=pl.lit(10_000, pl.Int64),
        **{name: zero for name in BREAKDOWN},
        manual_cents=pl.col("amount_cents"),
        currency=pl.lit("CNY"),
        amount_local_cents=pl.col("amount_cents"),
        is_rework=pl.lit(False),
        is_refunded=pl.lit(False),
        rule_version=pl.lit("manual"),
    )
