"""What every source hands the loader, and the vectorised record checks that feed quarantine."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from pipelines import canonical


@dataclass(frozen=True)
class FeedBatch:
    """One source file parsed and mapped: canonical rows that passed, and the records that did not.

    ``tables`` maps canonical table names to frames of exactly that schema (``canonical.conform``).
    ``records_read`` counts data records in the file (not header lines); each is either one row of
    ``record_table`` (the first table: tickets, orders or order_refunds) or has quarantine rows,
    never both. Other tables hold what records carry besides (e.g. refunds inside a trade).
    """

    feed: str
    file: Path
    file_sha256: str
    records_read: int
    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema=canonical.QUARANTINE)
    )

    @property
    def record_table(self) -> str:
        return next(iter(self.tables))


class Source(Protocol):
    """A feed format: ``detect`` sees a file's name and first bytes only; ``read`` parses it all."""

    name: str

    def detect(self, path: Path, head: bytes) -> bool: ...

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch: ...


class ReferenceLike(Protocol):
    """The reference data sources validate against (pipelines.reference.Reference)."""

    @property
    def cities(self) -> pl.DataFrame: ...
    @property
    def provinces(self) -> pl.DataFrame: ...
    @property
    def service_items(self) -> pl.DataFrame: ...
    @property
    def parts(self) -> pl.DataFrame: ...
    @property
    def technicians(self) -> pl.DataFrame: ...
    @property
    def partners(self) -> pl.DataFrame: ...


@dataclass(frozen=True)
class Check:
    """A record is bad where ``bad`` is true; ``field`` is the source's own name for the culprit.

    ``bad`` sees the whole file (it may compare records, e.g. duplicates); ``value``, the text
    quarantined with it, is evaluated on the failing records alone, so it must be row-wise.
    """

    field: str
    bad: pl.Expr
    reason: str
    value: pl.Expr


def split_valid(
    frame: pl.DataFrame, checks: Sequence[Check], *, locate: pl.Expr | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split ``frame`` into records passing every check and quarantine rows (one per failed check).

    ``frame`` must carry ``record_number`` (1-based) and ``raw_record`` (the record as read).
    A null ``bad`` counts as bad: a check that cannot decide must not let a record through.
    ``locate`` (text per row, e.g. ``refund_order[1].``) prefixes each field: rows of a list
    inside a record name the element they came from.
    """
    if not checks:
        return frame, pl.DataFrame(schema=canonical.QUARANTINE)
    prefix = pl.lit("") if locate is None else locate.cast(pl.String)
    flags = frame.with_columns(
        prefix.alias("__where"),
        *[check.bad.fill_null(True).alias(f"__bad{i}") for i, check in enumerate(checks)],
    )
    any_bad = pl.any_horizontal(pl.col(f"__bad{i}") for i in range(len(checks)))
    is_bad = flags.select(any_bad).to_series()
    # Real files are mostly clean: the failing records are few, and only they are spelled out.
    failing = flags.filter(is_bad)
    quarantine = pl.concat(
        [
            failing.filter(pl.col(f"__bad{i}")).select(
                pl.col("record_number").cast(pl.Int64),
                (pl.col("__where") + pl.lit(check.field)).alias("field"),
                check.value.cast(pl.String).alias("value"),
                pl.lit(check.reason).alias("reason"),
                pl.col("raw_record"),
            )
            for i, check in enumerate(checks)
        ]
    ).sort("record_number", "field")
    return frame.filter(~is_bad), quarantine


def conflicting_duplicates(
    frame: pl.DataFrame, key: Sequence[str], updated_at: str, content: Sequence[str]
) -> pl.Expr:
    """True for records of ``frame`` sharing key and ``updated_at`` with another record of
    different content.

    Such a pair cannot be ordered, so both go to quarantine; exact repeats are harmless. Only
    the few records whose key and time repeat have their content compared: hashing every
    record's content cost more than all the other checks of a file together.
    """
    group = [*key, updated_at]
    repeated = frame.select(pl.struct(group).is_duplicated()).to_series()
    if not repeated.any():
        return pl.repeat(False, frame.height)
    conflicting = (
        frame.with_row_index("__row")
        .filter(repeated)
        .filter(pl.struct(list(content)).hash().n_unique().over(group) > 1)["__row"]
    )
    return pl.lit(pl.int_range(frame.height, eager=True).is_in(conflicting.implode()))


# Raw text that may need normalising: full-width forms or the ideographic space (literal or
# JSON-escaped), or whitespace at a value's edge (CSV field or JSON string).
NOISY_TEXT = r'[\uFF01-\uFF5E\u3000]|(?i:\\u(?:ff[0-5][0-9a-f]|3000))|^\s|\s$|\s,|,\s|"\s|\s"'


def normalize_noisy_records(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """``normalized`` applied to ``columns`` of the records whose raw text needs it.

    Normalising every value of a million-row file costs more than parsing it; real dirt is rare,
    so only records whose ``raw_record`` shows noise are touched. Lists of structs of strings
    (e.g. parts) are normalised field by field. Record order is kept.
    """
    noisy = frame["raw_record"].str.contains(NOISY_TEXT)
    if not noisy.any():
        return frame

    def fix(column: str) -> pl.Expr:
        dtype = frame.schema[column]
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            fields = [f.name for f in dtype.inner.fields]
            return pl.col(column).list.eval(
                pl.struct(normalized(pl.element().struct.field(f)).alias(f) for f in fields)
            )
        return normalized(pl.col(column))

    fixed = frame.filter(noisy).with_columns(fix(c).alias(c) for c in columns)
    return pl.concat([frame.filter(~noisy), fixed]).sort("record_number")


# Ids are digits or codes; "4.01e18", "1.5", "true" are not ids, whatever the sender meant.
ID_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_-]*$"


def is_plain_id(text: pl.Expr) -> pl.Expr:
    """Digits or a code with a digit in it: every feed's ids have one ("true" has none)."""
    return text.str.contains(ID_PATTERN) & text.str.contains(r"\d")


def normalized(expr: pl.Expr) -> pl.Expr:
    """Full-width digits and letters to ASCII (NFKC) and stray whitespace trimmed.

    NFKC leaves ASCII as it is, and most values of a feed are ASCII (ids, amounts, times): only
    values with another character are normalised (the others are null to ``normalize``, which
    skips them), three times cheaper than normalising every value."""
    wide = pl.when(expr.str.len_bytes() != expr.str.len_chars()).then(expr)
    return pl.coalesce(wide.str.normalize("NFKC"), expr).str.strip_chars()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
