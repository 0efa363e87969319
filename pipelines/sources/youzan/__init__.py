"""Youzan: ``youzan/trades_YYYYMM.jsonl``, trade-API records with refunds on the trade."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines import canonical
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
    attach_places,
    canonical_orders,
    duplicate_check,
    order_checks,
    parse_beijing,
    parse_yuan,
    refund_frame,
    unparsed,
    vocabulary,
)
from pipelines.sources.youzan import settings

S = pl.String
PHASE = pl.Struct({"phase": S, "real_price": S, "pay_time": S})
REFUND = pl.Struct(
    {"refund_id": S, "refund_fee": S, "refund_state": S, "created": S, "modified": S}
)
TRADE = pl.Struct(
    {
        "full_order_info": pl.Struct(
            {
                "order_info": pl.Struct(
                    {
                        n: S
                        for n in (
                            "tid",
                            "status",
                            "type",
                            "created",
                            "update_time",
                            "pay_time",
                            "refund_state",
                        )
                    }
                ),
                "pay_info": pl.Struct(
                    {"payment": S, "total_fee": S, "post_fee": S, "phase_payments": pl.List(PHASE)}
                ),
                "address_info": pl.Struct({"delivery_province": S, "delivery_city": S}),
                "orders": pl.List(
                    pl.Struct(
                        {n: S for n in ("oid", "num", "payment", "is_pre_sale", "pre_sale_type")}
                    )
                ),
            }
        ),
        "refund_order": pl.List(REFUND),
    }
)
FIELDS = {
    "order_id": "full_order_info.order_info.tid",
    "status": "full_order_info.order_info.status",
    "total": "full_order_info.pay_info.total_fee",
    "city": "full_order_info.address_info.delivery_city",
    "created_at": "full_order_info.order_info.created",
    "paid_at": "full_order_info.order_info.pay_time",
    "updated_at": "full_order_info.order_info.update_time",
}
REFUND_FIELDS = {
    "refund_id": "refund_order.refund_id",
    "order_id": "full_order_info.order_info.tid",
    "status": "refund_order.refund_state",
    "amount": "refund_order.refund_fee",
    "created": "refund_order.created",
    "modified": "refund_order.modified",
}


class YouzanTrades:
    name = "youzan_trades"

    def detect(self, path: Path, head: bytes) -> bool:
        return "full_order_info" in first_record_keys(path, head)

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch:
        del reference  # names resolve through the project's reference (attach_places)
        lines, decoded, broken = read_json_lines(path, TRADE)
        full = pl.col("record").struct.field("full_order_info")
        info, pay = full.struct.field("order_info"), full.struct.field("pay_info")
        address, items = full.struct.field("address_info"), full.struct.field("orders")
        phases = pay.struct.field("phase_payments")

        def phase(number: str, field: str) -> pl.Expr:
            return phases.list.eval(
                pl.element()
                .filter(pl.element().struct.field("phase") == number)
                .struct.field(field)
            ).list.first()

        raw = decoded.select(
            "record_number",
            "raw_record",
            order_id=normalized(info.struct.field("tid")),
            status=info.struct.field("status"),
            total=pay.struct.field("total_fee"),
            payment=pay.struct.field("payment"),
            is_presale=items.list.eval(pl.element().struct.field("is_pre_sale") == "1").list.any(),
            deposit=phase("1", "real_price"),
            balance=phase("2", "real_price"),
            deposit_paid_at=phase("1", "pay_time"),
            balance_paid_at=phase("2", "pay_time"),
            province_name=address.struct.field("delivery_province"),
            city_name=address.struct.field("delivery_city"),
            created_at=info.struct.field("created"),
            paid_at=info.struct.field("pay_time"),
            updated_at=info.struct.field("update_time"),
            order_refund_state=normalized(info.struct.field("refund_state")),
            item_count=items.list.eval(
                normalized(pl.element().struct.field("num")).cast(pl.Int32, strict=False)
            ).list.sum(),
            refunds=pl.col("record").struct.field("refund_order").fill_null([]),
        )
        parsed = attach_places(raw).with_columns(
            vocabulary("status", settings.TRADE_STATUS),
            total_cents=parse_yuan(pl.col("total")),
            payment_cents=parse_yuan(pl.col("payment")),
            deposit_cents=parse_yuan(pl.col("deposit")),
            balance_cents=parse_yuan(pl.col("balance")),
            **{
                f"{c}__parsed": parse_beijing(pl.col(c))
                for c in (
                    "created_at",
                    "paid_at",
                    "updated_at",
                    "deposit_paid_at",
                    "balance_paid_at",
                )
            },
        )
        refunds_ok = (
            pl.col("refunds")
            .list.eval(
                pl.element().struct.field("refund_state").is_in(list(settings.REFUND_STATE))
                & parse_yuan(pl.element().struct.field("refund_fee")).is_not_null()
                & parse_beijing(pl.element().struct.field("created")).is_not_null()
                & parse_beijing(pl.element().struct.field("modified")).is_not_null()
            )
            .list.all()
        )
        presale = pl.col("is_presale")
        checks = [
            *order_checks(FIELDS, ["created_at", "paid_at", "updated_at"]),
            Check(
                "full_order_info.pay_info.payment",
                pl.col("payment_cents").is_null(),
                "amount is not a non-negative number",
                pl.col("payment"),
            ),
            Check(
                "full_order_info.pay_info.phase_payments",
                presale
                & (
                    pl.col("deposit_cents").is_null()
                    | pl.col("balance_cents").is_null()
                    | unparsed("deposit_paid_at")
                    | unparsed("balance_paid_at")
                ),
                "pre-sale phases incomplete or not parseable",
                pl.col("deposit").fill_null("") + "/" + pl.col("balance").fill_null(""),
            ),
            Check(
                "full_order_info.order_info.refund_state",
                pl.col("order_refund_state").is_not_null()
                & ~pl.col("order_refund_state").is_in(list(settings.ORDER_REFUND_STATE)),
                "unknown refund state",
                pl.col("order_refund_state"),
            ),
            Check(
                "refund_order",
                ~refunds_ok,
                "refund with unknown state, bad amount or bad time",
                pl.col("refunds").list.len().cast(pl.String),
            ),
            duplicate_check(
                FIELDS["order_id"],
                "updated_at",
                ["status", "total", "payment", "city_name", "refunds"],
            ),
        ]
        good, quarantine = split_valid(parsed, checks)
        deposit_paid = pl.col("deposit_paid_at__parsed").is_not_null()
        balance_paid = pl.col("balance_paid_at__parsed").is_not_null()
        closed = pl.col("status__parsed") == "closed"
        orders = canonical_orders(
            good,
            "youzan",
            is_presale=presale,
            presale_stage=pl.when(~presale)
            .then(pl.lit(None, pl.String))
            .when(balance_paid)
            .then(pl.lit("final_paid"))
            .when(deposit_paid & closed)
            .then(pl.lit("deposit_forfeited"))
            .when(deposit_paid)
            .then(pl.lit("deposit_paid"))
            .otherwise(pl.lit("deposit_pending")),
            paid_cents=pl.when(~presale)
            .then(pl.when(pl.col("paid_at__parsed").is_not_null()).then(pl.col("payment_cents")))
            .otherwise(
                pl.when(deposit_paid).then(pl.col("deposit_cents")).otherwise(0)
                + pl.when(balance_paid).then(pl.col("balance_cents")).otherwise(0)
            )
            .fill_null(0),
            deposit_cents=pl.when(presale).then(pl.col("deposit_cents")).otherwise(0),
        )
        refund_rows = (
            good.select("record_number", "raw_record", "order_id", "refunds")
            .explode("refunds")
            .drop_nulls("refunds")
            .select(
                "record_number",
                "raw_record",
                "order_id",
                refund_id=normalized(pl.col("refunds").struct.field("refund_id")),
                status=pl.col("refunds").struct.field("refund_state"),
                amount=pl.col("refunds").struct.field("refund_fee"),
                created=pl.col("refunds").struct.field("created"),
                modified=pl.col("refunds").struct.field("modified"),
            )
            .with_columns(
                vocabulary("status", settings.REFUND_STATE),
                refund_cents=parse_yuan(pl.col("amount")),
                requested_at=parse_beijing(pl.col("created")),
                updated_at=parse_beijing(pl.col("modified")),
            )
        )
        refunds, refund_quarantine = refund_frame(refund_rows, "youzan", REFUND_FIELDS)
        return FeedBatch(
            self.name,
            path,
            sha256_of(path),
            lines.height,
            {
                "orders": canonical.conform(orders, "orders"),
                "order_refunds": refunds.unique(maintain_order=True),
            },
            pl.concat([broken, quarantine, refund_quarantine]),
        )


SOURCES = (YouzanTrades(),)
