"""Audit (admins and analysts): who changed what, when and why; filterable and exportable."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from pages.components.context import current, database
from pages.components.formatting import export_buttons, show_table
from pages.components.i18n import _, code, phrase
from pages.components.page import bound, stop
from pages.components.vocabulary import C_
from warehouse import app_store

# Words of codes only the audit log holds (beside the vocabulary's): actions, and the alert
# thresholds an alert_thresholds row names.
AUDIT_WORDS = (
    C_("action", "golden_cases"),
    C_("action", "alert_thresholds"),
    C_("action", "manual_pull"),
    C_("alert_threshold", "history_months"),
    C_("alert_threshold", "share_factor"),
    C_("alert_threshold", "share_min_tickets"),
    C_("alert_threshold", "rule_factor"),
    C_("alert_threshold", "rule_min_lines"),
    C_("alert_threshold", "unpriced_min_tickets"),
)
TEXTS = ("subject", "diff", "reason")

identity = current("audit")
if "audit" not in identity.pages:
    stop(_("This page is not available to your role."))
st.title(_("Audit"))
store = app_store.app_store_path(Path(database()))
# A text written with its wording reads in the page's language; an older row as it was stored.
everything = pl.DataFrame(
    [
        entry | {name: phrase(entry[name]) for name in TEXTS}
        for entry in app_store.audit_entries(store, identity.scope.role)
    ],
    schema={k: pl.String for k in ("at", "actor", "action", "subject", "diff", "reason")}
    | {"audit_id": pl.Int64},
)
if everything.is_empty():
    stop(_("Nothing audited yet: publishes, rollbacks, closes and user changes appear here."))
left, right = st.columns(2)
action = bound(
    left.selectbox, _("Action"), ["", *sorted(set(everything["action"]))], "audit-action", "",
    format_func=lambda a: code("action", a) if a else _("all actions"),
)  # fmt: skip
who = bound(
    right.selectbox, _("Actor"), ["", *sorted(set(everything["actor"]))], "audit-actor", "",
    format_func=lambda a: a or _("everyone"),
)  # fmt: skip
shown = everything.filter(
    (pl.lit(not action) | (pl.col("action") == action))
    & (pl.lit(not who) | (pl.col("actor") == who))
).select("audit_id", "at", "actor", "action", "subject", "diff", "reason")
show_table(shown)
export_buttons(shown, _("Audit"), key="audit")
st.caption(_("The audit log is append-only: the app store refuses any edit or deletion of it."))
