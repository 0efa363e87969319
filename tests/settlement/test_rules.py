"""The rule set: the shipped default is valid; every bad edit is refused with field and reason."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pipelines.reference import Reference, known_codes
from settlement.rules import (
    DEFAULT_RULES,
    KnownCodes,
    load_rules,
    parse_rules,
    problems_of,
    to_document,
)


@pytest.fixture(scope="module")
def known() -> KnownCodes:
    return KnownCodes(**known_codes())


@pytest.fixture
def document() -> dict[str, Any]:
    return to_document(load_rules(DEFAULT_RULES))


def test_the_default_rules_are_valid_and_cover_the_libraries(
    known: KnownCodes, reference: Reference
) -> None:
    rules = load_rules(DEFAULT_RULES, known)
    assert set(rules.item_prices) == set(reference.service_items["item_code"])
    assert set(rules.part_prices) == set(reference.parts["part_code"])
    assert rules.region_coefficients.provinces["11"] == 12_000  # 北京 ×1.2
    assert rules.surcharges.urgent_bp == 3_000  # urgent +30 %
    assert {m.mode for m in rules.partner_modes.values()} >= {
        "order_split",  # dealers: the order less the Youzan fee and cross-province VAT
        "guaranteed_minimum",
        "base_fee_plus_bonus",
    }
    assert rules.deductions["dealer"].channel_fees_bp["youzan"] == 1_500  # 15 % of the order
    assert rules.deductions["dealer"].cross_province_vat_bp == 600
    assert rules.currencies["东南亚"] == "USD"
    assert str(rules.exchange_rates["USD"]) == "7.10"


def test_a_rule_set_survives_a_round_trip(document: dict[str, Any]) -> None:
    assert to_document(parse_rules(document)) == document


def refused(document: dict[str, Any], known: KnownCodes | None = None) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        parse_rules(document, known)
    return [str(p) for p in problems_of(caught.value)]


def test_overlapping_or_unordered_ladder_brackets_are_refused(document: dict[str, Any]) -> None:
    brackets = document["ladders"]["technician"]["brackets"]
    brackets[2]["start"] = brackets[1]["start"]
    assert refused(document) == [
        "ladders.technician: brackets must increase without overlap: 61 follows 61"
    ]
    brackets[0]["start"] = 5
    assert any("first bracket must start at 1" in p for p in refused(document))


def test_a_price_tier_with_items_missing_is_refused(document: dict[str, Any]) -> None:
    del document["item_prices"]["INS-AC-01"]["C"]
    problems = refused(document)
    assert problems == ["(rule set): item_prices: price tier C has items missing: INS-AC-01"]


def test_unknown_city_item_or_province_is_refused_against_the_reference(
    document: dict[str, Any], known: KnownCodes
) -> None:
    document["city_price_tiers"]["999999"] = "A"
    document["item_prices"]["XX-NEW-01"] = {"A": 1, "B": 1, "C": 1, "D": 1}
    document["region_coefficients"]["provinces"]["99"] = 11_000
    problems = refused(document, known)
    assert "city_price_tiers: unknown city: 999999" in problems
    assert "item_prices: unknown service item: XX-NEW-01" in problems
    assert "region_coefficients.provinces: unknown province: 99" in problems


GE0, GT0 = "Input should be greater than or equal to 0", "Input should be greater than 0"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("surcharges", "urgent_bp"), -1, f"surcharges.urgent_bp: {GE0}"),
        (
            ("region_coefficients", "cities", "440300"),
            0,
            f"region_coefficients.cities.440300: {GT0}",
        ),
        (
            ("rework", "pay_bp"),
            10_001,
            "rework.pay_bp: Input should be less than or equal to 10000",
        ),
        (
            ("deductions", "technician", "channel_fees_bp", "taobao"),
            -50,
            f"deductions.technician.channel_fees_bp.taobao: {GE0}",
        ),
        (("surcharges", "bogus"), 1, "surcharges.bogus: Extra inputs are not permitted"),
    ],
)
def test_negative_rates_zero_coefficients_and_typos_are_refused(
    document: dict[str, Any], path: tuple[str, ...], value: int, expected: str
) -> None:
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert refused(document) == [expected]


def test_every_city_tier_needs_a_price_tier(document: dict[str, Any]) -> None:
    del document["tier_map"]["五线"]
    assert refused(document) == ["tier_map: city tiers without a price tier: 五线"]


def test_a_currency_needs_an_exchange_rate(document: dict[str, Any]) -> None:
    document["currencies"]["华南"] = "MOP"
    assert refused(document) == ["(rule set): currencies.华南: no exchange rate for MOP"]
