"""JSON-lines files read record by record: each line decoded against its platform's schema,
in bulk where Polars can and strictly one by one where it cannot, so that a line which does not
fit (broken JSON, NaN, a value of the wrong JSON type, an oversized value) is quarantined naming
its line, field and reason while every other line loads."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from pipelines import canonical

BAD_UTF8 = "\ufffd"


def _numbered_lines(path: Path) -> pl.DataFrame:
    """Each line of ``path`` as one string, numbered from 1; blank lines are not records.

    A file with bytes that are not UTF-8 is read with them replaced (U+FFFD), so one bad line
    cannot fail the file; ``decode_json_lines`` quarantines such a line.
    """
    try:
        lines = pl.scan_lines(path, name="raw_record").collect()
    except pl.exceptions.PolarsError:
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = pl.DataFrame(pl.Series("raw_record", text.split("\n"), pl.String))
    return (
        lines.with_row_index("record_number", offset=1)
        .with_columns(
            pl.col("record_number").cast(pl.Int64), pl.col("raw_record").str.strip_suffix("\r")
        )
        .filter(pl.col("raw_record").str.strip_chars() != "")
    )


PolarsType = Any  # pl.DataType or a DataTypeClass, as Struct and List fields hand them back
MAX_TEXT_CHARS = 4096  # no field of any feed is near this; a longer value is not the field


class JsonNumber(str):
    """A JSON number kept as the text it was sent as (``4012345678901234567``, ``2599.00``)."""


class RecordMismatch(ValueError):
    """A record that does not fit its platform's schema: where, why, and the value found."""

    def __init__(self, field: str, reason: str, value: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.value = field, reason, value


def _constant(token: str) -> object:
    raise RecordMismatch("<record>", "not valid JSON (NaN or Infinity)", token)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, JsonNumber):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else type(value).__name__


def _preview(value: object) -> str:
    return _render(value)[:200]


