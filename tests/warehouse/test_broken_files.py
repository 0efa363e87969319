"""Damaged, newer-schema and full-disk warehouses from the writers' side: refused or reported in
one line, the run recorded failed, nothing half-written left behind. Real DuckDB files
throughout; the full disk is a real, small tmpfs (in a private mount namespace) or, for the
snapshot copy, an ENOSPC injected where Python writes the file."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from tests.pages.test_broken_warehouse import damage_catalog, damage_data_blocks
from warehouse import app_store
from warehouse import db as warehouse_db
from warehouse.db import (
    WarehouseDiskFull,
    WarehouseTooNew,
    WarehouseUnreadable,
    connect_read_only,
    known_schema_version,
    publish_serving_snapshot,
    serving_path,
    writer,
)

ROOT = Path(__file__).resolve().parents[2]


def pipelines(*args: str, app_db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIERBOARD_APP_DB": str(app_db)}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip


def copy_warehouse(demo_warehouse: Path, folder: Path) -> Path:
    for name in ("tierboard.duckdb", "tierboard.serving.duckdb"):
        shutil.copy(demo_warehouse.with_name(name), folder / name)
    return folder / "tierboard.duckdb"


def test_a_newer_schema_is_refused_by_writers_and_left_untouched(
    demo_warehouse: Path, tmp_path: Path, feed_dir: Path
) -> None:
    db = copy_warehouse(demo_warehouse, tmp_path)
    newer = known_schema_version() + 1
    with duckdb.connect(str(db)) as con:
        con.execute(
            "insert into schema_migrations (version, name) values ($v, 'from_the_future.sql')",
            {"v": newer},
        )
    before = db.read_bytes()
    with pytest.raises(WarehouseTooNew, match=f"schema version {newer}, newer than"), writer(db):
        pass
    result = pipelines("ingest", str(feed_dir / "taobao"), "--db", str(db), app_db=tmp_path / "a")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"schema version {newer}, newer than this Tierboard's" in result.stderr
    assert db.read_bytes() == before  # not migrated, not written


@pytest.mark.parametrize("damage", [damage_catalog, damage_data_blocks])
def test_a_damaged_primary_is_reported_in_one_line(
    demo_warehouse: Path, tmp_path: Path, feed_dir: Path, damage: object
) -> None:
    db = copy_warehouse(demo_warehouse, tmp_path)
    damage(db)  # type: ignore[operator]
    result = pipelines("ingest", str(feed_dir / "taobao"), "--db", str(db), app_db=tmp_path / "a")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"ingest stopped: the warehouse file {db} is damaged")
    assert "restore it from a backup" in result.stderr
    assert not list(tmp_path.glob("*.tmp"))


def test_a_foreign_file_is_refused_by_writers(tmp_path: Path) -> None:
    db = tmp_path / "tierboard.duckdb"
    db.write_text("not a warehouse\n")
    with pytest.raises(WarehouseUnreadable, match="is not a DuckDB warehouse file"), writer(db):
        pass
    assert db.read_text() == "not a warehouse\n"


def test_publish_mends_a_damaged_snapshot(demo_warehouse: Path, tmp_path: Path) -> None:
    db = copy_warehouse(demo_warehouse, tmp_path)
    damage_catalog(serving_path(db))
    result = pipelines("publish", "--db", str(db), app_db=tmp_path / "a")
    assert result.returncode == 0, result.stderr
    with connect_read_only(serving_path(db)) as con:
        assert con.sql("select count(*) from settlement_lines").fetchall()[0][0] > 0


def test_a_full_disk_while_publishing_leaves_the_old_snapshot_and_no_partial_file(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = copy_warehouse(demo_warehouse, tmp_path)
    served = serving_path(db).read_bytes()

    def copy_until_full(source: Path, target: Path) -> None:
        # The copy gets a megabyte onto the disk, then the disk is full.
        with open(source, "rb") as src, open(target, "wb") as dst:
            dst.write(src.read(1 << 20))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(warehouse_db.shutil, "copyfile", copy_until_full)
    with pytest.raises(WarehouseDiskFull, match=r"disk filled up while publishing"):
        publish_serving_snapshot(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tierboard.duckdb", "tierboard.serving.duckdb",
    ]  # fmt: skip
    assert serving_path(db).read_bytes() == served


# Runs inside a private user and mount namespace: a small tmpfs holds the warehouse, and the
# ingest fills it (768 KiB: part-way through the feeds; 3 MiB: at the final checkpoint).
# Everything is checked before the namespace (and the tmpfs with it) goes away.
FULL_DISK = """
set -eu
mount -t tmpfs -o size="$SIZE" tmpfs "$MOUNT"
set +e
"$PYTHON" -m pipelines ingest "$FEEDS" --db "$MOUNT/tierboard.duckdb" \
    >"$OUT/first.out" 2>"$OUT/first.err"
