"""Statement downloads of closed periods: a technician's own PDF (My earnings), and for
analysts a period's workbook and every payee's PDF in one zip."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from pages.components import data
from pages.components.i18n import _
from pages.components.page import View
from statements.content import pdf_name, workbook_name, zip_name
from statements.files import pdf_zip
from statements.fonts import NoCjkFont, cjk_font
from statements.pdf import statement_pdf
from statements.words import Words
from statements.workbook import period_workbook
from warehouse.db import WarehouseError
from warehouse.statements import NoStatement

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORDS = Words("zh")  # statements are written in Chinese whatever the page's language
ANALYSTS = ("analyst",)


def _refused(error: Exception) -> None:
    """What stops a statement (no font, a warehouse gone), as a note instead of a button."""
    st.warning(
        _("Statements cannot be offered now: {reason}").format(reason=str(error)),
        icon=":material/warning:",
    )


def own_statement(view: View, period: str) -> None:
    """The signed-in payee's statement of ``period`` (a technician's, a partner contact's
    partner's), once that period is closed."""
    if view.scope.payee is None:
        return
    payee = view.scope.payee[1]
    try:
        closed = data.closed_periods(view.db, view.version, payee)
        if period not in closed:
            st.caption(
                _("Your statement of {period} is offered once the period is closed.").format(
                    period=period
                )
            )
            return
        cjk_font()
        statement = data.period_statements(view.db, view.version, period, payee)
    except (WarehouseError, NoStatement, NoCjkFont) as error:
        _refused(error)
        return
    name = next((n for _t, i, n in statement.payees() if i == payee), payee)

    def pdf() -> bytes:
        return statement_pdf(statement, payee, WORDS)

    st.download_button(
        _("My statement of {period} (PDF)").format(period=period),
        pdf,
        pdf_name(WORDS, period, payee, name),
        PDF,
        key="own-statement",
        icon=":material/download:",
        on_click="ignore",
    )


def period_files(view: View) -> None:
    """For analysts: a closed period's workbook and all its PDF statements as one zip."""
    if view.scope.role not in ANALYSTS:
        return
    try:
        closed = data.closed_periods(view.db, view.version, None)
        if closed:
            cjk_font()
    except (WarehouseError, NoCjkFont) as error:
        _refused(error)
        return
    if not closed:
        st.caption(_("Statements are offered for closed periods; none is closed yet."))
        return
    period = st.selectbox(_("Statements of period"), closed, key="statements-period")
    if period is None:
        return
    db, version = view.db, view.version

    def loaded(build: Callable[[data.statements.PeriodStatements], bytes]) -> Callable[[], bytes]:
        return lambda: build(data.period_statements(db, version, period, None))

    left, right = st.columns(2)
    left.download_button(
        _("Workbook (Excel)"),
        loaded(lambda s: period_workbook(s, WORDS)),
        workbook_name(WORDS, period),
        XLSX,
        key="statements-workbook",
        icon=":material/download:",
        on_click="ignore",
    )
    right.download_button(
        _("All PDF statements (zip)"),
        loaded(lambda s: pdf_zip(s, WORDS)),
        zip_name(WORDS, period),
        "application/zip",
        key="statements-zip",
        icon=":material/download:",
        on_click="ignore",
    )
