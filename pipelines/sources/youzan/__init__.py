"""Youzan: ``youzan/trades_YYYYMM.jsonl``, trade-API records with refunds on the trade."""

from __future__ import annotations

from pathlib import Path

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
from pipelines.sources.json_lines import first_record_keys, read_json_lines
from pipelines.sources.orders_common import (
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
    reject,
    vocabulary,
    vocabulary_checks,
)
from pipelines.sources.youzan import settings

S = pl.String
# pay_info.phase_payments[] as the SDK models it: a phase is paid once it has a payment
# transaction (outer_transaction_no); pay_start_time/pay_end_time are the window to pay in.
PHASE = pl.Struct(
    {
        n: S
        for n in ("phase", "real_price", "pay_start_time", "pay_end_time", "outer_transaction_no")
    }
)
# refund_order[] as youzan.trade.get 4.0.0 sends it: no times of its own (created/modified are
# read when a feed adds them).
REFUND = pl.Struct(
    {
        **{n: S for n in ("refund_type", "refund_fee", "refund_id", "refund_state")},
        "oids": pl.List(pl.Struct({"oid": S})),
        "created": S,
        "modified": S,
    }
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
        items = items.fill_null([])

        def phase(number: str, field: str) -> pl.Expr:
            return phases.list.eval(
                pl.element()
                .filter(normalized(pl.element().struct.field("phase")) == number)
                .struct.field(field)
            ).list.first()

        raw = decoded.select(
            "record_number",
            "raw_record",
            order_id=normalized(info.struct.field("tid")),
            status=info.struct.field("status"),
            total=pay.struct.field("total_fee"),
            payment=pay.struct.field("payment"),
            is_presale=items.list.eval(
                normalized(pl.element().struct.field("is_pre_sale")) == "1"
            ).list.any(),
            deposit=phase("1", "real_price"),
            balance=phase("2", "real_price"),
            deposit_paid=normalized(phase("1", "outer_transaction_no")).fill_null("") != "",
            balance_paid=normalized(phase("2", "outer_transaction_no")).fill_null("") != "",
            province_name=address.struct.field("delivery_province"),
            city_name=address.struct.field("delivery_city"),
            created_at=info.struct.field("created"),
            paid_at=info.struct.field("pay_time"),
            updated_at=info.struct.field("update_time"),
            order_refund_state=normalized(info.struct.field("refund_state")),
            item_count=items.list.eval(positive_count(pl.element().struct.field("num"))).list.sum(),
            items=items,
            refunds=pl.col("record").struct.field("refund_order").fill_null([]),
        )
        parsed = attach_places(raw).with_columns(
            vocabulary("status", settings.TRADE_STATUS),
            vocabulary("order_refund_state", settings.ORDER_REFUND_STATE),
            total_cents=parse_yuan(pl.col("total")),
            payment_cents=parse_yuan(pl.col("payment")),
            deposit_cents=parse_yuan(pl.col("deposit")),
            balance_cents=parse_yuan(pl.col("balance")),
            **{
                f"{c}__parsed": parse_beijing(pl.col(c))
                for c in ("created_at", "paid_at", "updated_at")
            },
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
                presale & (pl.col("deposit_cents").is_null() | pl.col("balance_cents").is_null()),
                "pre-sale phases incomplete or not parseable",
                pl.col("deposit").fill_null("") + "/" + pl.col("balance").fill_null(""),
            ),
            *vocabulary_checks(
                "full_order_info.order_info.refund_state",
                "order_refund_state",
                "refund state",
                required=False,
            ),
            duplicate_check(
                parsed,
                FIELDS["order_id"],
                "updated_at",
                ["status", "total", "payment", "city_name", "refunds"],
            ),
        ]
        good, quarantine = split_valid(parsed, checks)
        item_quarantine = _item_checks(parsed)
        refunds, refund_quarantine = _refunds(parsed)
        good = reject(reject(good, item_quarantine), refund_quarantine)
        refunds = refunds.filter(pl.col("record_number").is_in(good["record_number"].implode()))
        deposit_paid, balance_paid = pl.col("deposit_paid"), pl.col("balance_paid")
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
        return FeedBatch(
            self.name,
            path,
            sha256_of(path),
            lines.height,
            {
                "orders": canonical.conform(orders, "orders"),
                "order_refunds": canonical.conform(refunds.drop("record_number"), "order_refunds"),
            },
            pl.concat([broken, quarantine, item_quarantine, refund_quarantine]),
        )


def _item_checks(parsed: pl.DataFrame) -> pl.DataFrame:
    """Quarantine rows for items whose ``num`` is not a positive whole number."""
    rows = list_rows(parsed, "items").with_columns(quantity=positive_count(pl.col("num")))
    check = Check(
        "num",
        pl.col("quantity").is_null(),
        "quantity is not a positive whole number",
        pl.col("num"),
    )
    return split_valid(rows, [check], locate=element("full_order_info.orders"))[1]


def _refunds(parsed: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Canonical refunds (with ``record_number``) from ``refund_order[]``, and quarantine rows
    naming the refund (``refund_order[i].field``). A refund without times takes the trade's
    ``update_time`` for its request and its last change (and its completion, once succeeded)."""
    rows = (
        list_rows(parsed, "refunds")
        .with_columns(
            normalized(pl.col("refund_id")).alias("refund_id"),
            normalized(pl.col("refund_state")).alias("refund_state"),
            normalized(pl.col("refund_type")).alias("refund_type"),
            requested_at=parse_beijing(pl.col("created")),
            changed_at=parse_beijing(pl.col("modified")),
            refund_cents=parse_yuan(pl.col("refund_fee")),
        )
        .with_columns(
            vocabulary("refund_state", settings.REFUND_STATE),
            vocabulary("refund_type", settings.REFUND_TYPE),
        )
    )
    bad_time = "missing or not a valid timestamp"
    checks = [
        *id_checks("refund_id", "refund_id", "refund id"),
        *vocabulary_checks("refund_state", "refund_state", "refund status"),
        *vocabulary_checks("refund_type", "refund_type", "refund type", required=False),
        Check(
            "refund_fee",
            pl.col("refund_cents").is_null(),
            "amount is not a non-negative number",
            pl.col("refund_fee"),
        ),
        Check("created", unparsed_time("created", "requested_at"), bad_time, pl.col("created")),
        Check("modified", unparsed_time("modified", "changed_at"), bad_time, pl.col("modified")),
    ]
    good, quarantine = split_valid(rows, checks, locate=element("refund_order"))
    updated = pl.coalesce("changed_at", "updated_at__parsed")
    refunds = good.select(
        "record_number",
        platform=pl.lit("youzan"),
        refund_id=pl.col("refund_id"),
        order_id=pl.col("order_id"),
        status=pl.col("refund_state__parsed"),
        refund_cents=pl.col("refund_cents"),
        requested_at=pl.coalesce("requested_at", "updated_at__parsed"),
        refunded_at=pl.when(pl.col("refund_state__parsed") == "succeeded").then(updated),
        updated_at=updated,
    ).unique(maintain_order=True)
    return refunds, quarantine


def unparsed_time(text: str, parsed: str) -> pl.Expr:
    return pl.col(text).is_not_null() & pl.col(parsed).is_null()


SOURCES = (YouzanTrades(),)