echo $? >"$OUT/first.rc"
set -e
ls -A "$MOUNT" >"$OUT/first.files"
"$PYTHON" - <<'EOF' >"$OUT/first.json"
import json, os, duckdb
con = duckdb.connect(os.environ["MOUNT"] + "/tierboard.duckdb", read_only=True)
runs = con.sql("select status, error from ingestion_runs order by run_id").fetchall()
print(json.dumps(runs))
EOF
mount -o remount,size=64m "$MOUNT"  # space freed: the same command now completes
"$PYTHON" -m pipelines ingest "$FEEDS" --db "$MOUNT/tierboard.duckdb" >"$OUT/second.out" 2>&1
echo $? >"$OUT/second.rc"
ls -A "$MOUNT" >"$OUT/second.files"
"""


def fill_the_disk(feed_dir: Path, tmp_path: Path, size: str) -> Path:
    """Run FULL_DISK with a tmpfs of ``size``; the folder of what it found."""
    mount, out = tmp_path / "disk", tmp_path / "out"
    mount.mkdir()
    out.mkdir()
    env = {
        **os.environ,
        "MOUNT": str(mount), "OUT": str(out), "FEEDS": str(feed_dir), "PYTHON": sys.executable,
        "TIERBOARD_APP_DB": str(tmp_path / "app.sqlite"), "SIZE": size,
    }  # fmt: skip
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", textwrap.dedent(FULL_DISK)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def test_a_full_disk_mid_ingest_is_reported_recorded_and_leaves_nothing_half_written(
    feed_dir: Path, tmp_path: Path
) -> None:
    out = fill_the_disk(feed_dir, tmp_path, "768k")

    first_err = (out / "first.err").read_text()
    assert (out / "first.rc").read_text().strip() == "2"
    assert "Traceback" not in first_err and "cannot rollback" not in first_err
    assert first_err.startswith("ingest stopped: the disk is full (No space left on device)")
    runs = json.loads((out / "first.json").read_text())
    statuses = [status for status, _ in runs]
    assert "succeeded" in statuses and statuses[-1] == "failed"  # stopped part-way, recorded
    assert "No space left on device" in runs[-1][1]
    # No partial snapshot, no temporary file: the dashboard keeps what it had (nothing here).
    assert set((out / "first.files").read_text().split()) <= {
        "tierboard.duckdb", "tierboard.duckdb.wal", "tierboard.duckdb.lock",
    }  # fmt: skip
    (stopped,) = app_store.audit_entries(tmp_path / "app.sqlite", "admin")[-1:]
    assert stopped["action"] == "manual_ingest"
    assert str(stopped["diff"]).startswith("stopped: the disk is full")

    # Once there is room, the same command loads what was missing and publishes.
    assert (out / "second.rc").read_text().strip() == "0", (out / "second.out").read_text()
    assert "tierboard.serving.duckdb" in (out / "second.files").read_text().split()
    assert not [n for n in (out / "second.files").read_text().split() if n.endswith(".tmp")]


def test_messages_name_the_file_the_fault_and_the_fix(tmp_path: Path) -> None:
    snapshot = tmp_path / "tierboard.serving.duckdb"
    denied = warehouse_db.unreadable(
        snapshot, PermissionError(errno.EACCES, "Permission denied"), snapshot=True
    )
    assert str(denied) == (
        f"the serving snapshot {snapshot} cannot be opened by this process (permission denied):"
        f" give the user running Tierboard access to it and to {tmp_path}."
    )
    full = duckdb.TransactionException("cannot rollback - no transaction is active")
    full.__context__ = duckdb.TransactionException(
        'Failed to commit: Could not write file "x.wal": No space left on device'
    )
    assert warehouse_db.is_disk_full(full)  # the cause is found behind the rollback's error
    assert not warehouse_db.is_disk_full(duckdb.TransactionException("cannot rollback"))


def test_a_full_disk_at_the_checkpoint_keeps_the_committed_loads(
    feed_dir: Path, tmp_path: Path
) -> None:
    out = fill_the_disk(feed_dir, tmp_path, "3m")
    first_err = (out / "first.err").read_text()
    assert (out / "first.rc").read_text().strip() == "2"
    assert "Traceback" not in first_err
    assert "the disk is full (No space left on device); what was committed waits" in first_err
    runs = json.loads((out / "first.json").read_text())
    assert runs and {status for status, _ in runs} == {"succeeded"}  # every load committed
    assert "tierboard.serving.duckdb" not in (out / "first.files").read_text().split()
    # With room, the same command finds every file loaded already and publishes.
    assert (out / "second.rc").read_text().strip() == "0"
    second = (out / "second.out").read_text()
    assert (
        "0 rows inserted" in second
        and "tierboard.serving.duckdb" in (out / "second.files").read_text().split()
    )
