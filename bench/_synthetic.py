"""Settlement inputs of any size, straight in the engine's shape (no feeds, no warehouse).

Uses the project's reference data so codes are real; draws are vectorised (numpy, Arrow), so
ten million tickets take seconds to build. Codes are drawn as positions in the reference tables
and handed over dictionary-encoded, as the warehouse hands them (frames.TICKETS_IN): no column
of ten million strings is built for a code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
import pyarrow as pa

from pipelines.reference import load_reference
from settlement.frames import ORDERS_IN, TICKETS_IN


def _codes(
    positions: np.ndarray, vocabulary: list[str], mask: np.ndarray | None = None
) -> pl.Series:
    """``vocabulary[positions]`` dictionary-encoded (null where ``mask`` is False)."""
    indices = pa.array(positions.astype(np.int32), mask=None if mask is None else ~mask)
    return pl.Series(pa.DictionaryArray.from_arrays(indices, pa.array(vocabulary, pa.string())))


def _positions(values: pl.Series, vocabulary: list[str]) -> np.ndarray:
    index = {value: position for position, value in enumerate(vocabulary)}
    return np.array([index[value] for value in values.to_list()], dtype=np.int32)


def _parts(rng: np.random.Generator, n: int, codes: list[str]) -> pa.ListArray:
    counts = np.where(rng.random(n) < 0.35, rng.integers(1, 4, size=n), 0)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    total = int(offsets[-1])
    structs = pa.StructArray.from_arrays(
        [
            pa.DictionaryArray.from_arrays(
                pa.array(rng.integers(0, len(codes), size=total).astype(np.int32)),
                pa.array(codes, pa.string()),
            ),
            pa.array(rng.integers(1, 4, size=total).astype(np.int32)),
        ],
        names=["part_code", "quantity"],
    )
    return pa.ListArray.from_arrays(pa.array(offsets), structs)


CHUNK = 1_000_000  # tickets drawn at a time: the draws' temporary arrays stay small


def tickets_and_orders(
    n: int, *, seed: int = 1, months: int = 12
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    vocabularies = _Vocabularies.of_reference()
    chunks = [
        _tickets(rng, vocabularies, start, min(CHUNK, n - start), n, months)
        for start in range(0, n, CHUNK)
    ]
    tickets = (
        pl.concat(chunks, rechunk=False) if chunks else _tickets(rng, vocabularies, 0, 0, 0, months)
    )
    orders = tickets.filter(pl.col("order_id").is_not_null()).select(
        platform="order_platform",
        order_id="order_id",
        paid_cents=pl.lit(259_900, pl.Int64),
        refunded_cents=pl.when(pl.int_range(pl.len()) % 20 == 0).then(pl.lit(259_900)).otherwise(0),
        is_forfeited=pl.lit(False),
        province_code=pl.col("province_code"),
    )
    return tickets, orders.select(pl.col(c).cast(t) for c, t in ORDERS_IN.items())


@dataclass(frozen=True)
class _Vocabularies:
    """The reference tables as code lists and, per row of each, positions in the others."""

    provinces: list[str]
    groups: list[str]
    city_codes: list[str]
    tiers: list[str]
    city_province: np.ndarray
    city_group: np.ndarray
    city_tier: np.ndarray
    plateau: np.ndarray
    partner_ids: list[str]
    partner_types: list[str]
    partner_type: np.ndarray
    partner_province: np.ndarray
    partner_group: np.ndarray
    tech_ids: list[str]
    tech_city: np.ndarray
    tech_partner: np.ndarray
    items: list[str]
    parts: list[str]
    levels: list[str]
    platforms: list[str]

    @classmethod
    def of_reference(cls) -> _Vocabularies:
        ref = load_reference()
        provinces = ref.provinces["province_code"].to_list()
        groups = sorted(set(ref.provinces["region_group"].to_list()))
        group_of = dict(zip(provinces, ref.provinces["region_group"].to_list(), strict=True))
        cities = ref.cities
        city_codes = cities["city_code"].to_list()
        tiers = sorted(set(cities["city_tier"].to_list()))
        partners = ref.partners
        partner_ids = partners["partner_id"].to_list()
        partner_types = ["direct", "dealer", "agent"]
        techs = ref.technicians
        return cls(
            provinces=provinces,
            groups=groups,
            city_codes=city_codes,
            tiers=tiers,
            city_province=_positions(cities["province_code"], provinces),
            city_group=_positions(
                pl.Series([group_of[p] for p in cities["province_code"]]), groups
            ),
            city_tier=_positions(cities["city_tier"], tiers),
            plateau=cities["is_plateau"].to_numpy(),
            partner_ids=partner_ids,
            partner_types=partner_types,
            partner_type=_positions(partners["partner_type"], partner_types),
            partner_province=_positions(partners["province_code"], provinces),
            partner_group=_positions(
                pl.Series([group_of[p] for p in partners["province_code"]]), groups
            ),
            tech_ids=techs["technician_id"].to_list(),
            tech_city=_positions(techs["home_city_code"], city_codes),
            tech_partner=_positions(techs["partner_id"], partner_ids),
            items=ref.service_items["item_code"].to_list(),
            parts=ref.parts["part_code"].to_list(),
            levels=["none", "silver", "gold", "platinum"],
            platforms=["taobao", "youzan", "wechat"],
        )


def _tickets(
    rng: np.random.Generator, v: _Vocabularies, first: int, n: int, total: int, months: int
) -> pl.DataFrame:
    """Tickets ``first`` … ``first + n - 1`` of ``total`` (ids and order ids by position)."""
    tech = rng.integers(0, len(v.tech_ids), size=n)
    city = v.tech_city[tech]  # tickets in the technician's home city
    partner = v.tech_partner[tech]
    start = np.datetime64(datetime(2025, 11, 1), "s")
    seconds = rng.integers(0, months * 30 * 86_400, size=n)
    completed = start + seconds.astype("timedelta64[s]")
    has_order = rng.random(n) < 0.25
    rework = rng.random(n) < 0.03
    row = pl.int_range(first, first + n, dtype=pl.Int64)
    tickets = pl.DataFrame(
        {
            "item_code": _codes(rng.integers(0, len(v.items), size=n), v.items),
            "quantity": np.where(rng.random(n) < 0.9, 1, 2).astype(np.int32),
            "parts": pl.Series(_parts(rng, n, v.parts)),
            "city_code": _codes(city, v.city_codes),
            "city_tier": _codes(v.city_tier[city], v.tiers),
            "is_plateau": v.plateau[city],
            "province_code": _codes(v.city_province[city], v.provinces),
            "region_group": _codes(v.city_group[city], v.groups),
            "technician_id": _codes(tech, v.tech_ids),
            "technician_province_code": _codes(v.city_province[city], v.provinces),
            "partner_id": _codes(partner, v.partner_ids),
            "partner_type": _codes(v.partner_type[partner], v.partner_types),
            "partner_region_group": _codes(v.partner_group[partner], v.groups),
            "partner_province_code": _codes(v.partner_province[partner], v.provinces),
            "is_urgent": rng.random(n) < 0.08,
            "is_night": rng.random(n) < 0.05,
            "is_township": rng.random(n) < 0.1,
            "is_high_altitude": rng.random(n) < 0.05,
            "remote_guidance_minutes": np.where(rng.random(n) < 0.05, 30, 0).astype(np.int32),
            "member_level": _codes(rng.integers(0, len(v.levels), size=n), v.levels),
            "order_platform": _codes(
                rng.integers(0, len(v.platforms), size=n), v.platforms, has_order
            ),
            "has_order": has_order,
            "original": rng.integers(0, max(total, 1), size=n),
            "is_rework_draw": rework,
            "completed_at": pl.Series(completed.astype("datetime64[us]")),
        }
    ).with_columns(
        ticket_id="S" + row.cast(pl.String).str.zfill(9),
        completed_date=(pl.col("completed_at") + pl.duration(hours=8)).dt.date(),
        order_id=pl.when("has_order").then("O" + row.cast(pl.String)),
        rework_of=pl.when("is_rework_draw").then(
            "S" + pl.col("original").cast(pl.String).str.zfill(9)
        ),
    )
    return tickets.select(pl.col(c).cast(t) for c, t in TICKETS_IN.items())
