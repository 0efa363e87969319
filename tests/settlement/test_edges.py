"""Bad-data edges where the engine must still agree with the reference engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from settlement.engine import settle
from settlement.frames import LINE_KEY, ORDERS_IN, TICKETS_IN
from settlement.oracle import settle_frames
from settlement.rules import load_rules

AT = datetime(2026, 3, 2, 2)


def ticket(**changes: Any) -> dict[str, Any]:
    row = {name: None for name in TICKETS_IN} | {
        "ticket_id": "E1", "item_code": "INS-AC-01", "quantity": 1, "parts": [],
        "city_code": "310100", "city_tier": "一线", "is_plateau": False, "province_code": "31",
        "region_group": "华东", "technician_id": "T1", "technician_province_code": "31",
        "partner_id": "PT1", "partner_type": "dealer", "partner_region_group": "华东",
        "is_urgent": False, "is_night": False, "is_township": False, "is_high_altitude": False,
        "remote_guidance_minutes": 0, "member_level": "none", "completed_at": AT,
        "completed_date": AT.date(),
    }  # fmt: skip
    return row | changes


@pytest.mark.parametrize(
    ("tickets", "orders"),
    [
        ([ticket(rework_of="E1")], []),  # a ticket naming itself as its original
        ([ticket(remote_guidance_minutes=None)], []),
        (
            [ticket(order_platform="taobao", order_id="O1")],
            [
                ("taobao", "O1", 10_000, 0, False, "31"),
                ("taobao", "O1", 10_000, 5_000, False, "31"),
            ],
        ),  # the same order twice
        (
            [ticket(order_platform="taobao", order_id="O1")],
            [("taobao", "O1", 10_000, -500, False, None)],
        ),  # a negative refund
    ],
)
def test_the_engine_agrees_with_the_reference_on_bad_data(
    tickets: list[dict[str, Any]], orders: list[tuple[Any, ...]]
) -> None:
    rules = load_rules()
    frame = pl.DataFrame(tickets, schema=TICKETS_IN)
    order_frame = pl.DataFrame(orders, schema=ORDERS_IN, orient="row")
    expected, _ = settle_frames(frame, order_frame, rules)
    lines = settle(frame.lazy(), order_frame.lazy(), rules).lines.collect()
    key = list(LINE_KEY)
    assert_frame_equal(lines.sort(key, nulls_last=True), expected.sort(key, nulls_last=True))


def test_codes_given_as_text_are_refused_by_name() -> None:
    # Lookups gather by the category's integer: text would be priced as nothing, so it is refused.
    frame = pl.DataFrame([ticket()], schema=TICKETS_IN).with_columns(pl.col("city_code").cast(str))
    orders = pl.DataFrame(schema=ORDERS_IN)
    with pytest.raises(TypeError, match=r"tickets\.city_code is String"):
        settle(frame.lazy(), orders.lazy(), load_rules())


def test_a_code_first_seen_after_the_inputs_prices_like_the_others() -> None:
    # Categories created between building the inputs and settling (another frame's codes)
    # shift no lookup: positions are worked out over every category known when settling.
    first = pl.DataFrame([ticket()], schema=TICKETS_IN)
    pl.Series(["城市-新", "I-新"], dtype=pl.Categorical)
    second = pl.DataFrame([ticket(ticket_id="E2", city_code="110100")], schema=TICKETS_IN)
    tickets = pl.concat([first, second])
    orders = pl.DataFrame(schema=ORDERS_IN)
    rules = load_rules()
    expected, _ = settle_frames(tickets, orders, rules)
    lines = settle(tickets.lazy(), orders.lazy(), rules).lines.collect()
    key = list(LINE_KEY)
    assert_frame_equal(lines.sort(key, nulls_last=True), expected.sort(key, nulls_last=True))
