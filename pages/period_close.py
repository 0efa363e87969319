"""Period close (analysts): for the chosen open period, what blocks closing it (each blocker with
its count and what is behind it), its totals by payee type against the previous period, and the
close request, possible only when nothing blocks it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages.components import statement_download
from pages.components.formatting import show_table
from pages.components.i18n import N_, _, say
from pages.components.page import View, open_view, safely
from pages.components.requests_panel import mine
from pages.components.signin import actor
from warehouse import period_close, requests
from warehouse.db import WarehouseLocked, writer_busy
from warehouse.queries import previous_period
from warehouse.requests import RequestRefused

BLOCKER_WORDS = {
    "earlier_open": N_("Earlier periods still open (periods close in order)"),
    "unpriced": N_("Tickets the rules could not price"),
    "stale_feeds": N_("Feeds stale past their cadence"),
    "pending_corrections": N_("Corrections of closed periods pending in earlier open periods"),
    "open_disputes": N_("Open disputes about the period (answer them on Disputes)"),
}
AWAITS = N_("Request {number}: the close of {period} awaits a manager's approval.")


def checklist_and_request(view: View, open_periods: list[str]) -> None:
    """The chosen open period's blockers and totals, and its close request."""
    db, me = Path(view.db), actor(view.identity)
    period = st.selectbox(_("Open period"), open_periods, key="close-which")

    st.subheader(_("What blocks closing {period}").format(period=period))
    found = safely("blockers", lambda: period_close.blockers(db, period))
    for blocker in found:
        words = _(BLOCKER_WORDS.get(blocker.code, blocker.code))
        if blocker.blocks:
            with st.expander(f":material/block: {words}: {blocker.count:,}", expanded=False):
                show_table(blocker.items)
        else:
            st.markdown(f":material/check_circle: {words}: 0")
    blocked = any(b.blocks for b in found)

    st.subheader(
        _("Totals by payee type: {period} against {previous}").format(
            period=period, previous=previous_period(period)
        )
    )
    show_table(safely("totals", lambda: period_close.totals(db, period)))

    pending = [
        r for r in requests.listing(db, status="pending")
        if r.kind == "close" and r.payload.get("period") == period
    ]  # fmt: skip
    label = _("Request the close") if requests.approvals_on() else _("Close the period")
    with st.form("close-period"):
        why = st.text_input(_("Why (required)"), key="close-note")
        if blocked:
            st.caption(_("Resolve every blocker above before the close can be requested."))
        elif pending:
            st.caption(_("A close of {period} awaits approval already.").format(period=period))
        if st.form_submit_button(label, type="primary", disabled=blocked or bool(pending)):
            if not why.strip():
                st.error(_("Closing a period needs a note saying why."))
            elif writer_busy(db):
                st.error(_("A pipeline or settlement is writing the warehouse: try again shortly."))
            else:
                try:
                    done = requests.submit(
                        db, "close", {"period": period, "note": why}, by=me, role=view.scope.role
                    )
                except (RequestRefused, WarehouseLocked) as error:
                    st.error(_("Not closed: {reason}").format(reason=say(error)))
                else:
                    st.cache_data.clear()
                    st.session_state["close-flash"] = (
                        _("Closed {period}; the audit log has it.").format(period=period)
                        if done.applied
                        else _(AWAITS).format(number=done.request.request_id, period=period)
                    )  # fmt: skip
                    st.rerun()
    mine(db, me, "close")


view = open_view("period_close")
st.title(_("Period close"))
flash = st.session_state.pop("close-flash", None)
if flash:
    st.success(flash, icon=":material/check:")
open_periods = safely("periods", lambda: period_close.open_periods(Path(view.db)))
if open_periods:
    checklist_and_request(view, open_periods)
else:
    st.info(_("Every settled period is closed."), icon=":material/info:")

st.subheader(_("Statements of closed periods"))
statement_download.period_files(view)
