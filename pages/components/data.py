"""The only Streamlit caches: query-layer calls keyed by every argument, scope included."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from settlement.preview import LiveSide
from settlement.rules import RuleSet
from settlement.timeline import Timeline, period_end
from warehouse import queries, statements
from warehouse.estimate import MonthInputs, month_inputs
from warehouse.scope import Scope
from warehouse.settle import live_timeline

TTL = 600


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def schema_notice(db: str, version: int) -> str | None:
    del version
    return queries.schema_notice(Path(db))


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def periods(db: str, version: int, scope: Scope) -> list[str]:
    del version  # keys the cache: a new snapshot means new data
    return queries.periods(Path(db), scope)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def overview(db: str, version: int, scope: Scope, period: str) -> pl.DataFrame:
    del version
    return queries.overview(Path(db), scope, period)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def trend(db: str, version: int, scope: Scope, split: str) -> pl.DataFrame:
    del version
    return queries.trend(Path(db), scope, split)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def region_ranking(db: str, version: int, scope: Scope, period: str) -> pl.DataFrame:
    del version
    return queries.region_ranking(Path(db), scope, period)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def heatmap(
    db: str, version: int, scope: Scope, period: str | None, rows: str, columns: str
) -> pl.DataFrame:
    del version
    return queries.heatmap(Path(db), scope, period, rows, columns)


SHOWN_TICKETS = 5_000


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def ticket_list(
    db: str, version: int, scope: Scope, **filters: str | None
) -> tuple[pl.DataFrame, int]:
    """The first SHOWN_TICKETS matching tickets and how many match in all."""
    del version
    frame = queries.tickets(Path(db), scope, limit=SHOWN_TICKETS, **filters)  # type: ignore[arg-type]
    total = int(frame["matching_tickets"][0]) if not frame.is_empty() else 0
    return frame.drop("matching_tickets"), total


def all_tickets(db: str, scope: Scope, **filters: str | None) -> pl.DataFrame:
    """Every matching ticket, uncached: an export's rows, read only when the file is asked for."""
    frame = queries.tickets(Path(db), scope, limit=None, **filters)  # type: ignore[arg-type]
    return frame.drop("matching_tickets")


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def drill(
    db: str, version: int, scope: Scope, period: str, level: str, **parents: str | None
) -> pl.DataFrame:
    del version
    return queries.drill(Path(db), scope, period, level, **parents)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def ticket_lines(db: str, version: int, scope: Scope, ticket_ids: tuple[str, ...]) -> pl.DataFrame:
    del version
    return queries.ticket_lines(Path(db), scope, list(ticket_ids))


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def payee_months(
    db: str, version: int, scope: Scope, payee_id: str, kind: str = "technician"
) -> pl.DataFrame:
    del version
    return queries.payee_months(Path(db), scope, payee_id, kind)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def payee_lines(
    db: str, version: int, scope: Scope, payee_id: str, period: str, kind: str = "technician"
) -> pl.DataFrame:
    del version
    return queries.payee_lines(Path(db), scope, payee_id, period, kind)


@st.cache_data(ttl=60, max_entries=16, show_spinner=False)
def health(db: str, version: int, scope: Scope) -> dict[str, pl.DataFrame]:
    del version
    path = Path(db)
    return {
        "feeds": queries.feed_freshness(path, scope),
        "runs": queries.recent_runs(path, scope),
        "reasons": queries.quarantine_reasons(path, scope),
        "unpriced": queries.unpriced(path, scope),
        "triggers": queries.rule_triggers(path, scope),
        "periods": queries.settlement_status(path, scope),
        "settlement_runs": queries.settlement_runs(path, scope),
        "new_values": queries.new_platform_values(path, scope),
    }


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def quarantine(
    db: str, version: int, scope: Scope, feed: str | None, reason: str | None
) -> pl.DataFrame:
    del version
    return queries.quarantine(Path(db), scope, feed=feed, reason=reason)


@st.cache_data(ttl=60, max_entries=16, show_spinner=False)
def rule_timeline(db: str, store_version: int) -> Timeline:
    del store_version  # a publish changes the store: new key, fresh rules
    return live_timeline(Path(db))


def live_rules(db: str, store_version: int, period: str) -> RuleSet:
    """The version in force at the end of ``period`` (its monthly terms and last ladder)."""
    return rule_timeline(db, store_version).version_on(period_end(period))


