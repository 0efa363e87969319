"""A damaged, foreign, truncated or newer serving snapshot: every page says so, none shows a
traceback. The files are real DuckDB files broken the way disks and copies break them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from pages.components.context import PAGES_BY_ROLE
from tests.conftest import APP
from warehouse.db import known_schema_version, serving_path

BLOCK = 256 * 1024  # DuckDB's block size; the file starts with 12 KiB of headers
WAREHOUSE_PAGES = [p for p in PAGES_BY_ROLE["analyst"] if p != "audit"]


def damage_data_blocks(snapshot: Path) -> None:
    """Scribble inside every block after the first (where the catalog sits): the file still
    opens, and the first query that reads a table finds a checksum that does not match."""
    with snapshot.open("r+b") as handle:
        for offset in range(12288 + BLOCK, snapshot.stat().st_size, BLOCK):
            handle.seek(offset + 200)
            handle.write(b"\xff" * 64)


def damage_catalog(snapshot: Path) -> None:
    with snapshot.open("r+b") as handle:
        handle.seek(12288 + 200)
        handle.write(b"\xff" * 64)


def truncate(snapshot: Path) -> None:
    with snapshot.open("r+b") as handle:
        handle.truncate(snapshot.stat().st_size // 3)


def not_duckdb(snapshot: Path) -> None:
    snapshot.write_bytes(b"ticket_id,amount\n" * 100)


BREAKAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "data blocks": (damage_data_blocks, "is damaged"),
    "catalog": (damage_catalog, "is damaged"),
    "truncated": (truncate, "is truncated"),
    "not duckdb": (not_duckdb, "is not a DuckDB warehouse file"),
}


def open_page(page: str, identity: str = "analyst", lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["as"] = identity
    at.query_params["lang"] = lang  # the messages checked below are the English ones
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    return at


@pytest.mark.parametrize("breakage", list(BREAKAGES))
@pytest.mark.parametrize("page", WAREHOUSE_PAGES)
def test_a_broken_snapshot_is_a_clear_message_on_every_page(
    app_env: Path, page: str, breakage: str
) -> None:
    damage, words = BREAKAGES[breakage]
    damage(serving_path(app_env))
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(words in e and "python -m pipelines publish" in e for e in errors), errors
    assert not at.metric and not at.dataframe  # nothing drawn from a broken file


@pytest.mark.parametrize("page", ["overview", "data_health"])
def test_a_broken_snapshot_is_told_in_chinese_keeping_the_path_and_the_command(
    app_env: Path, page: str
) -> None:
    truncate(serving_path(app_env))
    at = open_page(page, lang="zh")
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(
        "服务快照" in e and "不完整" in e and str(serving_path(app_env)) in e
        and "python -m pipelines publish" in e and "truncated" not in e
        for e in errors
    ), errors  # fmt: skip


@pytest.mark.parametrize(("page", "identity"), [("audit", "analyst"), ("users", "admin")])
def test_pages_of_the_app_store_still_work_beside_a_broken_snapshot(
    app_env: Path, page: str, identity: str
) -> None:
    damage_data_blocks(serving_path(app_env))
    at = open_page(page, identity)
    assert not at.exception and at.title


def test_a_damaged_block_read_late_is_a_message_too(app_env: Path) -> None:
    """A page whose first queries succeed and a later one reads a damaged block."""
    snapshot = serving_path(app_env)
    with duckdb.connect(str(snapshot), read_only=True) as con:
        period = con.sql("select max(period) from ticket_economics").fetchall()[0][0]
    at = open_page("overview")
    assert at.metric  # renders while the file is whole
    damage_data_blocks(snapshot)
    os.utime(snapshot)  # a new snapshot version: the caches must not hide the damage
    at.query_params["period"] = period
    at.run()
    assert not at.exception
    assert any("is damaged" in e.value for e in at.error)


def test_a_newer_schema_is_named_on_every_page(app_env: Path) -> None:
    primary_copy = serving_path(app_env)
    newer = known_schema_version() + 3
    with duckdb.connect(str(primary_copy)) as con:
        con.execute(
            "insert into schema_migrations (version, name) values ($v, '099_from_the_future.sql')",
            {"v": newer},
        )
    for page in WAREHOUSE_PAGES:
        at = open_page(page)
        assert not at.exception
        notices = [w.value for w in at.warning]
        assert any(f"schema version {newer}, newer than" in w for w in notices), (page, notices)


def test_a_snapshot_held_by_another_process_is_a_passing_note(app_env: Path) -> None:
    """Someone opens the snapshot read-write (a DuckDB shell): a note to try again, not an
    alarm about damage."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(serving_path(app_env))],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        at = open_page("overview")
        assert not at.exception and not at.error
        notes = [i.value for i in at.info]
        assert any("held open for writing by another process" in n for n in notes), notes
        assert any("Try again in a moment" in n for n in notes)
    finally:
        holder.communicate("done\n", timeout=60)


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.readline()
"""
