"""Hand-computed cases for the order split, deductions, decimal exchange rates and rule versions
on a timeline, arithmetic in comments. Each runs through the reference and the engine, which
must agree to the cent. Rounding is half away from zero: ``div_round(n, d)``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from settlement.engine import settle as engine_settle
from settlement.frames import LINE_KEY, ORDERS_IN, TICKETS_IN
from settlement.oracle import settle_frames
from settlement.rules import RuleSet, parse_rules
from settlement.timeline import Timeline
from tests.settlement.test_golden import day, document, nonzero, only, order, partner_ticket
from tests.settlement.test_golden import settle as oracle_settle
from tests.settlement.test_golden import ticket as golden_ticket


def ticket(ticket_id: str = "T1", at: datetime = datetime(2026, 1, 10, 9), **fields: Any) -> Any:
    return golden_ticket(ticket_id, at, **fields)


def settle(
    tickets: list[dict[str, Any]],
    rules: RuleSet | Timeline,
    orders: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The reference's lines, after checking the engine gives exactly the same."""
    timeline = rules if isinstance(rules, Timeline) else Timeline.single(rules)
    lines, _ = oracle_settle(tickets, timeline, orders)  # type: ignore[arg-type]
    frame = pl.DataFrame(tickets, schema=TICKETS_IN)
    order_frame = pl.DataFrame(orders or [], schema=ORDERS_IN)
    expected, _ = settle_frames(frame, order_frame, timeline)
    got = engine_settle(frame.lazy(), order_frame.lazy(), timeline).lines.collect()
    key = list(LINE_KEY)
    assert_frame_equal(got.sort(key, nulls_last=True), expected.sort(key, nulls_last=True))
    return lines


def rules_of(**fields: Any) -> RuleSet:
    return parse_rules(document(**fields))


SPLIT = {
    "partner_modes": {"dealer": {"mode": "order_split"}},
    # The seed's Youzan shop: 15 % of the order as its service fee, 6 % cross-province VAT.
    "deductions": {
        "dealer": {"base": "order", "channel_fees_bp": {"youzan": 1_500},
                   "cross_province_vat_bp": 600},
    },
}  # fmt: skip
SERVED = {"order_platform": "youzan", "order_id": "O1"}


FIFTH = day(5)


def dealer_ticket(ticket_id: str = "T1", at: datetime = FIFTH, **fields: Any) -> dict[str, Any]:
    return partner_ticket(ticket_id, at, "D1", "dealer", partner_province_code="44", **fields)


# --- order split -------------------------------------------------------------------------------


def test_order_split_same_province_pays_the_order_less_the_channel_fee() -> None:
    lines = settle(
        [dealer_ticket(**SERVED)], rules_of(**SPLIT), [order("O1", 100_000, platform="youzan")]
    )
    line = only(lines, "T1", "D1")
    # base 100000; fee −pct(100000, 1500) = −15000; delivered in 44 like the dealer: no VAT
    assert nonzero(line) == {"base_cents": 100_000, "fee_cents": -15_000}
    assert line["amount_cents"] == 85_000


def test_order_split_cross_province_also_deducts_vat_after_the_fee() -> None:
    lines = settle(
        [dealer_ticket(**SERVED)],
        rules_of(**SPLIT),
        [order("O1", 100_000, platform="youzan", province="31")],
    )
    line = only(lines, "T1", "D1")
    # fee −15000; VAT −pct(100000 − 15000, 600) = −5100 → 100000 − 15000 − 5100 = 79900
    assert nonzero(line) == {"base_cents": 100_000, "fee_cents": -15_000, "tax_cents": -5_100}
    assert line["amount_cents"] == 79_900


def test_order_split_claws_back_a_refund_in_proportion() -> None:
    lines = settle(
        [dealer_ticket(**SERVED)],
        rules_of(**SPLIT),
        [order("O1", 100_000, 50_001, platform="youzan", province="31")],
    )
    line = only(lines, "T1", "D1")
    # clawback −div_round(100000 · 50001, 100000) = −50001; net 49999
    # fee −pct(49999, 1500) = −7499.85 → −7500; VAT −pct(42499, 600) = −2549.94 → −2550
    assert nonzero(line) == {
        "base_cents": 100_000,
        "clawback_cents": -50_001,
        "fee_cents": -7_500,
        "tax_cents": -2_550,
    }
    assert line["amount_cents"] == 39_949 and line["is_refunded"]


def test_order_split_forfeited_deposit_leaves_nothing() -> None:
    lines = settle(
        [dealer_ticket(**SERVED)], rules_of(**SPLIT), [order("O1", 30_000, 0, True, "youzan")]
    )
    line = only(lines, "T1", "D1")
    # the whole order is clawed back; fee and VAT on a net of 0 are 0
    assert nonzero(line) == {"base_cents": 30_000, "clawback_cents": -30_000}


