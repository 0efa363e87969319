"""WeChat shop orders and after-sales read from hand-built records: codes, fen, unix seconds."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from pipelines.reference import Reference
from pipelines.sources.wechat import WechatAftersales, WechatOrders, settings
from tests.pipelines.sources.conftest import Record, WriteLines

ORDER_ID = "3726011510000000548"
NEW_YEAR_BEIJING = 1767196800  # 2026-01-01 00:00:00 +08:00


def order(
    *,
    status: int = 20,
    pay_time: int = NEW_YEAR_BEIJING + 600,
    presale: Record | None = None,
    **top: Any,
) -> Record:
    return {
        "order_id": ORDER_ID,
        "status": status,
        "create_time": NEW_YEAR_BEIJING,
        "update_time": NEW_YEAR_BEIJING + 3600,
        "order_detail": {
            "price_info": {"order_price": 259900, "product_price": 259900, "freight": 0},
            "pay_info": {"pay_time": pay_time},
            "presale_info": presale
            or {
                "is_presale": 0,
                "deposit_price": 0,
                "deposit_paid_time": 0,
                "balance_paid_time": 0,
            },
            "product_infos": [{"product_id": "100002599", "sku_cnt": 2, "sale_price": 129950}],
            "delivery_info": {"address_info": {"province_name": "上海", "city_name": "上海市"}},
        },
    } | top


def aftersale(**changes: Any) -> Record:
    record: Record = {
        "after_sale_order_id": "3726010000000020",
        "order_id": ORDER_ID,
        "status": "MERCHANT_REFUND_SUCCESS",
        "type": "REFUND",
        "refund_info": {"amount": 56300},
        "create_time": NEW_YEAR_BEIJING,
        "update_time": NEW_YEAR_BEIJING + 86400,
    }
    return record | changes


def read_one(write_lines: WriteLines, reference: Reference, record: Record) -> dict[str, Any]:
    batch = WechatOrders().read(write_lines("orders_202601.jsonl", [record]), reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    return batch.tables["orders"].row(0, named=True)


def test_a_plain_order_maps_exactly(write_lines: WriteLines, reference: Reference) -> None:
    row = read_one(write_lines, reference, order())
    assert (row["order_id"], row["status"], row["total_cents"], row["paid_cents"]) == (
        ORDER_ID,
        "paid",
        259900,
        259900,
    )
    assert (row["province_code"], row["city_code"], row["item_count"]) == ("31", "310100", 2)
    assert row["created_at"] == datetime(2025, 12, 31, 16, 0)  # unix seconds to naive UTC
    assert row["paid_at"] == datetime(2025, 12, 31, 16, 10)


def test_pay_time_zero_means_unpaid(write_lines: WriteLines, reference: Reference) -> None:
    row = read_one(write_lines, reference, order(status=10, pay_time=0))
    assert (row["status"], row["paid_at"], row["paid_cents"]) == ("pending_payment", None, 0)


@pytest.mark.parametrize(
    ("status", "deposit_paid", "balance_paid", "stage", "paid_cents"),
    [
        (10, 0, 0, "deposit_pending", 0),
        (20, NEW_YEAR_BEIJING + 600, 0, "deposit_paid", 40000),
        (100, NEW_YEAR_BEIJING + 600, NEW_YEAR_BEIJING + 9000, "final_paid", 259900),
        (250, NEW_YEAR_BEIJING + 600, 0, "deposit_forfeited", 40000),
    ],
)
def test_pre_sale_times_give_the_stage(
    write_lines: WriteLines,
    reference: Reference,
    status: int,
    deposit_paid: int,
    balance_paid: int,
    stage: str,
    paid_cents: int,
) -> None:
    presale = {
        "is_presale": 1,
        "deposit_price": 40000,
        "deposit_paid_time": deposit_paid,
        "balance_paid_time": balance_paid,
    }
    row = read_one(
        write_lines, reference, order(status=status, pay_time=deposit_paid, presale=presale)
    )
    assert (row["is_presale"], row["presale_stage"]) == (True, stage)
    assert (row["deposit_cents"], row["paid_cents"]) == (40000, paid_cents)


@pytest.mark.parametrize(("word", "status"), list(settings.AFTERSALE_STATUS.items()))
def test_every_aftersale_status_maps(
    write_lines: WriteLines, reference: Reference, word: str, status: str
) -> None:
    path = write_lines("aftersales_202601.jsonl", [aftersale(status=word)])
    batch = WechatAftersales().read(path, reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    row = batch.tables["order_refunds"].row(0, named=True)
    assert (row["status"], row["refund_cents"], row["order_id"]) == (status, 56300, ORDER_ID)
    assert row["refund_id"] == "3726010000000020"
    assert (row["refunded_at"] == datetime(2026, 1, 1, 16, 0)) == (status == "succeeded")


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"status": "MERCHANT_ON_HOLIDAY"}, "status", "unknown refund status value"),
        ({"refund_info": {"amount": -56300}}, "refund_info.amount", None),
        ({"refund_info": {"amount": "563.00"}}, "refund_info.amount", None),
        ({"update_time": "1700000000x"}, "update_time", "missing or not a valid timestamp"),
        ({"create_time": None}, "create_time", "missing or not a valid timestamp"),
    ],
)
def test_each_bad_aftersale_is_quarantined_with_its_field(
    write_lines: WriteLines, reference: Reference, changes: Record, field: str, reason: str | None
) -> None:
    records: list[Record | str] = [aftersale(after_sale_order_id="1"), aftersale(**changes)]
    batch = WechatAftersales().read(write_lines("aftersales_202601.jsonl", records), reference)
    assert batch.tables["order_refunds"]["refund_id"].to_list() == ["1"]
    (row,) = batch.quarantine.iter_rows(named=True)
    assert (row["record_number"], row["field"]) == (2, field)
    assert row["reason"] == (reason or "amount is not a non-negative number")


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        (order(status=15), "status", "unknown status value"),
        (order(update_time=-5), "update_time", "missing or not a valid timestamp"),
        (order(create_time="昨天"), "create_time", "missing or not a valid timestamp"),
        (
            order(presale={"is_presale": 1, "deposit_price": "定金", "deposit_paid_time": 0}),
            "order_detail.presale_info",
            "pre-sale deposit or payment times not parseable",
        ),
    ],
)
def test_each_bad_order_is_quarantined_with_its_field(
    write_lines: WriteLines, reference: Reference, record: Record, field: str, reason: str
) -> None:
    path = write_lines("orders_202601.jsonl", [order(order_id="1"), record])
    batch = WechatOrders().read(path, reference)
    assert batch.tables["orders"]["order_id"].to_list() == ["1"]
    (row,) = batch.quarantine.iter_rows(named=True)
    assert (row["record_number"], row["field"], row["reason"]) == (2, field, reason)


def test_bad_fen_and_places_are_quarantined(write_lines: WriteLines, reference: Reference) -> None:
    negative, word, nowhere = order(order_id="1"), order(order_id="2"), order(order_id="3")
    negative["order_detail"]["price_info"]["order_price"] = -259900
    word["order_detail"]["price_info"]["order_price"] = "2599.00"  # yuan where fen belong
    nowhere["order_detail"]["delivery_info"]["address_info"]["city_name"] = "不存在市"
    path = write_lines("orders_202601.jsonl", [negative, word, nowhere])
    batch = WechatOrders().read(path, reference)
    assert batch.tables["orders"].is_empty()
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (1, "order_detail.price_info.order_price", "amount is not a non-negative number"),
        (2, "order_detail.price_info.order_price", "amount is not a non-negative number"),
        (3, "order_detail.delivery_info.address_info.city_name", "unknown province or city"),
    ]


def test_a_line_that_is_not_json_is_quarantined(
    write_lines: WriteLines, reference: Reference
) -> None:
    broken = json.dumps(aftersale(), ensure_ascii=False) + "}"
    records: list[Record | str] = [aftersale(after_sale_order_id="1"), broken]
    batch = WechatAftersales().read(write_lines("aftersales_202601.jsonl", records), reference)
    assert batch.records_read == 2
    assert batch.tables["order_refunds"]["refund_id"].to_list() == ["1"]
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, "<record>", "not valid JSON")
    ]


def test_conflicting_aftersale_twins_are_quarantined(
    write_lines: WriteLines, reference: Reference
) -> None:
    twin = aftersale(refund_info={"amount": 1})
    path = write_lines("aftersales_202601.jsonl", [aftersale(), twin, aftersale(order_id="9")])
    batch = WechatAftersales().read(path, reference)
    assert batch.tables["order_refunds"].is_empty()
    assert set(batch.quarantine["reason"]) == {
        "same id and update time twice with conflicting content"
    }
    assert batch.quarantine["record_number"].to_list() == [1, 2, 3]


def test_full_width_ids_and_fen_load(write_lines: WriteLines, reference: Reference) -> None:
    record = order(order_id=" ３７２６０１１５１０００００００５４８\u3000")
    record["order_detail"]["price_info"]["order_price"] = "２５９９００"
    row = read_one(write_lines, reference, record)
    assert (row["order_id"], row["total_cents"]) == (ORDER_ID, 259900)
