"""A payee's "if I complete N more tickets this month": the live rules on the month's real
tickets plus N synthetic ones, through the engine. Reads the serving snapshot; writes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

import polars as pl

from settlement.engine import settle
from settlement.frames import ORDERS_IN, TICKETS_IN
from settlement.timeline import Timeline, period_end
from warehouse.db import connect_serving
from warehouse.settle import query

# The technician's tickets, the originals of their reworks (a rework's pay depends on them) and
# others' reworks of their tickets (charged back to them): all that prices their month.
MONTH_TICKETS = """
with s as (select * from ({tickets}) as q),
mine as (select ticket_id, rework_of from s where technician_id = $technician)
select * from s
where technician_id = $technician
    or ticket_id in (select rework_of from mine)
    or rework_of in (select ticket_id from mine)
"""
MONTH_ORDERS = """
select o.* from ({orders}) as o
where exists (
    select 1 from estimate_tickets as t
    where t.order_platform = o.platform and t.order_id = o.order_id
)
"""
# Lines the engine does not compute from tickets: corrections of closed periods, disputes.
OTHER_LINES = """
select coalesce(sum(amount_cents), 0)::bigint from settlement_lines
where payee_type = 'technician' and payee_id = $technician and period = $period
    and line_kind not in ('ticket', 'chargeback', 'partner_monthly')
"""
CITIES = """
select c.city_code, c.city_name, c.city_tier, c.is_plateau, c.province_code, p.region_group
from cities as c join provinces as p using (province_code) order by c.city_code
"""


@dataclass(frozen=True)
class MonthInputs:
    technician_id: str
    period: str
    tickets: pl.DataFrame  # frames.TICKETS_IN
    orders: pl.DataFrame  # frames.ORDERS_IN
    other_cents: int  # the month's stored lines the engine does not produce
    cities: pl.DataFrame
    items: list[str]


def month_inputs(primary: Path, technician_id: str, period: str) -> MonthInputs:
    params = {"technician": technician_id}
    with connect_serving(primary) as con:
        tickets = con.sql(
            MONTH_TICKETS.format(tickets=query("settlement_tickets")), params=params
        ).pl()
        tickets = tickets.select(pl.col(n).cast(t) for n, t in TICKETS_IN.items())
        con.register("estimate_tickets", tickets)
        orders = con.sql(MONTH_ORDERS.format(orders=query("settlement_orders"))).pl()
        (other,) = con.execute(OTHER_LINES, params | {"period": period}).fetchall()[0]
        cities = con.sql(CITIES).pl()
        items = [r[0] for r in con.sql("select item_code from service_items order by 1").fetchall()]
    return MonthInputs(
        technician_id, period, tickets,
        orders.select(pl.col(n).cast(t) for n, t in ORDERS_IN.items()), int(other), cities, items,
    )  # fmt: skip


@dataclass(frozen=True)
class Projection:
    current_cents: int
    projected_cents: int
    current_count: int  # the month's tickets on the ladder (reworks do not count)
    projected_count: int
    current_rate_bp: int | None  # the ladder rate reached (None: no technician ladder)
    projected_rate_bp: int | None
    crossed: list[tuple[int, int]]  # (start, rate_bp) of every step crossed by the N more
    next_step: tuple[int, int] | None  # the step after the projection
    to_next: int | None  # tickets from the projection to it (count ladders)
    basis: str | None

    @property
    def gain_cents(self) -> int:
        return self.projected_cents - self.current_cents


def synthetic_tickets(
    month: MonthInputs, extra: int, item_code: str, city_code: str
) -> pl.DataFrame:
    """``extra`` plain tickets (quantity 1, no parts, no surcharges, no order) of the item in the
    city, completed on the month's last day after every real ticket."""
    if extra <= 0:
        return month.tickets.clear()
    city = month.cities.filter(pl.col("city_code") == city_code)
    if city.is_empty():
        raise ValueError(f"unknown city: {city_code}")
    place = city.row(0, named=True)
    own = month.tickets.filter(pl.col("technician_id") == month.technician_id).sort("completed_at")
    latest = own.row(-1, named=True) if not own.is_empty() else {}
    day = period_end(month.period)
    start = datetime.combine(day, time(23, 0))
    rows = [
        {
            "ticket_id": f"ESTIMATE-{n:05d}",
            "item_code": item_code,
            "quantity": 1,
            "parts": [],
            "city_code": city_code,
            "city_tier": place["city_tier"],
            "is_plateau": place["is_plateau"],
            "province_code": place["province_code"],
            "region_group": place["region_group"],
            "technician_id": month.technician_id,
            "technician_province_code": latest.get("technician_province_code"),
            "partner_id": latest.get("partner_id"),
            "partner_type": latest.get("partner_type"),
            "partner_region_group": latest.get("partner_region_group"),
            "partner_province_code": latest.get("partner_province_code"),
            "is_urgent": False,
            "is_night": False,
            "is_township": False,
            "is_high_altitude": False,
            "remote_guidance_minutes": 0,
            "member_level": "none",
            "order_platform": None,
            "order_id": None,
            "rework_of": None,
            "completed_at": start + timedelta(seconds=n),
            "completed_date": day,
        }
        for n in range(extra)
    ]
    return pl.DataFrame(rows, schema=TICKETS_IN)


def _month(lines: pl.DataFrame, technician_id: str, period: str) -> tuple[int, int, int | None]:
    """(amount, ladder count, the rate of the last counted ticket)."""
    mine = lines.filter(
        (pl.col("payee_type") == "technician")
        & (pl.col("payee_id") == technician_id)
        & (pl.col("period") == period)
    )
    counted = mine.filter((pl.col("line_kind") == "ticket") & ~pl.col("is_rework"))
    rate = None
    if not counted.is_empty():
        rate = int(counted.sort("ladder_rate_bp")["ladder_rate_bp"][-1])
    return int(mine["amount_cents"].sum()), counted.height, rate


def project(
    month: MonthInputs, timeline: Timeline, extra: int, item_code: str, city_code: str
) -> Projection:
    """The month now and with ``extra`` more tickets, both from the engine under ``timeline``."""
    now = settle(month.tickets.lazy(), month.orders.lazy(), timeline).lines.collect()
    more = pl.concat([month.tickets, synthetic_tickets(month, extra, item_code, city_code)])
    then = settle(more.lazy(), month.orders.lazy(), timeline).lines.collect()
    current, count_now, rate_now = _month(now, month.technician_id, month.period)
    projected, count_then, rate_then = _month(then, month.technician_id, month.period)
    ladder = timeline.version_on(period_end(month.period)).ladders.get("technician")
    crossed: list[tuple[int, int]] = []
    next_step = to_next = None
    if ladder is not None and ladder.basis == "count":
        steps = [(b.start, b.rate_bp) for b in ladder.brackets]
        crossed = [s for s in steps if count_now < s[0] <= count_then and s[0] > steps[0][0]]
        ahead = [s for s in steps if s[0] > count_then]
        if ahead:
            next_step, to_next = ahead[0], ahead[0][0] - count_then
    elif ladder is not None:
        ahead = [(b.start, b.rate_bp) for b in ladder.brackets if b.rate_bp > (rate_then or 0)]
        next_step = ahead[0] if ahead else None
        crossed = [
            (b.start, b.rate_bp)
            for b in ladder.brackets
            if (rate_now or 0) < b.rate_bp <= (rate_then or 0)
        ]
    return Projection(
        current + month.other_cents, projected + month.other_cents, count_now, count_then,
        rate_now, rate_then, crossed, next_step, to_next, ladder.basis if ladder else None,
    )  # fmt: skip
