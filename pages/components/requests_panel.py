"""Requests as the dashboard shows them: a requester's own (withdraw while pending, see why one
was rejected) and a table of decided ones."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from pages.components.formatting import show_table
from pages.components.i18n import N_, _, code, phrase, reword, say
from warehouse import requests
from warehouse.db import Phrase
from warehouse.requests import Request, RequestRefused

KIND_WORDS = {"publish": N_("rule publish"), "close": N_("period close")}


def kind_word(kind: str) -> str:
    return _(KIND_WORDS.get(kind, kind))


def refusal_words(refused: BaseException | str) -> str:
    """A refusal (an error, or a request's stored reason) in the reader's language: by its
    template when it keeps one, else by the known English refusals (a request decided before
    texts kept their wording), the cause of a request that could not take effect included."""
    if isinstance(refused, BaseException):
        if getattr(refused, "template", None) is not None or isinstance(
            (refused.args or [None])[0], Phrase
        ):
            return say(refused)
        refused = str(refused)
    if isinstance(refused, Phrase):
        return phrase(refused)
    head, found, cause = refused.partition(" could not take effect: ")
    if not found:
        return reword("refusal", refused)
    return _("request {number} could not take effect: {problem}").format(
        number=head.removeprefix("request "), problem=reword("refusal", cause)
    )


def describe(request: Request) -> str:
    return _("Request {number} · {kind} · {subject} · by {who} at {at}").format(
        number=request.request_id, kind=kind_word(request.kind), subject=phrase(request.subject),
        who=request.requested_by, at=request.requested_at,
    )  # fmt: skip


def table(shown: list[Request]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"request_id": r.request_id, "kind": kind_word(r.kind), "subject": phrase(r.subject),
          "status": r.status, "requested_by": r.requested_by, "requested_at": r.requested_at,
          "note": r.note, "decided_by": r.decided_by or "", "decided_at": r.decided_at or "",
          "reason": refusal_words(r.reason), "outcome": phrase(r.outcome)} for r in shown],
        schema={c: pl.Int64 if c == "request_id" else pl.String for c in (
            "request_id", "kind", "subject", "status", "requested_by", "requested_at", "note",
            "decided_by", "decided_at", "reason", "outcome")},
    )  # fmt: skip


def mine(db: Path, who: str, kind: str) -> None:
    """The requester's own requests of ``kind``: pending ones to withdraw, decided ones' answers."""
    own = [r for r in requests.listing(db, requested_by=who) if r.kind == kind]
    if not own:
        return
    st.subheader(_("Your requests"))
    for request in (r for r in own if r.status == "pending"):
        with st.container(border=True):
            st.write(describe(request))
            st.caption(_("Awaiting approval: {summary}").format(summary=phrase(request.summary)))
            if st.button(_("Withdraw"), key=f"withdraw-{request.request_id}"):
                try:
                    requests.withdraw(db, request.request_id, by=who)
                except RequestRefused as error:
                    st.error(refusal_words(error))
                else:
                    st.cache_data.clear()
                    st.rerun()
    for request in [r for r in own if r.status == "applied"][:3]:
        st.success(
            _("Request {number} was approved by {who} and applied: {outcome}").format(
                number=request.request_id, who=request.decided_by, outcome=phrase(request.outcome)
            )
        )
    for request in (r for r in own if r.status in ("rejected", "failed")):
        st.warning(
            _("Request {number} was {status} by {who}: {reason}").format(
                number=request.request_id,
                status=code("status", request.status),
                who=request.decided_by,
                reason=refusal_words(request.reason),
            )
        )
    show_table(table(own))
