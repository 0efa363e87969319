"""The reference settlement: docs/settlement.md read row by row, in plain Python.

Deliberately slow and obvious. It exists so the vectorised engine can be checked against an
independent reading of the spec; it shares nothing with the engine but the rule model and the
output column names. Integers only: money in cents, rates in basis points.

Decisions where the spec leaves room (kept in one place so the tests can name them):
- A ticket "serves an order" when it has both ``order_platform`` and ``order_id``; the channel fee
  needs no matching order row, the clawback ratio and percent_of_sales do (an unknown order has
  ratio 0 and earns no sales share).
- A rework's original must be another priced input ticket completed no later than the rework and
  at most ``window_days`` × 24 h before it.
- An earnings measure below the first bracket (possible when discounts make labour negative)
  takes the first bracket's rate.
- percent_of_sales pays on the first priced ticket serving the order, whichever partner that
  ticket has; an unpriced ticket is not settled at all, so it is never that first ticket.
- ``is_refunded`` states the order's ratio; it stays true with ``refunds.clawback`` off.
- A chargeback line keeps the rework ticket's region group (for its currency), not its price tier.
- A partner type with neither a mode nor an override for the partner settles no partner line.
- Versions: a ticket takes the version effective on its completion date for everything about
  it (prices, ladder brackets, rework policy, clawback, deductions, currency); ladder positions
  and monthly totals count every line of the month whatever its version; a monthly partner line
  takes the version effective on the period's last day.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from datetime import date, timedelta
from fractions import Fraction
from typing import Any, TypeVar, cast

import polars as pl

from settlement.frames import BREAKDOWN, LINES, UNPRICED
from settlement.rules import (
    BaseFeePlusBonus,
    GuaranteedMinimum,
    Ladder,
    OrderSplit,
    PartnerMode,
    PartnerType,
    PercentOfSales,
    PieceRate,
    RuleSet,
)
from settlement.timeline import Timeline

BP = 10_000
PARTNER_TYPES = ("direct", "dealer", "agent")
Row = TypeVar("Row")


def div_round(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` to the nearest integer, halves away from zero."""
    assert denominator > 0
    magnitude = (abs(numerator) * 2 + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def pct(amount: int, bp: int) -> int:
    return div_round(amount * bp, BP)


def _period(ticket: dict[str, Any]) -> str:
    return ticket["completed_date"].strftime("%Y-%m")


def _order_key(ticket: dict[str, Any]) -> tuple[str, str] | None:
    if ticket.get("order_platform") is None or ticket.get("order_id") is None:
        return None
    return (ticket["order_platform"], ticket["order_id"])


def _when(ticket: dict[str, Any]) -> tuple[Any, str]:
    """Position order everywhere: completed_at, then ticket_id."""
    return (ticket["completed_at"], ticket["ticket_id"])


def _price_tier(ticket: dict[str, Any], rules: RuleSet) -> str | None:
    city = ticket.get("city_code")
    if city is not None and city in rules.city_price_tiers:
        return rules.city_price_tiers[city]
    return cast(dict[str, str], rules.tier_map).get(ticket.get("city_tier") or "")


def _unpriced_reason(ticket: dict[str, Any], tier: str | None, rules: RuleSet) -> str | None:
    item = ticket["item_code"]
    if tier is None or tier not in rules.item_prices.get(item, {}):
        return f"no price for item {item} in tier {tier}"
    for part in ticket.get("parts") or []:
        code = part["part_code"]
        if tier not in rules.part_prices.get(code, {}):
            return f"no price for part {code} in tier {tier}"
    return None


def _ladder_rates(
    ladders: list[Ladder | None], labours: list[int], reworks: list[bool]
) -> list[int]:
    """Rates for one payee's lines in one period, already in position order; each line is
    rated by its own version's ladder, counting every line of the month."""
    counted = [labour for labour, rework in zip(labours, reworks, strict=True) if not rework]
    rates = []
    seen = 0  # non-rework lines before this one
    earned = 0  # their labour
    for ladder, labour, rework in zip(ladders, labours, reworks, strict=True):
        if rework or ladder is None:
            rates.append(BP)
        else:
            if ladder.basis == "count":
                own, month = seen + 1, len(counted)
            else:
                own, month = earned, sum(counted)
            rates.append(_bracket_rate(ladder, month if ladder.mode == "retroactive" else own))
        if not rework:
            seen += 1
            earned += labour
    return rates


def _bracket_rate(ladder: Ladder, measure: int) -> int:
    rate = ladder.brackets[0].rate_bp
    for bracket in ladder.brackets:
        if bracket.start <= measure:
            rate = bracket.rate_bp
    return rate


def _ratio(order: dict[str, Any] | None) -> tuple[int, int]:
    """The clawback ratio as (numerator, denominator); (0, 1) when nothing is taken back."""
    if order is None:
        return (0, 1)
    paid = order.get("paid_cents") or 0
    if order.get("is_forfeited"):
        return (1, 1)
    if paid <= 0:
        return (0, 1)
    refunded = max(0, min(order.get("refunded_cents") or 0, paid))
    return (refunded, paid)


def _mode(ticket: dict[str, Any], rules: RuleSet) -> PartnerMode | None:
    partner_id, partner_type = ticket.get("partner_id"), ticket.get("partner_type")
    if partner_id is None or partner_type not in PARTNER_TYPES:
        return None
    if partner_id in rules.partner_overrides:
        return rules.partner_overrides[partner_id]
    return rules.partner_modes.get(cast(PartnerType, partner_type))


def _currency(region_group: str | None, rules: RuleSet) -> str:
    groups = cast(dict[str, str], rules.currencies)
    return groups.get(region_group or "", "CNY")


def _rate(currency: str, rules: RuleSet) -> Fraction:
    """CNY per unit of ``currency``, exactly."""
    if currency == "CNY":
        return Fraction(1)
    if currency in rules.exchange_rates:
        return Fraction(rules.exchange_rates[currency])
    return Fraction(1_000_000, rules.exchange_rates_ppm[currency])


def _version_on(day: date, timeline: Timeline) -> RuleSet:
    """The last version (in effect order) whose effective date is on or before ``day``;
    version 0 applies from the beginning."""
    chosen = timeline.versions[0]
    for rules in timeline.versions[1:]:
        if rules.effective_date <= day:
            chosen = rules
    return chosen


def _month_end(period: str) -> date:
    year, month = int(period[:4]), int(period[5:])
    return date(year, month, calendar.monthrange(year, month)[1])


def _deductions(
    rules: RuleSet,
    payee_type: str,
    payee_province: str | None,
    before_fee: int,
    ticket: dict[str, Any],
    order: dict[str, Any] | None,
) -> tuple[int, int]:
    """(fee_cents, tax_cents) of a line: docs/settlement.md, "Fees and tax"."""
    terms = rules.deductions_for(cast(Any, payee_type))
    key = _order_key(ticket)
    if terms.base == "order":
        if order is None:
            base = 0
        else:
            paid = order.get("paid_cents") or 0
            taken, whole = _ratio(order)
            base = paid - (div_round(paid * taken, whole) if rules.refunds.clawback else 0)
        place = order.get("province_code") if order is not None else None
    else:
        base = before_fee
        place = ticket.get("province_code")
    fees = cast(dict[str, int], terms.channel_fees_bp)
    fee = -pct(base, fees.get(key[0], 0)) if key else 0
    crosses = payee_province is not None and place is not None and payee_province != place
    tax = -pct(base + fee, terms.cross_province_vat_bp) if crosses else 0
    return fee, tax


def _line(
    rules: RuleSet,
    *,
    period: str,
    kind: str,
    payee_type: str,
    payee_id: str,
    ticket_id: str | None,
    price_tier: str | None,
    region_group: str | None,
    amount: int,
    components: dict[str, int],
    ladder_rate_bp: int = BP,
    is_rework: bool = False,
    is_refunded: bool = False,
) -> dict[str, Any]:
    currency = _currency(region_group, rules)
    rate = _rate(currency, rules)
    row: dict[str, Any] = {
        "period": period,
        "line_kind": kind,
        "payee_type": payee_type,
        "payee_id": payee_id,
        "ticket_id": ticket_id,
        "price_tier": price_tier,
        "ladder_rate_bp": ladder_rate_bp,
        **{name: components.get(name, 0) for name in BREAKDOWN},
        "amount_cents": amount,
        "currency": currency,
        "amount_local_cents": div_round(amount * rate.denominator, rate.numerator),
        "is_rework": is_rework,
        "is_refunded": is_refunded,
        "rule_version": rules.version,
    }
    assert set(components) <= set(BREAKDOWN), components
    assert list(row) == list(LINES)
    return row


def _technician_components(ticket: dict[str, Any], tier: str, rules: RuleSet) -> dict[str, int]:
    base = rules.item_prices[ticket["item_code"]][tier] * ticket["quantity"]
    parts = sum(
        rules.part_prices[part["part_code"]][tier] * part["quantity"]
        for part in ticket.get("parts") or []
    )
    coefficient = rules.region_coefficients.cities.get(
        ticket.get("city_code") or "",
        rules.region_coefficients.provinces.get(ticket.get("province_code") or "", BP),
    )
    discounts = cast(dict[str, int], rules.member_discounts_bp)
    return {
        "base_cents": base,
        "parts_cents": parts,
        "coefficient_cents": pct(base, coefficient - BP),
        "urgent_cents": pct(base, rules.surcharges.urgent_bp) if ticket.get("is_urgent") else 0,
        "night_cents": rules.surcharges.night_cents if ticket.get("is_night") else 0,
        "high_altitude_cents": (
            rules.surcharges.high_altitude_cents if ticket.get("is_high_altitude") else 0
        ),
        "plateau_cents": rules.subsidies.plateau_cents if ticket.get("is_plateau") else 0,
        "township_cents": rules.subsidies.township_cents if ticket.get("is_township") else 0,
        "remote_cents": div_round(
            (ticket.get("remote_guidance_minutes") or 0)
            * rules.subsidies.remote_guidance_hourly_cents,
            60,
        ),
        "discount_cents": -pct(base, discounts.get(ticket.get("member_level") or "", 0)),
    }


SUBTOTAL = (
    "base_cents",
    "parts_cents",
    "coefficient_cents",
    "urgent_cents",
    "night_cents",
    "high_altitude_cents",
    "plateau_cents",
    "township_cents",
    "remote_cents",
    "discount_cents",
)


def settle_rows(
    tickets: list[dict[str, Any]], orders: list[dict[str, Any]], rules: RuleSet | Timeline
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Settle completed tickets: (lines, unpriced), dicts keyed exactly like LINES / UNPRICED.
    Each ticket is settled under the version effective on its completion date."""
    timeline = rules if isinstance(rules, Timeline) else Timeline((rules,))
    order_rows = {(o["platform"], o["order_id"]): o for o in orders}
    lines: list[dict[str, Any]] = []
    unpriced: list[dict[str, Any]] = []

    def rules_of(ticket: dict[str, Any]) -> RuleSet:
        return _version_on(ticket["completed_date"], timeline)

    # 1. Price every ticket; an unpriced one leaves settlement here and is never seen again.
    priced: list[dict[str, Any]] = []
    tier_of: dict[str, str] = {}
    for ticket in sorted(tickets, key=_when):
        own = rules_of(ticket)
        tier = _price_tier(ticket, own)
        reason = _unpriced_reason(ticket, tier, own)
        if reason is not None:
            unpriced.append(
                {
                    "period": _period(ticket),
                    "ticket_id": ticket["ticket_id"],
                    "reason": reason,
                    "rule_version": own.version,
                }
            )
            continue
        assert tier is not None
        priced.append(ticket)
        tier_of[ticket["ticket_id"]] = tier
    by_id = {t["ticket_id"]: t for t in priced}

    # 2. Which priced tickets are reworks (of a priced original inside the rework's window).
    original_of: dict[str, dict[str, Any]] = {}
    for ticket in priced:
        original = by_id.get(ticket.get("rework_of") or "")
        if original is None or original["ticket_id"] == ticket["ticket_id"]:
            continue
        gap = ticket["completed_at"] - original["completed_at"]
        if timedelta(0) <= gap <= timedelta(days=rules_of(ticket).rework.window_days):
            original_of[ticket["ticket_id"]] = original

    def order_of(ticket: dict[str, Any]) -> dict[str, Any] | None:
        key = _order_key(ticket)
        return order_rows.get(key) if key else None

    def clawback(amount: int, ticket: dict[str, Any]) -> int:
        taken, paid = _ratio(order_of(ticket))
        if not rules_of(ticket).refunds.clawback or taken == 0:
            return 0
        return -div_round(amount * taken, paid)

    # 3. Technician lines, payee by payee and period by period (for the ladder).
    components = {
        t["ticket_id"]: _technician_components(t, tier_of[t["ticket_id"]], rules_of(t))
        for t in priced
    }
    labour_of = {
        tid: sum(c[name] for name in SUBTOTAL) - c["parts_cents"] for tid, c in components.items()
    }
    for group in _groups(priced, lambda t: (t["technician_id"], _period(t))):
        ids = [t["ticket_id"] for t in group]
        rates = _ladder_rates(
            [rules_of(t).ladders.get("technician") for t in group],
            [labour_of[i] for i in ids],
            [i in original_of for i in ids],
        )
        for ticket, rate in zip(group, rates, strict=True):
            own = rules_of(ticket)
            tid = ticket["ticket_id"]
            parts = dict(components[tid])
            subtotal = sum(parts[name] for name in SUBTOTAL)
            labour = labour_of[tid]
            rework = tid in original_of
            parts["ladder_cents"] = pct(labour, rate - BP)
            parts["rework_cents"] = -pct(labour, BP - own.rework.pay_bp) if rework else 0
            pre_clawback = subtotal + parts["ladder_cents"] + parts["rework_cents"]
            parts["clawback_cents"] = clawback(pre_clawback, ticket)
            before_fee = pre_clawback + parts["clawback_cents"]
            parts["fee_cents"], parts["tax_cents"] = _deductions(
                own,
                "technician",
                ticket.get("technician_province_code"),
                before_fee,
                ticket,
                order_of(ticket),
            )
            lines.append(
                _line(
                    own,
                    period=_period(ticket),
                    kind="ticket",
                    payee_type="technician",
                    payee_id=ticket["technician_id"],
                    ticket_id=tid,
                    price_tier=tier_of[tid],
                    region_group=ticket.get("region_group"),
                    amount=before_fee + parts["fee_cents"] + parts["tax_cents"],
                    components=parts,
                    ladder_rate_bp=rate,
                    is_rework=rework,
                    is_refunded=_ratio(order_of(ticket))[0] > 0,
                )
            )

    # 4. Chargebacks: the original's technician pays back part of the rework's labour.
    for ticket in priced:
        original = original_of.get(ticket["ticket_id"])
        share = rules_of(ticket).rework.chargeback_bp
        if original is None or share == 0:
            continue
        charge = -pct(labour_of[ticket["ticket_id"]], share)
        lines.append(
            _line(
                rules_of(ticket),
                period=_period(ticket),
                kind="chargeback",
                payee_type="technician",
                payee_id=original["technician_id"],
                ticket_id=ticket["ticket_id"],
                price_tier=None,
                region_group=ticket.get("region_group"),
                amount=charge,
                components={"chargeback_cents": charge},
            )
        )

    lines.extend(
        _partner_lines(priced, original_of, order_rows, timeline, rules_of, clawback, tier_of)
    )
    return lines, unpriced


def _groups(rows: Iterable[Row], key: Callable[[Row], Hashable]) -> list[list[Row]]:
    """Rows grouped by key, each group keeping the order the rows came in."""
    groups: dict[Hashable, list[Row]] = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return list(groups.values())


def _partner_lines(
    priced: list[dict[str, Any]],
    original_of: dict[str, dict[str, Any]],
    order_rows: dict[tuple[str, str], dict[str, Any]],
    timeline: Timeline,
    rules_of: Callable[[dict[str, Any]], RuleSet],
    clawback: Callable[[int, dict[str, Any]], int],
    tier_of: dict[str, str],
) -> list[dict[str, Any]]:
    # The first priced ticket of each known order, across all periods (priced is in time order).
    first_of_order: dict[tuple[str, str], str] = {}
    for ticket in priced:
        key = _order_key(ticket)
        if key is not None and key in order_rows:
            first_of_order.setdefault(key, ticket["ticket_id"])

    # What each ticket earns its partner before ladder, rework and clawback (None: no line).
    earns: list[tuple[dict[str, Any], dict[str, int]]] = []
    for ticket in priced:
        mode = _mode(ticket, rules_of(ticket))
        key = _order_key(ticket)
        first = key is not None and first_of_order.get(key) == ticket["ticket_id"]
        if isinstance(mode, PieceRate | GuaranteedMinimum):
            earns.append((ticket, {"base_cents": mode.piece_cents}))
        elif isinstance(mode, PercentOfSales) and first:
            paid = order_rows[cast(tuple[str, str], key)].get("paid_cents") or 0
            earns.append((ticket, {"base_cents": pct(paid, mode.rate_bp)}))
        elif isinstance(mode, OrderSplit) and first:
            paid = order_rows[cast(tuple[str, str], key)].get("paid_cents") or 0
            earns.append((ticket, {"base_cents": paid}))
        elif isinstance(mode, BaseFeePlusBonus) and ticket.get("order_id") is not None:
            earns.append((ticket, {"bonus_cents": mode.per_order_bonus_cents}))

    lines: list[dict[str, Any]] = []
    month_total: dict[tuple[str, str, str], int] = defaultdict(int)
    for group in _groups(
        earns, lambda e: (e[0]["partner_type"], e[0]["partner_id"], _period(e[0]))
    ):
        partner_type = group[0][0]["partner_type"]
        labours = [c.get("base_cents", 0) + c.get("bonus_cents", 0) for _, c in group]
        reworks = [t["ticket_id"] in original_of for t, _ in group]
        ladders = [rules_of(t).ladders.get(partner_type) for t, _ in group]
        rates = _ladder_rates(ladders, labours, reworks)
        for (ticket, earned), labour, rework, rate in zip(
            group, labours, reworks, rates, strict=True
        ):
            own = rules_of(ticket)
            parts = dict(earned)
            parts["ladder_cents"] = pct(labour, rate - BP)
            parts["rework_cents"] = -pct(labour, BP - own.rework.pay_bp) if rework else 0
            pre_clawback = labour + parts["ladder_cents"] + parts["rework_cents"]
            parts["clawback_cents"] = clawback(pre_clawback, ticket)
            before_fee = pre_clawback + parts["clawback_cents"]
            key = _order_key(ticket)
            order = order_rows.get(key) if key else None
            parts["fee_cents"], parts["tax_cents"] = _deductions(
                own, partner_type, ticket.get("partner_province_code"), before_fee, ticket, order
            )
            amount = before_fee + parts["fee_cents"] + parts["tax_cents"]
            period = _period(ticket)
            month_total[(partner_type, ticket["partner_id"], period)] += amount
            lines.append(
                _line(
                    own,
                    period=period,
                    kind="ticket",
                    payee_type=partner_type,
                    payee_id=ticket["partner_id"],
                    ticket_id=ticket["ticket_id"],
                    price_tier=tier_of[ticket["ticket_id"]],
                    region_group=ticket.get("region_group"),
                    amount=amount,
                    components=parts,
                    ladder_rate_bp=rate,
                    is_rework=rework,
                    is_refunded=_ratio(order)[0] > 0,
                )
            )

    # Monthly lines: once per partner and period in which the partner has a priced ticket with
    # a mode; the month's terms are those of the version in force on its last day.
    for month in _groups(
        (t for t in priced if _mode(t, rules_of(t)) is not None),
        lambda t: (t["partner_type"], t["partner_id"], _period(t)),
    ):
        first = month[0]
        partner_type, partner_id, period = (
            first["partner_type"],
            first["partner_id"],
            _period(first),
        )
        month_rules = _version_on(_month_end(period), timeline)
        mode = _mode(first, month_rules)
        total = month_total[(partner_type, partner_id, period)]
        monthly: dict[str, int] = {}
        if isinstance(mode, GuaranteedMinimum):
            monthly["guarantee_cents"] = max(0, mode.minimum_cents - total)
            monthly["bonus_cents"] = pct(max(0, total - mode.threshold_cents), mode.excess_bonus_bp)
        elif isinstance(mode, BaseFeePlusBonus):
            monthly["base_cents"] = mode.base_fee_cents
        amount = sum(monthly.values())
        if amount == 0:
            continue
        lines.append(
            _line(
                month_rules,
                period=period,
                kind="partner_monthly",
                payee_type=partner_type,
                payee_id=partner_id,
                ticket_id=None,
                price_tier=None,
                region_group=first.get("partner_region_group"),
                amount=amount,
                components=monthly,
            )
        )
    return lines


def settle_frames(
    tickets: pl.DataFrame | pl.LazyFrame,
    orders: pl.DataFrame | pl.LazyFrame,
    rules: RuleSet | Timeline,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The same on frames (TICKETS_IN / ORDERS_IN in, LINES / UNPRICED out); conversion only."""
    if isinstance(tickets, pl.LazyFrame):
        tickets = tickets.collect()
    if isinstance(orders, pl.LazyFrame):
        orders = orders.collect()
    lines, unpriced = settle_rows(tickets.to_dicts(), orders.to_dicts(), rules)
    return pl.DataFrame(lines, schema=LINES), pl.DataFrame(unpriced, schema=UNPRICED)
