"""Approvals (the approving role): pending publish and close requests with their diff or figures,
approve or reject with a reason, and the history of decided requests."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages.components.formatting import show_table
from pages.components.i18n import _, phrase
from pages.components.page import open_view
from pages.components.requests_panel import describe, refusal_words, table
from pages.components.signin import actor
from warehouse import requests
from warehouse.db import WarehouseLocked, writer_busy
from warehouse.requests import RequestRefused
from warehouse.settle import request_resettlement

view = open_view("approvals")
db = Path(view.db)
me = actor(view.identity)
st.title(_("Approvals"))
if not requests.approvals_on():
    st.info(_("Approvals are off (TIERBOARD_APPROVALS=off): requests take effect at once."))
flash = st.session_state.pop("approvals-flash", None)
if flash:
    st.success(flash, icon=":material/check:")

pending = requests.listing(db, status="pending")
st.subheader(_("Pending requests"))
if not pending:
    st.success(_("Nothing awaits approval."))
for request in pending:
    number = request.request_id
    with st.container(border=True):
        st.markdown(f"**{describe(request)}**")
        st.write(_("Why: {note}").format(note=request.note))
        st.code(phrase(request.summary), language=None, wrap_lines=True)
        own = request.requested_by == me
        if own:
            st.caption(_("You requested this: a second person must approve it."))
        left, right = st.columns(2)
        if left.button(_("Approve"), key=f"approve-{number}", type="primary", disabled=own):
            if writer_busy(db):
                st.error(_("A pipeline or settlement is writing the warehouse: try again shortly."))
            else:
                try:
                    done = requests.approve(db, number, by=me, role=view.scope.role)
                except (RequestRefused, WarehouseLocked) as error:
                    st.error(_("Not approved: {reason}").format(reason=refusal_words(error)))
                else:
                    if done.request.kind == "publish":
                        request_resettlement(db)
                    st.session_state["approvals-flash"] = _(
                        "Request {number} approved and applied: {outcome}."
                    ).format(number=number, outcome=phrase(done.request.outcome))
                    st.cache_data.clear()
                    st.rerun()
        reason = right.text_input(_("Reason for rejecting"), key=f"reason-{number}")
        if right.button(_("Reject"), key=f"reject-{number}", disabled=own):
            try:
                requests.reject(db, number, by=me, role=view.scope.role, reason=reason)
            except RequestRefused as error:
                st.error(_("Not rejected: {reason}").format(reason=refusal_words(error)))
            else:
                st.session_state["approvals-flash"] = _("Request {number} rejected.").format(
                    number=number
                )
                st.rerun()

st.subheader(_("Decided requests"))
decided = requests.listing(db, status="decided")
if decided:
    show_table(table(decided))
else:
    st.caption(_("No request has been decided yet."))
