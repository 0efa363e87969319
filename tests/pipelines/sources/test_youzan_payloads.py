"""Youzan records shaped like ``youzan.trade.get`` 4.0.0's example response, and mutations.

Structure and field types as the Youzan open platform documents them (youzan.trade.get 4.0.0,
doc.youzanyun.com) and as the public Java SDK models them (flyinke/youzan-sdk,
gen/.../YouzanTradeGetResult: StructurizationTradeOrderInfo, ...RefundInfoDetail with
``refund_type`` ``refund_fee`` ``refund_id`` ``refund_state`` ``oids``, and pre-sale
``phase_payments`` with ``pay_start_time`` ``pay_end_time`` ``outer_transaction_no``): numeric
states and types, money as floats or strings, booleans in the order tags, refunds without times.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from pipelines.reference import Reference
from pipelines.sources import youzan
from pipelines.sources.youzan import YouzanTrades
from tests.pipelines.sources.conftest import Record, WriteLines
from tests.pipelines.sources.mutations import type_mismatches

TID = "E20260105120000012345678"


def trade(tid: str = TID, *, refunds: list[Record] | None = None, **info: Any) -> Record:
    return {
        "full_order_info": {
            "order_info": {
                "tid": tid,
                "status": "TRADE_SUCCESS",
                "status_str": "已完成",
                "type": 0,
                "team_type": 0,
                "created": "2026-01-05 12:00:00",
                "update_time": "2026-01-10 08:00:00",
                "pay_time": "2026-01-05 12:01:00",
                "pay_type": 10,
                "refund_state": 2,
                "close_type": 0,
                "order_tags": {"is_payed": True, "is_refund": True, "is_virtual": False},
                "order_extra": {"is_from_cart": "false", "is_points_order": "0"},
            }
            | info,
            "pay_info": {
                "payment": 1299.0,  # the SDK declares floats
                "total_fee": 1299.0,
                "post_fee": 0.0,
                "outer_transactions": ["4200000123202601051234567890"],
                "transaction": ["260105120100000123"],
            },
            "buyer_info": {"buyer_id": 123456, "fans_type": 1, "buyer_phone": "138****0000"},
            "address_info": {
                "receiver_name": "张三",
                "receiver_tel": "138****0000",
                "delivery_province": "广东省",
                "delivery_city": "深圳市",
                "delivery_district": "南山区",
                "delivery_address": "科技园 1 号",
                "delivery_postal_code": "518000",
                "address_extra": '{"lng":113.94,"lat":22.54}',
            },
            "orders": [
                {
                    "oid": "1234567890123456789",
                    "item_id": 456789,
                    "title": "空调清洗服务",
                    "num": 1,
                    "price": "1299.00",
                    "payment": "1299.00",
                    "total_fee": "1299.00",
                    "is_pre_sale": "0",
                    "pre_sale_type": "",
                    "is_present": False,
                }
            ],
            "remark_info": {"buyer_message": "", "star": 0},
        },
        "refund_order": [
            {
                "refund_type": 1,
                "refund_fee": "100.00",
                "refund_id": "201901011200000123",
                "refund_state": 60,
                "oids": [{"oid": "1234567890123456789"}],
            }
        ]
        if refunds is None
        else refunds,
        "delivery_order": [],
        "order_promotion": {"adjust_fee": "0.00"},
    }


def read(write_lines: WriteLines, reference: Reference, records: list[Record | str]) -> Any:
    return YouzanTrades().read(write_lines("trades_202601.jsonl", records), reference)


def test_the_documented_trade_loads_with_its_refund(
    write_lines: WriteLines, reference: Reference
) -> None:
    batch = read(write_lines, reference, [trade()])
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    (order,) = batch.tables["orders"].rows(named=True)
    assert (order["order_id"], order["status"], order["total_cents"], order["paid_cents"]) == (
        TID,
        "completed",
        129900,
        129900,
    )
    assert (order["province_code"], order["city_code"], order["item_count"]) == ("44", "440300", 1)
    assert order["created_at"] == datetime(2026, 1, 5, 4, 0)
    assert order["paid_at"] == datetime(2026, 1, 5, 4, 1)
    (row,) = batch.tables["order_refunds"].rows(named=True)
    # refund_order[] carries no times: the trade's update_time stands for them
    assert row == {
        "platform": "youzan",
        "refund_id": "201901011200000123",
        "order_id": TID,
        "status": "succeeded",
        "refund_cents": 10000,
        "requested_at": datetime(2026, 1, 10, 0, 0),
        "refunded_at": datetime(2026, 1, 10, 0, 0),
        "updated_at": datetime(2026, 1, 10, 0, 0),
    }


@pytest.mark.parametrize(
    ("state", "status"), [(int(k), v) for k, v in youzan.settings.REFUND_STATE.items()]
)
def test_every_numeric_refund_state_and_a_float_fee(
    write_lines: WriteLines, reference: Reference, state: int, status: str
) -> None:
    refunds = [{"refund_type": 2, "refund_fee": 12.3, "refund_id": "8", "refund_state": state}]
    batch = read(write_lines, reference, [trade(refunds=refunds)])
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    (row,) = batch.tables["order_refunds"].rows(named=True)
    assert (row["status"], row["refund_cents"]) == (status, 1230)
    assert (row["refunded_at"] is not None) == (status == "succeeded")


def test_a_virtual_or_self_pickup_order_loads_with_no_place(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = trade()
    record["full_order_info"]["address_info"] |= {"delivery_province": "", "delivery_city": ""}
    batch = read(write_lines, reference, [record])
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    (order,) = batch.tables["orders"].rows(named=True)
    assert (order["province_code"], order["city_code"]) == (None, None)


def test_pre_sale_phases_follow_the_sdk_model(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = trade(refunds=[], status="WAIT_SELLER_SEND_GOODS", refund_state=0)
    record["full_order_info"]["orders"][0] |= {"is_pre_sale": "1", "pre_sale_type": "1"}
    record["full_order_info"]["pay_info"]["phase_payments"] = [
        {
            "phase": 1,
            "real_price": 300.0,
            "pay_start_time": "2026-01-05 12:00:00",
            "pay_end_time": "2026-01-07 12:00:00",
            "outer_transaction_no": "4200000123202601051234567890",
        },
        {
            "phase": 2,
            "real_price": "999.00",
            "pay_start_time": "2026-01-15 00:00:00",
            "pay_end_time": "2026-01-25 00:00:00",
            "outer_transaction_no": "4200000123202601201234567890",
        },
    ]
    (order,) = read(write_lines, reference, [record]).tables["orders"].rows(named=True)
    assert (order["presale_stage"], order["deposit_cents"], order["paid_cents"]) == (
        "final_paid",
        30000,
        129900,
    )
    record["full_order_info"]["pay_info"]["phase_payments"][1]["outer_transaction_no"] = ""
    (order,) = read(write_lines, reference, [record]).tables["orders"].rows(named=True)
    assert (order["presale_stage"], order["paid_cents"]) == ("deposit_paid", 30000)


def test_a_bad_refund_names_the_refund_and_its_field(
    write_lines: WriteLines, reference: Reference
) -> None:
    refunds = [
        {"refund_type": 1, "refund_fee": "1.00", "refund_id": "1", "refund_state": 60},
        {"refund_type": 1, "refund_fee": "1.00", "refund_id": "2", "refund_state": 70},
    ]
    batch = read(write_lines, reference, [trade("E1"), trade(refunds=refunds)])
    assert batch.tables["orders"]["order_id"].to_list() == ["E1"]
    assert batch.tables["order_refunds"]["order_id"].to_list() == ["E1"]
    assert batch.quarantine.select("record_number", "field", "value", "reason").rows() == [
        (2, "refund_order[1].refund_state", "70", "unknown refund status value")
    ]


MUTATIONS = list(type_mismatches(trade(), youzan.TRADE))


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: f"{m.field}={m.value!r}")
def test_each_json_type_mismatch_costs_its_record_alone(
    write_lines: WriteLines, reference: Reference, mutation: Any
) -> None:
    records: list[Record | str] = [trade("E10"), mutation.apply(trade()), trade("E20")]
    batch = read(write_lines, reference, records)
    assert batch.records_read == 3
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, mutation.field, mutation.reason)
    ]
    assert batch.tables["orders"]["order_id"].to_list() == ["E10", "E20"]
    assert batch.tables["order_refunds"]["order_id"].to_list() == ["E10", "E20"]


def test_the_mutations_cover_every_field_read() -> None:
    fields = {m.field for m in MUTATIONS}
    assert {
        "full_order_info.order_info.tid",
        "full_order_info.pay_info.payment",
        "full_order_info.orders[0].num",
        "refund_order",
        "refund_order[0].refund_fee",
        "refund_order[0].oids[0].oid",
    } <= fields


def test_refund_order_as_an_empty_string_is_quarantined(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = trade() | {"refund_order": ""}
    batch = read(write_lines, reference, [trade("E10"), record])
    assert batch.quarantine.select("record_number", "field", "value").rows() == [
        (2, "refund_order", '""')
    ]


def test_nan_and_a_broken_first_line(write_lines: WriteLines, reference: Reference) -> None:
    nan = json.dumps(trade("E2"), ensure_ascii=False).replace('"payment": 1299.0', '"payment": NaN')
    batch = read(write_lines, reference, ['{"full_order_info": {', nan, trade("E3")])
    assert batch.quarantine.select("record_number", "reason").rows() == [
        (1, "not valid JSON"),
        (2, "not valid JSON (NaN or Infinity)"),
    ]
    assert batch.tables["orders"]["order_id"].to_list() == ["E3"]
