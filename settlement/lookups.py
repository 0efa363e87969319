"""Each rule kind as a lookup expression the engine applies (one function per kind).

Rule tables are small (tens to hundreds of codes), so lookups are hash replacements on the
ticket frame rather than joins: no wide frame is gathered twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from settlement.money import BP
from settlement.rules import Ladder, PartnerMode, RuleSet

MODE_PARAMETERS = (
    "piece_cents",
    "rate_bp",
    "minimum_cents",
    "threshold_cents",
    "excess_bonus_bp",
    "base_fee_cents",
    "per_order_bonus_cents",
)


def price_tier(rules: RuleSet) -> pl.Expr:
    """A ticket's price tier: the city's own, else its city tier's (null when neither)."""
    by_tier = pl.col("city_tier").replace_strict(
        rules.tier_map, default=None, return_dtype=pl.String
    )
    if not rules.city_price_tiers:
        return by_tier
    return pl.col("city_code").replace_strict(
        rules.city_price_tiers, default=by_tier, return_dtype=pl.String
    )


def per_tier(rules: RuleSet, column: str, table: Mapping[str, Mapping[str, int]]) -> pl.Expr:
    """``table[code][tier]`` for the row's ``price_tier``: one hash lookup per tier."""
    value: pl.Expr = pl.lit(None, pl.Int64)
    for tier in rules.price_tiers:
        prices = {code: by_tier[tier] for code, by_tier in table.items() if tier in by_tier}
        found = pl.col(column).replace_strict(prices, default=None, return_dtype=pl.Int64)
        value = pl.when(pl.col("price_tier") == tier).then(found).otherwise(value)
    return value


def coefficient_bp(rules: RuleSet) -> pl.Expr:
    """City coefficient, else province coefficient, else 10 000 (×1)."""
    coefficients = rules.region_coefficients
    province = pl.col("province_code").replace_strict(
        coefficients.provinces, default=BP, return_dtype=pl.Int64
    )
    return pl.col("city_code").replace_strict(
        coefficients.cities, default=province, return_dtype=pl.Int64
    )


def lookup(column: str, mapping: Mapping[Any, int], default: int = 0) -> pl.Expr:
    return pl.col(column).replace_strict(dict(mapping), default=default, return_dtype=pl.Int64)


def mode_values(mode: PartnerMode) -> dict[str, object]:
    """A partner mode as flat values: its name and every parameter (0 where it has none)."""
    values = mode.model_dump()
    return {"mode": values.pop("mode"), **{name: values.get(name, 0) for name in MODE_PARAMETERS}}


def ladder_rate(ladder: Ladder | None, measure: pl.Expr) -> pl.Expr:
    """The rate (bp) of the bracket containing ``measure``; brackets are few, so a when-chain."""
    if ladder is None:
        return pl.lit(BP, pl.Int64)
    rate: pl.Expr = pl.lit(ladder.brackets[0].rate_bp, pl.Int64)
    for bracket in ladder.brackets[1:]:
        reached = measure >= bracket.start
        rate = pl.when(reached).then(pl.lit(bracket.rate_bp, pl.Int64)).otherwise(rate)
    return rate
