"""Each API-connected platform's lag against now, red past the limit, with its last error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse import queries
from warehouse.db import writer
from warehouse.scope import Scope

MANAGER = Scope(role="manager")


def _run(
    con: duckdb.DuckDBPyConnection,
    feed: str,
    status: str,
    window_end: datetime | None,
    error: str | None = None,
) -> None:
    con.execute(
        "insert into ingestion_runs (run_id, feed, file, file_sha256, started_at, finished_at,"
        " status, error, source, window_end, watermark) values (nextval('ingestion_run_id'),"
        " $feed, 'api:' || $feed, '', $at, $at, $status, $error, 'api', $end, $end)",
        {"feed": feed, "at": window_end or datetime(2026, 1, 1), "status": status,
         "error": error, "end": window_end},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("minutes_ago", "behind"),
    [(4.0, False), (4.9, False), (6.0, True), (60.0, True)],  # below, near, above the limit
)
def test_a_platform_is_behind_past_the_limit(
    db_path: Path, minutes_ago: float, behind: bool
) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with writer(db_path) as con:
        _run(con, "youzan_trades", "succeeded", now - timedelta(minutes=minutes_ago))
        _run(con, "taobao_trades", "succeeded", now)  # a file-fed platform is not listed:
        con.execute("update ingestion_runs set source = 'file' where feed = 'taobao_trades'")
    lag = queries.connector_lag(db_path, MANAGER, 5)
    assert lag["platform"].to_list() == ["youzan"]
    row = lag.row(0, named=True)
    assert row["is_behind"] is behind
    assert minutes_ago <= row["lag_minutes"] < minutes_ago + 1


def test_a_failing_platform_is_behind_and_names_its_last_error(db_path: Path) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with writer(db_path) as con:
        _run(con, "wechat_orders", "succeeded", now - timedelta(minutes=1))
        _run(con, "wechat_orders", "failed", now, "wechat: errcode 40013 invalid appid")
        _run(con, "taobao_trades", "failed", now, "taobao: error 25 Invalid signature")
    lag = {row["platform"]: row for row in queries.connector_lag(db_path, MANAGER, 5).to_dicts()}
    assert lag["wechat"]["is_behind"] and lag["wechat"]["last_status"] == "failed"
    assert lag["wechat"]["last_error"] == "wechat: errcode 40013 invalid appid"
    assert lag["wechat"]["lag_minutes"] < 5  # recent data, but the latest pull failed
    assert lag["taobao"]["is_behind"] and lag["taobao"]["pulled_until"] is None


def test_a_regional_lead_sees_no_operations(db_path: Path) -> None:
    with writer(db_path) as con:
        _run(con, "youzan_trades", "succeeded", datetime(2026, 1, 1))
    lead = Scope(role="regional_lead", region_groups=("华南",))
    assert queries.connector_lag(db_path, lead, 5).is_empty()
