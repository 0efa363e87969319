"""Taobao/Tmall records shaped like the open platform's own example responses, and mutations.

The trade follows the example response of ``taobao.trade.fullinfo.get`` (TOP API reference,
open.taobao.com, 交易 API): ids as JSON numbers, yuan as strings, Beijing times without a zone,
sub-orders under ``orders.order`` (or, as the TOP Java SDK serialises them, a bare list), the
sub-order naming its latest refund. Field names and vocabularies as in the public SDK model
bububa/opentaobao (model/tbtrade/Trade.go, Order.go; model/refund/Refund.go). The refund follows
``taobao.refund.get``'s example response.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipelines.reference import Reference
from pipelines.registry import source_for
from pipelines.sources import taobao
from pipelines.sources.taobao import TaobaoRefunds, TaobaoTrades, settings
from tests.pipelines.sources.conftest import Record, WriteLines
from tests.pipelines.sources.mutations import type_mismatches

TID = 4012345678901234567  # a JSON number beyond 2**53, as the example sends tid


def trade(tid: int = TID, **changes: Any) -> Record:
    record: Record = {
        "tid": tid,
        "status": "TRADE_FINISHED",
        "type": "fixed",
        "seller_nick": "家电安装旗舰店",
        "buyer_nick": "t**1",
        "title": "家电安装旗舰店",
        "num": 2,
        "num_iid": 3838293428,
        "price": "110.00",
        "total_fee": "220.07",
        "payment": "200.07",
        "discount_fee": "20.00",
        "post_fee": "0.00",
        "adjust_fee": "0.00",
        "created": "2026-01-05 12:00:00",
        "pay_time": "2026-01-05 12:03:10",
        "modified": "2026-01-09 18:20:00",
        "end_time": "2026-01-09 18:20:00",
        "consign_time": "2026-01-06 09:00:00",
        "receiver_name": "东方不败",
        "receiver_state": "浙江省",
        "receiver_city": "杭州市",
        "receiver_district": "西湖区",
        "receiver_address": "文三路 1 号",
        "buyer_rate": True,
        "seller_rate": False,
        "orders": {
            "order": [
                {
                    "oid": tid + 1,
                    "num_iid": 3838293428,
                    "title": "变频空调挂机 安装",
                    "price": "110.00",
                    "num": 1,
                    "total_fee": "110.07",
                    "payment": "100.07",
                    "status": "TRADE_FINISHED",
                    "refund_status": "NO_REFUND",
                    "is_oversold": False,
                },
                {
                    "oid": tid + 2,
                    "num_iid": 3838293429,
                    "title": "变频空调挂机 移机",
                    "price": "110.00",
                    "num": 1,
                    "total_fee": "110.00",
                    "payment": "100.00",
                    "status": "TRADE_FINISHED",
                    "refund_status": "SUCCESS",
                    "refund_id": 7012345678901234,
                    "refund_fee": "50.00",
                },
            ]
        },
    }
    return record | changes


def refund(**changes: Any) -> Record:
    """Like taobao.refund.get's example: numbers for ids, yuan strings, a refund version."""
    record: Record = {
        "refund_id": 7012345678901234,
        "tid": TID,
        "oid": TID + 2,
        "title": "变频空调挂机 移机",
        "total_fee": "110.00",
        "refund_fee": "50.00",
        "payment": "50.00",
        "status": "SUCCESS",
        "order_status": "TRADE_FINISHED",
        "good_status": "BUYER_RETURNED_GOODS",
        "has_good_return": True,
        "refund_phase": "aftersale",
        "refund_version": 1767834000000,
        "created": "2026-01-07 09:00:00",
        "modified": "2026-01-08 10:00:00",
        "num": 1,
    }
    return record | changes


def read(write_lines: WriteLines, reference: Reference, records: list[Record | str]) -> Any:
    return TaobaoTrades().read(write_lines("trades_202601.jsonl", records), reference)


def test_the_documented_trade_loads_exactly_with_its_sub_order_refund(
    write_lines: WriteLines, reference: Reference
) -> None:
    batch = read(write_lines, reference, [trade()])
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    (order,) = batch.tables["orders"].rows(named=True)
    assert order == {
        "platform": "taobao",
        "order_id": "4012345678901234567",
        "status": "completed",
        "is_presale": False,
        "presale_stage": None,
        "total_cents": 22007,
        "paid_cents": 20007,
        "deposit_cents": 0,
        "province_code": "33",
        "city_code": "330100",
        "item_count": 2,
        "created_at": datetime(2026, 1, 5, 4, 0),
        "paid_at": datetime(2026, 1, 5, 4, 3, 10),
        "updated_at": datetime(2026, 1, 9, 10, 20),
    }
    (row,) = batch.tables["order_refunds"].rows(named=True)
    assert row == {
        "platform": "taobao",
        "refund_id": "7012345678901234",
        "order_id": "4012345678901234567",
        "status": "succeeded",
        "refund_cents": 5000,
        "requested_at": datetime(2026, 1, 9, 10, 20),  # the trade's modified: no refund times
        "refunded_at": datetime(2026, 1, 9, 10, 20),
        "updated_at": datetime(2026, 1, 9, 10, 20),
    }


