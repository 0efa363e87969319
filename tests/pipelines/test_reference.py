from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines.reference import (
    CATEGORIES,
    CITY_TIERS,
    DATA,
    MAINLAND_GROUPS,
    OVERSEAS_GROUPS,
    REGION_GROUPS,
    SCHEMAS,
    Reference,
    attach_city_codes,
    city_aliases,
    province_aliases,
    read_reference,
    validate_reference,
)
from pipelines.reference.build_people import build

MIGRATION = Path(__file__).parents[2] / "warehouse" / "migrations" / "001_core.sql"


def _ddl_columns(table: str) -> list[str]:
    body = re.search(rf"create table {table} \((.*?)\n\);", MIGRATION.read_text(), re.S)
    assert body is not None, table
    return re.findall(r"^\s+([a-z_]+)\s+\w", body.group(1), re.M)


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_files_and_frames_carry_the_warehouse_columns(reference: Reference, table: str) -> None:
    header = (DATA / f"{table}.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == _ddl_columns(table)
    assert getattr(reference, table).schema == pl.Schema(SCHEMAS[table])


def test_all_31_provinces_in_the_seven_conventional_region_groups(reference: Reference) -> None:
    provinces = reference.provinces.filter(pl.col("region_group").is_in(MAINLAND_GROUPS))
    assert provinces.height == 31
    groups = {
        group: set(frame["short_name"])
        for (group,), frame in provinces.group_by("region_group", maintain_order=True)
    }
    assert groups == {
        "华北": {"北京", "天津", "河北", "山西", "内蒙古"},
        "东北": {"辽宁", "吉林", "黑龙江"},
        "华东": {"上海", "江苏", "浙江", "安徽", "福建", "江西", "山东"},
        "华中": {"河南", "湖北", "湖南"},
        "华南": {"广东", "广西", "海南"},
        "西南": {"重庆", "四川", "贵州", "云南", "西藏"},
        "西北": {"陕西", "甘肃", "青海", "宁夏", "新疆"},
    }
    assert set(groups) == set(MAINLAND_GROUPS)
    names = dict(provinces.select("short_name", "province_name").iter_rows())
    assert names["内蒙古"] == "内蒙古自治区" and names["陕西"] == "陕西省"
    assert names["北京"] == "北京市" and names["新疆"] == "新疆维吾尔自治区"


def test_overseas_markets_are_countries_with_their_main_cities(reference: Reference) -> None:
    overseas = reference.provinces.filter(pl.col("region_group").is_in(OVERSEAS_GROUPS))
    assert set(overseas["region_group"]) == {"东南亚"}
    assert set(REGION_GROUPS) == {*MAINLAND_GROUPS, *OVERSEAS_GROUPS}
    # The project's own codes, outside China's statistical ones (11 … 82).
    assert (overseas["province_code"].cast(pl.Int32) > 90).all()
    cities = reference.cities.filter(
        pl.col("province_code").is_in(overseas["province_code"].implode())
    )
    assert set(cities["short_name"]) == {"新加坡", "吉隆坡", "曼谷", "雅加达", "胡志明", "马尼拉"}
    assert cities["city_tier"].is_in(CITY_TIERS).all()
    crews = reference.technicians.filter(
        pl.col("home_city_code").is_in(cities["city_code"].implode())
    )
    assert set(crews["home_city_code"]) == set(cities["city_code"])


def test_cities_cover_every_province_with_public_tiers(reference: Reference) -> None:
    mainland = reference.provinces.filter(pl.col("region_group").is_in(MAINLAND_GROUPS))
    every = reference.cities
    assert set(every["province_code"]) == set(reference.provinces["province_code"])
    cities = every.filter(pl.col("province_code").is_in(mainland["province_code"].implode()))
    assert cities.height >= 180
    assert set(cities["city_tier"]) <= set(CITY_TIERS)
    tier = dict(cities.select("short_name", "city_tier").iter_rows())
    first_tier = {name for name, t in tier.items() if t == "一线"}
    assert first_tier == {"北京", "上海", "广州", "深圳"}
    new_first = {name for name, t in tier.items() if t == "新一线"}
    assert len(new_first) == 15
    assert {"成都", "重庆", "杭州", "武汉", "苏州", "西安", "南京", "天津", "东莞"} <= new_first
    assert tier["拉萨"] != "一线" and tier["厦门"] == "二线"
    assert (cities["city_code"].str.slice(0, 2) == cities["province_code"]).all()
    assert cities["city_code"].str.contains(r"^\d{6}$").all()
    municipal = cities.filter(pl.col("province_code").is_in(["11", "12", "31", "50"]))
    assert municipal["city_code"].to_list() == ["110100", "120100", "310100", "500100"]
    assert municipal["city_name"].to_list() == ["北京市", "天津市", "上海市", "重庆市"]
    plateau = set(cities.filter("is_plateau")["short_name"])
    assert len(plateau) >= 8
    assert {"拉萨", "日喀则", "玉树", "果洛", "甘孜", "阿坝"} <= plateau
    assert not {"成都", "上海", "昆明", "兰州"} & plateau


def test_libraries(reference: Reference) -> None:
    items = reference.service_items
    assert items.height >= 36
    per_category = dict(items.group_by("category").len().iter_rows())
    assert set(per_category) == set(CATEGORIES) and min(per_category.values()) >= 5
    assert items["item_code"].str.contains(r"^[A-Z]{3}-[A-Z]{2}-\d{2}$").all()
    parts = reference.parts
    assert parts.height >= 64
    assert parts["part_code"].str.contains(r"^P-[A-Z]+-\d{2}$").all()
    assert parts["part_name"].is_unique().all() and items["item_name"].is_unique().all()


def test_people(reference: Reference) -> None:
    partners = reference.partners
    assert 50 <= partners.height <= 70
    kinds = dict(partners.group_by("partner_type").len().iter_rows())
    assert kinds["dealer"] > kinds["agent"] > kinds["direct"] > 0
    assert partners["partner_name"].is_unique().all()
    technicians = reference.technicians
    assert technicians.height >= 3000
    assert technicians["home_city_code"].is_in(reference.cities["city_code"].implode()).all()
    assert set(reference.cities["city_code"]) == set(technicians["home_city_code"])
    # Every technician serves through a partner of their home province.
    homes = technicians.join(
        reference.cities.select("city_code", home_province="province_code"),
        left_on="home_city_code",
        right_on="city_code",
    ).join(partners, on="partner_id")
    assert homes.height == technicians.height
    assert (homes["home_province"] == homes["province_code"]).all()
    levels = technicians["qualification_level"].value_counts().sort("qualification_level")
    assert levels["qualification_level"].to_list() == [1, 2, 3, 4, 5]
    assert levels.sort("count", descending=True)["qualification_level"][:2].sort().to_list() == [
        2,
        3,
    ]
    hired = technicians["hired_date"]
    assert hired.min().year >= 2015 and hired.max().year <= 2026  # type: ignore[union-attr]


def test_people_are_reproducible_from_the_script(tmp_path: Path) -> None:
    build(tmp_path)
    for name in ("partners.csv", "technicians.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


@pytest.mark.parametrize(
    ("province", "city", "expected"),
    [
        ("上海", "上海市", "310100"),
        ("上海市", "上海", "310100"),
        ("上海市", "市辖区", "310100"),
        ("重庆市", "县", "500100"),
        ("北京", "北京市", "110100"),
        ("陕西", "西安", "610100"),
        ("陕西省", "西安市", "610100"),
        ("\u3000广东省 ", " 深圳市\u3000", "440300"),
        ("广 东", "深 圳", "440300"),
        ("内蒙古", "呼和浩特市", "150100"),
        ("内蒙古自治区", "包头", "150200"),
        ("广西壮族自治区", "南宁", "450100"),
        ("广西", "桂林市", "450300"),
        ("广西自治区", "柳州", "450200"),
        ("湖北省", "恩施州", "422800"),
        ("湖北省", "恩施土家族苗族自治州", "422800"),
        ("青海", "海南", "632500"),
        ("海南省", "海口", "460100"),
        ("吉林省", "吉林市", "220200"),
        ("湖北", "不存在市", None),
        ("火星", "西安", None),
        ("广东", "西安", None),  # a real city in another province is not guessed
        (None, "西安", None),
        ("陕西", None, None),
    ],
)
def test_city_names_resolve_with_or_without_suffix(
    province: str | None, city: str | None, expected: str | None
) -> None:
    frame = pl.DataFrame({"p": [province], "c": [city]}, schema={"p": pl.String, "c": pl.String})
    resolved = attach_city_codes(frame, "p", "c")
    assert resolved["city_code"].to_list() == [expected]
    if expected is not None:
        assert resolved["province_code"].to_list() == [expected[:2]]


def test_attach_keeps_rows_order_and_columns(reference: Reference) -> None:
    frame = pl.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "prov": ["四川", "四川省", None, "四川", "西藏", "四川"],
            "city": ["成都", "成都市", None, "乐山", "拉萨市", "成都"],
        }
    )
    resolved = attach_city_codes(frame, "prov", "city", reference)
    expected = frame.with_columns(
        province_code=pl.Series(["51", "51", None, "51", "54", "51"]),
        city_code=pl.Series(["510100", "510100", None, "511100", "540100", "510100"]),
    )
    assert_frame_equal(resolved, expected)


