"""A settlement line in words, amount first: the engine's explanation, in the reader's language."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl
import streamlit as st

from pages.components.i18n import N_, _, code
from settlement import explain
from settlement.explain import yuan

# The messages settlement.explain.line_words says a line with, marked here for the catalog.
LINE_MESSAGES = (
    N_("{amount} paid"), N_("tier {tier}"), N_("ladder rate {rate} %"), N_("rework"),
    N_("order refunded"), N_("rules version {version}"),
)  # fmt: skip
# Expandable rows drawn at once (each is a widget the browser lays out: 200 took a second on a
# desktop); the full list stays in the table below and in the exports.
CARDS_SHOWN = 50


def line_words(line: Mapping[str, Any]) -> str:
    """ "¥174.00 · 基础价 ¥145.00 · B 档 · 地区系数 +¥29.00 …": the amount, then every part."""
    return explain.line_words(line, _, code)


def line_title(line: Mapping[str, Any]) -> str:
    what = line.get("ticket_id") or code("payee_type", line.get("payee_type"))
    return f"{yuan(int(line['amount_cents']))} · {what} · {code('line_kind', line['line_kind'])}"


def cards(lines: pl.DataFrame, *, payees: bool = False) -> None:
    """One tap-to-expand row per line (readable on a phone); says so when the list is cut. The
    few lines that are not a ticket's own (monthly lines, chargebacks, adjustments) come first,
    so that a cut list never hides them."""
    rows = lines.sort(pl.col("line_kind") == "ticket", maintain_order=True)
    rows = rows.head(CARDS_SHOWN).to_dicts()
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
