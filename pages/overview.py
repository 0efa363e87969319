"""Overview (managers): revenue and payouts per ticket, the trend, best and worst regions."""

from __future__ import annotations

import polars as pl
import streamlit as st

from pages.components import charts, data
from pages.components.formatting import export_buttons, short_yuan, show_table, yuan
from pages.components.i18n import _, code
from pages.components.page import bound, choose_period, open_view, safely

view = open_view("overview")
period = choose_period(view)
st.title(_("Overview"))
st.caption(
    _(
        "Revenue: what customers paid for the orders the tickets served, net of refunds. "
        "Payouts: every settlement line of the period (tickets, charge-backs, partner monthly "
        "lines, adjustments)."
    )
)

figures = safely("the overview", lambda: data.overview(view.db, view.version, view.scope, period))
now = figures.filter(pl.col("period") == period)
before = figures.filter(pl.col("period") != period)
if now.is_empty():
    st.info(_("No settled tickets in {period}.").format(period=period))
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
    shown = (("+" if change > 0 else "") + short_yuan(change)) if money else f"{change:+,}"
    return _("{change} vs previous").format(change=shown)


def card(col, label: str, cents: int, previous: int, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """A money card: short (万 / 亿) on the card, the exact amount on hover."""
    col.metric(label, short_yuan(cents), delta(cents, previous), help=yuan(cents), **kwargs)


cols = st.columns(6)
tickets_now, tickets_before = value(now, "tickets"), value(before, "tickets")
cols[0].metric(_("Tickets"), f"{tickets_now:,}", delta(tickets_now, tickets_before, money=False))
card(cols[1], _("Revenue"), value(now, "revenue_cents"), value(before, "revenue_cents"))
card(cols[2], _("Payouts"), value(now, "payout_cents"), value(before, "payout_cents"))
card(
    cols[3],
    _("Revenue per ticket"),
    per_ticket(now, "revenue_cents"),
    per_ticket(before, "revenue_cents"),
)
card(
    cols[4],
    _("Payout per ticket"),
    per_ticket(now, "payout_cents"),
    per_ticket(before, "payout_cents"),
    delta_color="inverse",
)
margin_now = value(now, "revenue_cents") - value(now, "payout_cents")
margin_before = value(before, "revenue_cents") - value(before, "payout_cents")
card(cols[5], _("Margin"), margin_now, margin_before)
st.caption(
    _("Payouts: tickets {tickets} · partner monthly lines {monthly} · adjustments {adjust}").format(
        tickets=yuan(value(now, "ticket_payout_cents")),
        monthly=yuan(value(now, "monthly_cents")),
        adjust=yuan(value(now, "adjustment_cents")),
    )
    + ("" if view.scope.all_regions else " · " + _("monthly lines belong to no region"))
)

splits = ["scenario", "channel", "partner_type"]
split = (
    bound(
        st.segmented_control, _("Split the trend by"), splits, "split", "scenario",
        format_func=lambda s: code("column", s),
    )
    or "scenario"
)  # fmt: skip
trend = safely("the trend", lambda: data.trend(view.db, view.version, view.scope, split))
trend = trend.with_columns(
    pl.col("segment").replace({s: code(split, s) for s in trend["segment"].drop_nulls()})
)
st.plotly_chart(charts.trend_figure(trend, code("column", split)), key="trend")

ranking = safely(
    "the regions", lambda: data.region_ranking(view.db, view.version, view.scope, period)
)
ranked = charts.with_rates(ranking)
best, worst = st.columns(2)
best.plotly_chart(
    charts.ranking_figure(
        ranked.sort("margin_cents").tail(8), "margin", _("Best regions (margin)")
    ),
    key="best",
)
worst.plotly_chart(
    charts.ranking_figure(
        ranked.sort("margin_cents").head(8), "margin", _("Worst regions (margin)")
    ),
    key="worst",
)
with st.expander(_("All regions of the period")):
    table = ranking.sort("margin_cents", descending=True)
    show_table(table)
    export_buttons(table, _("Regions"), key="regions", when=period)
