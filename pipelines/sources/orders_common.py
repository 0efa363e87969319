"""What the three order feeds share: versions over time, names, money text, checks, dirt.

Writers render each order in the file of every month it changed in, as it stood at that month's
end; refunds likewise. Readers parse yuan strings and integer fen exactly, map names to codes and
quarantine what does not parse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from pipelines import canonical
from pipelines.generate.dirty import DIRTY_SHARE, full_width
from pipelines.generate.world import ORDER_EVENTS, order_state_at
from pipelines.reference import attach_city_codes, load_reference
from pipelines.sources.base import (
    Check,
    FeedBatch,
    conflicting_duplicates,
    is_plain_id,
    normalized,
    sha256_of,
    split_valid,
)
from pipelines.sources.json_lines import read_json_lines

BEIJING = pl.duration(hours=8)
AMOUNT_PATTERN = r"^\d+(\.\d{1,2})?$"


def month_end(at_month: pl.Expr) -> pl.Expr:
    """Last microsecond (UTC) of the Beijing month named ``YYYYMM``."""
    start = at_month.str.to_date("%Y%m").cast(pl.Datetime("us"))
    return start.dt.offset_by("1mo") - BEIJING - pl.duration(microseconds=1)


def order_versions(orders: pl.DataFrame) -> pl.DataFrame:
    """One row per (order, month it changed in): the order at that month's end, with file_month."""
    months = (
        orders.select(
            "platform", "order_id", pl.concat_list(["created_at", *ORDER_EVENTS]).alias("at")
        )
        .explode("at")
        .drop_nulls("at")
        .select("platform", "order_id", file_month=(pl.col("at") + BEIJING).dt.strftime("%Y%m"))
        .unique()
    )
    versions = months.join(orders, on=["platform", "order_id"])
    return order_state_at(versions, month_end(pl.col("file_month"))).with_columns(
        paid_at=pl.col("paid_at")
    )


def order_versions_with_refunds(orders: pl.DataFrame, refunds: pl.DataFrame) -> pl.DataFrame:
    """``order_versions``, plus the order as it stood at the end of each month in which only
    one of its refunds changed: a platform that keeps refunds on the trade re-sends it then."""
    versions = order_versions(orders)
    refund_months = refunds.select(
        "order_id",
        file_month=(pl.concat_list("requested_at", "updated_at")).list.eval(
            (pl.element() + BEIJING).dt.strftime("%Y%m")
        ),
    ).explode("file_month")
    extra = refund_months.unique().join(
        versions.select("order_id", "file_month"), on=["order_id", "file_month"], how="anti"
    )
    again = order_state_at(extra.join(orders, on="order_id"), month_end(pl.col("file_month")))
    return pl.concat([versions, again.select(versions.columns)])


def refund_versions(refunds: pl.DataFrame) -> pl.DataFrame:
    """A refund as requested (month of the request) and as resolved (month of resolution)."""
    requested = refunds.with_columns(
        status=pl.lit("requested"),
        refunded_at=pl.lit(None, canonical.TIMESTAMP),
        updated_at=pl.col("requested_at"),
    )
    both = pl.concat([requested, refunds]).unique(maintain_order=True)
    return both.with_columns(file_month=(pl.col("updated_at") + BEIJING).dt.strftime("%Y%m"))


