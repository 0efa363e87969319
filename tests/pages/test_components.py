"""Pure builders of the pages: figures from frames, exact exports."""

from __future__ import annotations

import io
import zipfile

import polars as pl
import pytest

from pages.components import charts
from pages.components.formatting import csv_bytes, excel_bytes, yuan, yuan_columns

MATRIX = pl.DataFrame(
    {
        "row_key": ["install", "install", "repair"],
        "column_key": ["华东", "华南", "华东"],
        "tickets": [2, 1, 4],
        "revenue_cents": [50_000, 0, 10_000],
        "payout_cents": [30_000, 12_345, 40_000],
    }
)


def test_heatmap_cells_hold_the_measure_and_missing_cells_stay_empty() -> None:
    figure = charts.heatmap_figure(MATRIX, "payout_per_ticket", "category", "group")
    heat = figure.data[0]
    assert list(heat.y) == ["install", "repair"] and list(heat.x) == ["华东", "华南"]
    assert heat.z[0] == pytest.approx([150.0, 123.45])
    assert heat.z[1][0] == pytest.approx(100.0) and heat.z[1][1] is None


def test_province_tiles_place_every_province_at_its_capital() -> None:
    frame = pl.DataFrame(
        {
            "province_code": ["11", "44", "99"],
            "province_name": ["北京市", "广东省", "nowhere"],
            "tickets": [1, 2, 3],
            "revenue_cents": [100, 200, 300],
            "payout_cents": [50, 50, 50],
        }
    )
    tiles = charts.china_tiles(frame, "margin").data[0]
    assert list(tiles.customdata) == ["11", "44"]  # an unknown code gets no tile
    assert list(tiles.x) == [116.4, 113.3] and list(tiles.marker.color) == [0.5, 1.5]


def test_trend_has_one_line_per_segment() -> None:
    trend = pl.DataFrame(
        {
            "period": ["2026-01", "2026-02", "2026-01"],
            "segment": ["in_sale", "in_sale", "after_sale"],
            "tickets": [10, 20, 5],
            "revenue_cents": [100_000, 100_000, 0],
            "payout_cents": [1, 2, 3],
        }
    )
    figure = charts.trend_figure(trend, "scenario")
    lines = {trace.name: list(trace.y) for trace in figure.data}
    assert lines == {"in_sale": [100.0, 50.0], "after_sale": [0.0]}


@pytest.mark.parametrize(
    ("cents", "text"),
    [(0, "¥0.00"), (5, "¥0.05"), (123_456_789, "¥1,234,567.89"), (-150, "-¥1.50")],
)
def test_yuan_is_exact_with_thousands_separators(cents: int, text: str) -> None:
    assert yuan(cents) == text


def test_csv_export_has_a_bom_and_exact_yuan() -> None:
    frame = pl.DataFrame({"城市": ["北京"], "amount_cents": [-123_456_789], "tickets": [3]})
    data = csv_bytes(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines() == [
        "城市,tickets,amount_yuan",
        "北京,3,-1234567.89",
    ]


def test_excel_export_holds_the_exact_values() -> None:
    frame = pl.DataFrame({"城市": ["北京", "上海"], "amount_cents": [1050, 7]})
    with zipfile.ZipFile(io.BytesIO(excel_bytes(frame, "城市"))) as book:
        names = book.namelist()
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
    assert "xl/worksheets/sheet1.xml" in names
    for text in ("城市", "amount_yuan", "北京", "上海", "10.50", "0.07"):
        assert f">{text}<" in strings


def test_table_yuan_keep_their_fen_when_duckdb_sums_arrive_as_decimals() -> None:
    # A DuckDB sum of BIGINT cents is DECIMAL(38, 0): dividing that in Polars kept scale 0.
    frame = pl.DataFrame({"revenue_cents": [283_186_690, -757]}).cast(pl.Decimal(38, 0))
    assert yuan_columns(frame)["revenue"].to_list() == [2_831_866.90, -7.57]
