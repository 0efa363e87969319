"""WeChat shop: ``wechat/orders_YYYYMM.jsonl``, ``aftersales_YYYYMM.jsonl``; fen, unix seconds."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.sources.base import (
    Check,
    FeedBatch,
    ReferenceLike,
    normalized,
    sha256_of,
    split_valid,
)
from pipelines.sources.json_lines import first_record_keys, read_json_lines
from pipelines.sources.orders_common import (
    RefundFeed,
    attach_places,
    canonical_orders,
    duplicate_check,
    element,
    list_rows,
    order_checks,
    parse_fen,
    parse_unix,
    positive_count,
    read_refund_file,
    reject,
    unparsed,
    vocabulary,
)
from pipelines.sources.wechat import settings

S = pl.String
ORDER = pl.Struct(
    {
        "order_id": S,
        "status": S,
        "create_time": S,
        "update_time": S,
        "order_detail": pl.Struct(
            {
                "price_info": pl.Struct({"order_price": S, "product_price": S, "freight": S}),
                "pay_info": pl.Struct({"pay_time": S}),
                "presale_info": pl.Struct(
                    {
                        "is_presale": S,
                        "deposit_price": S,
                        "deposit_paid_time": S,
                        "balance_paid_time": S,
                    }
                ),
                "product_infos": pl.List(pl.Struct({"product_id": S, "sku_cnt": S})),
                "delivery_info": pl.Struct(
                    {"address_info": pl.Struct({"province_name": S, "city_name": S})}
                ),
            }
        ),
    }
)
AFTERSALE = pl.Struct(
    {
        "after_sale_order_id": S,
        "order_id": S,
        "status": S,
        "type": S,
        "refund_info": pl.Struct({"amount": S}),
        "create_time": S,
        "update_time": S,
    }
)
FIELDS = {
    "order_id": "order_id",
    "status": "status",
    "total": "order_detail.price_info.order_price",
    "city": "order_detail.delivery_info.address_info.city_name",
    "created_at": "create_time",
    "paid_at": "order_detail.pay_info.pay_time",
    "updated_at": "update_time",
}
AFTERSALES = RefundFeed(
    platform="wechat",
    dtype=AFTERSALE,
    fields={
        "refund_id": "after_sale_order_id",
        "order_id": "order_id",
        "status": "status",
        "amount": "refund_info.amount",
        "created": "create_time",
        "modified": "update_time",
    },
    statuses=settings.AFTERSALE_STATUS,
    parse_amount=parse_fen,
    parse_time=parse_unix,
)


def _paid_time(column: str) -> pl.Expr:
    """0 means "not paid" on this platform."""
    return pl.when(normalized(pl.col(column)) != "0").then(pl.col(column))


class WechatOrders:
    name = "wechat_orders"

    def detect(self, path: Path, head: bytes) -> bool:
        return {"order_id", "order_detail"} <= first_record_keys(path, head)

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch:
        del reference  # names resolve through the project's reference (attach_places)
        lines, decoded, broken = read_json_lines(path, ORDER)
        record = pl.col("record")
        detail = record.struct.field("order_detail")
        presale = detail.struct.field("presale_info")
        address = detail.struct.field("delivery_info").struct.field("address_info")
        raw = decoded.select(
            "record_number",
            "raw_record",
            order_id=normalized(record.struct.field("order_id")),
            status=record.struct.field("status"),
            total=detail.struct.field("price_info").struct.field("order_price"),
            is_presale=normalized(presale.struct.field("is_presale")).fill_null("0") == "1",
            deposit=presale.struct.field("deposit_price"),
            deposit_paid_at=presale.struct.field("deposit_paid_time"),
            balance_paid_at=presale.struct.field("balance_paid_time"),
            province_name=address.struct.field("province_name"),
            city_name=address.struct.field("city_name"),
            created_at=record.struct.field("create_time"),
            paid_at=detail.struct.field("pay_info").struct.field("pay_time"),
            updated_at=record.struct.field("update_time"),
            item_count=detail.struct.field("product_infos")
            .fill_null([])
            .list.eval(positive_count(pl.element().struct.field("sku_cnt")))
            .list.sum(),
            products=detail.struct.field("product_infos"),
        ).with_columns(
            _paid_time("paid_at").alias("paid_at"),
            _paid_time("deposit_paid_at").alias("deposit_paid_at"),
            _paid_time("balance_paid_at").alias("balance_paid_at"),
        )
        parsed = attach_places(raw).with_columns(
            vocabulary("status", settings.ORDER_STATUS),
            total_cents=parse_fen(pl.col("total")),
            deposit_cents=parse_fen(pl.col("deposit")),
            **{
                f"{c}__parsed": parse_unix(pl.col(c))
                for c in (
                    "created_at",
                    "paid_at",
                    "updated_at",
                    "deposit_paid_at",
                    "balance_paid_at",
                )
            },
        )
        is_presale = pl.col("is_presale")
        checks = [
            *order_checks(FIELDS, ["created_at", "paid_at", "updated_at"]),
            Check(
                "order_detail.presale_info",
                is_presale
                & (
                    pl.col("deposit_cents").is_null()
                    | unparsed("deposit_paid_at")
                    | unparsed("balance_paid_at")
                ),
                "pre-sale deposit or payment times not parseable",
                pl.col("deposit"),
            ),
            duplicate_check(
                parsed, "order_id", "updated_at", ["status", "total", "city_name", "paid_at"]
            ),
        ]
        good, quarantine = split_valid(parsed, checks)
        products = list_rows(parsed, "products").with_columns(
            quantity=positive_count(pl.col("sku_cnt"))
        )
        count_check = Check(
            "sku_cnt",
            pl.col("quantity").is_null(),
            "quantity is not a positive whole number",
            pl.col("sku_cnt"),
        )
        _, product_quarantine = split_valid(
            products, [count_check], locate=element("order_detail.product_infos")
        )
        good = reject(good, product_quarantine)
        deposit_paid = pl.col("deposit_paid_at__parsed").is_not_null()
        balance_paid = pl.col("balance_paid_at__parsed").is_not_null()
        orders = canonical_orders(
            good,
            "wechat",
            is_presale=is_presale,
            presale_stage=pl.when(~is_presale)
            .then(pl.lit(None, pl.String))
            .when(balance_paid)
            .then(pl.lit("final_paid"))
            .when(deposit_paid & (pl.col("status__parsed") == "closed"))
            .then(pl.lit("deposit_forfeited"))
            .when(deposit_paid)
            .then(pl.lit("deposit_paid"))
            .otherwise(pl.lit("deposit_pending")),
            paid_cents=pl.when(pl.col("paid_at__parsed").is_null())
            .then(0)
            .when(is_presale & ~balance_paid)
            .then(pl.col("deposit_cents"))
            .otherwise(pl.col("total_cents")),
            deposit_cents=pl.when(is_presale).then(pl.col("deposit_cents")).otherwise(0),
        )
        return FeedBatch(
            self.name,
            path,
            sha256_of(path),
            lines.height,
            {"orders": orders},
            pl.concat([broken, quarantine, product_quarantine]),
        )


class WechatAftersales:
    name = "wechat_aftersales"

    def detect(self, path: Path, head: bytes) -> bool:
        return {"after_sale_order_id", "refund_info"} <= first_record_keys(path, head)

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch:
        del reference
        return read_refund_file(self.name, path, AFTERSALES)


SOURCES = (WechatOrders(), WechatAftersales())
