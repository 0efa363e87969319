"""Each rule kind as a lookup expression the engine applies (one function per kind).

Rule tables are small (tens to hundreds of codes). A code column is turned into its position in
the table's vocabulary once (one hash lookup a row, ``positions``); every rule value is then an
array gather from a flat table over (rule version, position): no join, no per-version or
per-tier chain of replacements, whatever the number of versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import get_args

import polars as pl

from settlement.frames import CODE
from settlement.money import BP
from settlement.rules import CityTier, Ladder, MemberLevel, PartnerMode, RuleSet
from settlement.timeline import VERSION_INDEX, Timeline

MODE_PARAMETERS = (
    "piece_cents",
    "rate_bp",
    "minimum_cents",
    "threshold_cents",
    "excess_bonus_bp",
    "base_fee_cents",
    "per_order_bonus_cents",
)
MODES = (
    "piece_rate",
    "percent_of_sales",
    "guaranteed_minimum",
    "base_fee_plus_bonus",
    "order_split",
)
CITY_TIERS: tuple[str, ...] = get_args(CityTier)
MEMBER_LEVELS: tuple[str, ...] = get_args(MemberLevel)


def vocabulary(codes: Iterable[str]) -> list[str]:
    return sorted(set(codes))


def positions(column: str | pl.Expr, codes: Sequence[str]) -> pl.Expr:
    """Each row's position in ``codes`` (UInt32), null when its code is null or not there.

    ``column`` is dictionary-encoded (frames.CODE): a flat table maps each of ``codes``'
    categories to its position, and a row's position is a gather by its category's integer.
    Categories past the table's last code (any added since, or never one of ``codes``) all
    gather its one null slot at the end."""
    expr = pl.col(column) if isinstance(column, str) else column
    if not codes:
        return pl.lit(None, pl.UInt32)
    categories = pl.Series(codes, dtype=CODE).to_physical()  # interned when not yet known
    beyond = int(categories.max()) + 1  # type: ignore[arg-type]
    table = pl.Series([None] * (beyond + 1), dtype=pl.UInt32).scatter(
        categories, pl.Series(range(len(codes)), dtype=pl.UInt32)
    )
    return pl.lit(table).gather(pl.min_horizontal(expr.to_physical(), pl.lit(beyond, pl.UInt32)))


def table(
    timeline: Timeline,
    position: pl.Expr | int,
    size: int,
    value: Callable[[RuleSet, int], object],
    dtype: pl.DataType,
    index: str = VERSION_INDEX,
) -> pl.Expr:
    """``value(rules, position)`` under each row's version (``index`` names it): a gather from
    the flat table of every version's ``size`` values; null where ``position`` is null. A fixed
    ``position`` is one value per version: a literal when they agree."""
    if isinstance(position, int):
        values = [value(rules, position) for rules in timeline.versions]
        if all(v == values[0] for v in values):
            return pl.lit(values[0], dtype)
        return pl.lit(pl.Series(values, dtype=dtype)).gather(pl.col(index))
    if size == 0:
        return pl.lit(None, dtype)
    values = [value(rules, p) for rules in timeline.versions for p in range(size)]
    if len(timeline.versions) > 1:
        position = pl.col(index).cast(pl.UInt32) * size + position
    return pl.lit(pl.Series(values, dtype=dtype)).gather(position)


def price_tiers(timeline: Timeline) -> list[str]:
    return vocabulary(t for rules in timeline.versions for t in rules.price_tiers)


def price_tier(timeline: Timeline, index: str = VERSION_INDEX) -> pl.Expr:
    """A ticket's price tier as a position in ``price_tiers``: the city's own, else its city
    tier's (null when neither)."""
    tiers = price_tiers(timeline)
    tier_at = {tier: position for position, tier in enumerate(tiers)}
    by_tier = table(
        timeline,
        positions("city_tier", CITY_TIERS),
        len(CITY_TIERS),
        lambda rules, p: tier_at.get(rules.tier_map.get(CITY_TIERS[p], "")),  # type: ignore[call-overload]
        pl.UInt32(),
        index,
    )
    cities = vocabulary(c for rules in timeline.versions for c in rules.city_price_tiers)
    if not cities:
        return by_tier
    by_city = table(
        timeline,
        positions("city_code", cities),
        len(cities),
        lambda rules, p: tier_at.get(rules.city_price_tiers.get(cities[p], "")),
        pl.UInt32(),
        index,
    )
    return by_city.fill_null(by_tier)


def tier_name(timeline: Timeline, tier: pl.Expr) -> pl.Expr:
    """The name of a price tier position (dictionary-encoded)."""
    return pl.lit(pl.Series(price_tiers(timeline), dtype=CODE)).gather(tier)


def per_tier(
    timeline: Timeline,
    column: str,
    prices: Callable[[RuleSet], dict[str, dict[str, int]]],
    tier: pl.Expr,
) -> pl.Expr:
    """``prices(rules)[code][tier]`` for the row's code in ``column`` and price tier position
    ``tier`` (null when the code has no price in that tier)."""
    tiers = price_tiers(timeline)
    codes = vocabulary(c for rules in timeline.versions for c in prices(rules))
    width = len(tiers)

    def price(rules: RuleSet, p: int) -> int | None:
        return prices(rules).get(codes[p // width], {}).get(tiers[p % width])

    position = positions(column, codes) * width + tier
    return table(timeline, position, len(codes) * width, price, pl.Int64())


def coefficient_bp(timeline: Timeline) -> pl.Expr:
    """City coefficient, else province coefficient, else 10 000 (×1)."""
    versions = timeline.versions
    provinces = vocabulary(p for r in versions for p in r.region_coefficients.provinces)
    cities = vocabulary(c for r in versions for c in r.region_coefficients.cities)
    by_province = table(
        timeline,
        positions("province_code", provinces),
        len(provinces),
        lambda rules, p: rules.region_coefficients.provinces.get(provinces[p]),
        pl.Int64(),
    )
    by_city = table(
        timeline,
        positions("city_code", cities),
        len(cities),
        lambda rules, p: rules.region_coefficients.cities.get(cities[p]),
        pl.Int64(),
    )
    return by_city.fill_null(by_province).fill_null(BP)


def member_discount_bp(timeline: Timeline) -> pl.Expr:
    return table(
        timeline,
        positions("member_level", MEMBER_LEVELS),
        len(MEMBER_LEVELS),
        lambda rules, p: rules.member_discounts_bp.get(MEMBER_LEVELS[p], 0),  # type: ignore[call-overload]
        pl.Int64(),
    ).fill_null(0)


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
