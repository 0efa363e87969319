"""Loading feeds: idempotent, incremental, order-independent, atomic per file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import canonical
from pipelines.ingest import ingest, ingest_into
from pipelines.load import GROUP_RECORDS, GroupedLoads, RunSummary, load_batch
from pipelines.registry import feed_files
from pipelines.sources.base import FeedBatch
from warehouse.db import connect_read_only, writer

ROOT = Path(__file__).resolve().parents[2]


def state(db: Path, *, with_run_ids: bool = False) -> dict[str, pl.DataFrame]:
    """Every canonical table and quarantine, sorted by key, as plain frames."""
    with connect_read_only(db) as con:
        frames = {}
        for table, key in [
            *canonical.KEYS.items(),
            ("quarantine", canonical.QUARANTINE_KEY),
        ]:
            frame = con.sql(f"select * from {table} order by {', '.join(key)}").pl()
            frames[table] = frame if with_run_ids else frame.drop("run_id")
        return frames


def assert_same_state(left: dict[str, pl.DataFrame], right: dict[str, pl.DataFrame]) -> None:
    for table in left:
        assert left[table].equals(right[table]), f"{table} differs"


def test_the_same_files_twice_change_nothing(feed_dir: Path, db_path: Path) -> None:
    first = ingest([feed_dir], db_path)
    assert first and all(run.status == "succeeded" for run in first)
    before = state(db_path, with_run_ids=True)
    assert before["tickets"].height > 0 and before["quarantine"].height > 0

    again = ingest([feed_dir], db_path)
    assert {run.status for run in again} == {"skipped"}
    forced = ingest([feed_dir], db_path, force=True)
    assert {run.status for run in forced} == {"succeeded"}
    assert sum(run.inserted + run.updated for run in forced) == 0
    after = state(db_path, with_run_ids=True)
    assert_same_state(after, before)
    for table, key in canonical.KEYS.items():  # no index refuses a second row: the merge must
        assert after[table].select(key).n_unique() == after[table].height, table
    with connect_read_only(db_path) as con:
        runs = con.sql(
            "select status, count(*) from ingestion_runs group by 1 order by 1"
        ).fetchall()
    assert runs == [("skipped", len(first)), ("succeeded", 2 * len(first))]


def test_a_later_file_changes_exactly_the_rows_it_updates(feed_dir: Path, db_path: Path) -> None:
    exports = sorted((feed_dir / "tickets").glob("fsm_export_*.csv"))
    changes = sorted((feed_dir / "tickets").glob("fsm_changes_*.jsonl"))
    assert changes, "the small world should have tickets that finish in a later month"
    ingest(exports, db_path)
    before = state(db_path, with_run_ids=True)["tickets"]
    runs = ingest(changes, db_path)
    after = state(db_path, with_run_ids=True)["tickets"]
    change_run_ids = [run.run_id for run in runs]
    touched = after.filter(pl.col("run_id").is_in(change_run_ids))
    assert touched.height == sum(run.inserted + run.updated for run in runs) > 0
    untouched = after.filter(~pl.col("run_id").is_in(change_run_ids))
    assert untouched.equals(
        before.filter(~pl.col("ticket_id").is_in(touched["ticket_id"].implode()))
    )
    # An update moves a ticket forward in time, never back.
    was = before.join(touched, on="ticket_id", suffix="_new")
    assert (was["updated_at_new"] > was["updated_at"]).all()
    assert was.height == sum(run.updated for run in runs)


@pytest.fixture(scope="module")
def reference_state(
    feed_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pl.DataFrame]:
    db = tmp_path_factory.mktemp("reference_state") / "w.duckdb"
    ingest([feed_dir], db)
    return state(db)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_files_in_any_order_converge_to_one_state(
    feed_dir: Path, reference_state: dict[str, pl.DataFrame], data: st.DataObject
) -> None:
    files = list(feed_files([feed_dir]))
    order = data.draw(st.permutations(files), label="file order")
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "w.duckdb"
        ingest(order, db)
        assert_same_state(state(db), reference_state)


def test_a_batch_that_fails_leaves_nothing_and_is_recorded(db_path: Path, world) -> None:
    good = world.tickets.head(3)
    bad = good.tail(1).with_columns(ticket_id=pl.lit("GD-BAD"), status=pl.lit(None, pl.String))
    batch = FeedBatch(
        "fsm_csv", Path("broken.csv"), "f" * 64, 4, {"tickets": pl.concat([good, bad])}
    )
    with writer(db_path) as con:
        summary = load_batch(con, batch)
        assert summary.status == "failed" and "NOT NULL" in (summary.error or "").upper()
        assert con.sql("select count(*) from tickets").fetchall() == [(0,)]
        recorded = con.sql("select status, error from ingestion_runs").fetchall()
        assert recorded[0][0] == "failed" and recorded[0][1]


def test_files_sharing_transactions_load_exactly_as_one_transaction_each(
    feed_dir: Path, tmp_path: Path
) -> None:
    files = list(feed_files([feed_dir]))
    results = {}
    for records in (1, GROUP_RECORDS):  # a commit per file, then every file in one group
        db = tmp_path / f"grouped_{records}.duckdb"
        with writer(db) as con:
            summaries = ingest_into(con, files, group_records=records)
            (commits,) = con.sql("select count(distinct run_id) from tickets").fetchall()[0]
        results[records] = (summaries, state(db, with_run_ids=True))
        assert commits > 1
    (one_by_one, alone), (grouped, together) = results.values()
    assert [s.file for s in grouped] == [str(f) for f in files]
    strip = [(s.run_id, s.status, s.inserted, s.updated, s.quarantined) for s in one_by_one]
    assert [(s.run_id, s.status, s.inserted, s.updated, s.quarantined) for s in grouped] == strip
    assert_same_state(together, alone)


def test_a_file_failing_inside_a_group_costs_only_itself(db_path: Path, world) -> None:
    first, second = world.tickets.head(2), world.tickets.slice(2, 2)
    broken = world.tickets.slice(4, 1).with_columns(status=pl.lit(None, pl.String))
    batches = [
        FeedBatch("fsm_csv", Path(name), name.ljust(64, "0"), frame.height, {"tickets": frame})
        for name, frame in [("a", first), ("b", broken), ("c", second)]
    ]
    heard: list[RunSummary] = []
    with writer(db_path) as con:
        loads = GroupedLoads(con, heard.append, records=10**9)
        for batch in batches:
            loads.add(batch)
        loads.flush()
        stored = con.sql("select ticket_id from tickets order by 1").fetchall()
        runs = con.sql("select file, status from ingestion_runs order by run_id").fetchall()
    # The failure rolled the group back: the file before it was merged again on its own.
    assert [(s.file, s.status) for s in heard] == [
        ("a", "succeeded"), ("b", "failed"), ("c", "succeeded"),
    ]  # fmt: skip
    assert runs == [(s.file, s.status) for s in heard]
    assert stored == [(t,) for t in sorted([*first["ticket_id"], *second["ticket_id"]])]


def test_versions_of_one_time_converge_and_a_later_time_replaces_an_earlier(
    db_path: Path, world
) -> None:
    ticket = world.tickets.head(1)
    same_time = ticket.with_columns(quantity=pl.col("quantity") + 7)
    later = ticket.with_columns(
        quantity=pl.col("quantity") + 1, updated_at=pl.col("updated_at") + timedelta(hours=1)
    )

    def load(con, frame: pl.DataFrame, name: str):
        batch = FeedBatch("fsm_csv", Path(name), name.ljust(64, "0"), 1, {"tickets": frame})
        return load_batch(con, batch)

    def stored(con) -> list[tuple[object, ...]]:
        return con.sql("select quantity, updated_at from tickets").fetchall()

    finals = []
    for first, second in [(ticket, same_time), (same_time, ticket)]:
        with tempfile.TemporaryDirectory() as folder, writer(Path(folder) / "w.duckdb") as con:
            load(con, first, "a")
            runs = [load(con, second, "b")]
            finals.append(stored(con))
            runs.append(load(con, later, "c"))  # a later time wins whatever the content
            assert stored(con) == later.select("quantity", "updated_at").rows()
            runs.append(load(con, ticket, "d"))  # and an earlier one never comes back
            assert stored(con) == later.select("quantity", "updated_at").rows()
            assert [(r.updated, r.unchanged) for r in runs[1:]] == [(1, 0), (0, 1)]
            assert (runs[0].updated, runs[0].unchanged) in {(1, 0), (0, 1)}
    assert finals[0] == finals[1]  # one of the two same-time versions, in either file order
    assert len(finals[0]) == 1


def test_an_older_refund_version_only_dates_the_refund_earlier_and_counts_once(
    db_path: Path,
) -> None:
    stored = pl.DataFrame(
        {
            "platform": ["taobao"], "refund_id": ["R1"], "order_id": ["T1"],
            "status": ["succeeded"], "refund_cents": [500],
            "requested_at": [datetime(2026, 5, 3)], "refunded_at": [datetime(2026, 5, 6)],
            "updated_at": [datetime(2026, 5, 6)],
        }
    )  # fmt: skip
    # Seen before, already refunded: earlier times, an older update time and other content.
    older = stored.with_columns(
        requested_at=pl.lit(datetime(2026, 5, 1)), refunded_at=pl.lit(datetime(2026, 5, 2)),
        updated_at=pl.lit(datetime(2026, 5, 2)), refund_cents=pl.lit(400, pl.Int64),
    )  # fmt: skip
    with writer(db_path) as con:
        for name, frame in [("a", stored), ("b", older)]:
            tables = {"order_refunds": canonical.conform(frame, "order_refunds")}
            run = load_batch(con, FeedBatch("taobao_refunds", Path(name), name * 64, 1, tables))
        row = con.sql(
            "select refund_cents, requested_at, refunded_at, updated_at from order_refunds"
        ).fetchall()
    # Both times move earlier; the newer version's content and update time stay.
    assert row == [(500, datetime(2026, 5, 1), datetime(2026, 5, 2), datetime(2026, 5, 6))]
    assert (run.inserted, run.updated, run.unchanged) == (0, 1, 0)


KILLED_LOADER = """
import sys, time
from pathlib import Path
from pipelines.ingest import ingest_into
from pipelines.load import load_batch
from pipelines.registry import source_for
from pipelines.reference import load_reference
from pipelines.sources.base import FeedBatch
from warehouse.db import writer
import pipelines.load

