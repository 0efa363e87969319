"""The Rules page's preview of a draft: totals, the adjustments closed periods would get, the
change by dimension, per ticket, per payee and across ladder steps."""

from __future__ import annotations

import polars as pl
import streamlit as st

from pages.components import charts
from pages.components.formatting import export_buttons, money_config, yuan, yuan_columns
from settlement.preview import Preview


def show(result: Preview, reached: list[str], first_open: str | None) -> None:
    """Draw ``result``; ``reached`` are the closed periods the draft's date re-prices."""
    cols = st.columns(4)
    cols[0].metric("Live payouts", yuan(result.live_cents))
    cols[1].metric("Draft payouts", yuan(result.draft_cents))
    cols[2].metric("Change", yuan(result.delta_cents))
    cols[3].metric("Payees crossing a ladder step", f"{result.ladder_crossings.height:,}")
    if reached:
        adjust = (
            result.lines.filter(pl.col("period").is_in(reached))
            .group_by("period")
            .agg(adjustment_cents=pl.col("delta_cents").sum(), lines=pl.len())
            .sort("period")
        )
        st.warning(
            f"This effective date reaches closed {', '.join(reached)}: publishing it needs "
            f"the retroactive box, and these adjustments would be booked in "
            f"{first_open or 'the month after the latest period'}."
        )
        st.dataframe(yuan_columns(adjust), column_config=money_config(adjust), hide_index=True)
    for name, frame in result.by.items():
        st.subheader(f"By {name.replace('_', ' ')}")
        shown = frame.filter(pl.col("delta_cents") != 0)
        st.dataframe(yuan_columns(shown), column_config=money_config(shown), hide_index=True)
    histogram = charts.change_per_ticket(result.lines)
    if histogram is not None:
        st.plotly_chart(histogram, key="per-ticket")
    payees = result.by["payee"].sort("delta_cents")
    winners, losers = st.columns(2)
    winners.subheader("Biggest winners")
    winners.dataframe(yuan_columns(payees.tail(10).reverse()), hide_index=True)
    losers.subheader("Biggest losers")
    losers.dataframe(yuan_columns(payees.head(10)), hide_index=True)
    st.subheader("Who crosses a ladder step")
    st.dataframe(yuan_columns(result.ladder_crossings), hide_index=True)
    export_buttons(result.lines, "preview_lines", key="preview-lines")
