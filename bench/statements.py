"""`python -m bench statements --tickets N`: PDF statements per second and the zip of one period.

Builds a demo warehouse of that size (or reuses `--db`, building it there if it is missing),
works on a copy of it (closing its first period if none is closed) and builds that period's
zips as the dashboard's background process does (`warehouse.statement_jobs.run`, into a fresh
cache folder): one per payee type, then the one of all payees. Prints the payees, PDFs/s and
seconds of each, for each `--workers` count given (processes writing one zip).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._machine import describe, peak_rss_mib
from warehouse.db import connect_read_only, serving_path
from warehouse.statement_jobs import Build, cache_dir, run
from warehouse.statements import read_fingerprint, read_statements


def build(db: Path, tickets: int, months: int | None) -> None:
    started = time.perf_counter()
    command = [sys.executable, "-m", "pipelines", "demo", "--tickets", str(tickets)]
    command += ["--months", str(months)] if months else []
    subprocess.run([*command, "--db", str(db)], check=True, capture_output=True)
    took = time.perf_counter() - started
    print(f"built a {tickets:,}-ticket warehouse in {took:.0f} s at {db}")


def closed_period(db: Path) -> str:
    """The newest closed period; the first one closed here when none is."""
    with connect_read_only(db) as con:
        rows = con.execute(
            "select period, status from settlement_periods order by period"
        ).fetchall()
    closed = [str(p) for p, status in rows if status == "closed"]
    if closed:
        return closed[-1]
    from warehouse.settle import close_period

    period = str(rows[0][0])
    close_period(db, period, actor="bench", note="statements benchmark")
    return period


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench statements")
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--months", type=int, help="months of demo data (the demo's default)")
    parser.add_argument("--db", type=Path, help="a warehouse to reuse (built there if missing)")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="processes per zip, each measured"
    )
    args = parser.parse_args(argv)
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as folder:
        source = args.db or Path(folder) / "source" / "tierboard.duckdb"
        if source.exists():
            print(f"reusing the warehouse at {source}")
        else:
            source.parent.mkdir(parents=True, exist_ok=True)
            build(source, args.tickets, args.months)
        # A copy: closing a period and filling a zip cache are not the benchmark's to do to a
        # warehouse someone uses.
        db = Path(folder) / "tierboard.duckdb"
        shutil.copy(source, db)
        shutil.copy(serving_path(source), serving_path(db))
        os.environ["TIERBOARD_APP_DB"] = str(Path(folder) / "tierboard_app.sqlite")
        period = closed_period(db)

        started = time.perf_counter()
        fingerprint = read_fingerprint(db, period)
        keyed = time.perf_counter() - started
        started = time.perf_counter()
        lines = read_statements(db, period, serving=True).lines.height
        read = time.perf_counter() - started
        print(
            f"period {period}: {fingerprint.payees():,} payees, {lines:,} lines; "
            f"key {keyed * 1000:.0f} ms, lines read in {read:.2f} s"
        )
        print(f"{'zip':<12} {'workers':>7} {'payees':>8} {'seconds':>9} {'PDFs/s':>8} {'MiB':>8}")
        scopes = [g.payee_type for g in fingerprint.groups]
        for processes in args.workers:
            for scope in [*scopes, None]:
                job = Build.of(db, fingerprint, scope)
                shutil.rmtree(cache_dir(db), ignore_errors=True)  # built, not found ready
                started = time.perf_counter()
                path = run(job, processes)
                took = time.perf_counter() - started
                payees = fingerprint.payees(scope)
                size = path.stat().st_size / 2**20
                print(
                    f"{scope or 'all':<12} {processes:>7} {payees:>8,} {took:>9.2f} "
                    f"{payees / took:>8.1f} {size:>8.1f}"
                )
        print(f"peak memory {peak_rss_mib():,.0f} MiB (each zip includes reading and the font)")
    return 0
