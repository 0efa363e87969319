"""Build the demo partners and technicians (``python -m pipelines.reference.build_people``).

Seeded, so the committed CSVs are reproducible: partners spread over provinces in proportion to
their cities' weight, technicians living mostly in big cities (every city has at least one), each
serving through a partner of their own province where there is one. Overseas markets get a small
crew of their own after the mainland's (one partner per country, a few technicians per city),
drawn from a second seed so that adding a market never reshuffles the mainland's people.
"""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import numpy as np

DATA = Path(__file__).with_name("data")
SEED = 20260101
PARTNERS = 60
TECHNICIANS = 4000
OVERSEAS_GROUPS = ("东南亚",)
OVERSEAS_TECHNICIANS_PER_CITY = 6
# Overseas partners: dealers selling through the brand's shops (order split), agents elsewhere.
OVERSEAS_TYPES = ("dealer", "dealer", "dealer", "dealer", "agent", "agent")
TIER_WEIGHT = {"一线": 30.0, "新一线": 16.0, "二线": 8.0, "三线": 4.0, "四线": 2.0, "五线": 1.0}
TYPE_SHARE = {"direct": 0.12, "dealer": 0.63, "agent": 0.25}
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = list(
    "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛"
)
TRADES = ["家电服务", "制冷工程", "安装服务", "机电设备", "售后服务", "智能家居", "暖通工程"]
# Agents are mostly small sole traders: 经营部 is how such businesses register.
SUFFIX = {"direct": "直营服务中心", "dealer": "有限公司", "agent": "经营部"}


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def build(target: Path = DATA) -> None:
    """Write partners.csv and technicians.csv into ``target`` from the packaged cities."""
    rng = np.random.default_rng(SEED)
    every_province = _read("provinces.csv")
    overseas = {p["province_code"] for p in every_province if p["region_group"] in OVERSEAS_GROUPS}
    provinces = [p for p in every_province if p["province_code"] not in overseas]
    cities = [c for c in _read("cities.csv") if c["province_code"] not in overseas]
    city_weight = np.array([TIER_WEIGHT[c["city_tier"]] for c in cities])
    province_weight = {p["province_code"]: 0.0 for p in provinces}
    for city, weight in zip(cities, city_weight, strict=True):
        province_weight[city["province_code"]] += weight
    codes = list(province_weight)
    share = np.array([province_weight[c] for c in codes])
    # Every province gets a partner; the rest follow demand.
    extra = rng.choice(codes, size=PARTNERS - len(codes), p=share / share.sum())
    partner_provinces = sorted([*codes, *extra])
    short = {p["province_code"]: p["short_name"] for p in provinces}
    kinds = rng.choice(list(TYPE_SHARE), size=PARTNERS, p=list(TYPE_SHARE.values()))
    partners = []
    for i, (province, kind) in enumerate(zip(partner_provinces, kinds, strict=True), start=1):
        trade = TRADES[int(rng.integers(len(TRADES)))]
        name = f"{short[province]}{rng.choice(GIVEN)}{rng.choice(GIVEN)}{trade}{SUFFIX[str(kind)]}"
        partners.append([f"PT{i:04d}", name, str(kind), province])
    overseas_partners, overseas_technicians = _overseas_crews(
        [p for p in every_province if p["province_code"] in overseas],
        [c for c in _read("cities.csv") if c["province_code"] in overseas],
        first_partner=len(partners) + 1,
        first_technician=TECHNICIANS + 1,
    )
    _write(
        target / "partners.csv",
        ["partner_id", "partner_name", "partner_type", "province_code"],
        partners + overseas_partners,
    )

    homes = [c["city_code"] for c in cities]
    homes += list(
        rng.choice(homes, size=TECHNICIANS - len(homes), p=city_weight / city_weight.sum())
    )
    rng.shuffle(homes)
    province_of = {c["city_code"]: c["province_code"] for c in cities}
    partners_in: dict[str, list[str]] = {}
    for partner_id, _, _, province in partners:
        partners_in.setdefault(province, []).append(partner_id)
    technicians = []
    for i, home in enumerate(homes, start=1):
        local = partners_in[province_of[home]]
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN, size=int(rng.integers(1, 3))))
        level = int(rng.choice([1, 2, 3, 4, 5], p=[0.15, 0.35, 0.3, 0.14, 0.06]))
        hired = date(2015, 1, 1) + timedelta(days=int(rng.integers(0, 4200)))
        technicians.append(
            [
                f"T{i:05d}",
                name,
                home,
                local[int(rng.integers(len(local)))],
                level,
                hired.isoformat(),
            ]
        )
    header = ["technician_id", "technician_name", "home_city_code", "partner_id"]
    _write(
        target / "technicians.csv",
        [*header, "qualification_level", "hired_date"],
        technicians + overseas_technicians,
    )


def _overseas_crews(
    countries: list[dict[str, str]],
    cities: list[dict[str, str]],
    *,
    first_partner: int,
    first_technician: int,
) -> tuple[list[list[object]], list[list[object]]]:
    """One partner per overseas country and a few technicians in each of its cities."""
    rng = np.random.default_rng(SEED + 1)
    partners: list[list[object]] = []
    partner_of: dict[str, str] = {}
    for offset, country in enumerate(countries):
        kind = OVERSEAS_TYPES[offset % len(OVERSEAS_TYPES)]
        partner_id = f"PT{first_partner + offset:04d}"
        trade = TRADES[int(rng.integers(len(TRADES)))]
        name = f"{country['short_name']}{trade}{SUFFIX[kind]}"
        partners.append([partner_id, name, kind, country["province_code"]])
        partner_of[country["province_code"]] = partner_id
    technicians: list[list[object]] = []
    for city in cities:
        for _ in range(OVERSEAS_TECHNICIANS_PER_CITY):
            number = first_technician + len(technicians)
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN, size=int(rng.integers(1, 3))))
            level = int(rng.choice([1, 2, 3, 4, 5], p=[0.15, 0.35, 0.3, 0.14, 0.06]))
            hired = date(2018, 1, 1) + timedelta(days=int(rng.integers(0, 2900)))
            partner = partner_of[city["province_code"]]
            technicians.append(
                [f"T{number:05d}", name, city["city_code"], partner, level, hired.isoformat()]
            )
    return partners, technicians


if __name__ == "__main__":
    build()
