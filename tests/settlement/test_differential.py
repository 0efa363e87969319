"""The vectorised engine equals the row-by-row reference to the cent, on random inputs.

Random small ticket sets (0–40 tickets over up to three months, a few technicians and partners,
random flags, parts, orders, refunds and reworks of earlier tickets, some landing exactly on the
rework window's edge) are settled under random timelines of one to three valid rule sets (some
items and parts without a price, ladders of both bases and modes, every partner mode including
the order split, overrides, rework, refund, deductions on payouts or orders, decimal and legacy
exchange rates), the later versions effective on random days, some on a month's first or last
day. Both outputs are sorted by the line key and must be identical.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from settlement.engine import settle
from settlement.frames import LINE_KEY, LINES, ORDERS_IN, TICKETS_IN, UNPRICED
from settlement.oracle import settle_frames
from settlement.rules import RuleSet, parse_rules
from settlement.timeline import Timeline

CITY_TIERS = ("一线", "新一线", "二线", "三线", "四线", "五线")
# city_code, city_tier, province_code, is_plateau, region_group
CITIES = (
    ("110100", "一线", "11", False, "华北"),
    ("440300", "一线", "44", False, "华南"),
    ("440600", "二线", "44", False, "华南"),
    ("540100", "四线", "54", True, "西南"),
    ("620200", "五线", "62", False, "西北"),
)
PROVINCES = ("11", "44", "54", "62", "31")
ITEMS = ("I1", "I2", "I3", "I4")
PARTS = ("P1", "P2", "P3")
PLATFORMS = ("taobao", "youzan", "wechat")
ORDER_IDS = ("O1", "O2", "O3", "O4", "O5")
LEVELS = ("none", "silver", "gold", "platinum")
GROUPS = ("华北", "华南", "西南", "西北", "华东", "东南亚")
PAYEE_TYPES = ("technician", "direct", "dealer", "agent")

money = st.integers(0, 30_000)
share = st.integers(0, 10_000)


@st.composite
def ladders(draw: st.DrawFn) -> dict[str, Any]:
    basis = draw(st.sampled_from(["count", "earnings"]))
    steps = draw(
        st.lists(st.integers(1, 6 if basis == "count" else 40_000), max_size=3, unique=True)
    )
    starts = [1 if basis == "count" else 0, *sorted({s for s in steps if s > (basis == "count")})]
    return {
        "basis": basis,
        "mode": draw(st.sampled_from(["graduated", "retroactive"])),
        "brackets": [{"start": s, "rate_bp": draw(st.integers(8_000, 13_000))} for s in starts],
    }


def partner_modes() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda c: {"mode": "piece_rate", "piece_cents": c}, money),
        st.builds(lambda r: {"mode": "percent_of_sales", "rate_bp": r}, share),
        st.builds(
            lambda p, m, t, b: {
                "mode": "guaranteed_minimum",
                "piece_cents": p,
                "minimum_cents": m,
                "threshold_cents": t,
                "excess_bonus_bp": b,
            },
            st.integers(0, 3_000),
            st.integers(0, 20_000),
            st.integers(0, 20_000),
            st.integers(0, 3_000),
        ),
        st.builds(
            lambda f, b: {
                "mode": "base_fee_plus_bonus",
                "base_fee_cents": f,
                "per_order_bonus_cents": b,
            },
            st.integers(0, 50_000),
            st.integers(0, 3_000),
        ),
        st.just({"mode": "order_split"}),
    )


def deductions() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "base": st.sampled_from(["payout", "order"]),
            "channel_fees_bp": st.dictionaries(
                st.sampled_from(PLATFORMS), st.sampled_from([0, 1_500]) | st.integers(0, 2_000)
            ),
            "cross_province_vat_bp": st.sampled_from([0, 300, 600]) | st.integers(0, 1_000),
        }
    )


@st.composite
def rule_sets(draw: st.DrawFn, version: str = "r1", effective: date = date(2025, 1, 1)) -> RuleSet:
    tiers = ["A", "B", "C"][: draw(st.integers(1, 3))]
    tier = st.sampled_from(tiers)
    # An item or a part left out of the price lists makes its tickets unpriced (at most one
    # of each, so most tickets are still settled).
    unpriced = draw(st.lists(st.sampled_from(ITEMS[1:] + PARTS), max_size=2, unique=True))
    priced_items = [i for i in ITEMS if i not in unpriced]
    priced_parts = [p for p in PARTS if p not in unpriced]
    coefficient = st.integers(5_000, 15_000)
    document: dict[str, Any] = {
        "version": version,
        "effective_date": effective.isoformat(),
        "price_tiers": tiers,
        "tier_map": {t: draw(tier) for t in CITY_TIERS},
        "city_price_tiers": draw(st.dictionaries(st.sampled_from([c[0] for c in CITIES]), tier)),
        "item_prices": {i: {t: draw(money) for t in tiers} for i in priced_items},
        "part_prices": {p: {t: draw(st.integers(0, 5_000)) for t in tiers} for p in priced_parts},
        "region_coefficients": {
            "provinces": draw(st.dictionaries(st.sampled_from(PROVINCES), coefficient)),
            "cities": draw(st.dictionaries(st.sampled_from([c[0] for c in CITIES]), coefficient)),
        },
        "surcharges": {
            "urgent_bp": draw(st.integers(0, 5_000)),
            "night_cents": draw(st.integers(0, 5_000)),
            "high_altitude_cents": draw(st.integers(0, 5_000)),
        },
        "subsidies": {
            "plateau_cents": draw(st.integers(0, 9_000)),
            "township_cents": draw(st.integers(0, 3_000)),
            "remote_guidance_hourly_cents": draw(st.integers(0, 9_000)),
        },
        "member_discounts_bp": draw(st.dictionaries(st.sampled_from(LEVELS), share)),
        "ladders": draw(st.dictionaries(st.sampled_from(PAYEE_TYPES), ladders())),
        # Every partner type has a mode: a type without one is outside the spec.
        "partner_modes": {t: draw(partner_modes()) for t in ("direct", "dealer", "agent")},
        "partner_overrides": draw(
            st.dictionaries(st.sampled_from(["PA", "PB", "PC"]), partner_modes())
        ),
        "rework": {
            "window_days": draw(st.integers(0, 40)),
            "pay_bp": draw(st.sampled_from([0, 0, 2_500, 10_000]) | share),
            "chargeback_bp": draw(st.sampled_from([0, 5_000]) | share),
        },
        "refunds": {"clawback": draw(st.booleans())},
        # Older documents' top-level technician fees, or deductions per payee type.
        **draw(
            st.fixed_dictionaries(
                {
                    "channel_fees_bp": st.dictionaries(
                        st.sampled_from(PLATFORMS), st.integers(0, 500)
                    ),
                    "cross_province_vat_bp": st.sampled_from([0, 300]) | st.integers(0, 1_000),
                }
            )
            | st.fixed_dictionaries(
                {"deductions": st.dictionaries(st.sampled_from(PAYEE_TYPES), deductions())}
            )
        ),
        "currencies": draw(
            st.dictionaries(st.sampled_from(GROUPS), st.sampled_from(["CNY", "HKD", "USD"]))
        ),
        "exchange_rates": {
            "USD": draw(st.sampled_from(["7.10", "7.1234", "6.999999"])),
            "HKD": draw(st.sampled_from(["0.92", "0.919963"])),
        },
    }
    if draw(st.booleans()):  # the legacy form: units per CNY in millionths
        document["exchange_rates"].pop("HKD")
        document["exchange_rates_ppm"] = {"HKD": draw(st.integers(500_000, 1_500_000))}
    return parse_rules(document)


@st.composite
def histories(draw: st.DrawFn, window_days: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    technicians = [
        (f"tech-{k}", draw(st.none() | st.sampled_from(PROVINCES)))
        for k in range(draw(st.integers(2, 4)))
    ]
    partners = [
        (
            pid,
            draw(st.sampled_from(["direct", "dealer", "agent"])),
            draw(st.sampled_from(GROUPS)),
            draw(st.none() | st.sampled_from(PROVINCES)),
        )
        for pid in ["PA", "PB", "PC"][: draw(st.integers(1, 3))]
    ]
    months = draw(st.integers(1, 3))
    # A coarse clock (two hours a day) so that ties on completed_at happen and ticket_id decides.
    moment = st.builds(
        lambda m, d, h: datetime(2026, m, d, h, 0),
        st.integers(1, months),
        st.integers(1, 28),
        st.sampled_from([9, 15]),
    )
    tickets: list[dict[str, Any]] = []
    for k in range(draw(st.integers(0, 40))):
        city, tier, province, plateau, group = draw(st.sampled_from(CITIES))
        tech, home = draw(st.sampled_from(technicians))
        partner = draw(st.none() | st.sampled_from(partners))
        at = draw(moment)
        rework_of = None
        if tickets and draw(st.integers(0, 3)) == 0:
            original = tickets[draw(st.integers(0, len(tickets) - 1))]
            rework_of = original["ticket_id"]
            # Half of the reworks land a whole number of days after their original, some exactly
            # on the window's edge or a day beyond; the rest fall anywhere, some before it.
            if draw(st.booleans()):
                days = draw(st.sampled_from([0, window_days - 1, window_days, window_days + 1]))
                at = original["completed_at"] + timedelta(days=max(days, 0))
        has_order = draw(st.integers(0, 2)) > 0
        tickets.append(
            {
                "ticket_id": f"K{k:02}",
                "item_code": draw(st.sampled_from(ITEMS)),
                "quantity": draw(st.integers(1, 3)),
                "parts": draw(
                    st.lists(
                        st.fixed_dictionaries(
                            {"part_code": st.sampled_from(PARTS), "quantity": st.integers(1, 3)}
                        ),
                        max_size=2,
                    )
                ),
                "city_code": city,
                "city_tier": tier,
                "is_plateau": plateau,
                "province_code": province,
                "region_group": group,
                "technician_id": tech,
                "technician_province_code": home,
                "partner_id": partner[0] if partner else None,
                "partner_type": partner[1] if partner else None,
                "partner_region_group": partner[2] if partner else None,
                "partner_province_code": partner[3] if partner else None,
                "is_urgent": draw(st.booleans()),
                "is_night": draw(st.booleans()),
                "is_township": draw(st.booleans()),
                "is_high_altitude": draw(st.booleans()),
                "remote_guidance_minutes": draw(
                    st.sampled_from([0, 0, 1, 25]) | st.integers(0, 120)
                ),
                "member_level": draw(st.sampled_from(LEVELS)),
                "order_platform": draw(st.sampled_from(PLATFORMS)) if has_order else None,
                "order_id": draw(st.sampled_from(ORDER_IDS)) if has_order else None,
                "rework_of": rework_of,
                "completed_at": at,
                "completed_date": at.date(),
            }
        )
    # Some orders the tickets name are missing from the feed (unknown orders).
    named = sorted({(t["order_platform"], t["order_id"]) for t in tickets if t["order_id"]})
    orders = []
    for platform, order_id in named:
        if draw(st.integers(0, 4)) == 0:
            continue
        paid = draw(st.sampled_from([0, 10_000]) | st.integers(0, 50_000))
        orders.append(
            {
                "platform": platform,
                "order_id": order_id,
                "paid_cents": paid,
                "refunded_cents": draw(
                    st.sampled_from([0, 0, paid, paid + 1]) | st.integers(0, 60_000)
                ),
                "is_forfeited": draw(st.integers(0, 9)) == 0,
                # Virtual or self-pickup orders have no delivery province.
                "province_code": draw(st.none() | st.sampled_from(PROVINCES)),
            }
        )
    return pl.DataFrame(tickets, schema=TICKETS_IN), pl.DataFrame(orders, schema=ORDERS_IN)


def effective_days(draw: st.DrawFn) -> date:
    """A day in the histories' months, often on a month's first or last day."""
    month = draw(st.integers(1, 3))
    edge = draw(st.sampled_from([1, 28, None]))
    return date(2026, month, edge or draw(st.integers(1, 28)))


@st.composite
def timelines(draw: st.DrawFn) -> Timeline:
    """Version 0 and up to two published versions, some on the same day (the later wins)."""
    shipped = draw(rule_sets("0"))
    published = [
        draw(rule_sets(str(n), effective_days(draw))) for n in range(1, draw(st.integers(0, 2)) + 1)
    ]
    return Timeline.of(shipped, published)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Timeline, pl.DataFrame, pl.DataFrame]:
    timeline = draw(timelines())
    window = max(rules.rework.window_days for rules in timeline.versions)
    tickets, orders = draw(histories(window))
    return timeline, tickets, orders


def ordered(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.sort(list(LINE_KEY), nulls_last=True)


@settings(
    max_examples=150,
    deadline=None,
    # The explain phase traces every line on Python 3.11 and takes minutes; shrinking suffices.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_engine_equals_the_reference_to_the_cent(
    case: tuple[Timeline, pl.DataFrame, pl.DataFrame],
) -> None:
    rules, tickets, orders = case
    expected_lines, expected_unpriced = settle_frames(tickets, orders, rules)
    result = settle(tickets.lazy(), orders.lazy(), rules)
    lines, unpriced = pl.collect_all([result.lines, result.unpriced])
    assert lines.schema == pl.Schema(LINES)
    assert unpriced.schema == pl.Schema(UNPRICED)
    assert_frame_equal(ordered(lines), ordered(expected_lines))
    assert_frame_equal(unpriced.sort("ticket_id"), expected_unpriced.sort("ticket_id"))
