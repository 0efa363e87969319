"""Closing a period as a checklist: what blocks it, and its figures against the period before.

A blocker is one function in ``BLOCKERS`` reading the serving snapshot (or the app store); each
says how many things block the close and, where there are some, which tickets (or feeds,
periods, disputes) they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from settlement.explain import yuan
from warehouse.app_store import app_store_path
from warehouse.db import Phrase, WarehouseError, connect_serving
from warehouse.disputes import queue
from warehouse.health import freshness
from warehouse.queries import WarehouseUnavailable, previous_period, unavailable


@contextmanager
def _serving(primary: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The serving snapshot; a damaged or missing one is ``WarehouseUnavailable`` (a message)."""
    try:
        with connect_serving(primary) as con:
            yield con
    except WarehouseUnavailable:
        raise
    except (WarehouseError, duckdb.Error) as error:
        raise unavailable(primary, error) from error


@dataclass(frozen=True)
class Blocker:
    code: str  # unpriced stale_feeds pending_corrections earlier_open open_disputes
    count: int
    items: pl.DataFrame = field(default_factory=pl.DataFrame)  # what is behind the count

    @property
    def blocks(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class Context:
    con: duckdb.DuckDBPyConnection
    period: str
    now: datetime  # naive UTC
    store: Path  # the app store (disputes)


def unpriced_tickets(ctx: Context) -> Blocker:
    items = ctx.con.sql(
        "select u.ticket_id, u.reason, f.city_name, f.technician_id"
        " from settlement_unpriced as u left join ticket_facts as f on f.ticket_id = u.ticket_id"
        " where u.period = $p order by u.ticket_id",
        params={"p": ctx.period},
    ).pl()
    return Blocker("unpriced", items.height, items)


def stale_feeds(ctx: Context) -> Blocker:
    # The same cadence judgement Data health shows.
    sql = (Path(__file__).parent / "sql" / "feed_freshness.sql").read_text(encoding="utf-8")
    feeds = ctx.con.sql(sql, params={"may_see_operations": True}).pl()
    judged = freshness(feeds, ctx.now).filter(pl.col("status") != "fresh")
    items = judged.select("feed", "status", "last_success_at", "cadence_hours")
    return Blocker("stale_feeds", items.height, items)


def pending_corrections(ctx: Context) -> Blocker:
    items = ctx.con.sql(
        "select ticket_id, payee_id, origin_period, amount_cents from settlement_lines"
        " where line_kind = 'adjustment' and period < $p and period in"
        " (select period from settlement_periods where status = 'open')"
        " order by origin_period, ticket_id",
        params={"p": ctx.period},
    ).pl()
    return Blocker("pending_corrections", items.height, items)


def earlier_open_periods(ctx: Context) -> Blocker:
    items = ctx.con.sql(
        "select period from settlement_periods where status = 'open' and period < $p"
        " order by period",
        params={"p": ctx.period},
    ).pl()
    return Blocker("earlier_open", items.height, items)


def open_disputes(ctx: Context) -> Blocker:
    """A payee's open question about the period must be answered before it is frozen."""
    rows = [
        {"dispute_id": d.dispute_id, "payee_id": d.payee_id, "ticket_id": d.ticket_id,
         "raised_by": d.raised_by, "age_days": d.age_days(ctx.now.date()),
         "dispute_reason": d.reason}
        for d in queue(ctx.store) if d.period == ctx.period
    ]  # fmt: skip
    schema = {
        "dispute_id": pl.Int64, "payee_id": pl.String, "ticket_id": pl.String,
        "raised_by": pl.String, "age_days": pl.Int64, "dispute_reason": pl.String,
    }  # fmt: skip
    items = pl.DataFrame(rows, schema=schema)
    return Blocker("open_disputes", items.height, items)


BLOCKERS: list[Callable[[Context], Blocker]] = [
    earlier_open_periods,
    unpriced_tickets,
    stale_feeds,
    pending_corrections,
    open_disputes,
]


def blockers(primary: Path, period: str, now: datetime | None = None) -> list[Blocker]:
    """Every blocker's verdict on closing ``period`` (those with a count of 0 pass)."""
    moment = now or datetime.now(UTC).replace(tzinfo=None)
    with _serving(primary) as con:
        ctx = Context(con, period, moment, app_store_path(primary))
        return [blocker(ctx) for blocker in BLOCKERS]


def open_periods(primary: Path) -> list[str]:
    with _serving(primary) as con:
        rows = con.execute(
            "select period from settlement_periods where status = 'open' order by period"
        ).fetchall()
    return [r[0] for r in rows]


def totals(primary: Path, period: str) -> pl.DataFrame:
    """The period's totals by payee type and payout currency against the previous period.

    ``amount_cents`` is in CNY (the ledger's figure); ``amount_local_cents`` in the currency.
    """
    before = previous_period(period)
    with _serving(primary) as con:
        frame = con.sql(
            "with sums as (select payee_type, currency,"
            " sum(amount_cents) filter (where period = $p)::bigint as amount_cents,"
            " sum(amount_cents) filter (where period = $b)::bigint as previous_cents,"
            " sum(amount_local_cents) filter (where period = $p)::bigint as amount_local_cents,"
            " count(distinct payee_id) filter (where period = $p) as payees"
            " from settlement_lines where period in ($p, $b) group by all)"
            " select payee_type, currency, payees, coalesce(amount_cents, 0) as amount_cents,"
            " coalesce(previous_cents, 0) as previous_cents,"
            " coalesce(amount_cents, 0) - coalesce(previous_cents, 0) as change_cents,"
            " coalesce(amount_local_cents, 0) as amount_local_cents"
            " from sums order by payee_type, currency",
            params={"p": period, "b": before},
        ).pl()
    return frame.with_columns(pl.col("payees").cast(pl.Int64))


def figures_text(primary: Path, period: str) -> str:
    """The period's figures in words, for a close request's record (a Phrase: a page says it in
    the reader's language, the figures as they are)."""
    frame = totals(primary, period)
    if frame.is_empty():
        return Phrase("{period}: no settlement lines", period=period)
    parts: list[object] = []
    for row in frame.iter_rows(named=True):
        sign = "+" if row["change_cents"] > 0 else ""
        parts.append(Phrase(
            "{payee_type} {currency}: {payees} payees, {amount} ({change} on {previous})",
            payee_type=Phrase.code("payee_type", row["payee_type"]), currency=row["currency"],
            payees=format(row["payees"], ","), amount=yuan(row["amount_cents"]),
            change=f"{sign}{yuan(row['change_cents'])}", previous=previous_period(period),
        ))  # fmt: skip
    total = int(frame["amount_cents"].sum())
    return Phrase(
        "{period}: {parts}; total {total}", period=period, parts=Phrase.joined(parts),
        total=yuan(total),
    )  # fmt: skip
