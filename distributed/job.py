"""Settle inputs in the export layout on Spark, stage by stage (docs/spark.md).

1. **unpriced**: tickets no price applies to (row by row, ``mapInArrow``);
2. **links**: what crosses groups, with Spark's joins: a rework's original (it may belong to
   another technician or month), the terms of each ticket's order and the order's first ticket;
3. **technician lines** per (technician, period) group: ladders, reworks, chargebacks;
4. **partner lines** per (partner, period) group: partner ticket lines and monthly lines;
5. **adjustments** (``corrections_on_spark``), per payee: closed periods' lines now against what
   they hold frozen, the differences booked in the first open period after each.

Stages 3 and 4 hash whole groups into buckets and settle a bucket per ``applyInArrow`` call with
``settlement.engine.settle_linked``: the engine's windows are per group, so a bucket of many
groups gives each group's lines exactly. A group larger than ``max_group_rows`` is refused
before the stage, naming it. Each stage is written to the work folder, so it is computed once
and timed on its own.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
from pyspark.accumulators import AccumulatorParam
from pyspark.errors import PythonException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from distributed.schema import spark_schema
from distributed.stages import (
    LINKED_TICKETS,
    ORDER_TERMS,
    corrections_stage,
    lines_stage,
    order_terms_stage,
    unpriced_stage,
)
from settlement.frames import LINES, ORDERS_IN, TICKETS_IN, UNPRICED
from settlement.periods import ADJUSTMENT_LINES
from settlement.timeline import Timeline

# A (payee, period) group is settled in one engine call, in one worker's memory (about 0.5 KB
# a ticket): beyond this it is refused with its name rather than exhausting a worker.
MAX_GROUP_ROWS = 5_000_000
ROWS_PER_CALL = 500_000  # tickets per engine call: calls cost ~70 ms each whatever their size
ORDER_KEY = ["order_platform", "order_id"]


class GroupTooLarge(ValueError):
    """A (payee, period) group beyond the bound one engine call may hold."""


class BadInputs(ValueError):
    """Inputs that break the layout's promises (docs/export.md)."""


class StageFailed(RuntimeError):
    """A stage's Python code failed in a worker: the stage and the error, not the JVM's trace."""


@contextmanager
def _stage_failure(stage: str) -> Iterator[None]:
    try:
        yield
    except PythonException as error:
        raise StageFailed(
            f"Spark stage {stage} failed in a worker: {_python_cause(error)}"
        ) from error


def _python_cause(error: PythonException) -> str:
    """The last line of the worker's Python traceback: the exception and its message."""
    lines = [line.strip() for line in str(error).splitlines()]
    found = [line for line in lines if line and not line.startswith(("at ", "File ", "^"))]
    raised = [
        line
        for line in found
        if ": " in line and line.split(": ", 1)[0].endswith(("Error", "Exception"))
    ]
    return (raised or found or [type(error).__name__])[-1]


@dataclass(frozen=True)
class StageTime:
    name: str
    seconds: float  # wall time of the stage on the driver
    calls: int  # engine calls in the workers
    rows: int  # rows those calls took in
    call_seconds: float  # their summed time
    largest_call_seconds: float


@dataclass(frozen=True)
class SparkSettlement:
    lines: pl.DataFrame  # frames.LINES
    unpriced: pl.DataFrame  # frames.UNPRICED
    stages: list[StageTime]
    buckets: int  # engine calls per lines stage


class _Costs(AccumulatorParam):
    """(stage, rows, seconds) of every engine call, gathered from the workers."""

    def zero(self, value: list[tuple[str, int, float]]) -> list[tuple[str, int, float]]:
        return []

    def addInPlace(
        self, value1: list[tuple[str, int, float]], value2: list[tuple[str, int, float]]
    ) -> list[tuple[str, int, float]]:
        value1.extend(value2)
        return value1


def read_inputs(spark: SparkSession, inputs: Path) -> tuple[DataFrame, DataFrame]:
    """Tickets and orders of an export (the ``period`` folders are not columns of the engine)."""

    def read(name: str, columns: dict[str, pl.DataType]) -> DataFrame:
        schema = spark_schema(columns)
        folder = inputs / name
        if not folder.exists():
            return spark.createDataFrame([], schema)
        frame = spark.read.parquet(str(folder))
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise BadInputs(f"{folder}: no column {', '.join(missing)} (docs/export.md)")
        return frame.select([F.col(f.name).cast(f.dataType) for f in schema.fields])

    return read("tickets", TICKETS_IN), read("orders", ORDERS_IN)


