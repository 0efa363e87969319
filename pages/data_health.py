"""Data health: feed freshness, recent runs, quarantined records with reasons, unpriced tickets,
rule trigger counts and settlement periods."""

from __future__ import annotations

import streamlit as st

from pages.components import data
from pages.components.formatting import export_buttons, money_config, yuan_columns
from pages.components.page import index_of, open_view, safely, url_choice

view = open_view("data_health")
st.title("Data health")
health = safely("data health", lambda: data.health(view.db, view.version, view.scope))

st.subheader("Feeds")
st.dataframe(health["feeds"], hide_index=True)
export_buttons(health["feeds"], "feeds", key="feeds")

st.subheader("Quarantine")
reasons = health["reasons"]
if reasons.is_empty():
    st.success("No record has been quarantined.")
else:
    left, right = st.columns(2)
    feeds = sorted(set(reasons["feed"]))
    feed_options = [None, *feeds]
    feed = left.selectbox(
        "Feed", feed_options, index=index_of(feed_options, url_choice("qfeed", feeds, None)),
        key="qfeed", bind="query-params", format_func=lambda f: f or "all feeds",
    )  # fmt: skip
    reason_options = sorted(set(reasons["reason"]))
    all_reasons = [None, *reason_options]
    reason = right.selectbox(
        "Reason", all_reasons,
        index=index_of(all_reasons, url_choice("qreason", reason_options, None)),
        key="qreason", bind="query-params", format_func=lambda r: r or "all reasons",
    )  # fmt: skip
    st.dataframe(reasons, hide_index=True)
    records = safely(
        "quarantined records",
        lambda: data.quarantine(view.db, view.version, view.scope, feed, reason),
    )
    st.caption(f"{records.height:,} record fields shown (newest runs first)")
    st.dataframe(records, hide_index=True)
    export_buttons(records, "quarantine", key="quarantine")

st.subheader("New platform values")
new_values = health["new_values"]
if new_values.is_empty():
    st.success("Every status, type and refund state the platforms sent is a known one.")
else:
    st.warning(
        f"{new_values.height:,} value(s) the platforms' documented vocabularies lack: a platform "
        "may have changed. Each quarantined only its own record."
    )
    st.dataframe(new_values, hide_index=True)
    export_buttons(new_values, "new_platform_values", key="new-values")

st.subheader("Tickets the rules could not price")
unpriced = health["unpriced"]
if unpriced.is_empty():
    st.success("Every completed ticket was priced.")
else:
    st.dataframe(unpriced, hide_index=True)
    export_buttons(unpriced, "unpriced", key="unpriced")

st.subheader("Rule triggers per period")
st.dataframe(health["triggers"], hide_index=True)
export_buttons(health["triggers"], "rule_triggers", key="triggers")

st.subheader("Settlement periods")
periods = health["periods"]
st.dataframe(yuan_columns(periods), column_config=money_config(periods), hide_index=True)

st.subheader("Settlement runs")
settlement_runs = health["settlement_runs"]
failed = settlement_runs.filter(settlement_runs["status"] == "failed").head(1)
if not failed.is_empty():
    last = failed.row(0, named=True)
    st.error(f"Settlement run {last['run_id']} failed at {last['started_at']}: {last['error']}")
st.dataframe(settlement_runs, hide_index=True)
export_buttons(settlement_runs, "settlement_runs", key="settlement-runs")

st.subheader("Shop connectors")
lag = data.connector_lag(view.db, view.version, view.scope)
if lag.is_empty():
    st.info("No shop is connected by API yet (`python -m pipelines pull`, see the README).")
else:
    for row in lag.filter(lag["is_behind"]).iter_rows(named=True):
        lag_text = f"{row['lag_minutes']:g} min behind" if row["lag_minutes"] is not None else ""
        st.error(
            f"{row['platform']}: {lag_text or 'never pulled successfully'} "
            f"(limit {row['max_lag_minutes']:g} min); "
            f"last error: {row['last_error'] or 'none'}"
        )
    st.dataframe(lag, hide_index=True)

st.subheader("Recent ingestion runs")
st.dataframe(health["runs"], hide_index=True)
export_buttons(health["runs"], "ingestion_runs", key="runs")
