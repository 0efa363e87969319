"""The dashboard's query layer: one typed function per SQL file, every one scoped.

Each call opens its own short-lived read-only connection to the serving snapshot (DuckDB
connections are not shared across Streamlit's threads), binds the caller's scope and its
arguments as parameters, fetches everything and closes. Pages never see SQL or DuckDB.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from warehouse.db import (
    WarehouseError,
    WarehouseUnreadable,
    connect_serving,
    is_damage,
    known_schema_version,
    said,
    schema_version,
    serving_path,
    unreadable,
    warehouse_path,
)
from warehouse.scope import PAYEE_KINDS, Scope

OPERATIONS_ROLES = ("manager", "analyst", "admin")


class WarehouseUnavailable(WarehouseError):
    """The serving snapshot is missing, being replaced, or not yet migrated."""


class SnapshotDamaged(WarehouseUnavailable):
    """The serving snapshot is damaged, truncated or not a warehouse: waiting will not help."""


def _unavailable(db: Path, error: Exception) -> WarehouseUnavailable:
    """What a page can say about a failed read, in one line (in the reader's language too)."""
    if isinstance(error, WarehouseUnreadable):
        return _as(SnapshotDamaged, error)
    if isinstance(error, WarehouseError):
        return _as(WarehouseUnavailable, error)
    if isinstance(error, duckdb.CatalogException):
        return said(
            WarehouseUnavailable,
            "the warehouse at {path} is not settled yet ({cause})",
            path=str(serving_path(db)), cause=str(error),
        )  # fmt: skip
    if isinstance(error, duckdb.Error) and is_damage(error):
        return _as(SnapshotDamaged, unreadable(serving_path(db), error, snapshot=True))
    return said(
        WarehouseUnavailable,
        "the warehouse at {path} is unavailable: {cause}",
        path=str(serving_path(db)), cause=str(error),
    )  # fmt: skip


def _as(kind: type[WarehouseUnavailable], error: WarehouseError) -> WarehouseUnavailable:
    """``error`` as a page-level kind, keeping its translatable template."""
    if error.template is None:
        return kind(str(error))
    return said(kind, error.template, **error.fields)


unavailable = _unavailable  # for the query modules beside this one (period_close)


@cache
def _sql(name: str) -> str:
    return (resources.files("warehouse") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def _used(sql: str, params: dict[str, object]) -> dict[str, object]:
    """The parameters ``sql`` names: DuckDB refuses a parameter the text does not use."""
    return {key: value for key, value in params.items() if f"${key}" in sql}


def _run(db: Path, name: str, scope: Scope, **params: object) -> pl.DataFrame:
    sql = _sql(name)
    bound = {**scope.params(), **params}
    if "$may_see_operations" in sql:
        bound["may_see_operations"] = scope.role in OPERATIONS_ROLES
    try:
        with connect_serving(db) as con:
            return con.sql(sql, params=_used(sql, bound)).pl()
    except (WarehouseError, duckdb.Error) as error:
        # A damaged block may only show when a query reads it, so every query says so plainly.
        raise _unavailable(db, error) from error


def default_db() -> Path:
    return warehouse_path(None)


def schema_notice(db: Path) -> str | None:
    """What a reader must say about the snapshot's schema, if it is not the one this code knows.

    A newer schema is named, not refused: the dashboard never writes, so it can show what it
    understands while saying its figures may be incomplete.
    """
    try:
        with connect_serving(db) as con:
            found = schema_version(con)
    except (WarehouseError, duckdb.Error) as error:
        raise _unavailable(db, error) from error
    known = known_schema_version()
    if found > known:
        return (
            f"This warehouse has schema version {found}, newer than this dashboard's {known}: "
            "it was written by a newer Tierboard release. Figures may be incomplete or wrong "
            "until the dashboard is upgraded."
        )
    if found < known:
        return (
            f"This warehouse has schema version {found}, older than this dashboard's {known}: "
            "some figures may be missing until the next pipeline or settlement command "
            "upgrades it (or `python -m pipelines publish`)."
        )
    return None


def periods(db: Path, scope: Scope) -> list[str]:
    return _run(db, "periods", scope)["period"].to_list()


def previous_period(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return f"{year:04d}-{month:02d}"


def overview(db: Path, scope: Scope, period: str) -> pl.DataFrame:
    return _run(db, "overview", scope, period=period, previous=previous_period(period))


def trend(db: Path, scope: Scope, split: str) -> pl.DataFrame:
    if split not in ("scenario", "channel", "partner_type"):
        raise ValueError(f"cannot split by {split!r}")
    return _run(db, "trend", scope, split=split)


def region_ranking(db: Path, scope: Scope, period: str) -> pl.DataFrame:
    return _run(db, "region_ranking", scope, period=period)


def heatmap(db: Path, scope: Scope, period: str | None, rows: str, columns: str) -> pl.DataFrame:
    if rows not in ("item", "category") or columns not in ("group", "province", "city"):
        raise ValueError(f"no heatmap of {rows} by {columns}")
    return _run(db, "heatmap", scope, period=period, rows=rows, columns=columns)


def tickets(
    db: Path,
    scope: Scope,
    *,
    period: str | None = None,
    group: str | None = None,
    province: str | None = None,
    city: str | None = None,
    technician: str | None = None,
    item: str | None = None,
    limit: int | None = 5_000,
) -> pl.DataFrame:
    """Matching tickets, newest first, at most ``limit`` (None: all); ``matching_tickets`` is
    the number of all matches on every row."""
    return _run(
        db, "tickets", scope, period=period, group=group, province=province, city=city,
        technician=technician, item=item, limit=limit,
    )  # fmt: skip


DRILL_LEVELS = ("group", "province", "city", "technician")


def drill(
    db: Path,
    scope: Scope,
    period: str,
    level: str,
    *,
    group: str | None = None,
    province: str | None = None,
    city: str | None = None,
) -> pl.DataFrame:
    if level not in DRILL_LEVELS:
        raise ValueError(f"no drill-down level {level!r}")
    return _run(
        db, "drill", scope, period=period, level=level, group=group, province=province, city=city
    )


def ticket_lines(db: Path, scope: Scope, ticket_ids: list[str]) -> pl.DataFrame:
    return _run(db, "ticket_lines", scope, tickets=ticket_ids)


def payee_months(db: Path, scope: Scope, payee_id: str, kind: str = "technician") -> pl.DataFrame:
    """A payee's months; ``kind`` is "technician" or "partner" (any partner type)."""
    return _run(db, "payee_months", scope, payee=payee_id, payee_kind=_kind(kind))


def payee_lines(
    db: Path, scope: Scope, payee_id: str, period: str, kind: str = "technician"
) -> pl.DataFrame:
    return _run(db, "payee_lines", scope, payee=payee_id, period=period, payee_kind=_kind(kind))


def _kind(kind: str) -> str:
    if kind not in PAYEE_KINDS:
        raise ValueError(f"no payee kind {kind!r}")
    return kind


def feed_freshness(db: Path, scope: Scope) -> pl.DataFrame:
    return _run(db, "feed_freshness", scope)


def recent_runs(db: Path, scope: Scope, limit: int = 50) -> pl.DataFrame:
    return _run(db, "recent_runs", scope, limit=limit)


def quarantine(
    db: Path,
    scope: Scope,
    *,
    feed: str | None = None,
    reason: str | None = None,
    limit: int = 5_000,
) -> pl.DataFrame:
    return _run(db, "quarantine", scope, feed=feed, reason=reason, limit=limit)


def quarantine_reasons(db: Path, scope: Scope) -> pl.DataFrame:
    return _run(db, "quarantine_reasons", scope)


def unpriced(db: Path, scope: Scope, limit: int = 5_000) -> pl.DataFrame:
    return _run(db, "unpriced", scope, limit=limit)


def rule_triggers(db: Path, scope: Scope) -> pl.DataFrame:
    return _run(db, "rule_triggers", scope)


def alert_flag_shares(db: Path, scope: Scope) -> pl.DataFrame:
    return _run(db, "alert_flag_shares", scope)


def alert_ticket_flags(db: Path, scope: Scope, *, periods: list[str] | None = None) -> pl.DataFrame:
    return _run(db, "alert_ticket_flags", scope, periods=periods)


def alert_rule_tickets(
    db: Path, scope: Scope, *, rules: list[str] | None = None, periods: list[str] | None = None
) -> pl.DataFrame:
    return _run(db, "alert_rule_tickets", scope, rules=rules, periods=periods)


def alert_closed_refunds(db: Path, scope: Scope) -> pl.DataFrame:
    return _run(db, "alert_closed_refunds", scope)


def settlement_status(db: Path, scope: Scope) -> pl.DataFrame:
    return _run(db, "settlement_status", scope)


def new_platform_values(db: Path, scope: Scope) -> pl.DataFrame:
    return _run(db, "new_platform_values", scope)


def settlement_runs(db: Path, scope: Scope, limit: int = 20) -> pl.DataFrame:
    return _run(db, "settlement_runs", scope, limit=limit)


SCOPE_PREDICATE = (
    "($all_regions or region_group = any($region_groups) or province_code = any($provinces))"
    " and ($technician_id is null or technician_id = $technician_id)"
)


def preview_inputs(db: Path, scope: Scope, periods: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Settlement inputs (frames.TICKETS_IN, ORDERS_IN) of the chosen periods, within scope."""
    from settlement.frames import ORDERS_IN, TICKETS_IN

    # Both parts of the text are code constants; every value is bound.
    tickets_sql = (
        f"select * from ({_sql('settlement_tickets')}) as t "
        f"where strftime(completed_date, '%Y-%m') = any($periods) and {SCOPE_PREDICATE}"
    )
    params = _used(tickets_sql, {**scope.params(), "periods": periods})
    try:
        with connect_serving(db) as con:
            tickets = con.sql(tickets_sql, params=params).pl()
            orders = con.sql(_sql("settlement_orders")).pl()
    except (WarehouseError, duckdb.Error) as error:
        raise _unavailable(db, error) from error
    # Only the orders the scoped tickets serve: the rows returned are limited by scope too, and
    # settlement reads an order only through a ticket that serves it.
    served = tickets.select(platform="order_platform", order_id="order_id").drop_nulls().unique()
    orders = orders.join(served, on=["platform", "order_id"], how="semi")
    return (
        tickets.select(pl.col(n).cast(t) for n, t in TICKETS_IN.items()),
        orders.select(pl.col(n).cast(t) for n, t in ORDERS_IN.items()),
    )


def connector_lag(db: Path, scope: Scope, max_lag_minutes: float) -> pl.DataFrame:
    """Each API-connected platform's last pull, data reach and lag against now (UTC); empty on
    a snapshot from before pulls were recorded (it has none to show)."""
    from datetime import UTC, datetime

    now = datetime.now(UTC).replace(tzinfo=None)
    try:
        return _run(db, "connector_lag", scope, now=now, max_lag_minutes=max_lag_minutes)
    except duckdb.BinderException:
        return pl.DataFrame()
