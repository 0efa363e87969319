"""Render the world's Taobao orders as trade and refund JSON lines, one file per month."""

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
    refund_versions,
    word_variety,
    write_monthly,
    yuan_text,
)
from pipelines.sources.taobao import settings

TITLES = [
    "变频空调挂机",
    "立式空调柜机",
    "电热水器",
    "燃气热水器",
    "净水器",
    "嵌入式洗碗机",
    "油烟机套装",
]
BAD_TIME = '"2026-02-30 25:61:00"'


def trade_lines(versions: pl.DataFrame, refunds: pl.DataFrame) -> pl.DataFrame:
    at = month_end(pl.col("file_month"))  # sub-order refund status as of the file's month end
    latest_refund = refunds.select(
        "order_id", "refund_id", "refund_cents", "status", "requested_at", "updated_at"
    ).rename({"status": "refund_state", "updated_at": "refund_updated_at"})
    with_refund = versions.join(latest_refund, on="order_id", how="left").with_columns(
        refund_status=pl.when(pl.col("requested_at").is_null() | (pl.col("requested_at") > at))
        .then(pl.lit("NO_REFUND"))
        .when(pl.col("refund_updated_at") > at)
        .then(pl.lit(settings.REFUND_WORD["requested"]))
        .otherwise(pl.col("refund_state").replace_strict(settings.REFUND_WORD)),
        # the trade's modified moves with any change to it, its sub-orders' refunds included
        refund_changed_at=pl.when(pl.col("refund_updated_at") <= at)
        .then(pl.col("refund_updated_at"))
        .when(pl.col("requested_at") <= at)
        .then(pl.col("requested_at")),
    )
    with_refund = with_refund.with_columns(
        updated_at=pl.max_horizontal("updated_at", "refund_changed_at")
    )
    closed_unpaid = (pl.col("status") == "closed") & pl.col("paid_at").is_null()
    stage_word = {"deposit_forfeited": "FRONT_PAID_FINAL_NOPAID"} | {
        v: k for k, v in settings.STEP_STATUS.items()
    }
    title = pl.lit(pl.Series(TITLES)).get(pl.col("total_cents") % len(TITLES))
    payment = yuan_text(pl.col("total_cents"))
    return with_refund.select(
        tid=pl.col("order_id"),
        status=pl.when(closed_unpaid)
        .then(pl.lit("TRADE_CLOSED_BY_TAOBAO"))
        .otherwise(word_variety(pl.col("status"), settings.TRADE_WORDS, pl.col("order_id"))),
        type=pl.when(pl.col("is_presale"))
        .then(pl.lit(settings.PRESALE_TYPE))
        .otherwise(
            word_variety(pl.lit("plain"), {"plain": settings.PLAIN_TYPES}, pl.col("order_id"))
        ),
        step_trade_status=pl.col("presale_stage").replace_strict(stage_word, default=None),
        step_paid_fee=pl.when(
            pl.col("is_presale") & (pl.col("presale_stage") != "deposit_pending")
        ).then(yuan_text(pl.col("deposit_cents"))),
        payment=payment,
        total_fee=payment,
        post_fee=pl.lit("0.00"),
        receiver_state=pl.col("province_name"),
        receiver_city=pl.col("city_name"),
        created=beijing_text(pl.col("created_at")),
        modified=beijing_text(pl.col("updated_at")),
        pay_time=beijing_text(pl.col("paid_at")),
        end_time=beijing_text(pl.coalesce("closed_at", "completed_at")),
        num=pl.col("item_count"),
        orders=pl.struct(
            order=pl.concat_list(
                pl.struct(
                    oid=pl.col("order_id").str.slice(0, 17) + pl.lit("01"),
                    num_iid=pl.format(
                        "6{}", (pl.col("total_cents") // 100).cast(pl.String).str.zfill(11)
                    ),
                    title=title,
                    price=yuan_text(pl.col("total_cents") // pl.col("item_count")),
                    num=pl.col("item_count"),
                    payment=payment,
                    refund_status=pl.col("refund_status"),
                    # the sub-order names its latest refund, as trade.fullinfo.get does
                    refund_id=pl.when(pl.col("refund_status") != "NO_REFUND").then(
                        pl.col("refund_id")
                    ),
                    refund_fee=pl.when(pl.col("refund_status") != "NO_REFUND").then(
                        yuan_text(pl.col("refund_cents"))
                    ),
                )
            )
        ),
        file_month=pl.col("file_month"),
    )


def bare_sub_orders(lines: pl.Series) -> pl.Series:
    """Trades whose id ends in an odd digit list their sub-orders bare (``"orders":[…]``), as
    the Java SDK serialises them, with the sub-order ids as JSON numbers; the others as the
    API's ``{"order":[…]}`` with ids as strings."""
    odd = lines.str.contains(r'"tid":"[^"]*[13579]"')
    bare = (
        lines.str.replace(r'"orders":\{"order":(\[.*\])\}\}$', r'"orders":$1}')
        .str.replace(r'"oid":"(\d+)"', r'"oid":$1')
        .str.replace(r'"num_iid":"(\d+)"', r'"num_iid":$1')
    )
    return pl.select(pl.when(odd).then(bare).otherwise(lines)).to_series()


def refund_lines(refunds: pl.DataFrame) -> pl.DataFrame:
    return refund_versions(refunds).select(
        refund_id=pl.col("refund_id"),
        tid=pl.col("order_id"),
        oid=pl.col("order_id").str.slice(0, 17) + pl.lit("01"),
        refund_fee=yuan_text(pl.col("refund_cents")),
        status=pl.col("status").replace_strict(settings.REFUND_WORD),
        created=beijing_text(pl.col("requested_at")),
        modified=beijing_text(pl.col("updated_at")),
        file_month=pl.col("file_month"),
    )


def write(world: World, out_dir: Path, seed: int) -> list[Path]:
    folder = out_dir / "taobao"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 201])
    orders = world.orders.filter(pl.col("platform") == "taobao")
    refunds = world.order_refunds.filter(pl.col("platform") == "taobao")
    versions = order_versions_with_refunds(orders, refunds).sort("order_id", "file_month")
    versions = place_names(versions, rng)
    trades = trade_lines(versions, refunds)
    written = write_monthly(
        trades, folder, "trades", rng, reshape_lines=bare_sub_orders,
        id_key="tid", amount_key="payment", amount_is_text=True,
        time_key="modified", bad_time=BAD_TIME, city_key="receiver_city",
    )  # fmt: skip
    written += write_monthly(
        refund_lines(refunds).sort("refund_id", "modified"), folder, "refunds", rng,
        id_key="refund_id", amount_key="refund_fee", amount_is_text=True,
        time_key="modified", bad_time=BAD_TIME, city_key=None,
    )  # fmt: skip
    return written
