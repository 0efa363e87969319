"""`python -m bench spark --tickets N`: the local engine against Spark local mode, same inputs.

Prints both wall times, Spark's per-stage breakdown (the stage's wall time on the driver and the
engine calls inside it: how many, their summed and largest cost), checks both give the same
lines, and projects the run on a cluster of k workers from the measured costs. The projection
is arithmetic, not a measurement: each stage's work spread evenly over k workers with this
machine's cores, never shorter than its largest single engine call, Spark's start and the
driver's writing and reading back as measured here, and no network cost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench._machine import describe
from bench._synthetic import tickets_and_orders
from distributed.engine import write_inputs
from distributed.job import settle_on_spark
from distributed.session import spark_session
from settlement.timeline import Timeline
from warehouse.settle import LOCAL, shipped_rules

ORDER = ["period", "line_kind", "payee_type", "payee_id", "ticket_id"]
WORKERS = (1, 2, 4, 8, 16, 32)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench spark")
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    print(f"machine: {describe()}; Spark {args.master}")
    tickets, orders = tickets_and_orders(args.tickets)
    orders = orders.unique(["platform", "order_id"], keep="last", maintain_order=True)
    timeline = Timeline.single(shipped_rules())

    started = time.perf_counter()
    local_lines, _ = LOCAL.settle(tickets, orders, timeline)
    local_seconds = time.perf_counter() - started
    print(f"local engine   {args.tickets:>11,} tickets  {local_seconds:7.2f} s")

    folder = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    try:
        started = time.perf_counter()
        spark = spark_session(args.master)
        startup = time.perf_counter() - started
        started = time.perf_counter()
        write_inputs(tickets, orders, folder / "inputs")
        written = time.perf_counter() - started
        started = time.perf_counter()
        result = settle_on_spark(spark, folder / "inputs", timeline, folder / "stages")
        job = time.perf_counter() - started
        spark.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    total = startup + written + job
    print(
        f"spark          {args.tickets:>11,} tickets  {total:7.2f} s  (start {startup:.1f} s,"
        f" inputs written {written:.1f} s, job {job:.1f} s; {result.buckets} buckets per lines"
        f" stage); spark / local = {total / local_seconds:.1f}"
    )
    staged = sum(s.seconds for s in result.stages)
    for s in result.stages:
        print(
            f"  {s.name:<17} {s.seconds:7.2f} s   {s.calls:>5} engine calls, {s.rows:>11,} rows,"
            f" {s.call_seconds:7.2f} s summed, largest {s.largest_call_seconds:6.2f} s"
        )
    print(f"  checks, read back {job - staged:7.2f} s")
    same = result.lines.sort(ORDER, nulls_last=True).equals(
        local_lines.sort(ORDER, nulls_last=True)
    )
    print(f"same lines as the local engine: {'yes' if same else 'NO'} ({result.lines.height:,})")

    slots = int(args.master[6:-1]) if args.master.startswith("local[") else cores
    fixed = startup + written + (job - staged)
    print(f"\nprojection (arithmetic, not measured): workers of {slots} cores like this machine")
    print("  workers   wall s   of which stages")
    for k in WORKERS:
        stages = sum(
            max(s.largest_call_seconds, s.seconds * slots / (k * slots)) for s in result.stages
        )
        print(f"  {k:>7}   {fixed + stages:6.1f}   {stages:6.1f}")
    return 0 if same else 1
