"""Rules (analysts): the rule timeline and its history; edit a draft; preview its impact on real
history from a chosen effective date; publish it (never touching tickets before that date; into a
closed period only when said so); diff and roll back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st
from pydantic import ValidationError

from pages.components import data, golden_cases, rule_bulk, rule_forms, rule_preview
from pages.components.context import store_version
from pages.components.formatting import export_buttons, show_table
from pages.components.i18n import _, reword, say
from pages.components.page import open_view, safely
from pages.components.requests_panel import mine
from pages.components.signin import actor
from settlement.diff import differences
from settlement.preview import preview
from settlement.rules import parse_rules, problems_of, to_document
from settlement.timeline import period_start
from warehouse import golden, requests
from warehouse.app_store import app_store_path
from warehouse.publish import closed_periods_reached, history, reach_problem
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

st.title(_("Rules"))
today = timeline.version_on(date.today())
st.caption(
    _("In force today: version {version}").format(version=today.version)
    + (
        " · "
        + _("newest: version {version}, from {day}").format(
            version=newest.version, day=newest.effective_date
        )
        if newest != today
        else ""
    )
)
flash = st.session_state.pop("rules-flash", None)
if flash:  # said after the rerun that shows the new version everywhere on the page
    st.success(flash, icon=":material/check:")
runs = data.settlement_runs(view.db, view.version, view.scope)
if not runs.is_empty() and runs["status"][0] == "failed":
    st.error(
        _("The last settlement run ({run}) failed: {error}").format(
            run=runs["run_id"][0], error=runs["error"][0]
        )
    )
live_tab, edit_tab, preview_tab, golden_tab, publish_tab = st.tabs(
    [_("Timeline and history"), _("Edit draft"), _("Preview impact"), _("Golden cases"),
     _("Publish")]
)  # fmt: skip


def publish_and_settle(
    document: dict,
    effective: date,
    note: str,
    retro: bool,
    action: str,
    copy_of: int | None = None,
    adopt_golden: bool = False,
) -> None:
    if not note.strip():
        st.error(
            _("A rollback needs a note saying why.")
            if copy_of is not None
            else _("Publishing needs a note saying why.")
        )
        return
    if copy_of is not None:
        note = f"rollback to version {copy_of}: {note}"  # the audit log's words stay English
    payload = {
        "document": document, "effective_date": effective.isoformat(), "note": note,
        "retroactive": retro, "action": action,
    }  # fmt: skip
    try:
        candidate = parse_rules(
            {**document, "effective_date": effective, "note": note, "version": "draft"}
        )
        if adopt_golden:
            edits = golden.adopting(app_store_path(db), timeline, candidate)
            payload["golden_edits"] = golden.edits_to_json(edits)
        done = requests.submit(
            db, "publish", payload, by=actor(view.identity), role=view.scope.role
        )
    except ValidationError as error:
        for problem in problems_of(error):
            st.error(rule_forms.problem_text(problem))
        return
    except ValueError as error:
        st.error(say(error))
        return
    st.session_state.pop(DRAFT, None)
    if not done.applied:
        st.session_state["rules-flash"] = _(
            "Request {number}: the publish awaits a manager's approval on Approvals."
        ).format(number=done.request.request_id)
        st.rerun()
    request_resettlement(db)
    copied = _(" (a copy of version {version})").format(version=copy_of) if copy_of else ""
    st.session_state["rules-flash"] = _(
        "Version {version}{copied} takes effect on {day}; re-settling."
    ).format(version=done.version, copied=copied, day=effective)
    st.cache_data.clear()  # the history, the caption and every figure read the new version
    st.rerun()


with live_tab:
    entries = history(db, date.today())
    # Version 0 prices from the beginning of the data; the newest runs on with no end.
    table = pl.DataFrame(
        [{"version": e.version,
          "from": e.effective_from.isoformat() if e.effective_from else _("the beginning"),
          "until": e.until.isoformat() if e.until else _("open-ended"), "state": e.state,
          "author": e.author, "published": e.published_at,
          "note": _(e.note) if e.version == 0 else e.note} for e in entries]
    )  # fmt: skip
    show_table(table)
    export_buttons(table, _("Rule versions"), key="versions")
    by_number = {e.version: e for e in entries}
    numbers = sorted(by_number)
    left, right = st.columns(2)
    first = left.selectbox(_("Compare version"), numbers, index=0, key="diff-a")
    second = right.selectbox(_("with version"), numbers, index=len(numbers) - 1, key="diff-b")
    changes = differences(by_number[first].document, by_number[second].document)
    show_table(pl.DataFrame(changes, schema=["setting", "before", "after"], orient="row"))
    with st.form("rollback"):
        target = st.selectbox(_("Roll back to version"), numbers, key="rollback-to")
        since = st.date_input(_("Effective from"), value=default_day, key="rollback-date")
        retro = st.checkbox(_("Re-price closed periods (adjustments)"), key="rollback-retro")
        why = st.text_input(_("Why (required)"), key="rollback-note")
        if st.form_submit_button(_("Roll back (publishes a copy as a new version)")):
            publish_and_settle(
                by_number[target].document, since, why, retro, "rule_rollback", target
            )

with edit_tab:
    if st.button(_("Reset the draft to the newest version"), key="reset-draft"):
        st.session_state[DRAFT] = to_document(newest)
        st.rerun()
    pending = differences(to_document(newest), draft)
    st.caption(
        _("{count} setting(s) differ from version {version}.").format(
            count=len(pending), version=newest.version
        )
    )
    with st.expander(_("Prices (service items and parts)"), expanded=False):
        rule_bulk.bulk_form(DRAFT, draft, to_document(newest), newest.version)
        rule_forms.prices_form(DRAFT, draft)
    with st.expander(_("Surcharges and subsidies"), expanded=True):
        rule_forms.amounts_form(DRAFT, draft)
    with st.expander(_("Region coefficients"), expanded=False):
        rule_forms.coefficients_form(DRAFT, draft)
    with st.expander(_("Technician ladder"), expanded=False):
        rule_forms.ladder_form(DRAFT, draft)
    with st.expander(_("Partner modes"), expanded=False):
        rule_forms.partner_modes_form(DRAFT, draft)
    with st.expander(
        _("Everything else (overrides, rework, refunds, deductions, currencies) as YAML")
    ):
        rule_forms.yaml_form(DRAFT, draft)


@st.fragment
def preview_section() -> None:
    """The preview tab on its own: a click reruns this part only, not the whole page's forms."""
    chosen = st.multiselect(
        _("History to preview on"), view.periods, default=view.periods[:3], key="preview-periods"
    )
    effective = st.date_input(_("Effective from"), value=default_day, key="effective-date")
    if st.button(_("Preview impact"), type="primary", key="preview") and chosen:
        with st.status(_("Previewing {count} period(s)…").format(count=len(chosen))) as status:
            status.write(_("Reading the history of {periods}…").format(periods=", ".join(chosen)))
            periods = tuple(sorted(chosen))
            tickets, orders = safely(
                "history",
                lambda: data.preview_history(view.db, view.version, view.scope, periods),
            )
            status.write(_("Settling {count:,} tickets with both rule sets…").format(
                count=tickets.height
            ))  # fmt: skip
            # Read now, not at the page's last full run: a fragment reruns alone, and a version
            # published meanwhile must price both the live side and the comparison.
            published = store_version(db)
            live_rules = data.rule_timeline(view.db, published)
            live = data.preview_live_side(view.db, view.version, published, view.scope, periods)
            candidate = parse_rules({**draft, "version": "draft", "effective_date": effective})
            result = preview(
                tickets.lazy(), orders.lazy(), live_rules, live_rules.with_draft(candidate),
                live_side=live,
            )  # fmt: skip
            status.update(label=_("Preview ready"), state="complete", expanded=False)
        reached = closed_periods_reached(effective, statuses)
        rule_preview.show(result, reached, first_open)


with preview_tab:
    preview_section()

with golden_tab:
    golden_cases.section(db, timeline, draft, actor(view.identity))

with publish_tab:
    problems = rule_forms.validate({**draft, "version": "draft"})
    for problem in problems:
        st.error(rule_forms.problem_text(problem))
    with st.form("publish"):
        day = st.date_input(
            _("Effective from"), value=st.session_state.get("effective-date", default_day),
            key="publish-date",
        )  # fmt: skip
        retro = st.checkbox(_("Re-price closed periods (their changes become adjustments)"),
                            key="publish-retro")  # fmt: skip
        adopt = st.checkbox(_("Change the golden cases the draft breaks to its amounts"),
                            key="publish-golden")  # fmt: skip
        note = st.text_area(_("Why this change (required)"), key="publish-note")
        label = _("Request publish") if requests.approvals_on() else _("Publish")
        if st.form_submit_button(label, type="primary", disabled=bool(problems)):
            refused = reach_problem(day, statuses, retro)
            if refused:
                st.error(reword("refusal", refused))
            else:
                publish_and_settle(draft, day, note, retro, "rule_publish", adopt_golden=adopt)
    mine(db, actor(view.identity), "publish")
