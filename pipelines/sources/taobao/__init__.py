"""Taobao/Tmall: trades (``taobao/trades_YYYYMM.jsonl``) and refunds (``refunds_YYYYMM.jsonl``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from pipelines import canonical
from pipelines.sources.base import (
    Check,
    FeedBatch,
    ReferenceLike,
    normalized,
    sha256_of,
    split_valid,
)
from pipelines.sources.json_lines import AltShape, first_record_keys, read_json_lines
from pipelines.sources.orders_common import (
    RefundFeed,
    attach_places,
    canonical_orders,
    duplicate_check,
    element,
    id_checks,
    list_rows,
    order_checks,
    parse_beijing,
    parse_yuan,
    positive_count,
    read_refund_file,
    reject,
    vocabulary,
    vocabulary_checks,
)
from pipelines.sources.taobao import settings

S = pl.String
SUB_ORDER = pl.Struct(
    {
        n: S
        for n in (
            "oid",
            "num_iid",
            "title",
            "price",
            "num",
            "payment",
            "refund_status",
            "refund_id",
            "refund_fee",
        )
    }
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


def _wrap_sub_orders(record: dict[str, Any]) -> dict[str, Any]:
    if isinstance(record.get("orders"), list):
        return {**record, "orders": {"order": record["orders"]}}
    return record


# The TOP response wraps sub-orders as {"orders": {"order": [...]}}; the Java SDK (and feeds
# built on it) serialises them as a bare list. Both are the platform's: the list is rewrapped.
BARE_SUB_ORDERS = AltShape(
    pattern=r'"orders"\s*:\s*\[',
    dtype=pl.Struct({**TRADE.to_schema(), "orders": pl.List(SUB_ORDER)}),
    to_main=lambda record: record.struct.with_fields(
        pl.struct(pl.field("orders").alias("order")).alias("orders")
    ),
    reshape=_wrap_sub_orders,
)


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
        lines, decoded, broken = read_json_lines(path, TRADE, alternative=BARE_SUB_ORDERS)
        record = pl.col("record")
        sub_orders = record.struct.field("orders").struct.field("order").fill_null([])
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
                positive_count(pl.element().struct.field("num"))
            ).list.sum(),
            sub_orders=sub_orders,
        )
        parsed = attach_places(raw).with_columns(
            vocabulary("status", settings.TRADE_STATUS),
            vocabulary("type", {t: t for t in settings.TRADE_TYPES}),
            vocabulary("step", settings.STEP_STATUS),
            total_cents=parse_yuan(pl.col("total")),
            payment_cents=parse_yuan(pl.col("payment")),
            deposit_paid_cents=parse_yuan(pl.col("step_paid_fee")),
            **{
                f"{c}__parsed": parse_beijing(pl.col(c))
                for c in ("created_at", "paid_at", "updated_at")
            },
        )
        is_step = pl.col("type") == settings.PRESALE_TYPE
        checks = [
            *order_checks(TRADE_FIELDS, ["created_at", "paid_at", "updated_at"]),
            Check(
                "payment",
                pl.col("payment_cents").is_null(),
                "amount is not a non-negative number",
                pl.col("payment"),
            ),
            *vocabulary_checks("type", "type", "trade type"),
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
            duplicate_check(
                parsed,
                "tid",
                "updated_at",
                ["status", "type", "step", "total", "payment", "city_name"],
            ),
        ]
        good, quarantine = split_valid(parsed, checks)
        subs, sub_quarantine = _sub_orders(parsed)
        good = reject(good, sub_quarantine)
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
        refunds = _sub_order_refunds(
            subs.filter(pl.col("record_number").is_in(good["record_number"].implode()))
        )
        return FeedBatch(
            self.name,
            path,
            sha256_of(path),
            lines.height,
            {"orders": orders, "order_refunds": refunds},
            pl.concat([broken, quarantine, sub_quarantine]),
        )


def _sub_orders(parsed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Every sub-order of every trade, checked: a positive ``num``, a known ``refund_status``,
    and, when a refund is under way or done, its ``refund_id`` and amount."""
    rows = (
        list_rows(parsed, "sub_orders")
        .with_columns(
            normalized(pl.col("refund_status")).alias("refund_status"),
            normalized(pl.col("refund_id")).alias("refund_id"),
            pl.coalesce("refund_fee", "payment").alias("refund_amount"),
        )
        .with_columns(
            vocabulary("refund_status", settings.SUB_ORDER_REFUND_STATUS),
            refund_cents=parse_yuan(pl.col("refund_amount")),
            quantity=positive_count(pl.col("num")),
        )
    )
    refunding = (pl.col("refund_status__parsed") != "none").fill_null(False)
    checks = [
        Check(
            "num",
            pl.col("quantity").is_null(),
            "quantity is not a positive whole number",
            pl.col("num"),
        ),
        *vocabulary_checks("refund_status", "refund_status", "refund status", required=False),
        *[
            Check(c.field, refunding & c.bad, c.reason, c.value)
            for c in id_checks("refund_id", "refund_id", "refund id")
        ],
        Check(
            "refund_fee",
            refunding & pl.col("refund_cents").is_null(),
            "amount is not a non-negative number",
            pl.col("refund_amount"),
        ),
    ]
    good, quarantine = split_valid(rows, checks, locate=element("orders.order"))
    return good, quarantine


def _sub_order_refunds(subs: pl.DataFrame) -> pl.DataFrame:
    """Refund rows from sub-orders whose ``refund_status`` says a refund exists. The sub-order has
    no refund times: the trade's ``modified`` stands for both (a refunds-file row for the same
    ``refund_id`` is the same row, merged newest first, never a second refund)."""
    refunding = subs.filter(
        pl.col("refund_status__parsed").is_not_null() & (pl.col("refund_status__parsed") != "none")
    )
    rows = refunding.select(
        platform=pl.lit("taobao"),
        refund_id=pl.col("refund_id"),
        order_id=pl.col("order_id"),
        status=pl.col("refund_status__parsed"),
        refund_cents=pl.col("refund_cents"),
        requested_at=pl.col("updated_at__parsed"),
        refunded_at=pl.when(pl.col("refund_status__parsed") == "succeeded").then(
            pl.col("updated_at__parsed")
        ),
        updated_at=pl.col("updated_at__parsed"),
    )
    return canonical.conform(rows, "order_refunds")


class TaobaoRefunds:
    name = "taobao_refunds"

    def detect(self, path: Path, head: bytes) -> bool:
        return {"refund_id", "tid", "refund_fee"} <= first_record_keys(path, head)

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch:
        del reference
        return read_refund_file(self.name, path, REFUNDS)


SOURCES = (TaobaoTrades(), TaobaoRefunds())
