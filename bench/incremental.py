"""`python -m bench incremental --tickets N`: an incremental `settlement run` against a full one.

On a demo warehouse of N tickets (built with `pipelines demo`, or `--db` reused, building it
there when missing; the runs happen on a copy): a first full run that builds the baseline of
what was settled, a full run, a run when nothing changed, and a run after a batch of new tickets
(`--new-percent`, default 1 % of the tickets, completed in the latest open period like a day's
feed: copies of that period's tickets under new ids, their orders and rework links kept). Each
run is timed twice: the settlement transaction itself, and the whole command (lock, checkpoint
and the serving snapshot's copy included), `--repeat` times (each batch a new one); the ratios
are the settlement's, medians against the fastest full run. `--check` then settles the same
warehouse in full and asserts the incremental run's lines are the full run's.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from bench._machine import describe, peak_rss_mib
from bench.pages import build
from warehouse import app_store
from warehouse.db import connect_read_only, writer
from warehouse.settle import SettleSummary, settle_into

# New tickets: copies of a period's completed tickets, under new ids. (The period is a
# parameter: with the latest open one as a scalar subquery here, DuckDB 2.0 ignored the limit on
# a 1 M-ticket warehouse.)
NEW_TICKETS = """
insert into tickets
select * replace (ticket_id || $suffix as ticket_id)
from tickets
where status = 'completed' and strftime(completed_date, '%Y-%m') = $period
    and ticket_id not like '%-new%'  -- copies of the originals only
order by hash(ticket_id)
limit $count
"""


def timed(db: Path, *, full: bool) -> tuple[float, float, SettleSummary]:
    """(seconds of the settlement transaction, seconds of the whole command, its summary)."""
    started = time.perf_counter()
    with writer(db) as con:
        settling = time.perf_counter()
        summary = settle_into(con, store=app_store.app_store_path(db), full=full)
        settled = time.perf_counter() - settling
    return settled, time.perf_counter() - started, summary


def lines(db: Path) -> list[tuple[object, ...]]:
    with connect_read_only(db) as con:
        return con.sql("select * exclude (run_id) from settlement_lines order by all").fetchall()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench incremental")
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--db", type=Path, help="a demo warehouse to reuse (built when missing)")
    parser.add_argument("--new-percent", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind")
    parser.add_argument("--check", action="store_true", help="prove the lines against a full run")
    args = parser.parse_args(argv)
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory(prefix="bench-incremental-") as folder:
        source = args.db or Path(folder) / "built" / "tierboard.duckdb"
        if not source.exists():
            build(source, args.tickets)
        db = Path(folder) / "tierboard.duckdb"
        shutil.copy(source, db)
        store = app_store.app_store_path(source)
        if store.exists():
            shutil.copy(store, app_store.app_store_path(db))
        with connect_read_only(db) as con:
            tickets = int(con.sql("select count(*) from tickets").fetchall()[0][0])

        def report(name: str, run: Callable[[], tuple[float, float, SettleSummary]]) -> float:
            settled, command, summary = run()
            print(
                f"{name:<16} {settled:6.2f} s  (command {command:6.2f} s)  {summary.mode},"
                f" {summary.groups_recomputed:>8,} groups, {summary.lines_written:>9,} lines"
                f" written  peak {peak_rss_mib():,.0f} MiB"
            )
            return settled

        print(f"warehouse        {tickets:,} tickets")
        report("first (baseline)", lambda: timed(db, full=True))
        full = min(report("full", lambda: timed(db, full=True)) for _ in range(args.repeat))
        unchanged = statistics.median(
            report("nothing changed", lambda: timed(db, full=False)) for _ in range(args.repeat)
        )
        count = round(tickets * args.new_percent / 100)
        batches = []
        for n in range(1, args.repeat + 1):
            with writer(db) as con:
                latest = con.execute(
                    "select max(period) from settlement_periods where status = 'open'"
                ).fetchall()[0][0]
                added = con.execute(
                    NEW_TICKETS, {"count": count, "period": latest, "suffix": f"-new{n}"}
                ).fetchall()[0][0]
            batches.append(report(f"+{added:,} tickets", lambda: timed(db, full=False)))
        batch = statistics.median(batches)
        print(
            f"ratios           nothing changed / full = {unchanged / full:.3f} (target ≤ 0.10);"
            f" {args.new_percent:g} % new tickets / full = {batch / full:.3f} (target ≤ 0.20)"
            f"  (medians against the fastest full run)"
        )
        if args.check:
            incremental = lines(db)
            timed(db, full=True)
            same = incremental == lines(db)
            print(f"check            incremental lines == full run's lines: {same}")
            if not same:
                return 1
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except duckdb.Error as error:
        raise SystemExit(f"error: {error}") from None
