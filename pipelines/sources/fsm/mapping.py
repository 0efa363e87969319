"""Map the ticket system's records (both formats, as strings) to canonical tickets, with checks."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from pipelines.sources.base import (
    Check,
    ReferenceLike,
    is_plain_id,
    normalize_noisy_records,
)

BEIJING_OFFSET = pl.duration(hours=8)


def _word(column: str, words: Mapping[str, str]) -> pl.Expr:
    return pl.col(column).replace_strict(dict(words), default=None, return_dtype=pl.String)


def _count(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Int64, strict=False)


def parse_records(
    raw: pl.DataFrame,
    *,
    words: Mapping[str, Mapping[str, str]],
    true_word: str,
    false_word: str,
    time_format: str,
    aware: bool,
) -> pl.DataFrame:
    """Add ``<canonical>__parsed`` columns next to the raw (normalised) strings."""
    text_columns = [c for c in raw.columns if raw.schema[c] == pl.String and c != "raw_record"]
    frame = normalize_noisy_records(raw, [*text_columns, "parts"]).with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in text_columns
    )
    parts = pl.col("parts").list.eval(
        pl.struct(
            pl.element().struct.field("part_code").alias("part_code"),
            pl.element().struct.field("quantity").cast(pl.Int32, strict=False).alias("quantity"),
        )
    )

    def timestamp(column: str) -> pl.Expr:
        parsed = pl.col(column).str.to_datetime(time_format, strict=False, time_unit="us")
        if aware:
            return parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return parsed - BEIJING_OFFSET

    def flag(column: str) -> pl.Expr:
        return pl.col(column).replace_strict(
            {true_word: True, false_word: False}, default=None, return_dtype=pl.Boolean
        )

    return frame.with_columns(
        _word("status", words["status"]).alias("status__parsed"),
        _word("scenario", words["scenario"]).alias("scenario__parsed"),
        _word("channel", words["channel"]).alias("channel__parsed"),
        _word("member_level", words["member_level"]).alias("member_level__parsed"),
        _word("order_platform", words["order_platform"]).alias("order_platform__parsed"),
        _count("quantity").alias("quantity__parsed"),
        _count("remote_guidance_minutes").alias("remote_guidance_minutes__parsed"),
        parts.alias("parts__parsed"),
        *(
            flag(c).alias(f"{c}__parsed")
            for c in ("is_urgent", "is_night", "is_township", "is_high_altitude")
        ),
        *(timestamp(c).alias(f"{c}__parsed") for c in ("created_at", "completed_at", "updated_at")),
    )


def ticket_checks(fields: Mapping[str, str], reference: ReferenceLike) -> list[Check]:
    """Every way a ticket record can be unusable, named by the source's own field names."""
    cities = reference.cities["city_code"].implode()
    items = reference.service_items["item_code"].implode()
    parts = reference.parts["part_code"].implode()
    technicians = reference.technicians["technician_id"].implode()
    partners = reference.partners["partner_id"].implode()

    def raw(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.String)

    def parsed(column: str) -> pl.Expr:
        return pl.col(f"{column}__parsed")

    def word_check(column: str, what: str) -> Check:
        return Check(
            fields[column],
            pl.col(column).is_not_null() & parsed(column).is_null(),
            f"unknown {what}",
            raw(column),
        )

    def time_check(column: str, required: pl.Expr) -> Check:
        bad = (pl.col(column).is_not_null() & parsed(column).is_null()) | (
            required & pl.col(column).is_null()
        )
        return Check(fields[column], bad, "missing or not a valid timestamp", raw(column))

    assigned = parsed("status").is_in(["assigned", "in_progress", "completed"])
    unknown_part = pl.col("parts__parsed").list.eval(
        pl.element().struct.field("part_code").is_in(parts).not_()
        | (pl.element().struct.field("quantity").fill_null(0) <= 0)
    )

    def required(column: str, what: str) -> Check:
        # every column the warehouse holds NOT NULL is checked here, so a blank value costs
        # its row, never the file's load
        return Check(fields[column], pl.col(column).is_null(), f"missing {what}", raw(column))

    return [
        Check(
            fields["ticket_id"],
            pl.col("ticket_id").is_null(),
            "missing ticket id",
            raw("ticket_id"),
        ),
        Check(
            fields["ticket_id"],
            pl.col("ticket_id").is_not_null() & ~is_plain_id(pl.col("ticket_id")),
            "ticket id is not a plain digit or code string",
            raw("ticket_id"),
        ),
        *(
            Check(
                fields[column],
                pl.col(column).is_not_null() & ~is_plain_id(pl.col(column)),
                f"{what} is not a plain digit or code string",
                raw(column),
            )
            for column, what in (
                ("order_id", "order id"),
                ("rework_of", "ticket id"),
            )
        ),
        Check(
            fields["status"], parsed("status").is_null(), "unknown or missing status", raw("status")
        ),
        Check(
            fields["item_code"],
            ~pl.col("item_code").is_in(items).fill_null(False),
            "unknown service item code",
            raw("item_code"),
        ),
        Check(
            fields["quantity"],
            parsed("quantity").is_null() | (parsed("quantity") <= 0),
            "quantity is not a positive whole number",
            raw("quantity"),
        ),
        Check(
            fields["parts"],
            unknown_part.list.any().fill_null(False),
            "unknown part code or non-positive part quantity",
            raw_parts(),
        ),
        Check(
            fields["city_code"],
            ~pl.col("city_code").is_in(cities).fill_null(False),
            "unknown city code",
            raw("city_code"),
        ),
        Check(
            fields["technician_id"],
            assigned.fill_null(False) & pl.col("technician_id").is_null(),
            "missing technician on an assigned ticket",
            raw("technician_id"),
        ),
        Check(
            fields["technician_id"],
            pl.col("technician_id").is_not_null() & ~pl.col("technician_id").is_in(technicians),
            "unknown technician",
            raw("technician_id"),
        ),
        Check(
            fields["partner_id"],
            pl.col("partner_id").is_not_null() & ~pl.col("partner_id").is_in(partners),
            "unknown partner",
            raw("partner_id"),
        ),
        word_check("scenario", "scenario"),
        Check(
            fields["scenario"], pl.col("scenario").is_null(), "missing scenario", raw("scenario")
        ),
        word_check("channel", "channel"),
        required("channel", "channel"),
        word_check("member_level", "member level"),
        required("member_level", "member level"),
        word_check("order_platform", "order platform"),
        *(
            Check(fields[c], parsed(c).is_null(), "not a yes/no value", raw(c))
            for c in ("is_urgent", "is_night", "is_township", "is_high_altitude")
        ),
        Check(
            fields["remote_guidance_minutes"],
            parsed("remote_guidance_minutes").is_null() | (parsed("remote_guidance_minutes") < 0),
            "remote guidance minutes is not a whole number ≥ 0",
            raw("remote_guidance_minutes"),
        ),
        time_check("created_at", pl.lit(True)),
        time_check("completed_at", parsed("status") == "completed"),
        time_check("updated_at", pl.lit(True)),
    ]


def raw_parts() -> pl.Expr:
    return (
        pl.col("parts")
        .list.eval(
            pl.concat_str(
                pl.element().struct.field("part_code").fill_null(""),
                pl.element().struct.field("quantity").fill_null(""),
                separator="*",
            )
        )
        .list.join(";")
    )
