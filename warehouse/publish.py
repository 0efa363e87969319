"""Publishing a rule version: the one path the dashboard and ``python -m settlement publish`` share.

A version takes effect on its effective date (Beijing) and never touches tickets before it. One
whose date falls in a closed period re-prices closed history, which only ever becomes adjustment
lines in the first open period after it; so it is refused unless the publisher says so
explicitly (``retroactive``). Validation, the diff against the version it follows on the
timeline, and the audit row all happen here; the caller then asks for a re-settlement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from settlement.diff import differences
from settlement.engine import settle
from settlement.rules import KnownCodes, RuleSet, parse_rules, to_document
from settlement.timeline import Timeline, period_end
from warehouse import app_store, golden
from warehouse.db import Phrase, WarehouseMissing, connect_serving
from warehouse.settle import (
    STORED_LINES,
    live_timeline,
    period_statuses,
    settlement_inputs,
)


def known_codes() -> KnownCodes:
    from pipelines.reference import known_codes as codes

    return KnownCodes(**codes())


def closed_periods_reached(effective: date, statuses: dict[str, str]) -> list[str]:
    """The closed periods a version effective on ``effective`` would re-price."""
    return sorted(p for p, s in statuses.items() if s == "closed" and period_end(p) >= effective)


def reach_problem(effective: date, statuses: dict[str, str], retroactive: bool) -> str | None:
    """Why a publish on ``effective`` is refused, or None when it may go ahead."""
    reached = closed_periods_reached(effective, statuses)
    if reached and not retroactive:
        periods = ", ".join(reached)
        return Phrase(
            "effective {day} reaches into closed {periods}: publish it as retroactive to "
            "re-price them (the differences become adjustments in the first open period)",
            day=effective.isoformat(),
            periods=Phrase("periods {periods}", periods=periods)
            if len(reached) > 1
            else Phrase("period {period}", period=periods),
        )
    return None


def _statuses_or_none(primary: Path) -> dict[str, str]:
    try:
        return period_statuses(primary)
    except WarehouseMissing:
        return {}  # no warehouse yet: nothing is closed


@dataclass(frozen=True)
class Published:
    version: int
    retroactive_into: list[str]  # the closed periods it re-prices


def publish(
    primary: Path,
    document: dict[str, Any],
    *,
    effective_date: date,
    note: str,
    author: str,
    retroactive: bool = False,
    action: str = "rule_publish",
    golden_edits: golden.Edits | None = None,
) -> Published:
    """Validate ``document`` and store it as the next version, effective ``effective_date``.

    Raises ``pydantic.ValidationError`` for an invalid rule set and ``ValueError`` for a missing
    note, a refused reach into closed periods, or a golden case the draft breaks (unless
    ``golden_edits`` changes that case: the edits are stored in the same transaction as the
    version); nothing is stored then.
    """
    if not note.strip():
        raise ValueError("a rule version needs a note saying why")
    stored = {**document, "effective_date": effective_date.isoformat(), "note": note}
    draft = parse_rules({**stored, "version": "draft"}, known_codes())
    statuses = _statuses_or_none(primary)
    problem = reach_problem(effective_date, statuses, retroactive)
    if problem:
        raise ValueError(problem)
    reached = closed_periods_reached(effective_date, statuses)
    store = app_store.app_store_path(primary)
    broken = golden.golden_problem(store, live_timeline(primary), draft, golden_edits)
    if broken:
        raise ValueError(broken)
    number = app_store.publish_rule_version(
        store,
        to_document(draft) | {"version": "draft"},
        effective_date=effective_date,
        note=note,
        author=author,
        action=action,
        diff=_describe(primary, draft, effective_date, reached),
        also=(
            (lambda con, version: golden.apply_edits(
                con, golden_edits, actor=author, reason=note,
                subject=Phrase("golden cases with rule version {version}", version=version),
            ))
            if golden_edits
            else None
        ),
    )  # fmt: skip
    return Published(number, reached)


def _describe(primary: Path, draft: RuleSet, effective: date, reached: list[str]) -> str:
    """The publish's readable diff (its audit row's, and its request's summary)."""
    follows = live_timeline(primary).version_on(effective)
    change = _changes(differences(to_document(follows), to_document(draft)))
    day = effective.isoformat()
    if reached:
        return Phrase(
            "effective {day}, after version {version}; retroactive into closed {periods}: "
            "{change}",
            day=day, version=follows.version, periods=", ".join(reached), change=change,
        )  # fmt: skip
    return Phrase(
        "effective {day}, after version {version}: {change}",
        day=day, version=follows.version, change=change,
    )  # fmt: skip


