"""My earnings (technicians and partner contacts): this month's total, each ticket's breakdown in
words, the ladder progress with tickets to the next step and the pace needed, and past months."""

from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from pages.components import breakdown, data, dispute_form, estimator, statement_download
from pages.components.context import store_version
from pages.components.formatting import export_buttons, money_text, short_yuan, show_table, yuan
from pages.components.i18n import _, code, frozen
from pages.components.page import bound, open_view, safely, stop
from pages.components.urls import bound_text
from warehouse.scope import PAYEE_KINDS

view = open_view("my_earnings")
st.title(_("My earnings"))
own = view.scope.payee
if own is not None:
    kind, payee = own
else:
    kind = bound(
        st.sidebar.selectbox, _("Payee"), list(PAYEE_KINDS), "payee", PAYEE_KINDS[0],
        format_func=frozen(lambda k: code("payee_kind", k), PAYEE_KINDS),
    )  # fmt: skip
    if kind == "technician":
        busiest = safely(
            "technicians",
            lambda: data.drill(view.db, view.version, view.scope, view.periods[0], "technician"),
        )
        fallback = str(busiest["child"][0]) if not busiest.is_empty() else ""
        payee = bound_text(
            st.sidebar.text_input, _("Technician"), "tech", fallback,
            help=_("Managers, leads and analysts may look at any technician in their scope."),
        )  # fmt: skip
    else:
        payee = bound_text(
            st.sidebar.text_input, _("Partner"), "partner", "",
            help=_("A partner's id, e.g. PT0001: its lines in your scope."),
        )  # fmt: skip
    if not payee:
        stop(_("Enter a technician id.") if kind == "technician" else _("Enter a partner id."))

months = safely(
    "your months", lambda: data.payee_months(view.db, view.version, view.scope, payee, kind)
)
if months.is_empty():
    stop(_("No settled earnings for {technician} in your view.").format(technician=payee))
periods = months["period"].to_list()
# On the page, not in the sidebar: a phone shows the sidebar collapsed.
period = bound(st.selectbox, _("Month"), periods, "month", periods[0])
month = months.filter(pl.col("period") == period).row(0, named=True)
payee_type = str(month["payee_type"])

st.subheader(f"{payee} · {period}")
total = int(month["amount_cents"] or 0)
cols = st.columns(4)
cols[0].metric(_("Total for {period}").format(period=period), yuan(total))
cols[1].metric(_("Tickets"), f"{int(month['tickets'] or 0):,}")
ladder_cents = int(month["ladder_cents"] or 0)
cols[2].metric(_("Ladder bonus"), short_yuan(ladder_cents), help=yuan(ladder_cents))
taken = int(month["chargeback_cents"] or 0) + int(month["clawback_cents"] or 0)
cols[3].metric(_("Chargebacks and clawbacks"), short_yuan(taken), help=yuan(taken))
statement_download.own_statement(view, period)

rules = data.live_rules(view.db, store_version(Path(view.db)), period)
ladder = rules.ladders.get(payee_type)
done = int(month["tickets"] or 0)
if ladder is not None and ladder.basis == "count":
    reached = [b for b in ladder.brackets if b.start <= max(done, 1)][-1]
    ahead = [b for b in ladder.brackets if b.start > done]
    st.subheader(_("Ladder"))
    if ahead:
        step = ahead[0]
        to_go = step.start - done
        first = ladder.brackets[0].start
        st.progress(
            min(1.0, (done - first + 1) / max(step.start - first, 1)),
            text=_(
                "{done} tickets · rate {rate} % · {to_go} more to reach {next} % at ticket {start}"
            ).format(
                done=done,
                rate=f"{reached.rate_bp / 100:g}",
                to_go=to_go,
                next=f"{step.rate_bp / 100:g}",
                start=step.start,
            ),
        )
        year, month_number = (int(x) for x in period.split("-"))
        days = calendar.monthrange(year, month_number)[1]
        today = date.today()
        if (today.year, today.month) == (year, month_number):
            left_days = days - today.day + 1
            st.caption(
                _("Pace needed: {pace} tickets a day over {days} day(s)").format(
                    pace=f"{to_go / max(left_days, 1):.1f}", days=left_days
                )
            )
        elif (today.year, today.month) > (year, month_number):
            st.caption(_("This month is over."))
    else:
        st.progress(
            1.0,
            text=_("{done} tickets · top rate {rate} % reached").format(
                done=done, rate=f"{reached.rate_bp / 100:g}"
            ),
        )

lines = safely(
    "your tickets",
    lambda: data.payee_lines(view.db, view.version, view.scope, payee, period, kind),
)
st.subheader(_("Tickets of {period}").format(period=period))
for currency in sorted(set(lines["currency"]) - {"CNY"}):
    local = int(lines.filter(pl.col("currency") == currency)["amount_local_cents"].sum())
    st.metric(
        _("Paid in {currency} for {period}").format(currency=currency, period=period),
        money_text(local, currency),
    )
st.caption(_("Tap a ticket to see how it earned its amount."))
breakdown.cards(lines)
dispute_form.raise_form(view, payee_type, payee, period, lines)
dispute_form.status_list(view, payee_type, payee)
if kind == "technician":  # the estimator projects a technician's ladder month
    estimator.panel(view, payee, period)
table = lines.select(
    "ticket_id", "amount_cents", "currency", "amount_local_cents", "line_kind", "price_tier",
    "ladder_rate_bp", "is_rework", "is_refunded", "rule_version",
    *[c for c in lines.columns if c.endswith("_cents") and c not in ("amount_cents",
                                                                      "amount_local_cents")],
)  # fmt: skip
with st.expander(_("All lines as a table")):
    show_table(table)
export_buttons(table, _("Earnings"), key="lines", when=f"{payee}_{period}")

st.subheader(_("Past months"))
show_table(months)
export_buttons(months, _("Months"), key="months", when=payee)
