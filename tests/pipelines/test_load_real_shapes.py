"""Real platform shapes through the loader into a real warehouse file: every record counted,
refunds from two places one row, orders without an address kept, loads idempotent."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.generate.world import World
from pipelines.ingest import ingest
from tests.pipelines.sources import test_taobao_payloads as tb
from tests.pipelines.sources import test_youzan_payloads as yz
from warehouse.db import connect_read_only


def write(folder: Path, name: str, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    return path


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with connect_read_only(db) as con:
        return con.sql(sql).fetchall()


def test_every_record_is_loaded_superseded_or_quarantined(tmp_path: Path, db_path: Path) -> None:
    older = tb.trade(status="WAIT_SELLER_SEND_GOODS", modified="2026-01-06 08:00:00")
    newer = tb.trade()
    bad = tb.trade(tid=tb.TID + 10, payment={"amount": "1.00"})
    path = write(tmp_path, "trades_202601.jsonl", [older, bad, newer, tb.trade(tid=tb.TID + 20)])
    (run,) = ingest([path], db_path)
    assert (run.records_read, run.loaded, run.superseded, run.quarantined) == (4, 2, 1, 1)
    assert rows(
        db_path, "select records_read, loaded, superseded, quarantined from ingestion_runs"
    ) == [(4, 2, 1, 1)]
    assert rows(db_path, f"select status from orders where order_id = '{tb.TID}'") == [
        ("completed",)
    ]


@pytest.mark.parametrize("refunds_first", [True, False])
def test_a_refund_in_the_trade_and_in_the_refunds_file_is_one_refund(
    tmp_path: Path, db_path: Path, refunds_first: bool
) -> None:
    trades = write(tmp_path / "a", "trades_202601.jsonl", [tb.trade()])
    refunds = write(tmp_path / "b", "refunds_202601.jsonl", [tb.refund()])
    ingest([refunds, trades] if refunds_first else [trades, refunds], db_path)
    assert rows(
        db_path,
        "select refund_id, status, refund_cents, requested_at, refunded_at from order_refunds",
    ) == [
        (
            "7012345678901234",
            "succeeded",
            5000,
            datetime(2026, 1, 7, 1, 0),  # the refunds file's created: the earliest seen
            datetime(2026, 1, 8, 2, 0),  # its modified: the first time seen succeeded
        )
    ]
    assert rows(db_path, "select paid_cents, refunded_cents, net_paid_cents from order_facts") == [
        (20007, 5000, 15007)
    ]
    before = rows(db_path, "select * exclude (run_id) from order_refunds")
    again = ingest([trades, refunds], db_path, force=True)
    assert sum(run.inserted + run.updated for run in again) == 0
    assert rows(db_path, "select * exclude (run_id) from order_refunds") == before


def test_a_youzan_refund_without_times_keeps_when_it_was_first_seen(
    tmp_path: Path, db_path: Path
) -> None:
    asked = [{"refund_type": 1, "refund_fee": "100.00", "refund_id": "9", "refund_state": 1}]
    done = [asked[0] | {"refund_state": 60}]
    january = write(tmp_path / "a", "trades_202601.jsonl", [yz.trade(refunds=asked)])
    february = write(
        tmp_path / "b",
        "trades_202602.jsonl",
        [yz.trade(refunds=done, update_time="2026-02-03 10:00:00")],
    )
    ingest([february, january], db_path)  # any order: the times are the earliest seen
    assert rows(db_path, "select status, requested_at, refunded_at from order_refunds") == [
        ("succeeded", datetime(2026, 1, 10, 0, 0), datetime(2026, 2, 3, 2, 0))
    ]


def test_an_order_without_an_address_loads_with_a_null_place(tmp_path: Path, db_path: Path) -> None:
    virtual = yz.trade()
    virtual["full_order_info"]["address_info"] = {"delivery_province": "", "delivery_city": ""}
    (run,) = ingest([write(tmp_path, "trades_202601.jsonl", [virtual])], db_path)
    assert (run.status, run.loaded, run.quarantined) == ("succeeded", 1, 0)
    assert rows(db_path, "select province_code, city_code from orders") == [(None, None)]


def test_demo_refunds_keep_their_request_times_in_the_warehouse(
    feed_dir: Path, db_path: Path, world: World
) -> None:
    """Taobao refunds arrive from trades (dated by the trade's modified) and from the refunds
    file (dated exactly): the warehouse keeps the exact time. Youzan refunds are dated by the
    first trade that listed them: never before the request, and in its Beijing month."""
    ingest([feed_dir], db_path)
    with connect_read_only(db_path) as con:
        loaded = con.sql("select platform, refund_id, requested_at from order_refunds").pl()
    joined = loaded.join(
        world.order_refunds.select("platform", "refund_id", true_at="requested_at"),
        on=["platform", "refund_id"],
    )
    month = (pl.col("requested_at") + pl.duration(hours=8)).dt.strftime("%Y%m")
    true_month = (pl.col("true_at") + pl.duration(hours=8)).dt.strftime("%Y%m")
    for platform, rule in (
        ("taobao", pl.col("requested_at") == pl.col("true_at")),
        ("wechat", pl.col("requested_at") == pl.col("true_at")),
        ("youzan", (pl.col("requested_at") >= pl.col("true_at")) & (month == true_month)),
    ):
        rows = joined.filter(pl.col("platform") == platform)
        assert rows.height >= 3, platform  # the small test world has few refunds
        assert rows.filter(rule).height >= 0.99 * rows.height, platform
