"""A list of tickets that says when it is cut, with exports of every matching ticket."""

from __future__ import annotations

from typing import Any

import polars as pl
import streamlit as st

from pages.components import data
from pages.components.formatting import export_buttons, show_table
from pages.components.i18n import _
from pages.components.page import View, safely


def ticket_list(
    view: View, key: str, what: str, when: str | None, select: bool = False, **filters: str | None
) -> tuple[pl.DataFrame, Any]:
    """Draw the matching tickets (at most data.SHOWN_TICKETS); returns them and the selection.

    The grid's key carries the filters: a selection belongs to one table and is dropped when
    the table changes, never shown against rows the user did not pick.
    """
    shown, total = safely(
        "tickets", lambda: data.ticket_list(view.db, view.version, view.scope, **filters)
    )
    if total > shown.height:
        st.caption(
            _("Showing {shown:,} of {total:,} tickets (newest first); the exports hold all.")
            .format(shown=shown.height, total=total)
        )  # fmt: skip
    grid_key = key + "-" + "-".join(f"{k}={v}" for k, v in sorted(filters.items()) if v)
    options: dict[str, Any] = (
        {"on_select": "rerun", "selection_mode": "single-row", "key": grid_key} if select else {}
    )
    picked = show_table(shown, **options)
    if total > shown.height:
        scope = view.scope
        export_buttons(
            lambda: data.all_tickets(view.db, scope, **filters), what, f"{key}-export", when
        )
    else:
        export_buttons(shown, what, f"{key}-export", when)
    return shown, picked
