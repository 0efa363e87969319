"""A settlement line's breakdown in words: every yuan of it accounted for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from settlement.frames import BREAKDOWN

LABELS = {
    "base_cents": "base price for the item and quantity",
    "parts_cents": "spare parts at internal prices",
    "coefficient_cents": "region coefficient",
    "urgent_cents": "urgent surcharge",
    "night_cents": "night service",
    "high_altitude_cents": "work at height",
    "plateau_cents": "plateau subsidy",
    "township_cents": "township subsidy",
    "remote_cents": "remote guidance",
    "discount_cents": "customer member discount",
    "ladder_cents": "monthly ladder",
    "rework_cents": "rework not paid twice",
    "chargeback_cents": "charged back for a rework of this technician's ticket",
    "clawback_cents": "clawed back for a refunded order",
    "guarantee_cents": "guaranteed monthly minimum top-up",
    "bonus_cents": "bonus",
    "fee_cents": "channel fee",
    "tax_cents": "cross-province VAT",
}
KIND = {
    "ticket": "for the ticket",
    "chargeback": "chargeback",
    "partner_monthly": "monthly partner line",
    "adjustment": "adjustment",
}


def yuan(cents: int) -> str:
    """¥ with thousands separators; exact (integer arithmetic, no float)."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    return f"{sign}¥{whole:,}.{fraction:02d}"


def explain_line(line: Mapping[str, Any]) -> str:
    kind = KIND.get(str(line["line_kind"]), str(line["line_kind"]))
    head = f"{line['payee_type']} {line['payee_id']} · {kind} · period {line['period']}"
    if line.get("origin_period"):
        head += f" (corrects {line['origin_period']})"
    details = []
    if line.get("price_tier"):
        details.append(f"price tier {line['price_tier']}")
    if line.get("ladder_rate_bp") not in (None, 10_000):
        details.append(f"ladder rate {line['ladder_rate_bp'] / 100:g} %")
    if line.get("is_rework"):
        details.append("rework")
    if line.get("is_refunded"):
        details.append("order refunded")
    details.append(f"rules {line['rule_version']}")
    rows = [f"  {LABELS[name]:<54} {yuan(int(line[name])):>14}" for name in BREAKDOWN if line[name]]
    total = f"  {'= amount':<54} {yuan(int(line['amount_cents'])):>14}"
    return "\n".join([head, f"  ({', '.join(details)})", *rows, total])


def explain(ticket_id: str, lines: Sequence[Mapping[str, Any]]) -> str:
    if not lines:
        return f"ticket {ticket_id}: no settlement lines (not completed, unpriced, or not settled)"
    total = sum(int(line["amount_cents"]) for line in lines)
    body = "\n\n".join(explain_line(line) for line in lines)
    return f"ticket {ticket_id}: {len(lines)} line(s), {yuan(total)} in all\n\n{body}"
