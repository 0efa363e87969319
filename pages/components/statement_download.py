"""Statement downloads of closed periods: a technician's own PDF (My earnings), and for
analysts a period's workbook and its PDFs as zips (all payees, or one payee type), built in the
background and kept for everyone (warehouse.statement_jobs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from pages.components import data
from pages.components.i18n import N_, _, code
from pages.components.page import View
from statements.content import pdf_name, workbook_name, zip_name
from statements.fonts import NoCjkFont, cjk_font
from statements.pdf import statement_pdf
from statements.words import Words
from statements.workbook import period_workbook
from warehouse import statement_jobs
from warehouse.db import WarehouseError
from warehouse.statement_jobs import Build, BuildState
from warehouse.statements import Fingerprint, NoStatement

PDF = "application/pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORDS = Words("zh")  # statements are written in Chinese whatever the page's language
ANALYSTS = ("analyst",)
PAYEE_TYPES = ("technician", "direct", "dealer", "agent")  # the order the zips are offered in
POLL = 1.0  # seconds between two looks at a build in progress
# The reasons a build records in English that the page can say in the reader's language.
REASONS = {
    "the build stopped before it finished": N_("the build stopped before it finished"),
    "the build was stopped": N_("the build was stopped"),
    "the period's statements changed since this build was asked for: reload the page and"
    " build again": N_(
        "the period's statements changed since this build was asked for: reload the page and"
        " build again"
    ),
}


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
    """For analysts: a closed period's workbook, and its PDF statements as zips."""
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

    st.download_button(
        _("Workbook (Excel)"),
        loaded(lambda s: period_workbook(s, WORDS)),
        workbook_name(WORDS, period),
        XLSX,
        key="statements-workbook",
        icon=":material/download:",
        on_click="ignore",
    )
    try:
        fingerprint = data.statement_fingerprint(db, version, period)
        present = {g.payee_type for g in fingerprint.groups}
        types = [t for t in PAYEE_TYPES if t in present] + sorted(present - set(PAYEE_TYPES))
        builds = [Build.of(Path(db), fingerprint, t) for t in (None, *types)]
    except (WarehouseError, NoStatement, NoCjkFont) as error:
        _refused(error)
        return
    st.caption(
        _(
            "PDF statements are built in the background, one zip for all payees or for one"
            " payee type; a built zip is offered at once to everyone until the period's lines"
            " change."
        )
    )
    running = any(_busy(statement_jobs.state_of(b)) for b in builds)
    # Polls only while a build runs: an idle page does not rerun by itself.
    st.fragment(_zips, run_every=POLL if running else None)(fingerprint, builds, running)


def _busy(state: BuildState) -> bool:
    return state.state in ("starting", "building")


def _zips(fingerprint: Fingerprint, builds: list[Build], polling: bool) -> None:
    """One row per zip: build it, its progress, its download, or why it failed."""
    states = [statement_jobs.state_of(b) for b in builds]
    if any(_busy(s) for s in states) != polling:
        st.rerun()  # a build started or ended: the whole page, to poll or to stop polling
    for build, state in zip(builds, states, strict=True):
        kind = build.payee_type
        scope = kind or "all"
        who = code("payee_type", kind) if kind else _("All payees")
        left, right = st.columns([2, 3], vertical_alignment="center")
        left.markdown(
            _("{who} · {count} payees").format(who=who, count=f"{fingerprint.payees(kind):,}")
        )
        if state.state == "ready":
            label = (
                _("{type} PDF statements (zip)").format(type=who)
                if kind
                else _("All PDF statements (zip)")
            )
            right.download_button(
                label,
                build.zip_path.read_bytes,
                zip_name(WORDS, build.period, kind),
                "application/zip",
                key=f"statements-zip-{scope}",
                icon=":material/download:",
                on_click="ignore",
            )
        elif state.state == "starting":
            right.caption(_("Starting the build…"))
        elif state.state == "building":
            done, total = state.done, max(state.total, 1)
            right.progress(
                min(done / total, 1.0),
                text=_("Built {done} / {total} statements").format(
                    done=f"{state.done:,}", total=f"{state.total:,}"
                ),
            )
        else:
            if state.state == "failed":
                reason = _(REASONS.get(state.reason, state.reason))
                right.error(_("The build failed: {reason}").format(reason=reason))
            again = state.state == "failed"
            if right.button(
                _("Try again") if again else _("Build the zip"),
                key=f"statements-build-{scope}",
                icon=":material/refresh:" if again else ":material/folder_zip:",
            ):
                statement_jobs.start(build)
                st.rerun()
