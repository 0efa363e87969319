"""What a closed period's statements say: every payee's lines with names and tickets, the rule
versions that priced them, and the ladders of those versions. Read-only.

The command line reads the primary warehouse; the dashboard reads its serving snapshot. Only a
closed period has statements: an open one can still change.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from settlement.rules import RuleSet, parse_rules
from warehouse.db import (
    WarehouseError,
    WarehouseMissing,
    connect_read_only,
    connect_serving,
    unreadable,
)


class NoStatement(ValueError):
    """A statement asked for that cannot be written (an open or unknown period, an unknown
    payee): a refused request, in one line."""


@dataclass(frozen=True)
class VersionUsed:
    version: str
    effective_date: date | None  # None: version 0, in force from the beginning
    note: str


@dataclass(frozen=True)
class PeriodStatements:
    period: str
    closed_at: datetime | None
    lines: pl.DataFrame  # statement_lines.sql, every payee (or the one asked for)
    versions: dict[str, VersionUsed]
    rules: dict[str, RuleSet]  # by version: the ladders a statement reports on

    def payees(self) -> list[tuple[str, str, str]]:
        """(payee type, payee id, name) of every payee with lines, in statement order."""
        rows = self.lines.select("payee_type", "payee_id", "payee_name").unique(maintain_order=True)
        return [(str(t), str(i), str(n)) for t, i, n in rows.iter_rows()]

    def of(self, payee_id: str) -> pl.DataFrame:
        return self.lines.filter(pl.col("payee_id") == payee_id)


def _sql() -> str:
    return (resources.files("warehouse") / "sql" / "statement_lines.sql").read_text("utf-8")


def period_statements(
    con: duckdb.DuckDBPyConnection, period: str, payee_id: str | None = None
) -> PeriodStatements:
    found = con.execute(
        "select status, closed_at from settlement_periods where period = $p", {"p": period}
    ).fetchall()
    if not found:
        raise NoStatement(f"period {period} is unknown: it has no settled tickets")
    status, closed_at = found[0]
    if status != "closed":
        raise NoStatement(
            f"period {period} is {status}; statements are written only for closed periods"
        )
    lines = con.sql(_sql(), params={"period": period, "payee_id": payee_id}).pl()
    if lines.is_empty():
        who = f" for payee {payee_id}" if payee_id else ""
        raise NoStatement(f"period {period} has no settlement lines{who}")
    used = sorted(set(lines["rule_version"].to_list()))
    rows = con.execute(
        "select version, effective_date, document, note from rule_versions where version = any($v)",
        {"v": used},
    ).fetchall()
    versions, rules = {}, {}
    for version, effective, document, note in rows:
        shown = None if version == "0" else effective
        versions[str(version)] = VersionUsed(str(version), shown, str(note))
        rules[str(version)] = parse_rules({**json.loads(document), "version": str(version)})
    return PeriodStatements(period, closed_at, lines, versions, rules)


@contextmanager
def _reading(primary: Path, *, serving: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    if serving:
        con = connect_serving(primary)
    else:
        if not primary.exists():
            raise WarehouseMissing(f"no warehouse at {primary}")
        try:
            con = connect_read_only(primary)
        except duckdb.Error as error:
            raise unreadable(primary, error, snapshot=False) from error
    try:
        yield con
    finally:
        con.close()


def read_statements(
    primary: Path, period: str, payee_id: str | None = None, *, serving: bool = False
) -> PeriodStatements:
    """The period's statements from the primary (the command line) or its serving snapshot."""
    try:
        with _reading(primary, serving=serving) as con:
            return period_statements(con, period, payee_id)
    except duckdb.Error as error:
        raise WarehouseError(f"{primary}: cannot read the statements ({error})") from error


def closed_periods(primary: Path, payee_id: str | None = None) -> list[str]:
    """Closed periods (newest first) with lines, of one payee when given; serving snapshot."""
    try:
        with _reading(primary, serving=True) as con:
            rows = con.execute(
                "select distinct l.period from settlement_lines as l join settlement_periods"
                " as p using (period) where p.status = 'closed'"
                " and ($payee is null or l.payee_id = $payee) order by 1 desc",
                {"payee": payee_id},
            ).fetchall()
    except duckdb.Error as error:
        raise WarehouseError(f"{primary}: cannot read the closed periods ({error})") from error
    return [str(period) for (period,) in rows]
