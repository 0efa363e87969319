"""The Rules page's preview of a draft: totals, the adjustments closed periods would get, the
change by dimension (with names, not codes), per ticket, per payee and across ladder steps."""

from __future__ import annotations

import polars as pl
import streamlit as st

from pages.components import charts
from pages.components.formatting import export_buttons, short_yuan, show_table, yuan
from pages.components.i18n import _, code
from pipelines.reference import load_reference
from settlement.preview import Preview


def named(frame: pl.DataFrame) -> pl.DataFrame:
    """Province and item codes with their names beside them."""
    ref = load_reference()
    if "province_code" in frame.columns:
        provinces = ref.provinces.select("province_code", "province_name")
        frame = frame.join(provinces, on="province_code", how="left").select(
            "region_group", "province_name", pl.exclude("region_group", "province_name")
        ).drop("province_code")  # fmt: skip
    if "item_code" in frame.columns:
        items = ref.service_items.select("item_code", "item_name")
        frame = frame.join(items, on="item_code", how="left").select(
            "item_code", "item_name", pl.exclude("item_code", "item_name")
        )
    return frame


def money_card(col, label: str, cents: int) -> None:  # type: ignore[no-untyped-def]
    col.metric(label, short_yuan(cents), help=yuan(cents))


def show(result: Preview, reached: list[str], first_open: str | None) -> None:
    """Draw ``result``; ``reached`` are the closed periods the draft's date re-prices."""
    cols = st.columns(4)
    money_card(cols[0], _("Live payouts"), result.live_cents)
    money_card(cols[1], _("Draft payouts"), result.draft_cents)
    money_card(cols[2], _("Change"), result.delta_cents)
    cols[3].metric(_("Payees crossing a ladder step"), f"{result.ladder_crossings.height:,}")
    if reached:
        adjust = (
            result.lines.filter(pl.col("period").is_in(reached))
            .group_by("period")
            .agg(adjustment_cents=pl.col("delta_cents").sum(), lines=pl.len())
            .sort("period")
        )
        st.warning(
            _(
                "This effective date reaches closed {periods}: publishing it needs the "
                "retroactive box, and these adjustments would be booked in {booked}."
            ).format(
                periods=", ".join(reached),
                booked=first_open or _("the month after the latest period"),
            )
        )
        show_table(adjust)
    for name, frame in result.by.items():
        st.subheader(_("By {dimension}").format(dimension=code("dimension", name)))
        show_table(named(frame.filter(pl.col("delta_cents") != 0)))
    histogram = charts.change_per_ticket(result.lines)
    if histogram is not None:
        st.plotly_chart(histogram, key="per-ticket")
    payees = result.by["payee"].sort("delta_cents")
    winners, losers = st.columns(2)
    with winners:
        st.subheader(_("Biggest winners"))
        gaining = payees.filter(pl.col("delta_cents") > 0).tail(10).reverse()
        if gaining.is_empty():
            st.caption(_("Nobody gains."))
        else:
            show_table(gaining)
    with losers:
        st.subheader(_("Biggest losers"))
        losing = payees.filter(pl.col("delta_cents") < 0).head(10)
        if losing.is_empty():
            st.caption(_("Nobody loses."))
        else:
            show_table(losing)
    st.subheader(_("Who crosses a ladder step"))
    show_table(result.ladder_crossings)
    # Built when asked for: an Excel file of every line a wide edit moves takes seconds.
    export_buttons(lambda: result.lines, _("Preview lines"), key="preview-lines")
