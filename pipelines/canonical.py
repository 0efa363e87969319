"""Canonical table shapes shared by every source and by the loader.

Each source parses its own format and maps it to exactly these Polars schemas; the loader merges
frames of these schemas into the warehouse tables of the same name
(warehouse/migrations/001_core.sql is the SQL side of the same contract).
``run_id`` is added by the loader, not by sources.
"""

from __future__ import annotations

import polars as pl

TIMESTAMP = pl.Datetime("us")  # naive UTC, like the warehouse's TIMESTAMP

PARTS_LIST = pl.List(pl.Struct({"part_code": pl.String, "quantity": pl.Int32}))

TICKETS: dict[str, pl.DataType] = {
    "ticket_id": pl.String(),
    "status": pl.String(),
    "item_code": pl.String(),
    "quantity": pl.Int32(),
    "parts": PARTS_LIST,
    "city_code": pl.String(),
    "technician_id": pl.String(),
    "partner_id": pl.String(),
    "scenario": pl.String(),
    "channel": pl.String(),
    "is_urgent": pl.Boolean(),
    "is_night": pl.Boolean(),
    "is_township": pl.Boolean(),
    "is_high_altitude": pl.Boolean(),
    "remote_guidance_minutes": pl.Int32(),
    "member_level": pl.String(),
    "order_platform": pl.String(),
    "order_id": pl.String(),
    "rework_of": pl.String(),
    "created_at": TIMESTAMP,
    "completed_at": TIMESTAMP,
    "completed_date": pl.Date(),
    "updated_at": TIMESTAMP,
}

ORDERS: dict[str, pl.DataType] = {
    "platform": pl.String(),
    "order_id": pl.String(),
    "status": pl.String(),
    "is_presale": pl.Boolean(),
    "presale_stage": pl.String(),
    "total_cents": pl.Int64(),
    "paid_cents": pl.Int64(),
    "deposit_cents": pl.Int64(),
    "province_code": pl.String(),
    "city_code": pl.String(),
    "item_count": pl.Int32(),
    "created_at": TIMESTAMP,
    "paid_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
}

ORDER_REFUNDS: dict[str, pl.DataType] = {
    "platform": pl.String(),
    "refund_id": pl.String(),
    "order_id": pl.String(),
    "status": pl.String(),
    "refund_cents": pl.Int64(),
    "requested_at": TIMESTAMP,
    "refunded_at": TIMESTAMP,
    "updated_at": TIMESTAMP,
}

# A source's rejected records, one row per offending field; the loader adds feed, file, hash, run.
QUARANTINE: dict[str, pl.DataType] = {
    "record_number": pl.Int64(),
    "field": pl.String(),
    "value": pl.String(),
    "reason": pl.String(),
    "raw_record": pl.String(),
}

SCHEMAS: dict[str, dict[str, pl.DataType]] = {
    "tickets": TICKETS,
    "orders": ORDERS,
    "order_refunds": ORDER_REFUNDS,
}

# Natural keys: the loader merges on these, newest updated_at winning.
KEYS: dict[str, tuple[str, ...]] = {
    "tickets": ("ticket_id",),
    "orders": ("platform", "order_id"),
    "order_refunds": ("platform", "refund_id"),
}
# A quarantined field of a record of a file, once per reason (a forced reload adds nothing).
QUARANTINE_KEY = ("file_sha256", "record_number", "field", "reason")

TICKET_STATUSES = ("created", "assigned", "in_progress", "completed", "cancelled")
SCENARIOS = ("pre_sale", "in_sale", "after_sale")
CHANNELS = ("self_service", "staff", "auto_rule")
MEMBER_LEVELS = ("none", "silver", "gold", "platinum")
PLATFORMS = ("taobao", "youzan", "wechat")
ORDER_STATUSES = ("pending_payment", "paid", "shipped", "completed", "closed")
PRESALE_STAGES = ("deposit_pending", "deposit_paid", "final_paid", "deposit_forfeited")
REFUND_STATUSES = ("requested", "succeeded", "rejected")


def empty(table: str) -> pl.DataFrame:
    """An empty frame of a canonical table's schema."""
    return pl.DataFrame(schema=SCHEMAS[table])


def conform(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Select and cast ``frame`` to the canonical schema of ``table`` (columns in contract order).

    Raises if a column is missing: a source that forgets a field is a bug, not bad data.
    """
    schema = SCHEMAS[table]
    missing = [name for name in schema if name not in frame.columns]
    if missing:
        raise ValueError(f"{table}: source frame lacks canonical columns {missing}")
    return frame.select(pl.col(name).cast(dtype, strict=True) for name, dtype in schema.items())