def test_attach_refuses_to_overwrite_codes() -> None:
    frame = pl.DataFrame({"p": ["上海"], "c": ["上海"], "city_code": ["x"]})
    with pytest.raises(ValueError, match="city_code"):
        attach_city_codes(frame, "p", "c")


def test_aliases_are_unambiguous(reference: Reference) -> None:
    provinces = province_aliases(reference)
    assert provinces["alias"].is_unique().all()
    by_alias = dict(provinces.iter_rows())
    for alias in (
        "内蒙古",
        "内蒙古自治区",
        "广西",
        "广西壮族自治区",
        "北京",
        "北京市",
        "宁夏自治区",
    ):
        assert alias in by_alias, alias
    assert "北京省" not in by_alias  # municipalities are never 省
    cities = city_aliases(reference)
    assert not cities.select(pl.struct("province_code", "alias").is_duplicated().any()).item()
    # Every alias of a city stays in the city's own province.
    assert (cities["city_code"].str.slice(0, 2) == cities["province_code"]).all()


def _replace_at(frame: pl.DataFrame, row: int, column: str, value: object) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(value, dtype=frame.schema[column]))
        .otherwise(pl.col(column))
        .alias(column)
    )


def test_validation_passes_on_the_packaged_data(reference: Reference) -> None:
    validate_reference(reference)


