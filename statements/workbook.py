"""The period's workbook (xlsxwriter): a summary sheet per payee type and one sheet of lines.

Amounts are numeric cells in a ¥ number format (a line's payout-currency amount in its own
currency's format, $ for USD), dates are dates, the header row is frozen; headers and code
values in the statement's language, as the dashboard's exports.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import polars as pl
import xlsxwriter

from settlement.frames import BREAKDOWN
from statements.words import Words
from warehouse.statements import PeriodStatements

# The dashboard's Excel money format (pages/components/formatting.py), and USD's.
MONEY_FORMATS = {
    "CNY": '"¥"#,##0.00;-"¥"#,##0.00',
    "USD": '"$"#,##0.00;-"$"#,##0.00',
}
PLAIN_MONEY = "#,##0.00;-#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
CODES = ("payee_type", "line_kind", "origin_kind")
LINE_COLUMNS = (
    "period", "payee_type", "payee_id", "payee_name", "line_kind", "ticket_id", "completed_date",
    "item_name", "city_name", "origin_period", "origin_kind", "amount_cents", "currency",
    "amount_local_cents", *BREAKDOWN, "price_tier", "ladder_rate_bp", "is_rework", "is_refunded",
    "rule_version",
)  # fmt: skip
SUMMARY_COLUMNS = (
    "payee_id", "payee_name", "currency", "tickets", "lines", "adjustment_cents", "amount_cents",
    "amount_local_cents",
)  # fmt: skip
HEADER_CODES = {"payee_name": "name"}  # the column word the dashboard already has


def summary(lines: pl.DataFrame) -> pl.DataFrame:
    """One row per payee and payout currency: tickets, lines, adjustments and totals."""
    return (
        lines.group_by("payee_type", "payee_id", "payee_name", "currency", maintain_order=True)
        .agg(
            tickets=pl.col("ticket_id").filter(pl.col("line_kind") == "ticket").n_unique(),
            lines=pl.len(),
            adjustment_cents=pl.col("amount_cents")
            .filter(pl.col("line_kind") == "adjustment")
            .sum(),
            amount_cents=pl.col("amount_cents").sum(),
            amount_local_cents=pl.col("amount_local_cents").sum(),
        )
        .sort("payee_id", "currency")
    )


class _Sheets:
    def __init__(self, book: xlsxwriter.Workbook, words: Words) -> None:
        self.book, self.words = book, words
        self.header = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
        self.money = {c: book.add_format({"num_format": f}) for c, f in MONEY_FORMATS.items()}
        self.plain = book.add_format({"num_format": PLAIN_MONEY})
        self.date = book.add_format({"num_format": DATE_FORMAT})

    def _value_format(self, column: str, row: dict[str, Any]) -> Any:
        if column == "amount_local_cents":
            return self.money.get(str(row.get("currency")), self.plain)
        return self.money["CNY"]

    def write(self, name: str, frame: pl.DataFrame, columns: tuple[str, ...]) -> None:
        sheet = self.book.add_worksheet(name[:31])
        words = self.words
        yes, no = words.message("yes"), words.message("no")  # the catalog's, as exports say
        for index, column in enumerate(columns):
            sheet.write_string(0, index, words.code("column", HEADER_CODES.get(column, column)),
                               self.header)  # fmt: skip
            width = 14 if column.endswith("_cents") else 12
            sheet.set_column(index, index, 22 if column.endswith("name") else width)
        for r, row in enumerate(frame.select(columns).iter_rows(named=True), start=1):
            for c, column in enumerate(columns):
                value = row[column]
                if value is None:
                    continue
                if column.endswith("_cents"):
                    sheet.write_number(r, c, int(value) / 100, self._value_format(column, row))
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, value, self.date)
                elif isinstance(value, bool):
                    sheet.write_string(r, c, yes if value else no)
                elif isinstance(value, int):
                    sheet.write_number(r, c, value)
                elif column in CODES:
                    sheet.write_string(r, c, words.code(column, value))
                else:
                    sheet.write_string(r, c, str(value))  # never read as a formula
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(frame.height, 1), len(columns) - 1)


def period_workbook(data: PeriodStatements, words: Words | None = None) -> bytes:
    """The workbook of every payee of the period."""
    words = words or Words("zh")
    _ = words.message
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheets = _Sheets(book, words)
    totals = summary(data.lines)
    for payee_type in totals["payee_type"].unique(maintain_order=True).to_list():
        name = _("{payee_type} summary").format(payee_type=words.code("payee_type", payee_type))
        sheets.write(name, totals.filter(pl.col("payee_type") == payee_type), SUMMARY_COLUMNS)
    sheets.write(_("Lines"), data.lines, LINE_COLUMNS)
    book.close()
    return buffer.getvalue()