def test_order_split_is_earned_once_on_the_orders_first_ticket() -> None:
    lines = settle(
        [dealer_ticket("T2", day(6), **SERVED), dealer_ticket("T1", day(5), **SERVED)],
        rules_of(**SPLIT),
        [order("O1", 10_000, platform="youzan")],
    )
    assert [line["ticket_id"] for line in lines if line["payee_id"] == "D1"] == ["T1"]


def test_order_split_with_an_unknown_order_earns_nothing() -> None:
    lines = settle([dealer_ticket(**SERVED)], rules_of(**SPLIT), [])
    assert [line for line in lines if line["payee_id"] == "D1"] == []


def test_no_delivery_province_means_no_vat() -> None:
    # A virtual or self-pickup order has no place: nobody can tell it crossed a province.
    lines = settle(
        [dealer_ticket(**SERVED)],
        rules_of(**SPLIT),
        [order("O1", 100_000, platform="youzan", province=None)],
    )
    assert only(lines, "T1", "D1")["tax_cents"] == 0


# --- deductions per payee type ---------------------------------------------------------------


def test_technician_deductions_on_the_payout_as_before() -> None:
    legacy = rules_of(channel_fees_bp={"taobao": 50}, cross_province_vat_bp=300)
    explicit = rules_of(
        deductions={
            "technician": {"base": "payout", "channel_fees_bp": {"taobao": 50},
                           "cross_province_vat_bp": 300},
        }
    )  # fmt: skip
    assert legacy == explicit  # the older top-level fields are the technicians' deductions
    served = {"order_platform": "taobao", "order_id": "O1", "technician_province_code": "31"}
    line = only(settle([ticket(**served)], explicit, [order("O1", 20_000)]))
    # base 8000; fee −pct(8000, 50) = −40; VAT −pct(7960, 300) = −238.8 → −239
    assert (line["fee_cents"], line["tax_cents"], line["amount_cents"]) == (-40, -239, 7_721)


def test_a_partner_can_bear_a_fee_on_its_payout() -> None:
    rules = rules_of(
        partner_modes={"dealer": {"mode": "piece_rate", "piece_cents": 10_000}},
        deductions={"dealer": {"base": "payout", "channel_fees_bp": {"youzan": 100}}},
    )
    lines = settle([dealer_ticket(**SERVED)], rules, [order("O1", 50_000, platform="youzan")])
    # piece 10000; fee −pct(10000, 100) = −100; the technician bears nothing (no deductions)
    assert nonzero(only(lines, "T1", "D1")) == {"base_cents": 10_000, "fee_cents": -100}
    assert only(lines, "T1")["fee_cents"] == 0


def test_older_and_newer_fee_forms_together_are_refused() -> None:
    with pytest.raises(ValueError, match=r"older form of deductions\.technician"):
        rules_of(channel_fees_bp={"taobao": 50}, deductions={"technician": {"base": "payout"}})


# --- exchange rates ---------------------------------------------------------------------------


def test_usd_at_an_exact_decimal_rate_rounds_once() -> None:
    rules = rules_of(
        currencies={"东南亚": "USD"},
        exchange_rates={"USD": "7.10"},
        item_prices={"I1": {"A": 71_000_000, "B": 10_000}},
    )
    lines = settle(
        [
            ticket("T1", region_group="东南亚"),
            ticket("T2", city_tier="一线", quantity=10, region_group="东南亚"),
        ],
        rules,
    )
    # 10000 / 7.10 = 100000 / 71 = 1408.45 → 1408 US cents
    t1 = only(lines, "T1")
    assert (t1["currency"], t1["amount_cents"], t1["amount_local_cents"]) == ("USD", 10_000, 1_408)
    # 10 × ¥710 000.00 = ¥7 100 000.00 is exactly US$1 000 000.00: no precision lost
    assert only(lines, "T2")["amount_local_cents"] == 100_000_000


def test_usd_rounds_half_away_from_zero() -> None:
    rules = rules_of(
        currencies={"东南亚": "USD"},
        exchange_rates={"USD": "7.2"},
        item_prices={"I1": {"A": 17, "B": 18}},
        rework={"window_days": 30, "chargeback_bp": 10_000},
    )
    abroad = {"region_group": "东南亚"}
    lines = settle(
        [
            ticket("T1", **abroad),
            ticket("T2", day(11), technician_id="tech-2", rework_of="T1", **abroad),
            ticket("T3", city_tier="一线", technician_id="tech-3", **abroad),
        ],
        rules,
    )
    assert only(lines, "T1")["amount_local_cents"] == 3  # 18 / 7.2 = 2.5 → 3
    # the chargeback −pct(18, 10000) = −18 → −2.5 → −3
    assert only(lines, "T2", "tech-1", "chargeback")["amount_local_cents"] == -3
    assert only(lines, "T3", "tech-3")["amount_local_cents"] == 2  # 17 / 7.2 = 2.36 → 2


