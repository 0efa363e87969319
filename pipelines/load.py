"""Merge one parsed feed file into the warehouse: one transaction with its run record.

Per canonical table: keep the newest version of each key within the batch, then merge into the
table where the incoming version is newer (``updated_at``; equal times are ordered by a content
hash so any file order converges to one state). Quarantined records are kept with their reason.
Either all of this and the ``ingestion_runs`` row commit together, or none of it does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import polars as pl

from pipelines import canonical
from pipelines.sources.base import FeedBatch
from warehouse.db import WarehouseDiskFull, is_disk_full


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    feed: str
    file: str
    status: str  # succeeded skipped failed
    records_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    error: str | None = None
    loaded: int = 0  # records merged: distinct ids of the feed's record table
    superseded: int = 0  # older versions (and exact repeats) of an id in the same file

    def line(self) -> str:
        counts = (
            f"read {self.records_read:,}  inserted {self.inserted:,}  updated {self.updated:,}  "
            f"unchanged {self.unchanged:,}  superseded {self.superseded:,}  "
            f"quarantined {self.quarantined:,}"
        )
        detail = f"  ({self.error})" if self.error else ""
        return f"{self.status:<9} {self.feed:<16} {self.file}  {counts}{detail}"


def release(con: duckdb.DuckDBPyConnection, view: str) -> None:
    """Drop a registered frame; inside a failed transaction that fails too, and must not mask the
    error that failed it (the name is simply re-registered next time)."""
    with contextlib.suppress(duckdb.Error):
        con.unregister(view)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _content_hash(alias: str, columns: list[str]) -> str:
    # Identifiers come from the canonical schema (code constants), never from data.
    fields = ", ".join(f"{alias}.{name}" for name in columns)
    return f"md5(cast(row({fields}) as varchar))"


def _newest_per_key(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    key = list(canonical.KEYS[table])
    if frame.select(key).n_unique() == frame.height:
        return frame  # one version of each key (most files): nothing to sort
    # Exact repeats collapse; conflicting same-time duplicates were quarantined by the source.
    newest = frame.sort("updated_at", descending=True, nulls_last=True)
    if table == "order_refunds":
        newest = newest.with_columns(_earliest_refund_times(key))
    return newest.unique(subset=key, keep="first", maintain_order=False)


def _earliest_refund_times(key: list[str]) -> list[pl.Expr]:
    """A refund was requested (and, once succeeded, completed) when it was first seen so: a
    refund read from a trade carries the trade's update time, a later version must not move
    those times forward (REFUND_TIMES applies the same rule against the table)."""
    return [
        pl.col("requested_at").min().over(key).alias("requested_at"),
        pl.when(pl.col("status") == "succeeded")
        .then(pl.col("refunded_at").min().over(key))
        .alias("refunded_at"),
    ]


# For order_refunds, in SQL: the earliest request and completion times win over newer versions,
# and an older version that saw the refund earlier still dates it (the stored row otherwise kept).
REFUND_TIMES = {
    "requested_at": (
        "least(t.requested_at, s.requested_at)",
        "case when s.requested_at < t.requested_at then s.requested_at else t.requested_at end",
    ),
    "refunded_at": (
        "case when s.status = 'succeeded' then least(t.refunded_at, s.refunded_at) end",
        "case when t.status = 'succeeded' and s.refunded_at < t.refunded_at"
        " then s.refunded_at else t.refunded_at end",
    ),
}
REFUND_DATED_EARLIER = (
    "s.requested_at < t.requested_at or (t.status = 'succeeded' and s.refunded_at < t.refunded_at)"
)


def _merge_table(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, run_id: int
) -> tuple[int, int, int]:
    """(inserted, updated, unchanged) for merging ``frame`` into ``table``."""
    if frame.is_empty():
        return 0, 0, 0
    key = canonical.KEYS[table]
    content = [c for c in canonical.SCHEMAS[table] if c not in key]
    staged = _newest_per_key(frame, table).with_columns(pl.lit(run_id, pl.Int64).alias("run_id"))
    columns = [*canonical.SCHEMAS[table], "run_id"]
    on = " and ".join(f"t.{k} = s.{k}" for k in key)
    rules = REFUND_TIMES if table == "order_refunds" else {}
    compared = [c for c in content if c not in rules]
    # Of two versions with one update time, the greater content hash wins (the earliest-time
    # columns are not compared: that would reorder equal versions on every load).
    tie_won = f"{_content_hash('s', compared)} > {_content_hash('t', compared)}"
    newer = f"s.updated_at > t.updated_at or (s.updated_at = t.updated_at and {tie_won})"
    con.register("staged_batch", staged.select(columns))
    try:
        # A newer version replaces the row: deleted, then inserted with the new keys
        # (``_replace_older``). An UPDATE of every column rewrites the row the same way (a list
        # column cannot be updated in place) and costs more; set-based statements also beat one
        # MERGE by ~2x, and each reports its row count without a RETURNING set. Refunds keep
        # their earliest times, so they are updated in place.
        if rules:
            # One pass: a newer version replaces the row (its times the earliest seen), an
            # older one only moves a time earlier; a row is counted once, whatever it took.
            refreshed = ", ".join(
                f"{c} = case when s.is_newer then {rules[c][0] if c in rules else f's.{c}'}"
                f" else {rules[c][1] if c in rules else f't.{c}'} end"
                for c in [*content, "run_id"]
            )
            # which side is newer is decided once per row (the hashes read every column)
            matched = (
                f"select s.*, ({newer}) is true as is_newer, ({newer}) is false as is_older"
                f" from staged_batch as s join {table} as t on {on}"
            )
            updated = _changed_rows(
                con.execute(
                    f"update {table} as t set {refreshed} from ({matched}) as s where {on}"
                    f" and (s.is_newer or (s.is_older and ({REFUND_DATED_EARLIER})))"
                )
            )
            replaced = 0
            written = _insert_missing(con, table, on, table)
        else:
            written, replaced = _replace_older(con, table, key, on, tie_won)
            updated = replaced
        inserted = written - replaced
    finally:
        release(con, "staged_batch")
    return inserted, updated, staged.height - inserted - updated


def _insert_missing(con: duckdb.DuckDBPyConnection, table: str, on: str, stored: str) -> int:
    """Insert the staged rows whose key ``stored`` (``t``: the table, or its keys) lacks."""
    return _changed_rows(
        con.execute(
            f"insert into {table} by name select s.* from staged_batch as s"
            f" anti join {stored} as t on {on}"
        )
    )


def _replace_older(
    con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...], on: str, tie_won: str
) -> tuple[int, int]:
    """Replace the rows of ``table`` that a staged version is newer than and insert the new
    keys: (rows written, rows replaced).

    One join on the keys finds the stored rows a later time replaces (deleted by rowid, stable
    within the transaction), the keys that stay and whether any staged version has the stored
    one's very time. Only those are ordered by their content's hash, a comparison that reads
    every column of the table, so it runs only when there are some. Without them, the staged
    rows to insert are those whose key is not among the staying ones: the join's few rows, not
    the table, are what the insert compares with."""
    matched = f"{table}_matched"
    con.execute(
        f"create or replace temp table {matched} as select t.rowid as stored_row,"
        f" {', '.join(f's.{k}' for k in key)}, s.updated_at > t.updated_at as is_newer,"
        " s.updated_at = t.updated_at as is_tie"
        f" from {table} as t join staged_batch as s on {on}"
    )
    replaced, ties = con.execute(
        f"select count(*) filter (is_newer), count(*) filter (is_tie) from {matched}"
    ).fetchall()[0]
    if replaced:
        con.execute(
            f"delete from {table} where rowid in (select stored_row from {matched} where is_newer)"
        )
    if ties:
        replaced += _changed_rows(
            con.execute(
                f"delete from {table} as t using staged_batch as s"
                f" where {on} and s.updated_at = t.updated_at and {tie_won}"
            )
        )
        written = _insert_missing(con, table, on, table)
    else:
        staying = f"(select * from {matched} where is_newer is not true)"
        written = _insert_missing(con, table, on, staying)
    con.execute(f"drop table temp.{matched}")  # a failed transaction takes it with it
    return written, int(replaced)


def _changed_rows(result: duckdb.DuckDBPyConnection) -> int:
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0


def _already_loaded(con: duckdb.DuckDBPyConnection, sha256: str) -> bool:
    rows = con.execute(
        "select count(*) from ingestion_runs where file_sha256 = $sha and status = 'succeeded'",
        {"sha": sha256},
    ).fetchall()
    return bool(rows[0][0])


def _next_run_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("select nextval('ingestion_run_id')").fetchall()[0][0])


def _record_run(con: duckdb.DuckDBPyConnection, summary: RunSummary, **extra: object) -> None:
    con.execute(
        "insert into ingestion_runs (run_id, feed, file, file_sha256, started_at, finished_at,"
        " records_read, inserted, updated, unchanged, quarantined, watermark, status, error,"
        " loaded, superseded, source, window_start, window_end)"
        " values ($run_id, $feed, $file, $sha, $started_at, $finished_at, $records_read,"
        " $inserted, $updated, $unchanged, $quarantined, $watermark, $status, $error,"
        " $loaded, $superseded, $source, $window_start, $window_end)",
        {
            "source": "file",
            "window_start": None,
            "window_end": None,
            "run_id": summary.run_id,
            "feed": summary.feed,
            "file": summary.file,
            "records_read": summary.records_read,
            "inserted": summary.inserted,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "quarantined": summary.quarantined,
            "status": summary.status,
            "error": summary.error,
            "loaded": summary.loaded,
            "superseded": summary.superseded,
            "finished_at": _now(),
            **extra,
        },
    )


def _watermark(batch: FeedBatch) -> datetime | None:
    newest = [frame["updated_at"].max() for frame in batch.tables.values() if not frame.is_empty()]
    stamps = [value for value in newest if isinstance(value, datetime)]
    return max(stamps) if stamps else None


def _store_quarantine(con: duckdb.DuckDBPyConnection, batch: FeedBatch, run_id: int) -> int:
    if batch.quarantine.is_empty():
        return 0
    rows = batch.quarantine.select(
        pl.lit(batch.feed).alias("feed"),
        pl.lit(str(batch.file)).alias("file"),
        pl.lit(batch.file_sha256).alias("file_sha256"),
        pl.col("record_number"),
        pl.col("field"),
        pl.col("value"),
        pl.col("reason"),
        pl.col("raw_record"),
        pl.lit(run_id, pl.Int64).alias("run_id"),
    )
    # A file loaded again (``--force``) quarantines the same fields again: keep the first.
    key = list(canonical.QUARANTINE_KEY)
    con.register("quarantine_batch", rows.unique(subset=key, keep="first", maintain_order=True))
    try:
        con.execute(
            "insert into quarantine by name select q.* from quarantine_batch as q anti join"
            f" quarantine as t on {' and '.join(f't.{k} = q.{k}' for k in key)}"
        )
    finally:
        release(con, "quarantine_batch")
    return int(batch.quarantine["record_number"].n_unique())


def _record_counts(batch: FeedBatch) -> tuple[int, int]:
    """(loaded, superseded) records: each good record is one row of the batch's record table."""
    frame = batch.tables.get(batch.record_table)
    if frame is None or frame.is_empty():
        return 0, 0
    loaded = frame.select(canonical.KEYS[batch.record_table]).n_unique()
    return loaded, frame.height - loaded