# (table, 0-based row, column, broken value, field the error names, reason)
BREAKAGES = [
    ("technicians", 2, "partner_id", "PT9999", "partner_id", "unknown partner"),
    ("technicians", 0, "home_city_code", "999999", "home_city_code", "unknown city"),
    ("technicians", 5, "qualification_level", 7, "qualification_level", "level outside 1..5"),
    ("cities", 3, "city_tier", "六线", "city_tier", "unknown city tier"),
    ("cities", 0, "province_code", "12", "city_code", "city code outside its province"),
    ("cities", 1, "is_plateau", None, "is_plateau", "missing value"),
    ("cities", 3, "short_name", "石家庄", "short_name", "short name used twice"),
    ("partners", 0, "province_code", "99", "province_code", "unknown province"),
    ("service_items", 0, "category", "repairs", "category", "unknown category"),
    ("provinces", 0, "region_group", "中原", "region_group", "unknown"),
]


@pytest.mark.parametrize(("table", "row", "column", "value", "field", "reason"), BREAKAGES)
def test_validation_names_file_row_and_field(
    reference: Reference,
    table: str,
    row: int,
    column: str,
    value: object,
    field: str,
    reason: str,
) -> None:
    broken = _replace_at(getattr(reference, table), row, column, value)
    # Spreadsheet rows: the header is row 1, so 0-based row r is row r + 2.
    message = re.escape(f"{table}.csv row {row + 2}, field {field}: {reason}")
    with pytest.raises(ValueError, match=message):
        validate_reference(dataclasses.replace(reference, **{table: broken}))


def test_validation_catches_duplicates_and_empty_provinces(reference: Reference) -> None:
    duplicated = pl.concat([reference.cities, reference.cities.head(1)])
    with pytest.raises(ValueError, match=r"cities\.csv row \d+, field city_code: duplicate key"):
        validate_reference(dataclasses.replace(reference, cities=duplicated))
    without_tibet = reference.cities.filter(pl.col("province_code") != "54")
    with pytest.raises(ValueError, match=r"provinces\.csv row \d+, .*has no city \('54'\)"):
        validate_reference(dataclasses.replace(reference, cities=without_tibet))


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    for path in DATA.glob("*.csv"):
        shutil.copy(path, tmp_path / path.name)
    path = tmp_path / "technicians.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = "T00001,张伟,110100,PT0001,senior,2020-01-01"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"technicians\.csv"):
        read_reference(tmp_path)