# --- versions on a timeline --------------------------------------------------------------------


def version(number: str, effective: date, **fields: Any) -> RuleSet:
    return parse_rules(document(version=number, effective_date=effective.isoformat(), **fields))


def test_a_ticket_on_the_effective_day_takes_the_new_version_the_day_before_the_old() -> None:
    timeline = Timeline.of(
        version("0", date(2020, 1, 1)),
        [version("1", date(2026, 1, 15), item_prices={"I1": {"A": 10_000, "B": 9_000}})],
    )
    lines = settle(
        [ticket("T1", datetime(2026, 1, 14, 23, 59)), ticket("T2", datetime(2026, 1, 15, 0, 0))],
        timeline,
    )
    assert (only(lines, "T1")["base_cents"], only(lines, "T1")["rule_version"]) == (8_000, "0")
    assert (only(lines, "T2")["base_cents"], only(lines, "T2")["rule_version"]) == (9_000, "1")


def test_version_zero_applies_before_its_own_date_and_a_later_publish_wins_a_tie() -> None:
    later = version("2", date(2026, 1, 1), item_prices={"I1": {"A": 1, "B": 2}})
    timeline = Timeline.of(
        version("0", date(2030, 1, 1)),  # the shipped rules cover the beginning, whatever date
        [version("1", date(2026, 1, 1), item_prices={"I1": {"A": 1, "B": 1}}), later],
    )
    lines = settle([ticket("T0", datetime(2025, 6, 1, 9)), ticket("T1")], timeline)
    assert only(lines, "T0")["rule_version"] == "0"
    assert (only(lines, "T1")["rule_version"], only(lines, "T1")["base_cents"]) == ("2", 2)


def test_a_month_counts_every_ticket_on_the_ladder_each_rated_by_its_own_version() -> None:
    def ladder(second_step: int, rate: int) -> dict[str, Any]:
        steps = [{"start": 1, "rate_bp": 10_000}, {"start": second_step, "rate_bp": rate}]
        return {"technician": {"basis": "count", "mode": "graduated", "brackets": steps}}

    timeline = Timeline.of(
        version("0", date(2020, 1, 1), ladders=ladder(3, 11_000)),
        [version("1", date(2026, 1, 15), ladders=ladder(2, 12_000))],
    )
    lines = settle([ticket("T1", day(10)), ticket("T2", day(12)), ticket("T3", day(16))], timeline)
    # T1, T2 under version 0: positions 1, 2 are below its step at 3 → 100 %
    # T3 under version 1: position 3 (the month's earlier tickets count) ≥ 2 → 120 %, +1600
    assert [only(lines, t)["ladder_rate_bp"] for t in ("T1", "T2", "T3")] == [
        10_000,
        10_000,
        12_000,
    ]
    assert only(lines, "T3")["ladder_cents"] == 1_600


def test_monthly_terms_are_those_in_force_on_the_periods_last_day() -> None:
    def guarantee(minimum: int) -> dict[str, Any]:
        return {"agent": {"mode": "guaranteed_minimum", "piece_cents": 1_000,
                          "minimum_cents": minimum, "threshold_cents": 10**9,
                          "excess_bonus_bp": 0}}  # fmt: skip

    timeline = Timeline.of(
        version("0", date(2020, 1, 1), partner_modes=guarantee(20_000)),
        [version("1", date(2026, 1, 20), partner_modes=guarantee(30_000))],
    )
    lines = settle([partner_ticket("T1", day(10), "AG1", "agent")], timeline)
    # the ticket is version 0's (piece 1000); January's guarantee is version 1's: 30000 − 1000
    assert only(lines, "T1", "AG1")["rule_version"] == "0"
    monthly = only(lines, None, "AG1", "partner_monthly")
    assert (monthly["guarantee_cents"], monthly["rule_version"]) == (29_000, "1")


def test_the_local_amount_is_exact_where_the_product_would_pass_64_bits() -> None:
    import polars as pl

    from settlement.money import scale_round
    from settlement.oracle import div_round

    # 10^15 cents at 6.999999 CNY per unit: 10^15 · 10^6 is past 2^63, the result is not.
    amounts = [10**15, -(10**15), 18, -18, 0, 9_223_372_036_854]
    frame = pl.DataFrame({"amount": amounts})
    got = frame.select(
        scale_round(pl.col("amount"), pl.lit(1_000_000, pl.Int64), pl.lit(6_999_999, pl.Int64))
    ).to_series()
    assert got.to_list() == [div_round(a * 1_000_000, 6_999_999) for a in amounts]
