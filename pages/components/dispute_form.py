"""My earnings' disputes: raise one on a line or a missing ticket, and follow its answer."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import streamlit as st

from pages.components.formatting import show_table, yuan
from pages.components.i18n import N_, _, code
from pages.components.page import View
from pages.components.signin import actor
from warehouse import app_store, disputes

LINE, MISSING = "line", "missing"
# What warehouse.disputes refuses with, for the catalogs.
REFUSALS = (
    N_("not an amount in yuan: write digits with at most two decimals, e.g. 120 or -35.50"),
    N_("an adjustment of ¥0.00 changes nothing"),
    N_("the amount is beyond what one adjustment may be"),
    N_("the photo must be a PNG, JPEG or WebP image"),
    N_("the photo is larger than 2 MB"),
    N_("the photo is not a readable image"),
    N_("say why: a dispute needs a reason"),
    N_("the reason is longer than 2 000 characters"),
    N_("name the ticket"),
    N_("a missing ticket needs the date it was completed"),
    N_("the ticket's date is in the future"),
    N_("name the period of the disputed line"),
    N_("a rejection needs an answer for the payee"),
)


def store_of(view: View) -> Path:
    return app_store.app_store_path(Path(view.db))


def refused(error: disputes.DisputeRefused) -> None:
    st.error(_(str(error)), icon=":material/block:")


def _choice(line: tuple[str, str, int]) -> str:
    ticket, kind, cents = line
    return f"{ticket or '—'} · {code('line_kind', kind)} · {yuan(cents)}"


def raise_form(
    view: View, payee_type: str, payee_id: str, period: str, lines: pl.DataFrame
) -> None:
    """The payee's own form (no one raises a dispute for someone else): a technician's, or a
    partner contact's for their partner (``payee_type`` is the partner's type)."""
    own = view.scope.payee
    if own is None or own[1] != payee_id:
        return
    with st.expander(_("Something wrong? Raise a dispute"), icon=":material/report:"):
        # Labels made now, not in format_func: a widget's labels belong to the run's language.
        abouts = {
            LINE: _("a line of {period}").format(period=period),
            MISSING: _("a ticket that is missing"),
        }
        about = st.radio(_("About"), list(abouts), horizontal=True, key="dispute-about",
                         format_func=abouts.__getitem__)  # fmt: skip
        with st.form("dispute", clear_on_submit=True):
            choices = lines.select("ticket_id", "line_kind", "amount_cents").rows()
            line = ticket = when = None
            if about == LINE:
                shown = [_choice(c) for c in choices]
                index = st.selectbox(_("Line"), range(len(choices)), key="dispute-line",
                                     format_func=shown.__getitem__)  # fmt: skip
                line = choices[index] if index is not None else None
            else:
                ticket = st.text_input(_("Ticket id"), key="dispute-ticket")
                when = st.date_input(_("Completed on"), value=None, key="dispute-date",
                                     max_value=date.today())  # fmt: skip
            reason = st.text_area(_("Reason (required)"), key="dispute-reason", max_chars=2000)
            photo = st.file_uploader(
                _("Photo (optional, PNG / JPEG / WebP, up to 2 MB)"),
                type=list(disputes.PHOTO_EXTENSIONS), key="dispute-photo",
            )  # fmt: skip
            if not st.form_submit_button(_("Raise the dispute")):
                return
        try:
            dispute_id = disputes.raise_dispute(
                store_of(view), actor=actor(view.identity), payee_type=payee_type,
                payee_id=payee_id, reason=reason or "",
                ticket_id=str(line[0] or "") if line else (ticket or ""),
                period=period if line else None, line_kind=str(line[1]) if line else None,
                ticket_date=when, photo=photo.getvalue() if photo else None,
                photo_type=photo.type if photo else None,
            )  # fmt: skip
        except disputes.DisputeRefused as error:
            refused(error)
            return
        st.success(_("Dispute {id} raised: an analyst will answer it here.").format(id=dispute_id))


def status_list(view: View, payee_type: str, payee_id: str) -> None:
    """The payee's disputes with status, age and the answer."""
    mine = disputes.disputes_of(store_of(view), payee_type, payee_id)
    if not mine:
        return
    st.subheader(_("My disputes"))
    today = date.today()
    show_table(
        pl.DataFrame(
            [
                {
                    "dispute_id": d.dispute_id,
                    "status": d.status,
                    "age_days": d.age_days(today),
                    "period": d.period,
                    "ticket_id": d.ticket_id,
                    "dispute_reason": d.reason,
                    "answer": d.answer,
                    "amount_cents": d.amount_cents,
                    "booked_period": d.booked_period,
                }
                for d in mine
            ],
            schema={
                "dispute_id": pl.Int64,
                "status": pl.String,
                "age_days": pl.Int64,
                "period": pl.String,
                "ticket_id": pl.String,
                "dispute_reason": pl.String,
                "answer": pl.String,
                "amount_cents": pl.Int64,
                "booked_period": pl.String,
            },
        )
    )
