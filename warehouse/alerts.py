"""Data health's alerts: what looks wrong in the latest period, each with the tickets behind it.

Kinds: tickets no rule prices; a rule that stops firing or fires far more often than in its own
history; a technician's or a city's urgent / night / remote-guidance / rework share far above its
own history; refunds arriving for closed periods. The thresholds live in the app store
(``alert_thresholds``), edited by analysts and audited; any not stored takes its default.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from warehouse import app_store, queries
from warehouse.db import Phrase
from warehouse.scope import Scope

SCHEMA = """
create table if not exists alert_thresholds (
    name        text primary key,       -- one of DEFAULTS
    value       real not null,
    updated_at  text not null,          -- UTC, ISO 8601
    updated_by  text not null
);
"""

# name: (default, lowest allowed, whether it is a whole number)
DEFAULTS: dict[str, tuple[float, float, bool]] = {
    "history_months": (6, 1, True),  # the periods before the latest that make its history
    "share_factor": (2.0, 1.0, False),  # a share above factor × its own mean is a spike
    "share_min_tickets": (5, 1, True),  # ... with at least this many flagged tickets
    "rule_factor": (3.0, 1.0, False),  # a rule firing above factor × its mean rate surges
    "rule_min_lines": (20, 1, True),  # fewest lines (latest, or history mean) to judge a rule
    "unpriced_min_tickets": (1, 1, True),  # unpriced tickets in a period that raise an alert
}
SHARE_FLAGS = ("urgent", "night", "remote", "rework")
SHARE_SUBJECTS = {"technician": "technician_id", "city": "city_name"}


def _connect(store: Path) -> AbstractContextManager[sqlite3.Connection]:
    return app_store.connect(store)


def thresholds(store: Path) -> dict[str, float]:
    """Every threshold: the stored value, else its default."""
    with _connect(store) as con:
        con.execute(SCHEMA)
        rows = dict(con.execute("select name, value from alert_thresholds").fetchall())
    return {name: float(rows.get(name, default)) for name, (default, _, _) in DEFAULTS.items()}


def threshold_problem(name: str, value: float) -> str | None:
    """Why ``value`` cannot be the threshold ``name``, or None."""
    if name not in DEFAULTS:
        return f"unknown alert threshold: {name}"
    _default, lowest, whole = DEFAULTS[name]
    if value < lowest:
        return f"{name}: must be at least {lowest:g}"
    if whole and value != int(value):
        return f"{name}: must be a whole number"
    return None


def set_thresholds(store: Path, values: dict[str, float], *, actor: str, reason: str) -> None:
    """Store changed thresholds with one audit row; raises ValueError naming a bad one."""
    if not reason.strip():
        raise ValueError("changing alert thresholds needs a note saying why")
    for name, value in values.items():
        problem = threshold_problem(name, value)
        if problem:
            raise ValueError(problem)
    before = thresholds(store)
    changed = {n: float(v) for n, v in values.items() if float(v) != before[n]}
    if not changed:
        return
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    with _connect(store) as con:
        _store(con, changed, now, actor)
        app_store.audit(
            con, actor=actor, action="alert_thresholds", subject=Phrase("alert thresholds"),
            diff=Phrase.joined([
                Phrase("{name}: {before} → {after}", name=Phrase.code("alert_threshold", n),
                       before=f"{before[n]:g}", after=f"{v:g}")
                for n, v in changed.items()
            ]),
            reason=reason,
        )  # fmt: skip


def _store(con: sqlite3.Connection, values: dict[str, float], now: str, actor: str) -> None:
    con.execute(SCHEMA)
    con.executemany(
        "insert into alert_thresholds values (?, ?, ?, ?) on conflict (name) do update set"
        " value = excluded.value, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by",
        [(name, value, now, actor) for name, value in values.items()],
    )


@dataclass(frozen=True)
class Alert:
    kind: str  # unpriced rule_stopped rule_surge share_spike closed_refund
    period: str  # the period it is about (a closed one for closed_refund)
    subject: str  # the rule, technician or city (empty for unpriced / closed_refund)
    measure: str  # share_spike: urgent night remote rework; subject kind for share_spike
    value: float  # latest share or rate, or the count of tickets
    baseline: float  # the mean of its own history (0 when there is none to compare)
    tickets: tuple[str, ...]


def _latest_and_history(periods: list[str], months: int) -> tuple[str | None, list[str]]:
    ordered = sorted(set(periods))
    if not ordered:
        return None, []
    return ordered[-1], ordered[-1 - months : -1]


def share_spikes(flags: pl.DataFrame, limits: dict[str, float]) -> list[Alert]:
    """Per technician and per city: a flag's share in the latest period against its own mean
    share over the history periods (those it had tickets in)."""
    latest, past = _latest_and_history(flags["period"].to_list(), int(limits["history_months"]))
    if latest is None or not past:
        return []
    found: list[Alert] = []
    for subject_kind, column in SHARE_SUBJECTS.items():
        frame = flags.filter(pl.col(column).is_not_null())
        for flag in SHARE_FLAGS:
            shares = frame.group_by(column, "period").agg(
                share=pl.col(f"is_{flag}").mean(), flagged=pl.col(f"is_{flag}").sum()
            )
            history = (
                shares.filter(pl.col("period").is_in(past))
                .group_by(column)
                .agg(baseline=pl.col("share").mean())
            )
            spikes = (
                shares.filter(pl.col("period") == latest)
                .join(history, on=column, how="inner")
                .filter(
                    (pl.col("flagged") >= limits["share_min_tickets"])
                    & (pl.col("share") > limits["share_factor"] * pl.col("baseline"))
                )
                .sort(column)
            )
            for row in spikes.iter_rows(named=True):
                behind = frame.filter(
                    (pl.col(column) == row[column])
                    & (pl.col("period") == latest)
                    & pl.col(f"is_{flag}")
                )["ticket_id"]
                found.append(
                    Alert("share_spike", latest, str(row[column]), f"{subject_kind}:{flag}",
                          float(row["share"]), float(row["baseline"]), tuple(sorted(behind)))
                )  # fmt: skip
    return found


def rule_changes(
    triggers: pl.DataFrame, fired: pl.DataFrame, limits: dict[str, float]
) -> list[Alert]:
    """A rule whose trigger rate in the latest period stopped (zero after a history of at least
    ``rule_min_lines`` a period) or surged past ``rule_factor`` × its mean rate."""
    latest, past = _latest_and_history(triggers["period"].to_list(), int(limits["history_months"]))
    if latest is None or not past:
        return []
    rules = [c for c in triggers.columns if c not in ("period", "lines")]
    now = triggers.filter(pl.col("period") == latest).row(0, named=True)
    history = triggers.filter(pl.col("period").is_in(past))
    found: list[Alert] = []
    for rule in rules:
        counts = history[rule].cast(pl.Float64)
        mean_count = float(counts.mean() or 0)  # type: ignore[arg-type]
        mean_rate = float((history[rule] / history["lines"]).mean() or 0)  # type: ignore[arg-type]
        rate = now[rule] / now["lines"] if now["lines"] else 0.0
        if now[rule] == 0 and mean_count >= limits["rule_min_lines"]:
            last = max(history.filter(pl.col(rule) > 0)["period"])
            behind = fired.filter((pl.col("rule") == rule) & (pl.col("period") == last))
            found.append(Alert("rule_stopped", latest, rule, last, 0.0, mean_rate,
                               tuple(sorted(behind["ticket_id"]))))  # fmt: skip
        elif now[rule] >= limits["rule_min_lines"] and rate > limits["rule_factor"] * mean_rate:
            behind = fired.filter((pl.col("rule") == rule) & (pl.col("period") == latest))
            found.append(Alert("rule_surge", latest, rule, "", rate, mean_rate,
                               tuple(sorted(behind["ticket_id"]))))  # fmt: skip
    return found


def unpriced_alerts(unpriced: pl.DataFrame, limits: dict[str, float]) -> list[Alert]:
    found = []
    for (period,), group in unpriced.group_by("period", maintain_order=True):
        if group.height >= limits["unpriced_min_tickets"]:
            tickets = tuple(sorted(group["ticket_id"]))
            found.append(Alert("unpriced", str(period), "", "", len(tickets), 0.0, tickets))
    return sorted(found, key=lambda a: a.period, reverse=True)


def closed_refund_alerts(refunds: pl.DataFrame) -> list[Alert]:
    found = []
    for (period,), group in refunds.group_by("closed_period", maintain_order=True):
        tickets = tuple(sorted(set(group["ticket_id"])))
        found.append(Alert("closed_refund", str(period), "", "", len(tickets), 0.0, tickets))
    return sorted(found, key=lambda a: a.period)


def alerts(db: Path, scope: Scope, limits: dict[str, float]) -> list[Alert]:
    """Every active alert on the serving snapshot (nothing for a scope that may not see
    operations: every query here returns no rows for it)."""
    return [
        *unpriced_alerts(queries.unpriced(db, scope, limit=1_000_000), limits),
        *rule_changes(queries.rule_triggers(db, scope), queries.alert_rule_tickets(db, scope),
                      limits),
        *share_spikes(queries.alert_ticket_flags(db, scope), limits),
        *closed_refund_alerts(queries.alert_closed_refunds(db, scope)),
    ]  # fmt: skip
