"""Overview (managers): revenue and payouts per ticket, the trend, best and worst regions."""

from __future__ import annotations

import polars as pl
import streamlit as st

from pages.components import charts, data
from pages.components.formatting import export_buttons, money_config, yuan, yuan_columns
from pages.components.page import choose_period, open_view, safely

view = open_view("overview")
period = choose_period(view)
st.title("Overview")
st.caption(
    "Revenue: what customers paid for the orders the tickets served, net of refunds. "
    "Payouts: what the tickets earned technicians and partners (settlement lines)."
)

figures = safely("the overview", lambda: data.overview(view.db, view.version, view.scope, period))
now = figures.filter(pl.col("period") == period)
before = figures.filter(pl.col("period") != period)
if now.is_empty():
    st.info(f"No settled tickets in {period}.")
    st.stop()


def value(frame: pl.DataFrame, column: str) -> int:
    return int(frame[column][0]) if not frame.is_empty() else 0


def per_ticket(frame: pl.DataFrame, column: str) -> int:
    tickets = value(frame, "tickets")
    return value(frame, column) // tickets if tickets else 0


def delta(current: int, previous: int, money: bool = True) -> str | None:
    if before.is_empty():
        return None
    change = current - previous
    return (yuan(change) if money else f"{change:+,}") + " vs previous"


cols = st.columns(6)
tickets_now, tickets_before = value(now, "tickets"), value(before, "tickets")
cols[0].metric("Tickets", f"{tickets_now:,}", delta(tickets_now, tickets_before, money=False))
for col, label, column in (
    (cols[1], "Revenue", "revenue_cents"),
    (cols[2], "Payouts", "payout_cents"),
):
    col.metric(label, yuan(value(now, column)), delta(value(now, column), value(before, column)))
cols[3].metric(
    "Revenue per ticket",
    yuan(per_ticket(now, "revenue_cents")),
    delta(per_ticket(now, "revenue_cents"), per_ticket(before, "revenue_cents")),
)
cols[4].metric(
    "Payout per ticket",
    yuan(per_ticket(now, "payout_cents")),
    delta(per_ticket(now, "payout_cents"), per_ticket(before, "payout_cents")),
    delta_color="inverse",
)
margin_now = value(now, "revenue_cents") - value(now, "payout_cents")
margin_before = value(before, "revenue_cents") - value(before, "payout_cents")
cols[5].metric("Margin", yuan(margin_now), delta(margin_now, margin_before))

split = (
    st.segmented_control(
        "Split the trend by",
        ["scenario", "channel", "partner_type"],
        default="scenario",
        key="split",
        format_func=lambda s: s.replace("_", " "),
        bind="query-params",
    )
    or "scenario"
)
trend = safely("the trend", lambda: data.trend(view.db, view.version, view.scope, split))
st.plotly_chart(charts.trend_figure(trend, split.replace("_", " ")), key="trend")

ranking = safely(
    "the regions", lambda: data.region_ranking(view.db, view.version, view.scope, period)
)
ranked = charts.with_rates(ranking).with_columns(
    margin_per_ticket=pl.col("margin_cents") / pl.col("tickets") / 100
)
best, worst = st.columns(2)
best.plotly_chart(
    charts.ranking_figure(ranked.sort("margin_cents").tail(8), "margin", "Best regions (margin)"),
    key="best",
)
worst.plotly_chart(
    charts.ranking_figure(ranked.sort("margin_cents").head(8), "margin", "Worst regions (margin)"),
    key="worst",
)
with st.expander("All regions of the period"):
    table = ranking.sort("margin_cents", descending=True)
    st.dataframe(yuan_columns(table), column_config=money_config(table), hide_index=True)
    export_buttons(table, f"regions_{period}", key="regions")
