"""The Polars engine against the row-by-row reference, to the cent, on random tickets and rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from settlement.engine import settle
from settlement.frames import LINE_KEY, ORDERS_IN, TICKETS_IN
from settlement.oracle import settle_frames
from settlement.rules import RuleSet, parse_rules

CITY_TIERS = ["一线", "新一线", "二线", "三线", "四线", "五线"]
CITIES = {  # code: (tier, province, region group, plateau)
    "110100": ("一线", "11", "华北", False),
    "510100": ("新一线", "51", "西南", False),
    "540100": ("五线", "54", "西南", True),
    "440300": ("一线", "44", "华南", False),
}
ITEMS, PARTS = ["I1", "I2", "I3"], ["P1", "P2", "P3"]
TECHNICIANS = {"T1": "11", "T2": "51", "T3": "44", "T4": None}  # home province
PARTNERS = ["PA", "PB", "PC"]
START = datetime(2026, 1, 1)

TYPES = ["direct", "dealer", "agent"]
LEVELS = ["none", "silver", "gold", "platinum"]
PLATFORMS = ["taobao", "youzan", "wechat"]
bp = st.integers(0, 15_000)
share = st.integers(0, 10_000)
coefficient = st.integers(5_000, 20_000)
cents = st.integers(0, 50_000)


@st.composite
def ladders(draw: st.DrawFn) -> dict[str, Any]:
    basis = draw(st.sampled_from(["count", "earnings"]))
    first = 1 if basis == "count" else 0
    steps = draw(
        st.lists(st.integers(1, 40 if basis == "count" else 200_000), max_size=3, unique=True)
    )
    starts = [first, *sorted(first + s for s in steps)]
    return {
        "basis": basis,
        "mode": draw(st.sampled_from(["graduated", "retroactive"])),
        "brackets": [{"start": s, "rate_bp": draw(st.integers(5_000, 15_000))} for s in starts],
    }


def modes() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda c: {"mode": "piece_rate", "piece_cents": c}, cents),
        st.builds(lambda r: {"mode": "percent_of_sales", "rate_bp": r}, st.integers(0, 10_000)),
        st.builds(
            lambda p, m, t, b: {
                "mode": "guaranteed_minimum",
                "piece_cents": p,
                "minimum_cents": m,
                "threshold_cents": t,
                "excess_bonus_bp": b,
            },
            cents,
            st.integers(0, 200_000),
            st.integers(0, 200_000),
            bp,
        ),
        st.builds(
            lambda f, b: {
                "mode": "base_fee_plus_bonus",
                "base_fee_cents": f,
                "per_order_bonus_cents": b,
            },
            st.integers(0, 500_000),
            cents,
        ),
    )


def some(keys: list[str], values: st.SearchStrategy[Any], **sizes: int) -> st.SearchStrategy[Any]:
    """A mapping from some of ``keys`` to drawn values."""
    return st.dictionaries(st.sampled_from(keys), values, **sizes)


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    tiers = draw(st.sampled_from([["A"], ["A", "B"], ["A", "B", "C"]]))
    priced_items = draw(st.lists(st.sampled_from(ITEMS), min_size=1, unique=True))
    priced_parts = draw(st.lists(st.sampled_from(PARTS), unique=True))
    document = {
        "version": "random",
        "effective_date": "2025-01-01",
        "price_tiers": tiers,
        "tier_map": {t: draw(st.sampled_from(tiers)) for t in CITY_TIERS},
        "city_price_tiers": draw(some(list(CITIES), st.sampled_from(tiers), max_size=2)),
        "item_prices": {i: {t: draw(cents) for t in tiers} for i in priced_items},
        "part_prices": {p: {t: draw(cents) for t in tiers} for p in priced_parts},
        "region_coefficients": {
            "provinces": draw(some(["11", "51", "54", "44"], coefficient, max_size=2)),
            "cities": draw(some(list(CITIES), coefficient, max_size=2)),
        },
        "surcharges": {
            "urgent_bp": draw(bp),
            "night_cents": draw(cents),
            "high_altitude_cents": draw(cents),
        },
        "subsidies": {
            "plateau_cents": draw(cents),
            "township_cents": draw(cents),
            "remote_guidance_hourly_cents": draw(st.integers(0, 99_999)),
        },
        "member_discounts_bp": draw(some(LEVELS, share)),
        "ladders": draw(some(["technician", *TYPES], ladders())),
        "partner_modes": draw(some(TYPES, modes(), min_size=1)),
        "partner_overrides": draw(some(PARTNERS, modes(), max_size=1)),
        "rework": {
            "window_days": draw(st.integers(0, 40)),
            "pay_bp": draw(st.integers(0, 10_000)),
            "chargeback_bp": draw(st.integers(0, 10_000)),
        },
        "refunds": {"clawback": draw(st.booleans())},
        "channel_fees_bp": draw(some(PLATFORMS, st.integers(0, 2_000))),
        "cross_province_vat_bp": draw(st.integers(0, 2_000)),
        "currencies": draw(some(["华北", "西南", "华南"], st.sampled_from(["CNY", "HKD"]))),
        "exchange_rates_ppm": {"CNY": 1_000_000, "HKD": draw(st.integers(500_000, 2_000_000))},
    }
    return parse_rules(document)


@st.composite
def histories(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(0, 30))
    partner_types = {
        p: draw(st.sampled_from(["direct", "dealer", "agent", None])) for p in PARTNERS
    }
    rows = []
    for k in range(n):
        city = draw(st.sampled_from(list(CITIES)))
        tier, province, group, plateau = CITIES[city]
        technician = draw(st.sampled_from(list(TECHNICIANS)))
        partner = draw(st.sampled_from([*PARTNERS, None]))
        at = START + timedelta(minutes=draw(st.integers(0, 3 * 30 * 24 * 60)))
        order = draw(st.sampled_from([None, None, "O1", "O2", "O3", "O9"]))
        previous = f"K{max(k - 1, 0):03d}"
        rows.append(
            {
                "ticket_id": f"K{k:03d}",
                "item_code": draw(st.sampled_from(ITEMS)),
                "quantity": draw(st.integers(1, 3)),
                "parts": [
                    {"part_code": draw(st.sampled_from(PARTS)), "quantity": draw(st.integers(1, 4))}
                    for _ in range(draw(st.integers(0, 2)))
                ],
                "city_code": city,
                "city_tier": tier,
                "is_plateau": plateau,
                "province_code": province,
                "region_group": group,
                "technician_id": technician,
                "technician_province_code": TECHNICIANS[technician],
                "partner_id": partner,
                "partner_type": partner_types[partner] if partner else None,
                "partner_region_group": draw(st.sampled_from(["华北", "华南", None])),
                "is_urgent": draw(st.booleans()),
                "is_night": draw(st.booleans()),
                "is_township": draw(st.booleans()),
                "is_high_altitude": draw(st.booleans()),
                "remote_guidance_minutes": draw(st.sampled_from([0, 0, 1, 25, 90])),
                "member_level": draw(st.sampled_from(["none", "silver", "gold", "platinum"])),
                "order_platform": draw(st.sampled_from(PLATFORMS)) if order else None,
                "order_id": order,
                "rework_of": draw(st.sampled_from([None, None, "K000", previous, "K999"])),
                "completed_at": at,
                "completed_date": (at + timedelta(hours=8)).date(),
            }
        )
    orders = [
        {
            "platform": platform,
            "order_id": order_id,
            "paid_cents": draw(st.integers(0, 900_000)),
            "refunded_cents": draw(st.sampled_from([0, 0, 1, 50_000, 10**9])),
            "is_forfeited": draw(st.booleans()),
        }
        for order_id in ("O1", "O2", "O3")
        for platform in ("taobao", "youzan", "wechat")
    ]
    return (
        pl.DataFrame(rows, schema=TICKETS_IN),
        pl.DataFrame(orders, schema=ORDERS_IN),
    )


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(list(LINE_KEY), nulls_last=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=rule_sets(), history=histories())
def test_engine_agrees_with_the_reference_to_the_cent(
    rules: RuleSet, history: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    tickets, orders = history
    expected_lines, expected_unpriced = settle_frames(tickets, orders, rules)
    result = settle(tickets.lazy(), orders.lazy(), rules)
    lines, unpriced = pl.collect_all([result.lines, result.unpriced])
    assert_frame_equal(canonical(lines), canonical(expected_lines))
    assert_frame_equal(unpriced.sort("ticket_id"), expected_unpriced.sort("ticket_id"))


def test_dates_are_beijing_months() -> None:
    # 2026-01-31 20:00 UTC is already 1 February in Beijing: the period is 2026-02.
    assert (datetime(2026, 1, 31, 20) + timedelta(hours=8)).date() == date(2026, 2, 1)
