"""Bulk price edits ("+10 % on tier B installs") and the list of prices a draft changes."""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
import polars as pl
import streamlit as st
from pandas.io.formats.style import Styler

from pages.components.formatting import show_table, yuan
from pages.components.i18n import _, code, frozen
from pages.components.rule_forms import Document, apply, headers, key, show_problems
from pipelines.reference import load_reference


def scaled_prices(
    draft: Document, tier: str, items: set[str] | None, percent: float | Decimal
) -> Document:
    """``draft`` with tier ``tier`` of ``items`` (None: all) changed by ``percent``, each price
    rounded to the fen half up (the editor's rounding for yuan typed by hand)."""
    factor = (Decimal(100) + Decimal(str(percent))) / 100
    updated = copy.deepcopy(draft)
    for item, prices in updated["item_prices"].items():
        if tier in prices and (items is None or item in items):
            prices[tier] = int((Decimal(prices[tier]) * factor).quantize(1, ROUND_HALF_UP))
    return updated


def price_changes(before: Document, after: Document, names: dict[str, str]) -> pl.DataFrame:
    """Every item price ``after`` sets differently from ``before``: the draft's edited cells."""
    rows: list[dict[str, Any]] = []
    for item, prices in sorted(after["item_prices"].items()):
        for tier, cents in prices.items():
            old = before["item_prices"].get(item, {}).get(tier)
            if old != cents:
                rows.append({"item_code": item, "item_name": names.get(item, ""),
                             "price_tier": tier, "before_cents": old, "after_cents": cents,
                             "change_rate": (cents - old) / old if old else None})  # fmt: skip
    schema = {
        "item_code": pl.String, "item_name": pl.String, "price_tier": pl.String,
        "before_cents": pl.Int64, "after_cents": pl.Int64, "change_rate": pl.Float64,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


EDITED = "background-color: #fff1b8; font-weight: 600"


def edited_grid(before: Document, after: Document, names: dict[str, str]) -> Styler:
    """The items whose prices ``after`` changes, one column per tier, the changed cells
    highlighted (Streamlit's editor cannot colour cells; a styled grid can)."""
    tiers = sorted({t for prices in after["item_prices"].values() for t in prices})
    code_h, name_h = headers("item_code", "item_name")
    rows, marks = [], []
    for item, prices in sorted(after["item_prices"].items()):
        old = before["item_prices"].get(item, {})
        changed = [old.get(t) != prices.get(t) for t in tiers]
        if any(changed):
            rows.append({code_h: item, name_h: names.get(item, ""),
                         **{t: yuan(prices[t]) if t in prices else "" for t in tiers}})  # fmt: skip
            marks.append(["", "", *(EDITED if c else "" for c in changed)])
    frame = pd.DataFrame(rows, columns=[code_h, name_h, *tiers])
    styles = pd.DataFrame(marks, columns=frame.columns, index=frame.index)
    return frame.style.apply(lambda _frame: styles, axis=None)


def bulk_form(draft_key: str, draft: Document, newest: Document, newest_version: int) -> None:
    ref = load_reference()
    items = ref.service_items.select("item_code", "item_name", "category")
    categories = ["", *sorted(set(items["category"]))]
    with st.form("bulk-prices"):
        st.caption(_("Change many prices at once, e.g. +10 % on tier B installs."))
        left, middle, right = st.columns(3)
        tier = left.selectbox(_("Price tier"), list(draft["price_tiers"]), key=key("bulk-tier"))
        category = middle.selectbox(
            _("Category"), categories, key=key("bulk-category"),
            format_func=frozen(lambda c: code("item_category", c) if c else _("all"), categories),
        )  # fmt: skip
        percent = right.number_input(_("Change (%)"), value=10.0, step=1.0, key=key("bulk-pct"))
        if st.form_submit_button(_("Apply the change to the draft")):
            chosen = None
            if category:
                chosen = set(items.filter(pl.col("category") == category)["item_code"])
            apply(draft_key, scaled_prices(draft, str(tier), chosen, percent), "bulk")
    show_problems("bulk")
    names = dict(items.select("item_code", "item_name").iter_rows())
    changed = price_changes(newest, draft, names)
    if not changed.is_empty():
        st.caption(
            _("{count:,} price(s) edited against version {version}:").format(
                count=changed.height, version=newest_version
            )
        )
        st.dataframe(edited_grid(newest, draft, names), hide_index=True)
        show_table(changed)
