"""Disputes (analysts): the open queue, oldest first; each with its line's breakdown and photo,
accepted into a manual adjustment in the first open period or rejected with an answer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from pages.components import breakdown, data
from pages.components.dispute_form import refused, store_of
from pages.components.formatting import show_table
from pages.components.i18n import _, code
from pages.components.page import open_view, stop
from pages.components.signin import actor
from warehouse import disputes
from warehouse.settle import period_statuses, request_resettlement

view = open_view("disputes")
st.title(_("Disputes"))
store = store_of(view)
if done := st.session_state.pop("dispute-done", None):
    st.success(done)
waiting = disputes.queue(store)
if not waiting:
    stop(_("No open disputes."))
today = date.today()
show_table(
    pl.DataFrame(
        [
            {
                "dispute_id": d.dispute_id,
                "age_days": d.age_days(today),
                "payee_type": d.payee_type,
                "payee_id": d.payee_id,
                "period": d.period,
                "ticket_id": d.ticket_id,
                "line_kind": d.line_kind,
                "dispute_reason": d.reason,
                "raised_by": d.raised_by,
            }
            for d in waiting
        ]
    )
)
# Labels made now, not in format_func: a widget's labels belong to the run's language.
labels = {
    d.dispute_id: _("#{id} · {payee} · {ticket} · {days} day(s) old").format(
        id=d.dispute_id, payee=d.payee_id, ticket=d.ticket_id, days=d.age_days(today)
    )
    for d in waiting
}
chosen_id = st.selectbox(_("Dispute"), list(labels), key="dispute-chosen",
                         format_func=labels.__getitem__)  # fmt: skip
chosen = next(d for d in waiting if d.dispute_id == chosen_id)
st.subheader(_("Dispute {id}").format(id=chosen.dispute_id))
st.markdown(chosen.reason.replace("$", "\\$"))
if chosen.line_kind is None:
    st.caption(
        _("Missing ticket {ticket}, completed on {date}").format(
            ticket=chosen.ticket_id, date=chosen.ticket_date
        )
    )
else:
    kind = "technician" if chosen.payee_type == "technician" else "partner"
    lines = data.payee_lines(
        view.db, view.version, view.scope, chosen.payee_id, chosen.period, kind
    )
    mine = lines.filter(
        (pl.col("ticket_id") == chosen.ticket_id)
        if chosen.ticket_id
        else pl.col("ticket_id").is_null() & (pl.col("line_kind") == chosen.line_kind)
    )
    for line in mine.to_dicts():
        st.markdown(
            f"**{code('line_kind', line['line_kind'])}** · "
            + breakdown.line_words(line).replace("$", "\\$")
        )
picture = disputes.photo(store, chosen.dispute_id) if chosen.has_photo else None
if picture:
    try:
        st.image(picture, caption=_("Photo sent with the dispute"), width=360)
    except Exception:  # checked when raised; a stored file gone bad is a note, not a traceback
        st.warning(_("The photo cannot be shown."))

booking = disputes.first_open_period(period_statuses(Path(view.db)))
accept_tab, reject_tab = st.tabs([_("Accept"), _("Reject")])
with accept_tab, st.form("dispute-accept"):
    amount = st.text_input(_("Adjustment in yuan (e.g. 35.50 or -12)"), key="dispute-amount")
    note = st.text_input(_("Answer to the payee (optional)"), key="dispute-accept-answer")
    st.caption(_("Booked in {period}, the first open period.").format(period=booking))
    if st.form_submit_button(_("Accept and book the adjustment")):
        try:
            disputes.accept(store, chosen.dispute_id, actor=actor(view.identity),
                            amount=amount, period=booking, answer=note)  # fmt: skip
        except disputes.DisputeRefused as error:
            refused(error)
        else:
            request_resettlement(Path(view.db))
            st.session_state["dispute-done"] = _(
                "Dispute {id} accepted: the adjustment is booked in {period} and appears once"
                " the settlement run finishes."
            ).format(id=chosen.dispute_id, period=booking)
            st.rerun()
with reject_tab, st.form("dispute-reject"):
    answer = st.text_area(_("Answer to the payee (required)"), key="dispute-answer")
    if st.form_submit_button(_("Reject")):
        try:
            disputes.reject(store, chosen.dispute_id, actor=actor(view.identity), answer=answer)
        except disputes.DisputeRefused as error:
            refused(error)
        else:
            st.session_state["dispute-done"] = _("Dispute {id} rejected.").format(
                id=chosen.dispute_id
            )
            st.rerun()
