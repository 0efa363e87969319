"""Youzan trades read from hand-built records: pre-sale phases, refund states, money, dirt."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from pipelines.reference import Reference
from pipelines.sources.youzan import YouzanTrades, settings
from tests.pipelines.sources.conftest import Record, WriteLines

TID = "E20260101073000012345678"


def trade(
    *,
    status: str = "WAIT_SELLER_SEND_GOODS",
    phases: list[Record] | None = None,
    refunds: list[Record] | None = None,
    **info: Any,
) -> Record:
    presale = phases is not None
    return {
        "full_order_info": {
            "order_info": {
                "tid": TID,
                "status": status,
                "type": 0,
                "created": "2026-01-01 07:30:00",
                "update_time": "2026-01-02 09:00:00",
                "pay_time": "2026-01-01 07:40:00",
                "refund_state": 0,
            }
            | info,
            "pay_info": {
                "payment": "2599.00",
                "total_fee": "2599.00",
                "post_fee": "0.00",
                "phase_payments": phases,
            },
            "address_info": {"delivery_province": "浙江", "delivery_city": "杭州市"},
            "orders": [
                {
                    "oid": "2026010107300001",
                    "title": "家电安装套餐",
                    "num": 1,
                    "payment": "2599.00",
                    "is_pre_sale": "1" if presale else "0",
                    "pre_sale_type": "1" if presale else None,
                }
            ],
        },
        "refund_order": refunds or [],
    }


def phases(balance_paid: str | None) -> list[Record]:
    """pay_info.phase_payments[] as the SDK models it: a phase is paid once it carries the
    payment's outer_transaction_no; pay_start_time/pay_end_time are the window to pay in."""
    return [
        {
            "phase": 1,
            "real_price": "300.00",
            "pay_start_time": "2026-01-01 07:30:00",
            "pay_end_time": "2026-01-03 07:30:00",
            "outer_transaction_no": "4200001201202601011234567890",
        },
        {
            "phase": 2,
            "real_price": "2299.00",
            "pay_start_time": "2026-01-15 00:00:00",
            "pay_end_time": "2026-01-25 00:00:00",
            "outer_transaction_no": balance_paid and "4200001201202601209876543210",
        },
    ]