def load_batch(
    con: duckdb.DuckDBPyConnection, batch: FeedBatch, *, force: bool = False
) -> RunSummary:
    """Merge ``batch`` atomically; a file loaded successfully before is skipped unless ``force``."""
    started_at = _now()
    run_id = _next_run_id(con)
    extra = {"sha": batch.file_sha256, "started_at": started_at, "watermark": _watermark(batch)}
    if not force and _already_loaded(con, batch.file_sha256):
        skipped = _skipped(run_id, batch)
        _record_run(con, skipped, **extra)
        return skipped
    con.execute("begin transaction")
    try:
        summary = _merge_batch(con, batch, run_id, extra)
        con.execute("commit")
    except Exception as error:
        _rollback(con)
        failed = RunSummary(
            run_id, batch.feed, str(batch.file), "failed", batch.records_read, error=str(error)
        )
        if is_disk_full(error):
            # No later file can load either: record this one failed (a small row, which fits
            # once the batch is rolled back) and stop the whole command.
            try:
                _record_run(con, failed, **extra)
                recorded = "recorded failed"
            except duckdb.Error:
                recorded = "could not even be recorded failed"
            raise WarehouseDiskFull(
                f"the disk is full (No space left on device) while loading {batch.file}: that "
                f"file was rolled back and {recorded}; the files before it are loaded. Free "
                "space where the warehouse lives and run the command again."
            ) from error
        _record_run(con, failed, **extra)
        return failed
    return summary