db, feed, marker = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
original = pipelines.load._store_quarantine

def stall_after_merging(con, batch, run_id):
    # The tickets are merged inside the open transaction: announce it, then wait to be killed.
    stored = original(con, batch, run_id)
    marker.write_text(str(con.sql("select count(*) from tickets").fetchall()[0][0]))
    time.sleep(120)
    return stored

pipelines.load._store_quarantine = stall_after_merging
batch = source_for(feed).read(feed, load_reference())
with writer(db) as con:
    load_batch(con, batch)
"""


def test_kill_9_during_a_load_leaves_no_partial_batch(
    feed_dir: Path, db_path: Path, tmp_path: Path
) -> None:
    files = list(feed_files([feed_dir / "tickets"]))
    ingest(files[:1], db_path)
    before = state(db_path, with_run_ids=True)
    marker = tmp_path / "merged"
    loader = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOADER, str(db_path), str(files[-1]), str(marker)], cwd=ROOT
    )
    deadline = time.monotonic() + 120
    while not marker.exists() or not marker.read_text():
        assert loader.poll() is None, "the loader died on its own"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert int(marker.read_text()) > before["tickets"].height  # rows were in flight
    os.kill(loader.pid, signal.SIGKILL)
    loader.wait()
    with writer(db_path) as con:  # reopening replays the log: the open transaction is gone
        runs = con.sql("select count(*) from ingestion_runs").fetchall()[0][0]
    assert runs == 1
    assert_same_state(state(db_path, with_run_ids=True), before)
