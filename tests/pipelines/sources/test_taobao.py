"""Taobao/Tmall trades and refunds read from hand-built records: statuses, money, times, dirt."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from pipelines.reference import Reference
from pipelines.sources.taobao import TaobaoRefunds, TaobaoTrades, settings
from tests.pipelines.sources.conftest import Record, WriteLines

BIG_TID = "4123456789012345678"  # beyond 2**53: a float parser would change its last digits


def trade(**changes: Any) -> Record:
    record: Record = {
        "tid": BIG_TID,
        "status": "WAIT_BUYER_CONFIRM_GOODS",
        "type": "fixed",
        "step_trade_status": None,
        "step_paid_fee": None,
        "payment": "1299.5",
        "total_fee": "1299.5",
        "post_fee": "0.00",
        "receiver_state": "广东",
        "receiver_city": "佛山市",
        "created": "2026-01-01 07:30:00",
        "modified": "2026-01-03 12:00:00",
        "pay_time": "2026-01-01 07:45:10",
        "end_time": None,
        "num": 2,
        "orders": {
            "order": [
                {
                    "oid": BIG_TID[:-2] + "01",
                    "num_iid": "600000001299",
                    "title": "电热水器",
                    "price": "649.75",
                    "num": 2,
                    "payment": "1299.5",
                    "refund_status": "NO_REFUND",
                }
            ]
        },
    }
    return record | changes


def refund(**changes: Any) -> Record:
    record: Record = {
        "refund_id": "92233720368547758",
        "tid": BIG_TID,
        "oid": BIG_TID[:-2] + "01",
        "refund_fee": "0.10",
        "status": "SUCCESS",
        "created": "2026-02-01 00:00:00",
        "modified": "2026-02-02 08:00:00",
    }
    return record | changes


def test_a_clean_trade_maps_exactly(write_lines: WriteLines, reference: Reference) -> None:
    batch = TaobaoTrades().read(write_lines("trades_202601.jsonl", [trade()]), reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    order = batch.tables["orders"].row(0, named=True)
    assert order["order_id"] == BIG_TID
    assert (order["status"], order["total_cents"], order["paid_cents"]) == (
        "shipped",
        129950,
        129950,
    )
    assert (order["province_code"], order["city_code"], order["item_count"]) == ("44", "440600", 2)
    # Beijing wall-clock time, stored as naive UTC
    assert order["created_at"] == datetime(2025, 12, 31, 23, 30)
    assert order["paid_at"] == datetime(2025, 12, 31, 23, 45, 10)
    assert (order["is_presale"], order["presale_stage"]) == (False, None)


@pytest.mark.parametrize(("word", "status"), list(settings.REFUND_STATUS.items()))
def test_every_refund_status_maps(
    write_lines: WriteLines, reference: Reference, word: str, status: str
) -> None:
    path = write_lines("refunds_202602.jsonl", [refund(status=word)])
    batch = TaobaoRefunds().read(path, reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    row = batch.tables["order_refunds"].row(0, named=True)
    assert (row["status"], row["refund_cents"], row["order_id"]) == (status, 10, BIG_TID)
    assert row["requested_at"] == datetime(2026, 1, 31, 16, 0)
    assert (row["refunded_at"] is not None) == (status == "succeeded")


@pytest.mark.parametrize("word", settings.SUB_ORDER_REFUND_STATUS)
def test_every_sub_order_refund_status_loads(
    write_lines: WriteLines, reference: Reference, word: str
) -> None:
    record = trade()
    sub_order = record["orders"]["order"][0]
    sub_order["refund_status"] = word
    if word != "NO_REFUND":  # trade.fullinfo.get names the sub-order's latest refund
        sub_order |= {"refund_id": "12345678901", "refund_fee": "0.10"}
    batch = TaobaoTrades().read(write_lines("trades_202601.jsonl", [record]), reference)
    assert batch.quarantine.is_empty() and batch.tables["orders"].height == 1
    refunds = batch.tables["order_refunds"].rows(named=True)
    if word == "NO_REFUND":
        assert refunds == []
    else:
        (row,) = refunds
        status = settings.REFUND_STATUS[word]
        assert (row["refund_id"], row["status"], row["refund_cents"]) == (
            "12345678901",
            status,
            10,
        )
        # the sub-order has no refund times: the trade's modified stands for them
        assert row["requested_at"] == row["updated_at"] == batch.tables["orders"]["updated_at"][0]
        assert (row["refunded_at"] is not None) == (status == "succeeded")


@pytest.mark.parametrize(
    ("record", "field", "reason", "value"),
    [
        (refund(status="REFUND_ON_THE_MOON"), "status", "unknown refund status value", None),
        (refund(refund_fee="-0.10"), "refund_fee", "amount is not a non-negative number", None),
        (refund(refund_fee="待定"), "refund_fee", "amount is not a non-negative number", None),
        (
            refund(modified="2026-02-30 25:61:00"),
            "modified",
            "missing or not a valid timestamp",
            None,
        ),
        (refund(created=None), "created", "missing or not a valid timestamp", ""),
        (refund(refund_id=None), "refund_id", "missing refund id", ""),
    ],
)
def test_each_bad_refund_is_quarantined_with_its_field(
    write_lines: WriteLines,
    reference: Reference,
    record: Record,
    field: str,
    reason: str,
    value: str | None,
) -> None:
    path = write_lines("refunds_202602.jsonl", [refund(refund_id="1"), record])
    batch = TaobaoRefunds().read(path, reference)
    assert batch.records_read == 2
    assert batch.tables["order_refunds"]["refund_id"].to_list() == ["1"]
    (row,) = batch.quarantine.iter_rows(named=True)
    assert (row["record_number"], row["field"], row["reason"]) == (2, field, reason)
    expected = record[field] if value is None else None
    assert row["value"] == expected


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"receiver_city": "不存在市"}, "receiver_city", "unknown province or city"),
        ({"total_fee": "1,299.00"}, "total_fee", "amount is not a non-negative number"),
        ({"payment": "-1299.50"}, "payment", "amount is not a non-negative number"),
        ({"pay_time": "2026/01/01 07:45"}, "pay_time", "missing or not a valid timestamp"),
        ({"created": None}, "created", "missing or not a valid timestamp"),
        ({"type": "moon_trade"}, "type", "unknown trade type value"),
        ({"type": "step", "step_trade_status": "FRONT_SOMETHING"}, "step_trade_status", None),
        (
            {"type": "step", "step_trade_status": "FRONT_PAID_FINAL_NOPAID"},  # deposit unsaid
            "step_paid_fee",
            "amount is not a non-negative number",
        ),
    ],
)
def test_each_bad_trade_is_quarantined_with_its_field(
    write_lines: WriteLines,
    reference: Reference,
    changes: Record,
    field: str,
    reason: str | None,
) -> None:
    path = write_lines("trades_202601.jsonl", [trade(tid="1"), trade(**changes)])
    batch = TaobaoTrades().read(path, reference)
    assert batch.tables["orders"]["order_id"].to_list() == ["1"]
    (row,) = batch.quarantine.iter_rows(named=True)
    assert (row["record_number"], row["field"]) == (2, field)
    assert row["reason"] == (reason or "unknown or missing pre-sale stage")


def test_an_unknown_sub_order_refund_status_is_quarantined(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = trade()
    record["orders"]["order"][0]["refund_status"] = "REFUNDING_SOMEHOW"
    batch = TaobaoTrades().read(write_lines("trades_202601.jsonl", [record]), reference)
    assert batch.quarantine.select("field", "value", "reason").rows() == [
        ("orders.order[0].refund_status", "REFUNDING_SOMEHOW", "unknown refund status value")
    ]


def test_a_line_that_is_not_json_is_quarantined_and_the_rest_loads(
    write_lines: WriteLines, reference: Reference
) -> None:
    broken = json.dumps(trade(tid="2"), ensure_ascii=False)[:-7]  # cut off mid-record
    path = write_lines("trades_202601.jsonl", [trade(tid="1"), broken, trade(tid="3")])
    batch = TaobaoTrades().read(path, reference)
    assert batch.records_read == 3
    assert batch.tables["orders"]["order_id"].to_list() == ["1", "3"]
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, "<record>", "not valid JSON")
    ]


def test_conflicting_twins_are_both_quarantined_and_exact_repeats_load_once(
    write_lines: WriteLines, reference: Reference
) -> None:
    records: list[Record | str] = [
        trade(tid="1"),
        trade(tid="1", payment="1.00", total_fee="1.00"),  # same modified, other content
        trade(tid="2"),
        trade(tid="2"),
        trade(tid="2", modified="2026-01-04 12:00:00", status="TRADE_FINISHED"),
    ]
    batch = TaobaoTrades().read(write_lines("trades_202601.jsonl", records), reference)
    assert batch.quarantine.select("record_number", "field").rows() == [(1, "tid"), (2, "tid")]
    assert sorted(batch.tables["orders"]["status"].to_list()) == ["completed", "shipped", "shipped"]


def test_full_width_digits_stray_spaces_and_place_suffixes_load(
    write_lines: WriteLines, reference: Reference
) -> None:
    noisy = trade(
        tid=" ４１２３４５６７８９０１２３４５６７８\u3000",
        payment="１２９９.５０ ",
        total_fee=" 1299.50",
        receiver_state=" 广东省",
        receiver_city="佛山",
        modified="２０２６-01-03 12:00:00",
    )
    batch = TaobaoTrades().read(write_lines("trades_202601.jsonl", [noisy]), reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    order = batch.tables["orders"].row(0, named=True)
    assert (order["order_id"], order["total_cents"], order["city_code"]) == (
        BIG_TID,
        129950,
        "440600",
    )
    assert order["updated_at"] == datetime(2026, 1, 3, 4, 0)


def test_detect_tells_trades_from_refunds(write_lines: WriteLines) -> None:
    trades = write_lines("trades_202601.jsonl", [trade()])
    refunds = write_lines("refunds_202601.jsonl", [refund()])
    head = {p: p.read_bytes()[:4096] for p in (trades, refunds)}
    assert TaobaoTrades().detect(trades, head[trades])
    assert not TaobaoTrades().detect(refunds, head[refunds])
    assert TaobaoRefunds().detect(refunds, head[refunds])
    assert not TaobaoRefunds().detect(trades, head[trades])
