"""Ingest feed files into the warehouse: recognise, read, validate, merge; one run per file."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from pipelines.load import GROUP_RECORDS, GroupedLoads, RunSummary, release
from pipelines.reference import Reference, load_reference
from pipelines.registry import feed_files, source_for
from pipelines.sources.base import FeedBatch, sha256_of
from warehouse.db import writer

PARSED_AHEAD = 2  # files parsed ahead of the merge (each held in memory until merged)

REFERENCE_KEYS = {
    "provinces": ("province_code",),
    "cities": ("city_code",),
    "service_items": ("item_code",),
    "parts": ("part_code",),
    "partners": ("partner_id",),
    "technicians": ("technician_id",),
}


def refresh_reference(con: duckdb.DuckDBPyConnection, reference: Reference) -> None:
    """Upsert the project's reference data (rows are never deleted: tickets may still cite them)."""
    con.execute("begin transaction")
    try:
        for table, key in REFERENCE_KEYS.items():
            frame: pl.DataFrame = getattr(reference, table)
            on = " and ".join(f"t.{k} = s.{k}" for k in key)
            con.register("reference_rows", frame)
            try:
                con.execute(
                    f"merge into {table} t using reference_rows s on {on} "
                    f"when matched then update when not matched then insert"
                )
            finally:
                release(con, "reference_rows")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _sha_or_blank(path: Path) -> str:
    try:
        return sha256_of(path)
    except OSError:
        return ""  # unreadable: the run record still says which file and why


def _failed_run(con: duckdb.DuckDBPyConnection, feed: str, path: Path, error: str) -> RunSummary:
    run_id = int(con.execute("select nextval('ingestion_run_id')").fetchall()[0][0])
    now = datetime.now(UTC).replace(tzinfo=None)
    con.execute(
        "insert into ingestion_runs (run_id, feed, file, file_sha256, started_at, finished_at,"
        " status, error) values ($run_id, $feed, $file, $sha, $now, $now, 'failed', $error)",
        {
            "run_id": run_id,
            "feed": feed,
            "file": str(path),
            "sha": _sha_or_blank(path),
            "now": now,
            "error": error,
        },
    )
    return RunSummary(run_id, feed, str(path), "failed", error=error)


def _parse(path: Path, reference: Reference) -> FeedBatch | tuple[str, str]:
    """The parsed file, or (feed, reason) when no source recognises or can read it."""
    try:
        source = source_for(path)
    except (OSError, RuntimeError) as error:
        return "unknown", f"could not open: {error}"
    if source is None:
        return "unknown", "no source recognises this file's format"
    try:
        return source.read(path, reference)
    except Exception as error:  # a file we cannot parse at all is recorded, not fatal
        detail = traceback.format_exception_only(error)[-1].strip()
        return source.name, f"could not read: {detail}"


def ingest_into(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[Path],
    *,
    reference: Reference | None = None,
    force: bool = False,
    echo: Callable[[str], None] = lambda _: None,
    group_records: int = GROUP_RECORDS,
) -> list[RunSummary]:
    """Load every feed file under ``paths`` through an open writer connection.

    The next files are parsed (Polars) while the current one is merged (DuckDB); both release
    the GIL, so the two overlap. Two files are parsed ahead, by two workers: a small file's
    parse then fills the time a large one's merge leaves. Merges still happen one file at a
    time, in order, a few files to a transaction (``GroupedLoads``: each file still commits with
    its run record or not at all); a summary is echoed once its file has committed.
    """
    reference = reference or load_reference()
    refresh_reference(con, reference)
    files = list(feed_files(paths))
    summaries: list[RunSummary] = []

    def done(summary: RunSummary) -> None:
        echo(summary.line())
        summaries.append(summary)

    loads = GroupedLoads(con, done, force=force, records=group_records)
    with ThreadPoolExecutor(max_workers=PARSED_AHEAD) as parser:
        pending = [parser.submit(_parse, path, reference) for path in files[:PARSED_AHEAD]]
        for index, path in enumerate(files):
            parsed = pending.pop(0).result()
            if index + PARSED_AHEAD < len(files):
                pending.append(parser.submit(_parse, files[index + PARSED_AHEAD], reference))
            if isinstance(parsed, FeedBatch):
                loads.add(parsed)
            else:
                loads.flush()  # the failed run is recorded on its own, after the files before it
                done(_failed_run(con, parsed[0], path, parsed[1]))
        loads.flush()
    return summaries


def ingest(
    paths: Iterable[Path],
    db: Path,
    *,
    force: bool = False,
    echo: Callable[[str], None] = lambda _: None,
) -> list[RunSummary]:
    """Open the warehouse for writing, ingest, and publish the serving snapshot."""
    with writer(db) as con:
        return ingest_into(con, list(paths), force=force, echo=echo)
