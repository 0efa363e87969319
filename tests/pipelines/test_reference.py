from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from pipelines.reference import (
    CATEGORIES,
    CITY_TIERS,
    REGION_GROUPS,
    Reference,
    attach_city_codes,
    validate_reference,
)


def test_all_31_provinces_in_seven_region_groups(reference: Reference) -> None:
    assert reference.provinces.height == 31
    assert set(reference.provinces["region_group"]) == set(REGION_GROUPS)
    by_group = dict(reference.provinces.group_by("region_group").len().iter_rows())
    assert by_group["东北"] == 3 and by_group["华东"] == 7 and by_group["西北"] == 5


def test_cities_cover_every_province_with_public_tiers(reference: Reference) -> None:
    cities = reference.cities
    assert cities.height >= 150
    assert set(cities["province_code"]) == set(reference.provinces["province_code"])
    assert set(cities["city_tier"]) <= set(CITY_TIERS)
    first_tier = set(cities.filter(pl.col("city_tier") == "一线")["short_name"])
    assert first_tier == {"北京", "上海", "广州", "深圳"}
    assert (cities["city_code"].str.slice(0, 2) == cities["province_code"]).all()
    assert cities["city_code"].str.contains(r"^\d{6}$").all()
    plateau = set(cities.filter("is_plateau")["short_name"])
    assert {"拉萨", "玉树", "甘孜"} <= plateau
    assert not {"成都", "上海", "昆明"} & plateau


def test_libraries_and_people(reference: Reference) -> None:
    items = reference.service_items
    assert items.height >= 30
    per_category = dict(items.group_by("category").len().iter_rows())
    assert set(per_category) == set(CATEGORIES) and min(per_category.values()) >= 5
    assert reference.parts.height >= 60
    assert set(reference.partners["partner_type"]) == {"direct", "dealer", "agent"}
    technicians = reference.technicians
    assert technicians.height >= 2000
    assert technicians["home_city_code"].is_in(reference.cities["city_code"].implode()).all()
    assert technicians["partner_id"].is_in(reference.partners["partner_id"].implode()).all()
    assert set(reference.cities["city_code"]) == set(technicians["home_city_code"])


@pytest.mark.parametrize(
    ("province", "city", "expected"),
    [
        ("上海", "上海市", "310100"),
        ("上海市", "市辖区", "310100"),
        ("陕西", "西安", "610100"),
        ("陕西省", "西安市", "610100"),
        ("　广东省 ", " 深圳市\u3000", "440300"),
        ("内蒙古", "呼和浩特市", "150100"),
        ("广西壮族自治区", "南宁", "450100"),
        ("湖北", "不存在市", None),
        ("火星", "西安", None),
    ],
)
def test_city_names_resolve_with_or_without_suffix(
    province: str, city: str, expected: str | None
) -> None:
    frame = attach_city_codes(pl.DataFrame({"p": [province], "c": [city]}), "p", "c")
    assert frame["city_code"].to_list() == [expected]


def test_validation_names_file_row_and_field(reference: Reference) -> None:
    broken = reference.technicians.with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("PT9999"))
        .otherwise(pl.col("partner_id"))
        .alias("partner_id")
    )
    with pytest.raises(
        ValueError, match=r"technicians\.csv row 4, field partner_id: unknown partner"
    ):
        validate_reference(dataclasses.replace(reference, technicians=broken))
    duplicated = pl.concat([reference.cities, reference.cities.head(1)])
    with pytest.raises(ValueError, match=r"cities\.csv row \d+, field city_code: duplicate key"):
        validate_reference(dataclasses.replace(reference, cities=duplicated))