def test_sub_orders_as_a_bare_list_load_the_same(
    write_lines: WriteLines, reference: Reference
) -> None:
    bare = trade()
    bare["orders"] = bare["orders"]["order"]  # as the TOP Java SDK serialises them
    wrapped = read(write_lines, reference, [trade()])
    listed = read(write_lines, reference, [bare])
    assert listed.quarantine.is_empty(), listed.quarantine.to_dicts()
    assert listed.tables["orders"].equals(wrapped.tables["orders"])
    assert listed.tables["order_refunds"].equals(wrapped.tables["order_refunds"])


def test_a_refunding_sub_order_without_refund_fee_refunds_its_payment(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = trade()
    del record["orders"]["order"][1]["refund_fee"]
    record["orders"]["order"][1]["refund_status"] = "WAIT_SELLER_AGREE"
    (row,) = read(write_lines, reference, [record]).tables["order_refunds"].rows(named=True)
    assert (row["status"], row["refund_cents"], row["refunded_at"]) == ("requested", 10000, None)


def test_the_documented_refund_loads_exactly(write_lines: WriteLines, reference: Reference) -> None:
    batch = TaobaoRefunds().read(write_lines("refunds_202601.jsonl", [refund()]), reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    (row,) = batch.tables["order_refunds"].rows(named=True)
    assert row["refund_id"] == "7012345678901234" and row["order_id"] == str(TID)
    assert (row["status"], row["refund_cents"]) == ("succeeded", 5000)
    assert row["requested_at"] == datetime(2026, 1, 7, 1, 0)
    assert row["refunded_at"] == row["updated_at"] == datetime(2026, 1, 8, 2, 0)


@pytest.mark.parametrize("word", list(settings.TRADE_TYPES))
def test_every_documented_trade_type_loads(
    write_lines: WriteLines, reference: Reference, word: str
) -> None:
    record = trade(type=word)
    if word == settings.PRESALE_TYPE:
        record |= {"step_trade_status": "FRONT_PAID_FINAL_PAID", "step_paid_fee": "50.00"}
    batch = read(write_lines, reference, [record])
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    assert batch.tables["orders"]["is_presale"].to_list() == [word == "step"]


def test_paid_forbid_consign_is_paid_and_a_forfeited_deposit_is_read(
    write_lines: WriteLines, reference: Reference
) -> None:
    forfeited = trade(
        tid=TID + 10,
        type="step",
        status="TRADE_CLOSED",
        step_trade_status="FRONT_PAID_FRONT_FORFEITED",
        step_paid_fee="30.00",
    )
    batch = read(write_lines, reference, [trade(status="PAID_FORBID_CONSIGN"), forfeited])
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    rows = batch.tables["orders"].sort("order_id").rows(named=True)
    assert rows[0]["status"] == "paid"
    assert (rows[1]["presale_stage"], rows[1]["deposit_cents"]) == ("deposit_forfeited", 3000)


def test_an_unknown_new_trade_type_quarantines_that_trade_only(
    write_lines: WriteLines, reference: Reference
) -> None:
    batch = read(write_lines, reference, [trade(), trade(tid=TID + 10, type="metaverse_trade")])
    assert batch.tables["orders"]["order_id"].to_list() == [str(TID)]
    assert batch.quarantine.select("record_number", "field", "value", "reason").rows() == [
        (2, "type", "metaverse_trade", "unknown trade type value")
    ]


MUTATIONS = [
    m
    for m in type_mismatches(trade(), taobao.TRADE)
    if m.field != "orders" or not isinstance(m.value, list)  # a bare list is the SDK's shape
]


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: f"{m.field}={m.value!r}")
def test_each_json_type_mismatch_costs_its_record_alone(
    write_lines: WriteLines, reference: Reference, mutation: Any
) -> None:
    records: list[Record | str] = [
        trade(tid=TID + 10),
        mutation.apply(trade()),
        trade(tid=TID + 20),
    ]
    batch = read(write_lines, reference, records)
    assert batch.records_read == 3
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, mutation.field, mutation.reason)
    ]
    assert batch.tables["orders"]["order_id"].to_list() == [str(TID + 10), str(TID + 20)]
    assert batch.tables["orders"]["total_cents"].to_list() == [22007, 22007]


def test_the_mutations_cover_every_field_read() -> None:
    fields = {m.field for m in MUTATIONS}
    assert {"tid", "payment", "receiver_city", "orders", "orders.order"} <= fields
    assert {"orders.order[1].refund_id", "orders.order[0].num"} <= fields


