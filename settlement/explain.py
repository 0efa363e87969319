"""A settlement line's breakdown in words: every yuan of it accounted for."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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
    "fee_cents": "channel service fee",
    "tax_cents": "cross-province VAT",
}
MONTHLY_LABELS = {
    "guarantee_cents": "guaranteed monthly minimum top-up",
    "bonus_cents": "excess bonus above the threshold",
    "base_cents": "monthly base fee",
}
SYMBOLS = {"CNY": "¥", "USD": "US$", "HKD": "HK$"}
KIND = {
    "ticket": "for the ticket",
    "chargeback": "chargeback",
    "partner_monthly": "monthly partner line",
    "adjustment": "adjustment",
    "manual_adjustment": "manual adjustment (dispute)",
}


def money(cents: int, currency: str = "CNY") -> str:
    """An amount with its currency's symbol and thousands separators; exact (integers only)."""
    sign = "-" if cents < 0 else ""
    whole, fraction = divmod(abs(cents), 100)
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{whole:,}.{fraction:02d}"


def yuan(cents: int) -> str:
    return money(cents, "CNY")


def _payout(line: Mapping[str, Any]) -> str:
    """The line's amount in CNY, and in its payout currency when that is another."""
    text = yuan(int(line["amount_cents"]))
    currency = str(line.get("currency") or "CNY")
    if currency != "CNY":
        text += f" = {money(int(line['amount_local_cents']), currency)} paid"
    return text


def parts(
    line: Mapping[str, Any],
    labels: Mapping[str, str] | None = None,
    monthly_labels: Mapping[str, str] | None = None,
) -> list[tuple[str, int]]:
    """The line's non-zero breakdown, in breakdown order, as (words, cents).

    ``labels`` and ``monthly_labels`` replace the English words (a dashboard shows them in its
    reader's language); a partner's monthly line (and an adjustment of one) reads its own columns
    with the monthly words.
    """
    words, monthly = LABELS | dict(labels or {}), MONTHLY_LABELS | dict(monthly_labels or {})
    # An adjustment of a monthly line reads as the monthly line it corrects.
    is_monthly = "partner_monthly" in (line["line_kind"], line.get("origin_kind"))
    table = words | monthly if is_monthly else words
    return [(table[name], int(line[name])) for name in BREAKDOWN if line[name]]


def _signed(cents: int) -> str:
    return ("+" if cents > 0 else "") + yuan(cents)


def line_words(
    line: Mapping[str, Any],
    message: Callable[[str], str] = str,
    word: Callable[[str, object], str] = lambda _kind, value: str(value),
) -> str:
    """ "¥174.00 · 基础价 ¥145.00 · B 档 · 地区系数 +¥29.00 …": the amount, then every part, in
    the words ``message`` (a sentence) and ``word`` (a code of a kind) give: the dashboard's
    cards and the PDF statements say a line the same way."""
    labels = {name: word("breakdown", name) for name in LABELS}
    monthly = {name: word("breakdown_monthly", name) for name in MONTHLY_LABELS}
    pieces = [yuan(int(line["amount_cents"]))]
    if line.get("line_kind") == "manual_adjustment":
        dispute = line.get("dispute_id")
        pieces.append(message("manual adjustment for dispute {id}").format(id=dispute))
        return " · ".join(pieces)
    currency = str(line.get("currency") or "CNY")
    if currency != "CNY":
        local = money(int(line["amount_local_cents"]), currency)
        pieces[0] += " = " + message("{amount} paid").format(amount=local)
    for index, (label, cents) in enumerate(parts(line, labels, monthly)):
        pieces.append(f"{label} {yuan(cents) if index == 0 else _signed(cents)}")
    if line.get("price_tier"):
        pieces.append(message("tier {tier}").format(tier=line["price_tier"]))
    if line.get("ladder_rate_bp") not in (None, 10_000):
        rate = f"{line['ladder_rate_bp'] / 100:g}"
        pieces.append(message("ladder rate {rate} %").format(rate=rate))
    if line.get("is_rework"):
        pieces.append(message("rework"))
    if line.get("is_refunded"):
        pieces.append(message("order refunded"))
    pieces.append(message("rules version {version}").format(version=line["rule_version"]))
    return " · ".join(pieces)


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
    rows = [f"  {label:<54} {yuan(cents):>14}" for label, cents in parts(line)]
    total = f"  {'= amount':<54} {_payout(line):>14}"
    return "\n".join([head, f"  ({', '.join(details)})", *rows, total])


def _totals(lines: Sequence[Mapping[str, Any]]) -> str:
    """The lines' total in CNY, and per payout currency other than CNY."""
    text = yuan(sum(int(line["amount_cents"]) for line in lines))
    local: dict[str, int] = {}
    for line in lines:
        currency = str(line.get("currency") or "CNY")
        if currency != "CNY":
            local[currency] = local.get(currency, 0) + int(line["amount_local_cents"])
    paid = ", ".join(money(cents, currency) for currency, cents in sorted(local.items()))
    return f"{text} ({paid} paid)" if paid else text


def explain(ticket_id: str, lines: Sequence[Mapping[str, Any]]) -> str:
    if not lines:
        return f"ticket {ticket_id}: no settlement lines (not completed, unpriced, or not settled)"
    body = "\n\n".join(explain_line(line) for line in lines)
    return f"ticket {ticket_id}: {len(lines)} line(s), {_totals(lines)} in all\n\n{body}"


def explain_payee_month(payee_id: str, period: str, lines: Sequence[Mapping[str, Any]]) -> str:
    """A payee's month: totals by kind of line, the ladder reached, every monthly line
    (guarantee top-up, excess bonus, base fee) and adjustment in full, and the versions used."""
    if not lines:
        return f"{payee_id} · {period}: no settlement lines"
    by_kind: dict[str, list[Mapping[str, Any]]] = {}
    for line in lines:
        by_kind.setdefault(str(line["line_kind"]), []).append(line)
    rows = [f"{lines[0]['payee_type']} {payee_id} · period {period}: {_totals(lines)} in all"]
    for kind, kind_lines in by_kind.items():
        rows.append(
            f"  {KIND.get(kind, kind):<40} {len(kind_lines):>6} line(s) {_totals(kind_lines)}"
        )
    tickets = by_kind.get("ticket", [])
    top = max((int(line["ladder_rate_bp"]) for line in tickets), default=10_000)
    if top != 10_000:
        rows.append(f"  highest ladder rate reached: {top / 100:g} %")
    versions = sorted({str(line["rule_version"]) for line in lines})
    rows.append(f"  rule versions: {', '.join(versions)}")
    detailed = [*by_kind.get("partner_monthly", []), *by_kind.get("adjustment", [])]
    body = "\n\n".join(explain_line(line) for line in detailed)
    return "\n".join(rows) + (f"\n\n{body}" if body else "")