def read_one(write_lines: WriteLines, reference: Reference, record: Record) -> dict[str, Any]:
    batch = YouzanTrades().read(write_lines("trades_202601.jsonl", [record]), reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    return batch.tables["orders"].row(0, named=True)


@pytest.mark.parametrize(("word", "status"), list(settings.TRADE_STATUS.items()))
def test_every_trade_status_maps(
    write_lines: WriteLines, reference: Reference, word: str, status: str
) -> None:
    assert read_one(write_lines, reference, trade(status=word))["status"] == status


def test_a_plain_trade_maps_exactly(write_lines: WriteLines, reference: Reference) -> None:
    order = read_one(write_lines, reference, trade())
    assert (order["order_id"], order["total_cents"], order["paid_cents"]) == (TID, 259900, 259900)
    assert (order["province_code"], order["city_code"]) == ("33", "330100")
    assert order["created_at"] == datetime(2025, 12, 31, 23, 30)
    assert (order["is_presale"], order["presale_stage"], order["deposit_cents"]) == (False, None, 0)


@pytest.mark.parametrize(
    ("status", "deposit_paid", "balance_paid", "stage", "paid_cents"),
    [
        ("WAIT_BUYER_PAY", None, None, "deposit_pending", 0),
        ("WAIT_BUYER_PAY", "2026-01-01 07:40:00", None, "deposit_paid", 30000),
        ("TRADE_SUCCESS", "2026-01-01 07:40:00", "2026-01-20 10:00:00", "final_paid", 259900),
        ("TRADE_CLOSED", "2026-01-01 07:40:00", None, "deposit_forfeited", 30000),
    ],
)
def test_pre_sale_phases_give_the_stage(
    write_lines: WriteLines,
    reference: Reference,
    status: str,
    deposit_paid: str | None,
    balance_paid: str | None,
    stage: str,
    paid_cents: int,
) -> None:
    these = phases(balance_paid)
    these[0]["outer_transaction_no"] = deposit_paid and these[0]["outer_transaction_no"]
    record = trade(status=status, phases=these, pay_time=deposit_paid)
    order = read_one(write_lines, reference, record)
    assert (order["is_presale"], order["presale_stage"]) == (True, stage)
    assert (order["deposit_cents"], order["paid_cents"]) == (30000, paid_cents)


@pytest.mark.parametrize("code", [int(c) for c in settings.ORDER_REFUND_STATE])
def test_every_order_level_refund_state_loads(
    write_lines: WriteLines, reference: Reference, code: int
) -> None:
    assert read_one(write_lines, reference, trade(refund_state=code))["order_id"] == TID


def refund(**changes: Any) -> Record:
    record: Record = {
        "refund_id": "201911200001",
        "refund_fee": "12.3",
        "refund_state": 60,
        "created": "2026-01-05 10:00:00",
        "modified": "2026-01-06 10:00:00",
    }
    return record | changes


def test_refunds_on_the_trade_become_canonical_refunds(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = trade(refunds=[refund(), refund(refund_id="201911200002", refund_state=10)])
    batch = YouzanTrades().read(write_lines("trades_202601.jsonl", [record]), reference)
    rows = batch.tables["order_refunds"].sort("refund_id").rows(named=True)
    assert [(r["status"], r["refund_cents"], r["order_id"]) for r in rows] == [
        ("succeeded", 1230, TID),
        ("rejected", 1230, TID),
    ]
    assert rows[0]["refunded_at"] == datetime(2026, 1, 6, 2, 0)
    assert rows[1]["refunded_at"] is None


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        (trade(status="TRADE_CLOSE_ON_MOON"), "full_order_info.order_info.status", None),
        (
            trade(refund_state=7),
            "full_order_info.order_info.refund_state",
            "unknown refund state value",
        ),
        (
            trade(update_time="2026-13-01 08:00:00"),
            "full_order_info.order_info.update_time",
            "missing or not a valid timestamp",
        ),
        (
            trade(refunds=[refund(), refund(refund_id="2", refund_fee="-1.00")]),
            "refund_order[1].refund_fee",
            "amount is not a non-negative number",
        ),
        (
            trade(refunds=[refund(refund_state=99)]),
            "refund_order[0].refund_state",
            "unknown refund status value",
        ),
        (
            trade(phases=phases(None)[:1]),
            "full_order_info.pay_info.phase_payments",
            "pre-sale phases incomplete or not parseable",
        ),
    ],
)
def test_each_bad_trade_is_quarantined_with_its_field(
    write_lines: WriteLines, reference: Reference, record: Record, field: str, reason: str | None
) -> None:
    good = trade(tid="E1")
    batch = YouzanTrades().read(write_lines("trades_202601.jsonl", [good, record]), reference)
    assert batch.records_read == 2
    assert batch.tables["orders"]["order_id"].to_list() == ["E1"]
    assert batch.tables["order_refunds"].is_empty()
    (row,) = batch.quarantine.iter_rows(named=True)
    assert (row["record_number"], row["field"]) == (2, field)
    assert row["reason"] == (reason or "unknown status value")


@pytest.mark.parametrize(
    ("section", "key", "value", "field"),
    [
        ("pay_info", "payment", "待定", "full_order_info.pay_info.payment"),
        ("pay_info", "total_fee", "-2599.00", "full_order_info.pay_info.total_fee"),
        ("address_info", "delivery_city", "不存在市", "full_order_info.address_info.delivery_city"),
    ],
)
def test_bad_money_and_places_are_quarantined(
    write_lines: WriteLines, reference: Reference, section: str, key: str, value: str, field: str
) -> None:
    record = trade()
    record["full_order_info"][section][key] = value
    batch = YouzanTrades().read(write_lines("trades_202601.jsonl", [record]), reference)
    assert batch.tables["orders"].is_empty()
    assert batch.quarantine.select("field", "value").rows()[0][0] == field
    assert value in batch.quarantine["value"][0]


def test_a_line_that_is_not_json_is_quarantined(
    write_lines: WriteLines, reference: Reference
) -> None:
    broken = json.dumps(trade(), ensure_ascii=False).replace('"tid":', '"tid"', 1)
    path = write_lines("trades_202601.jsonl", [broken, trade(tid="E2")])
    batch = YouzanTrades().read(path, reference)
    assert batch.tables["orders"]["order_id"].to_list() == ["E2"]
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (1, "<record>", "not valid JSON")
    ]


def test_full_width_and_spaces_in_ids_and_amounts_load(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = trade(tid=" Ｅ２０２６\u3000")
    record["full_order_info"]["pay_info"] |= {"payment": "２５９９.００", "total_fee": "2599 "}
    record["full_order_info"]["address_info"]["delivery_province"] = "浙江省 "
    order = read_one(write_lines, reference, record)
    assert (order["order_id"], order["total_cents"], order["city_code"]) == (
        "E2026",
        259900,
        "330100",
    )
