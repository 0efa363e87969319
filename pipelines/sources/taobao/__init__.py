"""Taobao/Tmall: trades (``taobao/trades_YYYYMM.jsonl``) and refunds (``refunds_YYYYMM.jsonl``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.sources.base import (
    Check,
    FeedBatch,
    ReferenceLike,
    first_record_keys,
    normalized,
    read_json_lines,
    sha256_of,
    split_valid,
)
from pipelines.sources.orders_common import (
    RefundFeed,
    attach_places,
    canonical_orders,
    duplicate_check,
    order_checks,
    parse_beijing,
    parse_yuan,
    read_refund_file,
    vocabulary,
)
from pipelines.sources.taobao import settings

S = pl.String
SUB_ORDER = pl.Struct(
    {"oid": S, "num_iid": S, "title": S, "price": S, "num": S, "payment": S, "refund_status": S}
)
TRADE = pl.Struct(
    {
        **{
            name: S
            for name in (
                "tid",
                "status",
                "type",
                "step_trade_status",
                "step_paid_fee",
                "payment",
                "total_fee",
                "post_fee",
                "receiver_state",
                "receiver_city",
                "created",
                "modified",
                "pay_time",
                "end_time",
                "num",
            )
        },
        "orders": pl.Struct({"order": pl.List(SUB_ORDER)}),
    }
)
REFUND = pl.Struct(
    {name: S for name in ("refund_id", "tid", "oid", "refund_fee", "status", "created", "modified")}
)
TRADE_FIELDS = {
    "order_id": "tid",
    "status": "status",
    "total": "total_fee",
    "city": "receiver_city",
    "created_at": "created",
    "paid_at": "pay_time",
    "updated_at": "modified",
}

REFUNDS = RefundFeed(
    platform="taobao",
    dtype=REFUND,
    fields={
        "refund_id": "refund_id",
        "order_id": "tid",
        "status": "status",
        "amount": "refund_fee",
        "created": "created",
        "modified": "modified",
    },
    statuses=settings.REFUND_STATUS,
    parse_amount=parse_yuan,
    parse_time=parse_beijing,
)


class TaobaoTrades:
    name = "taobao_trades"

    def detect(self, path: Path, head: bytes) -> bool:
        return {"tid", "receiver_state"} <= first_record_keys(path, head)

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch:
        del reference  # names resolve through the project's reference (attach_places)
        lines, decoded, broken = read_json_lines(path, TRADE)
        record = pl.col("record")
        sub_orders = record.struct.field("orders").struct.field("order")
        raw = decoded.select(
            "record_number",
            "raw_record",
            order_id=normalized(record.struct.field("tid")),
            status=record.struct.field("status"),
            type=normalized(record.struct.field("type")),
            step=normalized(record.struct.field("step_trade_status")),
            step_paid_fee=record.struct.field("step_paid_fee"),
            total=record.struct.field("total_fee"),
            payment=record.struct.field("payment"),
            province_name=record.struct.field("receiver_state"),
            city_name=record.struct.field("receiver_city"),
            created_at=record.struct.field("created"),
            paid_at=record.struct.field("pay_time"),
            updated_at=record.struct.field("modified"),
            item_count=sub_orders.list.eval(
                normalized(pl.element().struct.field("num")).cast(pl.Int32, strict=False)
            ).list.sum(),
            sub_refund_states=sub_orders.list.eval(
                normalized(pl.element().struct.field("refund_status"))
            ),
        )
        parsed = attach_places(raw).with_columns(
            vocabulary("status", settings.TRADE_STATUS),
            pl.col("step").replace_strict(settings.STEP_STATUS, default=None).alias("step__parsed"),
            total_cents=parse_yuan(pl.col("total")),
            payment_cents=parse_yuan(pl.col("payment")),
            deposit_paid_cents=parse_yuan(pl.col("step_paid_fee")),
            **{
                f"{c}__parsed": parse_beijing(pl.col(c))
                for c in ("created_at", "paid_at", "updated_at")
            },
        )
        is_step = pl.col("type") == "step"
        checks = [
            *order_checks(TRADE_FIELDS, ["created_at", "paid_at", "updated_at"]),
            Check(
                "payment",
                pl.col("payment_cents").is_null(),
                "amount is not a non-negative number",
                pl.col("payment"),
            ),
            Check(
                "type",
                ~pl.col("type").is_in(["fixed", "step"]),
                "unknown trade type",
                pl.col("type"),
            ),
            Check(
                "step_trade_status",
                is_step & pl.col("step__parsed").is_null(),
                "unknown or missing pre-sale stage",
                pl.col("step"),
            ),
            Check(
                "step_paid_fee",
                is_step
                # an unknown stage is reported once, above, not again as a missing deposit
                & (pl.col("step__parsed") != "deposit_pending").fill_null(False)
                & pl.col("deposit_paid_cents").is_null(),
                "amount is not a non-negative number",
                pl.col("step_paid_fee"),
            ),
            Check(
                "orders.order.refund_status",
                ~pl.col("sub_refund_states")
                .list.eval(pl.element().is_in(settings.SUB_ORDER_REFUND_STATUS))
                .list.all(),
                "unknown refund status",
                pl.col("sub_refund_states").list.join(","),
            ),
            duplicate_check(
                "tid", "updated_at", ["status", "type", "step", "total", "payment", "city_name"]
            ),
        ]
        good, quarantine = split_valid(parsed, checks)
        stage = (
            pl.when(~is_step)
            .then(pl.lit(None, pl.String))
            .when(
                (pl.col("status__parsed") == "closed") & (pl.col("step__parsed") == "deposit_paid")
            )
            .then(pl.lit("deposit_forfeited"))
            .otherwise(pl.col("step__parsed"))
        )
        deposit = pl.when(is_step & (pl.col("step__parsed") != "deposit_pending")).then(
            pl.col("deposit_paid_cents")
        )
        orders = canonical_orders(
            good,
            "taobao",
            is_presale=is_step,
            presale_stage=stage,
            paid_cents=pl.when(pl.col("paid_at__parsed").is_null())
            .then(0)
            .when(is_step & (pl.col("step__parsed") != "final_paid"))
            .then(deposit)
            .otherwise(pl.col("payment_cents")),
            deposit_cents=deposit.fill_null(0),
        )
        return FeedBatch(
            self.name,
            path,
            sha256_of(path),
            lines.height,
            {"orders": orders},
            pl.concat([broken, quarantine]),
        )


class TaobaoRefunds:
    name = "taobao_refunds"

    def detect(self, path: Path, head: bytes) -> bool:
        return {"refund_id", "tid", "refund_fee"} <= first_record_keys(path, head)

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch:
        del reference
        return read_refund_file(self.name, path, REFUNDS)


SOURCES = (TaobaoTrades(), TaobaoRefunds())
