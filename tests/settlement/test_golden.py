"""Golden cases: tiny scenarios with their payouts worked out by hand (the arithmetic is in the
comments). Each runs through the engine, and the reference engine must agree."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest

from settlement.engine import settle
from settlement.frames import BREAKDOWN, LINE_KEY, ORDERS_IN, TICKETS_IN
from settlement.oracle import settle_frames
from settlement.rules import RuleSet, parse_rules

DAY1 = datetime(2026, 3, 2, 2, 0)  # 10:00 in Beijing on 2 March: period 2026-03


def ticket(n: int, **changes: Any) -> dict[str, Any]:
    at = changes.pop("at", DAY1 + timedelta(hours=n))
    row = {
        "ticket_id": f"G{n:02d}",
        "item_code": "I1",
        "quantity": 1,
        "parts": [],
        "city_code": "310100",
        "city_tier": "一线",
        "is_plateau": False,
        "province_code": "31",
        "region_group": "华东",
        "technician_id": "T1",
        "technician_province_code": "31",
        "partner_id": None,
        "partner_type": None,
        "partner_region_group": "华东",
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
        "completed_date": (at + timedelta(hours=8)).date(),
    }
    row.update(changes)
    return row


def rules(**changes: Any) -> RuleSet:
    document: dict[str, Any] = {
        "version": "golden",
        "effective_date": "2025-01-01",
        "price_tiers": ["A", "B"],
        "tier_map": {
            "一线": "A",
            "新一线": "B",
            "二线": "B",
            "三线": "B",
            "四线": "B",
            "五线": "B",
        },
        "item_prices": {"I1": {"A": 10_000, "B": 8_000}, "I5": {"A": 5, "B": 5}},
        "part_prices": {"P1": {"A": 1_500, "B": 1_200}},
        "surcharges": {"urgent_bp": 0, "night_cents": 0, "high_altitude_cents": 0},
        "partner_modes": {"dealer": {"mode": "piece_rate", "piece_cents": 1_200}},
    }
    document.update(changes)
    return parse_rules(document)


def run(
    tickets: list[dict[str, Any]],
    rule_set: RuleSet,
    orders: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> tuple[dict[tuple[str, str, str | None, str], dict[str, Any]], pl.DataFrame]:
    frame = pl.DataFrame(tickets, schema=TICKETS_IN)
    order_frame = pl.DataFrame(list(orders), schema=ORDERS_IN)
    result = settle(frame.lazy(), order_frame.lazy(), rule_set)
    lines, unpriced = pl.collect_all([result.lines, result.unpriced])
    reference, reference_unpriced = settle_frames(frame, order_frame, rule_set)
    assert lines.sort(list(LINE_KEY), nulls_last=True).equals(
        reference.sort(list(LINE_KEY), nulls_last=True)
    )
    assert unpriced.sort("ticket_id").equals(reference_unpriced.sort("ticket_id"))
    assert (lines.select(pl.sum_horizontal(*BREAKDOWN)).to_series() == lines["amount_cents"]).all()
    keyed = {
        (r["payee_type"], r["payee_id"], r["ticket_id"], r["line_kind"]): r
        for r in lines.iter_rows(named=True)
    }
    return keyed, unpriced


def technician_line(lines: dict, ticket_id: str, technician: str = "T1") -> dict[str, Any]:  # type: ignore[type-arg]
    return lines[("technician", technician, ticket_id, "ticket")]


def test_base_price_by_tier_quantity_and_a_city_override() -> None:
    # 一线 → A: 10 000 × 2 = 20 000. 成都 (新一线 → B) is overridden to A: 10 000 × 1.
    lines, _ = run(
        [
            ticket(1, quantity=2),
            ticket(2, city_code="510100", city_tier="新一线", province_code="51"),
        ],
        rules(city_price_tiers={"510100": "A"}),
    )
    assert technician_line(lines, "G01")["base_cents"] == 20_000
    assert technician_line(lines, "G02")["price_tier"] == "A"
    assert technician_line(lines, "G02")["amount_cents"] == 10_000


def test_parts_are_passed_through_at_their_tier_price() -> None:
    # 3 × P1 at A (1 500) = 4 500; amount 10 000 + 4 500.
    lines, _ = run([ticket(1, parts=[{"part_code": "P1", "quantity": 3}])], rules())
    line = technician_line(lines, "G01")
    assert (line["parts_cents"], line["amount_cents"]) == (4_500, 14_500)


def test_a_city_coefficient_beats_its_provinces() -> None:
    # Province 31 ×1.2 → pct(10 000, 2 000) = 2 000; city 310100 ×1.1 wins → 1 000.
    coefficients = {"provinces": {"31": 12_000}, "cities": {"310100": 11_000}}
    lines, _ = run(
        [ticket(1), ticket(2, city_code="310200")], rules(region_coefficients=coefficients)
    )
    assert technician_line(lines, "G01")["coefficient_cents"] == 1_000
    assert technician_line(lines, "G02")["coefficient_cents"] == 2_000


def test_surcharges_subsidies_remote_guidance_and_discount() -> None:
    # urgent 30 % of 10 000 = 3 000; night 3 000; height 5 000; plateau 8 000; township 2 000;
    # remote 25 min × 6 000/h = 150 000 / 60 = 2 500; gold −5 % of 10 000 = −500.
    # amount = 10 000 + 3 000 + 3 000 + 5 000 + 8 000 + 2 000 + 2 500 − 500 = 33 000.
    rule_set = rules(
        surcharges={"urgent_bp": 3_000, "night_cents": 3_000, "high_altitude_cents": 5_000},
        subsidies={
            "plateau_cents": 8_000,
            "township_cents": 2_000,
            "remote_guidance_hourly_cents": 6_000,
        },
        member_discounts_bp={"gold": 500},
    )
    everything = ticket(
        1,
        is_urgent=True,
        is_night=True,
        is_high_altitude=True,
        is_plateau=True,
        is_township=True,
        remote_guidance_minutes=25,
        member_level="gold",
    )
    line = technician_line(run([everything], rule_set)[0], "G01")
    assert [line[c] for c in ("urgent_cents", "night_cents", "high_altitude_cents")] == [
        3_000,
        3_000,
        5_000,
    ]
    assert [line[c] for c in ("plateau_cents", "township_cents", "remote_cents")] == [
        8_000,
        2_000,
        2_500,
    ]
    assert (line["discount_cents"], line["amount_cents"]) == (-500, 33_000)


def test_rounding_is_half_away_from_zero() -> None:
    # Base 5; coefficient ×1.5 → 5 × 5 000 / 10 000 = 2.5 → 3; silver −50 % → −2.5 → −3;
    # remote 1 min × 100/h = 1.67 → 2. Amount 5 + 3 − 3 + 2 = 7.
    rule_set = rules(
        region_coefficients={"cities": {"310100": 15_000}},
        member_discounts_bp={"silver": 5_000},
        subsidies={"remote_guidance_hourly_cents": 100},
    )
    line = technician_line(
        run(
            [ticket(1, item_code="I5", member_level="silver", remote_guidance_minutes=1)], rule_set
        )[0],
        "G01",
    )
    assert (line["coefficient_cents"], line["discount_cents"], line["remote_cents"]) == (3, -3, 2)
    assert line["amount_cents"] == 7


COUNT_LADDER = {
    "basis": "count",
    "mode": "graduated",
    "brackets": [{"start": 1, "rate_bp": 10_000}, {"start": 3, "rate_bp": 11_000}],
}


def test_graduated_count_ladder_below_on_and_above_the_step() -> None:
    # Tickets 1 and 2 are below the step (rate 100 %), ticket 3 is on it and 4 above it: 110 %,
    # i.e. +pct(10 000, 1 000) = +1 000 each.
    lines, _ = run([ticket(n) for n in (1, 2, 3, 4)], rules(ladders={"technician": COUNT_LADDER}))
    rates = [technician_line(lines, f"G0{n}")["ladder_rate_bp"] for n in (1, 2, 3, 4)]
    assert rates == [10_000, 10_000, 11_000, 11_000]
    assert [technician_line(lines, f"G0{n}")["ladder_cents"] for n in (2, 3)] == [0, 1_000]


@pytest.mark.parametrize(("tickets", "rate"), [(2, 10_000), (3, 11_000), (4, 11_000)])
def test_retroactive_count_ladder_pays_the_reached_rate_on_every_ticket(
    tickets: int, rate: int
) -> None:
    # Below the step (2 tickets) nothing moves; on it (3) or above (4) every ticket gets 110 %.
    ladder = {**COUNT_LADDER, "mode": "retroactive"}
    lines, _ = run(
        [ticket(n) for n in range(1, tickets + 1)], rules(ladders={"technician": ladder})
    )
    assert {technician_line(lines, f"G0{n}")["ladder_rate_bp"] for n in range(1, tickets + 1)} == {
        rate
    }


@pytest.mark.parametrize(
    ("step", "third_rate"), [(19_999, 12_000), (20_000, 12_000), (20_001, 10_000)]
)
def test_earnings_ladder_counts_what_was_earned_before_the_ticket(
    step: int, third_rate: int
) -> None:
    # Each ticket's labour is 10 000; before ticket 3 the technician has earned 20 000, so the
    # third ticket is above (step 19 999), on (20 000) or below (20 001) the step.
    ladder = {
        "basis": "earnings",
        "mode": "graduated",
        "brackets": [{"start": 0, "rate_bp": 10_000}, {"start": step, "rate_bp": 12_000}],
    }
    lines, _ = run([ticket(n) for n in (1, 2, 3)], rules(ladders={"technician": ladder}))
    assert technician_line(lines, "G02")["ladder_rate_bp"] == 10_000
    assert technician_line(lines, "G03")["ladder_rate_bp"] == third_rate


@pytest.mark.parametrize(
    ("after", "is_rework"),
    [(timedelta(days=9), True), (timedelta(days=30), True), (timedelta(days=30, seconds=1), False)],
)
def test_rework_within_the_window_pays_nothing_and_is_charged_back(
    after: timedelta, is_rework: bool
) -> None:
    # Labour 10 000, pay 0 %: rework −10 000, the parts (1 500) still paid. Chargeback 50 % of
    # the rework's labour to the original technician T1: −5 000. 30 days exactly is inside.
    original = ticket(1, technician_id="T1")
    rework = ticket(
        2,
        technician_id="T2",
        rework_of="G01",
        at=DAY1 + timedelta(hours=1) + after,
        parts=[{"part_code": "P1", "quantity": 1}],
    )
    rule_set = rules(rework={"window_days": 30, "pay_bp": 0, "chargeback_bp": 5_000})
    lines, _ = run([original, rework], rule_set)
    line = technician_line(lines, "G02", "T2")
    assert line["is_rework"] is is_rework
    if is_rework:
        assert (line["rework_cents"], line["amount_cents"]) == (-10_000, 1_500)
        assert lines[("technician", "T1", "G02", "chargeback")]["chargeback_cents"] == -5_000
    else:
        assert line["amount_cents"] == 11_500
        assert ("technician", "T1", "G02", "chargeback") not in lines


def test_a_partly_paid_rework() -> None:
    # pay 30 %: rework = −pct(10 000, 7 000) = −7 000; amount 3 000.
    rule_set = rules(rework={"window_days": 30, "pay_bp": 3_000, "chargeback_bp": 0})
    lines, _ = run([ticket(1), ticket(2, rework_of="G01")], rule_set)
    assert technician_line(lines, "G02")["amount_cents"] == 3_000


def order(order_id: str, paid: int, refunded: int = 0, forfeited: bool = False) -> dict[str, Any]:
    return {
        "platform": "taobao",
        "order_id": order_id,
        "paid_cents": paid,
        "refunded_cents": refunded,
        "is_forfeited": forfeited,
    }


@pytest.mark.parametrize(
    ("paid", "refunded", "forfeited", "clawback"),
    [
        (100_000, 25_000, False, -2_500),  # a quarter refunded: −10 000 × 25 000 / 100 000
        (100_000, 150_000, False, -10_000),  # more than paid counts as all of it
        (50_000, 0, True, -10_000),  # a forfeited deposit claws back everything
        (100_000, 0, False, 0),
    ],
)
def test_clawback_follows_the_refunded_share(
    paid: int, refunded: int, forfeited: bool, clawback: int
) -> None:
    lines, _ = run(
        [ticket(1, order_platform="taobao", order_id="O1")],
        rules(),
        [order("O1", paid, refunded, forfeited)],
    )
    line = technician_line(lines, "G01")
    assert line["clawback_cents"] == clawback and line["is_refunded"] is (clawback != 0)


def test_channel_fee_then_cross_province_vat() -> None:
    # before fee 10 000; taobao 0.5 % → −50; VAT 3 % of 9 950 = 298.5 → −299. Amount 9 651.
    rule_set = rules(channel_fees_bp={"taobao": 50}, cross_province_vat_bp=300)
    lines, _ = run(
        [ticket(1, order_platform="taobao", order_id="O1", technician_province_code="32")],
        rule_set,
        [order("O1", 100_000)],
    )
    line = technician_line(lines, "G01")
    assert (line["fee_cents"], line["tax_cents"], line["amount_cents"]) == (-50, -299, 9_651)


def test_partner_modes() -> None:
    # Piece rate 1 200 per ticket (PA); 5 % of the first order's 259 900 = 12 995, once (PB);
    # guaranteed 5 000 with two 1 200 pieces → top-up 2 600 (PC); base fee 20 000 a month plus
    # 1 500 per order ticket (PD).
    modes = {
        "dealer": {"mode": "piece_rate", "piece_cents": 1_200},
        "agent": {
            "mode": "guaranteed_minimum",
            "piece_cents": 1_200,
            "minimum_cents": 5_000,
            "threshold_cents": 100_000,
            "excess_bonus_bp": 1_000,
        },
        "direct": {
            "mode": "base_fee_plus_bonus",
            "base_fee_cents": 20_000,
            "per_order_bonus_cents": 1_500,
        },
    }
    overrides = {"PB": {"mode": "percent_of_sales", "rate_bp": 500}}
    tickets = [
        ticket(1, partner_id="PA", partner_type="dealer"),
        ticket(2, partner_id="PB", partner_type="dealer", order_platform="taobao", order_id="O1"),
        ticket(3, partner_id="PB", partner_type="dealer", order_platform="taobao", order_id="O1"),
        ticket(4, partner_id="PC", partner_type="agent"),
        ticket(5, partner_id="PC", partner_type="agent"),
        ticket(6, partner_id="PD", partner_type="direct", order_platform="taobao", order_id="O2"),
        ticket(7, partner_id="PD", partner_type="direct"),
    ]
    lines, _ = run(
        tickets,
        rules(partner_modes=modes, partner_overrides=overrides),
        [order("O1", 259_900), order("O2", 10_000)],
    )
    assert lines[("dealer", "PA", "G01", "ticket")]["amount_cents"] == 1_200
    assert lines[("dealer", "PB", "G02", "ticket")]["base_cents"] == 12_995
    assert ("dealer", "PB", "G03", "ticket") not in lines  # the order pays its partner once
    assert lines[("agent", "PC", None, "partner_monthly")]["guarantee_cents"] == 2_600
    assert lines[("direct", "PD", "G06", "ticket")]["bonus_cents"] == 1_500
    assert ("direct", "PD", "G07", "ticket") not in lines
    assert lines[("direct", "PD", None, "partner_monthly")]["base_cents"] == 20_000


def test_guarantee_excess_bonus() -> None:
    # Three 1 200 pieces = 3 600 above a 3 000 threshold: bonus 10 % of 600 = 60; no top-up.
    modes = {
        "agent": {
            "mode": "guaranteed_minimum",
            "piece_cents": 1_200,
            "minimum_cents": 1_000,
            "threshold_cents": 3_000,
            "excess_bonus_bp": 1_000,
        }
    }
    tickets = [ticket(n, partner_id="PC", partner_type="agent") for n in (1, 2, 3)]
    monthly = run(tickets, rules(partner_modes=modes))[0][("agent", "PC", None, "partner_monthly")]
    assert (monthly["guarantee_cents"], monthly["bonus_cents"]) == (0, 60)


def test_payout_currency_of_a_region_group() -> None:
    # 10 000 fen at 1.087 HKD per CNY → 10 870 in local cents.
    rule_set = rules(
        currencies={"华东": "HKD"}, exchange_rates_ppm={"CNY": 1_000_000, "HKD": 1_087_000}
    )
    line = technician_line(run([ticket(1)], rule_set)[0], "G01")
    assert (line["currency"], line["amount_local_cents"]) == ("HKD", 10_870)


def test_unpriced_tickets_are_reported_and_get_no_line() -> None:
    lines, unpriced = run(
        [
            ticket(1, item_code="I9", partner_id="PA", partner_type="dealer"),
            ticket(
                2, parts=[{"part_code": "P1", "quantity": 1}, {"part_code": "P9", "quantity": 1}]
            ),
            ticket(3),
        ],
        rules(),
    )
    assert dict(unpriced.select("ticket_id", "reason").iter_rows()) == {
        "G01": "no price for item I9 in tier A",
        "G02": "no price for part P9 in tier A",
    }
    assert {key[2] for key in lines} == {"G03"}
