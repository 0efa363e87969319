"""Settlement against a real warehouse: lines add up, re-runs change nothing, closed periods
never change and corrections arrive as adjustments."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from pipelines.ingest import ingest
from settlement.frames import BREAKDOWN
from settlement.rules import DEFAULT_RULES
from settlement.timeline import period_start
from warehouse import app_store
from warehouse.db import connect_read_only
from warehouse.publish import publish
from warehouse.settle import close_period, settle_warehouse

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def loaded(feed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("loaded") / "w.duckdb"
    ingest([feed_dir], db)
    return db


@pytest.fixture
def warehouse(loaded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "w.duckdb"
    shutil.copy(loaded, db)
    monkeypatch.setenv("TIERBOARD_APP_DB", str(tmp_path / "app.sqlite"))
    return db


def lines(db: Path, where: str = "true") -> pl.DataFrame:
    with connect_read_only(db) as con:
        return con.sql(
            f"select * exclude (run_id) from settlement_lines where {where} order by all"
        ).pl()


def rules_document(**changes: object) -> dict[str, object]:
    document = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        target = document
        *parents, leaf = dotted.split("__")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return document


def rules_file(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules_document(**changes), allow_unicode=True), "utf-8")
    return path


def test_every_completed_ticket_is_paid_or_reported_and_lines_add_up(warehouse: Path) -> None:
    summary = settle_warehouse(warehouse)
    assert summary.status == "succeeded" and summary.lines_written > 0
    settled = lines(warehouse)
    assert (
        settled.select(pl.sum_horizontal(*BREAKDOWN)).to_series() == settled["amount_cents"]
    ).all()
    assert (settled["amount"] * 100 == settled["amount_cents"].cast(pl.Decimal(20, 2))).all()
    with connect_read_only(warehouse) as con:
        completed = con.sql("select count(*) from tickets where status = 'completed'").fetchall()[
            0
        ][0]
        unpriced = con.sql("select count(*) from settlement_unpriced").fetchall()[0][0]
    paid = settled.filter(
        (pl.col("line_kind") == "ticket") & (pl.col("payee_type") == "technician")
    )
    assert paid["ticket_id"].n_unique() == paid.height == completed - unpriced


def test_running_again_changes_nothing(warehouse: Path) -> None:
    settle_warehouse(warehouse)
    before = lines(warehouse)
    again = settle_warehouse(warehouse)
    assert again.status == "unchanged" and again.periods_written == []
    assert lines(warehouse).equals(before)


def test_a_closed_period_never_changes_and_corrections_become_adjustments(
    warehouse: Path, tmp_path: Path
) -> None:
    settle_warehouse(warehouse)
    periods = sorted(set(lines(warehouse)["period"]))
    first, second = periods[0], periods[1]
    close_period(warehouse, first, actor="ana", note="month end")
    frozen = lines(warehouse, f"period = '{first}'")

    dearer = rules_document(surcharges__urgent_bp=5_000)
    since = period_start(first)
    with pytest.raises(ValueError, match=f"reaches into closed period {first}"):
        publish(warehouse, dearer, effective_date=since, note="dearer", author="ana")
    publish(warehouse, dearer, effective_date=since, note="dearer", author="ana", retroactive=True)
    summary = settle_warehouse(warehouse)
    assert lines(warehouse, f"period = '{first}'").equals(frozen)
    adjustments = lines(warehouse, "line_kind = 'adjustment'")
    assert summary.adjustments == adjustments.height > 0
    assert set(adjustments["period"]) == {second} and set(adjustments["origin_period"]) == {first}
    # Each adjustment is exactly the urgent surcharge's difference (and what follows from it).
    urgent = frozen.filter(pl.col("urgent_cents") != 0)
    assert adjustments["urgent_cents"].sum() == pytest.approx(
        urgent["urgent_cents"].sum() * 2 / 3, rel=0.01
    )
    assert (
        adjustments.select(pl.sum_horizontal(*BREAKDOWN)).to_series() == adjustments["amount_cents"]
    ).all()

    # Back to the shipped rules from the same day: nothing left to correct.
    shipped = rules_document()
    publish(warehouse, shipped, effective_date=since, note="undo", author="ana", retroactive=True)
    settle_warehouse(warehouse)
    assert lines(warehouse, "line_kind = 'adjustment'").is_empty()


def test_period_rules_are_enforced(warehouse: Path) -> None:
    settle_warehouse(warehouse)
    periods = sorted(set(lines(warehouse)["period"]))
    with pytest.raises(ValueError, match=f"periods close in order: close {periods[0]} before"):
        close_period(warehouse, periods[1], actor="ana", note="too early")
    close_period(warehouse, periods[0], actor="ana", note="month end")
    with pytest.raises(ValueError, match="is closed; only an open period can be closed"):
        close_period(warehouse, periods[0], actor="ana", note="again")
    with pytest.raises(ValueError, match="only open periods can be settled"):
        settle_warehouse(warehouse, period=periods[0])
    audit = app_store.connect(app_store.app_store_path(warehouse))
    with audit as con:
        rows = con.execute("select actor, action, subject, reason from audit_log").fetchall()
    assert rows == [("ana", "period_close", f"period {periods[0]}", "month end")]


def test_a_ticket_no_rule_prices_is_reported_never_paid_zero(
    warehouse: Path, tmp_path: Path
) -> None:
    document = rules_document()
    del document["item_prices"]["REP-AC-01"]  # valid: the library item is simply not priced
    publish(warehouse, document, effective_date=date(2020, 1, 1), note="partial", author="ana")
    summary = settle_warehouse(warehouse)
    with connect_read_only(warehouse) as con:
        reported = con.sql("select ticket_id, reason from settlement_unpriced").pl()
        expected = con.sql(
            "select ticket_id from tickets where status = 'completed' and item_code = 'REP-AC-01'"
        ).pl()
    assert summary.unpriced == reported.height == expected.height > 0
    assert set(reported["ticket_id"]) == set(expected["ticket_id"])
    assert reported["reason"].str.starts_with("no price for item REP-AC-01 in tier ").all()
    paid = lines(warehouse).filter(pl.col("ticket_id").is_in(expected["ticket_id"].implode()))
    assert paid.is_empty()


def test_cli_explains_a_ticket_and_checks_rule_files(warehouse: Path, tmp_path: Path) -> None:
    settle_warehouse(warehouse)
    ticket = lines(warehouse, "line_kind = 'ticket' and urgent_cents > 0")["ticket_id"][0]
    shown = subprocess.run(
        [sys.executable, "-m", "settlement", "explain", ticket, "--db", str(warehouse)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert shown.startswith(f"ticket {ticket}:") and "urgent surcharge" in shown and "¥" in shown
    bad = rules_file(tmp_path, surcharges__urgent_bp=-1)
    checked = subprocess.run(
        [sys.executable, "-m", "settlement", "check", "--rules", str(bad)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert checked.returncode == 1
    assert "surcharges.urgent_bp: Input should be greater than or equal to 0" in checked.stderr