def settle_on_spark(
    spark: SparkSession,
    inputs: Path,
    timeline: Timeline,
    work: Path,
    *,
    max_group_rows: int = MAX_GROUP_ROWS,
    rows_per_call: int = ROWS_PER_CALL,
) -> SparkSettlement:
    """Every line and unpriced ticket of the inputs at ``inputs`` under ``timeline``; ``work``
    (emptied first) holds each stage's output."""
    shutil.rmtree(work, ignore_errors=True)
    costs = spark.sparkContext.accumulator([], _Costs())
    times: list[tuple[str, float]] = []

    def stage(name: str, build: Callable[[], DataFrame]) -> DataFrame:
        started = time.perf_counter()
        target = str(work / name.replace(" ", "_"))
        with _stage_failure(name):
            build().write.mode("overwrite").parquet(target)
        times.append((name, time.perf_counter() - started))
        return spark.read.parquet(target)

    tickets, orders = read_inputs(spark, inputs)
    # The engine's joins and "first ticket" assume what the warehouse's keys guarantee.
    twice = tickets.groupBy("ticket_id").count().where("ticket_id is null or count > 1")
    for row in twice.limit(1).collect():
        raise BadInputs(f"tickets: ticket id {row['ticket_id']!r} appears {row['count']} times")
    unpriced = stage(
        "unpriced",
        lambda: tickets.mapInArrow(unpriced_stage(timeline, costs), spark_schema(UNPRICED)),
    )
    priced = tickets.join(unpriced.select("ticket_id"), "ticket_id", "left_anti")
    linked = stage("links", lambda: _linked(priced, orders, costs))
    buckets = _buckets(spark, linked.count(), rows_per_call)
    _check_groups(linked, "technician_id", "technician", max_group_rows)
    stage(
        "technician lines",
        lambda: _settled(linked, "technician_id", buckets, timeline, ("technician",), costs),
    )
    partnered = linked.where(F.col("partner_id").isNotNull() & F.col("partner_type").isNotNull())
    _check_groups(partnered, "partner_id", "partner", max_group_rows)
    stage(
        "partner lines",
        lambda: _settled(partnered, "partner_id", buckets, timeline, ("partner",), costs),
    )
    lines = _read_back(work, ["technician_lines", "partner_lines"], LINES)
    return SparkSettlement(
        lines=lines,
        unpriced=_read_back(work, ["unpriced"], UNPRICED),
        stages=_stage_times(times, costs.value),
        buckets=buckets,
    )


def corrections_on_spark(
    spark: SparkSession,
    now_closed: pl.DataFrame,
    frozen: pl.DataFrame,
    target_of: dict[str, str],
    work: Path,
) -> tuple[pl.DataFrame, StageTime]:
    """``settlement.periods.corrections`` of closed periods' lines (stored columns, the same in
    both frames), per bucket of payees; the adjustment lines and the stage's time."""
    shutil.rmtree(work, ignore_errors=True)
    sides = pl.concat(
        [
            now_closed.with_columns(_side=pl.lit("now")),
            frozen.with_columns(_side=pl.lit("frozen")),
        ],
        how="diagonal_relaxed",  # the recomputed lines lack the stored-only columns
    )
    columns = {name: dtype for name, dtype in sides.schema.items() if name != "_side"}
    if sides.is_empty():
        return pl.DataFrame(schema=ADJUSTMENT_LINES), StageTime("adjustments", 0.0, 0, 0, 0.0, 0.0)
    costs = spark.sparkContext.accumulator([], _Costs())
    started = time.perf_counter()
    (work / "sides").mkdir(parents=True)
    sides.write_parquet(work / "sides" / "part_0.parquet")
    adjusted = _per_bucket(
        spark.read.parquet(str(work / "sides")),
        ["payee_id"],
        _buckets(spark, sides.height, ROWS_PER_CALL),
        corrections_stage(target_of, columns, costs),
        ADJUSTMENT_LINES,
    )
    with _stage_failure("adjustments"):
        adjusted.write.mode("overwrite").parquet(str(work / "adjustments"))
    found = _read_back(work, ["adjustments"], ADJUSTMENT_LINES)
    seconds = time.perf_counter() - started
    return found, _stage_times([("adjustments", seconds)], costs.value)[0]


