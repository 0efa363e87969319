"""Earnings heatmaps: item or category × region, colour for the measure; a cell leads to its
tickets through the linked table below (Plotly heatmap clicks do not reach Streamlit)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from pages.components import charts, data
from pages.components.formatting import export_buttons, money_config, yuan_columns
from pages.components.page import index_of, open_view, safely, url_choice

view = open_view("heatmaps")
st.title("Earnings heatmaps")
ALL = "all periods"
period_options = [ALL, *view.periods]
period_choice = st.sidebar.selectbox(
    "Period",
    period_options,
    index=index_of(period_options, url_choice("hperiod", period_options, ALL)),
    key="hperiod",
    bind="query-params",
)
period = None if period_choice in (None, ALL) else period_choice
left, middle, right = st.columns(3)
rows = (
    left.segmented_control(
        "Rows",
        ["category", "item"],
        default=url_choice("rows", ["category", "item"], "category"),
        key="rows",
        bind="query-params",
    )
    or "category"
)
columns = (
    middle.segmented_control(
        "Columns",
        ["group", "province", "city"],
        default=url_choice("cols", ["group", "province", "city"], "group"),
        key="cols",
        bind="query-params",
    )
    or "group"
)
measure = (
    right.segmented_control(
        "Measure",
        list(charts.MEASURES),
        default="payout_per_ticket",
        key="measure",
        format_func=lambda m: charts.MEASURES[m][1],
        bind="query-params",
    )
    or "payout_per_ticket"
)

matrix = safely(
    "the matrix",
    lambda: data.heatmap(view.db, view.version, view.scope, period, rows, columns),
)
if matrix.is_empty():
    st.info("No settled tickets for this choice.")
    st.stop()
st.plotly_chart(charts.heatmap_figure(matrix, measure, rows, columns), key="heat")

if columns == "province":
    tiles = matrix.group_by("column_key").agg(
        pl.col("tickets").sum(), pl.col("revenue_cents").sum(), pl.col("payout_cents").sum()
    )
    ranking = safely(
        "provinces",
        lambda: data.region_ranking(view.db, view.version, view.scope, period or view.periods[0]),
    )
    by_code = tiles.join(
        ranking.select("province_code", "province_name"),
        left_on="column_key",
        right_on="province_name",
    ).rename({"column_key": "province_name"})
    st.plotly_chart(charts.china_tiles(by_code, measure), key="tiles")

st.subheader("Cells")
st.caption("Select a cell (a row of this table) to see its tickets.")
cells = charts.with_rates(matrix).sort("payout_cents", descending=True)
shown = cells.select(
    "row_key", "column_key", "tickets", "revenue_cents", "payout_cents", "margin_cents"
)
selection = st.dataframe(
    yuan_columns(shown),
    column_config=money_config(shown),
    hide_index=True,
    on_select="rerun",
    selection_mode="single-row",
    key="cells",
)
export_buttons(shown, "heatmap_cells", key="cells")
chosen = selection.selection.rows if selection else []
if chosen:
    cell = shown.row(chosen[0], named=True)
    where = {"group": "group", "province": "province", "city": "city"}[columns]
    tickets = safely(
        "the cell's tickets",
        lambda: data.tickets(
            view.db, view.version, view.scope, period=period, item=cell["row_key"],
            **{where: cell["column_key"]},
        ),
    )  # fmt: skip
    st.subheader(f"Tickets · {cell['row_key']} × {cell['column_key']}")
    st.dataframe(yuan_columns(tickets), column_config=money_config(tickets), hide_index=True)
    export_buttons(tickets, "cell_tickets", key="cell-tickets")
