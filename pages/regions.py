"""Regions (regional leads): region group → province → city → technician → ticket, with a
breadcrumb; each level shows totals, per-ticket figures, urgent and rework shares, and tickets."""

from __future__ import annotations

import polars as pl
import streamlit as st

from pages.components import data
from pages.components.formatting import export_buttons, money_config, yuan, yuan_columns
from pages.components.page import choose_period, open_view, safely

PATH = ("group", "province", "city", "technician")
PLURALS = {
    "group": "Region groups",
    "province": "Provinces",
    "city": "Cities",
    "technician": "Technicians",
}
LABELS = {
    "group": "Region group",
    "province": "Province",
    "city": "City",
    "technician": "Technician",
}

view = open_view("regions")
period = choose_period(view)
st.title("Regions")

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
if crumbs[0].button("All regions", key="crumb-all", disabled=depth == 0):
    go({})
for index, level in enumerate(PATH):
    if path[level]:
        keep = {lv: path[lv] for lv in PATH[: index + 1]}
        if crumbs[index + 1].button(
            f"{LABELS[level]}: {path[level]}", key=f"crumb-{level}", disabled=index + 1 == depth
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
        st.info("Nothing settled here in this period.")
        st.stop()
    totals = children.select(pl.all().exclude("child").sum())
    tickets = int(totals["tickets"][0])
    cols = st.columns(5)
    cols[0].metric("Tickets", f"{tickets:,}")
    cols[1].metric("Payouts", yuan(int(totals["payout_cents"][0])))
    cols[2].metric("Payout per ticket", yuan(int(totals["payout_cents"][0]) // max(tickets, 1)))
    cols[3].metric("Urgent share", f"{int(totals['urgent_tickets'][0]) / max(tickets, 1):.1%}")
    cols[4].metric("Rework share", f"{int(totals['rework_tickets'][0]) / max(tickets, 1):.1%}")

    table = children.with_columns(
        payout_per_ticket_cents=pl.col("payout_cents") // pl.col("tickets"),
        urgent_share=pl.col("urgent_tickets") / pl.col("tickets"),
        rework_share=pl.col("rework_tickets") / pl.col("tickets"),
    ).rename({"child": LABELS[level]})
    st.subheader(PLURALS[level])
    st.caption("Select a row to drill down.")
    picked = st.dataframe(
        yuan_columns(table),
        column_config={
            **money_config(table),
            "urgent_share": st.column_config.NumberColumn("urgent share", format="percent"),
            "rework_share": st.column_config.NumberColumn("rework share", format="percent"),
        },
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key=f"drill-{level}",
    )
    export_buttons(table, f"{level}_{period}", key=f"export-{level}")
    rows = picked.selection.rows if picked else []
    if rows:
        go({**path, level: str(table[LABELS[level]][rows[0]])})

tickets_table = safely(
    "tickets",
    lambda: data.tickets(
        view.db, view.version, view.scope, period=period, technician=path["technician"], **parents
    ),
)
st.subheader("Tickets")
st.caption("Select a ticket to see each settlement line's breakdown.")
chosen = st.dataframe(
    yuan_columns(tickets_table),
    column_config=money_config(tickets_table),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="tickets",
)
export_buttons(tickets_table, f"tickets_{period}", key="export-tickets")
picked_rows = chosen.selection.rows if chosen else []
if picked_rows:
    ticket = str(tickets_table["ticket_id"][picked_rows[0]])
    lines = safely(
        "the breakdown",
        lambda: data.ticket_lines(view.db, view.version, view.scope, (ticket,)),
    )
    st.subheader(f"Ticket {ticket}: breakdown")
    breakdown = lines.select(
        "line_kind", "payee_type", "payee_id", "price_tier", "ladder_rate_bp", "currency",
        *[c for c in lines.columns if c.endswith("_cents")],
    )  # fmt: skip
    st.dataframe(yuan_columns(breakdown), column_config=money_config(breakdown), hide_index=True)
    export_buttons(breakdown, f"ticket_{ticket}", key="export-lines")
