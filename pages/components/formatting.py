"""Money for display and export: ¥ with thousands separators; exact cents underneath."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import polars as pl
import streamlit as st

from pages.components.i18n import _, code, current_lang, reword
from settlement.explain import money as money_text
from settlement.explain import yuan

__all__ = [
    "csv_bytes",
    "excel_bytes",
    "export_buttons",
    "export_frame",
    "money_column",
    "money_text",
    "short_yuan",
    "show_table",
    "table",
    "yuan",
    "yuan_columns",
]

EXCEL_MONEY = '"¥"#,##0.00;-"¥"#,##0.00'
EXCEL_PLAIN = "#,##0.00;-#,##0.00"
BEIJING = "Asia/Shanghai"
# Columns whose values are codes: translated with the column's name as their kind.
CODE_COLUMNS = frozenset(
    (
        "scenario", "channel", "item_category", "segment", "line_kind", "origin_kind",
        "payee_type", "partner_type", "status", "state", "feed", "action", "level", "reason",
        "platform",
    )
)  # fmt: skip
# Cents in the line's own payout currency (see its ``currency`` column), not in CNY.
LOCAL_COLUMNS = {"amount_local_cents": "amount in payout currency"}


def money_column(label: str) -> Any:
    """A grid column of yuan: "¥1,234.50", negatives "-¥1,234.50", sorted as numbers.

    Streamlit's printf formats would put the sign after the symbol ("¥-1,234.50"); its "yen"
    format is the browser's currency formatter (minus first), held to fen by the step.
    """
    return st.column_config.NumberColumn(label, format="yen", step=0.01)


def yuan_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Every ``*_cents`` column as yuan (for display: the grid formats, the data stays cents).

    DuckDB's sums arrive as DECIMAL(38, 0), and Polars keeps a Decimal's scale when dividing:
    cents go through Int64 first, so the yuan keep their fen (exact as doubles below 2**53).
    """
    cents = [c for c in frame.columns if c.endswith("_cents")]
    return frame.with_columns(
        (pl.col(c).cast(pl.Int64) / 100).alias(c.removesuffix("_cents")) for c in cents
    ).drop(cents)


