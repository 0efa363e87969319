"""The ticket system ("fsm", field service management): monthly CSV exports and change logs."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from pipelines import canonical
from pipelines.sources.base import (
    Check,
    FeedBatch,
    ReferenceLike,
    conflicting_duplicates,
    sha256_of,
    split_valid,
)
from pipelines.sources.fsm import settings
from pipelines.sources.fsm.mapping import parse_records, ticket_checks
from pipelines.sources.json_lines import BAD_UTF8, first_record_keys, read_json_lines

RAW_PART = pl.Struct({"part_code": pl.String, "quantity": pl.String})
# A change-log record as decoded: every field text, spare parts a list of {code, qty}.
CHANGE_RECORD = pl.Struct(
    {
        key: (
            pl.List(pl.Struct({"code": pl.String, "qty": pl.String}))
            if name == "parts"
            else pl.String
        )
        for name, key in settings.JSONL_FIELDS.items()
    }
)


def to_tickets(
    raw: pl.DataFrame,
    fields: Mapping[str, str],
    reference: ReferenceLike,
    *,
    words: Mapping[str, Mapping[str, str]],
    true_word: str,
    false_word: str,
    time_format: str,
    aware: bool,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Raw string records (canonical column names) → (canonical tickets, quarantine rows)."""
    parsed = parse_records(
        raw,
        words=words,
        true_word=true_word,
        false_word=false_word,
        time_format=time_format,
        aware=aware,
    )
    content = [c for c in fields if c not in ("ticket_id", "updated_at")]
    duplicate = Check(
        fields["ticket_id"],
        conflicting_duplicates(parsed, ["ticket_id"], "updated_at", content),
        "same ticket id and update time twice with conflicting content",
        pl.col("ticket_id"),
    )
    good, quarantine = split_valid(parsed, [*ticket_checks(fields, reference), duplicate])
    tickets = good.select(
        pl.col("ticket_id"),
        pl.col("status__parsed").alias("status"),
        pl.col("item_code"),
        pl.col("quantity__parsed").alias("quantity"),
        pl.col("parts__parsed").alias("parts"),
        pl.col("city_code"),
        pl.col("technician_id"),
        pl.col("partner_id"),
        pl.col("scenario__parsed").alias("scenario"),
        pl.col("channel__parsed").alias("channel"),
        *(pl.col(f"{c}__parsed").alias(c) for c in ("is_urgent", "is_night", "is_township")),
        pl.col("is_high_altitude__parsed").alias("is_high_altitude"),
        pl.col("remote_guidance_minutes__parsed").alias("remote_guidance_minutes"),
        pl.col("member_level__parsed").alias("member_level"),
        pl.col("order_platform__parsed").alias("order_platform"),
        pl.col("order_id"),
        pl.col("rework_of"),
        *(pl.col(f"{c}__parsed").alias(c) for c in ("created_at", "completed_at", "updated_at")),
    ).with_columns(completed_date=(pl.col("completed_at") + pl.duration(hours=8)).dt.date())
    return canonical.conform(tickets, "tickets"), quarantine


