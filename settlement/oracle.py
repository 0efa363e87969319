"""The reference engine: docs/settlement.md done the plain way, one ticket at a time.

Deliberately simple and slow: dictionaries and loops, integer arithmetic, no Polars in the
computation. The tests hold the vectorised engine to this, to the cent, on random tickets and
rule sets; keeping the two written differently is the point.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import polars as pl

from settlement.frames import BREAKDOWN, LINES, UNPRICED
from settlement.rules import Ladder, RuleSet

Row = dict[str, Any]
BP = 10_000


def div_round(numerator: int, denominator: int) -> int:
    """Half away from zero, integers only."""
    magnitude = (abs(numerator) * 2 + denominator) // (2 * denominator)
    return -magnitude if numerator < 0 else magnitude


def pct(amount: int, bp: int) -> int:
    return div_round(amount * bp, BP)


def _price_tier(ticket: Row, rules: RuleSet) -> str | None:
    if ticket["city_code"] in rules.city_price_tiers:
        return rules.city_price_tiers[ticket["city_code"]]
    return rules.tier_map.get(ticket["city_tier"])


def _unpriced_reason(ticket: Row, tier: str | None, rules: RuleSet) -> str | None:
    item_price = rules.item_prices.get(ticket["item_code"], {}).get(tier or "")
    if item_price is None:
        return f"no price for item {ticket['item_code']} in tier {tier}"
    for part in ticket["parts"] or []:
        if rules.part_prices.get(part["part_code"], {}).get(tier or "") is None:
            return f"no price for part {part['part_code']} in tier {tier}"
    return None


def _rate(ladder: Ladder | None, measure: int) -> int:
    if ladder is None:
        return BP
    rate = ladder.brackets[0].rate_bp
    for bracket in ladder.brackets:
        if measure >= bracket.start:
            rate = bracket.rate_bp
    return rate


def _ladder_rates(items: list[Row], ladder: Ladder | None, labour_key: str) -> dict[str, int]:
    """ticket_id -> rate for one payee's tickets of one period (reworks get 10 000)."""
    ordered = sorted(items, key=lambda r: (r["completed_at"], r["ticket_id"]))
    counted = [r for r in ordered if not r["is_rework"]]
    rates = {r["ticket_id"]: BP for r in ordered}
    if ladder is None:
        return rates
    if ladder.basis == "count":
        month = len(counted)
        measures = {r["ticket_id"]: k for k, r in enumerate(counted, start=1)}
    else:
        month = sum(r[labour_key] for r in counted)
        running, measures = 0, {}
        for r in counted:
            measures[r["ticket_id"]] = running
            running += r[labour_key]
    for r in counted:
        measure = month if ladder.mode == "retroactive" else measures[r["ticket_id"]]
        rates[r["ticket_id"]] = _rate(ladder, measure)
    return rates


def _blank_line(**values: Any) -> Row:
    line: Row = dict.fromkeys(BREAKDOWN, 0)
    line.update(ladder_rate_bp=BP, is_rework=False, is_refunded=False, price_tier=None)
    line.update(values)
    return line


def _finish(line: Row, region_group: str | None, rules: RuleSet) -> Row:
    line["amount_cents"] = sum(line[name] for name in BREAKDOWN)
    currency = rules.currencies.get(region_group, "CNY")  # type: ignore[call-overload]
    rate = rules.exchange_rates_ppm.get(currency, 1_000_000)
    line["currency"] = currency
    line["amount_local_cents"] = div_round(line["amount_cents"] * rate, 1_000_000)
    line["rule_version"] = rules.version
    return {name: line.get(name) for name in LINES}


def _claw(amount: int, order: Row | None, rules: RuleSet) -> tuple[int, bool]:
    """(clawback cents, refunded?) for an amount earned on a ticket serving ``order``."""
    if order is None:
        return 0, False
    if order["is_forfeited"]:
        return (-amount if rules.refunds.clawback else 0), True
    paid = order["paid_cents"]
    if paid <= 0:
        return 0, False
    refunded = min(order["refunded_cents"], paid)
    if refunded <= 0:
        return 0, False
    if not rules.refunds.clawback:
        return 0, True
    return -div_round(amount * refunded, paid), True


