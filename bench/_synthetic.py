"""Settlement inputs of any size, straight in the engine's shape (no feeds, no warehouse).

Uses the project's reference data so codes are real; draws are vectorised (numpy, Arrow), so
ten million tickets take seconds to build.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import polars as pl
import pyarrow as pa

from pipelines.reference import load_reference
from settlement.frames import ORDERS_IN, TICKETS_IN


def _parts(rng: np.random.Generator, n: int, codes: np.ndarray) -> pa.ListArray:
    counts = np.where(rng.random(n) < 0.35, rng.integers(1, 4, size=n), 0)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    total = int(offsets[-1])
    structs = pa.StructArray.from_arrays(
        [
            pa.array(rng.choice(codes, size=total), pa.string()),
            pa.array(rng.integers(1, 4, size=total).astype(np.int32)),
        ],
        names=["part_code", "quantity"],
    )
    return pa.ListArray.from_arrays(pa.array(offsets), structs)


def tickets_and_orders(
    n: int, *, seed: int = 1, months: int = 12
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = load_reference()
    cities = ref.cities.join(ref.provinces, on="province_code")
    techs = ref.technicians.join(
        ref.cities.select("city_code", "province_code"),
        left_on="home_city_code",
        right_on="city_code",
    ).join(
        ref.partners.select("partner_id", "partner_type", partner_province="province_code"),
        on="partner_id",
    )
    techs = techs.join(
        ref.provinces.select(partner_province="province_code", partner_region_group="region_group"),
        on="partner_province",
    )
    tech = techs[rng.integers(0, techs.height, size=n)]
    home = cities.join(tech.select(city_code="home_city_code"), on="city_code", how="right")
    start = np.datetime64(datetime(2025, 11, 1), "s")
    seconds = rng.integers(0, months * 30 * 86_400, size=n)
    completed = start + seconds.astype("timedelta64[s]")
    has_order = rng.random(n) < 0.25
    rework = rng.random(n) < 0.03
    ids = pl.Series("ticket_id", np.arange(n)).cast(pl.String).str.zfill(9)
    tickets = pl.DataFrame(
        {
            "ticket_id": "S" + ids,
            "item_code": rng.choice(ref.service_items["item_code"].to_numpy(), size=n),
            "quantity": np.where(rng.random(n) < 0.9, 1, 2).astype(np.int32),
            "parts": pl.Series(_parts(rng, n, ref.parts["part_code"].to_numpy())),
            "city_code": home["city_code"],
            "city_tier": home["city_tier"],
            "is_plateau": home["is_plateau"],
            "province_code": home["province_code"],
            "region_group": home["region_group"],
            "technician_id": tech["technician_id"],
            "technician_province_code": tech["province_code"],
            "partner_id": tech["partner_id"],
            "partner_type": tech["partner_type"],
            "partner_region_group": tech["partner_region_group"],
            "partner_province_code": tech["partner_province"],
            "is_urgent": rng.random(n) < 0.08,
            "is_night": rng.random(n) < 0.05,
            "is_township": rng.random(n) < 0.1,
            "is_high_altitude": rng.random(n) < 0.05,
            "remote_guidance_minutes": np.where(rng.random(n) < 0.05, 30, 0).astype(np.int32),
            "member_level": rng.choice(["none", "silver", "gold", "platinum"], size=n),
            "order_platform": rng.choice(["taobao", "youzan", "wechat"], size=n),
            "has_order": has_order,
            "original": rng.integers(0, n, size=n),
            "is_rework_draw": rework,
            "completed_at": pl.Series(completed.astype("datetime64[us]")),
        }
    ).with_columns(
        completed_date=(pl.col("completed_at") + pl.duration(hours=8)).dt.date(),
        order_platform=pl.when("has_order").then(pl.col("order_platform")),
        order_id=pl.when("has_order").then("O" + pl.int_range(pl.len()).cast(pl.String)),
        rework_of=pl.when("is_rework_draw").then(
            "S" + pl.col("original").cast(pl.String).str.zfill(9)
        ),
    )
    orders = tickets.filter(pl.col("order_id").is_not_null()).select(
        platform="order_platform",
        order_id="order_id",
        paid_cents=pl.lit(259_900, pl.Int64),
        refunded_cents=pl.when(pl.int_range(pl.len()) % 20 == 0).then(pl.lit(259_900)).otherwise(0),
        is_forfeited=pl.lit(False),
        province_code=pl.col("province_code"),
    )
    return (
        tickets.select(pl.col(c).cast(t) for c, t in TICKETS_IN.items()),
        orders.select(pl.col(c).cast(t) for c, t in ORDERS_IN.items()),
    )