def _read_csv(path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every readable row as text with ``record_number``, quarantine rows for the others).

    Polars reads a clean export in bulk; if it cannot (a row with more fields than the header,
    an unclosed quote, bytes that are not UTF-8), the file is read row by row so that only the
    broken rows are lost to quarantine.
    """
    try:
        frame = pl.read_csv(path, infer_schema=False, encoding="utf8", quote_char='"')
        return frame.with_row_index("record_number", offset=1).with_columns(
            pl.col("record_number").cast(pl.Int64)
        ), pl.DataFrame(schema=canonical.QUARANTINE)
    except pl.exceptions.PolarsError:
        pass
    # One physical line per row (the export has no multi-line fields): an unclosed quote then
    # costs its own line, not every line after it.
    lines = path.read_bytes().decode("utf-8-sig", errors="replace").split("\n")
    header = next(csv.reader([lines[0].rstrip("\r")]), [])
    good: list[list[str]] = []
    numbers: list[int] = []
    broken = []
    number = 0  # data rows, numbered as the bulk reader numbers them (blank lines skipped)
    for text in lines[1:]:
        line = text.rstrip("\r")
        if not line.strip():
            continue
        number += 1
        row = next(csv.reader([line]))
        if len(row) != len(header):
            why = f"row has {len(row)} fields, the header {len(header)}"
            broken.append((number, "<record>", line[:200], why, line))
        elif BAD_UTF8 in line:
            broken.append((number, "<record>", line[:200], "not valid UTF-8", line))
        else:
            good.append(row)
            numbers.append(number)
    frame = pl.DataFrame(good, schema=dict.fromkeys(header, pl.String), orient="row").with_columns(
        pl.when(pl.all() != "").then(pl.all()).name.keep()  # blank is missing, as read_csv has it
    )
    frame = frame.with_columns(pl.Series("record_number", numbers, pl.Int64))
    return frame, pl.DataFrame(broken, schema=canonical.QUARANTINE, orient="row")


class FsmCsv:
    """``fsm_export_YYYYMM.csv``: the monthly export, Chinese headers, UTF-8 with BOM."""

    name = "fsm_csv"

    def detect(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", errors="ignore").lstrip("\ufeff")
        return path.suffix == ".csv" and text.startswith(settings.CSV_FIELDS["ticket_id"] + ",")

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch:
        headers = {source: canonical_name for canonical_name, source in settings.CSV_FIELDS.items()}
        frame, broken = _read_csv(path)
        missing = sorted(set(headers) - set(frame.columns))
        if missing:
            raise ValueError(f"{path}: ticket export lacks columns {missing}")
        raw = frame.select(
            pl.col("record_number"),
            pl.concat_str(pl.all().exclude("record_number").fill_null(""), separator=",").alias(
                "raw_record"
            ),
            *(pl.col(source).alias(name) for source, name in headers.items()),
        ).with_columns(
            pl.col("parts")
            .fill_null("")
            .str.split(";")
            .list.eval(
                pl.element()
                .filter(pl.element().str.strip_chars() != "")
                .str.split_exact("*", 1)
                .struct.rename_fields(["part_code", "quantity"])
            )
            .cast(pl.List(RAW_PART))
        )
        tickets, quarantine = to_tickets(
            raw,
            settings.CSV_FIELDS,
            reference,
            words=settings.CSV_WORDS,
            true_word=settings.CSV_TRUE,
            false_word=settings.CSV_FALSE,
            time_format=settings.CSV_TIME_FORMAT,
            aware=False,
        )
        return FeedBatch(
            self.name,
            path,
            sha256_of(path),
            raw.height + broken.height,
            {"tickets": tickets},
            pl.concat([broken, quarantine]).sort("record_number"),
        )


class FsmJsonl:
    """``fsm_changes_YYYYMM.jsonl``: every ticket that changed in the month, as it then stood."""

    name = "fsm_jsonl"

    def detect(self, path: Path, head: bytes) -> bool:
        return {"ticketNo", "state"} <= first_record_keys(path, head)

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch:
        keys = settings.JSONL_FIELDS
        lines, decoded, broken = read_json_lines(path, CHANGE_RECORD)
        raw = decoded.select(
            "record_number",
            "raw_record",
            *(pl.col("record").struct.field(key).alias(name) for name, key in keys.items()),
        ).with_columns(
            pl.col("parts")
            .fill_null([])
            .list.eval(pl.element().struct.rename_fields(["part_code", "quantity"]))
            .cast(pl.List(RAW_PART))
        )
        tickets, quarantine = to_tickets(
            raw,
            keys,
            reference,
            words=settings.JSONL_WORDS,
            true_word="true",
            false_word="false",
            time_format=settings.JSONL_TIME_FORMAT,
            aware=True,
        )
        return FeedBatch(
            self.name,
            path,
            sha256_of(path),
            lines.height,
            {"tickets": tickets},
            pl.concat([broken, quarantine]),
        )


SOURCES = (FsmCsv(), FsmJsonl())