# Records merged per shared transaction (``GroupedLoads``): a few monthly exports. Small commits
# cost twice, once in the write-ahead log and again when the checkpoint rewrites it; a large one
# writes its rows straight into the file. The group's parsed files stay in memory until it
# commits, which bounds the size.
GROUP_RECORDS = 300_000


class GroupedLoads:
    """Merge parsed files one after another, several to a transaction, each with its own run.

    A file's rows and its ``ingestion_runs`` row still commit together or not at all, and files
    merge in order: grouping only lets consecutive files share a commit. Should anything in a
    group fail (a merge, or the commit itself: a full disk), the group is rolled back and its
    files are merged again one transaction each (``load_batch``), so a failure costs its own
    file only, exactly as without grouping. ``done`` hears every file's final summary, in order,
    once its transaction has committed."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        done: Callable[[RunSummary], None],
        *,
        force: bool = False,
        records: int = GROUP_RECORDS,
    ) -> None:
        self._con, self._done, self._force, self._records = con, done, force, records
        self._batches: list[FeedBatch] = []
        self._summaries: list[RunSummary] = []

    def add(self, batch: FeedBatch) -> None:
        if not self._batches:
            self._con.execute("begin transaction")
        self._batches.append(batch)
        try:
            self._summaries.append(_load_in_transaction(self._con, batch, self._force))
        except Exception:
            self._retry_one_by_one()
            return
        if sum(b.records_read for b in self._batches) >= self._records:
            self.flush()

    def flush(self) -> None:
        """Commit the open group (before anything else writes outside it)."""
        if not self._batches:
            return
        try:
            self._con.execute("commit")
        except Exception:
            self._retry_one_by_one()
            return
        summaries, self._batches, self._summaries = self._summaries, [], []
        for summary in summaries:
            self._done(summary)

    def _retry_one_by_one(self) -> None:
        _rollback(self._con)
        batches, self._batches, self._summaries = self._batches, [], []
        for batch in batches:
            self._done(load_batch(self._con, batch, force=self._force))


def _load_in_transaction(
    con: duckdb.DuckDBPyConnection, batch: FeedBatch, force: bool
) -> RunSummary:
    """``batch`` merged (or recorded skipped) inside the caller's transaction."""
    started_at = _now()
    run_id = _next_run_id(con)
    extra = {"sha": batch.file_sha256, "started_at": started_at, "watermark": _watermark(batch)}
    if not force and _already_loaded(con, batch.file_sha256):
        skipped = _skipped(run_id, batch)
        _record_run(con, skipped, **extra)
        return skipped
    return _merge_batch(con, batch, run_id, extra)


