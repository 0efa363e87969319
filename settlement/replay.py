"""Replay a closed period from its frozen inputs and compare the result with its stored lines.

Pure Polars. ``own_lines`` re-runs the engine on the inputs frozen for a period and keeps that
period's lines; ``correction_lines`` recomputes a corrected closed period from the inputs frozen
for its correction and books the differences as the settlement run did; ``first_difference``
names the first line and column where two sets of lines part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from settlement.engine import settle
from settlement.periods import LINE_IDENTITY, adjustments
from settlement.timeline import Timeline


def own_lines(
    tickets: pl.DataFrame, orders: pl.DataFrame, timeline: Timeline, period: str
) -> pl.DataFrame:
    """The lines (not adjustments) the engine gives ``period`` on these inputs."""
    lines = settle(tickets.lazy(), orders.lazy(), timeline).lines.collect()
    return lines.filter(pl.col("period") == period).with_columns(
        origin_period=pl.lit(None, pl.String), origin_kind=pl.lit(None, pl.String)
    )


def correction_lines(
    tickets: pl.DataFrame,
    orders: pl.DataFrame,
    timeline: Timeline,
    origin: str,
    booked: pl.DataFrame,
    period: str,
) -> pl.DataFrame:
    """The adjustments of closed period ``origin`` booked in ``period``: ``origin`` recomputed
    on these inputs against ``booked`` (what it held before: its own lines and the adjustments
    of it booked in the periods between)."""
    now = own_lines(tickets, orders, timeline, origin).with_columns(
        origin_period=pl.col("period"), origin_kind=pl.col("line_kind")
    )
    then = booked.with_columns(
        origin_period=pl.coalesce("origin_period", "period"),
        origin_kind=pl.coalesce("origin_kind", "line_kind"),
    )
    return adjustments(now.lazy(), then.lazy(), {origin: period}).collect()


@dataclass(frozen=True)
class Difference:
    line: str  # which line, in words
    column: str  # the first column that differs ("" when a whole line is missing)
    stored: object
    replayed: object

    def text(self) -> str:
        if not self.column:
            return f"{self.line}: stored {self.stored}, replayed {self.replayed}"
        return (
            f"{self.line}, column {self.column}: stored {self.stored!r}, replayed {self.replayed!r}"
        )


def describe(row: dict[str, object]) -> str:
    """A line named by its identity, e.g. ``ticket line of T001 for technician W01 in 2026-01``."""
    what = f"{row['line_kind']} line"
    if row.get("ticket_id") is not None:
        what += f" of {row['ticket_id']}"
    what += f" for {row['payee_type']} {row['payee_id']} in {row['period']}"
    if row.get("origin_period") is not None:
        what += f" correcting {row['origin_kind']} of {row['origin_period']}"
    if row.get("currency") not in (None, "CNY"):
        what += f" ({row['currency']})"
    return what


def first_difference(
    stored: pl.DataFrame, replayed: pl.DataFrame, columns: Sequence[str]
) -> Difference | None:
    """The first line (in identity order) where ``stored`` and ``replayed`` differ, and its first
    differing column in ``columns`` order; None when they are equal in every column."""
    key = list(LINE_IDENTITY)
    marked = [
        frame.select(columns).with_columns(pl.lit(side).alias("_side"))
        for frame, side in ((stored, "stored"), (replayed, "replayed"))
    ]
    joined = marked[0].join(
        marked[1], on=key, how="full", coalesce=True, nulls_equal=True, suffix="_replayed"
    )
    values = [name for name in columns if name not in key]
    differs = [
        pl.col(name).ne_missing(pl.col(f"{name}_replayed")).alias(f"_differs_{name}")
        for name in values
    ]
    found = (
        joined.with_columns(differs)
        .filter(
            pl.col("_side").is_null()
            | pl.col("_side_replayed").is_null()
            | pl.any_horizontal(f"_differs_{name}" for name in values)
        )
        .sort(key, nulls_last=True)
    )
    if found.is_empty():
        return None
    row = found.row(0, named=True)
    line = describe(row)
    if row["_side"] is None:
        return Difference(line, "", "nothing", "this line")
    if row["_side_replayed"] is None:
        return Difference(line, "", "this line", "nothing")
    column = next(name for name in values if row[f"_differs_{name}"])
    return Difference(line, column, row[column], row[f"{column}_replayed"])
