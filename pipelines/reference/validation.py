"""Checks on the reference tables; errors name the file, the row and the field."""

from __future__ import annotations

import polars as pl

from pipelines.reference.tables import (
    CATEGORIES,
    CITY_TIERS,
    KEYS,
    PARTNER_TYPES,
    REGION_GROUPS,
    Reference,
)

SHOWN_PER_RULE = 5


def _problems(table: str, frame: pl.DataFrame, bad: pl.Expr, field: str, reason: str) -> list[str]:
    # Row numbers as a spreadsheet shows them: the header is row 1.
    rows = frame.with_row_index("__row", offset=2).filter(bad.fill_null(True))
    return [
        f"{table}.csv row {row['__row']}, field {field}: {reason} ({row[field]!r})"
        for row in rows.head(SHOWN_PER_RULE).iter_rows(named=True)
    ]


def _is_known(column: str, values: pl.Series) -> pl.Expr:
    return pl.col(column).is_in(values.implode())


def validate_reference(ref: Reference) -> None:
    """Raise ValueError listing every broken rule (its first few rows): keys unique and present,
    no missing values, foreign keys resolve, codes and vocabularies valid, every province has a
    city."""
    problems: list[str] = []
    for table, key in KEYS.items():
        frame: pl.DataFrame = getattr(ref, table)
        problems += _problems(table, frame, pl.col(key).is_duplicated(), key, "duplicate key")
        for column in frame.columns:
            problems += _problems(table, frame, pl.col(column).is_null(), column, "missing value")

    province = _is_known("province_code", ref.provinces["province_code"])
    checks = [
        ("provinces", "province_code", ~pl.col("province_code").str.contains(r"^\d{2}$"), "code"),
        ("provinces", "region_group", ~pl.col("region_group").is_in(REGION_GROUPS), "unknown"),
        ("cities", "city_code", ~pl.col("city_code").str.contains(r"^\d{6}$"), "not 6 digits"),
        ("cities", "province_code", ~province, "unknown province"),
        (
            "cities",
            "city_code",
            pl.col("city_code").str.slice(0, 2) != pl.col("province_code"),
            "city code outside its province",
        ),
        (
            "cities",
            "short_name",
            pl.struct("province_code", "short_name").is_duplicated(),
            "short name used twice in one province",
        ),
        ("cities", "city_tier", ~pl.col("city_tier").is_in(CITY_TIERS), "unknown city tier"),
        ("service_items", "category", ~pl.col("category").is_in(CATEGORIES), "unknown category"),
        ("partners", "partner_type", ~pl.col("partner_type").is_in(PARTNER_TYPES), "unknown"),
        ("partners", "province_code", ~province, "unknown province"),
        (
            "technicians",
            "home_city_code",
            ~_is_known("home_city_code", ref.cities["city_code"]),
            "unknown city",
        ),
        (
            "technicians",
            "partner_id",
            ~_is_known("partner_id", ref.partners["partner_id"]),
            "unknown partner",
        ),
        (
            "technicians",
            "qualification_level",
            ~pl.col("qualification_level").is_between(1, 5),
            "level outside 1..5",
        ),
    ]
    for table, field, bad, reason in checks:
        problems += _problems(table, getattr(ref, table), bad, field, reason)

    without_city = ref.provinces.with_row_index("__row", offset=2).filter(
        ~_is_known("province_code", ref.cities["province_code"])
    )
    problems += [
        f"provinces.csv row {row}, field province_code: province has no city ({code!r})"
        for row, code in without_city.select("__row", "province_code").iter_rows()
    ]
    if problems:
        raise ValueError("reference data is invalid:\n  " + "\n  ".join(problems))
