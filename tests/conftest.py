"""Shared fixtures: one small simulated world, its feeds, and fresh warehouse paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from pipelines.generate import write_feeds
from pipelines.generate.simulate import simulate_world
from pipelines.generate.world import World
from pipelines.reference import Reference, load_reference
from warehouse.db import writer
from warehouse.settle import settle_warehouse

pytest_plugins = ["tests.platform_server_fixtures"]

SMALL_TICKETS = 4_000
ROOT = Path(__file__).resolve().parents[1]
# Demo identities exist only on an explicitly development machine; the suite is one (set before
# any app, in process or as a subprocess, starts).
os.environ.setdefault("TIERBOARD_ENV", "test")
# Most tests exercise what a publish or close does, so they run in the single-person mode; the
# approval tests turn maker–checker on themselves.
os.environ.setdefault("TIERBOARD_APPROVALS", "off")
APP = str(ROOT / "app.py")


@pytest.fixture(scope="session")
def reference() -> Reference:
    return load_reference()


@pytest.fixture(scope="session")
def world(reference: Reference) -> World:
    return simulate_world(reference, SMALL_TICKETS, seed=11, months=4, end_month="2026-03")


@pytest.fixture(scope="session")
def feed_dir(tmp_path_factory: pytest.TempPathFactory, world: World) -> Path:
    folder = tmp_path_factory.mktemp("feeds")
    write_feeds(world, folder)
    return folder


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TIERBOARD_APP_DB", str(tmp_path / "app.sqlite"))
    return tmp_path / "warehouse" / "tierboard.duckdb"


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    db = folder / "tierboard.duckdb"
    command = [sys.executable, "-m", "pipelines", "demo", "--tickets", "6000", "--months", "4"]
    env = {**os.environ, "TIERBOARD_APP_DB": str(folder / "app.sqlite")}
    subprocess.run([*command, "--db", str(db)], cwd=ROOT, check=True, capture_output=True, env=env)
    return db


@pytest.fixture
def app_env(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A private copy of the warehouse (both files) and a fresh app store; caches cleared."""
    for name in ("tierboard.duckdb", "tierboard.serving.duckdb"):
        shutil.copy(demo_warehouse.with_name(name), tmp_path / name)
    monkeypatch.setenv("TIERBOARD_DB", str(tmp_path / "tierboard.duckdb"))
    monkeypatch.setenv("TIERBOARD_APP_DB", str(tmp_path / "app.sqlite"))
    st.cache_data.clear()
    yield tmp_path / "tierboard.duckdb"
    st.cache_data.clear()


MOVED_TECHNICIANS = 12
MOVED_PARTNERS = 4

# A third of each chosen technician's (or partner's) tickets go to a city of another region
# group (another province), keyed by a hash so the choice is the same on every run.
MOVE_TICKETS = """
update tickets as t set city_code = m.city_code
from (
    select t.ticket_id, c.city_code
    from tickets as t
    inner join cities as home on home.city_code = t.city_code
    inner join provinces as hp on hp.province_code = home.province_code
    inner join (
        select city_code, province_code, region_group,
            row_number() over (order by city_code) as n
        from cities inner join provinces using (province_code)
    ) as c on c.n = 1 + hash(t.ticket_id) % (select count(*) from cities)
    where t.{who} = any($ids) and hash(t.ticket_id || 'move') % 3 = 0
        and c.{differs} <> {home}
) as m
where t.ticket_id = m.ticket_id
"""


@pytest.fixture(scope="session")
def mixed_warehouse(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo warehouse with cross-region technicians and partners working in several
    provinces (the demo world keeps each in one province), re-settled for real."""
    folder = tmp_path_factory.mktemp("mixed")
    db = folder / "tierboard.duckdb"
    shutil.copy(demo_warehouse, db)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERBOARD_APP_DB", str(folder / "app.sqlite"))
        with writer(db) as con:
            technicians = [row[0] for row in con.sql(
                "select technician_id from tickets where status = 'completed'"
                " group by 1 order by count(*) desc, 1"
            ).fetchall()]  # fmt: skip
            partners = [row[0] for row in con.sql(
                "select partner_id from tickets where status = 'completed' and partner_id"
                " is not null group by 1 order by count(*) desc, 1"
            ).fetchall()]  # fmt: skip
            con.execute(
                MOVE_TICKETS.format(
                    who="technician_id", differs="region_group", home="hp.region_group"
                ),
                {"ids": technicians[:MOVED_TECHNICIANS]},
            )
            con.execute(
                MOVE_TICKETS.format(
                    who="partner_id", differs="province_code", home="hp.province_code"
                ),
                {"ids": partners[:MOVED_PARTNERS]},
            )
        settle_warehouse(db)
    return db
