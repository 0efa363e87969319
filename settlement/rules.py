"""The rule set: one frozen, validated document with a version and an effective date.

Money in integer cents, rates in basis points (10 000 bp = 100 %), as everywhere in settlement.
Validation names the field and the reason. Checks against the reference data (unknown city,
item or part) run when the caller passes the known codes as validation context:
``RuleSet.model_validate(document, context={"known": KnownCodes(...)})``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

CityTier = Literal["一线", "新一线", "二线", "三线", "四线", "五线"]
MemberLevel = Literal["none", "silver", "gold", "platinum"]
PartnerType = Literal["direct", "dealer", "agent"]
PayeeType = Literal["technician", "direct", "dealer", "agent"]
Platform = Literal["taobao", "youzan", "wechat"]
RegionGroup = Literal["华北", "东北", "华东", "华中", "华南", "西南", "西北"]

Cents = Annotated[int, Field(ge=0)]
Bp = Annotated[int, Field(ge=0)]
Share = Annotated[int, Field(ge=0, le=10_000)]
Coefficient = Annotated[int, Field(gt=0, le=100_000)]  # bp; 0 would erase the base

DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class KnownCodes:
    """Codes the reference data knows; rules may only name these."""

    cities: frozenset[str]
    provinces: frozenset[str]
    items: frozenset[str]
    parts: frozenset[str]


def _known(info: ValidationInfo) -> KnownCodes | None:
    context = info.context or {}
    known = context.get("known") if isinstance(context, dict) else None
    return known if isinstance(known, KnownCodes) else None


def _unknown(codes: Any, allowed: frozenset[str], what: str) -> None:
    missing = sorted(set(codes) - allowed)
    if missing:
        raise ValueError(f"unknown {what}: {', '.join(missing[:10])}")


class Bracket(Model):
    start: Annotated[int, Field(ge=0)]  # first ticket number (count) or cents earned (earnings)
    rate_bp: Bp


class Ladder(Model):
    basis: Literal["count", "earnings"]
    mode: Literal["graduated", "retroactive"]
    brackets: tuple[Bracket, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def brackets_ordered(self) -> Ladder:
        first = 1 if self.basis == "count" else 0
        if self.brackets[0].start != first:
            raise ValueError(f"the first bracket must start at {first} for a {self.basis} ladder")
        starts = [b.start for b in self.brackets]
        for before, after in itertools.pairwise(starts):
            if after <= before:
                raise ValueError(
                    f"brackets must increase without overlap: {after} follows {before}"
                )
        return self


class PieceRate(Model):
    mode: Literal["piece_rate"]
    piece_cents: Cents


class PercentOfSales(Model):
    mode: Literal["percent_of_sales"]
    rate_bp: Share


class GuaranteedMinimum(Model):
    mode: Literal["guaranteed_minimum"]
    piece_cents: Cents
    minimum_cents: Cents
    threshold_cents: Cents
    excess_bonus_bp: Bp


class BaseFeePlusBonus(Model):
    mode: Literal["base_fee_plus_bonus"]
    base_fee_cents: Cents
    per_order_bonus_cents: Cents


PartnerMode = Annotated[
    PieceRate | PercentOfSales | GuaranteedMinimum | BaseFeePlusBonus,
    Field(discriminator="mode"),
]


class RegionCoefficients(Model):
    provinces: dict[str, Coefficient] = {}
    cities: dict[str, Coefficient] = {}

    @field_validator("provinces")
    @classmethod
    def known_provinces(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        known = _known(info)
        if known:
            _unknown(value, known.provinces, "province")
        return value

    @field_validator("cities")
    @classmethod
    def known_cities(cls, value: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        known = _known(info)
        if known:
            _unknown(value, known.cities, "city")
        return value


class Surcharges(Model):
    urgent_bp: Bp = 3_000
    night_cents: Cents = 0
    high_altitude_cents: Cents = 0


class Subsidies(Model):
    plateau_cents: Cents = 0
    township_cents: Cents = 0
    remote_guidance_hourly_cents: Cents = 0


class ReworkPolicy(Model):
    window_days: Annotated[int, Field(ge=0)] = 30
    pay_bp: Share = 0
    chargeback_bp: Share = 0


class RefundPolicy(Model):
    clawback: bool = True


class RuleSet(Model):
    version: str = Field(min_length=1)
    effective_date: date
    note: str = ""
    price_tiers: tuple[str, ...] = Field(min_length=1)
    tier_map: dict[CityTier, str]
    city_price_tiers: dict[str, str] = {}
    item_prices: dict[str, dict[str, Cents]]
    part_prices: dict[str, dict[str, Cents]] = {}
    region_coefficients: RegionCoefficients = RegionCoefficients()
    surcharges: Surcharges = Surcharges()
    subsidies: Subsidies = Subsidies()
    member_discounts_bp: dict[MemberLevel, Share] = {}
    ladders: dict[PayeeType, Ladder] = {}
    partner_modes: dict[PartnerType, PartnerMode]
    partner_overrides: dict[str, PartnerMode] = {}
    rework: ReworkPolicy = ReworkPolicy()
    refunds: RefundPolicy = RefundPolicy()
    channel_fees_bp: dict[Platform, Share] = {}
    cross_province_vat_bp: Share = 0
    currencies: dict[RegionGroup, str] = {}
    exchange_rates_ppm: dict[str, Annotated[int, Field(gt=0)]] = {"CNY": 1_000_000}

    @field_validator("price_tiers")
    @classmethod
    def distinct_tiers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("price tiers must be distinct")
        return value

    @field_validator("tier_map")
    @classmethod
    def every_city_tier_mapped(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [t for t in ("一线", "新一线", "二线", "三线", "四线", "五线") if t not in value]
        if missing:
            raise ValueError(f"city tiers without a price tier: {', '.join(missing)}")
        return value

    @field_validator("city_price_tiers")
    @classmethod
    def known_override_cities(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        known = _known(info)
        if known:
            _unknown(value, known.cities, "city")
        return value

    @field_validator("item_prices")
    @classmethod
    def known_items(cls, value: dict[str, dict[str, int]], info: ValidationInfo) -> Any:
        known = _known(info)
        if known:
            _unknown(value, known.items, "service item")
        return value

    @field_validator("part_prices")
    @classmethod
    def known_parts(cls, value: dict[str, dict[str, int]], info: ValidationInfo) -> Any:
        known = _known(info)
        if known:
            _unknown(value, known.parts, "part")
        return value

    @model_validator(mode="after")
    def tiers_consistent(self) -> RuleSet:
        tiers = set(self.price_tiers)
        problems = []
        for field, mapping in (
            ("tier_map", self.tier_map),
            ("city_price_tiers", self.city_price_tiers),
        ):
            wrong = sorted({t for t in mapping.values() if t not in tiers})
            if wrong:
                problems.append(f"{field}: unknown price tier {', '.join(wrong)}")
        for field, table in (("item_prices", self.item_prices), ("part_prices", self.part_prices)):
            for tier in self.price_tiers:
                missing = sorted(code for code, prices in table.items() if tier not in prices)
                if missing:
                    problems.append(
                        f"{field}: price tier {tier} has items missing: {', '.join(missing[:10])}"
                    )
            extra = sorted({t for prices in table.values() for t in prices} - tiers)
            if extra:
                problems.append(f"{field}: unknown price tier {', '.join(extra)}")
        for group, currency in self.currencies.items():
            if currency not in self.exchange_rates_ppm:
                problems.append(f"currencies.{group}: no exchange rate for {currency}")
        if self.exchange_rates_ppm.get("CNY") != 1_000_000:
            problems.append("exchange_rates_ppm.CNY: must be 1000000 (amounts are kept in CNY)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def mode_for(self, partner_id: str, partner_type: PartnerType) -> PartnerMode:
        return self.partner_overrides.get(partner_id) or self.partner_modes[partner_type]


@dataclass(frozen=True)
class RuleProblem:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def problems_of(error: ValidationError) -> list[RuleProblem]:
    """Each validation error as (dotted field path, reason), for forms and the CLI."""
    problems = []
    for item in error.errors():
        path = ".".join(str(part) for part in item["loc"]) or "(rule set)"
        reason = str(item["msg"]).removeprefix("Value error, ")
        problems.append(RuleProblem(path, reason))
    return problems


def parse_rules(document: dict[str, Any], known: KnownCodes | None = None) -> RuleSet:
    return RuleSet.model_validate(document, context={"known": known} if known else None)


def load_rules(path: Path = DEFAULT_RULES, known: KnownCodes | None = None) -> RuleSet:
    """Read a YAML (or JSON, a subset of YAML) rule file and validate it."""
    with path.open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a rule file holds one mapping at the top level")
    return parse_rules(document, known)


def to_document(rules: RuleSet) -> dict[str, Any]:
    """The rule set as plain data (JSON-safe), the inverse of ``parse_rules``."""
    return rules.model_dump(mode="json")
