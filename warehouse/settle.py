"""Settlement's IO shell: read the warehouse, run the pure engine, write lines back.

One writer transaction per run. Every ticket is settled under the rule version effective on its
completion date (``settlement.timeline``). Open periods are replaced only where their content
changed (so a second run changes nothing); closed periods are recomputed too, and any difference
from what was frozen becomes adjustment lines in the first open period after the one corrected
(opening the next month when there is none). Periods close in order.

A run is incremental unless asked to be full: only the (payee, period) groups whose inputs or
rules changed since the last run are recomputed and replaced (``warehouse.dirty`` finds them),
and the lines are exactly those a full run writes.
"""

from __future__ import annotations

import contextlib
import functools
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Protocol

import duckdb
import polars as pl

from settlement.engine import settle
from settlement.explain import yuan
from settlement.frames import BREAKDOWN, LINES, ORDERS_IN, TICKETS_IN, UNPRICED
from settlement.manual import manual_lines
from settlement.periods import LINE_ORDER, corrections
from settlement.rules import DEFAULT_RULES, RuleSet, document_from_yaml, parse_rules
from settlement.timeline import Timeline
from warehouse import app_store, dirty, disputes
from warehouse.db import Phrase, WarehouseDiskFull, is_disk_full, writer
from warehouse.frozen import freeze_period

# A line's amount must fit the ledger's DECIMAL(18, 2) yuan column.
LEDGER_LIMIT_CENTS = 10**16

STORED_LINES = [
    "period",
    "line_kind",
    "payee_type",
    "payee_id",
    "ticket_id",
    "origin_period",
    "origin_kind",
    "price_tier",
    "ladder_rate_bp",
    *BREAKDOWN,
    "amount_cents",
    "currency",
    "amount_local_cents",
    "is_rework",
    "is_refunded",
    "rule_version",
    "manual_cents",
    "dispute_id",
]
# Columns of stored lines the engine does not produce (manual adjustments from disputes).
STORED_ONLY: dict[str, pl.DataType] = {"manual_cents": pl.Int64(), "dispute_id": pl.Int64()}
EMPTY_LINES = pl.DataFrame(
    schema={name: STORED_ONLY.get(name) or LINES.get(name, pl.String()) for name in STORED_LINES}
)
# The stored lines of dirty groups (``warehouse.dirty``): a line's group is its payee's in its
# period, an adjustment's in the closed period it corrects.
DIRTY_JOIN = (
    "semi join settlement_dirty_groups as d on d.payee_id = l.payee_id"
    " and d.period = coalesce(l.origin_period, l.period)"
    " and d.kind = case when l.payee_type = 'technician' then 'technician' else 'partner' end"
)


# A cheap filter before the join: lines of the open periods in the dirty groups' periods, or
# adjustments of closed ones among them.
IN_DIRTY_PERIODS = (
    "l.period = any($open) and (l.period = any($dirty) or l.origin_period = any($dirty))"
)


