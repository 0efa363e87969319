"""The only module that opens DuckDB: where the warehouse lives, who may write it, and how.

DuckDB lets one process hold a file read-write, and while it does every other process is locked
out, read-only opens included. So the warehouse is split in two files:

- ``<name>.duckdb``, the *primary*, written only by pipeline and settlement commands, one at a time:
  ``writer()`` takes an advisory lock on ``<name>.duckdb.lock`` so a second writer waits its turn
  instead of failing on DuckDB's own lock;
- ``<name>.serving.duckdb``, the *serving snapshot*, a copy of the primary published atomically
  (copy, then ``os.replace``) after each successful writing command. The dashboard opens only this,
  read-only, so it keeps answering while a load runs; a reader with the old snapshot open keeps
  reading the old file until it reopens.

The dashboard's own writes (rule versions, audit) never touch either file: they live in the app
store (``warehouse.app_store``), so a load in progress can never block or lose them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

DEFAULT_DB = Path("data/tierboard.duckdb")
LOCK_TIMEOUT_SECONDS = 600.0


class WarehouseLocked(RuntimeError):
    """Another writer has held the warehouse longer than we are willing to wait."""


class WarehouseMissing(FileNotFoundError):
    """No warehouse (or no serving snapshot) at the expected path."""


def warehouse_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The primary warehouse: ``--db``, else ``$TIERBOARD_DB``, else ``data/tierboard.duckdb``."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get("TIERBOARD_DB")
    return Path(env) if env else DEFAULT_DB


def serving_path(primary: Path) -> Path:
    return primary.with_name(f"{primary.stem}.serving{primary.suffix or '.duckdb'}")


def lock_path(primary: Path) -> Path:
    return primary.with_name(primary.name + ".lock")


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every ``migrations/NNN_name.sql``, in version order."""
    folder = resources.files("warehouse") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:3].isdigit():
            found.append((int(entry.name[:3]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.sql(
        "select count(*) from information_schema.tables where table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return int(con.sql("select coalesce(max(version), 0) from schema_migrations").fetchall()[0][0])


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration newer than the file's recorded version, each in its own transaction."""
    con.execute(
        "create table if not exists schema_migrations ("
        " version integer primary key, name varchar not null,"
        " applied_at timestamp not null default (now()::timestamp))"
    )
    current = schema_version(con)
    applied = []
    for version, name, sql in migration_files():
        if version <= current:
            continue
        con.execute("begin transaction")
        try:
            con.execute(sql)
            con.execute(
                "insert into schema_migrations (version, name) values ($version, $name)",
                {"version": version, "name": name},
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        applied.append(name)
    return applied


@contextmanager
def _exclusive(lock_file: Path, timeout: float) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseLocked(
                        f"{lock_file}: another pipeline or settlement command is writing the "
                        f"warehouse; gave up after {timeout:.0f} s"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def writer_busy(primary: Path) -> bool:
    """Whether another process holds the writer lock right now (a hint: it may change at once)."""
    lock_file = lock_path(primary)
    if not lock_file.exists():
        return False
    with lock_file.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


@contextmanager
def writer(
    primary: Path, *, timeout: float = LOCK_TIMEOUT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single read-write connection, migrated to the latest schema.

    On a clean exit the file is checkpointed and a fresh serving snapshot is published; on an
    exception nothing is published, so readers keep the last good state.
    """
    primary.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(lock_path(primary), timeout):
        con = duckdb.connect(str(primary))
        # One checkpoint at the end instead of one per large commit: bulk loads commit often.
        con.execute("set checkpoint_threshold = '1GB'")
        try:
            migrate(con)
            yield con
            con.execute("checkpoint")
        finally:
            con.close()
        publish_serving_snapshot(primary)


def publish_serving_snapshot(primary: Path) -> Path:
    """Copy the (closed, checkpointed) primary beside itself, then swap it in atomically."""
    target = serving_path(primary)
    staging = target.with_name(target.name + ".tmp")
    shutil.copyfile(primary, staging)
    os.replace(staging, target)
    return target


def connect_serving(primary: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the serving snapshot; the caller closes it."""
    snapshot = serving_path(primary)
    if not snapshot.exists():
        raise WarehouseMissing(
            f"no warehouse snapshot at {snapshot}: run `python -m pipelines demo`"
        )
    return duckdb.connect(str(snapshot), read_only=True)


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to any warehouse file (tests, benchmarks, ad-hoc inspection)."""
    if not path.exists():
        raise WarehouseMissing(f"no warehouse at {path}")
    return duckdb.connect(str(path), read_only=True)
