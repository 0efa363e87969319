"""Rules (analysts): the rule timeline and its history; edit a draft; preview its impact on real
history from a chosen effective date; publish it (never touching tickets before that date; into a
closed period only when said so); diff and roll back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st
from pydantic import ValidationError

from pages.components import data, rule_forms, rule_preview
from pages.components.context import store_version
from pages.components.formatting import export_buttons
from pages.components.page import open_view, safely
from pages.components.signin import actor
from settlement.diff import differences
from settlement.preview import preview
from settlement.rules import parse_rules, problems_of, to_document
from settlement.timeline import period_start
from warehouse import queries
from warehouse.publish import closed_periods_reached, history, publish, reach_problem
from warehouse.settle import request_resettlement

DRAFT = "rule-draft"

view = open_view("rules")
db = Path(view.db)
timeline = data.rule_timeline(view.db, store_version(db))
newest = timeline.versions[-1]
statuses = safely("periods", lambda: data.period_statuses(view.db, view.version, view.scope))
first_open = min((p for p, s in statuses.items() if s == "open"), default=None)
default_day = period_start(first_open) if first_open else date.today()
if DRAFT not in st.session_state:
    st.session_state[DRAFT] = to_document(newest)
draft: dict = st.session_state[DRAFT]

st.title("Rules")
today = timeline.version_on(date.today())
st.caption(
    f"In force today: version {today.version}"
    + (
        f" · newest: version {newest.version}, from {newest.effective_date}"
        if newest != today
        else ""
    )
)
runs = data.settlement_runs(view.db, view.version, view.scope)
if not runs.is_empty() and runs["status"][0] == "failed":
    st.error(f"The last settlement run ({runs['run_id'][0]}) failed: {runs['error'][0]}")
live_tab, edit_tab, preview_tab, publish_tab = st.tabs(
    ["Timeline and history", "Edit draft", "Preview impact", "Publish"]
)


def publish_and_settle(
    document: dict, effective: date, note: str, retro: bool, action: str, copy_of: int | None = None
) -> None:
    if not note.strip():
        st.error(
            f"{'A rollback' if copy_of is not None else 'Publishing'} needs a note saying why."
        )
        return
    if copy_of is not None:
        note = f"rollback to version {copy_of}: {note}"
    try:
        done = publish(
            db, document, effective_date=effective, note=note, author=actor(view.identity),
            retroactive=retro, action=action,
        )  # fmt: skip
    except ValidationError as error:
        for problem in problems_of(error):
            st.error(str(problem))
        return
    except ValueError as error:
        st.error(str(error))
        return
    request_resettlement(db)
    st.session_state.pop(DRAFT, None)
    copied = f" (a copy of version {copy_of})" if copy_of is not None else ""
    st.success(f"Version {done.version}{copied} takes effect on {effective}; re-settling.")


with live_tab:
    entries = history(db, date.today())
    table = pl.DataFrame(
        [{"version": e.version, "from": e.effective_from, "until": e.until, "state": e.state,
          "author": e.author, "published": e.published_at, "note": e.note} for e in entries]
    )  # fmt: skip
    st.dataframe(table, hide_index=True)
    export_buttons(table, "rule_versions", key="versions")
    by_number = {e.version: e for e in entries}
    numbers = sorted(by_number)
    left, right = st.columns(2)
    first = left.selectbox("Compare version", numbers, index=0, key="diff-a")
    second = right.selectbox("with version", numbers, index=len(numbers) - 1, key="diff-b")
    changes = differences(by_number[first].document, by_number[second].document)
    st.dataframe(pl.DataFrame(changes, schema=["setting", "before", "after"]), hide_index=True)
    with st.form("rollback"):
        target = st.selectbox("Roll back to version", numbers, key="rollback-to")
        since = st.date_input("Effective from", value=default_day, key="rollback-date")
        retro = st.checkbox("Re-price closed periods (adjustments)", key="rollback-retro")
        why = st.text_input("Why (required)", key="rollback-note")
        if st.form_submit_button("Roll back (publishes a copy as a new version)"):
            publish_and_settle(
                by_number[target].document, since, why, retro, "rule_rollback", target
            )

with edit_tab:
    if st.button("Reset the draft to the newest version", key="reset-draft"):
        st.session_state[DRAFT] = to_document(newest)
        st.rerun()
    pending = differences(to_document(newest), draft)
    st.caption(f"{len(pending)} setting(s) differ from version {newest.version}.")
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
    with st.expander(
        "Everything else (overrides, rework, refunds, deductions, currencies) as YAML"
    ):
        rule_forms.yaml_form(DRAFT, draft)

with preview_tab:
    chosen = st.multiselect(
        "History to preview on", view.periods, default=view.periods[:3], key="preview-periods"
    )
    effective = st.date_input("Effective from", value=default_day, key="effective-date")
    if st.button("Preview impact", type="primary", key="preview") and chosen:
        tickets, orders = safely("history", lambda: queries.preview_inputs(db, view.scope, chosen))
        candidate = parse_rules({**draft, "version": "draft", "effective_date": effective})
        result = preview(tickets.lazy(), orders.lazy(), timeline, timeline.with_draft(candidate))
        reached = closed_periods_reached(effective, statuses)
        rule_preview.show(result, reached, first_open)

with publish_tab:
    problems = rule_forms.validate({**draft, "version": "draft"})
    for problem in problems:
        st.error(str(problem))
    with st.form("publish"):
        day = st.date_input(
            "Effective from", value=st.session_state.get("effective-date", default_day),
            key="publish-date",
        )  # fmt: skip
        retro = st.checkbox("Re-price closed periods (their changes become adjustments)",
                            key="publish-retro")  # fmt: skip
        note = st.text_area("Why this change (required)", key="publish-note")
        if st.form_submit_button("Publish", type="primary", disabled=bool(problems)):
            refused = reach_problem(day, statuses, retro)
            if refused:
                st.error(refused)
            else:
                publish_and_settle(draft, day, note, retro, "rule_publish")