class Engine(Protocol):
    """Where a run computes: the local Polars engine, or another that gives the very same lines
    (``distributed.engine.SparkEngine``)."""

    def settle(
        self, tickets: pl.DataFrame, orders: pl.DataFrame, timeline: Timeline
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Tickets and orders (frames.TICKETS_IN, ORDERS_IN) → (frames.LINES, UNPRICED)."""
        ...

    def corrections(
        self, now_closed: pl.DataFrame, frozen: pl.DataFrame, target_of: dict[str, str]
    ) -> pl.DataFrame:
        """``settlement.periods.corrections``, collected."""
        ...


class LocalEngine:
    """The engine in this process."""

    def settle(
        self, tickets: pl.DataFrame, orders: pl.DataFrame, timeline: Timeline
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        result = settle(tickets.lazy(), orders.lazy(), timeline)
        lines, unpriced = pl.collect_all([result.lines, result.unpriced])
        return lines, unpriced

    def corrections(
        self, now_closed: pl.DataFrame, frozen: pl.DataFrame, target_of: dict[str, str]
    ) -> pl.DataFrame:
        return corrections(now_closed.lazy(), frozen.lazy(), target_of).collect()


LOCAL = LocalEngine()


def query(name: str) -> str:
    return (resources.files("warehouse") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


class PeriodNotOpen(ValueError):
    """A run or close asked for a period that is not open: a refused request, not a failure."""


class SettlementFailed(RuntimeError):
    """A run that could not write a complete, consistent set of lines; nothing was written and
    the failure is recorded in ``settlement_runs`` with its cause."""


@dataclass(frozen=True)
class Correction:
    origin_period: str  # the closed period corrected
    period: str  # the open period holding the adjustment
    lines: int
    amount_cents: int


@dataclass(frozen=True)
class SettleSummary:
    run_id: int
    status: str  # succeeded unchanged
    periods_written: list[str]
    lines_written: int
    adjustments: int
    unpriced: int
    versions: dict[str, str]  # period -> the versions pricing it ("0", "0+3")
    opened: list[str] = field(default_factory=list)  # periods opened to hold corrections
    pending: list[Correction] = field(default_factory=list)  # adjustments in open periods
    mode: str | None = None  # full incremental (none for a failed run)
    groups_recomputed: int = 0  # (payee, period) groups settled

    def line(self) -> str:
        written = ", ".join(self.periods_written) or "none"
        text = (
            f"settlement run {self.run_id}: {self.status}; periods rewritten: {written}; "
            f"{self.lines_written:,} lines, {self.adjustments:,} adjustments, "
            f"{self.unpriced:,} unpriced tickets; {self.mode}, "
            f"{self.groups_recomputed:,} payee-period groups recomputed"
        )
        for period in self.opened:
            text += f"\nopened {period} to hold corrections of closed periods"
        if self.pending:
            text += "\npending corrections (booked in open periods, final when those close):"
            for c in self.pending:
                text += (
                    f"\n  {c.origin_period} → {c.period}: {c.lines:,} lines, {yuan(c.amount_cents)}"
                )
        return text


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _next_period(period: str) -> str:
    year, month = int(period[:4]), int(period[5:7])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def shipped_rules() -> RuleSet:
    """Version 0: the rules Tierboard ships, in force from the beginning of the data."""
    return _shipped(DEFAULT_RULES.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=2)
def _shipped(text: str) -> RuleSet:
    # Parsing the YAML costs more than an incremental run's whole check for changes; the rule
    # set is frozen, so one parse per content serves every run of the process.
    return parse_rules(document_from_yaml(text)).model_copy(update={"version": "0"})


def rule_timeline(store: Path) -> Timeline:
    """Version 0 and every version published to the app store, on their effective dates."""
    published = [
        parse_rules({**v.document, "version": str(v.version)})
        for v in app_store.rule_versions(store)
    ]
    return Timeline.of(shipped_rules(), published)


def settlement_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    tickets = con.sql(query("settlement_tickets")).pl()
    orders = con.sql(query("settlement_orders")).pl()
    return (
        tickets.select(pl.col(n).cast(t) for n, t in TICKETS_IN.items()),
        orders.select(pl.col(n).cast(t) for n, t in ORDERS_IN.items()),
    )


def _statuses(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select period, status from settlement_periods").fetchall())


# The stored columns of ``settlement_lines as l``, in order.
STORED_COLUMNS = ", ".join(f"l.{name}" for name in STORED_LINES)


def _stored_query(where: str, join: str = "") -> str:
    """The stored lines (``l``) that ``where`` selects, in the stored columns."""
    return f"select {STORED_COLUMNS} from settlement_lines as l {join} where {where}"


def _stored(
    con: duckdb.DuckDBPyConnection, where: str, params: dict[str, object], join: str = ""
) -> pl.DataFrame:
    return con.sql(_stored_query(where, join), params=params).pl()


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Lines in the stored columns and types, in their line order (period first)."""
    return _shaped(frame).sort(LINE_ORDER, nulls_last=True)


def _shaped(frame: pl.DataFrame) -> pl.DataFrame:
    missing = {"manual_cents": 0, "dispute_id": None}
    frame = frame.with_columns(
        pl.lit(value, STORED_ONLY[name]).alias(name)
        for name, value in missing.items()
        if name not in frame.columns
    )
    return frame.select(
        pl.col(name).cast(STORED_ONLY.get(name) or LINES.get(name, pl.String()))
        for name in STORED_LINES
    )


def booking_periods(
    manual: pl.DataFrame, statuses: dict[str, str], frozen_in: dict[int, str]
) -> dict[int, str]:
    """dispute id → the period its manual adjustment is a line of.

    A closed period never changes: an adjustment frozen in one stays there; one booked (at
    acceptance) in a period that has closed since without it moves to the first open period
    after it, opening the month after the latest period when none is open."""
    open_periods = sorted(p for p, s in statuses.items() if s == "open")
    booked = {}
    for dispute_id, period in manual.select("dispute_id", "period").iter_rows():
        if dispute_id in frozen_in:
            booked[dispute_id] = frozen_in[dispute_id]
        elif statuses.get(period) != "closed":
            booked[dispute_id] = period
        else:
            later = [p for p in open_periods if p > period]
            booked[dispute_id] = later[0] if later else _next_period(max(statuses))
    return booked


def _write_lines(con: duckdb.DuckDBPyConnection, lines: pl.DataFrame, run_id: int) -> None:
    if lines.is_empty():
        return
    staged = lines.select(STORED_LINES).with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    con.register("new_lines", staged)
    try:
        con.execute(f"insert into settlement_lines by name select *, {AMOUNT} from new_lines")
    finally:
        con.unregister("new_lines")


AMOUNT = "cast(amount_cents * 0.01 as decimal(18, 2)) as amount"  # the yuan column, derived


def _held_query(where: str, join: str = "") -> str:
    """The stored lines (``l``) that ``where`` selects, by their row in the table (stable within
    the run's transaction), their period and the hash of their stored columns."""
    return (
        f"select l.rowid as held_row, l.period, hash({STORED_COLUMNS}) as h"
        f" from settlement_lines as l {join} where {where}"
    )


def _find_line_changes(
    con: duckdb.DuckDBPyConnection, held: str, params: dict[str, object]
) -> list[str]:
    """Compare the stored lines ``held`` selects (``_held_query``) with the registered
    ``new_lines`` that replace them (numbered by ``line_number``): the stored rows to delete
    (``held_row``) and the new lines to insert (``line_number``) go to
    ``settlement_line_changes``. The periods those are in. ``held`` must select every stored
    line the new lines replace (a line's period and group say whether it is in reach).

    Lines are compared by the hash of their whole row: a line whose row hash is held already
    is unchanged, the bet the baseline's ticket hashes make already. A hash that repeats on
    either side (two equal lines, or a collision) marks all its lines changed, so nothing rests
    on lines being unique: afterwards the lines in reach are exactly the new ones."""
    stored = ", ".join(STORED_LINES)
    con.execute(
        f"""create or replace temp table settlement_line_changes as
        with held as materialized ({held}),
        now as materialized (select line_number, period, hash({stored}) as h from new_lines),
        repeated as (
            select h from held group by h having count(*) > 1
            union select h from now group by h having count(*) > 1
        ),
        gone as (
            select period, held_row from held as o anti join now as n on n.h = o.h
            union all
            select period, held_row from held as o semi join repeated as r on r.h = o.h
        ),
        added as (
            select period, line_number from now as n anti join held as o on o.h = n.h
            union all
            select period, line_number from now as n semi join repeated as r on r.h = n.h
        ),
        changes as (
            select period, held_row, null::bigint as line_number from gone
            union all
            select period, null::bigint, line_number from added
        )
        select distinct * from changes""",
        params,
    )
    rows = con.execute("select distinct period from settlement_line_changes order by 1")
    return [str(period) for (period,) in rows.fetchall()]


def _apply_line_changes(con: duckdb.DuckDBPyConnection, run_id: int) -> int:
    """Delete the changed stored rows and write the registered ``new_lines`` that differ, by
    their numbers (after ``_find_line_changes``); every other line keeps the run that wrote it.
    The number of lines written."""
    con.execute(
        "delete from settlement_lines where rowid in"
        " (select held_row from settlement_line_changes where held_row is not null)"
    )
    (written,) = con.execute(
        f"insert into settlement_lines by name select {STORED_COLUMNS}, $run::bigint as run_id,"
        f" {AMOUNT} from new_lines as l semi join settlement_line_changes as d"
        " on d.line_number = l.line_number",
        {"run": run_id},
    ).fetchall()[0]
    return int(written)


def _mirror_rule_versions(con: duckdb.DuckDBPyConnection, store: Path) -> None:
    shipped = shipped_rules()
    rows = [
        (
            "0",
            date.min,
            json.dumps(shipped.model_dump(mode="json"), ensure_ascii=False),
            "shipped rules: in force from the beginning of the data",
            "tierboard",
            datetime.combine(shipped.effective_date, datetime.min.time()),  # as shipped
        ),
        *(
            (
                str(v.version),
                v.effective_date,
                json.dumps(v.document, ensure_ascii=False),
                v.note,
                v.author,
                v.published_at,
            )
            for v in app_store.rule_versions(store)
        ),
    ]
    con.executemany(
        "insert into rule_versions values (?, ?, ?, ?, ?, ?) on conflict do nothing", rows
    )


def open_periods_for(con: duckdb.DuckDBPyConnection, periods: Iterable[str]) -> dict[str, str]:
    """Record the periods the tickets fall in. Periods close in order, so a period that first
    appears before the latest closed one (a late ticket) is recorded closed: its lines arrive as
    adjustments in the first open period after it. Returns every period's status."""
    statuses = _statuses(con)
    latest_closed = max((p for p, s in statuses.items() if s == "closed"), default=None)
    for period in sorted(set(periods) - set(statuses)):
        late = latest_closed is not None and period < latest_closed
        con.execute(
            "insert into settlement_periods (period, status, closed_at, closed_by, note)"
            " values ($p, $s, $at, $by, $note)",
            {
                "p": period,
                "s": "closed" if late else "open",
                "at": _now() if late else None,
                "by": "tierboard" if late else None,
                "note": f"first seen after {latest_closed} closed: corrections go to a later period"
                if late
                else None,
            },
        )
    return _statuses(con)


def correction_targets(statuses: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """(closed period → the first open period after it, periods to open for that).

    When no open period follows a closed one, the month after the latest period is opened."""
    open_periods = sorted(p for p, s in statuses.items() if s == "open")
    closed = sorted(p for p, s in statuses.items() if s == "closed")
    targets, opened = {}, []
    for period in closed:
        later = [p for p in open_periods if p > period]
        if not later:
            new = _next_period(max(statuses))
            open_periods.append(new)
            opened.append(new)
            later = [new]
        targets[period] = later[0]
    return targets, opened


def _check_ledger_range(lines: pl.DataFrame) -> None:
    """Bounded rules keep amounts small; this guards the ledger's type against whatever data
    could still push a line past it (e.g. an absurd quantity), naming the ticket."""
    too_big = lines.filter(pl.col("amount_cents").abs() >= LEDGER_LIMIT_CENTS)
    if not too_big.is_empty():
        first = too_big.row(0, named=True)
        raise SettlementFailed(
            f"line of ticket {first['ticket_id']} for {first['payee_id']} in {first['period']}"
            f" is {first['amount_cents']:,} cents, beyond the ledger's range"
        )


def _pending(con: duckdb.DuckDBPyConnection) -> list[Correction]:
    rows = con.execute(
        "select l.origin_period, l.period, count(*), sum(l.amount_cents)::bigint"
        " from settlement_lines as l join settlement_periods as p on p.period = l.period"
        " where l.line_kind = 'adjustment' and p.status = 'open'"
        " group by all order by 1, 2"
    ).fetchall()
    return [Correction(o, p, int(n), int(c)) for o, p, n, c in rows]


def settle_into(
    con: duckdb.DuckDBPyConnection,
    *,
    store: Path,
    period: str | None = None,
    full: bool = False,
    engine: Engine = LOCAL,
) -> SettleSummary:
    """Settle the open periods (or one) under the rule timeline, in one transaction.

    Incremental unless ``full``: only the (payee, period) groups whose inputs or rules changed
    since the last run are recomputed (``warehouse.dirty``); the lines are those a full run
    would write. A run of one period, a first run, a run after a period closed and a run of new
    code settle in full."""
    started = _now()
    timeline = rule_timeline(store)
    con.execute("begin transaction")
    try:
        summary = _settle_in_transaction(con, timeline, store, period, full, started, engine)
        con.execute("commit")
    except BaseException:
        # After a failed commit (a full disk) DuckDB has already ended the transaction: a
        # second rollback's "no transaction is active" must not hide the cause.
        with contextlib.suppress(duckdb.Error):
            con.execute("rollback")
        raise
    finally:
        dirty.close(con)
    return summary


def _incremental_baseline(
    con: duckdb.DuckDBPyConnection, period: str | None, full: bool, now: dirty.Digests
) -> dirty.Baseline | None:
    """The baseline an incremental run compares with, or None when this run must be full."""
    if full or period is not None:
        return None
    base = dirty.baseline(con)
    if base is None or base.code_digest != dirty.code_digest():
        return None
    if base.reference_digest != now.reference:
        return None  # places and people are joined to every ticket: settle them all
    return base


def _statuses_moved(base: dirty.Baseline, statuses: dict[str, str]) -> bool:
    """A period closed since the baseline (or a late one was recorded closed): settle in full,
    which books the corrections of every closed period in the new first open one."""
    return any(
        base.periods.get(p, ("open", ""))[0] != status
        for p, status in statuses.items()
        if p in base.periods or status != "open"
    )


def _settle_in_transaction(
    con: duckdb.DuckDBPyConnection,
    timeline: Timeline,
    store: Path,
    period: str | None,
    full: bool,
    started: datetime,
    engine: Engine,
) -> SettleSummary:
    dirty.open_inputs(con)
    now = dirty.digests(con)
    base = _incremental_baseline(con, period, full, now)
    if base is not None:
        statuses = open_periods_for(con, dirty.scan_periods(con))
        if not _statuses_moved(base, statuses):
            return _settle_incremental(con, timeline, store, statuses, base, now, started, engine)
    tickets, orders = settlement_inputs(con)
    return _settle_full(con, tickets, orders, timeline, store, period, now, started, engine)


def _manual(
    con: duckdb.DuckDBPyConnection, store: Path, statuses: dict[str, str]
) -> tuple[pl.DataFrame, list[str]]:
    """The accepted disputes' manual adjustment lines (canonical) in the periods they are booked
    in, and the periods to open for them."""
    manual = disputes.manual_adjustments(store)
    if manual.is_empty():
        return _canonical(EMPTY_LINES), []
    frozen_in = dict(
        con.execute(
            "select l.dispute_id, l.period from settlement_lines as l"
            " join settlement_periods as p on p.period = l.period"
            " where l.line_kind = 'manual_adjustment' and p.status = 'closed'"
        ).fetchall()
    )
    booked = booking_periods(manual, statuses, frozen_in)
    to_open = sorted({p for p in booked.values() if p not in statuses})
    return _canonical(manual_lines(manual, booked)), to_open


def _settle_full(
    con: duckdb.DuckDBPyConnection,
    tickets: pl.DataFrame,
    orders: pl.DataFrame,
    timeline: Timeline,
    store: Path,
    period: str | None,
    now: dirty.Digests,
    started: datetime,
    engine: Engine,
) -> SettleSummary:
    periods = set(tickets["completed_date"].dt.strftime("%Y-%m").drop_nulls())
    statuses = open_periods_for(con, periods)
    if period is not None and statuses.get(period) != "open":
        state = statuses.get(period, "unknown (no completed tickets)")
        raise PeriodNotOpen(f"period {period} is {state}; only open periods can be settled")
    target_of, to_open = correction_targets(statuses)

    recomputed, missing_all = engine.settle(tickets, orders, timeline)
    _check_ledger_range(recomputed)
    groups = recomputed.select(dirty.group_kind(pl.col("payee_type")), "payee_id", "period")
    recomputed = recomputed.with_columns(
        origin_period=pl.lit(None, pl.String), origin_kind=pl.lit(None, pl.String)
    )
    extra, manual_periods = _manual(con, store, statuses)
    if not extra.is_empty():
        to_open = sorted(set(to_open) | set(manual_periods))
        recomputed = pl.concat([_canonical(recomputed), extra], how="vertical")

    open_periods = sorted({p for p, s in statuses.items() if s == "open"} | set(to_open))
    targets = [period] if period else open_periods
    new_lines = {p: _canonical(recomputed.filter(pl.col("period") == p)) for p in targets}
    corrected = sorted(o for o, t in target_of.items() if t in targets)
    if corrected:
        # What each corrected closed period holds now: its own lines, plus its adjustments
        # wherever they are not about to be rewritten by this run.
        frozen = _stored(
            con,
            "(period = any($corrected) and line_kind <> 'adjustment')"
            " or (line_kind = 'adjustment' and origin_period = any($corrected)"
            " and period <> all($targets))",
            {"corrected": corrected, "targets": targets},
        )
        now_closed = recomputed.filter(pl.col("period").is_in(corrected))
        for target, mine in _corrections(now_closed, frozen, target_of, corrected, engine).items():
            new_lines[target] = _canonical(pl.concat([new_lines[target], mine], how="vertical"))

    opened = [p for p in to_open if p in new_lines and not new_lines[p].is_empty()]
    _open(con, opened)
    run_id = _next_run_id(con)
    rewritten, written = [], 0
    for target, lines in new_lines.items():
        existing = _canonical(_stored(con, "period = $p", {"p": target}))
        if existing.equals(lines):
            continue
        con.execute("delete from settlement_lines where period = $p", {"p": target})
        _write_lines(con, lines, run_id)
        rewritten.append(target)
        written += lines.height
    target_unpriced = missing_all.filter(pl.col("period").is_in(targets))
    con.execute("delete from settlement_unpriced where period = any($p)", {"p": targets})
    _write_unpriced(con, target_unpriced, run_id)
    _mirror_rule_versions(con, store)
    summary = SettleSummary(
        run_id,
        "succeeded" if rewritten else "unchanged",
        rewritten,
        written,
        _adjustments_in(new_lines, rewritten),
        target_unpriced.height,
        timeline.by_period(_statuses(con)),
        opened,
        _pending(con),
        mode="full",
        groups_recomputed=groups.n_unique(),
    )
    _record_run(con, summary, started)
    if period is None:
        dirty.save_full(con, run_id, _period_state(con, timeline), now)
    else:  # the other open periods were not rewritten: no baseline to compare with
        dirty.forget(con)
    return summary


def _settle_incremental(
    con: duckdb.DuckDBPyConnection,
    timeline: Timeline,
    store: Path,
    statuses: dict[str, str],
    base: dirty.Baseline,
    now: dirty.Digests,
    started: datetime,
    engine: Engine,
) -> SettleSummary:
    """Recompute the dirty groups only and replace their lines (``warehouse.dirty``).

    The lines of an open period are its groups' lines, the adjustments of closed periods'
    groups and the manual adjustments; each part of a dirty group is what a full run computes
    for it: the engine settles every ticket the group's lines depend on, and an adjustment of a
    closed group is the difference between its lines now and what it holds frozen. Of those
    lines, only the ones that differ from the stored ones are written (``_find_line_changes``)."""
    target_of, to_open = correction_targets(statuses)
    extra, manual_periods = _manual(con, store, statuses)
    to_open = sorted(set(to_open) | set(manual_periods))
    open_periods = sorted({p for p, s in statuses.items() if s == "open"} | set(to_open))
    closed = sorted(p for p, s in statuses.items() if s == "closed")
    digests = dirty.rules_digests(timeline, set(statuses))
    rule_periods = [p for p, d in sorted(digests.items()) if base.periods.get(p, ("", ""))[1] != d]
    dirty.find_changes(con, rule_periods, now.orders != base.orders)
    # A closed period's manual lines that differ from what it holds (an adjustment amended in
    # the app store): their groups are corrected too.
    stored_manual = _canonical(
        _stored(con, "l.line_kind = 'manual_adjustment' and l.period = any($c)", {"c": closed})
    )
    now_manual = extra.filter(pl.col("period").is_in(closed))
    moved = pl.concat(
        [stored_manual.join(now_manual, on=STORED_LINES, how="anti", nulls_equal=True),
         now_manual.join(stored_manual, on=STORED_LINES, how="anti", nulls_equal=True)]
    )  # fmt: skip
    dirty.add_groups(
        con, moved.select(dirty.group_kind(pl.col("payee_type")), "payee_id", "period").unique()
    )
    groups = dirty.dirty_groups(con)

    engine_lines = EMPTY_LINES
    missing = pl.DataFrame(schema=UNPRICED)
    if not groups.is_empty():
        tickets, orders = dirty.read_inputs(con)
        lines, missing = engine.settle(tickets, orders, timeline)
        lines = dirty.in_groups(lines, groups)
        _check_ledger_range(lines)
        engine_lines = _shaped(
            lines.with_columns(
                origin_period=pl.lit(None, pl.String), origin_kind=pl.lit(None, pl.String)
            )
        )
    parts = [engine_lines, extra]
    corrected = sorted(set(groups.filter(pl.col("period").is_in(closed))["period"]))
    if corrected:
        frozen = _stored(
            con,
            "(l.period = any($corrected) and l.line_kind <> 'adjustment')"
            " or (l.line_kind = 'adjustment' and l.origin_period = any($corrected)"
            " and l.period <> all($targets))",
            {"corrected": corrected, "targets": open_periods},
            DIRTY_JOIN,
        )
        now_closed = pl.concat(
            [engine_lines, dirty.in_groups(extra, groups)], how="vertical"
        ).filter(pl.col("period").is_in(corrected))
        parts.extend(_corrections(now_closed, frozen, target_of, corrected, engine).values())
    new_lines = _shaped(pl.concat(parts, how="vertical")).filter(
        pl.col("period").is_in(open_periods)
    )
    # What the open periods hold of the same parts: the dirty groups' lines and adjustments, and
    # every manual adjustment line.
    reach: dict[str, object] = {"open": open_periods, "dirty": sorted(set(groups["period"]))}
    held = (
        _held_query("l.period = any($open) and l.line_kind = 'manual_adjustment'")
        + " union all "
        + _held_query(f"{IN_DIRTY_PERIODS} and l.line_kind <> 'manual_adjustment'", DIRTY_JOIN)
    )
    con.register("new_lines", new_lines.with_row_index("line_number"))
    try:
        changed = _find_line_changes(con, held, reach)
        opened = [p for p in to_open if p in changed]
        _open(con, opened)
        run_id = _next_run_id(con)
        written = _apply_line_changes(con, run_id)
    finally:
        con.unregister("new_lines")
    touched = dirty.touched_tickets(con)
    con.execute(
        "delete from settlement_unpriced where period = any($p)"
        " and ticket_id in (select ticket_id from settlement_touched)",
        {"p": open_periods},
    )
    _write_unpriced(
        con,
        missing.filter(
            pl.col("period").is_in(open_periods) & pl.col("ticket_id").is_in(touched.implode())
        ),
        run_id,
    )
    _mirror_rule_versions(con, store)
    unpriced = con.execute(
        "select count(*) from settlement_unpriced where period = any($p)", {"p": open_periods}
    ).fetchall()[0][0]
    summary = SettleSummary(
        run_id,
        "succeeded" if changed else "unchanged",
        changed,
        written,
        new_lines.filter(
            pl.col("period").is_in(changed) & (pl.col("line_kind") == "adjustment")
        ).height,
        int(unpriced),
        timeline.by_period(_statuses(con)),
        opened,
        _pending(con),
        mode="incremental",
        groups_recomputed=groups.height,
    )
    _record_run(con, summary, started)
    dirty.save_incremental(con, run_id, _period_state(con, timeline), now)
    return summary


def _corrections(
    now_closed: pl.DataFrame,
    frozen: pl.DataFrame,
    target_of: dict[str, str],
    corrected: list[str],
    engine: Engine,
) -> dict[str, pl.DataFrame]:
    """target period → the adjustment lines (canonical) of the ``corrected`` closed periods:
    what their lines are now against what they hold frozen (``settlement.periods.corrections``,
    computed by the run's engine)."""
    adjust = engine.corrections(now_closed, frozen, {o: target_of[o] for o in corrected})
    return {
        target: _canonical(adjust.filter(pl.col("period") == target))
        for target in sorted(set(adjust["period"]))
    }


def _open(con: duckdb.DuckDBPyConnection, periods: list[str]) -> None:
    for new in periods:
        con.execute(
            "insert into settlement_periods (period, status, note) values ($p, 'open', $n)",
            {"p": new, "n": "opened to hold corrections of closed periods"},
        )


def _next_run_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("select nextval('settlement_run_id')").fetchall()[0][0])


def _write_unpriced(con: duckdb.DuckDBPyConnection, unpriced: pl.DataFrame, run_id: int) -> None:
    if unpriced.is_empty():
        return
    con.register(
        "new_unpriced",
        unpriced.select(list(UNPRICED)).with_columns(pl.lit(run_id, pl.Int64).alias("run_id")),
    )
    try:
        con.execute("insert into settlement_unpriced by name select * from new_unpriced")
    finally:
        con.unregister("new_unpriced")


def _adjustments_in(new_lines: dict[str, pl.DataFrame], written: list[str]) -> int:
    return sum(
        lines.filter(pl.col("line_kind") == "adjustment").height
        for p, lines in new_lines.items()
        if p in written
    )


def _period_state(con: duckdb.DuckDBPyConnection, timeline: Timeline) -> dict[str, tuple[str, str]]:
    statuses = _statuses(con)
    digests = dirty.rules_digests(timeline, set(statuses))
    return {p: (s, digests[p]) for p, s in statuses.items()}


def _record_run(
    con: duckdb.DuckDBPyConnection, summary: SettleSummary, started: datetime, error: str = ""
) -> None:
    con.execute(
        "insert into settlement_runs (run_id, started_at, finished_at, periods, rule_versions,"
        " lines_written, adjustments, unpriced, status, error, mode, groups_recomputed)"
        " values ($id, $started, $finished, $periods, $versions, $lines, $adjust, $unpriced,"
        " $status, $error, $mode, $groups)",
        {
            "id": summary.run_id,
            "started": started,
            "finished": _now(),
            "periods": ",".join(summary.periods_written),
            "versions": ",".join(f"{p}={v}" for p, v in summary.versions.items()),
            "lines": summary.lines_written,
            "adjust": summary.adjustments,
            "unpriced": summary.unpriced,
            "status": summary.status,
            "error": error or None,
            "mode": summary.mode,
            "groups": summary.groups_recomputed,
        },
    )


def _first_line(error: Exception) -> str:
    """The cause in one line; for a rule set that no longer validates, its first problem."""
    from pydantic import ValidationError

    from settlement.rules import problems_of

    if isinstance(error, ValidationError):
        problems = problems_of(error)
        return f"a published rule version is invalid: {problems[0]}" if problems else str(error)
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def _record_failure(con: duckdb.DuckDBPyConnection, started: datetime, cause: str) -> int:
    run_id = int(con.execute("select nextval('settlement_run_id')").fetchall()[0][0])
    failed = SettleSummary(run_id, "failed", [], 0, 0, 0, {})
    _record_run(con, failed, started, cause)
    return run_id


def settle_warehouse(
    primary: Path,
    *,
    period: str | None = None,
    full: bool = False,
    echo: Callable[[str], None] = lambda _: None,
    engine: Engine = LOCAL,
) -> SettleSummary:
    """One settlement run on the primary (incremental unless ``full``, see ``settle_into``). A
    run either commits every line it computed or writes none and records itself failed with its
    cause (then raises ``SettlementFailed``); the failure record is published with the serving
    snapshot, so the dashboard shows it."""
    started = _now()
    failure: SettlementFailed | None = None
    with writer(primary) as con:
        try:
            summary = settle_into(
                con,
                store=app_store.app_store_path(primary),
                period=period,
                full=full,
                engine=engine,
            )
        except PeriodNotOpen:
            raise  # a refused request: nothing was attempted
        except Exception as error:  # a published rule set gone bad included: record why
            if is_disk_full(error):
                raise WarehouseDiskFull(
                    f"{primary}: the disk is full; the settlement run wrote nothing. Free some"
                    " space and run it again."
                ) from error
            cause = _first_line(error)
            cause = f"{type(error).__name__}: {cause}" if cause else type(error).__name__
            run_id = _record_failure(con, started, cause)
            failure = SettlementFailed(f"settlement run {run_id} failed: {cause}")
            failure.__cause__ = error
    if failure is not None:
        raise failure
    echo(summary.line())
    return summary


def _manual_of(con: duckdb.DuckDBPyConnection, store: Path, period: str) -> pl.DataFrame:
    """The accepted adjustments, as the app store records them, whose lines the period holds."""
    ids = [
        int(i)
        for (i,) in con.execute(
            "select dispute_id from settlement_lines where period = $p"
            " and line_kind = 'manual_adjustment'",
            {"p": period},
        ).fetchall()
    ]
    manual = disputes.manual_adjustments(store)
    return manual.filter(pl.col("dispute_id").is_in(ids)) if ids else manual.clear()


def close_period(primary: Path, period: str, *, actor: str, note: str) -> None:
    """Freeze a settled open period; periods close in order, so every earlier period must be
    closed already. Its settlement inputs and rule timeline are frozen with it, in the same
    transaction (``warehouse.frozen``), so ``settlement verify`` can replay it. Audited."""
    store = app_store.app_store_path(primary)
    with writer(primary) as con:
        statuses = _statuses(con)
        if statuses.get(period) != "open":
            state = statuses.get(period, "unknown")
            raise ValueError(f"period {period} is {state}; only an open period can be closed")
        earlier = sorted(p for p, s in statuses.items() if s == "open" and p < period)
        if earlier:
            raise ValueError(f"periods close in order: close {', '.join(earlier)} before {period}")
        settled = con.execute(
            "select count(*) from settlement_lines where period = $p", {"p": period}
        ).fetchall()[0][0]
        if not settled:
            raise ValueError(f"period {period} has no settlement lines: run the settlement first")
        tickets, orders = settlement_inputs(con)
        timeline = rule_timeline(store)
        manual = _manual_of(con, store, period)  # read before the app store's write lock
        # The audit row commits only if the close does (the app store cannot share DuckDB's
        # transaction, so its transaction wraps the change).
        with app_store.connect(store) as audit_con:
            app_store.audit(
                audit_con, actor=actor, action="period_close",
                subject=Phrase("period {period}", period=period),
                diff=Phrase("{period}: open → closed ({lines} lines frozen)", period=period,
                            lines=format(settled, ",")),
                reason=note,
            )  # fmt: skip
            con.execute("begin transaction")
            try:
                con.execute(
                    "update settlement_periods set status = 'closed', closed_at = $at,"
                    " closed_by = $by, note = $note where period = $p",
                    {"at": _now(), "by": actor, "note": note, "p": period},
                )
                freeze_period(
                    con, period, tickets=tickets, orders=orders, timeline=timeline, actor=actor,
                    manual=manual,
                )  # fmt: skip
                con.execute("commit")
            except BaseException:
                with contextlib.suppress(duckdb.Error):
                    con.execute("rollback")
                raise


def ticket_lines(primary: Path, ticket_id: str) -> list[dict[str, object]]:
    """A ticket's settlement lines from the serving snapshot (read-only)."""
    from warehouse.db import connect_serving

    with connect_serving(primary) as con:
        frame = _stored(con, "ticket_id = $t", {"t": ticket_id}).sort(LINE_ORDER, nulls_last=True)
    return frame.to_dicts()


def payee_month_lines(primary: Path, payee_id: str, period: str) -> list[dict[str, object]]:
    """A payee's settlement lines of one period from the serving snapshot (read-only)."""
    from warehouse.db import connect_serving

    with connect_serving(primary) as con:
        frame = _stored(
            con, "payee_id = $payee and period = $period", {"payee": payee_id, "period": period}
        ).sort(LINE_ORDER, nulls_last=True)
    return frame.to_dicts()


def period_statuses(primary: Path) -> dict[str, str]:
    """Every settlement period's status, from the serving snapshot."""
    from warehouse.db import connect_serving

    with connect_serving(primary) as con:
        return _statuses(con)


def live_timeline(primary: Path) -> Timeline:
    """The rule timeline that settles the warehouse now."""
    return rule_timeline(app_store.app_store_path(primary))


def request_resettlement(primary: Path) -> subprocess.Popen[bytes]:
    """Re-settle the open periods in a separate process after a publish.

    The dashboard never writes the warehouse itself: the settlement command waits for the
    writer lock (a load may hold it), settles with the newly published rules and publishes a
    new serving snapshot. Its output goes to ``settlement_requests.log`` beside the warehouse;
    a failure is also recorded in ``settlement_runs``, which the Rules and Data health pages show.
    """
    log = primary.with_name("settlement_requests.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "settlement", "run", "--db", str(primary)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
