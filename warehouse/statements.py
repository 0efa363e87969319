"""What a closed period's statements say: every payee's lines with names and tickets, the rule
versions that priced them, and the ladders of those versions. Read-only.

The command line reads the primary warehouse; the dashboard reads its serving snapshot. Only a
closed period has statements: an open one can still change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
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

    def of_payees(self, payee_ids: list[str]) -> PeriodStatements:
        """Only the payees of ``payee_ids``."""
        return replace(self, lines=self.lines.filter(pl.col("payee_id").is_in(payee_ids)))

    def of_type(self, payee_type: str | None) -> PeriodStatements:
        """Only the payees of ``payee_type`` (all of them for None)."""
        if payee_type is None:
            return self
        return replace(self, lines=self.lines.filter(pl.col("payee_type") == payee_type))


@dataclass(frozen=True)
class PayeeGroup:
    payee_type: str
    payees: int
    lines: int
    digest: str  # an order-free hash of the group's statement lines, names included


@dataclass(frozen=True)
class Fingerprint:
    """What a closed period's statements depend on: its close, its lines as a statement prints
    them (names included) and the rule versions it names. Equal fingerprints, equal statements."""

    period: str
    closed_at: datetime | None
    groups: tuple[PayeeGroup, ...]  # by payee type
    versions: tuple[tuple[str, str, str], ...]  # version, effective date, note

    def payees(self, payee_type: str | None = None) -> int:
        return sum(g.payees for g in self.groups if payee_type in (None, g.payee_type))

    def key(self, payee_type: str | None = None, salt: str = "") -> str:
        """A hex digest naming the statements of the period (or of one payee type)."""
        groups = [g for g in self.groups if payee_type in (None, g.payee_type)]
        document = json.dumps(
            [self.period, str(self.closed_at), payee_type, salt,
             [[g.payee_type, g.payees, g.lines, g.digest] for g in groups], self.versions],
        )  # fmt: skip
        return hashlib.sha256(document.encode("utf-8")).hexdigest()


def _sql() -> str:
    return (resources.files("warehouse") / "sql" / "statement_lines.sql").read_text("utf-8")


def _closed_at(con: duckdb.DuckDBPyConnection, period: str) -> datetime | None:
    """When ``period`` was closed; ``NoStatement`` for an open or unknown one."""
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
    return closed_at


# Per payee type: payees, lines, and the sum of the lines' row hashes (order-free, unlike a
# string of them; a sum, not a xor, so that two equal lines do not cancel out).
FINGERPRINT = """
select payee_type, count(distinct payee_id)::bigint, count(*)::bigint,
    (sum(hash(s))::hugeint % 18446744073709551616)::varchar
from ({lines}) as s
group by payee_type
order by payee_type
"""


def period_fingerprint(con: duckdb.DuckDBPyConnection, period: str) -> Fingerprint:
    """The fingerprint of a closed period's statements (``NoStatement`` for an open one)."""
    closed_at = _closed_at(con, period)
    rows = con.execute(
        FINGERPRINT.format(lines=_sql()), {"period": period, "payee_id": None}
    ).fetchall()
    groups = tuple(PayeeGroup(str(t), int(n), int(m), str(d)) for t, n, m, d in rows)
    versions = con.execute(
        "select version, coalesce(effective_date::varchar, ''), note from rule_versions"
        " where version in (select rule_version from settlement_lines where period = $p)"
        " order by version",
        {"p": period},
    ).fetchall()
    return Fingerprint(
        period, closed_at, groups, tuple((str(v), str(e), str(n)) for v, e, n in versions)
    )


def period_statements(
    con: duckdb.DuckDBPyConnection, period: str, payee_id: str | None = None
) -> PeriodStatements:
    closed_at = _closed_at(con, period)
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


def read_fingerprint(primary: Path, period: str) -> Fingerprint:
    """The fingerprint of a closed period's statements in the serving snapshot."""
    try:
        with _reading(primary, serving=True) as con:
            return period_fingerprint(con, period)
    except duckdb.Error as error:
        raise WarehouseError(f"{primary}: cannot read the statements ({error})") from error


def read_for_build(primary: Path, period: str) -> tuple[Fingerprint, PeriodStatements]:
    """A closed period's fingerprint and statements, read together from the serving snapshot
    (one connection: a snapshot published in between cannot make them disagree)."""
    try:
        with _reading(primary, serving=True) as con:
            return period_fingerprint(con, period), period_statements(con, period)
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
