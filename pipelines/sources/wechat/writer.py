"""Render the world's WeChat-shop orders and after-sales as JSON lines: fen and unix seconds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate.world import World
from pipelines.sources.orders_common import (
    order_versions,
    place_names,
    refund_versions,
    unix_seconds,
    word_variety,
    write_monthly,
)
from pipelines.sources.wechat import settings

BAD_TIME = '"1700000000x"'


def order_lines(versions: pl.DataFrame) -> pl.DataFrame:
    closed_unpaid = (pl.col("status") == "closed") & pl.col("paid_at").is_null()
    seconds = unix_seconds
    return versions.select(
        order_id=pl.col("order_id"),
        status=pl.when(closed_unpaid)
        .then(pl.lit(settings.CLOSED_UNPAID, pl.Int64))
        .otherwise(pl.col("status").replace_strict(settings.ORDER_CODE, return_dtype=pl.Int64)),
        create_time=seconds(pl.col("created_at")),
        update_time=seconds(pl.col("updated_at")),
        order_detail=pl.struct(
            price_info=pl.struct(
                order_price=pl.col("total_cents"),
                product_price=pl.col("total_cents"),
                freight=pl.lit(0),
            ),
            pay_info=pl.struct(pay_time=seconds(pl.col("paid_at")).fill_null(0)),
            presale_info=pl.struct(
                is_presale=pl.col("is_presale").cast(pl.Int64),
                deposit_price=pl.col("deposit_cents"),
                deposit_paid_time=pl.when(pl.col("is_presale"))
                .then(seconds(pl.col("paid_at")))
                .fill_null(0),
                balance_paid_time=seconds(pl.col("final_paid_at")).fill_null(0),
            ),
            product_infos=pl.concat_list(
                pl.struct(
                    product_id=pl.format("10000{}", (pl.col("total_cents") // 100).cast(pl.String)),
                    sku_cnt=pl.col("item_count"),
                    sale_price=pl.col("total_cents") // pl.col("item_count"),
                    title=pl.lit("家电上门安装服务"),
                )
            ),
            delivery_info=pl.struct(
                address_info=pl.struct(
                    province_name=pl.col("province_name"), city_name=pl.col("city_name")
                )
            ),
        ),
        file_month=pl.col("file_month"),
    )


def aftersale_lines(refunds: pl.DataFrame) -> pl.DataFrame:
    status = word_variety(pl.col("status"), settings.AFTERSALE_WORDS, pl.col("refund_id"))
    return refund_versions(refunds).select(
        after_sale_order_id=pl.col("refund_id"),
        order_id=pl.col("order_id"),
        status=status,
        type=pl.when(status.is_in(settings.RETURN_STATUSES))
        .then(pl.lit("RETURN"))
        .otherwise(pl.lit("REFUND")),
        refund_info=pl.struct(amount=pl.col("refund_cents")),
        create_time=unix_seconds(pl.col("requested_at")),
        update_time=unix_seconds(pl.col("updated_at")),
        file_month=pl.col("file_month"),
    )


def write(world: World, out_dir: Path, seed: int) -> list[Path]:
    folder = out_dir / "wechat"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 401])
    orders = world.orders.filter(pl.col("platform") == "wechat")
    refunds = world.order_refunds.filter(pl.col("platform") == "wechat")
    versions = place_names(order_versions(orders).sort("order_id", "file_month"), rng)
    written = write_monthly(
        order_lines(versions), folder, "orders", rng,
        id_key="order_id", amount_key="order_price", amount_is_text=False,
        time_key="update_time", bad_time=BAD_TIME, city_key="city_name",
    )  # fmt: skip
    written += write_monthly(
        aftersale_lines(refunds).sort("after_sale_order_id", "update_time"), folder, "aftersales",
        rng, id_key="after_sale_order_id", amount_key="amount", amount_is_text=False,
        time_key="update_time", bad_time=BAD_TIME, city_key=None,
    )  # fmt: skip
    return written
