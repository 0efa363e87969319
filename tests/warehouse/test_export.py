"""The Parquet export of settlement's inputs: what a local run reads, read back from the files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from settlement.frames import ORDERS_IN, PARTS, TICKETS_IN
from settlement.rules import parse_rules
from settlement.timeline import Timeline
from warehouse.app_store import app_store_path
from warehouse.db import connect_read_only, serving_path
from warehouse.export import LAYOUT, MANIFEST, ExportRefused, export
from warehouse.settle import STORED_LINES, close_period, rule_timeline, settlement_inputs

ROOT = Path(__file__).resolve().parents[2]
FILE_PARTS = pl.List(pl.Struct({"part_code": pl.String, "quantity": pl.Int32}))


def read(folder: Path) -> pl.DataFrame:
    return pl.read_parquet(folder / "**" / "*.parquet", hive_partitioning=True)


def in_files(schema: dict[str, pl.DataType]) -> pl.Schema:
    """The input frames' types as the files hold them: a code encoded as a category in memory
    is a string in the file (dictionary-encoded by Parquet itself)."""
    text = {pl.Categorical(): pl.String(), PARTS: FILE_PARTS}
    return pl.Schema({name: text.get(dtype, dtype) for name, dtype in schema.items()})


def as_inputs(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


@pytest.fixture
def exported(app_env: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The demo warehouse with its first period closed, exported."""
    with connect_read_only(serving_path(app_env)) as con:
        first = con.execute("select min(period) from settlement_periods").fetchall()[0][0]
    close_period(app_env, first, actor="analyst", note="month end")
    out = tmp_path / "export"
    export(app_env, out)
    return app_env, out


def test_the_export_holds_exactly_what_a_local_run_reads(exported: tuple[Path, Path]) -> None:
    db, out = exported
    with connect_read_only(serving_path(db)) as con:
        tickets, orders = settlement_inputs(con)
        statuses = dict(con.execute("select period, status from settlement_periods").fetchall())
        closed = con.sql(
            f"select {', '.join(STORED_LINES)} from settlement_lines where period in"
            " (select period from settlement_periods where status = 'closed')"
        ).pl()
    files = read(out / "tickets")
    assert files.schema == in_files({**TICKETS_IN, "period": pl.String()})
    assert as_inputs(files.sort("ticket_id"), TICKETS_IN).equals(tickets.sort("ticket_id"))
    assert (files["period"] == files["completed_date"].dt.strftime("%Y-%m")).all()

    served = read(out / "orders")
    assert served.schema == in_files({**ORDERS_IN, "period": pl.String()})
    assert served.select("platform", "order_id").is_unique().all()
    wanted = tickets.drop_nulls("order_id").select(platform="order_platform", order_id="order_id")
    expected = orders.join(wanted.unique(), on=["platform", "order_id"], how="semi")
    assert as_inputs(served.sort("platform", "order_id"), ORDERS_IN).equals(
        expected.sort("platform", "order_id")
    )

    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["layout"] == LAYOUT and manifest["periods"] == statuses
    assert manifest["counts"]["tickets"] == tickets.height
    assert "closed" in statuses.values()
    stored = read(out / "closed_lines")
    assert stored.height == closed.height == manifest["counts"]["closed_lines"] > 0
    assert set(stored["period"]) == {p for p, s in statuses.items() if s == "closed"}
    for name in ("cities", "provinces", "technicians", "partners", "service_items", "parts"):
        assert pl.read_parquet(out / "reference" / f"{name}.parquet").height > 0

    versions = json.loads((out / "rules.json").read_text())["versions"]
    timeline = Timeline(tuple(parse_rules(v) for v in versions))
    assert timeline == rule_timeline(app_store_path(db))


def test_an_export_replaces_an_export_but_never_another_folder(
    exported: tuple[Path, Path], tmp_path: Path
) -> None:
    db, out = exported
    first = json.loads((out / MANIFEST).read_text())
    (out / "tickets" / "stray.txt").write_text("left from an older export")
    export(db, out)
    assert not (out / "tickets" / "stray.txt").exists()
    assert json.loads((out / MANIFEST).read_text())["counts"] == first["counts"]
    assert not list(tmp_path.glob("export.*")), "no partial or replaced folder stays behind"

    mine = tmp_path / "my documents"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(ExportRefused, match="not an export"):
        export(db, mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_the_command_line_export(app_env: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipelines", "export", *args],
            cwd=ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip

    done = run("--db", str(app_env), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "tickets" in done.stdout and (tmp_path / "out" / MANIFEST).exists()
    missing = run("--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "x"))
    assert missing.returncode == 2 and "no warehouse here" in missing.stderr
    assert "Traceback" not in missing.stderr
