"""What every page does first: who, which warehouse, which periods; a clear stop otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import streamlit as st

from pages.components import data
from pages.components.context import Identity, current, database, snapshot_version
from pages.components.i18n import _, say
from pages.components.urls import bound, index_of, url_choice
from warehouse.queries import SnapshotDamaged, WarehouseUnavailable
from warehouse.scope import Scope


@dataclass(frozen=True)
class View:
    db: str
    version: int
    identity: Identity
    periods: list[str]

    @property
    def scope(self) -> Scope:
        return self.identity.scope


def stop(message: str) -> NoReturn:
    st.info(message, icon=":material/info:")
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; this keeps type checkers honest


def open_view(page: str) -> View:
    """The current view, or a clear message (never a traceback) when there is nothing to show."""
    identity = current(page)
    if page not in identity.pages:
        stop(_("This page is not available to your role."))
    db = database()
    version = snapshot_version(db)
    if version == 0:
        stop(
            _(
                "No warehouse yet at {db}. Build the demo one with `make run`, or load feeds "
                "with `python -m pipelines ingest` and settle them with `python -m settlement run`."
            ).format(db=db)
        )
    try:
        notice = data.schema_notice(str(db), version)
        periods = data.periods(str(db), version, identity.scope)
    except WarehouseUnavailable as error:
        unavailable(error)
    if notice:
        st.warning(_(notice), icon=":material/warning:")
    if not periods:
        stop(_("No settled tickets are visible to you yet."))
    return View(str(db), version, identity, periods)


def choose_period(view: View, label: str | None = None) -> str:
    """The period picker, kept in the URL (``?period=YYYY-MM``) so a view is a shareable link."""
    return bound(
        st.sidebar.selectbox, label or _("Period"), view.periods, "period", view.periods[0]
    )


def unavailable(error: WarehouseUnavailable, what: str | None = None) -> NoReturn:
    """Stop the page with what is wrong with the warehouse: an error for a damaged snapshot
    (waiting will not mend it), a note for a passing state (being replaced, not settled yet)."""
    if what:
        prefix = _("Could not load {what}: {error}").format(what=_(what), error=say(error))
    else:
        prefix = _("The warehouse cannot be read: {error}").format(error=say(error))
    if isinstance(error, SnapshotDamaged):
        st.error(prefix, icon=":material/error:")
        st.stop()
        raise AssertionError("unreachable")
    stop(_("{message}. Try again in a moment.").format(message=prefix))


def safely(what: str, load):  # type: ignore[no-untyped-def]
    """Run a query; a warehouse that vanished or broke mid-session is a message, not a
    traceback."""
    try:
        return load()
    except WarehouseUnavailable as error:
        unavailable(error, what)


__all__ = [
    "View", "bound", "choose_period", "index_of", "open_view", "safely", "stop", "url_choice",
]  # fmt: skip
