"""Data health's alerts: one table of them in words; the chosen one's tickets below it
(exportable); and the analysts' thresholds form."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from pages.components import data
from pages.components.context import database, snapshot_version
from pages.components.formatting import export_buttons, show_table
from pages.components.i18n import N_, _, code
from pages.components.page import View
from pages.components.signin import actor
from warehouse.alerts import DEFAULTS, Alert, set_thresholds, threshold_problem
from warehouse.app_store import app_store_path
from warehouse.db import WarehouseError
from warehouse.scope import Scope


def active_count(scope: Scope) -> int:
    """How many alerts are active for ``scope`` (cached; none while the warehouse is unreadable
    or empty): the navigation shows it beside Data health's title."""
    db = database()
    version = snapshot_version(db)
    if not version:
        return 0
    try:
        return len(data.alerts(str(db), version, scope, data.alert_limits(str(db))))
    except WarehouseError:
        return 0


def headline(alert: Alert) -> str:
    """One alert in the reader's words."""
    if alert.kind == "unpriced":
        return _("{period}: {count} ticket(s) the rules could not price").format(
            period=alert.period, count=len(alert.tickets)
        )
    if alert.kind == "rule_stopped":
        return _(
            "Rule “{rule}” stopped firing in {period}: it fired on {baseline:.1%} of the lines "
            "before, last in {last}"
        ).format(rule=code("column", alert.subject), period=alert.period,
                 baseline=alert.baseline, last=alert.measure)  # fmt: skip
    if alert.kind == "rule_surge":
        return _(
            "Rule “{rule}” fires on {rate:.1%} of {period}'s lines, against {baseline:.1%} before"
        ).format(rule=code("column", alert.subject), rate=alert.value, period=alert.period,
                 baseline=alert.baseline)  # fmt: skip
    if alert.kind == "share_spike":
        subject_kind, flag = alert.measure.split(":")
        return _(
            "{who} {subject}: {flag} share {share:.1%} in {period}, against {baseline:.1%} in "
            "its own history"
        ).format(who=code("alert_subject", subject_kind), subject=alert.subject,
                 flag=code("alert_flag", flag), share=alert.value, period=alert.period,
                 baseline=alert.baseline)  # fmt: skip
    return _("Refunds arrived for closed period {period}: {count} ticket(s)").format(
        period=alert.period, count=len(alert.tickets)
    )


def show(view: View, found: list[Alert]) -> None:
    """Every alert as a row (hundreds of expanders would take seconds to draw), and the tickets
    behind the row chosen (the first until one is)."""
    if not found:
        st.success(_("No alert: nothing unusual in the latest period."), icon=":material/check:")
    else:
        rows = pl.DataFrame(
            {
                "alert": [headline(a) for a in found],
                "period": [a.period for a in found],
                "tickets": [len(a.tickets) for a in found],
            },
            schema={"alert": pl.String, "period": pl.String, "tickets": pl.Int64},
        )
        event = show_table(rows, on_select="rerun", selection_mode="single-row", key="alerts-table")
        picked = event.selection.rows if event else []
        number = picked[0] if picked else 0
        alert = found[number]
        st.caption(_("Tickets behind: {alert}").format(alert=headline(alert)))
        tickets = pl.DataFrame({"ticket_id": list(alert.tickets)}, schema={"ticket_id": pl.String})
        show_table(tickets)
        export_buttons(tickets, _("Alert tickets"), key=f"alert-{number}", when=alert.period)
    if view.scope.role == "analyst":
        thresholds_form(view)


LABELS = {
    "history_months": N_("History (periods before the latest)"),
    "share_factor": N_("Share spike: times its own mean"),
    "share_min_tickets": N_("Share spike: at least this many tickets"),
    "rule_factor": N_("Rule surge: times its mean rate"),
    "rule_min_lines": N_("Rule: fewest lines to judge it"),
    "unpriced_min_tickets": N_("Unpriced tickets that raise an alert"),
}


def thresholds_form(view: View) -> None:
    limits = dict(data.alert_limits(view.db))
    with st.expander(_("Alert thresholds")), st.form("alert-thresholds"):
        values = {}
        for name, (default, lowest, whole) in DEFAULTS.items():
            values[name] = st.number_input(
                _(LABELS[name]) + f" ({_('default')} {default:g})",
                min_value=float(lowest), value=float(limits[name]),
                step=1.0 if whole else 0.5, key=f"alert-{name}",
            )  # fmt: skip
        why = st.text_input(_("Why (required)"), key="alert-note")
        if st.form_submit_button(_("Save thresholds")):
            problems = [p for n, v in values.items() if (p := threshold_problem(n, v))]
            if not why.strip():
                st.error(_("Changing alert thresholds needs a note saying why."))
            elif problems:
                for problem in problems:
                    st.error(problem)
            else:
                set_thresholds(
                    app_store_path(Path(view.db)), values, actor=actor(view.identity), reason=why
                )
                st.cache_data.clear()
                st.rerun()