def settle_rows(
    tickets: list[Row], orders: list[Row], rules: RuleSet
) -> tuple[list[Row], list[Row]]:
    orders_by_key = {(o["platform"], o["order_id"]): o for o in orders}
    unpriced: list[Row] = []
    priced: list[Row] = []
    for ticket in tickets:
        period = ticket["completed_date"].strftime("%Y-%m")
        tier = _price_tier(ticket, rules)
        reason = _unpriced_reason(ticket, tier, rules)
        if reason is not None:
            unpriced.append(
                {"period": period, "ticket_id": ticket["ticket_id"], "reason": reason,
                 "rule_version": rules.version}
            )  # fmt: skip
            continue
        t = dict(ticket, period=period, price_tier=tier)
        base = rules.item_prices[t["item_code"]][tier] * t["quantity"]  # type: ignore[index]
        parts = sum(
            rules.part_prices[p["part_code"]][tier] * p["quantity"]  # type: ignore[index]
            for p in (t["parts"] or [])
        )
        coefficients = rules.region_coefficients
        coef = coefficients.cities.get(
            t["city_code"], coefficients.provinces.get(t["province_code"], BP)
        )
        s, sub = rules.surcharges, rules.subsidies
        t["components"] = {
            "base_cents": base,
            "parts_cents": parts,
            "coefficient_cents": pct(base, coef - BP),
            "urgent_cents": pct(base, s.urgent_bp) if t["is_urgent"] else 0,
            "night_cents": s.night_cents if t["is_night"] else 0,
            "high_altitude_cents": s.high_altitude_cents if t["is_high_altitude"] else 0,
            "plateau_cents": sub.plateau_cents if t["is_plateau"] else 0,
            "township_cents": sub.township_cents if t["is_township"] else 0,
            "remote_cents": div_round(
                t["remote_guidance_minutes"] * sub.remote_guidance_hourly_cents, 60
            ),
            "discount_cents": -pct(base, rules.member_discounts_bp.get(t["member_level"], 0)),
        }
        t["labour"] = sum(v for k, v in t["components"].items() if k != "parts_cents")
        priced.append(t)

    by_id = {t["ticket_id"]: t for t in priced}
    window = timedelta(days=rules.rework.window_days)
    for t in priced:
        original = by_id.get(t["rework_of"]) if t["rework_of"] else None
        t["original"] = None
        if original is not None:
            elapsed = t["completed_at"] - original["completed_at"]
            if timedelta(0) <= elapsed <= window:
                t["original"] = original
        t["is_rework"] = t["original"] is not None
        key = (t["order_platform"], t["order_id"])
        t["order"] = orders_by_key.get(key) if t["order_id"] is not None else None

    lines: list[Row] = []
    # Technicians.
    groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for t in priced:
        groups[(t["technician_id"], t["period"])].append(t)
    rates: dict[str, int] = {}
    for items in groups.values():
        rates.update(_ladder_rates(items, rules.ladders.get("technician"), "labour"))
    for t in priced:
        line = _blank_line(
            period=t["period"], line_kind="ticket", payee_type="technician",
            payee_id=t["technician_id"], ticket_id=t["ticket_id"], price_tier=t["price_tier"],
            is_rework=t["is_rework"], **t["components"],
        )  # fmt: skip
        rate = rates[t["ticket_id"]]
        line["ladder_rate_bp"] = rate
        line["ladder_cents"] = pct(t["labour"], rate - BP)
        if t["is_rework"]:
            line["rework_cents"] = -pct(t["labour"], BP - rules.rework.pay_bp)
        pre = t["labour"] + line["parts_cents"] + line["ladder_cents"] + line["rework_cents"]
        line["clawback_cents"], line["is_refunded"] = _claw(pre, t["order"], rules)
        before_fee = pre + line["clawback_cents"]
        if t["order_platform"] is not None:
            fee_bp = rules.channel_fees_bp.get(t["order_platform"], 0)
            line["fee_cents"] = -pct(before_fee, fee_bp)
        home = t["technician_province_code"]
        if home is not None and home != t["province_code"]:
            line["tax_cents"] = -pct(before_fee + line["fee_cents"], rules.cross_province_vat_bp)
        lines.append(_finish(line, t["region_group"], rules))
        if t["is_rework"] and rules.rework.chargeback_bp > 0:
            charge = _blank_line(
                period=t["period"], line_kind="chargeback", payee_type="technician",
                payee_id=t["original"]["technician_id"], ticket_id=t["ticket_id"],
                price_tier=t["price_tier"],
                chargeback_cents=-pct(t["labour"], rules.rework.chargeback_bp),
            )  # fmt: skip
            lines.append(_finish(charge, t["region_group"], rules))

    # Partners: per-ticket lines.
    def has_mode(t: Row) -> bool:
        if t["partner_id"] is None or t["partner_type"] is None:
            return False
        return (
            t["partner_type"] in rules.partner_modes or t["partner_id"] in rules.partner_overrides
        )

    first_of_order: dict[tuple[str, str], str] = {}
    for t in sorted(priced, key=lambda r: (r["completed_at"], r["ticket_id"])):
        if t["order"] is not None and has_mode(t):
            first_of_order.setdefault((t["order_platform"], t["order_id"]), t["ticket_id"])
    partner_items: list[Row] = []
    for t in priced:
        if not has_mode(t):
            continue
        mode = rules.mode_for(t["partner_id"], t["partner_type"])
        base = bonus = 0
        if mode.mode in ("piece_rate", "guaranteed_minimum"):
            base = mode.piece_cents
        elif mode.mode == "percent_of_sales":
            key = (t["order_platform"], t["order_id"])
            if t["order"] is None or first_of_order.get(key) != t["ticket_id"]:
                continue
            base = pct(t["order"]["paid_cents"], mode.rate_bp)
        else:  # base fee plus bonus: a per-ticket line only for tickets with an order id
            if t["order_id"] is None:
                continue
            bonus = mode.per_order_bonus_cents  # type: ignore[union-attr]
        partner_items.append(dict(t, p_base=base, p_bonus=bonus, p_labour=base + bonus, mode=mode))

    partner_groups: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for item in partner_items:
        partner_groups[(item["partner_id"], item["period"])].append(item)
    partner_rates: dict[str, int] = {}
    for items in partner_groups.values():
        ladder = rules.ladders.get(items[0]["partner_type"])
        partner_rates.update(_ladder_rates(items, ladder, "p_labour"))
    month_totals: dict[tuple[str, str], int] = defaultdict(int)
    for item in partner_items:
        line = _blank_line(
            period=item["period"], line_kind="ticket", payee_type=item["partner_type"],
            payee_id=item["partner_id"], ticket_id=item["ticket_id"], price_tier=item["price_tier"],
            is_rework=item["is_rework"], base_cents=item["p_base"], bonus_cents=item["p_bonus"],
        )  # fmt: skip
        rate = partner_rates[item["ticket_id"]]
        line["ladder_rate_bp"] = rate
        line["ladder_cents"] = pct(item["p_labour"], rate - BP)
        if item["is_rework"]:
            line["rework_cents"] = -pct(item["p_labour"], BP - rules.rework.pay_bp)
        pre = item["p_labour"] + line["ladder_cents"] + line["rework_cents"]
        line["clawback_cents"], line["is_refunded"] = _claw(pre, item["order"], rules)
        finished = _finish(line, item["region_group"], rules)
        lines.append(finished)
        month_totals[(item["partner_id"], item["period"])] += finished["amount_cents"]

    # Partners: monthly lines, for each partner and period with a priced ticket.
    seen: dict[tuple[str, str], Row] = {}
    for t in priced:
        if has_mode(t):
            seen.setdefault((t["partner_id"], t["period"]), t)
    for (partner_id, period), t in seen.items():
        mode = rules.mode_for(partner_id, t["partner_type"])
        line = _blank_line(
            period=period, line_kind="partner_monthly", payee_type=t["partner_type"],
            payee_id=partner_id, ticket_id=None,
        )  # fmt: skip
        if mode.mode == "guaranteed_minimum":
            total = month_totals.get((partner_id, period), 0)
            line["guarantee_cents"] = max(0, mode.minimum_cents - total)
            line["bonus_cents"] = pct(max(0, total - mode.threshold_cents), mode.excess_bonus_bp)
        elif mode.mode == "base_fee_plus_bonus":
            line["base_cents"] = mode.base_fee_cents
        finished = _finish(line, t["partner_region_group"], rules)
        if finished["amount_cents"] != 0:
            lines.append(finished)
    return lines, unpriced


def settle_frames(
    tickets: pl.DataFrame, orders: pl.DataFrame, rules: RuleSet
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The same on frames (the adapter converts; the computation above never sees Polars)."""
    lines, unpriced = settle_rows(tickets.to_dicts(), orders.to_dicts(), rules)
    return pl.DataFrame(lines, schema=LINES), pl.DataFrame(unpriced, schema=UNPRICED)
