"""Audit (admins and analysts): who changed what, when and why; filterable and exportable."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from pages.components.context import current, database
from pages.components.formatting import export_buttons
from pages.components.page import stop
from warehouse import app_store

identity = current("audit")
if "audit" not in identity.pages:
    stop("This page is not available to your role.")
st.title("Audit")
store = app_store.app_store_path(Path(database()))
everything = pl.DataFrame(
    app_store.audit_entries(store, identity.scope.role),
    schema={k: pl.String for k in ("at", "actor", "action", "subject", "diff", "reason")}
    | {"audit_id": pl.Int64},
)
if everything.is_empty():
    stop("Nothing has been audited yet: publishes, rollbacks, closes and user changes appear here.")
left, right = st.columns(2)
action = left.selectbox("Action", [None, *sorted(set(everything["action"]))], key="audit-action",
                        format_func=lambda a: a or "all actions")  # fmt: skip
who = right.selectbox("Actor", [None, *sorted(set(everything["actor"]))], key="audit-actor",
                      format_func=lambda a: a or "everyone")  # fmt: skip
shown = everything.filter(
    (pl.lit(action is None) | (pl.col("action") == action))
    & (pl.lit(who is None) | (pl.col("actor") == who))
).select("audit_id", "at", "actor", "action", "subject", "diff", "reason")
st.dataframe(shown, hide_index=True)
export_buttons(shown, "audit", key="audit")
st.caption("The audit log is append-only: the app store refuses any edit or deletion of it.")
