"""The rule set: the shipped default is valid; every bad edit is refused with field and reason."""

from __future__ import annotations

from datetime import date
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


PRICE = ("item_prices", "INS-AC-01", "A")
BELOW = "Input should be less than or equal to"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (PRICE, 2**62, f"item_prices.INS-AC-01.A: {BELOW} 100000000"),
        (PRICE, 10**30, f"item_prices.INS-AC-01.A: {BELOW} 100000000"),
        (PRICE, True, "item_prices.INS-AC-01.A: Input should be a valid integer"),
        (("surcharges", "urgent_bp"), 100_001, f"surcharges.urgent_bp: {BELOW} 100000"),
        (("version",), date(2026, 1, 1), "version: Input should be a valid string"),
        (
            ("exchange_rates",),
            {"USD": "7.1234567"},
            "exchange_rates.USD: Decimal input should have no more than 6 decimal places",
        ),
    ],
)
def test_poison_values_are_refused_before_they_reach_the_ledger(
    document: dict[str, Any], path: tuple[str, ...], value: object, expected: str
) -> None:
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert any(problem.startswith(expected) for problem in refused(document)), refused(document)


def test_a_deeply_nested_document_is_refused_not_a_recursion_error() -> None:
    from settlement.rules import document_from_yaml

    with pytest.raises(ValueError, match="nested too deeply"):
        document_from_yaml("a: " + "[" * 10_000 + "]" * 10_000)