@st.cache_data(ttl=30, max_entries=16, show_spinner=False)
def settlement_runs(db: str, version: int, scope: Scope) -> pl.DataFrame:
    del version
    return queries.settlement_runs(Path(db), scope)


@st.cache_data(ttl=30, max_entries=16, show_spinner=False)
def period_statuses(db: str, version: int, scope: Scope) -> dict[str, str]:
    del version
    frame = queries.settlement_status(Path(db), scope)
    return dict(frame.select("period", "status").iter_rows())


@st.cache_data(ttl=30, max_entries=16, show_spinner=False)
def connector_lag(db: str, version: int, scope: Scope) -> pl.DataFrame:
    """Per API-connected platform, its lag; the limit is the connectors file's (default 5 min)."""
    from pipelines.connectors import DEFAULT_MAX_LAG_MINUTES, ConfigError, connectors_path
    from pipelines.connectors import max_lag_minutes as configured

    del version  # the lag moves with the clock: the short ttl keeps it current
    try:
        limit = configured(connectors_path(Path(db)))
    except ConfigError:
        limit = DEFAULT_MAX_LAG_MINUTES  # the watch command reports a broken file itself
    return queries.connector_lag(Path(db), scope, limit)


# Statements (closed periods only): the periods and one period's lines, for downloads.
@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def closed_periods(db: str, version: int, payee_id: str | None) -> list[str]:
    del version
    return statements.closed_periods(Path(db), payee_id)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def period_statements(
    db: str, version: int, period: str, payee_id: str | None
) -> statements.PeriodStatements:
    del version
    return statements.read_statements(Path(db), period, payee_id, serving=True)


def alert_limits(db: str) -> tuple[tuple[str, float], ...]:
    """The alert thresholds in force (app store; cheap), as a cache key."""
    from warehouse.alerts import thresholds
    from warehouse.app_store import app_store_path

    return tuple(sorted(thresholds(app_store_path(Path(db))).items()))


@st.cache_data(ttl=60, max_entries=16, show_spinner=False)
def alerts(
    db: str, version: int, scope: Scope, limits: tuple[tuple[str, float], ...]
) -> list[object]:
    """Data health's active alerts (warehouse.alerts.Alert), keyed by the thresholds too."""
    from warehouse.alerts import alerts as active

    del version
    return list(active(Path(db), scope, dict(limits)))


# Shared, not copied (cache_resource): a cached frame is copied out on every hit by cache_data,
# which for a million tickets and their lines costs more than the preview itself. Nothing
# mutates a Polars frame in place.
@st.cache_resource(ttl=TTL, max_entries=4, show_spinner=False)
def preview_history(
    db: str, version: int, scope: Scope, periods: tuple[str, ...]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The Rules preview's inputs (tickets, orders) of the chosen periods, within scope."""
    del version
    return queries.preview_inputs(Path(db), scope, list(periods))


# Few entries: a 1 M-ticket history's lines weigh a few hundred MB.
@st.cache_resource(ttl=TTL, max_entries=2, show_spinner=False)
def preview_live_side(
    db: str, version: int, store_version: int, scope: Scope, periods: tuple[str, ...]
) -> LiveSide:
    """The live rules' settlement of that history: settled once per snapshot and rule timeline,
    so that every further preview of a draft settles only what the draft reaches."""
    from settlement.engine import settle

    tickets, orders = preview_history(db, version, scope, periods)
    result = settle(tickets.lazy(), orders.lazy(), rule_timeline(db, store_version))
    lines, unpriced = pl.collect_all([result.lines, result.unpriced])
    return LiveSide.of(tickets.lazy(), lines, unpriced)


@st.cache_data(ttl=TTL, max_entries=16, show_spinner=False)
def estimate_month(db: str, version: int, technician: str, period: str) -> MonthInputs:
    """The technician month the estimator projects, as the engine sees it (every ticket of the
    technician's month): read once per snapshot, not on every render of My earnings."""
    del version
    return month_inputs(Path(db), technician, period)


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def statement_fingerprint(db: str, version: int, period: str) -> statements.Fingerprint:
    """What a closed period's statements depend on (the key of its kept zips), per snapshot."""
    del version
    return statements.read_fingerprint(Path(db), period)