@pytest.mark.parametrize(
    ("edit", "field", "reason"),
    [
        (
            lambda r: r | {"tid": "4.012345678901234567e18"},
            "tid",
            "order id is not a plain digit or code string",
        ),
        (lambda r: r | {"tid": True}, "tid", "order id is not a plain digit or code string"),
        (
            lambda r: _sub(r, 1, refund_id=True),
            "orders.order[1].refund_id",
            "refund id is not a plain digit or code string",
        ),
        (
            lambda r: _sub(r, 1, refund_id=None),
            "orders.order[1].refund_id",
            "missing refund id",
        ),
        (
            lambda r: _sub(r, 0, num=None),
            "orders.order[0].num",
            "quantity is not a positive whole number",
        ),
        (
            lambda r: r | {"receiver_city": ["郑州市"]},
            "receiver_city",
            "a JSON array where text or a number was expected",
        ),
    ],
)
def test_ids_and_counts_are_never_coerced(
    write_lines: WriteLines, reference: Reference, edit: Any, field: str, reason: str
) -> None:
    batch = read(write_lines, reference, [trade(tid=TID + 10), edit(trade())])
    assert batch.tables["orders"]["order_id"].to_list() == [str(TID + 10)]
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, field, reason)
    ]


def test_an_exponent_id_sent_as_a_json_number_is_quarantined_not_rounded(
    write_lines: WriteLines, reference: Reference
) -> None:
    line = json.dumps(trade(), ensure_ascii=False).replace(f'"tid": {TID}', '"tid": 4.0123e18')
    batch = read(write_lines, reference, [line])
    assert batch.tables["orders"].is_empty()
    assert batch.quarantine.select("field", "value").rows() == [("tid", "4.0123e18")]


def _sub(record: Record, index: int, **changes: Any) -> Record:
    changed = copy.deepcopy(record)
    changed["orders"]["order"][index] |= changes
    return changed


def test_nan_a_broken_first_line_and_an_oversized_first_record(
    write_lines: WriteLines, reference: Reference, tmp_path: Path
) -> None:
    nan = json.dumps(trade(tid=TID + 1), ensure_ascii=False).replace('"200.07"', "NaN")
    oversized = trade(tid=TID + 2)
    oversized["orders"]["order"][0]["title"] = "空调" * 40_000  # 80 k characters
    path = write_lines(
        "trades_202601.jsonl",
        ['{"tid": 4012345678901234500, "status": ', oversized, nan, trade(tid=TID + 3)],
    )
    assert isinstance(source_for(path), TaobaoTrades)  # recognised by its first readable record
    batch = TaobaoTrades().read(path, reference)
    assert batch.records_read == 4
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (1, "<record>", "not valid JSON"),
        (2, "orders.order[0].title", "value longer than 4096 characters"),
        (3, "<record>", "not valid JSON (NaN or Infinity)"),
    ]
    assert batch.tables["orders"]["order_id"].to_list() == [str(TID + 3)]


def test_one_wrongly_typed_trade_among_two_hundred_costs_that_trade_alone(
    write_lines: WriteLines, reference: Reference
) -> None:
    records: list[Record | str] = [trade(tid=TID + 10 * i) for i in range(200)]
    records[117] = trade(tid=TID + 1170, orders={"order": {"oid": 1}})  # a struct, not a list
    batch = read(write_lines, reference, records)
    assert batch.tables["orders"].height == 199
    assert batch.quarantine.select("record_number", "field").rows() == [(118, "orders.order")]


def test_a_bad_bare_list_sub_order_is_named_as_the_api_names_it(
    write_lines: WriteLines, reference: Reference
) -> None:
    bare = trade()
    bare["orders"] = bare["orders"]["order"]
    bad = copy.deepcopy(bare) | {"tid": TID + 10}
    bad["orders"][1]["num"] = {"value": 1}
    batch = read(write_lines, reference, [bare, bad])
    assert batch.tables["orders"]["order_id"].to_list() == [str(TID)]
    assert batch.quarantine.select("record_number", "field").rows() == [(2, "orders.order[1].num")]


def test_a_bad_line_deep_in_a_large_file_costs_only_itself(
    write_lines: WriteLines, reference: Reference
) -> None:
    from pipelines.sources.json_lines import BULK_CHUNK

    count = BULK_CHUNK * 2 + 10
    records: list[Record | str] = [trade(tid=TID + 10 * i) for i in range(count)]
    records[BULK_CHUNK + 5] = trade(tid=TID + 1, payment=["200.07"])
    batch = read(write_lines, reference, records)
    assert batch.tables["orders"].height == count - 1
    assert batch.quarantine.select("record_number", "field").rows() == [(BULK_CHUNK + 6, "payment")]


def test_a_trade_closed_after_payment_carries_its_refund(
    write_lines: WriteLines, reference: Reference
) -> None:
    closed = trade(status="TRADE_CLOSED")
    for sub_order in closed["orders"]["order"]:  # refunded in full: every sub-order SUCCESS
        sub_order |= {"refund_status": "SUCCESS", "refund_id": sub_order["oid"] + 100}
    batch = read(write_lines, reference, [closed])
    assert batch.tables["orders"].select("status", "paid_cents").rows() == [("closed", 20007)]
    refunds = batch.tables["order_refunds"].sort("refund_id")
    assert refunds.select("status", "refund_cents").rows() == [
        ("succeeded", 10007),  # no refund_fee: the sub-order's payment
        ("succeeded", 5000),
    ]
