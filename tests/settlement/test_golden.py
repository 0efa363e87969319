"""Hand-computed settlement cases run through the reference (oracle), arithmetic in comments.

Every case builds its rule set from ``document()`` (the smallest valid rule document) plus the
fields it is about, so each number below follows from the rule named in the test and nothing
else. Rounding is half away from zero: ``div_round(n, d) = sign(n)·⌊(2|n| + d) / 2d⌋``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest

from settlement.frames import BREAKDOWN, LINES, ORDERS_IN, TICKETS_IN, UNPRICED
from settlement.oracle import div_round, pct, settle_frames, settle_rows
from settlement.rules import RuleSet, parse_rules

JAN = datetime(2026, 1, 10, 9, 0)


def document(**fields: Any) -> dict[str, Any]:
    """A minimal valid rule document: two price tiers, one item (A 10000, B 8000), one part."""
    base: dict[str, Any] = {
        "version": "golden",
        "effective_date": "2026-01-01",
        "price_tiers": ["A", "B"],
        "tier_map": {
            "一线": "A",
            "新一线": "A",
            "二线": "B",
            "三线": "B",
            "四线": "B",
            "五线": "B",
        },
        "item_prices": {"I1": {"A": 10_000, "B": 8_000}},
        "part_prices": {"P1": {"A": 1_500, "B": 1_200}, "P2": {"A": 600, "B": 500}},
        "partner_modes": {},
    }
    return {**base, **fields}


def rules_of(**fields: Any) -> RuleSet:
    return parse_rules(document(**fields))


def ticket(ticket_id: str = "T1", at: datetime = JAN, **fields: Any) -> dict[str, Any]:
    """A completed ticket in a 二线 city (tier B), technician at home, no partner, no order."""
    row: dict[str, Any] = {
        "ticket_id": ticket_id,
        "item_code": "I1",
        "quantity": 1,
        "parts": [],
        "city_code": "440100",
        "city_tier": "二线",
        "is_plateau": False,
        "province_code": "44",
        "region_group": "华南",
        "technician_id": "tech-1",
        "technician_province_code": "44",
        "partner_id": None,
        "partner_type": None,
        "partner_region_group": None,
        "partner_province_code": None,
        "is_urgent": False,
        "is_night": False,
        "is_township": False,
        "is_high_altitude": False,
        "remote_guidance_minutes": 0,
        "member_level": "none",
        "order_platform": None,
        "order_id": None,
        "rework_of": None,
        "completed_at": at,
        "completed_date": at.date(),
    }
    row.update(fields)
    return row


def order(
    order_id: str = "O1",
    paid: int = 10_000,
    refunded: int = 0,
    forfeited: bool = False,
    platform: str = "taobao",
    province: str | None = "44",
) -> dict[str, Any]:
    return {
        "platform": platform,
        "order_id": order_id,
        "paid_cents": paid,
        "refunded_cents": refunded,
        "is_forfeited": forfeited,
        "province_code": province,
    }


def settle(
    tickets: list[dict[str, Any]], rules: RuleSet, orders: list[dict[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    lines, unpriced = settle_rows(tickets, orders or [], rules)
    for line in lines:  # the invariant holds for every case below, not only the one named so
        assert list(line) == list(LINES)
        assert sum(line[name] for name in BREAKDOWN) == line["amount_cents"], line
    for row in unpriced:
        assert list(row) == list(UNPRICED)
    return lines, unpriced


def only(
    lines: list[dict[str, Any]],
    ticket_id: str | None = "T1",
    payee_id: str = "tech-1",
    kind: str = "ticket",
) -> dict[str, Any]:
    found = [
        line
        for line in lines
        if line["ticket_id"] == ticket_id
        and line["payee_id"] == payee_id
        and line["line_kind"] == kind
    ]
    assert len(found) == 1, found
    return found[0]


def nonzero(line: dict[str, Any]) -> dict[str, int]:
    return {name: line[name] for name in BREAKDOWN if line[name]}


# --- the rounding rule ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (7, 2, 4),  # 3.5 → 4
        (-7, 2, -4),  # −3.5 → −4, away from zero
        (5, 3, 2),  # 1.67
        (-5, 3, -2),
        (4, 3, 1),  # 1.33
        (0, 7, 0),
        (100, 60, 2),  # 1.67
        (90, 60, 2),  # 1.5 → 2
        (89, 60, 1),  # 1.48
    ],
)
def test_div_round_half_away_from_zero(numerator: int, denominator: int, expected: int) -> None:
    assert div_round(numerator, denominator) == expected


def test_pct_rounds_half_away_from_zero() -> None:
    assert pct(5, 5_000) == 3  # 2.5 → 3
    assert pct(-5, 5_000) == -3  # −2.5 → −3
    assert pct(8_001, 1_000) == 800  # 800.1
    assert pct(8_005, 1_000) == 801  # 800.5 → 801


def test_half_cents_round_away_from_zero_inside_a_line() -> None:
    rules = rules_of(
        item_prices={"I5": {"A": 5, "B": 5}},
        surcharges={"urgent_bp": 5_000},
        member_discounts_bp={"gold": 5_000},
    )
    lines, _ = settle([ticket(item_code="I5", is_urgent=True, member_level="gold")], rules)
    # urgent pct(5, 5000) = 2.5 → 3; discount −pct(5, 5000) = −2.5 → −3; 5 + 3 − 3 = 5
    assert nonzero(only(lines)) == {"base_cents": 5, "urgent_cents": 3, "discount_cents": -3}
    assert only(lines)["amount_cents"] == 5


# --- technician line components ---------------------------------------------------------------


def test_base_times_quantity_per_price_tier_and_city_override() -> None:
    rules = rules_of(city_price_tiers={"460200": "A"})
    lines, _ = settle(
        [
            ticket("T1", quantity=3),  # 二线 → B: 8000 × 3 = 24000
            ticket("T2", quantity=3, city_tier="一线", city_code="110100"),  # A: 10000 × 3
            ticket("T3", quantity=2, city_tier="三线", city_code="460200"),  # override A: 20000
        ],
        rules,
    )
    assert (only(lines, "T1")["price_tier"], only(lines, "T1")["base_cents"]) == ("B", 24_000)
    assert (only(lines, "T2")["price_tier"], only(lines, "T2")["base_cents"]) == ("A", 30_000)
    assert (only(lines, "T3")["price_tier"], only(lines, "T3")["base_cents"]) == ("A", 20_000)
    assert only(lines, "T3")["amount_cents"] == 20_000


def test_parts_at_cost_and_outside_the_ladder() -> None:
    ladder = {"basis": "count", "mode": "graduated", "brackets": [{"start": 1, "rate_bp": 11_000}]}
    rules = rules_of(ladders={"technician": ladder})
    parts = [{"part_code": "P1", "quantity": 2}, {"part_code": "P2", "quantity": 1}]
    lines, _ = settle([ticket(parts=parts)], rules)
    line = only(lines)
    # parts: 1200 × 2 + 500 × 1 = 2900; ladder on labour 8000 only: pct(8000, 1000) = 800
    assert nonzero(line) == {"base_cents": 8_000, "parts_cents": 2_900, "ladder_cents": 800}
    assert (line["ladder_rate_bp"], line["amount_cents"]) == (11_000, 11_700)


def test_region_coefficient_city_wins_over_province() -> None:
    rules = rules_of(
        region_coefficients={"provinces": {"11": 12_000, "44": 9_000}, "cities": {"110100": 11_500}}
    )
    lines, _ = settle(
        [
            ticket("T1", city_code="110100", province_code="11"),  # city 11500: pct(8000,1500)
            ticket("T2", city_code="110200", province_code="11"),  # province 12000: pct(8000,2000)
            ticket("T3"),  # province 44 at 9000: pct(8000, −1000) = −800
            ticket("T4", city_code="510100", province_code="51"),  # neither: 10000 → 0
        ],
        rules,
    )
    assert only(lines, "T1")["coefficient_cents"] == 1_200
    assert only(lines, "T2")["coefficient_cents"] == 1_600
    assert only(lines, "T3")["coefficient_cents"] == -800
    assert only(lines, "T4")["coefficient_cents"] == 0
    assert only(lines, "T3")["amount_cents"] == 7_200


def test_urgent_night_high_altitude() -> None:
    rules = rules_of(
        surcharges={"urgent_bp": 3_000, "night_cents": 3_000, "high_altitude_cents": 5_000}
    )
    flags = {"is_urgent": True, "is_night": True, "is_high_altitude": True}
    lines, _ = settle([ticket("T1", **flags), ticket("T2")], rules)
    # urgent pct(8000, 3000) = 2400; night 3000 and high altitude 5000 flat
    assert nonzero(only(lines, "T1")) == {
        "base_cents": 8_000,
        "urgent_cents": 2_400,
        "night_cents": 3_000,
        "high_altitude_cents": 5_000,
    }
    assert only(lines, "T1")["amount_cents"] == 18_400
    assert nonzero(only(lines, "T2")) == {"base_cents": 8_000}  # unflagged: none of them


def test_plateau_and_township_subsidies() -> None:
    rules = rules_of(subsidies={"plateau_cents": 8_000, "township_cents": 2_000})
    lines, _ = settle(
        [ticket("T1", is_plateau=True, is_township=True), ticket("T2", is_township=True)], rules
    )
    assert only(lines, "T1")["plateau_cents"] == 8_000
    assert only(lines, "T1")["township_cents"] == 2_000
    assert only(lines, "T1")["amount_cents"] == 18_000  # 8000 + 8000 + 2000
    assert (only(lines, "T2")["plateau_cents"], only(lines, "T2")["township_cents"]) == (0, 2_000)


@pytest.mark.parametrize(
    ("minutes", "hourly", "expected"),
    [
        (25, 6_000, 2_500),  # div_round(25 × 6000, 60) = 150000 / 60 = 2500 exactly
        (1, 100, 2),  # div_round(100, 60) = 1.67 → 2
        (1, 90, 2),  # div_round(90, 60) = 1.5 → 2 (half away from zero)
        (1, 89, 1),  # div_round(89, 60) = 1.48 → 1
        (0, 6_000, 0),
    ],
)
def test_remote_guidance_minutes(minutes: int, hourly: int, expected: int) -> None:
    rules = rules_of(subsidies={"remote_guidance_hourly_cents": hourly})
    lines, _ = settle([ticket(remote_guidance_minutes=minutes)], rules)
    assert only(lines)["remote_cents"] == expected


def test_member_discount() -> None:
    rules = rules_of(member_discounts_bp={"none": 0, "gold": 500})
    lines, _ = settle(
        [ticket("T1", member_level="gold"), ticket("T2", member_level="silver")], rules
    )
    assert only(lines, "T1")["discount_cents"] == -400  # −pct(8000, 500)
    assert only(lines, "T1")["amount_cents"] == 7_600
    assert only(lines, "T2")["discount_cents"] == 0  # silver has no discount in these rules


# --- ladders ----------------------------------------------------------------------------------

COUNT_STEPS = [{"start": 1, "rate_bp": 10_000}, {"start": 3, "rate_bp": 11_000}]
COUNT_STEPS += [{"start": 5, "rate_bp": 12_000}]
EARNINGS_STEPS = [{"start": 0, "rate_bp": 10_000}, {"start": 16_000, "rate_bp": 11_000}]
EARNINGS_STEPS += [{"start": 24_000, "rate_bp": 12_000}]


def ladder_rules(basis: str, mode: str, steps: list[dict[str, int]], **fields: Any) -> RuleSet:
    ladder = {"basis": basis, "mode": mode, "brackets": steps}
    return rules_of(ladders={"technician": ladder}, **fields)


def day(n: int, month: int = 1, hour: int = 9) -> datetime:
    return datetime(2026, month, n, hour, 0)


def test_count_ladder_graduated_below_on_above_each_step() -> None:
    rules = ladder_rules("count", "graduated", COUNT_STEPS)
    lines, _ = settle([ticket(f"T{k}", day(k)) for k in range(1, 7)], rules)
    rates = [only(lines, f"T{k}")["ladder_rate_bp"] for k in range(1, 7)]
    # k = 1, 2 below 3 → 10000; 3 on, 4 above → 11000; 5 on, 6 above → 12000
    assert rates == [10_000, 10_000, 11_000, 11_000, 12_000, 12_000]
    # ladder_cents = pct(8000, rate − 10000): 0, 0, 800, 800, 1600, 1600
    assert [only(lines, f"T{k}")["ladder_cents"] for k in range(1, 7)] == [
        0,
        0,
        800,
        800,
        1_600,
        1_600,
    ]


@pytest.mark.parametrize(
    ("tickets", "rate"),
    [(2, 10_000), (3, 11_000), (4, 11_000), (5, 12_000), (6, 12_000)],
    ids=["below-3", "on-3", "above-3", "on-5", "above-5"],
)
def test_count_ladder_retroactive_month_count_sets_every_ticket(tickets: int, rate: int) -> None:
    rules = ladder_rules("count", "retroactive", COUNT_STEPS)
    lines, _ = settle([ticket(f"T{k}", day(k)) for k in range(1, tickets + 1)], rules)
    assert {line["ladder_rate_bp"] for line in lines} == {rate}
    assert {line["ladder_cents"] for line in lines} == {pct(8_000, rate - 10_000)}


def test_count_ladder_positions_per_period_and_ticket_id_breaks_ties() -> None:
    rules = ladder_rules(
        "count", "graduated", [{"start": 1, "rate_bp": 10_000}, {"start": 2, "rate_bp": 11_000}]
    )
    lines, _ = settle(
        [
            ticket("T2", day(5)),  # same moment as T1: T1 is first by ticket_id → T2 is k = 2
            ticket("T1", day(5)),
            ticket("T3", day(2, month=2)),  # February counts from 1 again
            ticket("T4", day(1), technician_id="tech-2"),  # another technician counts alone
        ],
        rules,
    )
    assert only(lines, "T1")["ladder_rate_bp"] == 10_000
    assert only(lines, "T2")["ladder_rate_bp"] == 11_000
    assert only(lines, "T3")["ladder_rate_bp"] == 10_000
    assert only(lines, "T4", "tech-2")["ladder_rate_bp"] == 10_000


def test_earnings_ladder_graduated_counts_earlier_labour() -> None:
    rules = ladder_rules("earnings", "graduated", EARNINGS_STEPS)
    lines, _ = settle([ticket(f"T{k}", day(k)) for k in range(1, 6)], rules)
    # tech-1, 8000 each; measure = earlier labour: 0, 8000 (below 16000), 16000 (on),
    # 24000 (on the next), 32000 (above)
    rates = [only(lines, f"T{k}")["ladder_rate_bp"] for k in range(1, 6)]
    assert rates == [10_000, 10_000, 11_000, 12_000, 12_000]
    assert [only(lines, f"T{k}")["ladder_cents"] for k in range(1, 6)] == [0, 0, 800, 1_600, 1_600]


def test_earnings_ladder_graduated_above_a_step() -> None:
    rules = ladder_rules(
        "earnings", "graduated", EARNINGS_STEPS, item_prices={"I1": {"A": 9_000, "B": 9_000}}
    )
    lines, _ = settle([ticket(f"T{k}", day(k)) for k in range(1, 5)], rules)
    # 9000 each; measures 0, 9000, 18000 (above 16000, below 24000), 27000 (above 24000)
    rates = [only(lines, f"T{k}")["ladder_rate_bp"] for k in range(1, 5)]
    assert rates == [10_000, 10_000, 11_000, 12_000]
    assert only(lines, "T3")["ladder_cents"] == 900  # pct(9000, 1000)


@pytest.mark.parametrize(
    ("price", "rate", "ladder_cents"),
    [(7_999, 10_000, 0), (8_000, 11_000, 800), (8_001, 11_000, 800)],
    ids=["below", "on", "above"],
)
def test_earnings_ladder_retroactive_month_total(price: int, rate: int, ladder_cents: int) -> None:
    steps = EARNINGS_STEPS[:2]
    rules = ladder_rules(
        "earnings", "retroactive", steps, item_prices={"I1": {"A": price, "B": price}}
    )
    lines, _ = settle([ticket("T1", day(1)), ticket("T2", day(2))], rules)
    # month total 2 × price: 15998 below 16000, 16000 on, 16002 above; pct(8001, 1000) = 800.1
    assert [line["ladder_rate_bp"] for line in lines] == [rate, rate]
    assert [line["ladder_cents"] for line in lines] == [ladder_cents, ladder_cents]


# --- rework and chargeback --------------------------------------------------------------------

REWORK = {"window_days": 30, "pay_bp": 0, "chargeback_bp": 5_000}


def rework_case(gap: timedelta, **rework: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rules = rules_of(rework={**REWORK, **rework})
    start = datetime(2026, 1, 1, 9, 0)
    parts = [{"part_code": "P1", "quantity": 1}]
    return settle(
        [
            ticket("T1", start),
            ticket("T2", start + gap, technician_id="tech-2", rework_of="T1", parts=parts),
        ],
        rules,
    )


def test_rework_inside_window_not_paid_twice_parts_still_reimbursed() -> None:
    lines, _ = rework_case(timedelta(days=14))
    line = only(lines, "T2", "tech-2")
    # labour 8000: rework −pct(8000, 10000 − 0) = −8000; parts 1200 remain
    assert nonzero(line) == {"base_cents": 8_000, "parts_cents": 1_200, "rework_cents": -8_000}
    assert (line["amount_cents"], line["is_rework"], line["ladder_rate_bp"]) == (
        1_200,
        True,
        10_000,
    )
    # the original's technician: −pct(8000, 5000) = −4000, on the rework's ticket and period
    charge = only(lines, "T2", "tech-1", "chargeback")
    assert nonzero(charge) == {"chargeback_cents": -4_000}
    assert (charge["amount_cents"], charge["period"], charge["payee_type"]) == (
        -4_000,
        "2026-01",
        "technician",
    )
    assert (charge["is_rework"], charge["is_refunded"], charge["ladder_rate_bp"]) == (
        False,
        False,
        10_000,
    )
    assert nonzero(only(lines, "T1")) == {"base_cents": 8_000}  # the original is untouched


def test_rework_with_partial_pay() -> None:
    lines, _ = rework_case(timedelta(days=3), pay_bp=3_000)
    # −pct(8000, 10000 − 3000) = −5600 → 8000 + 1200 − 5600 = 3600
    assert only(lines, "T2", "tech-2")["rework_cents"] == -5_600
    assert only(lines, "T2", "tech-2")["amount_cents"] == 3_600


def test_rework_exactly_on_the_window_edge_counts() -> None:
    lines, _ = rework_case(timedelta(days=30))  # 30 × 24 h to the microsecond: still inside
    assert only(lines, "T2", "tech-2")["is_rework"]
    assert only(lines, "T2", "tech-1", "chargeback")["chargeback_cents"] == -4_000


def test_rework_outside_the_window_is_an_ordinary_ticket() -> None:
    lines, _ = rework_case(timedelta(days=30, seconds=1))
    line = only(lines, "T2", "tech-2")
    assert (line["is_rework"], line["rework_cents"], line["amount_cents"]) == (False, 0, 9_200)
    assert not [line for line in lines if line["line_kind"] == "chargeback"]


def test_rework_without_chargeback_rate_has_no_chargeback_line() -> None:
    lines, _ = rework_case(timedelta(days=1), chargeback_bp=0)
    assert only(lines, "T2", "tech-2")["is_rework"]
    assert not [line for line in lines if line["line_kind"] == "chargeback"]


def test_chargeback_in_the_reworks_period_and_unknown_original() -> None:
    rules = rules_of(rework=REWORK)
    lines, _ = settle(
        [
            ticket("T1", datetime(2026, 1, 20, 9, 0)),
            ticket("T2", datetime(2026, 2, 5, 9, 0), technician_id="tech-2", rework_of="T1"),
            ticket("T3", datetime(2026, 2, 6, 9, 0), technician_id="tech-2", rework_of="T9"),
        ],
        rules,
    )
    assert only(lines, "T2", "tech-1", "chargeback")["period"] == "2026-02"
    assert not only(lines, "T3", "tech-2")["is_rework"]  # T9 is unknown: ordinary
    assert len([line for line in lines if line["line_kind"] == "chargeback"]) == 1


def test_rework_neither_counts_nor_takes_a_ladder_rate() -> None:
    steps = [{"start": 1, "rate_bp": 10_000}, {"start": 3, "rate_bp": 11_000}]
    rules = ladder_rules("count", "graduated", steps, rework=REWORK)
    lines, _ = settle(
        [
            ticket("T0", day(1), technician_id="tech-0"),
            ticket("T1", day(10)),
            ticket("T2", day(15), rework_of="T0"),
            ticket("T3", day(20)),
        ],
        rules,
    )
    # tech-1: T1 k = 1, T2 a rework (rate 10000, not counted), T3 k = 2 < 3 → 10000
    assert only(lines, "T2")["ladder_rate_bp"] == 10_000
    assert only(lines, "T3")["ladder_rate_bp"] == 10_000


# --- clawback, fees and tax -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid", "refunded", "forfeited", "clawback", "refunded_flag"),
    [
        (10_000, 2_500, False, -2_000, True),  # −div_round(8000 × 2500, 10000) = −2000
        (10_000, 12_000, False, -8_000, True),  # full: min(12000, 10000) / 10000 = 1
        (0, 0, True, -8_000, True),  # forfeited deposit: ratio 1 though nothing was paid
        (0, 0, False, 0, False),  # nothing paid: ratio 0
        (10_000, 0, False, 0, False),
    ],
    ids=["partial", "full", "forfeited", "unpaid", "no-refund"],
)
def test_clawback(
    paid: int, refunded: int, forfeited: bool, clawback: int, refunded_flag: bool
) -> None:
    rules = rules_of()
    lines, _ = settle(
        [ticket(order_platform="taobao", order_id="O1")],
        rules,
        [order("O1", paid, refunded, forfeited)],
    )
    line = only(lines)
    assert (line["clawback_cents"], line["is_refunded"]) == (clawback, refunded_flag)
    assert line["amount_cents"] == 8_000 + clawback


def test_clawback_rounds_once_on_the_whole_pre_clawback_amount() -> None:
    rules = rules_of(item_prices={"I1": {"A": 8_001, "B": 8_001}})
    lines, _ = settle(
        [ticket(order_platform="taobao", order_id="O1")], rules, [order("O1", 10_000, 2_500)]
    )
    assert only(lines)["clawback_cents"] == -2_000  # 8001 × 2500 / 10000 = 2000.25


def test_clawback_switched_off() -> None:
    rules = rules_of(refunds={"clawback": False})
    lines, _ = settle(
        [ticket(order_platform="taobao", order_id="O1")], rules, [order("O1", 10_000, 10_000)]
    )
    assert only(lines)["clawback_cents"] == 0
    assert only(lines)["amount_cents"] == 8_000


def test_channel_fee_and_cross_province_vat() -> None:
    rules = rules_of(channel_fees_bp={"taobao": 50}, cross_province_vat_bp=300)
    served = {"order_platform": "taobao", "order_id": "O1"}
    lines, _ = settle(
        [
            ticket("T1", technician_province_code="31", **served),
            ticket("T2", **served),  # technician at home: no tax
            ticket("T3", technician_province_code=None, **served),  # home unknown: no tax
            ticket("T4", technician_province_code="31"),  # no order: no fee
            ticket("T5", order_platform="wechat", order_id="O5"),  # platform without a fee
        ],
        rules,
        [order("O1", 8_000)],
    )
    # T1: fee −pct(8000, 50) = −40; tax −pct(7960, 300) = −238.8 → −239; 8000 − 40 − 239
    assert nonzero(only(lines, "T1")) == {"base_cents": 8_000, "fee_cents": -40, "tax_cents": -239}
    assert only(lines, "T1")["amount_cents"] == 7_721
    assert (only(lines, "T2")["fee_cents"], only(lines, "T2")["tax_cents"]) == (-40, 0)
    assert (only(lines, "T3")["fee_cents"], only(lines, "T3")["tax_cents"]) == (-40, 0)
    # T4: tax −pct(8000, 300) = −240 on before_fee 8000
    assert (only(lines, "T4")["fee_cents"], only(lines, "T4")["tax_cents"]) == (0, -240)
    assert (only(lines, "T5")["fee_cents"], only(lines, "T5")["tax_cents"]) == (0, 0)


def test_fee_and_tax_after_clawback() -> None:
    rules = rules_of(channel_fees_bp={"taobao": 50}, cross_province_vat_bp=300)
    lines, _ = settle(
        [ticket(order_platform="taobao", order_id="O1", technician_province_code="31")],
        rules,
        [order("O1", 8_000, 2_000)],
    )
    # clawback −div_round(8000 × 2000, 8000) = −2000; before_fee 6000; fee −pct(6000, 50) = −30
    # tax −pct(5970, 300) = −179.1 → −179; amount 6000 − 30 − 179 = 5791
    line = only(lines)
    assert (line["clawback_cents"], line["fee_cents"], line["tax_cents"]) == (-2_000, -30, -179)
    assert line["amount_cents"] == 5_791


# --- partners ---------------------------------------------------------------------------------


def partner_ticket(
    ticket_id: str, at: datetime, partner: str, kind: str, **fields: Any
) -> dict[str, Any]:
    return ticket(
        ticket_id,
        at,
        partner_id=partner,
        partner_type=kind,
        partner_region_group="华东",
        **fields,
    )


def test_piece_rate_partner_no_fee_no_tax_and_override() -> None:
    rules = rules_of(
        partner_modes={"agent": {"mode": "piece_rate", "piece_cents": 1_200}},
        partner_overrides={"AG2": {"mode": "piece_rate", "piece_cents": 999}},
        channel_fees_bp={"taobao": 50},
        cross_province_vat_bp=300,
    )
    lines, _ = settle(
        [
            partner_ticket(
                "T1",
                day(1),
                "AG1",
                "agent",
                order_platform="taobao",
                order_id="O1",
                technician_province_code="31",
            ),
            partner_ticket("T2", day(2), "AG2", "agent"),
            ticket("T3", day(3)),  # no partner: no partner line
        ],
        rules,
        [order("O1", 8_000)],
    )
    line = only(lines, "T1", "AG1")
    assert nonzero(line) == {"base_cents": 1_200}
    assert (line["payee_type"], line["amount_cents"], line["price_tier"]) == ("agent", 1_200, "B")
    assert only(lines, "T2", "AG2")["base_cents"] == 999
    assert [line["payee_type"] for line in lines if line["ticket_id"] == "T3"] == ["technician"]


def test_percent_of_sales_on_the_first_ticket_of_a_known_order_only() -> None:
    rules = rules_of(partner_modes={"dealer": {"mode": "percent_of_sales", "rate_bp": 500}})
    served = {"order_platform": "taobao", "order_id": "O1"}
    lines, _ = settle(
        [
            partner_ticket("T2", day(5), "D1", "dealer", **served),  # same moment as T1, later id
            partner_ticket("T1", day(5), "D1", "dealer", **served),
            partner_ticket("T3", day(2, month=2), "D1", "dealer", **served),  # later period
            partner_ticket("T4", day(6), "D1", "dealer", order_platform="taobao", order_id="O9"),
            partner_ticket("T5", day(7), "D1", "dealer"),  # no order
        ],
        rules,
        [order("O1", 19_999)],
    )
    partner = [line for line in lines if line["payee_id"] == "D1"]
    assert [line["ticket_id"] for line in partner] == ["T1"]  # O9 is unknown: no line
    # pct(19999, 500) = 999.95 → 1000
    assert nonzero(partner[0]) == {"base_cents": 1_000}
    assert partner[0]["payee_type"] == "dealer"


GUARANTEE = {
    "mode": "guaranteed_minimum",
    "piece_cents": 1_200,
    "minimum_cents": 5_000,
    "threshold_cents": 6_000,
    "excess_bonus_bp": 1_000,
}


def test_guaranteed_minimum_top_up_excess_bonus_and_nothing_between() -> None:
    rules = rules_of(partner_modes={"agent": GUARANTEE})
    tickets = [partner_ticket(f"J{k}", day(k, 1), "AG1", "agent") for k in range(1, 3)]
    tickets += [partner_ticket(f"F{k}", day(k, 2), "AG1", "agent") for k in range(1, 7)]
    tickets += [partner_ticket(f"M{k}", day(k, 3), "AG1", "agent") for k in range(1, 6)]
    lines, _ = settle(tickets, rules)
    monthly = {line["period"]: line for line in lines if line["line_kind"] == "partner_monthly"}
    # January: 2 × 1200 = 2400 → guarantee 5000 − 2400 = 2600
    assert nonzero(monthly["2026-01"]) == {"guarantee_cents": 2_600}
    # February: 6 × 1200 = 7200 → bonus pct(7200 − 6000, 1000) = 120
    assert nonzero(monthly["2026-02"]) == {"bonus_cents": 120}
    # March: 5 × 1200 = 6000: at the minimum and at the threshold → 0, no line written
    assert "2026-03" not in monthly
    line = monthly["2026-01"]
    assert (line["ticket_id"], line["price_tier"], line["ladder_rate_bp"]) == (None, None, 10_000)
    assert (line["payee_type"], line["payee_id"], line["amount_cents"]) == ("agent", "AG1", 2_600)
    assert only(lines, "J1", "AG1")["base_cents"] == 1_200


def test_guaranteed_minimum_month_total_is_after_clawback() -> None:
    rules = rules_of(partner_modes={"agent": GUARANTEE})
    lines, _ = settle(
        [partner_ticket("T1", day(1), "AG1", "agent", order_platform="taobao", order_id="O1")],
        rules,
        [order("O1", 10_000, 5_000)],
    )
    # per-ticket 1200, clawback −div_round(1200 × 5000, 10000) = −600 → 600; top-up 4400
    assert only(lines, "T1", "AG1")["clawback_cents"] == -600
    assert only(lines, None, "AG1", "partner_monthly")["guarantee_cents"] == 4_400


def test_base_fee_plus_bonus() -> None:
    mode = {
        "mode": "base_fee_plus_bonus",
        "base_fee_cents": 200_000,
        "per_order_bonus_cents": 1_500,
    }
    rules = rules_of(
        partner_modes={"direct": mode}, partner_overrides={"DR2": {**mode, "base_fee_cents": 0}}
    )
    lines, _ = settle(
        [
            partner_ticket("T1", day(1), "DR1", "direct", order_platform="taobao", order_id="O1"),
            partner_ticket("T2", day(2), "DR1", "direct"),  # no order: no per-ticket line
            partner_ticket("T3", day(3, 2), "DR1", "direct", item_code="I9"),  # unpriced only
            partner_ticket("T4", day(4), "DR2", "direct"),  # base fee 0: no monthly line
        ],
        rules,
    )
    partner = [line for line in lines if line["payee_id"] == "DR1"]
    ticket_line = only(lines, "T1", "DR1")
    assert nonzero(ticket_line) == {"bonus_cents": 1_500}  # unknown order still has an order_id
    monthly = [line for line in partner if line["line_kind"] == "partner_monthly"]
    assert [(m["period"], nonzero(m)) for m in monthly] == [("2026-01", {"base_cents": 200_000})]
    assert len(partner) == 2  # February has only an unpriced ticket: no base fee
    assert not [line for line in lines if line["payee_id"] == "DR2"]


def test_partner_ladder_and_rework() -> None:
    ladder = {
        "basis": "count",
        "mode": "retroactive",
        "brackets": [{"start": 1, "rate_bp": 10_000}, {"start": 3, "rate_bp": 10_500}],
    }
    rules = rules_of(
        partner_modes={"agent": {"mode": "piece_rate", "piece_cents": 1_200}},
        ladders={"agent": ladder},
        rework={"window_days": 30, "pay_bp": 2_000},
    )
    lines, _ = settle(
        [partner_ticket(f"T{k}", day(k), "AG1", "agent") for k in range(1, 4)]
        + [partner_ticket("R1", day(9), "AG1", "agent", rework_of="T1")],
        rules,
    )
    # three ordinary tickets → month count 3 → 10500: ladder pct(1200, 500) = 60
    for k in range(1, 4):
        assert nonzero(only(lines, f"T{k}", "AG1")) == {"base_cents": 1_200, "ladder_cents": 60}
    # the rework: rate 10000, not counted; rework −pct(1200, 10000 − 2000) = −960
    rework = only(lines, "R1", "AG1")
    assert nonzero(rework) == {"base_cents": 1_200, "rework_cents": -960}
    assert (rework["ladder_rate_bp"], rework["is_rework"], rework["amount_cents"]) == (
        10_000,
        True,
        240,
    )


# --- currency ---------------------------------------------------------------------------------


def test_currency_conversion_by_region_group() -> None:
    mode = {"mode": "base_fee_plus_bonus", "base_fee_cents": 500, "per_order_bonus_cents": 0}
    rules = rules_of(
        currencies={"华南": "HKD"},
        exchange_rates_ppm={"CNY": 1_000_000, "HKD": 1_087_000},
        item_prices={"I1": {"A": 8_001, "B": 8_001}},
        partner_modes={"direct": mode},
    )
    lines, _ = settle(
        [
            ticket("T1"),
            ticket("T2", region_group="华东"),
            partner_ticket("T3", day(1), "DR1", "direct", region_group="华南"),
        ],
        rules,
    )
    # 8001 × 1087000 / 1e6 = 8697.087 → 8697 HKD cents; amount_cents stays CNY
    t1 = only(lines, "T1")
    assert (t1["currency"], t1["amount_cents"], t1["amount_local_cents"]) == ("HKD", 8_001, 8_697)
    t2 = only(lines, "T2")
    assert (t2["currency"], t2["amount_local_cents"]) == ("CNY", 8_001)
    # monthly line in the partner's region group 华东 (CNY), though its ticket was in 华南
    monthly = only(lines, None, "DR1", "partner_monthly")
    assert (monthly["currency"], monthly["amount_local_cents"]) == ("CNY", 500)


def test_currency_rounds_half_away_from_zero() -> None:
    rules = rules_of(
        currencies={"华南": "HKD"},
        exchange_rates_ppm={"CNY": 1_000_000, "HKD": 1_087_000},
        item_prices={"I1": {"A": 500, "B": 500}},
        rework={"window_days": 30, "chargeback_bp": 10_000},
    )
    lines, _ = settle(
        [
            ticket("T1"),
            ticket("T2", JAN + timedelta(hours=1), technician_id="tech-2", rework_of="T1"),
        ],
        rules,
    )
    assert only(lines, "T1")["amount_local_cents"] == 544  # 500 × 1.087 = 543.5 → 544
    # chargeback −pct(500, 10000) = −500 in the rework's 华南: −543.5 → −544
    assert only(lines, "T2", "tech-1", "chargeback")["amount_local_cents"] == -544


# --- unpriced ---------------------------------------------------------------------------------


def test_unpriced_tickets_get_no_line_anywhere_and_say_why() -> None:
    ladder = {
        "basis": "count",
        "mode": "graduated",
        "brackets": [{"start": 1, "rate_bp": 10_000}, {"start": 2, "rate_bp": 11_000}],
    }
    rules = rules_of(
        ladders={"technician": ladder},
        partner_modes={"agent": {"mode": "piece_rate", "piece_cents": 1_200}},
        rework={"window_days": 30, "chargeback_bp": 5_000},
    )
    parts = [
        {"part_code": "P1", "quantity": 1},
        {"part_code": "PX", "quantity": 1},
        {"part_code": "PY", "quantity": 1},
    ]
    lines, unpriced = settle(
        [
            ticket("T0", day(1), technician_id="tech-0"),
            partner_ticket("U1", day(2), "AG1", "agent", item_code="I9"),
            partner_ticket("U2", day(3), "AG1", "agent", parts=parts, rework_of="T0"),
            ticket("U3", day(4), item_code="I9", parts=parts),
            ticket("T1", day(5)),
            ticket("T2", day(6), technician_id="tech-2", rework_of="U1"),
        ],
        rules,
    )
    assert {(u["ticket_id"], u["reason"]) for u in unpriced} == {
        ("U1", "no price for item I9 in tier B"),
        ("U2", "no price for part PX in tier B"),  # the first unpriced part in its list
        ("U3", "no price for item I9 in tier B"),  # the item is named before any part
    }
    assert {(u["period"], u["rule_version"]) for u in unpriced} == {("2026-01", "golden")}
    assert not [line for line in lines if line["ticket_id"] in {"U1", "U2", "U3"}]
    assert not [line for line in lines if line["payee_id"] == "AG1"]
    assert only(lines, "T1")["ladder_rate_bp"] == 10_000  # unpriced U3 did not count: k = 1
    assert not only(lines, "T2", "tech-2")["is_rework"]  # its original is unpriced: ordinary


def test_item_without_a_price_in_its_tier() -> None:
    # Validation insists every priced item has every tier, so bypass it to reach the case.
    rules = rules_of().model_copy(update={"item_prices": {"I1": {"A": 10_000}}})
    lines, unpriced = settle([ticket("T1"), ticket("T2", city_tier="一线")], rules)
    assert [(u["ticket_id"], u["reason"]) for u in unpriced] == [
        ("T1", "no price for item I1 in tier B")
    ]
    assert [line["ticket_id"] for line in lines] == ["T2"]


# --- the invariant and the frame adapter ------------------------------------------------------


def rich_case() -> tuple[list[dict[str, Any]], list[dict[str, Any]], RuleSet]:
    rules = parse_rules(
        document(
            region_coefficients={"provinces": {"44": 11_500}, "cities": {"440300": 9_500}},
            surcharges={"urgent_bp": 3_333, "night_cents": 3_001, "high_altitude_cents": 4_999},
            subsidies={
                "plateau_cents": 777,
                "township_cents": 333,
                "remote_guidance_hourly_cents": 6_001,
            },
            member_discounts_bp={"gold": 555},
            ladders={
                "technician": {
                    "basis": "earnings",
                    "mode": "graduated",
                    "brackets": EARNINGS_STEPS,
                },
                "agent": {"basis": "count", "mode": "graduated", "brackets": COUNT_STEPS},
            },
            partner_modes={
                "agent": GUARANTEE,
                "dealer": {"mode": "percent_of_sales", "rate_bp": 333},
            },
            rework={"window_days": 10, "pay_bp": 1_111, "chargeback_bp": 3_333},
            channel_fees_bp={"taobao": 57, "wechat": 33},
            cross_province_vat_bp=317,
            currencies={"华南": "HKD"},
            exchange_rates_ppm={"CNY": 1_000_000, "HKD": 1_087_013},
        )
    )
    tickets = []
    for k in range(12):
        tickets.append(
            ticket(
                f"T{k:02}",
                datetime(2026, 1 + k % 2, 1 + k, 8 + k % 5, 7 * k % 60),
                technician_id=f"tech-{k % 3}",
                technician_province_code=("44", "31", None)[k % 3],
                quantity=1 + k % 3,
                parts=[{"part_code": "P1", "quantity": k % 2}],
                city_code=("440100", "440300")[k % 2],
                is_urgent=k % 2 == 0,
                is_night=k % 3 == 0,
                is_high_altitude=k % 4 == 0,
                is_plateau=k % 5 == 0,
                is_township=k % 3 == 1,
                remote_guidance_minutes=k * 7,
                member_level=("gold", "none")[k % 2],
                order_platform=("taobao", "wechat")[k % 2],
                order_id=f"O{k % 4}",
                rework_of=f"T{k - 2:02}" if k % 4 == 3 else None,
                partner_id=("AG1", "D1", None)[k % 3],
                partner_type=("agent", "dealer", None)[k % 3],
                partner_region_group="华南",
            )
        )
    orders = [
        order("O0", 12_345, 1_001),
        order("O1", 9_999, 0, platform="wechat"),
        order("O2", 0, 0, True),
        order("O3", 5_000, 7_000, platform="wechat"),
    ]
    return tickets, orders, rules


def test_every_line_adds_up_to_its_amount() -> None:
    tickets, orders, rules = rich_case()
    lines, unpriced = settle_rows(tickets, orders, rules)
    kinds = {line["line_kind"] for line in lines}
    assert kinds == {"ticket", "chargeback", "partner_monthly"}
    assert not unpriced
    for line in lines:
        assert sum(line[name] for name in BREAKDOWN) == line["amount_cents"], line
        assert line["rule_version"] == "golden"


def test_frame_adapter_keeps_the_schemas() -> None:
    tickets, orders, rules = rich_case()

    lines, unpriced = settle_frames(
        pl.DataFrame(tickets, schema=TICKETS_IN), pl.DataFrame(orders, schema=ORDERS_IN), rules
    )
    assert lines.schema == pl.Schema(LINES)
    assert unpriced.schema == pl.Schema(UNPRICED)
    expected, _ = settle_rows(tickets, orders, rules)
    assert lines.to_dicts() == expected