def _changes(rows: list[dict[str, str]], limit: int = 12) -> str:
    """``settlement.diff.describe`` as a Phrase: settings and values are codes and numbers, as
    they are in every language."""
    if not rows:
        return Phrase("no change to any setting")
    shown: list[object] = [f"{r['setting']}: {r['before']} → {r['after']}" for r in rows[:limit]]
    more = len(rows) - limit
    if more > 0:
        shown.append(Phrase("and {more} more", more=more))
    return Phrase.joined(shown)


def describe_publish(primary: Path, document: dict[str, Any], effective: date, note: str) -> str:
    """The readable diff a publish of ``document`` on ``effective`` would audit (a request shows
    it before anyone approves)."""
    stored = {**document, "effective_date": effective.isoformat(), "note": note}
    draft = parse_rules({**stored, "version": "draft"}, known_codes())
    return _describe(
        primary, draft, effective, closed_periods_reached(effective, _statuses_or_none(primary))
    )


def what_if(primary: Path, draft: RuleSet) -> pl.DataFrame:
    """Per period: what the ledger holds now and what it would hold with ``draft`` published on
    its effective date (closed periods: the adjustments it would produce). Writes nothing."""
    with connect_serving(primary) as con:
        tickets, orders = settlement_inputs(con)
        stored = con.sql(
            f"select {', '.join(STORED_LINES)} from settlement_lines"
            " where line_kind not in ('adjustment', 'manual_adjustment')"
        ).pl()
        statuses = dict(con.execute("select period, status from settlement_periods").fetchall())
    timeline: Timeline = live_timeline(primary).with_draft(draft)
    lines = settle(tickets.lazy(), orders.lazy(), timeline).lines.collect()
    key = ["period", "line_kind", "payee_type", "payee_id", "ticket_id"]
    now = stored.group_by(key).agg(now_cents=pl.col("amount_cents").sum())
    then = lines.group_by(key).agg(draft_cents=pl.col("amount_cents").sum())
    joined = now.join(then, on=key, how="full", coalesce=True, nulls_equal=True).with_columns(
        pl.col("now_cents", "draft_cents").fill_null(0)
    )
    return (
        joined.group_by("period")
        .agg(
            now_cents=pl.col("now_cents").sum(),
            draft_cents=pl.col("draft_cents").sum(),
            lines_changed=(pl.col("now_cents") != pl.col("draft_cents")).sum(),
        )
        .with_columns(
            delta_cents=pl.col("draft_cents") - pl.col("now_cents"),
            status=pl.col("period").replace_strict(statuses, default="new"),
        )
        .sort("period")
    )


@dataclass(frozen=True)
class HistoryEntry:
    version: int  # 0: the shipped rules
    effective_from: date | None  # None: from the beginning of the data
    until: date | None  # the day before the next version takes over; None: open-ended
    state: str  # in force, scheduled, past, superseded (never applies)
    author: str
    published_at: str
    note: str
    document: dict[str, Any]


def history(primary: Path, today: date) -> list[HistoryEntry]:
    """Every version, newest publish first, with the span of days it prices on the timeline."""
    store = app_store.app_store_path(primary)
    stored = app_store.rule_versions(store)
    timeline = live_timeline(primary)
    in_effect = [int(r.version) for r in timeline.versions]
    starts = timeline.starts()
    span: dict[int, tuple[date | None, date | None]] = {}
    for position, number in enumerate(in_effect):
        following = starts[position + 1] if position + 1 < len(starts) else None
        span[number] = (starts[position], following - timedelta(days=1) if following else None)
    today_version = int(timeline.version_on(today).version)

    def state(number: int) -> str:
        if number not in span:
            return "superseded"
        if number == today_version:
            return "in force"
        start = span[number][0]
        return "scheduled" if start is not None and start > today else "past"

    shipped = timeline.versions[0]
    entries = [
        HistoryEntry(
            v.version,
            *span.get(v.version, (v.effective_date, None)),
            state(v.version),
            v.author,
            v.published_at.isoformat(sep=" "),
            v.note,
            to_document(parse_rules({**v.document, "version": str(v.version)})),
        )
        for v in reversed(stored)
    ]
    entries.append(
        HistoryEntry(
            0, None, span[0][1], state(0), "Tierboard", "", "shipped rules", to_document(shipped)
        )
    )
    return entries
