"""The reference tables: columns and dtypes as in the warehouse DDL, and how they are read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

DATA = Path(__file__).with_name("data")
MAINLAND_GROUPS = ("华北", "东北", "华东", "华中", "华南", "西南", "西北")
# Overseas markets: countries take the place of provinces, with the project's own codes 91–96
# (outside China's statistical codes), each with its capital or main city as the one city.
OVERSEAS_GROUPS = ("东南亚",)
REGION_GROUPS = (*MAINLAND_GROUPS, *OVERSEAS_GROUPS)
CITY_TIERS = ("一线", "新一线", "二线", "三线", "四线", "五线")
CATEGORIES = ("install", "repair", "maintenance", "survey", "consult")
PARTNER_TYPES = ("direct", "dealer", "agent")
MUNICIPALITIES = ("11", "12", "31", "50")

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
    """Read the six CSVs of ``folder`` with the warehouse dtypes (no validation)."""
    frames: dict[str, pl.DataFrame] = {}
    for table, schema in SCHEMAS.items():
        path = folder / f"{table}.csv"
        try:
            frames[table] = pl.read_csv(path, schema=schema)
        except (OSError, pl.exceptions.PolarsError) as error:
            raise ValueError(f"{table}.csv: cannot be read with its schema: {error}") from error
    return Reference(**frames)
