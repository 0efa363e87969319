"""Golden cases: small scenarios with hand-computed payouts, evaluated with the real engine.

A case describes one ticket (city, item, parts, urgent / night / remote guidance, …) and the
technician's position in their month (the case ticket is their n-th completed ticket, so the
ladder applies); it expects the technician's amount and, optionally, the partner's amount on the
ticket line, in cents. Evaluation settles synthetic tickets built from the case under a timeline
and compares. Pure: the caller passes where each city lies (tier, province, region group).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from settlement.engine import settle
from settlement.explain import yuan
from settlement.frames import ORDERS_IN, TICKETS_IN
from settlement.timeline import Timeline

TECHNICIAN = "GOLDEN-TECH"
PARTNER = "GOLDEN-PARTNER"
MEMBER_LEVELS = ("none", "silver", "gold", "platinum")
PARTNER_TYPES = ("direct", "dealer", "agent")


class GoldenCase(BaseModel):
    """One scenario and its expected payouts (cents)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    note: str = ""
    city_code: str = Field(min_length=1)
    item_code: str = Field(min_length=1)
    quantity: int = Field(default=1, ge=1, le=10_000, strict=True)
    parts: str = ""  # "P-COMP-01:1, P-PIPE-01:2"
    is_urgent: bool = False
    is_night: bool = False
    is_township: bool = False
    is_high_altitude: bool = False
    remote_guidance_minutes: int = Field(default=0, ge=0, le=100_000, strict=True)
    member_level: str = "none"
    position: int = Field(default=1, ge=1, le=10_000, strict=True)  # n-th ticket of the month
    partner_type: str = "direct"
    completed_date: date | None = None  # None: the day the newest version takes effect, or today
    expected_technician_cents: int = Field(strict=True)
    expected_partner_cents: int | None = Field(default=None, strict=True)

    @field_validator("member_level")
    @classmethod
    def _member(cls, value: str) -> str:
        if value not in MEMBER_LEVELS:
            raise ValueError(f"unknown member level {value!r}")
        return value

    @field_validator("partner_type")
    @classmethod
    def _partner(cls, value: str) -> str:
        if value not in PARTNER_TYPES:
            raise ValueError(f"unknown partner type {value!r}")
        return value

    @field_validator("parts")
    @classmethod
    def _parts(cls, value: str) -> str:
        part_list(value)
        return value.strip()


def part_list(text: str) -> list[dict[str, Any]]:
    """``"P-A:1, P-B:2"`` as the engine's parts list; raises ValueError naming a bad entry."""
    parts = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        code, _, count = entry.partition(":")
        try:
            quantity = int(count or "1")
        except ValueError:
            raise ValueError(f"part {entry!r}: write CODE:QUANTITY") from None
        if not code.strip() or quantity < 1:
            raise ValueError(f"part {entry!r}: write CODE:QUANTITY")
        parts.append({"part_code": code.strip(), "quantity": quantity})
    return parts


@dataclass(frozen=True)
class Place:
    city_tier: str
    province_code: str
    region_group: str
    is_plateau: bool


@dataclass(frozen=True)
class Outcome:
    name: str
    expected_technician_cents: int
    actual_technician_cents: int | None  # None: unpriced
    expected_partner_cents: int | None
    actual_partner_cents: int | None
    problem: str | None  # why it could not be settled (unknown city, unpriced)

    @property
    def passed(self) -> bool:
        return (
            self.problem is None
            and self.actual_technician_cents == self.expected_technician_cents
            and (
                self.expected_partner_cents is None
                or self.actual_partner_cents == self.expected_partner_cents
            )
        )


def case_day(case: GoldenCase, timeline: Timeline, today: date) -> date:
    if case.completed_date is not None:
        return case.completed_date
    newest = timeline.versions[-1].effective_date
    return max(today, newest) if newest else today


