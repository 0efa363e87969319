"""Settlement's IO shell: read the warehouse, run the pure engine, write lines back.

One writer transaction per run. Open periods are recomputed and replaced only where their content
changed (so a second run changes nothing); closed periods are recomputed too, and any difference
from what was frozen becomes adjustment lines in the first open period.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from settlement.engine import settle
from settlement.frames import BREAKDOWN, LINES, ORDERS_IN, TICKETS_IN, UNPRICED
from settlement.periods import adjustments
from settlement.rules import DEFAULT_RULES, RuleSet, load_rules, parse_rules
from warehouse import app_store
from warehouse.db import writer

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
]
LINE_ORDER = [
    "period",
    "line_kind",
    "payee_type",
    "payee_id",
    "ticket_id",
    "origin_period",
    "origin_kind",
]


def query(name: str) -> str:
    return (resources.files("warehouse") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


@dataclass(frozen=True)
class SettleSummary:
    run_id: int
    status: str  # succeeded unchanged
    periods_written: list[str]
    lines_written: int
    adjustments: int
    unpriced: int
    versions: dict[str, str]

    def line(self) -> str:
        written = ", ".join(self.periods_written) or "none"
        return (
            f"settlement run {self.run_id}: {self.status}; periods rewritten: {written}; "
            f"{self.lines_written:,} lines, {self.adjustments:,} adjustments, "
            f"{self.unpriced:,} unpriced tickets"
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _period_start(period: str) -> date:
    return date.fromisoformat(f"{period}-01")


def rules_by_period(periods: Iterable[str], versions: list[RuleSet]) -> dict[str, RuleSet]:
    """For each period, the highest published version effective on its first day (else the
    earliest version, so history before any rule set still settles under the first one)."""
    ordered = sorted(versions, key=lambda r: int(r.version) if r.version.isdigit() else 0)
    chosen = {}
    for period in periods:
        effective = [r for r in ordered if r.effective_date <= _period_start(period)]
        chosen[period] = (
            effective[-1] if effective else min(ordered, key=lambda r: r.effective_date)
        )
    return chosen


def published_rules(store: Path) -> list[RuleSet]:
    """Rule versions published from the dashboard; the shipped default when there are none."""
    stored = app_store.rule_versions(store)
    if not stored:
        return [load_rules(DEFAULT_RULES)]
    return [parse_rules({**v.document, "version": str(v.version)}) for v in stored]


def settlement_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    tickets = con.sql(query("settlement_tickets")).pl()
    orders = con.sql(query("settlement_orders")).pl()
    return (
        tickets.select(pl.col(n).cast(t) for n, t in TICKETS_IN.items()),
        orders.select(pl.col(n).cast(t) for n, t in ORDERS_IN.items()),
    )


def _statuses(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select period, status from settlement_periods").fetchall())


def _stored(con: duckdb.DuckDBPyConnection, where: str, params: dict[str, object]) -> pl.DataFrame:
    columns = ", ".join(STORED_LINES)
    return con.sql(f"select {columns} from settlement_lines where {where}", params=params).pl()


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col(name).cast(LINES.get(name, pl.String())) for name in STORED_LINES
    ).sort(LINE_ORDER, nulls_last=True)


def _write_lines(con: duckdb.DuckDBPyConnection, lines: pl.DataFrame, run_id: int) -> None:
    if lines.is_empty():
        return
    staged = lines.select(STORED_LINES).with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    con.register("new_lines", staged)
    try:
        con.execute(
            "insert into settlement_lines by name select *,"
            " cast(amount_cents * 0.01 as decimal(18, 2)) as amount from new_lines"
        )
    finally:
        con.unregister("new_lines")


def _mirror_rule_versions(con: duckdb.DuckDBPyConnection, store: Path) -> None:
    for version in app_store.rule_versions(store):
        con.execute(
            "insert into rule_versions values ($v, $d, $doc, $note, $author, $at)"
            " on conflict do nothing",
            {
                "v": str(version.version),
                "d": version.effective_date,
                "doc": json.dumps(version.document, ensure_ascii=False),
                "note": version.note,
                "author": version.author,
                "at": version.published_at,
            },
        )


def settle_into(
    con: duckdb.DuckDBPyConnection,
    *,
    store: Path,
    period: str | None = None,
    rules_file: Path | None = None,
) -> SettleSummary:
    started = _now()
    tickets, orders = settlement_inputs(con)
    periods = sorted(set(tickets["completed_date"].dt.strftime("%Y-%m").drop_nulls()))
    con.executemany(
        "insert into settlement_periods (period, status) values (?, 'open') on conflict do nothing",
        [[p] for p in periods],
    )
    statuses = _statuses(con)
    open_periods = sorted(p for p, s in statuses.items() if s == "open")
    if period is not None and statuses.get(period) != "open":
        state = statuses.get(period, "unknown (no completed tickets)")
        raise ValueError(f"period {period} is {state}; only open periods can be settled")
    targets = [period] if period else open_periods
    versions = [load_rules(rules_file)] if rules_file else published_rules(store)
    by_period = rules_by_period(statuses, versions)

    computed: list[pl.DataFrame] = []
    unpriced: list[pl.DataFrame] = []
    for version in {id(r): r for r in by_period.values()}.values():
        own = [p for p, r in by_period.items() if r is version]
        result = settle(tickets.lazy(), orders.lazy(), version)
        lines, missing = pl.collect_all([result.lines, result.unpriced])
        computed.append(lines.filter(pl.col("period").is_in(own)))
        unpriced.append(missing.filter(pl.col("period").is_in(own)))
    recomputed = pl.concat(computed).with_columns(
        origin_period=pl.lit(None, pl.String), origin_kind=pl.lit(None, pl.String)
    )
    missing_all = pl.concat(unpriced)

    first_open = open_periods[0] if open_periods else None
    new_lines = {p: _canonical(recomputed.filter(pl.col("period") == p)) for p in targets}
    if first_open in targets and first_open is not None:
        closed = [p for p, s in statuses.items() if s == "closed"]
        frozen = _stored(
            con,
            "(period = any($closed) and line_kind <> 'adjustment')"
            " or (line_kind = 'adjustment' and origin_period = any($closed)"
            " and period <> $first_open)",
            {"closed": closed, "first_open": first_open},
        )
        frozen = frozen.with_columns(
            origin_period=pl.coalesce("origin_period", "period"),
            origin_kind=pl.coalesce("origin_kind", "line_kind"),
        )
        now_closed = recomputed.filter(pl.col("period").is_in(closed)).with_columns(
            origin_period=pl.col("period"), origin_kind=pl.col("line_kind")
        )
        adjust = adjustments(
            now_closed.lazy(),
            frozen.lazy(),
            first_open,
            pl.lit(by_period[first_open].version),
        ).collect()
        new_lines[first_open] = _canonical(
            pl.concat([new_lines[first_open], _canonical(adjust)], how="vertical")
        )

    run_id = int(con.execute("select nextval('settlement_run_id')").fetchall()[0][0])
    rewritten, written = [], 0
    con.execute("begin transaction")
    try:
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
        if not target_unpriced.is_empty():
            con.register(
                "new_unpriced",
                target_unpriced.select(list(UNPRICED)).with_columns(
                    pl.lit(run_id, pl.Int64).alias("run_id")
                ),
            )
            con.execute("insert into settlement_unpriced by name select * from new_unpriced")
            con.unregister("new_unpriced")
        _mirror_rule_versions(con, store)
        adjustments_written = sum(
            lines.filter(pl.col("line_kind") == "adjustment").height
            for p, lines in new_lines.items()
            if p in rewritten
        )
        summary = SettleSummary(
            run_id,
            "succeeded" if rewritten else "unchanged",
            rewritten,
            written,
            adjustments_written,
            target_unpriced.height,
            {p: r.version for p, r in sorted(by_period.items())},
        )
        con.execute(
            "insert into settlement_runs values ($id, $started, $finished, $periods, $versions,"
            " $lines, $adjust, $unpriced, $status, null)",
            {
                "id": run_id,
                "started": started,
                "finished": _now(),
                "periods": ",".join(rewritten),
                "versions": ",".join(f"{p}={v}" for p, v in summary.versions.items()),
                "lines": written,
                "adjust": adjustments_written,
                "unpriced": target_unpriced.height,
                "status": summary.status,
            },
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return summary


def settle_warehouse(
    primary: Path,
    *,
    period: str | None = None,
    rules_file: Path | None = None,
    echo: Callable[[str], None] = lambda _: None,
) -> SettleSummary:
    with writer(primary) as con:
        summary = settle_into(
            con, store=app_store.app_store_path(primary), period=period, rules_file=rules_file
        )
    echo(summary.line())
    return summary


def close_period(primary: Path, period: str, *, actor: str, note: str) -> None:
    """Freeze a settled open period; earlier periods must be closed first. Audited."""
    store = app_store.app_store_path(primary)
    with writer(primary) as con:
        statuses = _statuses(con)
        if statuses.get(period) != "open":
            state = statuses.get(period, "unknown")
            raise ValueError(f"period {period} is {state}; only an open period can be closed")
        earlier = sorted(p for p, s in statuses.items() if s == "open" and p < period)
        if earlier:
            raise ValueError(f"close the earlier open periods first: {', '.join(earlier)}")
        settled = con.execute(
            "select count(*) from settlement_lines where period = $p", {"p": period}
        ).fetchall()[0][0]
        if not settled:
            raise ValueError(f"period {period} has no settlement lines: run the settlement first")
        # The audit row commits only if the close does (the app store cannot share DuckDB's
        # transaction, so its transaction wraps the change).
        with app_store.connect(store) as audit_con:
            app_store.audit(
                audit_con, actor=actor, action="period_close", subject=f"period {period}",
                diff=f"{period}: open → closed ({settled:,} lines frozen)", reason=note,
            )  # fmt: skip
            con.execute(
                "update settlement_periods set status = 'closed', closed_at = $at,"
                " closed_by = $by, note = $note where period = $p",
                {"at": _now(), "by": actor, "note": note, "p": period},
            )


def ticket_lines(primary: Path, ticket_id: str) -> list[dict[str, object]]:
    """A ticket's settlement lines from the serving snapshot (read-only)."""
    from warehouse.db import connect_serving

    with connect_serving(primary) as con:
        frame = _stored(con, "ticket_id = $t", {"t": ticket_id}).sort(LINE_ORDER, nulls_last=True)
    return frame.to_dicts()


def live_rules_for(primary: Path, period: str) -> RuleSet:
    """The rule set that settles ``period`` now (published versions, else the shipped default)."""
    versions = published_rules(app_store.app_store_path(primary))
    return rules_by_period([period], versions)[period]


def request_resettlement(primary: Path) -> subprocess.Popen[bytes]:
    """Re-settle the open periods in a separate process after a publish.

    The dashboard never writes the warehouse itself: the settlement command waits for the
    writer lock (a load may hold it), settles with the newly published rules and publishes a
    new serving snapshot. Its output goes to ``settlement_requests.log`` beside the warehouse.
    """
    log = primary.with_name("settlement_requests.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "settlement", "run", "--db", str(primary)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
