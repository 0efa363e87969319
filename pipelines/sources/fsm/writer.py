"""Render the simulated tickets as the ticket system exports them, dirty records included.

Month by month (Beijing calendar): ``fsm_export_YYYYMM.csv`` holds the tickets created that month as
they stood at its end; ``fsm_changes_YYYYMM.jsonl`` holds the tickets created earlier that changed
this month (completed or cancelled), as they then stood.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from pipelines.generate.dirty import DIRTY_SHARE, full_width
from pipelines.generate.world import World
from pipelines.sources.fsm import settings

LOCAL = pl.duration(hours=8)


def _local_month(column: str) -> pl.Expr:
    return (pl.col(column) + LOCAL).dt.strftime("%Y%m")


def ticket_versions(tickets: pl.DataFrame) -> pl.DataFrame:
    """Every version the exports carry, with ``file_month`` and ``kind`` (export or change)."""
    month_end = (pl.col("created_at") + LOCAL).dt.truncate("1mo").dt.offset_by("1mo") - LOCAL
    open_at_month_end = pl.col("updated_at") >= month_end
    started = pl.col("created_at") + pl.duration(hours=2)
    assigned = pl.col("created_at") + pl.duration(minutes=20)
    at_month_end = (
        tickets.filter(open_at_month_end)
        .with_columns(
            status=pl.when(started < month_end)
            .then(pl.lit("in_progress"))
            .when(assigned < month_end)
            .then(pl.lit("assigned"))
            .otherwise(pl.lit("created")),
            updated_at=pl.when(started < month_end)
            .then(started)
            .when(assigned < month_end)
            .then(assigned)
            .otherwise(pl.col("created_at")),
            completed_at=pl.lit(None, pl.Datetime("us")),
        )
        .with_columns(
            technician_id=pl.when(pl.col("status") != "created").then(pl.col("technician_id")),
            partner_id=pl.when(pl.col("status") != "created").then(pl.col("partner_id")),
        )
    )
    exports = pl.concat([tickets.filter(~open_at_month_end), at_month_end]).with_columns(
        file_month=_local_month("created_at"), kind=pl.lit("export")
    )
    changes = tickets.filter(open_at_month_end).with_columns(
        file_month=_local_month("updated_at"), kind=pl.lit("change")
    )
    return pl.concat([exports, changes]).drop("completed_date")


def _csv_text(versions: pl.DataFrame) -> pl.DataFrame:
    words = {field: {v: k for k, v in vocab.items()} for field, vocab in settings.CSV_WORDS.items()}

    def when(column: str) -> pl.Expr:
        return (pl.col(column) + LOCAL).dt.strftime(settings.CSV_TIME_FORMAT).fill_null("")

    def yes_no(column: str) -> pl.Expr:
        return (
            pl.when(pl.col(column))
            .then(pl.lit(settings.CSV_TRUE))
            .otherwise(pl.lit(settings.CSV_FALSE))
        )

    parts = (
        pl.col("parts")
        .list.eval(
            pl.concat_str(
                pl.element().struct.field("part_code"),
                pl.element().struct.field("quantity").cast(pl.String),
                separator="*",
            )
        )
        .list.join(";")
    )
    return versions.select(
        pl.col("ticket_id"),
        *(pl.col(c).replace_strict(words[c]).alias(c) for c in ("status", "scenario", "channel")),
        pl.col("item_code"),
        pl.col("quantity").cast(pl.String),
        parts.alias("parts"),
        pl.col("city_code"),
        pl.col("technician_id").fill_null(""),
        pl.col("partner_id").fill_null(""),
        *(yes_no(c).alias(c) for c in ("is_urgent", "is_night", "is_township", "is_high_altitude")),
        pl.col("remote_guidance_minutes").cast(pl.String),
        pl.col("member_level").replace_strict(words["member_level"]),
        pl.col("order_platform").replace_strict(words["order_platform"], default="").fill_null(""),
        pl.col("order_id").fill_null(""),
        pl.col("rework_of").fill_null(""),
        *(when(c).alias(c) for c in ("created_at", "completed_at", "updated_at")),
    )


def _jsonl_text(versions: pl.DataFrame) -> pl.DataFrame:
    words = {
        field: {v: k for k, v in vocab.items()} for field, vocab in settings.JSONL_WORDS.items()
    }

    def when(column: str) -> pl.Expr:
        return (pl.col(column) + LOCAL).dt.strftime("%Y-%m-%dT%H:%M:%S+08:00")

    return versions.select(
        pl.col("ticket_id"),
        *(pl.col(c).replace_strict(words[c]).alias(c) for c in ("status", "scenario", "channel")),
        pl.col("item_code"),
        pl.col("quantity").cast(pl.String),
        pl.col("parts").list.eval(
            pl.struct(
                pl.element().struct.field("part_code").alias("part_code"),
                pl.element().struct.field("quantity").cast(pl.String).alias("quantity"),
            )
        ),
        pl.col("city_code"),
        pl.col("technician_id"),
        pl.col("partner_id"),
        *(pl.col(c) for c in ("is_urgent", "is_night", "is_township", "is_high_altitude")),
        pl.col("remote_guidance_minutes").cast(pl.String),
        pl.col("member_level").replace_strict(words["member_level"]),
        pl.col("order_platform").replace_strict(words["order_platform"], default=None),
        pl.col("order_id"),
        pl.col("rework_of"),
        *(when(c).alias(c) for c in ("created_at", "completed_at", "updated_at")),
    )


def spoil(text: pl.DataFrame, rng: np.random.Generator, bad_time: str) -> pl.DataFrame:
    """Deterministically spoil a small share of completed records, one dirty kind each.

    Kinds: unknown city, unknown item, missing technician, bad quantity (negative or a word), bad
    timestamp, conflicting duplicate (a second copy, same update time, other quantity), and
    noise that must still load (full-width digits in the id, stray whitespace around codes).
    """
    n = text.height
    kinds = ["city", "item", "technician", "quantity", "timestamp", "duplicate", "noise"]
    eligible = np.flatnonzero((text["completed_at"].fill_null("") != "").to_numpy())
    count = min(eligible.size, max(len(kinds), int(n * DIRTY_SHARE)))
    rows = np.sort(rng.choice(eligible, size=count, replace=False)) if count else np.array([], int)
    kind = np.full(n, "", dtype=object)
    kind[rows] = [kinds[i % len(kinds)] for i in range(count)]
    k = pl.Series("kind", kind.astype(str))
    spoiled = text.with_columns(
        city_code=pl.when(k == "city").then(pl.lit("999999")).otherwise(pl.col("city_code")),
        item_code=pl.when(k == "item").then(pl.lit("XX-UNKNOWN-99")).otherwise(pl.col("item_code")),
        technician_id=pl.when(k == "technician")
        .then(pl.lit(""))
        .otherwise(pl.col("technician_id")),
        quantity=pl.when(k == "quantity")
        .then(pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("-1")).otherwise(pl.lit("两")))
        .otherwise(pl.col("quantity")),
        completed_at=pl.when(k == "timestamp")
        .then(pl.lit(bad_time))
        .otherwise(pl.col("completed_at")),
    ).with_columns(
        ticket_id=pl.when(k == "noise")
        .then(pl.concat_str(pl.lit(" "), full_width(pl.col("ticket_id")), pl.lit("\u3000")))
        .otherwise(pl.col("ticket_id")),
        city_code=pl.when(k == "noise")
        .then(pl.concat_str(pl.lit("  "), full_width(pl.col("city_code"))))
        .otherwise(pl.col("city_code")),
    )
    twins = spoiled.filter(k == "duplicate").with_columns(
        quantity=(pl.col("quantity").cast(pl.Int64) + 1).cast(pl.String)
    )
    return pl.concat([spoiled, twins])


def write(world: World, out_dir: Path, seed: int) -> list[Path]:
    folder = out_dir / "tickets"
    folder.mkdir(parents=True, exist_ok=True)
    versions = ticket_versions(world.tickets).sort("ticket_id", "updated_at")
    rng = np.random.default_rng([seed, 101])
    written = []
    for (kind, month), group in versions.group_by("kind", "file_month", maintain_order=True):
        if kind == "export":
            text = spoil(_csv_text(group), rng, "2026-02-30 25:61:00")
            text = text.rename({c: settings.CSV_FIELDS[c] for c in text.columns})
            path = folder / f"fsm_export_{month}.csv"
            with path.open("wb") as handle:
                handle.write("\ufeff".encode())  # the ticket system exports for Excel
                text.write_csv(handle)
        else:
            text = spoil(_jsonl_text(group), rng, "2026-02-30T25:61:00+08:00")
            text = text.with_columns(
                pl.col("parts").list.eval(pl.element().struct.rename_fields(["code", "qty"]))
            ).rename({c: settings.JSONL_FIELDS[c] for c in text.columns})
            path = folder / f"fsm_changes_{month}.jsonl"
            text.write_ndjson(path)
        written.append(path)
    return sorted(written)
