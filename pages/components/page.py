"""What every page does first: who, which warehouse, which periods; a clear stop otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

import streamlit as st

from pages.components import data
from pages.components.context import Identity, current, database, snapshot_version
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
        stop("This page is not available to your role.")
    db = database()
    version = snapshot_version(db)
    if version == 0:
        stop(
            f"No warehouse yet at {db}. Build the demo one with `make run`, or load feeds "
            "with `python -m pipelines ingest` and settle them with `python -m settlement run`."
        )
    try:
        notice = data.schema_notice(str(db), version)
        periods = data.periods(str(db), version, identity.scope)
    except WarehouseUnavailable as error:
        unavailable(error)
    if notice:
        st.warning(notice, icon=":material/warning:")
    if not periods:
        stop("No settled tickets are visible to you yet.")
    return View(str(db), version, identity, periods)


def choose_period(view: View, label: str = "Period") -> str:
    """The period picker, kept in the URL (``?period=YYYY-MM``) so a view is a shareable link."""
    start = url_choice("period", view.periods, view.periods[0])
    choice = st.sidebar.selectbox(
        label, view.periods, index=index_of(view.periods, start), key="period", bind="query-params"
    )
    return choice or view.periods[0]


def unavailable(error: WarehouseUnavailable, what: str | None = None) -> NoReturn:
    """Stop the page with what is wrong with the warehouse: an error for a damaged snapshot
    (waiting will not mend it), a note for a passing state (being replaced, not settled yet)."""
    prefix = f"Could not load {what}: " if what else "The warehouse cannot be read: "
    if isinstance(error, SnapshotDamaged):
        st.error(prefix + str(error), icon=":material/error:")
        st.stop()
        raise AssertionError("unreachable")
    stop(f"{prefix}{error}. Try again in a moment.")


def safely(what: str, load):  # type: ignore[no-untyped-def]
    """Run a query; a warehouse that vanished or broke mid-session is a message, not a
    traceback."""
    try:
        return load()
    except WarehouseUnavailable as error:
        unavailable(error, what)


def url_choice(key: str, options: list[Any] | None, fallback: Any) -> Any:
    """A URL-bound widget's starting value: the URL's, if it is one of ``options``.

    ``bind="query-params"`` keeps the URL in step with the widget in the browser; reading the
    URL here as well makes a shared link open the same view in every client (and in AppTest),
    and a hand-edited URL cannot pick a value that is not offered.
    """
    raw = st.query_params.get(key)
    if raw is None:
        return fallback
    if options is None:
        return raw
    return next((option for option in options if str(option) == raw), fallback)


def index_of(options: list[Any], value: Any) -> int:
    return options.index(value) if value in options else 0
