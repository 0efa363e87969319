"""The ticket feeds: one bad row or line costs itself alone, and ids are never coerced."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.generate.world import World
from pipelines.load import load_batch
from pipelines.reference import Reference
from pipelines.sources.fsm import FsmCsv, FsmJsonl, settings
from pipelines.sources.fsm.writer import _csv_text, _jsonl_text
from warehouse.db import migrate

CSV, JSONL = FsmCsv(), FsmJsonl()


def csv_rows(world: World, n: int = 3) -> pl.DataFrame:
    sample = world.tickets.filter(pl.col("status") == "completed").head(n)
    return _csv_text(sample.drop("completed_date")).rename(settings.CSV_FIELDS)


def jsonl_records(world: World, n: int = 3) -> list[dict[str, object]]:
    sample = world.tickets.filter(pl.col("status") == "completed").head(n)
    frame = (
        _jsonl_text(sample.drop("completed_date"))
        .with_columns(pl.col("parts").list.eval(pl.element().struct.rename_fields(["code", "qty"])))
        .rename(settings.JSONL_FIELDS)
    )
    return [json.loads(line) for line in frame.write_ndjson().splitlines()]


@pytest.mark.parametrize("column", ["member_level", "channel"])
def test_a_blank_required_value_quarantines_that_row_and_the_file_loads(
    tmp_path: Path, world: World, reference: Reference, column: str
) -> None:
    rows = csv_rows(world).with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.lit(None))
        .otherwise(pl.col(settings.CSV_FIELDS[column]))
        .alias(settings.CSV_FIELDS[column])
    )
    path = tmp_path / "fsm_export_202601.csv"
    rows.write_csv(path)
    batch = CSV.read(path, reference)
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, settings.CSV_FIELDS[column], f"missing {column.replace('_', ' ')}")
    ]
    assert batch.tables["tickets"]["ticket_id"].to_list() == [
        rows[settings.CSV_FIELDS["ticket_id"]][i] for i in (0, 2)
    ]
    con = duckdb.connect()
    migrate(con)
    summary = load_batch(con, batch)  # NOT NULL columns never see the blank
    assert (summary.status, summary.loaded, summary.quarantined) == ("succeeded", 2, 1)


@pytest.mark.parametrize("bad_id", ["4.012345678901234567E+18", "true", "1.5"])
def test_a_ticket_id_that_is_not_plain_is_quarantined(
    tmp_path: Path, world: World, reference: Reference, bad_id: str
) -> None:
    id_column = settings.CSV_FIELDS["ticket_id"]
    rows = csv_rows(world).with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(bad_id))
        .otherwise(pl.col(id_column))
        .alias(id_column)
    )
    path = tmp_path / "fsm_export_202601.csv"
    rows.write_csv(path)
    batch = CSV.read(path, reference)
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (1, id_column, "ticket id is not a plain digit or code string")
    ]
    assert batch.tables["tickets"].height == 2


def test_rows_polars_cannot_read_cost_only_themselves(
    tmp_path: Path, world: World, reference: Reference
) -> None:
    rows = csv_rows(world, 4)
    path = tmp_path / "fsm_export_202601.csv"
    rows.write_csv(path)
    header, *lines = path.read_bytes().split(b"\n")[:5]
    broken = [
        lines[0],
        lines[1] + b",extra",  # one field too many
        lines[2].replace(b",", b',"', 1),  # an unclosed quote
        lines[3].replace(b",", b",\xff", 1),  # not UTF-8
    ]
    path.write_bytes(b"\n".join([header, *broken, b""]))
    batch = CSV.read(path, reference)
    assert batch.records_read == 4
    assert batch.quarantine.select("record_number", "reason").rows() == [
        (2, f"row has {len(rows.columns) + 1} fields, the header {len(rows.columns)}"),
        (3, f"row has 2 fields, the header {len(rows.columns)}"),  # the rest is one field
        (4, "not valid UTF-8"),
    ]
    assert batch.tables["tickets"]["ticket_id"].to_list() == [
        rows[settings.CSV_FIELDS["ticket_id"]][0]
    ]


def test_an_object_where_an_id_belongs_costs_its_change_record_alone(
    tmp_path: Path, world: World, reference: Reference
) -> None:
    records = jsonl_records(world)
    records[1]["engineerId"] = {"id": records[1]["engineerId"]}
    path = tmp_path / "fsm_changes_202601.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    batch = JSONL.read(path, reference)
    assert batch.quarantine.select("record_number", "field", "reason").rows() == [
        (2, "engineerId", "a JSON object where text or a number was expected")
    ]
    assert batch.tables["tickets"]["ticket_id"].to_list() == [
        records[0]["ticketNo"],
        records[2]["ticketNo"],
    ]
