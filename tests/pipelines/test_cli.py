"""The pipelines CLI as a user runs it: a real process, a real warehouse file."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from warehouse.db import connect_read_only, connect_serving

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env_db: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = None
    if env_db is not None:
        import os

        env = {**os.environ, "TIERBOARD_DB": str(env_db)}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def digest(folder: Path) -> str:
    hasher = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            hasher.update(path.relative_to(folder).as_posix().encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()


def test_generate_is_deterministic_per_seed(tmp_path: Path) -> None:
    args = ("--tickets", "1500", "--months", "2", "--end-month", "2026-02")
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        result = run("generate", "--out", str(tmp_path / name), "--seed", seed, *args)
        assert result.returncode == 0, result.stderr
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")


def test_demo_builds_a_warehouse_and_a_second_ingest_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    result = run("demo", "--tickets", "3000", "--months", "3", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "records quarantined" in result.stdout and "0 failed" in result.stdout
    with connect_serving(db) as con:
        tickets = con.sql("select count(*) from tickets").fetchall()[0][0]
        quarantined = con.sql("select count(*) from quarantine").fetchall()[0][0]
        unexplained = con.sql(
            "select count(*) from quarantine where reason is null or reason = '' or field = ''"
        ).fetchall()[0][0]
    assert tickets > 2800 and quarantined > 0 and unexplained == 0
    before = digest_tables(db)

    again = run("ingest", str(tmp_path / "w_feeds"), env_db=db)
    assert again.returncode == 0, again.stderr
    assert "0 rows inserted, 0 updated" in again.stdout
    assert digest_tables(db) == before


def digest_tables(db: Path) -> str:
    with connect_read_only(db) as con:
        rows = [
            con.sql(
                f"select md5(string_agg(cast(t as varchar), '|' order by cast(t as varchar)))"
                f" from {table} t"
            ).fetchall()
            for table in ("tickets", "orders", "order_refunds", "quarantine")
        ]
    return repr(rows)


def test_ingest_reports_an_unrecognised_file_and_exits_non_zero(tmp_path: Path) -> None:
    stray = tmp_path / "notes.csv"
    stray.write_text("a,b\n1,2\n", encoding="utf-8")
    result = run("ingest", str(stray), "--db", str(tmp_path / "w.duckdb"))
    assert result.returncode == 1
    assert "no source recognises this file's format" in result.stdout
