"""The ticket system's feed: vocabulary, round trip from the simulated world, dirty records."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import canonical
from pipelines.generate.world import World
from pipelines.reference import Reference
from pipelines.sources.base import FeedBatch
from pipelines.sources.fsm import FsmCsv, FsmJsonl, settings
from pipelines.sources.fsm.writer import _csv_text, _jsonl_text

CSV, JSONL = FsmCsv(), FsmJsonl()


def read_all(folder: Path, reference: Reference) -> list[FeedBatch]:
    files = sorted((folder / "tickets").iterdir())
    return [(CSV if f.suffix == ".csv" else JSONL).read(f, reference) for f in files]


@pytest.fixture(scope="module")
def batches(feed_dir: Path, reference: Reference) -> list[FeedBatch]:
    return read_all(feed_dir, reference)


def one_record_csv(tmp_path: Path, world: World, **overrides: str) -> Path:
    sample = world.tickets.filter(pl.col("status") == "completed").head(1)
    text = _csv_text(sample.drop("completed_date")).with_columns(
        pl.lit(v).alias(k) for k, v in overrides.items()
    )
    path = tmp_path / "fsm_export_209901.csv"
    text.rename(settings.CSV_FIELDS).write_csv(path)
    return path


def one_record_jsonl(tmp_path: Path, world: World, **overrides: str) -> Path:
    sample = world.tickets.filter(pl.col("status") == "completed").head(1)
    text = _jsonl_text(sample.drop("completed_date")).with_columns(
        pl.lit(v).alias(k) for k, v in overrides.items()
    )
    path = tmp_path / "fsm_changes_209901.jsonl"
    text.with_columns(
        pl.col("parts").list.eval(pl.element().struct.rename_fields(["code", "qty"]))
    ).rename(settings.JSONL_FIELDS).write_ndjson(path)
    return path


VOCABULARY = [
    (fmt, field, word, value)
    for fmt, words in (("csv", settings.CSV_WORDS), ("jsonl", settings.JSONL_WORDS))
    for field, vocab in words.items()
    for word, value in vocab.items()
]


@pytest.mark.parametrize(("fmt", "field", "word", "value"), VOCABULARY)
def test_every_source_word_maps_to_its_canonical_value(
    tmp_path: Path, world: World, reference: Reference, fmt: str, field: str, word: str, value: str
) -> None:
    overrides = {field: word}
    if field == "status" and value != "completed":
        overrides["completed_at"] = ""  # only a completed ticket carries a completion time
    if field == "status" and value == "created":
        overrides |= {"technician_id": "", "partner_id": ""}
    if fmt == "csv":
        batch = CSV.read(one_record_csv(tmp_path, world, **overrides), reference)
    else:
        batch = JSONL.read(one_record_jsonl(tmp_path, world, **overrides), reference)
    assert batch.quarantine.is_empty(), batch.quarantine.to_dicts()
    assert batch.tables["tickets"][field].to_list() == [value]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_unknown_status_word_is_quarantined_with_its_value(
    tmp_path: Path, world: World, reference: Reference, fmt: str
) -> None:
    if fmt == "csv":
        batch = CSV.read(one_record_csv(tmp_path, world, status="已挂起"), reference)
        field = "工单状态"
    else:
        batch = JSONL.read(one_record_jsonl(tmp_path, world, status="SUSPENDED"), reference)
        field = "state"
    assert batch.tables["tickets"].is_empty()
    row = batch.quarantine.row(0, named=True)
    assert row["field"] == field and row["reason"] == "unknown or missing status"
    assert row["value"] in ("已挂起", "SUSPENDED") and row["record_number"] == 1


def test_round_trip_reconstructs_every_unspoiled_ticket(
    batches: list[FeedBatch], world: World
) -> None:
    loaded = pl.concat([b.tables["tickets"] for b in batches])
    newest = loaded.sort("updated_at", descending=True).unique("ticket_id", keep="first")
    quarantined_raw = pl.concat([b.quarantine for b in batches])["raw_record"]
    spoiled = world.tickets.filter(
        pl.col("ticket_id").map_batches(
            lambda ids: ids.is_in(quarantined_raw.str.extract_all(r"GD\d{10}").explode().implode())
        )
    )["ticket_id"]
    expected = world.tickets.filter(~pl.col("ticket_id").is_in(spoiled.implode()))
    actual = newest.filter(pl.col("ticket_id").is_in(expected["ticket_id"].implode()))
    assert_frame_equal(actual.sort("ticket_id"), expected.sort("ticket_id"))
    assert spoiled.len() < 0.02 * world.tickets.height


def test_each_dirty_kind_is_quarantined_with_its_field_and_reason(
    batches: list[FeedBatch],
) -> None:
    reasons = {
        (row["field"], row["reason"])
        for b in batches
        for row in b.quarantine.select("field", "reason").iter_rows(named=True)
    }
    for fields in (settings.CSV_FIELDS, settings.JSONL_FIELDS):
        assert {
            (fields["city_code"], "unknown city code"),
            (fields["item_code"], "unknown service item code"),
            (fields["technician_id"], "missing technician on an assigned ticket"),
            (fields["quantity"], "quantity is not a positive whole number"),
            (fields["completed_at"], "missing or not a valid timestamp"),
            (fields["ticket_id"], "same ticket id and update time twice with conflicting content"),
        } <= reasons


def test_no_record_is_lost(batches: list[FeedBatch]) -> None:
    for batch in batches:
        good = batch.tables["tickets"].height
        bad = batch.quarantine["record_number"].n_unique()
        assert good + bad == batch.records_read, batch.file


def test_full_width_digits_and_stray_spaces_still_load(
    feed_dir: Path, batches: list[FeedBatch]
) -> None:
    noisy = [
        line
        for f in sorted((feed_dir / "tickets").glob("*.csv"))
        for line in f.read_text(encoding="utf-8-sig").splitlines()
        if "０" in line.split(",")[0]
    ]
    assert noisy, "the writer should have produced full-width ids"
    loaded = pl.concat([b.tables["tickets"] for b in batches])["ticket_id"]
    for line in noisy:
        ascii_id = (
            line.split(",")[0]
            .strip()
            .translate(str.maketrans("０１２３４５６７８９", "0123456789"))
        )
        assert ascii_id.strip("\u3000 ") in loaded.to_list()


def test_a_line_that_is_not_json_is_quarantined_and_the_rest_load(
    feed_dir: Path, tmp_path: Path, reference: Reference
) -> None:
    source = sorted((feed_dir / "tickets").glob("*.jsonl"))[0]
    broken = tmp_path / source.name
    shutil.copy(source, broken)
    with broken.open("a", encoding="utf-8") as handle:
        handle.write('{"ticketNo": "GD9", "state": \n')
    clean, dirty = JSONL.read(source, reference), JSONL.read(broken, reference)
    assert dirty.records_read == clean.records_read + 1
    assert_frame_equal(dirty.tables["tickets"], clean.tables["tickets"])
    last = dirty.quarantine.filter(pl.col("reason") == "not valid JSON")
    assert last["record_number"].to_list() == [clean.records_read + 1]
    assert last["field"].to_list() == ["<record>"]


def test_canonical_schema_is_exact(batches: list[FeedBatch]) -> None:
    for batch in batches:
        assert batch.tables["tickets"].schema == pl.Schema(canonical.TICKETS)