def _exact_yuan(frame: pl.DataFrame) -> pl.DataFrame:
    """Cents as exact yuan strings ("1234.50") for files: no float ever reaches an export."""
    cents = [c for c in frame.columns if c.endswith("_cents")]
    sign = pl.when(pl.col("__c") < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    out = frame
    for column in cents:
        out = (
            out.with_columns(pl.col(column).alias("__c"))
            .with_columns(
                pl.format(
                    "{}{}.{}",
                    sign,
                    (pl.col("__c").abs() // 100).cast(pl.String),
                    (pl.col("__c").abs() % 100).cast(pl.String).str.zfill(2),
                ).alias(
                    # A foreign-currency amount keeps its name: its unit is the row's currency.
                    column.removesuffix("_cents") + ("" if column in LOCAL_COLUMNS else "_yuan")
                )
            )
            .drop("__c", column)
        )
    return out


# OWASP's CSV-injection rule: a cell starting with one of these is read as a formula (or DDE
# call) by Excel, WPS and LibreOffice; a leading apostrophe makes it text.
FORMULA_START = r"^[=+\-@\t\r]"
# A plain decimal number ("-12.50", "+3") is read as a number, never a formula: left as it is,
# so money and negative amounts stay numeric in a spreadsheet.
PLAIN_NUMBER = r"^[+-]?[0-9]+(\.[0-9]+)?$"


def neutralised(value: str) -> str:
    """One text cell made safe for a spreadsheet (the same rule as ``_neutralise``)."""
    if re.match(FORMULA_START, value) and not re.match(PLAIN_NUMBER, value):
        return "'" + value
    return value


def _neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell (and header) neutralised against formulas; other types are untouched."""
    text = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    cells = {name: pl.col(name).cast(pl.String) for name in text}
    safe = frame.with_columns(
        pl.when(cell.str.contains(FORMULA_START) & ~cell.str.contains(PLAIN_NUMBER))
        .then(pl.lit("'") + cell)
        .otherwise(cell)
        .alias(name)
        for name, cell in cells.items()
    )
    return safe.rename({name: neutralised(name) for name in safe.columns})


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with a BOM, so Excel and WPS open Chinese headers and values cleanly; every text
    cell neutralised against formula injection."""
    return "\ufeff".encode() + _neutralise(_exact_yuan(frame)).write_csv().encode("utf-8")


def excel_bytes(frame: pl.DataFrame, sheet: str = "data", lang: str | None = None) -> bytes:
    """A workbook of ``frame``: money as numbers in a ¥ format, dates as dates, header frozen."""
    shown, money_headers, local_headers = _export(frame, lang)
    buffer = io.BytesIO()
    shown.write_excel(
        buffer,
        worksheet=sheet[:31],
        column_formats={h: EXCEL_MONEY for h in money_headers}
        | {h: EXCEL_PLAIN for h in local_headers},
        dtype_formats={pl.Date: "yyyy-mm-dd", pl.Datetime: "yyyy-mm-dd hh:mm"},
        freeze_panes=(1, 0),
        autofit=True,
    )
    return buffer.getvalue()


def header(column: str, lang: str | None = None) -> str:
    """A column's header in the session's language."""
    return code("column", column, lang)


def _words(frame: pl.DataFrame, lang: str | None = None) -> list[pl.Expr]:
    """Codes as words, timestamps as Beijing time, dates without a time."""
    out = []
    for column, dtype in frame.schema.items():
        if column in CODE_COLUMNS and dtype == pl.String:
            values = [v for v in frame[column].unique().to_list() if v is not None]
            mapping = {v: reword(column, v, lang) for v in values}
            out.append(pl.col(column).replace(mapping))
        elif isinstance(dtype, pl.Datetime) and column.endswith("_date"):
            out.append(pl.col(column).dt.date())
        elif isinstance(dtype, pl.Datetime):
            # Warehouse timestamps are UTC; people read them in Beijing time.
            zone = pl.col(column) if dtype.time_zone else pl.col(column).dt.replace_time_zone("UTC")
            out.append(zone.dt.convert_time_zone(BEIJING).dt.replace_time_zone(None))
    return out


def _unique(headers: dict[str, str]) -> dict[str, str]:
    """Headers as given, but a header two columns share names the second by its column."""
    seen: set[str] = set()
    out = {}
    for column, text in headers.items():
        out[column] = text if text not in seen else f"{text} ({column})"
        seen.add(out[column])
    return out


def table(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
    """For ``st.dataframe``: code values as words, exact yuan, headers in the session's language."""
    # An empty text cell stays empty (the grid would print "None").
    words = frame.with_columns(_words(frame)).with_columns(pl.col(pl.String).fill_null(""))
    shown = yuan_columns(words)
    shown = shown.select(c.removesuffix("_cents") for c in frame.columns)
    renames = _unique({c.removesuffix("_cents"): header(c) for c in frame.columns})
    config: dict[str, Any] = {}
    for column, dtype in frame.schema.items():
        label = renames[column.removesuffix("_cents")]
        if column in LOCAL_COLUMNS:
            config[label] = st.column_config.NumberColumn(label, format="%,.2f")
        elif column.endswith("_cents"):
            config[label] = money_column(label)
        elif column.endswith(("_share", "_rate")):
            config[label] = st.column_config.NumberColumn(label, format="percent")
        elif dtype.is_integer() and not column.endswith(("_id", "_bp")):
            config[label] = st.column_config.NumberColumn(label, format="localized")
    return shown.rename(renames), config


def show_table(frame: pl.DataFrame, **kwargs: Any) -> Any:
    """``frame`` as a translated, exactly formatted grid; returns the selection event, if any."""
    shown, config = table(frame)
    return st.dataframe(shown, column_config=config, hide_index=True, **kwargs)


def _export(
    frame: pl.DataFrame, lang: str | None = None
) -> tuple[pl.DataFrame, list[str], list[str]]:
    """The export's frame: exact decimal yuan, words, translated headers; and its money headers."""
    money_headers, local_headers, columns = [], [], []
    words = frame.with_columns(_words(frame, lang))
    names = _unique({column: header(column, lang) for column in frame.columns})
    for column, dtype in frame.schema.items():
        name = names[column]
        if column.endswith("_cents"):
            # Exact decimal yuan: a number (not text) that no float ever touched.
            value = pl.col(column).cast(pl.Int64).cast(pl.Decimal(38, 2)) / 100
            (local_headers if column in LOCAL_COLUMNS else money_headers).append(name)
        elif dtype == pl.Boolean:
            yes, no = _("yes", lang), _("no", lang)
            value = pl.when(pl.col(column)).then(pl.lit(yes)).otherwise(pl.lit(no))
        else:
            value = pl.col(column)
        columns.append(value.alias(name))
    return words.select(columns), money_headers, local_headers


def export_frame(frame: pl.DataFrame, lang: str | None = None) -> pl.DataFrame:
    """What a CSV holds: the grid's rows with translated headers and exact yuan."""
    return _export(frame, lang)[0]


def short_yuan(cents: int) -> str:
    """A card's figure: 万 / 亿 in Chinese, K / M / B in English; exact below ten thousand yuan
    (the exact amount goes in the card's hover help)."""
    sign, value = ("-" if cents < 0 else ""), abs(int(cents)) / 100
    steps = (
        ((1e8, 1e8, "亿"), (1e4, 1e4, "万"))
        if current_lang() == "zh"
        else ((1e9, 1e9, "B"), (1e6, 1e6, "M"), (1e4, 1e3, "K"))
    )  # (from, divisor, unit)
    for start, divisor, unit in steps:
        if value >= start:
            return f"{sign}¥{value / divisor:,.2f}{unit}"
    return yuan(int(cents))


def export_buttons(
    rows: pl.DataFrame | Callable[[], pl.DataFrame],
    what: str,
    key: str,
    when: str | None = None,
) -> None:
    """CSV and Excel downloads named after what and when (``区域_2026-10.xlsx``).

    ``rows`` is the frame shown, or a loader of every row of a list the page shows cut. Either
    way a file is built only when asked for (a page with seven tables built fourteen files on
    every render); Streamlit calls the builder outside the script run, so the language is fixed
    here.
    """
    lang = current_lang()
    name = "_".join(part for part in (what, when) if part).replace("/", "-")

    def csv_file() -> bytes:
        return csv_bytes(export_frame(rows() if callable(rows) else rows, lang))

    def excel_file() -> bytes:
        return excel_bytes(rows() if callable(rows) else rows, what, lang)

    left, right = st.columns(2)
    left.download_button(
        "CSV",
        csv_file,
        f"{name}.csv",
        "text/csv",
        key=f"{key}-csv",
        icon=":material/download:",
        on_click="ignore",
    )
    right.download_button(
        "Excel",
        excel_file,
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
        icon=":material/download:",
        on_click="ignore",
    )
