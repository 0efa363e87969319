"""A real demo warehouse for the page tests, built once; each test gets its own app store."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


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