def _linked(priced: DataFrame, orders: DataFrame, costs: object) -> DataFrame:
    """Priced tickets with frames.LINKED beside them, found by joins across all tickets."""
    duplicated = orders.groupBy("platform", "order_id").count().where("count > 1").limit(1)
    for row in duplicated.collect():
        raise BadInputs(
            f"orders: order {row['order_id']} of {row['platform']} appears {row['count']} times"
        )
    terms = orders.mapInArrow(order_terms_stage(costs), spark_schema(ORDER_TERMS))
    # Each order's first ticket: the earliest, then the lowest ticket id (the engine's order).
    firsts = (
        priced.join(terms.select(ORDER_KEY), ORDER_KEY, "left_semi")
        .groupBy(ORDER_KEY)
        .agg(F.min(F.struct("completed_at", "ticket_id")).getField("ticket_id").alias("_first"))
    )
    originals = priced.select(
        F.col("ticket_id").alias("rework_of"),
        F.col("completed_at").alias("original_completed_at"),
        F.col("technician_id").alias("original_technician_id"),
    )
    return (
        priced.join(originals, "rework_of", "left")
        .join(terms.join(firsts, ORDER_KEY, "left"), ORDER_KEY, "left")
        .withColumn(
            "is_first_for_order", F.when(F.col("ticket_id") == F.col("_first"), F.lit(True))
        )
        .withColumn("period", F.date_format("completed_date", "yyyy-MM"))
        .select(*LINKED_TICKETS, "period")
    )


def _check_groups(linked: DataFrame, payee: str, kind: str, bound: int) -> None:
    largest = (
        linked.groupBy(payee, "period")
        .count()
        .where(F.col("count") > bound)
        .orderBy(F.desc("count"))
        .limit(3)
        .collect()
    )
    if largest:
        named = "; ".join(
            f"{kind} {r[payee]} in {r['period']}: {r['count']:,} tickets" for r in largest
        )
        raise GroupTooLarge(
            f"{named} — over the bound of {bound:,} tickets one engine call settles"
            " (a payee's month is settled whole: its ladder counts every ticket of it). Raise"
            " --max-group-rows on workers with the memory for it (about 0.5 KB a ticket)."
        )


def _settled(
    linked: DataFrame,
    payee: str,
    buckets: int,
    timeline: Timeline,
    payees: tuple[str, ...],
    costs: object,
) -> DataFrame:
    stage = lines_stage(timeline, payees, f"{payees[0]} lines", costs)
    return _per_bucket(linked, [payee, "period"], buckets, stage, LINES)


def _buckets(spark: SparkSession, rows: int, rows_per_call: int) -> int:
    """Engine calls for ``rows``: enough to keep every core busy, none larger than needed."""
    return max(2 * spark.sparkContext.defaultParallelism, math.ceil(rows / rows_per_call))


def _per_bucket(
    frame: DataFrame,
    keys: list[str],
    buckets: int,
    function: Callable[[pa.Table], pa.Table],
    columns: dict[str, pl.DataType],
) -> DataFrame:
    """``function`` once per bucket of whole ``keys`` groups (hashed into ``buckets``)."""
    bucketed = frame.withColumn("_bucket", F.pmod(F.xxhash64(*keys), F.lit(buckets)))
    return bucketed.groupBy("_bucket").applyInArrow(function, spark_schema(columns))


def _read_back(work: Path, names: list[str], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """The stages' Parquet files, as the driver sees them. Spark writes a file even for an empty
    stage, so a stage folder without one is a work folder the workers do not share with the
    driver: refused, never read as "no lines"."""
    frames = []
    for name in names:
        if not any((work / name).glob("*.parquet")):
            raise StageFailed(
                f"Spark stage {name} wrote no file the driver can see under {work / name}: the"
                " work folder (--work) must be one the driver and every worker share"
            )
        frames.append(
            pl.read_parquet(work / name / "*.parquet").select(
                pl.col(n).cast(t) for n, t in columns.items()
            )
        )
    return pl.concat(frames)


def _stage_times(
    times: list[tuple[str, float]], calls: list[tuple[str, int, float]]
) -> list[StageTime]:
    found = []
    for name, seconds in times:
        mine = [(rows, s) for stage, rows, s in calls if stage == name]
        found.append(
            StageTime(
                name,
                seconds,
                len(mine),
                sum(r for r, _ in mine),
                sum(s for _, s in mine),
                max((s for _, s in mine), default=0.0),
            )
        )
    return found
