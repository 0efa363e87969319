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

pytest_plugins = ["tests.platform_server_fixtures"]

SMALL_TICKETS = 4_000
ROOT = Path(__file__).resolve().parents[1]
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
