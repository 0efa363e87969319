"""Golden cases in the app store: analysts' expected payouts, the gate every publish passes.

``golden_cases`` holds one row per case (its fields as JSON). ``seed_defaults`` adds
DEFAULT_CASES, hand-computed under the shipped rules (the demo does, once). ``golden_problem``
says why a draft breaks a case (after the edits that travel with it), or None;
``warehouse.publish.publish`` calls it.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from settlement.explain import yuan
from settlement.golden import GoldenCase, Outcome, Place, evaluate, parse_case
from settlement.rules import RuleSet
from settlement.timeline import Timeline
from warehouse import app_store
from warehouse.db import Phrase

SCHEMA = """
create table if not exists golden_cases (
    name        text primary key,
    document    text not null,          -- the case's fields as JSON
    updated_at  text not null,          -- UTC, ISO 8601
    updated_by  text not null
);
"""

# Hand-computed under settlement/default_rules.yaml (tier_map 一线 → A; 北京 ×1.2).
DEFAULT_CASES = [
    # 北京 (一线, A) INS-AC-01: base 15000, ×1.2 → +3000 coefficient = 18000, ladder 100 %.
    {"name": "北京 空调安装", "note": "base 15000 + coefficient 3000 (×1.2)",
     "city_code": "110100", "item_code": "INS-AC-01", "expected_technician_cents": 18000},
    # the same, urgent at night: +30 % of base 4500, night +3000 → 25500.
    {"name": "北京 空调安装 加急夜间", "note": "18000 + urgent 4500 (30 % of base) + night 3000",
     "city_code": "110100", "item_code": "INS-AC-01", "is_urgent": True, "is_night": True,
     "expected_technician_cents": 25500},
    # 61st ticket of the month: ladder 110 % on the labour, +1800 → 19800.
    {"name": "北京 空调安装 第61单", "note": "18000 + ladder 10 % (61st ticket) 1800",
     "city_code": "110100", "item_code": "INS-AC-01", "position": 61,
     "expected_technician_cents": 19800},
]  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _ready(con: sqlite3.Connection) -> None:
    con.execute(SCHEMA)


def seed_defaults(store: Path) -> int:
    """DEFAULT_CASES into a store that has no case yet (the demo's); how many were added."""
    with app_store.connect(store) as con:
        _ready(con)
        (count,) = con.execute("select count(*) from golden_cases").fetchone()
        if count:
            return 0
        apply_edits(
            con, {c["name"]: parse_case(c) for c in DEFAULT_CASES}, actor="Tierboard",  # type: ignore[misc]
            reason="the shipped example cases",
        )  # fmt: skip
    return len(DEFAULT_CASES)


def _write(con: sqlite3.Connection, cases: list[GoldenCase], actor: str) -> None:
    con.executemany(
        "insert into golden_cases values (?, ?, ?, ?) on conflict (name) do update set"
        " document = excluded.document, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by",
        [(c.name, c.model_dump_json(), _now(), actor) for c in cases],
    )


def cases(store: Path) -> list[GoldenCase]:
    with app_store.connect(store) as con:
        _ready(con)
        rows = con.execute("select document from golden_cases order by name").fetchall()
    return [GoldenCase.model_validate(json.loads(document)) for (document,) in rows]


Edits = dict[str, GoldenCase | None]  # case name → its new fields, or None to delete it


def edits_to_json(edits: Edits) -> dict[str, Any]:
    """Edits as a request's payload stores them (JSON)."""
    return {
        name: None if case is None else case.model_dump(mode="json") for name, case in edits.items()
    }


def edits_from_json(stored: dict[str, Any] | None) -> Edits | None:
    if not stored:
        return None
    return {name: None if c is None else GoldenCase.model_validate(c) for name, c in stored.items()}


def with_edits(current: list[GoldenCase], edits: Edits | None) -> list[GoldenCase]:
    by_name = {c.name: c for c in current}
    for name, case in (edits or {}).items():
        if case is None:
            by_name.pop(name, None)
        else:
            by_name[name] = case
    return [by_name[n] for n in sorted(by_name)]


def apply_edits(
    con: sqlite3.Connection, edits: Edits, *, actor: str, reason: str, subject: str = ""
) -> None:
    """Store ``edits`` with an audit row, inside the caller's app-store transaction."""
    _ready(con)
    if not edits:
        return
    _write(con, [c for c in edits.values() if c is not None], actor)
    removed = [n for n, c in edits.items() if c is None]
    con.executemany("delete from golden_cases where name = ?", [(n,) for n in removed])
    app_store.audit(
        con, actor=actor, action="golden_cases", subject=subject or Phrase("golden cases"),
        diff=Phrase.joined([
            Phrase("removed '{name}'", name=n) if c is None
            else Phrase("set '{name}' (technician {amount})", name=n,
                        amount=yuan(c.expected_technician_cents))
            for n, c in edits.items()
        ]),
        reason=reason,
    )  # fmt: skip


def save(store: Path, edits: Edits, *, actor: str, reason: str) -> None:
    if not reason.strip():
        raise ValueError("changing golden cases needs a note saying why")
    with app_store.connect(store) as con:
        apply_edits(con, edits, actor=actor, reason=reason)


def places() -> dict[str, Place]:
    """Where every reference city lies, for evaluation."""
    from pipelines.reference import load_reference

    reference = load_reference()
    groups = dict(reference.provinces.select("province_code", "region_group").iter_rows())
    return {
        row["city_code"]: Place(
            row["city_tier"],
            row["province_code"],
            groups[row["province_code"]],
            bool(row["is_plateau"]),
        )
        for row in reference.cities.iter_rows(named=True)
    }


def outcomes(
    store: Path, timeline: Timeline, edits: Edits | None = None, today: date | None = None
) -> list[Outcome]:
    return evaluate(with_edits(cases(store), edits), timeline, places(), today or date.today())


def golden_problem(
    store: Path, timeline: Timeline, draft: RuleSet, edits: Edits | None = None
) -> Phrase | None:
    """Why publishing ``draft`` onto ``timeline`` breaks a golden case (as edited by ``edits``,
    which travel with the publish), or None when every case holds."""
    failed = [o for o in outcomes(store, timeline.with_draft(draft), edits) if not o.passed]
    if not failed:
        return None
    return Phrase("the draft breaks {cases}", cases=Phrase.joined([failure(o) for o in failed]))


def failure(outcome: Outcome) -> Phrase:
    """``settlement.golden.failure_text`` with its template and fields: a failed case's name,
    expected and actual amounts (yuan to the fen), or why it could not be settled."""
    if outcome.problem:
        return Phrase(
            "golden case '{name}': {problem}", name=outcome.name, problem=problem(outcome.problem)
        )
    parts = []
    if outcome.actual_technician_cents != outcome.expected_technician_cents:
        parts.append(Phrase(
            "technician expected {expected}, actual {actual}",
            expected=yuan(outcome.expected_technician_cents),
            actual=_amount(outcome.actual_technician_cents),
        ))  # fmt: skip
    if (
        outcome.expected_partner_cents is not None
        and outcome.actual_partner_cents != outcome.expected_partner_cents
    ):
        parts.append(Phrase(
            "partner expected {expected}, actual {actual}",
            expected=yuan(outcome.expected_partner_cents),
            actual=_amount(outcome.actual_partner_cents),
        ))  # fmt: skip
    return Phrase(
        "golden case '{name}': {problem}", name=outcome.name, problem=Phrase.joined(parts)
    )


def _amount(cents: int | None) -> str:
    return Phrase("nothing") if cents is None else yuan(cents)


def problem(text: str) -> str:
    """Why a case could not be settled (the engine's words for a ticket it cannot price, or
    ``evaluate``'s for a city it does not know), as a Phrase when its words are known."""
    if found := re.fullmatch(r"no price for item (\S+) in tier (\S+)", text):
        return Phrase("no price for item {item} in tier {tier}", item=found[1], tier=found[2])
    if found := re.fullmatch(r"no price for part (\S+) in tier (\S+)", text):
        return Phrase("no price for part {part} in tier {tier}", part=found[1], tier=found[2])
    if found := re.fullmatch(r"unknown city (\S+)", text):
        return Phrase("unknown city {city}", city=found[1])
    return text


COLUMNS = list(GoldenCase.model_fields)


def import_excel(data: bytes) -> list[GoldenCase]:
    """Cases from an xlsx workbook's first sheet (a header row naming the fields). Raises
    ValueError naming the first bad row (as the spreadsheet numbers it) and field."""
    try:
        frame = pl.read_excel(io.BytesIO(data), engine="openpyxl", infer_schema_length=0)
    except Exception as error:  # a file that is not a workbook: one line, never a traceback
        raise ValueError(f"not a readable xlsx workbook ({type(error).__name__})") from None
    unknown = [c for c in frame.columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(unknown)}")
    return rows_to_cases(list(frame.iter_rows(named=True)), first_row=2)


def rows_to_cases(rows: list[dict[str, Any]], first_row: int = 1) -> list[GoldenCase]:
    """Cases from loose rows (a spreadsheet's, an editor's); ValueError names the first bad
    row (numbered from ``first_row``) and field, or a name given twice."""
    found = []
    for number, row in enumerate(rows, start=first_row):
        # NaN (v != v) is an empty cell of a numeric column.
        values = {k: _cell(k, v) for k, v in row.items() if v is not None and v != "" and v == v}
        if not values:
            continue  # an empty row (an editor's new, unfilled one)
        try:
            found.append(parse_case(values))
        except ValidationError as error:
            first = error.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "row"
            raise ValueError(f"row {number}, {field}: {first['msg']}") from None
        except ValueError as error:
            raise ValueError(f"row {number}: {error}") from None
    names = [c.name for c in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"case name(s) given twice: {', '.join(twice)}")
    return found


BOOLEAN_FIELDS = {n for n, f in GoldenCase.model_fields.items() if f.annotation is bool}
INTEGER_FIELDS = {
    "quantity", "remote_guidance_minutes", "position", "expected_technician_cents",
    "expected_partner_cents",
}  # fmt: skip


def _cell(field: str, value: Any) -> Any:
    """A spreadsheet cell (read as text) as the field's type; a value that is not one is left
    for validation to name."""
    if isinstance(value, bool) or (isinstance(value, int) and field in INTEGER_FIELDS):
        return value
    text = str(value).strip()
    if field in BOOLEAN_FIELDS:
        lowered = text.lower()
        if lowered in ("true", "1", "yes", "是"):
            return True
        if lowered in ("false", "0", "no", "否"):
            return False
        return text
    if field in INTEGER_FIELDS:
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number == int(number) else text
    if field == "completed_date":
        return text[:10]
    return text


def adopting(store: Path, timeline: Timeline, draft: RuleSet) -> Edits:
    """Edits setting every case the draft breaks to the draft's amounts (the analyst's "these
    cases change with this publish"); a case the draft cannot price is left to fail."""
    current = {c.name: c for c in cases(store)}
    edits: Edits = {}
    for outcome in outcomes(store, timeline.with_draft(draft)):
        if outcome.passed or outcome.problem or outcome.actual_technician_cents is None:
            continue
        update: dict[str, Any] = {"expected_technician_cents": outcome.actual_technician_cents}
        if outcome.expected_partner_cents is not None:
            update["expected_partner_cents"] = outcome.actual_partner_cents
        edits[outcome.name] = current[outcome.name].model_copy(update=update)
    return edits
