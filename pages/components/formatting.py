"""Money for display and export: ¥ with thousands separators; exact cents underneath."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import streamlit as st

from settlement.explain import money as money_text
from settlement.explain import yuan

__all__ = [
    "csv_bytes",
    "excel_bytes",
    "money",
    "money_config",
    "money_text",
    "yuan",
    "yuan_columns",
]

MONEY_FORMAT = "¥%,.2f"
# Cents in the line's own payout currency (see its ``currency`` column), not in CNY.
LOCAL_COLUMNS = {"amount_local_cents": "amount in payout currency"}


def money(label: str, **kwargs: Any) -> Any:
    return st.column_config.NumberColumn(label, format=MONEY_FORMAT, **kwargs)


def yuan_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Every ``*_cents`` column as yuan (for display: the grid formats, the data stays cents).

    DuckDB's sums arrive as DECIMAL(38, 0), and Polars keeps a Decimal's scale when dividing:
    cents go through Int64 first, so the yuan keep their fen (exact as doubles below 2**53).
    """
    cents = [c for c in frame.columns if c.endswith("_cents")]
    return frame.with_columns(
        (pl.col(c).cast(pl.Int64) / 100).alias(c.removesuffix("_cents")) for c in cents
    ).drop(cents)


def money_config(frame: pl.DataFrame, labels: dict[str, str] | None = None) -> dict[str, Any]:
    labels = labels or {}
    config = {
        c.removesuffix("_cents"): money(labels.get(c, c.removesuffix("_cents").replace("_", " ")))
        for c in frame.columns
        if c.endswith("_cents") and c not in LOCAL_COLUMNS
    }
    for column, label in LOCAL_COLUMNS.items():
        if column in frame.columns:
            config[column.removesuffix("_cents")] = st.column_config.NumberColumn(
                label, format="%,.2f"
            )
    return config


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


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with a BOM, so Excel and WPS open Chinese headers and values cleanly."""
    return "\ufeff".encode() + _exact_yuan(frame).write_csv().encode("utf-8")


def excel_bytes(frame: pl.DataFrame, sheet: str = "data") -> bytes:
    buffer = io.BytesIO()
    _exact_yuan(frame).write_excel(buffer, worksheet=sheet[:31])
    return buffer.getvalue()


def export_buttons(frame: pl.DataFrame, name: str, key: str) -> None:
    """CSV and Excel downloads of exactly the rows shown."""
    left, right = st.columns(2)
    left.download_button(
        "CSV",
        csv_bytes(frame),
        f"{name}.csv",
        "text/csv",
        key=f"{key}-csv",
        icon=":material/download:",
    )
    right.download_button(
        "Excel",
        excel_bytes(frame, name),
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}-xlsx",
        icon=":material/download:",
    )