def _skipped(run_id: int, batch: FeedBatch) -> RunSummary:
    return RunSummary(
        run_id,
        batch.feed,
        str(batch.file),
        "skipped",
        batch.records_read,
        error="this exact file was loaded before; nothing to do",
    )


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll the batch back. When its commit fails (a full disk) DuckDB has already ended the
    transaction, and a second rollback's "no transaction is active" must not hide the cause."""
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")


def _merge_batch(
    con: duckdb.DuckDBPyConnection, batch: FeedBatch, run_id: int, extra: dict[str, object]
) -> RunSummary:
    """Merge ``batch`` and record its run inside the caller's transaction."""
    inserted = updated = unchanged = 0
    for table, frame in batch.tables.items():
        i, u, n = _merge_table(con, table, canonical.conform(frame, table), run_id)
        inserted, updated, unchanged = inserted + i, updated + u, unchanged + n
    quarantined = _store_quarantine(con, batch, run_id)
    loaded, superseded = _record_counts(batch)
    summary = RunSummary(
        run_id,
        batch.feed,
        str(batch.file),
        "succeeded",
        batch.records_read,
        inserted,
        updated,
        unchanged,
        quarantined,
        loaded=loaded,
        superseded=superseded,
    )
    _record_run(con, summary, **extra)
    return summary


def load_pulled(
    con: duckdb.DuckDBPyConnection, batches: list[FeedBatch], **run: object
) -> list[RunSummary]:
    """Merge the batches of one pull (a platform's trades and refunds over one window) in a
    single transaction: all of them commit with their run records, or none does. ``run`` holds
    the run columns a pull adds (``source``, ``window_start``, ``window_end``). Never skipped:
    a window pulled again merges to the same state (only a newer version wins)."""
    started_at = _now()
    runs = [(batch, _next_run_id(con)) for batch in batches]

    def extra(batch: FeedBatch) -> dict[str, object]:
        return {"sha": batch.file_sha256, "started_at": started_at,
                "watermark": _watermark(batch), **run}  # fmt: skip

    con.execute("begin transaction")
    try:
        summaries = [_merge_batch(con, batch, run_id, extra(batch)) for batch, run_id in runs]
        con.execute("commit")
    except Exception as error:
        _rollback(con)
        failed = [
            RunSummary(run_id, b.feed, str(b.file), "failed", b.records_read, error=str(error))
            for b, run_id in runs
        ]
        for summary, (batch, _) in zip(failed, runs, strict=True):
            _record_run(con, summary, **extra(batch))
        return failed
    return summaries