def _render(value: object) -> str:
    """JSON text of a parsed value, numbers as they were sent (not as quoted text)."""
    if isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, dict):
        items = (f"{json.dumps(k, ensure_ascii=False)}: {_render(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def conform_value(value: object, dtype: PolarsType, path: str) -> object:
    """``value`` shaped as ``dtype`` (strings, structs and lists of them), or RecordMismatch.

    Text leaves take a JSON string or number (kept as sent, so ``4.01e18`` stays that text and
    fails an id check) or a boolean (as ``true``/``false``); an object or array there is a
    mismatch. Keys the schema does not name are ignored.
    """
    if value is None:
        return None
    if isinstance(dtype, pl.Struct):
        if not isinstance(value, dict):
            raise RecordMismatch(
                path, f"a JSON {_kind(value)} where an object was expected", _preview(value)
            )
        return {
            f.name: conform_value(
                value.get(f.name), f.dtype, f"{path}.{f.name}" if path else f.name
            )
            for f in dtype.fields
        }
    if isinstance(dtype, pl.List):
        if not isinstance(value, list):
            raise RecordMismatch(
                path, f"a JSON {_kind(value)} where an array was expected", _preview(value)
            )
        return [conform_value(v, dtype.inner, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, bool):
        # as the bulk decoder reads it: flags are sent as booleans; where an id or amount was
        # expected, "true" fails that field's own check
        return "true" if value else "false"
    if not isinstance(value, str):
        raise RecordMismatch(
            path, f"a JSON {_kind(value)} where text or a number was expected", _preview(value)
        )
    if len(value) > MAX_TEXT_CHARS:
        raise RecordMismatch(path, f"value longer than {MAX_TEXT_CHARS} characters", value[:200])
    return str(value)


Reshape = Callable[[dict[str, Any]], dict[str, Any]]


def conform_line(line: str, dtype: pl.Struct, reshape: Reshape | None = None) -> dict[str, Any]:
    """One JSON line as a record of ``dtype`` (see ``conform_value``), or RecordMismatch."""
    if BAD_UTF8 in line:
        raise RecordMismatch("<record>", "not valid UTF-8", line[:200])
    try:
        record = json.loads(
            line, parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=_constant
        )
    except RecordMismatch:
        raise
    except (ValueError, RecursionError):
        raise RecordMismatch("<record>", "not valid JSON", line[:200]) from None
    if not isinstance(record, dict):
        raise RecordMismatch("<record>", "not valid JSON", line[:200])
    if reshape is not None:
        record = reshape(record)
    shaped = conform_value(record, dtype, "")
    assert isinstance(shaped, dict)
    return shaped


# Lines the bulk decoder would read loosely (it rewrites exponent numbers: 4.01e18 becomes
# 4010000000000000000) or not at all: these are decoded one by one, strictly.
STRICT_ONLY = r"NaN|Infinity|[0-9][eE][-+]?[0-9]|\ufffd"  # cheap: a false hit only costs time


@dataclass(frozen=True)
class AltShape:
    """A second shape a platform sends some records in (e.g. a bare list where its API has a
    wrapper): lines matching ``pattern`` decode as ``dtype`` and ``to_main`` turns the decoded
    record into the main schema's; ``reshape`` does the same to a parsed line on the strict path.
    """

    pattern: str
    dtype: pl.Struct
    to_main: Callable[[pl.Expr], pl.Expr]
    reshape: Reshape


BULK_CHUNK = 4096  # a rejected bulk decode is retried per chunk: one bad line slows its chunk


def _bulk(lines: pl.DataFrame, dtype: pl.Struct) -> tuple[list[pl.DataFrame], pl.DataFrame]:
    """(decoded frames, lines the bulk decoder rejected: whole chunks around a bad line)."""
    try:
        return [lines.with_columns(pl.col("raw_record").str.json_decode(dtype).alias("record"))], (
            lines.clear()
        )
    except pl.exceptions.PolarsError:
        if lines.height <= BULK_CHUNK:
            return [], lines
    decoded, rejected = [], []
    for offset in range(0, lines.height, BULK_CHUNK):
        chunk = lines.slice(offset, BULK_CHUNK)
        try:
            decoded.append(
                chunk.with_columns(pl.col("raw_record").str.json_decode(dtype).alias("record"))
            )
        except pl.exceptions.PolarsError:
            rejected.append(chunk)
    return decoded, pl.concat([lines.clear(), *rejected])


def decode_json_lines(
    lines: pl.DataFrame, dtype: pl.Struct, *, alternative: AltShape | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(decoded records with ``record``, quarantine rows for lines that do not fit ``dtype``).

    Fast path: Polars decodes plain lines in bulk (lines of the ``alternative`` shape with its
    own schema). Lines matching ``STRICT_ONLY``, lines too long to be plain, and the chunks the
    bulk decoder rejects are decoded one by one with ``conform_line``; a line that does not fit
    is quarantined naming its field and the reason.
    """
    text = pl.col("raw_record")
    strict_only = text.str.contains(STRICT_ONLY) | (text.str.len_chars() > MAX_TEXT_CHARS)
    other = text.str.contains(alternative.pattern) if alternative else pl.lit(False)
    decoded, suspect = _bulk(lines.filter(~strict_only & ~other), dtype)
    suspects = [suspect, lines.filter(strict_only)]
    if alternative is not None:
        alt, alt_suspect = _bulk(lines.filter(~strict_only & other), alternative.dtype)
        decoded += [
            frame.with_columns(alternative.to_main(pl.col("record")).cast(dtype).alias("record"))
            for frame in alt
        ]
        suspects.append(alt_suspect)
    suspect = pl.concat(suspects)
    reshape = alternative.reshape if alternative else None
    shaped: list[str | None] = []
    broken: list[dict[str, object]] = []
    for number, line in suspect.select("record_number", "raw_record").iter_rows():
        try:
            shaped.append(json.dumps(conform_line(line, dtype, reshape), ensure_ascii=False))
        except RecordMismatch as bad:
            shaped.append(None)
            broken.append(
                {"record_number": number, "field": bad.field, "value": bad.value,
                 "reason": bad.reason, "raw_record": line}
            )  # fmt: skip
    strict = (
        suspect.with_columns(pl.Series("shaped", shaped, pl.String))
        .filter(pl.col("shaped").is_not_null())
        .with_columns(pl.col("shaped").str.json_decode(dtype).alias("record"))
        .drop("shaped")
    )
    frames = [f for f in [*decoded, strict] if not f.is_empty()]
    if not frames:
        empty = lines.clear().with_columns(record=pl.lit(None, dtype))
        return empty, pl.DataFrame(broken, schema=canonical.QUARANTINE)
    # One frame (every line decoded in bulk, the usual case) is in line order already.
    decoded_all = frames[0] if len(frames) == 1 else pl.concat(frames).sort("record_number")
    return decoded_all, pl.DataFrame(broken, schema=canonical.QUARANTINE)


def first_record_keys(path: Path, head: bytes) -> frozenset[str]:
    """Top-level keys of a JSON-lines file's first readable record (empty if there is none).

    ``head`` is what the registry read: the file's first readable record, or its first bytes.
    """
    if path.suffix != ".jsonl":
        return frozenset()
    for line in head.split(b"\n"):
        try:
            first = json.loads(line)
        except ValueError:
            continue
        if isinstance(first, dict):
            return frozenset(first)
    return frozenset()


def read_json_lines(
    path: Path, dtype: pl.Struct, *, alternative: AltShape | None = None
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(every line, decoded records with ``record``, quarantine rows for lines that do not fit).

    Records keep ``record_number`` (the 1-based line number) and ``raw_record`` (the line).
    """
    lines = _numbered_lines(path)
    decoded, broken = decode_json_lines(lines, dtype, alternative=alternative)
    return lines, decoded, broken
