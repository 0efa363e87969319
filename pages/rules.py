"""Rules (analysts): the live rule set and its history; edit a draft; preview its impact on real
history; publish it with a note (live at once, open periods re-settled); diff and roll back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import plotly.express as px
import polars as pl
import streamlit as st

from pages.components import data, rule_forms
from pages.components.context import store_version
from pages.components.formatting import export_buttons, money_config, yuan, yuan_columns
from pages.components.page import open_view, safely
from pages.components.signin import actor
from settlement.diff import describe, differences
from settlement.preview import preview
from settlement.rules import parse_rules, to_document
from warehouse import app_store, queries
from warehouse.settle import request_resettlement

DRAFT = "rule-draft"

view = open_view("rules")
db = Path(view.db)
store = app_store.app_store_path(db)
live = data.live_rules(view.db, store_version(db), view.periods[0])
versions = app_store.rule_versions(store)
if DRAFT not in st.session_state:
    st.session_state[DRAFT] = to_document(live)
draft: dict = st.session_state[DRAFT]

st.title("Rules")
st.caption(
    f"Live: version {live.version}, effective {live.effective_date}"
    + (f" · {live.note}" if live.note else "")
)
live_tab, edit_tab, preview_tab, publish_tab = st.tabs(
    ["Live and history", "Edit draft", "Preview impact", "Publish"]
)

with live_tab:
    if not versions:
        st.info("No version published yet: the shipped default rules are live.")
    else:
        history = pl.DataFrame(
            [
                {"version": v.version, "effective": v.effective_date, "author": v.author,
                 "published": v.published_at, "note": v.note}
                for v in reversed(versions)
            ]
        )  # fmt: skip
        st.dataframe(history, hide_index=True)
        export_buttons(history, "rule_versions", key="versions")
        numbers = [v.version for v in versions]
        left, right = st.columns(2)
        first = left.selectbox("Compare version", numbers, index=0, key="diff-a")
        second = right.selectbox("with version", numbers, index=len(numbers) - 1, key="diff-b")
        by_number = {v.version: v for v in versions}
        changes = differences(by_number[first].document, by_number[second].document)
        st.dataframe(pl.DataFrame(changes, schema=["setting", "before", "after"]), hide_index=True)
        with st.form("rollback"):
            target = st.selectbox("Roll back to version", numbers, key="rollback-to")
            why = st.text_input("Why (required)", key="rollback-note")
            if st.form_submit_button("Roll back (publishes a new version)"):
                if not why.strip():
                    st.error("A rollback needs a note saying why.")
                else:
                    old = by_number[target]
                    number = app_store.publish_rule_version(
                        store, old.document, effective_date=old.effective_date,
                        note=f"rollback to version {target}: {why}",
                        author=actor(view.identity), action="rule_rollback",
                        diff=describe(differences(to_document(live), old.document)),
                    )  # fmt: skip
                    request_resettlement(db)
                    st.session_state.pop(DRAFT, None)
                    st.success(f"Version {number} is live (a copy of {target}); re-settling.")

with edit_tab:
    if st.button("Reset the draft to the live rules", key="reset-draft"):
        st.session_state[DRAFT] = to_document(live)
        st.rerun()
    pending = differences(to_document(live), draft)
    st.caption(f"{len(pending)} setting(s) differ from the live rules.")
    with st.expander("Prices (service items and parts)", expanded=False):
        rule_forms.prices_form(DRAFT, draft)
    with st.expander("Surcharges and subsidies", expanded=True):
        rule_forms.amounts_form(DRAFT, draft)
    with st.expander("Region coefficients", expanded=False):
        rule_forms.coefficients_form(DRAFT, draft)
    with st.expander("Technician ladder", expanded=False):
        rule_forms.ladder_form(DRAFT, draft)
    with st.expander("Partner modes", expanded=False):
        rule_forms.partner_modes_form(DRAFT, draft)
    with st.expander("Everything else (overrides, rework, refunds, fees, currencies) as YAML"):
        rule_forms.yaml_form(DRAFT, draft)

with preview_tab:
    chosen = st.multiselect(
        "History to preview on", view.periods, default=view.periods[:3], key="preview-periods"
    )
    if st.button("Preview impact", type="primary", key="preview") and chosen:
        tickets, orders = safely("history", lambda: queries.preview_inputs(db, view.scope, chosen))
        result = preview(
            tickets.lazy(), orders.lazy(), live, parse_rules({**draft, "version": "draft"})
        )
        cols = st.columns(4)
        cols[0].metric("Live payouts", yuan(result.live_cents))
        cols[1].metric("Draft payouts", yuan(result.draft_cents))
        cols[2].metric("Change", yuan(result.delta_cents))
        cols[3].metric("Payees crossing a ladder step", f"{result.ladder_crossings.height:,}")
        for name, frame in result.by.items():
            st.subheader(f"By {name.replace('_', ' ')}")
            shown = frame.filter(pl.col("delta_cents") != 0)
            st.dataframe(yuan_columns(shown), column_config=money_config(shown), hide_index=True)
        per_ticket = (
            result.lines.filter(pl.col("ticket_id").is_not_null())
            .group_by("ticket_id")
            .agg(delta_cents=pl.col("delta_cents").sum())
            .filter(pl.col("delta_cents") != 0)
        )
        if not per_ticket.is_empty():
            st.plotly_chart(
                px.histogram(
                    per_ticket.with_columns(change=pl.col("delta_cents") / 100),
                    x="change", nbins=40, title="Change per ticket (¥)",
                ),
                key="per-ticket",
            )  # fmt: skip
        payees = result.by["payee"].sort("delta_cents")
        winners, losers = st.columns(2)
        winners.subheader("Biggest winners")
        winners.dataframe(yuan_columns(payees.tail(10).reverse()), hide_index=True)
        losers.subheader("Biggest losers")
        losers.dataframe(yuan_columns(payees.head(10)), hide_index=True)
        st.subheader("Who crosses a ladder step")
        st.dataframe(yuan_columns(result.ladder_crossings), hide_index=True)
        export_buttons(result.lines, "preview_lines", key="preview-lines")

with publish_tab:
    problems = rule_forms.validate({**draft, "version": "draft"})
    for problem in problems:
        st.error(str(problem))
    with st.form("publish"):
        effective = st.date_input("Effective from", value=date.today(), key="publish-date")
        note = st.text_area("Why this change (required)", key="publish-note")
        if st.form_submit_button("Publish", type="primary", disabled=bool(problems)):
            if not note.strip():
                st.error("Publishing needs a note saying why.")
            else:
                document = {**draft, "effective_date": effective.isoformat(), "note": note}
                number = app_store.publish_rule_version(
                    store, document, effective_date=effective, note=note,
                    author=actor(view.identity),
                    diff=describe(differences(to_document(live), document)),
                )  # fmt: skip
                request_resettlement(db)
                st.session_state.pop(DRAFT, None)
                st.success(f"Version {number} is live; the open periods are being re-settled.")