def place_names(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """``province_name``/``city_name`` as buyers' addresses carry them: with or without 省/市."""
    ref = load_reference()
    named = frame.join(
        ref.cities.select(
            "city_code",
            city_full="city_name",
            city_short="short_name",
            province_code_="province_code",
        ),
        on="city_code",
        how="left",
    ).join(
        ref.provinces.select(
            province_code_="province_code",
            province_full="province_name",
            province_short="short_name",
        ),
        on="province_code_",
        how="left",
    )
    short_province = pl.Series(rng.random(frame.height) < 0.35)
    short_city = pl.Series(rng.random(frame.height) < 0.35)
    return named.with_columns(
        province_name=pl.when(short_province)
        .then(pl.col("province_short"))
        .otherwise(pl.col("province_full")),
        city_name=pl.when(short_city).then(pl.col("city_short")).otherwise(pl.col("city_full")),
    ).drop("city_full", "city_short", "province_code_", "province_full", "province_short")


def word_variety(canonical: pl.Expr, words: Mapping[str, tuple[str, ...]], key: pl.Expr) -> pl.Expr:
    """The platform's word for a canonical value, varied over every word that means it (chosen
    by ``key``'s last digit, so the same data always writes the same words)."""
    digit = key.str.slice(-1).cast(pl.Int64, strict=False).fill_null(0)
    expr = pl.lit(None, pl.String)
    for value, options in words.items():
        pick = pl.lit(pl.Series(list(options), dtype=pl.String)).get(digit % len(options))
        expr = pl.when(canonical == value).then(pick).otherwise(expr)
    return expr


def yuan_text(cents: pl.Expr) -> pl.Expr:
    """Integer cents as the yuan string platforms send: 259900 -> "2599.00"."""
    return pl.format(
        "{}.{}",
        (cents // 100).cast(pl.String),
        (cents % 100).cast(pl.String).str.zfill(2),
    )


def parse_yuan(text: pl.Expr) -> pl.Expr:
    """A yuan string to exact integer cents (no float on the way); null when not a plain amount."""
    clean = normalized(text)
    whole = clean.str.extract(r"^(\d+)", 1).cast(pl.Int64, strict=False)
    fraction = clean.str.extract(r"\.(\d{1,2})$", 1).fill_null("0").str.pad_end(2, "0")
    cents = whole * 100 + fraction.cast(pl.Int64, strict=False)
    return pl.when(clean.str.contains(AMOUNT_PATTERN)).then(cents)


def parse_fen(text: pl.Expr) -> pl.Expr:
    clean = normalized(text)
    return pl.when(clean.str.contains(r"^\d+$")).then(clean.cast(pl.Int64, strict=False))


def beijing_text(at: pl.Expr) -> pl.Expr:
    return (at + BEIJING).dt.strftime("%Y-%m-%d %H:%M:%S")


def parse_beijing(text: pl.Expr) -> pl.Expr:
    parsed = normalized(text).str.to_datetime("%Y-%m-%d %H:%M:%S", strict=False, time_unit="us")
    return parsed - BEIJING


def unix_seconds(at: pl.Expr) -> pl.Expr:
    return at.dt.epoch("s")


def parse_unix(text: pl.Expr) -> pl.Expr:
    seconds = parse_fen(text)  # a non-negative integer, like fen
    valid = seconds.is_between(946_684_800, 4_102_444_800)  # 2000 .. 2100
    return pl.when(valid).then(pl.from_epoch(seconds, time_unit="s").cast(canonical.TIMESTAMP))


def attach_places(frame: pl.DataFrame) -> pl.DataFrame:
    """Resolve ``province_name``/``city_name`` to codes (null when unknown); a blank name is
    null, and ``has_address`` tells orders that carry a place (virtual and self-pickup orders
    carry none, and load with a null place)."""
    blank_is_null = [
        pl.when(normalized(pl.col(c)) != "").then(pl.col(c)).alias(c)
        for c in ("province_name", "city_name")
    ]
    named = frame.with_columns(blank_is_null).with_columns(
        has_address=pl.col("province_name").is_not_null() | pl.col("city_name").is_not_null()
    )
    return attach_city_codes(named, "province_name", "city_name")


def id_checks(field: str, column: str, what: str) -> list[Check]:
    """An id must be there and be a plain digit or code string."""
    return [
        Check(field, pl.col(column).is_null(), f"missing {what}", pl.col(column)),
        Check(
            field,
            pl.col(column).is_not_null() & ~is_plain_id(pl.col(column)),
            f"{what} is not a plain digit or code string",
            pl.col(column),
        ),
    ]


def vocabulary_checks(field: str, column: str, what: str, *, required: bool = True) -> list[Check]:
    """A word must be one the platform documents: ``unknown <what> value`` marks a value the
    platform may have added (counted on Data health), apart from a missing one."""
    checks = [
        Check(
            field,
            pl.col(column).is_not_null() & pl.col(f"{column}__parsed").is_null(),
            f"unknown {what} value",
            pl.col(column),
        )
    ]
    if required:
        checks.append(Check(field, pl.col(column).is_null(), f"missing {what}", pl.col(column)))
    return checks


def vocabulary(column: str, words: Mapping[str, str]) -> pl.Expr:
    return (
        normalized(pl.col(column))
        .replace_strict(dict(words), default=None, return_dtype=pl.String)
        .alias(f"{column}__parsed")
    )


def order_checks(fields: Mapping[str, str], time_fields: list[str]) -> list[Check]:
    """Checks every order feed needs; ``fields`` maps canonical roles to the source's names.

    The frame carries ``order_id``, ``status``, ``status__parsed``, ``total_cents``,
    ``paid_cents``, ``city_code``, ``province_name``/``city_name`` and each time as
    ``<role>`` (text) plus ``<role>__parsed``.
    """
    checks = [
        *id_checks(fields["order_id"], "order_id", "order id"),
        *vocabulary_checks(fields["status"], "status", "status"),
        Check(
            fields["total"],
            pl.col("total_cents").is_null(),
            "amount is not a non-negative number",
            pl.col("total"),
        ),
        Check(
            fields["city"],
            pl.col("has_address") & pl.col("city_code").is_null(),
            "unknown province or city",
            pl.concat_str(
                pl.col("province_name").fill_null(""),
                pl.col("city_name").fill_null(""),
                separator="/",
            ),
        ),
    ]
    for role in time_fields:
        required = role in ("created_at", "updated_at")
        bad = pl.col(role).is_not_null() & pl.col(f"{role}__parsed").is_null()
        if required:
            bad = bad | pl.col(role).is_null()
        checks.append(Check(fields[role], bad, "missing or not a valid timestamp", pl.col(role)))
    return checks


def unparsed(column: str) -> pl.Expr:
    """A value was given but ``<column>__parsed`` could not make sense of it."""
    return pl.col(column).is_not_null() & pl.col(f"{column}__parsed").is_null()


def duplicate_check(parsed: pl.DataFrame, field: str, updated_at: str, content: list[str]) -> Check:
    return Check(
        field,
        conflicting_duplicates(parsed, ["order_id"], updated_at, content),
        "same id and update time twice with conflicting content",
        pl.col("order_id"),
    )


def refund_frame(
    parsed: pl.DataFrame, platform: str, fields: Mapping[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Checks and canonical refunds from parsed columns ``refund_id``, ``order_id``, ``status``
    (+ ``status__parsed``), ``amount`` (+ ``refund_cents``), ``created``/``modified`` (+ parsed
    ``requested_at``/``updated_at``); ``fields`` names each in the source's words."""
    checks = [
        *id_checks(fields["refund_id"], "refund_id", "refund id"),
        *id_checks(fields["order_id"], "order_id", "order id"),
        *vocabulary_checks(fields["status"], "status", "refund status"),
        Check(
            fields["amount"],
            pl.col("refund_cents").is_null(),
            "amount is not a non-negative number",
            pl.col("amount"),
        ),
        Check(
            fields["created"],
            pl.col("requested_at").is_null(),
            "missing or not a valid timestamp",
            pl.col("created"),
        ),
        Check(
            fields["modified"],
            pl.col("updated_at").is_null(),
            "missing or not a valid timestamp",
            pl.col("modified"),
        ),
        Check(
            fields["refund_id"],
            conflicting_duplicates(
                parsed, ["refund_id"], "updated_at", ["order_id", "status", "amount"]
            ),
            "same id and update time twice with conflicting content",
            pl.col("refund_id"),
        ),
    ]
    good, quarantine = split_valid(parsed, checks)
    refunds = good.select(
        platform=pl.lit(platform),
        refund_id=pl.col("refund_id"),
        order_id=pl.col("order_id"),
        status=pl.col("status__parsed"),
        refund_cents=pl.col("refund_cents"),
        requested_at=pl.col("requested_at"),
        refunded_at=pl.when(pl.col("status__parsed") == "succeeded").then(pl.col("updated_at")),
        updated_at=pl.col("updated_at"),
    )
    return canonical.conform(refunds, "order_refunds"), quarantine


def list_rows(parsed: pl.DataFrame, column: str) -> pl.DataFrame:
    """One row per element of the list ``column`` of each record, with ``__index`` (0-based) and
    the record's ``record_number``, ``raw_record``, ``order_id`` and ``updated_at__parsed``."""
    return (
        parsed.select(
            "record_number",
            "raw_record",
            "order_id",
            "updated_at__parsed",
            pl.col(column).fill_null([]),
            pl.int_ranges(pl.col(column).fill_null([]).list.len()).alias("__index"),
        )
        .explode(column, "__index")
        .drop_nulls("__index")
        .unnest(column)
    )


def element(path: str) -> pl.Expr:
    """``path[i].`` for rows of ``list_rows``: the element a nested check names."""
    return pl.format(f"{path}[{{}}].", pl.col("__index"))


def positive_count(text: pl.Expr) -> pl.Expr:
    """A sub-order quantity: a whole number above 0, else null (never 0 by omission)."""
    count = normalized(text).cast(pl.Int32, strict=False)
    return pl.when(count > 0).then(count)


def reject(frame: pl.DataFrame, quarantine: pl.DataFrame) -> pl.DataFrame:
    """``frame`` without the records ``quarantine`` names."""
    return frame.filter(~pl.col("record_number").is_in(quarantine["record_number"].implode()))


def _value(key: str) -> str:
    """Regex for ``"key":<scalar>`` (first occurrence in the line)."""
    return f'"{key}":("[^"]*"|-?[0-9.]+|null)'


def spoil_json_lines(
    lines: pl.Series,
    rng: np.random.Generator,
    *,
    id_key: str,
    amount_key: str,
    amount_is_text: bool,
    time_key: str,
    bad_time: str,
    city_key: str | None,
) -> pl.Series:
    """Spoil a small deterministic share of a file's JSON lines, one dirty kind each.

    Kinds: unknown city, negative amount, non-numeric amount, bad timestamp, conflicting
    duplicate (a second copy, same update time, another amount), and noise that must still load
    (full-width digits and stray whitespace in the id). Edits are textual, as real dirt is.
    """
    kinds = ["negative", "word", "timestamp", "duplicate", "noise"]
    if city_key is not None:
        kinds.insert(0, "city")
    n = lines.len()
    count = min(n, max(len(kinds), int(n * DIRTY_SHARE))) if n >= 40 else 0
    rows = np.sort(rng.choice(n, size=count, replace=False)) if count else np.array([], int)
    kind = np.full(n, "", dtype=object)
    kind[rows] = [kinds[i % len(kinds)] for i in range(count)]
    frame = pl.DataFrame({"line": lines, "kind": kind.astype(str)})
    quote = '"' if amount_is_text else ""
    line, k = pl.col("line"), pl.col("kind")
    original_id = line.str.extract(f'"{id_key}":"([^"]*)"', 1)
    noisy_id = pl.concat_str(pl.lit(f'"{id_key}":" '), full_width(original_id), pl.lit('\u3000"'))
    spoiled = frame.with_columns(
        pl.when(k == "city")
        .then(line.str.replace(_value(str(city_key)), f'"{city_key}":"不存在市"'))
        .when(k == "negative")
        .then(line.str.replace(f'"{amount_key}":{quote}', f'"{amount_key}":{quote}-', literal=True))
        .when(k == "word")
        .then(line.str.replace(_value(amount_key), f'"{amount_key}":"待定"'))
        .when(k == "timestamp")
        .then(line.str.replace(_value(time_key), f'"{time_key}":{bad_time}'))
        .when(k == "noise")
        .then(line.str.replace(f'"{id_key}":"[^"]*"', noisy_id))
        .otherwise(line)
        .alias("line")
    )
    twins = spoiled.filter(k == "duplicate").with_columns(
        line.str.replace(f'"{amount_key}":{quote}', f'"{amount_key}":{quote}1', literal=True)
    )
    return pl.concat([spoiled, twins])["line"]


def write_monthly(
    frame: pl.DataFrame,
    folder: Path,
    stem: str,
    rng: np.random.Generator,
    reshape_lines: Callable[[pl.Series], pl.Series] | None = None,
    **spoil: object,
) -> list[Path]:
    """One ``<stem>_YYYYMM.jsonl`` per ``file_month``, each with its share of dirty lines;
    ``reshape_lines`` renders shapes a frame cannot hold (a key that is a list on some lines)."""
    written = []
    for (month,), group in frame.sort("file_month").group_by("file_month", maintain_order=True):
        body = pl.Series(group.drop("file_month").write_ndjson().splitlines(), dtype=pl.String)
        if reshape_lines is not None:
            body = reshape_lines(body)
        lines = spoil_json_lines(body, rng, **spoil)  # type: ignore[arg-type]
        path = folder / f"{stem}_{month}.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(path)
    return written


def field_at(record: pl.Expr, path: str) -> pl.Expr:
    """The value at a dotted path of a decoded JSON record (``refund_info.amount``)."""
    for name in path.split("."):
        record = record.struct.field(name)
    return record


@dataclass(frozen=True)
class RefundFeed:
    """How one platform's refund file reads: where each field sits, and how to parse it."""

    platform: str
    dtype: pl.Struct
    fields: Mapping[str, str]  # role (refund_id order_id status amount created modified) -> path
    statuses: Mapping[str, str]
    parse_amount: Callable[[pl.Expr], pl.Expr]
    parse_time: Callable[[pl.Expr], pl.Expr]


def read_refund_file(name: str, path: Path, feed: RefundFeed) -> FeedBatch:
    lines, decoded, broken = read_json_lines(path, feed.dtype)
    record = pl.col("record")
    parsed = decoded.select(
        "record_number",
        "raw_record",
        refund_id=normalized(field_at(record, feed.fields["refund_id"])),
        order_id=normalized(field_at(record, feed.fields["order_id"])),
        status=field_at(record, feed.fields["status"]),
        amount=field_at(record, feed.fields["amount"]),
        created=field_at(record, feed.fields["created"]),
        modified=field_at(record, feed.fields["modified"]),
    ).with_columns(
        vocabulary("status", feed.statuses),
        refund_cents=feed.parse_amount(pl.col("amount")),
        requested_at=feed.parse_time(pl.col("created")),
        updated_at=feed.parse_time(pl.col("modified")),
    )
    refunds, quarantine = refund_frame(parsed, feed.platform, feed.fields)
    return FeedBatch(
        name,
        path,
        sha256_of(path),
        lines.height,
        {"order_refunds": refunds},
        pl.concat([broken, quarantine]),
    )


def canonical_orders(
    good: pl.DataFrame,
    platform: str,
    *,
    is_presale: pl.Expr,
    presale_stage: pl.Expr,
    paid_cents: pl.Expr,
    deposit_cents: pl.Expr,
) -> pl.DataFrame:
    """Canonical orders from a platform's checked records: the columns every platform maps the
    same way, and the pre-sale and payment logic each platform brings."""
    orders = good.select(
        platform=pl.lit(platform),
        order_id=pl.col("order_id"),
        status=pl.col("status__parsed"),
        is_presale=is_presale,
        presale_stage=presale_stage,
        total_cents=pl.col("total_cents"),
        paid_cents=paid_cents,
        deposit_cents=deposit_cents,
        province_code=pl.col("province_code"),
        city_code=pl.col("city_code"),
        item_count=pl.col("item_count"),
        created_at=pl.col("created_at__parsed"),
        paid_at=pl.col("paid_at__parsed"),
        updated_at=pl.col("updated_at__parsed"),
    )
    return canonical.conform(orders, "orders")
