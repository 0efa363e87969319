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
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
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
RegionGroup = Literal["华北", "东北", "华东", "华中", "华南", "西南", "西北", "东南亚"]
DeductionBase = Literal["payout", "order"]

# Bounds keep every amount the engine can compute inside a 64-bit integer and the ledger's
# DECIMAL(18, 2): a price is at most ¥1 000 000 a unit, a monthly amount ¥100 000 000, a rate
# 1 000 % (100 000 bp). Strict integers: YAML's ``true`` is not 1 cent.
MAX_PRICE_CENTS = 100_000_000
MAX_MONTHLY_CENTS = 10_000_000_000
MAX_BP = 100_000
Cents = Annotated[StrictInt, Field(ge=0, le=MAX_PRICE_CENTS)]
MonthlyCents = Annotated[StrictInt, Field(ge=0, le=MAX_MONTHLY_CENTS)]
Bp = Annotated[StrictInt, Field(ge=0, le=MAX_BP)]
Share = Annotated[StrictInt, Field(ge=0, le=10_000)]
Coefficient = Annotated[StrictInt, Field(gt=0, le=MAX_BP)]  # bp; 0 would erase the base
# CNY per unit of a payout currency, exact: "7.10" means 1 USD = 7.10 CNY.
CnyPerUnit = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=12, decimal_places=6)]
CurrencyCode = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]

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
    # first ticket number (count) or cents earned (earnings)
    start: Annotated[StrictInt, Field(ge=0, le=MAX_MONTHLY_CENTS)]
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
    minimum_cents: MonthlyCents
    threshold_cents: MonthlyCents
    excess_bonus_bp: Bp


class BaseFeePlusBonus(Model):
    mode: Literal["base_fee_plus_bonus"]
    base_fee_cents: MonthlyCents
    per_order_bonus_cents: Cents


class OrderSplit(Model):
    """分账: the partner earns the linked order's net paid amount; the channel fee and VAT come
    off it as ``deductions`` for the partner type say (typically on the order amount)."""

    mode: Literal["order_split"]


PartnerMode = Annotated[
    PieceRate | PercentOfSales | GuaranteedMinimum | BaseFeePlusBonus | OrderSplit,
    Field(discriminator="mode"),
]


class Deductions(Model):
    """What a payee type bears: a channel fee per platform and cross-province VAT, taken from
    the line's payout (``payout``) or from the linked order's net paid amount (``order``)."""

    base: DeductionBase = "payout"
    channel_fees_bp: dict[Platform, Share] = {}
    cross_province_vat_bp: Share = 0


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
    window_days: Annotated[StrictInt, Field(ge=0, le=3_650)] = 30
    pay_bp: Share = 0
    chargeback_bp: Share = 0


class RefundPolicy(Model):
    clawback: bool = True


class RuleSet(Model):
    version: StrictStr = Field(min_length=1, max_length=64)
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
    deductions: dict[PayeeType, Deductions] = {}
    currencies: dict[RegionGroup, CurrencyCode] = {}
    exchange_rates: dict[CurrencyCode, CnyPerUnit] = {}
    # Older documents: units of a currency per CNY, in millionths (1 087 000 = 1.087 HKD/CNY).
    exchange_rates_ppm: dict[CurrencyCode, Annotated[StrictInt, Field(gt=0, le=10**12)]] = {}

    @model_validator(mode="before")
    @classmethod
    def upgrade_older_documents(cls, data: Any) -> Any:
        """Documents published before deductions and decimal rates still load: top-level
        ``channel_fees_bp``/``cross_province_vat_bp`` were the technicians' cut of their payout,
        ``exchange_rates_ppm`` (still read, exactly) units of a currency per CNY in millionths."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        fees = data.pop("channel_fees_bp", None)
        vat = data.pop("cross_province_vat_bp", None)
        if fees is not None or vat is not None:
            deductions = dict(data.get("deductions") or {})
            if "technician" in deductions:
                raise ValueError(
                    "channel_fees_bp and cross_province_vat_bp are the older form of"
                    " deductions.technician: give one or the other"
                )
            deductions.setdefault(
                "technician",
                {
                    "base": "payout",
                    "channel_fees_bp": fees or {},
                    "cross_province_vat_bp": vat or 0,
                },
            )
            data["deductions"] = deductions
        return data

    @field_validator("exchange_rates", mode="before")
    @classmethod
    def rates_from_text(cls, value: Any) -> Any:
        # A YAML float (7.1) is read as the decimal it was written as, never as a binary float.
        if isinstance(value, dict):
            return {k: repr(v) if isinstance(v, float) else v for k, v in value.items()}
        return value

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
            known = currency in self.exchange_rates or currency in self.exchange_rates_ppm
            if currency != "CNY" and not known:
                problems.append(f"currencies.{group}: no exchange rate for {currency}")
        if self.exchange_rates.get("CNY", Decimal(1)) != 1:
            problems.append("exchange_rates.CNY: must be 1 (amounts are kept in CNY)")
        if self.exchange_rates_ppm.get("CNY", 1_000_000) != 1_000_000:
            problems.append("exchange_rates_ppm.CNY: must be 1000000 (amounts are kept in CNY)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def mode_for(self, partner_id: str, partner_type: PartnerType) -> PartnerMode:
        return self.partner_overrides.get(partner_id) or self.partner_modes[partner_type]

    def deductions_for(self, payee_type: PayeeType) -> Deductions:
        """A payee type's deductions; none unless the rule set names them."""
        return self.deductions.get(payee_type) or Deductions()

    def cny_per_unit(self, currency: str) -> Fraction:
        """The exact exchange rate of a payout currency (CNY is 1)."""
        if currency == "CNY":
            return Fraction(1)
        if currency in self.exchange_rates:
            return Fraction(self.exchange_rates[currency])
        return Fraction(1_000_000, self.exchange_rates_ppm[currency])

    def currency_of(self, region_group: str | None) -> str:
        return self.currencies.get(region_group, "CNY") if region_group else "CNY"  # type: ignore[call-overload]


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
    try:
        return RuleSet.model_validate(document, context={"known": known} if known else None)
    except RecursionError:
        raise ValueError("the rule document is nested too deeply") from None


def document_from_yaml(text: str) -> dict[str, Any]:
    """A rule document from YAML (or JSON) text; bad syntax is a ValueError naming the line."""
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValueError(f"not valid YAML{where}: {error.problem}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"not valid YAML: {error}") from None
    except RecursionError:
        raise ValueError("the rule document is nested too deeply") from None
    if not isinstance(document, dict):
        raise ValueError("a rule document holds one mapping at the top level")
    return document


def load_rules(path: Path = DEFAULT_RULES, known: KnownCodes | None = None) -> RuleSet:
    """Read a YAML (or JSON, a subset of YAML) rule file and validate it."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    try:
        document = document_from_yaml(text)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    return parse_rules(document, known)


def to_document(rules: RuleSet) -> dict[str, Any]:
    """The rule set as plain data (JSON-safe), the inverse of ``parse_rules``."""
    return rules.model_dump(mode="json")
