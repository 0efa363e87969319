"""WeChat shop (视频号小店 / 微信小店) records shaped like the API's example responses, mutated.

The order follows the ``order`` object of the shop's 订单详情 API (channels-shop-order, order
get: integer fen in ``price_info``, unix seconds, numeric ``status``, ``product_infos[]`` with
``sku_cnt``, ``delivery_info.address_info``); the after-sale follows ``after_sale_order`` of the
售后单详情 API (channels-shop-aftersale, api_getaftersaleorder: string ``status``,
``refund_info.amount`` in fen, ``type`` REFUND or RETURN), on developers.weixin.qq.com.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from pipelines.reference import Reference
from pipelines.sources import wechat
from pipelines.sources.wechat import WechatAftersales, WechatOrders, settings
from tests.pipelines.sources.conftest import Record, WriteLines
from tests.pipelines.sources.mutations import type_mismatches

ORDER_ID = "3705115058471208928"
JAN_2 = 1767283200  # 2026-01-02 00:00:00 +08:00


def order(order_id: str = ORDER_ID, **changes: Any) -> Record:
    record: Record = {
        "order_id": order_id,
        "openid": "oXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "create_time": JAN_2,
        "update_time": JAN_2 + 7200,
        "status": 100,
        "order_detail": {
            "product_infos": [
                {
                    "product_id": "10000000324545",
                    "sku_id": "10000000023424",
                    "thumb_img": "https://example.invalid/img.jpg",
                    "sku_cnt": 2,
                    "sale_price": 129950,
                    "title": "空调安装服务",
                    "on_aftersale_sku_cnt": 0,
                    "finish_aftersale_sku_cnt": 0,
                    "market_price": 149900,
                    "sku_attrs": [{"attr_key": "规格", "attr_value": "1.5匹"}],
                    "real_price": 259900,
                    "is_discounted": False,
                }
            ],
            "pay_info": {
                "prepay_id": "wx0201000000000000000000000000",
                "prepay_time": JAN_2 + 60,
                "pay_time": JAN_2 + 120,
                "transaction_id": "4200001234202601021234567890",
                "payment_method": 1,
            },
            "price_info": {
                "product_price": 259900,
                "order_price": 259900,
                "freight": 0,
                "discounted_price": 0,
                "is_discounted": False,
            },
            "delivery_info": {
                "address_info": {
                    "user_name": "李四",
                    "postal_code": "510000",
                    "province_name": "广东省",
                    "city_name": "广州市",
                    "county_name": "海珠区",
                    "detail_info": "新港中路 1 号",
                    "national_code": "440105",
                    "tel_number": "139****0000",
                },
                "ship_done_time": JAN_2 + 3600,
                "deliver_method": 0,
            },
            "ext_info": {"customer_notes": "", "merchant_notes": ""},
        },
        "aftersale_detail": {"on_aftersale_order_cnt": 0, "aftersale_order_list": []},
    }
    return record | changes


def aftersale(after_sale_order_id: str = "4000000000000000001", **changes: Any) -> Record:
    record: Record = {
        "after_sale_order_id": after_sale_order_id,
        "status": "MERCHANT_RETURN_SUCCESS",
        "openid": "oXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "order_id": ORDER_ID,
        "product_info": {"product_id": "10000000324545", "sku_id": "10000000023424", "count": 1},
        "details": {"desc": "不想要了", "receive_product": True, "cancel_time": 0},
        "refund_info": {"amount": 129950, "refund_reason": 1},
        "return_info": {"waybill_id": "SF1234567890", "delivery_id": "SF", "delivery_name": "顺丰"},
        "create_time": JAN_2 + 86400,
        "update_time": JAN_2 + 3 * 86400,
        "reason": "NOT_WANT",
        "type": "RETURN",
        "refund_resp": {"code": "", "ret": 0, "message": ""},
        "deadline": 0,
    }
    return record | changes


def test_the_documented_order_loads_exactly(write_lines: WriteLines, reference: Reference) -> None:
    batch = WechatOrders().read(write_lines("orders_202601.jsonl", [order()]), reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    (row,) = batch.tables["orders"].rows(named=True)
    assert (row["order_id"], row["status"], row["total_cents"], row["paid_cents"]) == (
        ORDER_ID,
        "completed",
        259900,
        259900,
    )
    assert (row["province_code"], row["city_code"], row["item_count"]) == ("44", "440100", 2)
    assert row["created_at"] == datetime(2026, 1, 1, 16, 0)
    assert row["paid_at"] == datetime(2026, 1, 1, 16, 2)
    assert row["updated_at"] == datetime(2026, 1, 1, 18, 0)


@pytest.mark.parametrize(("word", "status"), list(settings.AFTERSALE_STATUS.items()))
def test_every_after_sale_status_loads(
    write_lines: WriteLines, reference: Reference, word: str, status: str
) -> None:
    path = write_lines("aftersales_202601.jsonl", [aftersale(status=word)])
    batch = WechatAftersales().read(path, reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    (row,) = batch.tables["order_refunds"].rows(named=True)
    assert (row["refund_id"], row["order_id"], row["status"], row["refund_cents"]) == (
        "4000000000000000001",
        ORDER_ID,
        status,
        129950,
    )
    assert row["requested_at"] == datetime(2026, 1, 2, 16, 0)
    assert row["refunded_at"] == (datetime(2026, 1, 4, 16, 0) if status == "succeeded" else None)


def test_a_completed_return_refund_counts_as_refunded() -> None:
    assert settings.AFTERSALE_STATUS["MERCHANT_RETURN_SUCCESS"] == "succeeded"


NOT_PLAIN = "refund id is not a plain digit or code string"
WHERE_OBJECT = "where an object was expected"
ORDER_MUTATIONS = list(type_mismatches(order(), wechat.ORDER))
AFTERSALE_MUTATIONS = list(type_mismatches(aftersale(), wechat.AFTERSALE))


@pytest.mark.parametrize("mutation", ORDER_MUTATIONS, ids=lambda m: f"{m.field}={m.value!r}")
def test_each_json_type_mismatch_costs_its_order_alone(
    write_lines: WriteLines, reference: Reference, mutation: Any
) -> None:
    records: list[Record | str] = [order("10"), mutation.apply(order()), order("20")]
    batch = WechatOrders().read(write_lines("orders_202601.jsonl", records), reference)
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, mutation.field, mutation.reason)
    ]
    assert batch.tables["orders"]["order_id"].to_list() == ["10", "20"]


@pytest.mark.parametrize("mutation", AFTERSALE_MUTATIONS, ids=lambda m: f"{m.field}={m.value!r}")
def test_each_json_type_mismatch_costs_its_after_sale_alone(
    write_lines: WriteLines, reference: Reference, mutation: Any
) -> None:
    records: list[Record | str] = [aftersale("10"), mutation.apply(aftersale()), aftersale("20")]
    batch = WechatAftersales().read(write_lines("aftersales_202601.jsonl", records), reference)
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, mutation.field, mutation.reason)
    ]
    assert batch.tables["order_refunds"]["refund_id"].to_list() == ["10", "20"]


def test_the_mutations_cover_every_field_read() -> None:
    assert {"refund_info", "refund_info.amount", "after_sale_order_id"} <= {
        m.field for m in AFTERSALE_MUTATIONS
    }
    assert {"order_detail.product_infos[0].sku_cnt", "order_detail.price_info"} <= {
        m.field for m in ORDER_MUTATIONS
    }


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"refund_info": [{"amount": 100}]}, "refund_info", f"a JSON array {WHERE_OBJECT}"),
        ({"after_sale_order_id": True}, "after_sale_order_id", NOT_PLAIN),
        ({"after_sale_order_id": 4.0e18}, "after_sale_order_id", NOT_PLAIN),
        ({"status": "MERCHANT_ON_THE_MOON"}, "status", "unknown refund status value"),
    ],
)
def test_after_sale_ids_are_never_coerced_and_new_statuses_are_named(
    write_lines: WriteLines, reference: Reference, changes: Record, field: str, reason: str
) -> None:
    path = write_lines("aftersales_202601.jsonl", [aftersale("10"), aftersale(**changes)])
    batch = WechatAftersales().read(path, reference)
    assert batch.tables["order_refunds"]["refund_id"].to_list() == ["10"]
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, field, reason)
    ]


def test_a_missing_sku_count_is_not_zero_items(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = order()
    del record["order_detail"]["product_infos"][0]["sku_cnt"]
    batch = WechatOrders().read(write_lines("orders_202601.jsonl", [record]), reference)
    assert batch.tables["orders"].is_empty()
    assert batch.quarantine.select("field", "reason").rows() == [
        ("order_detail.product_infos[0].sku_cnt", "quantity is not a positive whole number")
    ]


def test_nan_and_a_broken_first_line(write_lines: WriteLines, reference: Reference) -> None:
    nan = json.dumps(order("2")).replace('"order_price": 259900', '"order_price": NaN')
    path = write_lines("orders_202601.jsonl", ['{"order_id": "1", "status"', nan, order("3")])
    batch = WechatOrders().read(path, reference)
    assert batch.quarantine.select("record_number", "reason").rows() == [
        (1, "not valid JSON"),
        (2, "not valid JSON (NaN or Infinity)"),
    ]
    assert batch.tables["orders"]["order_id"].to_list() == ["3"]


def test_a_mismatched_value_is_kept_as_it_was_sent(
    write_lines: WriteLines, reference: Reference
) -> None:
    record = aftersale(refund_info=[{"amount": 100, "note": "整单"}])
    batch = WechatAftersales().read(write_lines("aftersales_202601.jsonl", [record]), reference)
    assert batch.quarantine["value"].to_list() == ['[{"amount": 100, "note": "整单"}]']
