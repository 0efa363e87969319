"""Golden cases evaluated by the real engine under the shipped rules and a draft."""

from __future__ import annotations

from datetime import date

from settlement.golden import GoldenCase, Place, evaluate, failure_text
from settlement.rules import load_rules, parse_rules, to_document
from settlement.timeline import Timeline

BEIJING = {"110100": Place("一线", "11", "华北", False)}
TODAY = date(2026, 12, 1)


def case(**fields: object) -> GoldenCase:
    return GoldenCase.model_validate(
        {"name": "北京 空调安装", "city_code": "110100", "item_code": "INS-AC-01", **fields}
    )


def test_a_case_evaluates_to_its_hand_computed_amount_under_the_shipped_rules() -> None:
    shipped = Timeline.single(load_rules())
    # tier A 15000, 北京 ×1.2 (+3000); urgent +30 % of base (4500); night +3000; 2 h remote
    # guidance 2 × 6000.
    cases = [
        case(expected_technician_cents=18000),
        case(name="加急夜间远程", is_urgent=True, is_night=True, remote_guidance_minutes=120,
             expected_technician_cents=18000 + 4500 + 3000 + 12000),
        case(name="第61单", position=61, expected_technician_cents=19800),  # ladder 110 %
    ]  # fmt: skip
    outcomes = evaluate(cases, shipped, BEIJING, TODAY)
    assert [o.passed for o in outcomes] == [True, True, True], outcomes
    assert outcomes[1].actual_technician_cents == 37500


def test_a_draft_changing_the_price_fails_the_case_naming_expected_and_actual() -> None:
    document = to_document(load_rules())
    document["item_prices"]["INS-AC-01"]["A"] = 16000
    draft = parse_rules({**document, "version": "draft", "effective_date": "2026-11-01"})
    timeline = Timeline.single(load_rules()).with_draft(draft)
    (outcome,) = evaluate([case(expected_technician_cents=18000)], timeline, BEIJING, TODAY)
    assert not outcome.passed
    assert outcome.actual_technician_cents == 19200  # 16000 × 1.2
    assert failure_text(outcome) == (
        "golden case '北京 空调安装': technician expected ¥180.00, actual ¥192.00"
    )
    # A case dated before the draft's effective date keeps the old price.
    (before,) = evaluate(
        [case(completed_date=date(2026, 10, 15), expected_technician_cents=18000)],
        timeline, BEIJING, TODAY,
    )  # fmt: skip
    assert before.passed


def test_an_unknown_city_is_a_failed_case_with_its_reason() -> None:
    (outcome,) = evaluate(
        [case(city_code="999999", expected_technician_cents=1)],
        Timeline.single(load_rules()), BEIJING, TODAY,
    )  # fmt: skip
    assert not outcome.passed and outcome.problem == "unknown city 999999"
