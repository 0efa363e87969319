"""Render the world's Youzan orders as trade-API JSON lines, refunds on the trade, per month."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate.world import World
from pipelines.sources.orders_common import (
    beijing_text,
    month_end,
    order_versions_with_refunds,
    place_names,
    write_monthly,
    yuan_text,
)
from pipelines.sources.youzan import settings

BAD_TIME = '"2026-13-01 08:00:00"'


def _refunds_as_of(versions: pl.DataFrame, refunds: pl.DataFrame) -> pl.DataFrame:
    """Per (order, file_month): the trade's refund_order list as of that month's end."""
    at = month_end(pl.col("file_month"))
    resolved = pl.col("updated_at") <= at
    listed = (
        versions.select("order_id", "file_month")
        .join(refunds, on="order_id")
        .filter(pl.col("requested_at") <= at)
        .with_columns(
            state=pl.when(resolved)
            .then(pl.col("status"))
            .otherwise(pl.lit("requested"))
            .replace_strict(settings.REFUND_CODE, return_dtype=pl.Int64),
            modified=pl.when(resolved).then(pl.col("updated_at")).otherwise(pl.col("requested_at")),
        )
    )
    pending = pl.col("state") == settings.REFUND_CODE["requested"]
    refunded = pl.col("state") == settings.REFUND_CODE["succeeded"]
    return listed.group_by("order_id", "file_month").agg(
        pending_cents=pl.col("refund_cents").filter(pending).sum(),
        refunded_cents=pl.col("refund_cents").filter(refunded).sum(),
        refund_changed_at=pl.col("modified").max(),
        refund_order=pl.struct(
            refund_type=pl.lit(1),  # 买家申请退款
            # the SDK declares a float: real payloads send it either way
            refund_fee=pl.when(pl.col("refund_cents") % 2 == 0)
            .then(yuan_text(pl.col("refund_cents")))
            .otherwise(pl.format("{}", pl.col("refund_cents") / 100)),
            refund_id=pl.col("refund_id"),
            refund_state=pl.col("state"),
            oids=pl.concat_list(pl.struct(oid=pl.col("order_id").str.slice(1, 17))),
        ),  # as the API sends it: no times (the trade's update_time moves with each change)
    )


def order_refund_state(total: pl.Expr, pending: pl.Expr, refunded: pl.Expr) -> pl.Expr:
    """The trade's refund summary code: a refund under way outranks one already paid back."""
    full = pl.lit("11"), pl.lit("12")
    partial = pl.lit("1"), pl.lit("2")
    return (
        pl.when(pending > 0)
        .then(pl.when(pending + refunded >= total).then(full[0]).otherwise(partial[0]))
        .when(refunded > 0)
        .then(pl.when(refunded >= total).then(full[1]).otherwise(partial[1]))
        .otherwise(pl.lit("0"))
        .cast(pl.Int64)
    )


def is_virtual(order_id: pl.Expr) -> pl.Expr:
    """Orders the demo sends as virtual or self-pickup (no delivery address): ids ending in 7."""
    return order_id.str.ends_with("7")


def trade_lines(versions: pl.DataFrame, refunds: pl.DataFrame) -> pl.DataFrame:
    with_refunds = versions.join(
        _refunds_as_of(versions, refunds), on=["order_id", "file_month"], how="left"
    ).with_columns(
        # Youzan's update_time moves when a refund on the trade changes, as the order's own
        updated_at=pl.max_horizontal("updated_at", "refund_changed_at")
    )
    virtual = is_virtual(pl.col("order_id"))
    refund_state = order_refund_state(
        pl.col("total_cents"),
        pl.col("pending_cents").fill_null(0),
        pl.col("refunded_cents").fill_null(0),
    )
    balance_paid = pl.col("final_paid_at").is_not_null()
    created = pl.col("created_at")
    # Phases as the SDK models them: a window to pay in, and a transaction once paid.
    phases = pl.when(pl.col("is_presale")).then(
        pl.concat_list(
            pl.struct(
                phase=pl.lit(1),
                real_price=yuan_text(pl.col("deposit_cents")),
                pay_start_time=beijing_text(created),
                pay_end_time=beijing_text(created + pl.duration(days=3)),
                outer_transaction_no=pl.when(pl.col("paid_at").is_not_null()).then(
                    pl.format("4200{}", pl.col("order_id").str.slice(1, 16))
                ),
            ),
            pl.struct(
                phase=pl.lit(2),
                real_price=yuan_text(pl.col("total_cents") - pl.col("deposit_cents")),
                pay_start_time=beijing_text(created + pl.duration(days=10)),
                pay_end_time=beijing_text(created + pl.duration(days=40)),
                outer_transaction_no=pl.when(balance_paid).then(
                    pl.format("4201{}", pl.col("order_id").str.slice(1, 16))
                ),
            ),
        )
    )
    payment = yuan_text(pl.col("total_cents"))
    presale = pl.when(pl.col("is_presale")).then(pl.lit("1")).otherwise(pl.lit("0"))
    return with_refunds.select(
        full_order_info=pl.struct(
            order_info=pl.struct(
                tid=pl.col("order_id"),
                status=pl.col("status").replace_strict(settings.TRADE_WORD),
                type=pl.lit(0),
                created=beijing_text(pl.col("created_at")),
                update_time=beijing_text(pl.col("updated_at")),
                pay_time=beijing_text(pl.col("paid_at")),
                refund_state=refund_state,
            ),
            pay_info=pl.struct(
                payment=payment,
                total_fee=payment,
                post_fee=pl.lit("0.00"),
                phase_payments=phases,
            ),
            address_info=pl.struct(
                delivery_province=pl.when(virtual).then(pl.lit("")).otherwise("province_name"),
                delivery_city=pl.when(virtual).then(pl.lit("")).otherwise("city_name"),
            ),
            orders=pl.concat_list(
                pl.struct(
                    oid=pl.col("order_id").str.slice(1, 17),
                    title=pl.lit("家电安装套餐"),
                    num=pl.col("item_count"),
                    payment=payment,
                    is_pre_sale=presale,
                    pre_sale_type=pl.when(pl.col("is_presale")).then(pl.lit("1")),
                )
            ),
        ),
        refund_order=pl.col("refund_order").fill_null([]),
        file_month=pl.col("file_month"),
    )


def write(world: World, out_dir: Path, seed: int) -> list[Path]:
    folder = out_dir / "youzan"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 301])
    orders = world.orders.filter(pl.col("platform") == "youzan")
    refunds = world.order_refunds.filter(pl.col("platform") == "youzan")
    versions = order_versions_with_refunds(orders, refunds)
    versions = place_names(versions.sort("order_id", "file_month"), rng)
    return write_monthly(
        trade_lines(versions, refunds), folder, "trades", rng,
        id_key="tid", amount_key="payment", amount_is_text=True,
        time_key="update_time", bad_time=BAD_TIME, city_key="delivery_city",
    )  # fmt: skip
