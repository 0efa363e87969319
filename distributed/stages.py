"""The functions Spark runs in its Python workers: Arrow in, the pure engine, Arrow out.

Each is built for one run (``timeline``, the accumulator ``costs``) and pickled to the workers.
A call records (stage, rows in, seconds) in ``costs``: what ``bench spark`` projects a cluster
from.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import polars as pl
import pyarrow as pa

from distributed.schema import to_engine, to_spark
from settlement.engine import order_terms, priced_tickets, settle_linked, unpriced_tickets
from settlement.frames import LINES, LINKED, ORDERS_IN, TICKETS_IN, UNPRICED
from settlement.periods import ADJUSTMENT_LINES, corrections
from settlement.timeline import Timeline

# What order_terms gives for each order (the join keys as the tickets name them).
ORDER_TERMS: dict[str, pl.DataType] = {
    "order_platform": ORDERS_IN["platform"],
    "order_id": ORDERS_IN["order_id"],
    **{
        name: LINKED[name] for name in ("paid_cents", "order_province_code", "claw_num", "claw_den")
    },
}
LINKED_TICKETS = {**TICKETS_IN, **LINKED}

Batches = Iterator[pa.RecordBatch]


def _timed(costs: Any, stage: str, rows: int, started: float) -> None:
    costs.add([(stage, rows, time.perf_counter() - started)])


def _batches(table: pa.Table) -> Batches:
    yield from table.to_batches()


def unpriced_stage(timeline: Timeline, costs: Any) -> Callable[[Batches], Batches]:
    """Tickets → the ones no price applies to, with the reason (frames.UNPRICED). Row by row:
    any split of the tickets gives the same."""

    def run(batches: Batches) -> Batches:
        for batch in batches:
            started = time.perf_counter()
            tickets = to_engine(pa.Table.from_batches([batch]), TICKETS_IN)
            found = unpriced_tickets(priced_tickets(tickets.lazy(), timeline), timeline)
            yield from _batches(to_spark(found.collect(), UNPRICED))
            _timed(costs, "unpriced", batch.num_rows, started)

    return run


def order_terms_stage(costs: Any) -> Callable[[Batches], Batches]:
    """Orders (one row each) → what a ticket serving them is paid on and gives back (costs
    counted in the links stage, which joins them)."""

    def run(batches: Batches) -> Batches:
        for batch in batches:
            started = time.perf_counter()
            orders = to_engine(pa.Table.from_batches([batch]), ORDERS_IN)
            terms = order_terms(orders.lazy()).collect()
            yield from _batches(to_spark(terms, ORDER_TERMS))
            _timed(costs, "links", batch.num_rows, started)

    return run


def lines_stage(
    timeline: Timeline, payees: tuple[str, ...], stage: str, costs: Any
) -> Callable[[pa.Table], pa.Table]:
    """Every ticket of some whole (payee, period) groups, links found → their lines."""

    def run(table: pa.Table) -> pa.Table:
        started = time.perf_counter()
        linked = to_engine(table, LINKED_TICKETS)
        lines = settle_linked(linked.lazy(), timeline, payees).collect()
        out = to_spark(lines, LINES)
        _timed(costs, stage, table.num_rows, started)
        return out

    return run


def corrections_stage(
    target_of: dict[str, str], columns: dict[str, pl.DataType], costs: Any
) -> Callable[[pa.Table], pa.Table]:
    """The lines of closed periods of some whole payees, now (``_side`` "now") and frozen →
    their adjustment lines (settlement.periods.corrections)."""

    def run(table: pa.Table) -> pa.Table:
        started = time.perf_counter()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        sides = frame.partition_by("_side", as_dict=True, include_key=False)

        def side(name: str) -> pl.LazyFrame:
            part = sides.get((name,), frame.clear().drop("_side"))
            return part.select(pl.col(n).cast(t) for n, t in columns.items()).lazy()

        found = corrections(side("now"), side("frozen"), target_of).collect()
        out = to_spark(found, ADJUSTMENT_LINES)
        _timed(costs, "adjustments", table.num_rows, started)
        return out

    return run
