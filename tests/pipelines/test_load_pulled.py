"""One pull of a platform is one transaction: its feeds' batches commit together or not at all."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import polars as pl

from pipelines.ingest import refresh_reference
from pipelines.load import load_pulled
from pipelines.reference import Reference
from pipelines.sources.taobao import TaobaoRefunds, TaobaoTrades
from tests.pipelines.sources import test_taobao_payloads as tb
from warehouse.db import connect_read_only, writer


def _read(tmp_path: Path, reference: Reference, name: str, record: dict[str, object]) -> object:
    path = tmp_path / name
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    reader = TaobaoTrades() if name.startswith("trades") else TaobaoRefunds()
    return reader.read(path, reference)


def test_a_failing_feed_rolls_back_the_whole_pull(
    tmp_path: Path, db_path: Path, reference: Reference
) -> None:
    trades = _read(tmp_path, reference, "trades.jsonl", tb.trade())
    refunds = _read(tmp_path, reference, "refunds.jsonl", tb.refund(refund_id=7012345678909999))
    assert isinstance(refunds, type(trades))
    broken = dataclasses.replace(  # a refund the warehouse refuses (no request time)
        refunds,
        tables={"order_refunds": refunds.tables["order_refunds"].with_columns(
            pl.lit(None, pl.Datetime("us")).alias("requested_at"))},
    )  # fmt: skip
    window = {"source": "api", "window_start": None, "window_end": None}
    with writer(db_path) as con:
        refresh_reference(con, reference)
        runs = load_pulled(con, [trades, broken], **window)
        assert [r.status for r in runs] == ["failed", "failed"]
        good = load_pulled(con, [trades, refunds], **window)
        assert [(r.feed, r.status) for r in good] == [
            ("taobao_trades", "succeeded"), ("taobao_refunds", "succeeded")]  # fmt: skip
    with connect_read_only(db_path) as con:
        statuses = con.sql("select status, count(*) from ingestion_runs group by 1 order by 1")
        assert statuses.fetchall() == [("failed", 2), ("succeeded", 2)]
        # nothing of the failed pull stayed: the rows are the second pull's
        run_ids = con.sql(
            "select distinct run_id from orders union select run_id from order_refunds"
        )
        assert sorted(r[0] for r in run_ids.fetchall()) == sorted(r.run_id for r in good)
