"""The simulated world behind the demo feeds, in canonical shapes.

``simulate_world`` (built by the generator) produces the true state of every ticket, order and
refund; each feed's writer (``pipelines/sources/<feed>/writer.py``) renders it in that platform's
own format, including the later status updates and the dirty records real feeds carry.
Ingesting every feed must reconstruct these frames, less what the writers deliberately spoiled.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines import canonical

# Orders carry, beyond the canonical final state, the time of each lifecycle event so that writers
# can emit the order as it stood at the end of each month it changed in (nulls: never happened).
WORLD_ORDER_EVENTS: dict[str, pl.DataType] = {
    "final_paid_at": canonical.TIMESTAMP,  # pre-sale balance payment
    "shipped_at": canonical.TIMESTAMP,
    "completed_at": canonical.TIMESTAMP,
    "closed_at": canonical.TIMESTAMP,  # cancelled, unpaid timeout, or deposit forfeited
}
WORLD_ORDERS: dict[str, pl.DataType] = {**canonical.ORDERS, **WORLD_ORDER_EVENTS}


@dataclass(frozen=True)
class World:
    tickets: pl.DataFrame  # canonical.TICKETS, final state
    orders: pl.DataFrame  # WORLD_ORDERS, final state plus event times
    order_refunds: pl.DataFrame  # canonical.ORDER_REFUNDS, final state
    seed: int
