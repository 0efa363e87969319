"""Data health's judgements: is a feed fresh for its cadence, how often a rule fires."""

from __future__ import annotations

from datetime import datetime

import polars as pl

# How often each feed is expected to arrive (hours); a feed silent for longer is stale.
CADENCE_HOURS = {
    "fsm_csv": 24, "fsm_jsonl": 24, "taobao_trades": 24, "taobao_refunds": 24,
    "youzan_trades": 24, "wechat_orders": 24, "wechat_aftersales": 24,
}  # fmt: skip
DEFAULT_CADENCE_HOURS = 24


def freshness(feeds: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """Each feed with its expected cadence, hours since its last good load, and a status code
    (``fresh``, ``stale``, ``never``). ``now`` and the warehouse's timestamps are naive UTC."""
    cadence = pl.col("feed").replace_strict(
        CADENCE_HOURS, default=DEFAULT_CADENCE_HOURS, return_dtype=pl.Int64
    )
    age = (pl.lit(now) - pl.col("last_success_at")).dt.total_minutes() / 60
    return feeds.with_columns(
        cadence_hours=cadence,
        hours_since_success=age.round(1),
    ).with_columns(
        status=pl.when(pl.col("last_success_at").is_null())
        .then(pl.lit("never"))
        .when(pl.col("hours_since_success") > pl.col("cadence_hours"))
        .then(pl.lit("stale"))
        .otherwise(pl.lit("fresh"))
    ).select("feed", "status", *[c for c in feeds.columns if c != "feed"], "cadence_hours",
             "hours_since_success")  # fmt: skip


def trigger_rates(triggers: pl.DataFrame) -> pl.DataFrame:
    """Rule triggers as shares of the period's lines (0.25 = a quarter of the lines)."""
    rules = [c for c in triggers.columns if c not in ("period", "lines")]
    return triggers.select(
        "period",
        "lines",
        *[(pl.col(r) / pl.col("lines")).alias(f"{r}_rate") for r in rules],
    )
