"""Spark as the warehouse's settlement engine: same frames in, same lines out as the local one.

``SparkEngine`` is what ``warehouse.settle.settle_into(..., engine=)`` calls instead of the
local engine (``warehouse.settle.Engine``): it writes the tickets and orders it is given in the
export layout to its work folder, settles them on Spark (``job.settle_on_spark``) and hands the
lines back; closed periods' corrections run on Spark too (``job.corrections_on_spark``).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from distributed.job import (
    MAX_GROUP_ROWS,
    SparkSettlement,
    StageTime,
    corrections_on_spark,
    settle_on_spark,
)
from distributed.schema import as_text
from distributed.session import is_local, spark_session
from settlement.frames import ORDERS_IN, TICKETS_IN
from settlement.timeline import Timeline


def write_inputs(tickets: pl.DataFrame, orders: pl.DataFrame, folder: Path) -> None:
    """Tickets (partitioned by period) and orders in the export layout, codes as text."""
    tickets = tickets.select(pl.col(n).cast(t) for n, t in as_text(TICKETS_IN).items())
    orders = orders.select(pl.col(n).cast(t) for n, t in as_text(ORDERS_IN).items())
    if tickets.height:
        tickets.with_columns(period=pl.col("completed_date").dt.strftime("%Y-%m")).write_parquet(
            folder / "tickets", partition_by="period"
        )
    if orders.height:
        (folder / "orders").mkdir(parents=True, exist_ok=True)
        orders.write_parquet(folder / "orders" / "part_0.parquet")


@dataclass
class SparkEngine:
    """Settles on Spark at ``master``; ``work`` must be a folder every worker sees (local
    mode: any folder; a cluster: shared storage)."""

    master: str = "local[2]"
    work: Path | None = None
    max_group_rows: int = MAX_GROUP_ROWS
    last: SparkSettlement | None = field(default=None, init=False)
    last_corrections: StageTime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.work is None and not is_local(self.master):
            raise ValueError(
                f"--work: a folder the driver and every worker of {self.master} share is needed"
                " (a temporary folder of this machine serves local[N] only)"
            )

    def settle(
        self, tickets: pl.DataFrame, orders: pl.DataFrame, timeline: Timeline
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        spark = spark_session(self.master)
        folder = self._folder()
        try:
            write_inputs(tickets, orders, folder / "inputs")
            self.last = settle_on_spark(
                spark,
                folder / "inputs",
                timeline,
                folder / "stages",
                max_group_rows=self.max_group_rows,
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return self.last.lines, self.last.unpriced

    def corrections(
        self, now_closed: pl.DataFrame, frozen: pl.DataFrame, target_of: dict[str, str]
    ) -> pl.DataFrame:
        spark = spark_session(self.master)
        folder = self._folder()
        try:
            found, self.last_corrections = corrections_on_spark(
                spark, now_closed, frozen, target_of, folder / "stages"
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return found

    def _folder(self) -> Path:
        if self.work is not None:
            self.work.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="tierboard-spark-", dir=self.work))
