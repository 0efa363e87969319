"""Data health: feed freshness against each feed's cadence, recent runs, quarantined records with
reasons, unpriced tickets, rule trigger rates, settlement periods (closed on Period close)."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from pages.components import alerts_panel, data
from pages.components.formatting import export_buttons, show_table
from pages.components.i18n import _, code
from pages.components.page import bound, open_view, safely
from warehouse import health

view = open_view("data_health")
found = safely(
    "alerts",
    lambda: data.alerts(view.db, view.version, view.scope, data.alert_limits(view.db)),
)
st.title(_("Data health") + (f" · {len(found)}" if found else ""))
overview = safely("data health", lambda: data.health(view.db, view.version, view.scope))

st.subheader(_("Alerts"))
alerts_panel.show(view, found)

st.subheader(_("Feeds"))
feeds = health.freshness(overview["feeds"], datetime.now(UTC).replace(tzinfo=None))
stale = feeds.filter(feeds["status"] != "fresh")["feed"].to_list()
if stale:
    st.warning(
        _("Stale or never loaded: {feeds}").format(feeds=", ".join(code("feed", f) for f in stale)),
        icon=":material/schedule:",
    )
else:
    st.success(_("Every feed arrived within its expected cadence."), icon=":material/check:")
show_table(feeds)
export_buttons(feeds, _("Feeds"), key="feeds")

st.subheader(_("Quarantine"))
reasons = overview["reasons"]
if reasons.is_empty():
    st.success(_("No record has been quarantined."))
else:
    left, right = st.columns(2)
    feed = bound(
        left.selectbox, _("Feed"), ["", *sorted(set(reasons["feed"]))], "qfeed", "",
        format_func=lambda f: code("feed", f) if f else _("all feeds"),
    )  # fmt: skip
    reason = bound(
        right.selectbox, _("Reason"), ["", *sorted(set(reasons["reason"]))], "qreason", "",
        format_func=lambda r: code("reason", r) if r else _("all reasons"),
    )  # fmt: skip
    show_table(reasons)
    records = safely(
        "quarantined records",
        lambda: data.quarantine(view.db, view.version, view.scope, feed or None, reason or None),
    )
    st.caption(_("{count:,} record fields shown (newest runs first)").format(count=records.height))
    show_table(records)
    export_buttons(records, _("Quarantine"), key="quarantine")

st.subheader(_("New platform values"))
new_values = overview["new_values"]
if new_values.is_empty():
    st.success(_("Every status, type and refund state the platforms sent is a known one."))
else:
    st.warning(
        _(
            "{count:,} value(s) the platforms' documented vocabularies lack: a platform may have "
            "changed. Each quarantined only its own record."
        ).format(count=new_values.height)
    )
    show_table(new_values)
    export_buttons(new_values, _("New platform values"), key="new-values")

st.subheader(_("Tickets the rules could not price"))
unpriced = overview["unpriced"]
if unpriced.is_empty():
    st.success(_("Every completed ticket was priced."))
else:
    show_table(unpriced)
    export_buttons(unpriced, _("Unpriced tickets"), key="unpriced")

st.subheader(_("How often each rule fires (share of the period's lines)"))
rates = health.trigger_rates(overview["triggers"])
show_table(rates)
export_buttons(rates, _("Rule triggers"), key="triggers")

st.subheader(_("Settlement periods"))
periods = overview["periods"]
show_table(periods)
if "period_close" in view.identity.pages:
    st.page_link(
        "pages/period_close.py", label=_("Close a period: the checklist"), icon=":material/lock:"
    )

st.subheader(_("Settlement runs"))
settlement_runs = overview["settlement_runs"]
failed = settlement_runs.filter(settlement_runs["status"] == "failed").head(1)
if not failed.is_empty():
    last = failed.row(0, named=True)
    st.error(
        _("Settlement run {run} failed at {at}: {error}").format(
            run=last["run_id"], at=last["started_at"], error=last["error"]
        )
    )
show_table(settlement_runs)
export_buttons(settlement_runs, _("Settlement runs"), key="settlement-runs")

st.subheader(_("Shop connectors"))
lag = data.connector_lag(view.db, view.version, view.scope)
if lag.is_empty():
    st.info(_("No shop is connected by API yet (`python -m pipelines pull`, see the README)."))
else:
    for row in lag.filter(lag["is_behind"]).iter_rows(named=True):
        behind = (
            _("{minutes} min behind").format(minutes=f"{row['lag_minutes']:g}")
            if row["lag_minutes"] is not None
            else _("never pulled successfully")
        )
        st.error(
            _("{platform}: {behind} (limit {limit} min); last error: {error}").format(
                platform=code("platform", row["platform"]), behind=behind,
                limit=f"{row['max_lag_minutes']:g}", error=row["last_error"] or _("none"),
            )
        )  # fmt: skip
    show_table(lag)

st.subheader(_("Recent ingestion runs"))
show_table(overview["runs"])
export_buttons(overview["runs"], _("Ingestion runs"), key="runs")