def case_tickets(case: GoldenCase, place: Place, day: date) -> pl.DataFrame:
    """The case ticket and, before it on the same day, ``position - 1`` plain tickets of the
    same item for the same technician (its ladder position)."""
    count = case.position
    finished = datetime.combine(day, time(12))
    rows = []
    for n in range(count):
        own = n == count - 1
        rows.append({
            "ticket_id": f"{case.name}#{n + 1}" if not own else case.name,
            "item_code": case.item_code, "quantity": case.quantity if own else 1,
            "parts": part_list(case.parts) if own else [],
            "city_code": case.city_code, "city_tier": place.city_tier,
            "is_plateau": place.is_plateau, "province_code": place.province_code,
            "region_group": place.region_group, "technician_id": TECHNICIAN,
            "technician_province_code": place.province_code, "partner_id": PARTNER,
            "partner_type": case.partner_type, "partner_region_group": place.region_group,
            "partner_province_code": place.province_code,
            "is_urgent": own and case.is_urgent, "is_night": own and case.is_night,
            "is_township": own and case.is_township,
            "is_high_altitude": own and case.is_high_altitude,
            "remote_guidance_minutes": case.remote_guidance_minutes if own else 0,
            "member_level": case.member_level if own else "none", "order_platform": None,
            "order_id": None, "rework_of": None,
            "completed_at": finished - timedelta(seconds=count - n), "completed_date": day,
        })  # fmt: skip
    return pl.DataFrame(rows, schema=TICKETS_IN)


def evaluate(
    cases: list[GoldenCase], timeline: Timeline, places: dict[str, Place], today: date
) -> list[Outcome]:
    """Each case settled alone under ``timeline``, against what it expects."""
    outcomes = []
    orders = pl.DataFrame(schema=ORDERS_IN).lazy()
    for case in cases:
        place = places.get(case.city_code)
        if place is None:
            outcomes.append(
                Outcome(case.name, case.expected_technician_cents, None,
                        case.expected_partner_cents, None, f"unknown city {case.city_code}")
            )  # fmt: skip
            continue
        tickets = case_tickets(case, place, case_day(case, timeline, today))
        result = settle(tickets.lazy(), orders, timeline)
        lines = result.lines.collect().filter(
            (pl.col("ticket_id") == case.name) & (pl.col("line_kind") == "ticket")
        )
        unpriced = result.unpriced.collect().filter(pl.col("ticket_id") == case.name)

        def amount(payee_type: str | None, frame: pl.DataFrame = lines) -> int | None:
            chosen = frame.filter(
                pl.col("payee_type") == "technician"
                if payee_type == "technician"
                else pl.col("payee_type") != "technician"
            )
            return int(chosen["amount_cents"].sum()) if not chosen.is_empty() else None

        problem = str(unpriced["reason"][0]) if not unpriced.is_empty() else None
        outcomes.append(
            Outcome(case.name, case.expected_technician_cents, amount("technician"),
                    case.expected_partner_cents, amount("partner"), problem)
        )  # fmt: skip
    return outcomes


def failure_text(outcome: Outcome) -> str:
    """A failed case in words: its name, expected and actual amounts as yuan to the fen
    (English; ``warehouse.golden.failure`` says the same words with their template)."""
    if outcome.problem:
        return f"golden case '{outcome.name}': {outcome.problem}"
    parts = []
    if outcome.actual_technician_cents != outcome.expected_technician_cents:
        parts.append(
            f"technician expected {yuan(outcome.expected_technician_cents)},"
            f" actual {_amount(outcome.actual_technician_cents)}"
        )
    if (
        outcome.expected_partner_cents is not None
        and outcome.actual_partner_cents != outcome.expected_partner_cents
    ):
        parts.append(
            f"partner expected {yuan(outcome.expected_partner_cents)},"
            f" actual {_amount(outcome.actual_partner_cents)}"
        )
    return f"golden case '{outcome.name}': {'; '.join(parts)}"


def _amount(cents: int | None) -> str:
    return "nothing" if cents is None else yuan(cents)


def parse_case(row: dict[str, Any]) -> GoldenCase:
    """A case from loose values (an editor's or a spreadsheet's row); ValidationError names the
    field."""
    return GoldenCase.model_validate(row)


__all__ = ["GoldenCase", "Outcome", "Place", "ValidationError", "evaluate", "failure_text"]
