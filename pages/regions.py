"""Regions (regional leads): region group → province → city → technician → ticket, with a
breadcrumb; each level shows totals, per-ticket figures, urgent and rework shares, and tickets."""

from __future__ import annotations

import polars as pl
import streamlit as st

from pages.components import breakdown, data
from pages.components.formatting import export_buttons, short_yuan, show_table, yuan
from pages.components.i18n import _, code
from pages.components.page import choose_period, open_view, safely
from pages.components.ticket_list import ticket_list

PATH = ("group", "province", "city", "technician")

view = open_view("regions")
period = choose_period(view)
st.title(_("Regions"))

# The drill path lives in the URL, so a drill-down is a shareable link and the back button works.
path = {level: st.query_params.get(level) for level in PATH}
for index, level in enumerate(PATH):  # a gap in the path drops everything below it
    if not path[level]:
        for below in PATH[index + 1 :]:
            path[below] = None
depth = sum(1 for level in PATH if path[level])


def go(levels: dict[str, str | None]) -> None:
    for level in PATH:
        if levels.get(level):
            st.query_params[level] = str(levels[level])
        elif level in st.query_params:
            del st.query_params[level]
    st.rerun()


crumbs = st.columns(len(PATH) + 1)
if crumbs[0].button(_("All regions"), key="crumb-all", disabled=depth == 0):
    go({})
for index, level in enumerate(PATH):
    if path[level]:
        keep = {lv: path[lv] for lv in PATH[: index + 1]}
        if crumbs[index + 1].button(
            f"{code('level', level)}: {path[level]}",
            key=f"crumb-{level}",
            disabled=index + 1 == depth,
        ):
            go(keep)

parents = {"group": path["group"], "province": path["province"], "city": path["city"]}
if depth < len(PATH):
    level = PATH[depth]
    children = safely(
        "the drill-down",
        lambda: data.drill(view.db, view.version, view.scope, period, level, **parents),
    )
    if children.is_empty():
        st.info(_("Nothing settled here in this period."))
        st.stop()
    totals = children.select(pl.all().exclude("child").sum())
    tickets = int(totals["tickets"][0])
    payouts = int(totals["payout_cents"][0])
    cols = st.columns(5)
    cols[0].metric(_("Tickets"), f"{tickets:,}")
    cols[1].metric(_("Payouts"), short_yuan(payouts), help=yuan(payouts))
    cols[2].metric(_("Payout per ticket"), yuan(payouts // max(tickets, 1)))
    cols[3].metric(_("Urgent share"), f"{int(totals['urgent_tickets'][0]) / max(tickets, 1):.1%}")
    cols[4].metric(_("Rework share"), f"{int(totals['rework_tickets'][0]) / max(tickets, 1):.1%}")

    table = children.with_columns(
        payout_per_ticket_cents=pl.col("payout_cents") // pl.col("tickets"),
        urgent_share=pl.col("urgent_tickets") / pl.col("tickets"),
        rework_share=pl.col("rework_tickets") / pl.col("tickets"),
    ).rename({"child": level})
    st.subheader(code("levels", level))
    st.caption(_("Select a row to drill down."))
    here = "-".join(str(v) for v in (period, *parents.values()) if v)
    picked = show_table(
        table, on_select="rerun", selection_mode="single-row", key=f"drill-{level}-{here}"
    )
    export_buttons(table, code("levels", level), key=f"export-{level}", when=period)
    rows = picked.selection.rows if picked else []
    if rows:
        go({**path, level: str(table[level][rows[0]])})

st.subheader(_("Tickets"))
st.caption(_("Select a ticket to see how it earned its amount."))
tickets_table, chosen = ticket_list(
    view, "tickets", _("Tickets"), period, select=True, period=period,
    technician=path["technician"], **parents,
)  # fmt: skip
picked_rows = chosen.selection.rows if chosen else []
if picked_rows and picked_rows[0] < tickets_table.height:
    ticket = str(tickets_table["ticket_id"][picked_rows[0]])
    lines = safely(
        "the breakdown",
        lambda: data.ticket_lines(view.db, view.version, view.scope, (ticket,)),
    )
    st.subheader(_("Ticket {ticket}: how it earned its amount").format(ticket=ticket))
    breakdown.cards(lines, payees=True)
    table = lines.select(
        "line_kind", "payee_type", "payee_id", "amount_cents", "currency", "amount_local_cents",
        "price_tier", "ladder_rate_bp", "rule_version",
        *[c for c in lines.columns if c.endswith("_cents") and c not in ("amount_cents",
                                                                          "amount_local_cents")],
    )  # fmt: skip
    show_table(table)
    export_buttons(table, _("Ticket"), key="export-lines", when=ticket)
