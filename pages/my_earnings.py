"""My earnings (technicians): this month's total, each ticket's breakdown, the ladder progress
with tickets to the next step and the pace needed, and past months."""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from pages.components import data
from pages.components.context import store_version
from pages.components.formatting import (
    export_buttons,
    money_config,
    money_text,
    yuan,
    yuan_columns,
)
from pages.components.page import index_of, open_view, safely, stop, url_choice

view = open_view("my_earnings")
st.title("My earnings")
if view.scope.role == "technician":
    technician = str(view.scope.technician_id)
else:
    busiest = safely(
        "technicians",
        lambda: data.drill(view.db, view.version, view.scope, view.periods[0], "technician"),
    )
    fallback = str(busiest["child"][0]) if not busiest.is_empty() else ""
    technician = st.sidebar.text_input(
        "Technician", value=url_choice("tech", None, fallback), key="tech", bind="query-params",
        help="Managers, leads and analysts may look at any technician in their scope.",
    ).strip()  # fmt: skip
    if not technician:
        stop("Enter a technician id.")

months = safely(
    "your months", lambda: data.payee_months(view.db, view.version, view.scope, technician)
)
if months.is_empty():
    stop(f"No settled earnings for {technician} in your view.")
periods = months["period"].to_list()
period = (
    st.sidebar.selectbox(
        "Month",
        periods,
        index=index_of(periods, url_choice("month", periods, periods[0])),
        key="month",
        bind="query-params",
    )
    or periods[0]
)
month = months.filter(pl.col("period") == period).row(0, named=True)

st.subheader(f"{technician} · {period}")
cols = st.columns(4)
cols[0].metric(f"Total for {period}", yuan(int(month["amount_cents"] or 0)))
cols[1].metric("Tickets", f"{int(month['tickets'] or 0):,}")
cols[2].metric("Ladder bonus", yuan(int(month["ladder_cents"] or 0)))
cols[3].metric(
    "Chargebacks and clawbacks",
    yuan(int(month["chargeback_cents"] or 0) + int(month["clawback_cents"] or 0)),
)

rules = data.live_rules(view.db, store_version(Path(view.db)), period)
ladder = rules.ladders.get("technician")
done = int(month["tickets"] or 0)
if ladder is not None and ladder.basis == "count":
    reached = [b for b in ladder.brackets if b.start <= max(done, 1)][-1]
    ahead = [b for b in ladder.brackets if b.start > done]
    st.subheader("Ladder")
    if ahead:
        step = ahead[0]
        to_go = step.start - done
        first = ladder.brackets[0].start
        st.progress(
            min(1.0, (done - first + 1) / max(step.start - first, 1)),
            text=f"{done} tickets · rate {reached.rate_bp / 100:g} % · {to_go} more to reach "
            f"{step.rate_bp / 100:g} % at ticket {step.start}",
        )
        year, month_number = (int(x) for x in period.split("-"))
        days = calendar.monthrange(year, month_number)[1]
        today = date.today()
        in_month = (today.year, today.month) == (year, month_number)
        left_days = days - today.day + 1 if in_month else days
        pace = to_go / max(left_days, 1)
        st.caption(
            f"Pace needed: {pace:.1f} tickets a day over {left_days} day(s)"
            + ("" if in_month else " (for a month like this one)")
        )
    else:
        st.progress(1.0, text=f"{done} tickets · top rate {reached.rate_bp / 100:g} % reached")

lines = safely(
    "your tickets", lambda: data.payee_lines(view.db, view.version, view.scope, technician, period)
)
st.subheader(f"Tickets of {period}")
breakdown = lines.select(
    "ticket_id", "line_kind", "price_tier", "ladder_rate_bp", "is_rework", "is_refunded",
    "currency", *[c for c in lines.columns if c.endswith("_cents")],
)  # fmt: skip
paid_in = sorted(set(lines["currency"]) - {"CNY"})
for currency in paid_in:
    local = int(lines.filter(pl.col("currency") == currency)["amount_local_cents"].sum())
    st.metric(f"Paid in {currency} for {period}", money_text(local, currency))
st.dataframe(yuan_columns(breakdown), column_config=money_config(breakdown), hide_index=True)
export_buttons(breakdown, f"earnings_{technician}_{period}", key="lines")

st.subheader("Past months")
st.dataframe(yuan_columns(months), column_config=money_config(months), hide_index=True)
export_buttons(months, f"months_{technician}", key="months")
