"""A settlement line in words, amount first: the engine's explanation, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
import streamlit as st

from pages.components.i18n import _, code
from settlement.explain import LABELS, MONTHLY_LABELS, money, parts, yuan

CARDS_SHOWN = 200  # expandable rows drawn at once; the full list stays in the table below


def _signed(cents: int) -> str:
    return ("+" if cents > 0 else "") + yuan(cents)


def line_words(line: Mapping[str, Any]) -> str:
    """ "¥174.00 · 基础价 ¥145.00 · B 档 · 地区系数 +¥29.00 …": the amount, then every part."""
    labels = {name: code("breakdown", name) for name in LABELS}
    monthly = {name: code("breakdown_monthly", name) for name in MONTHLY_LABELS}
    pieces = [yuan(int(line["amount_cents"]))]
    if line.get("line_kind") == "manual_adjustment":
        pieces.append(_("manual adjustment for dispute {id}").format(id=line.get("dispute_id")))
        return " · ".join(pieces)
    currency = str(line.get("currency") or "CNY")
    if currency != "CNY":
        local = money(int(line["amount_local_cents"]), currency)
        pieces[0] += " = " + _("{amount} paid").format(amount=local)
    for index, (label, cents) in enumerate(parts(line, labels, monthly)):
        pieces.append(f"{label} {yuan(cents) if index == 0 else _signed(cents)}")
    if line.get("price_tier"):
        pieces.append(_("tier {tier}").format(tier=line["price_tier"]))
    if line.get("ladder_rate_bp") not in (None, 10_000):
        pieces.append(_("ladder rate {rate} %").format(rate=f"{line['ladder_rate_bp'] / 100:g}"))
    if line.get("is_rework"):
        pieces.append(_("rework"))
    if line.get("is_refunded"):
        pieces.append(_("order refunded"))
    pieces.append(_("rules version {version}").format(version=line["rule_version"]))
    return " · ".join(pieces)


def line_title(line: Mapping[str, Any]) -> str:
    what = line.get("ticket_id") or code("payee_type", line.get("payee_type"))
    return f"{yuan(int(line['amount_cents']))} · {what} · {code('line_kind', line['line_kind'])}"


def cards(lines: pl.DataFrame, *, payees: bool = False) -> None:
    """One tap-to-expand row per line (readable on a phone); says so when the list is cut."""
    rows = lines.head(CARDS_SHOWN).to_dicts()
    for line in rows:
        title = line_title(line)
        if payees:
            title += f" · {code('payee_type', line['payee_type'])} {line['payee_id']}"
        with st.expander(title):
            st.markdown(line_words(line).replace("$", "\\$"))
    if lines.height > len(rows):
        st.caption(
            _("Showing {shown:,} of {total:,} lines; the table and the exports hold all.").format(
                shown=len(rows), total=lines.height
            )
        )
