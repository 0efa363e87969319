"""Data health's alerts: what looks wrong in the latest period, each with the tickets behind it.

Kinds: tickets no rule prices; a rule that stops firing or fires far more often than in its own
history; a technician's or a city's urgent / night / remote-guidance / rework share far above its
own history; refunds arriving for closed periods. The thresholds live in the app store
(``alert_thresholds``), edited by analysts and audited; any not stored takes its default.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
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


def share_spikes(
    shares: pl.DataFrame,
    tickets_of: Callable[[str], pl.DataFrame],
    limits: dict[str, float],
) -> list[Alert]:
    """Per technician and per city: a flag's share in the latest period against its own mean
    share over the history periods (those it had tickets in). ``shares`` holds the counts
    (``alert_flag_shares``); ``tickets_of(period)`` the flagged tickets behind the spikes."""
    latest, past = _latest_and_history(shares["period"].to_list(), int(limits["history_months"]))
    if latest is None or not past:
        return []
    subject = ["subject_kind", "subject", "flag"]
    shared = shares.with_columns(share=pl.col("flagged") / pl.col("tickets"))
    history = (
        shared.filter(pl.col("period").is_in(past)).group_by(subject).agg(pl.col("share").mean())
    )
    spikes = (
        shared.filter(pl.col("period") == latest)
        .join(history, on=subject, how="inner", suffix="_baseline")
        .filter(
            (pl.col("flagged") >= limits["share_min_tickets"])
            & (pl.col("share") > limits["share_factor"] * pl.col("share_baseline"))
        )
    )
    if spikes.is_empty():
        return []
    flags = tickets_of(latest)
    found: list[Alert] = []
    # In the order the alerts were always listed: by subject kind, flag, then subject.
    for subject_kind, column in SHARE_SUBJECTS.items():
        for flag in SHARE_FLAGS:
            chosen = spikes.filter(
                (pl.col("subject_kind") == subject_kind) & (pl.col("flag") == flag)
            ).sort("subject")
            for row in chosen.iter_rows(named=True):
                mine = (pl.col(column) == row["subject"]) & pl.col(f"is_{flag}")
                behind = flags.filter(mine)["ticket_id"]
                found.append(
                    Alert("share_spike", latest, str(row["subject"]), f"{subject_kind}:{flag}",
                          float(row["share"]), float(row["share_baseline"]),
                          tuple(sorted(behind)))
                )  # fmt: skip
    return found


def rule_changes(
    triggers: pl.DataFrame,
    fired_of: Callable[[list[str], list[str]], pl.DataFrame],
    limits: dict[str, float],
) -> list[Alert]:
    """A rule whose trigger rate in the latest period stopped (zero after a history of at least
    ``rule_min_lines`` a period) or surged past ``rule_factor`` × its mean rate.
    ``fired_of(rules, periods)`` gives the tickets those rules fired on in those periods."""
    latest, past = _latest_and_history(triggers["period"].to_list(), int(limits["history_months"]))
    if latest is None or not past:
        return []
    rules = [c for c in triggers.columns if c not in ("period", "lines")]
    now = triggers.filter(pl.col("period") == latest).row(0, named=True)
    history = triggers.filter(pl.col("period").is_in(past))
    changed: list[tuple[str, str, str, float, float]] = []  # kind, rule, period, rate, mean
    for rule in rules:
        counts = history[rule].cast(pl.Float64)
        mean_count = float(counts.mean() or 0)  # type: ignore[arg-type]
        mean_rate = float((history[rule] / history["lines"]).mean() or 0)  # type: ignore[arg-type]
        rate = now[rule] / now["lines"] if now["lines"] else 0.0
        if now[rule] == 0 and mean_count >= limits["rule_min_lines"]:
            last = max(history.filter(pl.col(rule) > 0)["period"])
            changed.append(("rule_stopped", rule, last, 0.0, mean_rate))
        elif now[rule] >= limits["rule_min_lines"] and rate > limits["rule_factor"] * mean_rate:
            changed.append(("rule_surge", rule, latest, rate, mean_rate))
    if not changed:
        return []
    fired = fired_of(sorted({c[1] for c in changed}), sorted({c[2] for c in changed}))
    found: list[Alert] = []
    for kind, rule, period, rate, mean_rate in changed:
        behind = fired.filter((pl.col("rule") == rule) & (pl.col("period") == period))
        measure = period if kind == "rule_stopped" else ""
        found.append(Alert(kind, latest, rule, measure, rate, mean_rate,
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
        *rule_changes(
            queries.rule_triggers(db, scope),
            lambda rules, periods: queries.alert_rule_tickets(
                db, scope, rules=rules, periods=periods
            ),
            limits,
        ),
        *share_spikes(
            queries.alert_flag_shares(db, scope),
            lambda period: queries.alert_ticket_flags(db, scope, periods=[period]),
            limits,
        ),
        *closed_refund_alerts(queries.alert_closed_refunds(db, scope)),
    ]  # fmt: skip
