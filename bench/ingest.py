"""`python -m bench ingest --tickets N`: ingest throughput against DuckDB's bare read of the feeds.

Generates the demo feeds for N tickets, loads them into a fresh warehouse with the real pipeline
(parse, validate, quarantine, merge, run records, serving snapshot), then has DuckDB read the
very same files into an in-memory table with no validation at all. The ratio is the price of
everything the pipeline does beyond reading. The same read into a database file (written,
compressed, committed) is printed beside it: what storing the rows costs before any check.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import duckdb

from bench._machine import describe, peak_rss_mib
from pipelines.generate import generate
from pipelines.ingest import ingest

FAMILIES = {
    "tickets csv": "tickets/*.csv",
    "tickets jsonl": "tickets/*.jsonl",
    "taobao trades": "taobao/trades_*.jsonl",
    "taobao refunds": "taobao/refunds_*.jsonl",
    "youzan trades": "youzan/trades_*.jsonl",
    "wechat orders": "wechat/orders_*.jsonl",
    "wechat aftersales": "wechat/aftersales_*.jsonl",
}


def bare_read(feeds: Path, into: Path | None = None) -> tuple[int, float]:
    """Rows DuckDB reads from every feed file into memory (or into the database file ``into``,
    committed and closed: what storing the rows alone costs), and the seconds it took."""
    con = duckdb.connect(str(into) if into else ":memory:")  # a reference point, not the warehouse
    started = time.perf_counter()
    rows = 0
    for index, pattern in enumerate(FAMILIES.values()):
        files = sorted(str(p) for p in feeds.glob(pattern))
        if not files:
            continue
        if pattern.endswith(".csv"):
            reader = f"read_csv({files!r}, all_varchar = true)"
        else:
            reader = f"read_json({files!r}, format = 'newline_delimited', ignore_errors = true)"
        con.execute(f"create table family_{index} as select * from {reader}")
        rows += con.sql(f"select count(*) from family_{index}").fetchall()[0][0]
    con.close()
    return rows, time.perf_counter() - started


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ingest")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as folder:
        feeds, db = Path(folder) / "feeds", Path(folder) / "bench.duckdb"
        started = time.perf_counter()
        files = generate(feeds, args.tickets, seed=args.seed)
        generated = time.perf_counter() - started
        size = sum(p.stat().st_size for p in files) / 2**20
        print(
            f"generate   {args.tickets:>12,} tickets  {generated:6.2f} s  "
            f"({len(files)} files, {size:,.0f} MiB)"
        )

        started = time.perf_counter()
        runs = ingest([feeds], db)
        loaded = time.perf_counter() - started
        records = sum(run.records_read for run in runs)
        assert all(run.status == "succeeded" for run in runs), [
            r for r in runs if r.status != "succeeded"
        ]
        print(
            f"ingest     {records:>12,} records  {loaded:6.2f} s  "
            f"{records / loaded:>10,.0f} records/s"
        )

        bare_rows, bare = bare_read(feeds)
        print(
            f"bare read  {bare_rows:>12,} rows     {bare:6.2f} s  {bare_rows / bare:>10,.0f} rows/s"
        )
        _, stored = bare_read(feeds, into=Path(folder) / "bare.duckdb")
        print(
            f"bare read into a database file   {stored:6.2f} s  ({stored / bare:.2f}x the bare"
            " read: the floor of any pipeline that stores the rows)"
        )
        print(
            f"ratio      ingest / bare read = {loaded / bare:.2f}x   "
            f"peak memory {peak_rss_mib():,.0f} MiB"
        )
    return 0
