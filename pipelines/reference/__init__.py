"""The project's reference data: divisions and city tiers, the item and parts libraries, people.

The CSVs under ``data/`` are the project's own tables (facts from public classifications, written
in this schema); ``load_reference`` reads and validates them once per process.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.sources.base import normalized

DATA = Path(__file__).with_name("data")
REGION_GROUPS = ("华北", "东北", "华东", "华中", "华南", "西南", "西北")
CITY_TIERS = ("一线", "新一线", "二线", "三线", "四线", "五线")
CATEGORIES = ("install", "repair", "maintenance", "survey", "consult")
PARTNER_TYPES = ("direct", "dealer", "agent")

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "provinces": {
        "province_code": pl.String(),
        "province_name": pl.String(),
        "short_name": pl.String(),
        "region_group": pl.String(),
    },
    "cities": {
        "city_code": pl.String(),
        "city_name": pl.String(),
        "short_name": pl.String(),
        "province_code": pl.String(),
        "city_tier": pl.String(),
        "is_plateau": pl.Boolean(),
    },
    "service_items": {
        "item_code": pl.String(),
        "item_name": pl.String(),
        "category": pl.String(),
        "unit": pl.String(),
    },
    "parts": {
        "part_code": pl.String(),
        "part_name": pl.String(),
        "category": pl.String(),
        "unit": pl.String(),
    },
    "partners": {
        "partner_id": pl.String(),
        "partner_name": pl.String(),
        "partner_type": pl.String(),
        "province_code": pl.String(),
    },
    "technicians": {
        "technician_id": pl.String(),
        "technician_name": pl.String(),
        "home_city_code": pl.String(),
        "partner_id": pl.String(),
        "qualification_level": pl.Int32(),
        "hired_date": pl.Date(),
    },
}
KEYS = {
    "provinces": "province_code",
    "cities": "city_code",
    "service_items": "item_code",
    "parts": "part_code",
    "partners": "partner_id",
    "technicians": "technician_id",
}


@dataclass(frozen=True)
class Reference:
    provinces: pl.DataFrame
    cities: pl.DataFrame
    service_items: pl.DataFrame
    parts: pl.DataFrame
    partners: pl.DataFrame
    technicians: pl.DataFrame


def read_reference(folder: Path = DATA) -> Reference:
    frames = {
        table: pl.read_csv(folder / f"{table}.csv", schema=schema)
        for table, schema in SCHEMAS.items()
    }
    return Reference(**frames)


@cache
def load_reference() -> Reference:
    reference = read_reference()
    validate_reference(reference)
    return reference


def _problems(table: str, frame: pl.DataFrame, bad: pl.Expr, field: str, reason: str) -> list[str]:
    # Row numbers as a spreadsheet shows them: the header is row 1.
    rows = frame.with_row_index("row", offset=2).filter(bad.fill_null(True))
    return [
        f"{table}.csv row {row['row']}, field {field}: {reason} ({row[field]!r})"
        for row in rows.head(5).iter_rows(named=True)
    ]


def validate_reference(ref: Reference) -> None:
    """Raise ValueError naming file, row and field of every broken rule (first few per rule)."""
    problems: list[str] = []
    for table, key in KEYS.items():
        frame: pl.DataFrame = getattr(ref, table)
        problems += _problems(table, frame, pl.col(key).is_null(), key, "missing key")
        problems += _problems(table, frame, pl.col(key).is_duplicated(), key, "duplicate key")
    provinces = pl.col("province_code").is_in(ref.provinces["province_code"].implode())
    cities = pl.col("home_city_code").is_in(ref.cities["city_code"].implode())
    partners = pl.col("partner_id").is_in(ref.partners["partner_id"].implode())
    level_ok = pl.col("qualification_level").is_between(1, 5)
    same_province = pl.col("city_code").str.slice(0, 2) == pl.col("province_code")
    checks = [
        ("provinces", "region_group", ~pl.col("region_group").is_in(REGION_GROUPS), "unknown"),
        ("cities", "province_code", ~provinces, "unknown province"),
        ("cities", "city_tier", ~pl.col("city_tier").is_in(CITY_TIERS), "unknown city tier"),
        ("cities", "city_code", ~same_province, "city code outside its province"),
        ("service_items", "category", ~pl.col("category").is_in(CATEGORIES), "unknown category"),
        ("partners", "partner_type", ~pl.col("partner_type").is_in(PARTNER_TYPES), "unknown type"),
        ("partners", "province_code", ~provinces, "unknown province"),
        ("technicians", "home_city_code", ~cities, "unknown city"),
        ("technicians", "partner_id", ~partners, "unknown partner"),
        ("technicians", "qualification_level", ~level_ok, "level outside 1..5"),
    ]
    for table, field, bad, reason in checks:
        problems += _problems(table, getattr(ref, table), bad, field, reason)
    without_city = ref.provinces.filter(
        ~pl.col("province_code").is_in(ref.cities["province_code"].implode())
    )
    problems += [
        f"provinces.csv: province {code} has no city" for code in without_city["province_code"]
    ]
    if problems:
        raise ValueError("reference data is invalid:\n  " + "\n  ".join(problems))


PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市")


@cache
def province_aliases() -> pl.DataFrame:
    """(alias, province_code): full names, short names, and short name + 省/市."""
    ref = load_reference()
    p = ref.provinces
    return pl.concat(
        [
            p.select(alias="province_name", province_code="province_code"),
            p.select(alias="short_name", province_code="province_code"),
            p.select(alias=pl.col("short_name") + "省", province_code="province_code"),
            p.select(alias=pl.col("short_name") + "市", province_code="province_code"),
        ]
    ).unique(subset="alias", keep="first", maintain_order=True)


@cache
def city_aliases() -> pl.DataFrame:
    """(province_code, alias, city_code): full and short names, with or without 市; and for the
    four municipalities, the names feeds use for their city level (北京, 北京市, 市辖区)."""
    cities = load_reference().cities
    municipal = cities.filter(pl.col("city_code").str.slice(2, 2) == "01").filter(
        pl.col("province_code").is_in(["11", "12", "31", "50"])
    )
    return pl.concat(
        [
            cities.select("province_code", alias="city_name", city_code="city_code"),
            cities.select("province_code", alias="short_name", city_code="city_code"),
            cities.select(
                "province_code", alias=pl.col("short_name") + "市", city_code="city_code"
            ),
            municipal.select("province_code", alias=pl.lit("市辖区"), city_code="city_code"),
            municipal.select("province_code", alias=pl.lit("城区"), city_code="city_code"),
        ]
    ).unique(subset=["province_code", "alias"], keep="first", maintain_order=True)


def attach_city_codes(frame: pl.DataFrame, province_col: str, city_col: str) -> pl.DataFrame:
    """Add ``province_code`` and ``city_code`` (null when unknown) from free-text names.

    Names are normalised first (NFKC, trimmed), so full-width characters and stray spaces match.
    """
    keyed = frame.with_columns(
        normalized(pl.col(province_col)).alias("__province"),
        normalized(pl.col(city_col)).alias("__city"),
    )
    provinces = province_aliases().rename({"alias": "__province"})
    cities = city_aliases().rename({"alias": "__city"})
    return (
        keyed.join(provinces, on="__province", how="left", maintain_order="left")
        .join(cities, on=["province_code", "__city"], how="left", maintain_order="left")
        .drop("__province", "__city")
    )
