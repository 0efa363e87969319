"""Data health: an unknown new platform value is counted per feed, field and value."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.ingest import ingest
from tests.pipelines.sources import test_taobao_payloads as tb
from tests.pipelines.sources import test_youzan_payloads as yz
from warehouse.db import connect_read_only

SQL = Path(__file__).resolve().parents[2] / "warehouse" / "sql" / "new_platform_values.sql"


def test_new_values_are_counted_and_nothing_else(tmp_path: Path, db_path: Path) -> None:
    taobao = tmp_path / "trades_202601.jsonl"
    records = [
        tb.trade(),
        tb.trade(tid=tb.TID + 10, type="metaverse_trade"),
        tb.trade(tid=tb.TID + 20, type="metaverse_trade"),
        tb.trade(tid=tb.TID + 30, payment="待定"),  # bad data, not a new value
    ]
    taobao.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    youzan = tmp_path / "y" / "trades_202601.jsonl"
    youzan.parent.mkdir()
    refunds = [{"refund_type": 1, "refund_fee": "1.00", "refund_id": "2", "refund_state": 70}]
    youzan.write_text(json.dumps(yz.trade(refunds=refunds), ensure_ascii=False) + "\n")
    ingest([taobao, youzan], db_path)
    with connect_read_only(db_path) as con:
        rows = con.sql(
            SQL.read_text(encoding="utf-8"), params={"may_see_operations": True}
        ).fetchall()
        hidden = con.sql(
            SQL.read_text(encoding="utf-8"), params={"may_see_operations": False}
        ).fetchall()
    assert [row[:5] for row in rows] == [
        ("taobao_trades", "type", "metaverse_trade", 2, 1),
        ("youzan_trades", "refund_order[].refund_state", "70", 1, 1),
    ]
    assert hidden == []
