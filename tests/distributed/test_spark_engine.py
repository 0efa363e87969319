"""The Spark engine writes exactly the lines of the local one (issue: scale out on Spark).

Both engines settle copies of one demo warehouse prepared to hold what crosses groups: reworks
of another technician's ticket, partners working in several provinces (and cross-province VAT),
a refund after its period closed, overseas (USD) payees and a second rule version mid-month.
Spark runs in local mode, started by the command line as a user runs it and in this process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

from distributed.__main__ import main as distributed_main
from distributed.engine import SparkEngine
from distributed.job import StageFailed, _read_back
from settlement.frames import LINES
from settlement.rules import DEFAULT_RULES
from settlement.timeline import period_start
from tests.warehouse.test_settle_incremental import state as ledger
from tests.warehouse.test_timeline import refund_an_order_of
from warehouse.app_store import app_store_path
from warehouse.db import connect_read_only, serving_path, writer
from warehouse.export import export
from warehouse.publish import publish
from warehouse.settle import (
    LOCAL,
    SettlementFailed,
    close_period,
    rule_timeline,
    settle_warehouse,
    settlement_inputs,
)

ROOT = Path(__file__).resolve().parents[2]
STORE = "tierboard_app.sqlite"  # beside each copy, so every copy has its own rule versions


def copy_warehouse(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    db = folder / "tierboard.duckdb"
    shutil.copy(source, db)
    shutil.copy(serving_path(source), serving_path(db))
    if source.with_name(STORE).exists():
        shutil.copy(source.with_name(STORE), folder / STORE)
    return db


def sql(db: Path, query: str) -> list[tuple[object, ...]]:
    with connect_read_only(db) as con:
        return con.sql(query).fetchall()


# A dealer whose work spreads over other provinces: a third of its tickets move to a city of
# another province and a third of its orders are delivered elsewhere.
SPREAD = [
    "create temp table spread as select p.partner_id, p.province_code from partners as p"
    " join tickets as t using (partner_id) where p.partner_type = 'dealer'"
    " group by all order by count(*) desc limit 1",
    "update tickets set city_code = (select min(c.city_code) from cities as c"
    " where c.province_code <> (select province_code from spread))"
    " where partner_id = (select partner_id from spread) and hash(ticket_id) % 3 = 0",
    "update orders set province_code = (select min(province_code) from provinces"
    " where province_code <> (select province_code from spread))"
    " where (platform, order_id) in (select order_platform, order_id from tickets"
    " where partner_id = (select partner_id from spread) and hash(ticket_id) % 3 = 1)",
    # Two tickets of the latest month no price applies to.
    "update tickets set item_code = 'UNPRICED-ITEM' where ticket_id in (select ticket_id"
    " from tickets where completed_date is not null order by completed_date desc, ticket_id"
    " limit 2)",
]


@pytest.fixture(scope="module")
def prepared(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("TIERBOARD_APP_DB", raising=False)
        db = copy_warehouse(demo_warehouse, tmp_path_factory.mktemp("spark") / "prepared")
        with writer(db) as con:
            for statement in SPREAD:
                con.execute(statement)
        settle_warehouse(db)
        first, second = [p for (p,) in sql(db, "select period from settlement_periods order by 1")][
            :2
        ]
        close_period(db, first, actor="analyst", note="month end")
        refund_an_order_of(db, first)
        document = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
        document["surcharges"]["urgent_bp"] += 500
        publish(
            db,
            document,
            effective_date=period_start(second) + timedelta(days=14),
            note="urgent up mid-month",
            author="analyst",
        )
        yield db


@pytest.fixture
def copies(prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.delenv("TIERBOARD_APP_DB", raising=False)
    return copy_warehouse(prepared, tmp_path / "local"), copy_warehouse(
        prepared, tmp_path / "spark"
    )


@pytest.fixture(scope="module")
def spark_stopped() -> Iterator[None]:
    """The in-process Spark session of this module, stopped at its end."""
    yield
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        active.stop()


def run_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TIERBOARD_APP_DB"}
    return subprocess.run(
        [sys.executable, "-m", "settlement", "run", "--db", str(db), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_spark_and_local_runs_write_the_same_lines_bit_for_bit(copies: tuple[Path, Path]) -> None:
    local, spark = copies
    for db, engine in ((local, "local"), (spark, "spark")):
        done = run_cli(db, "--full", "--engine", engine)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "settlement run" in done.stdout and "Traceback" not in done.stderr
    local_ledger, spark_ledger = ledger(local), ledger(spark)
    for mine, theirs in zip(local_ledger, spark_ledger, strict=True):
        assert mine.height > 0
        assert mine.equals(theirs)

    # The lines hold what crosses groups, so the equality above is about them too.
    lines = local_ledger[0]
    reworked = sql(
        local,
        "select count(*) from settlement_lines as l join tickets as t using (ticket_id)"
        " where l.line_kind = 'chargeback' and l.payee_id <> t.technician_id",
    )[0][0]
    assert reworked > 0  # a chargeback paid by the other technician whose ticket was redone
    spanning = sql(
        local,
        "select count(*) from (select l.payee_id from settlement_lines as l"
        " join tickets as t using (ticket_id) join cities as c using (city_code)"
        " where l.payee_type <> 'technician' group by 1"
        " having count(distinct c.province_code) > 1)",
    )[0][0]
    assert spanning > 0
    assert lines.filter(pl.col("tax_cents") != 0).height > 0  # cross-province VAT
    late_refunds = lines.filter(
        (pl.col("line_kind") == "adjustment") & (pl.col("clawback_cents") < 0)
    )
    assert late_refunds.height > 0  # a refund after close, booked in the next open period
    assert lines.filter(pl.col("currency") == "USD").height > 0
    assert set(lines["rule_version"]) >= {"0", "1"}


def test_an_incremental_spark_run_follows_the_local_one(
    copies: tuple[Path, Path], spark_stopped: None
) -> None:
    local, spark = copies
    settle_warehouse(local, full=True)
    engine = SparkEngine()
    settle_warehouse(spark, full=True, engine=engine)
    # The late refund's correction was computed on Spark, as an adjustments stage.
    assert engine.last_corrections is not None and engine.last_corrections.calls > 0
    assert ledger(local)[0].equals(ledger(spark)[0])
    for db in copies:  # half of the latest month's orders refunded in part
        with writer(db) as con:
            con.execute(
                "insert into order_refunds by name select o.platform, 'open-' || o.order_id as"
                " refund_id, o.order_id, 'succeeded' as status, o.paid_cents // 3 as refund_cents,"
                " now()::timestamp as requested_at, now()::timestamp as refunded_at,"
                " now()::timestamp as updated_at, o.run_id from orders as o where o.paid_cents > 0"
                " and hash(o.order_id) % 2 = 0 and o.order_id in (select order_id from tickets"
                " where completed_date >= (select max(completed_date) - 20 from tickets))"
            )
    mine = settle_warehouse(local)
    theirs = settle_warehouse(spark, engine=SparkEngine())
    assert (mine.mode, theirs.mode) == ("incremental", "incremental")
    assert theirs.groups_recomputed == mine.groups_recomputed > 0
    assert ledger(local)[0].equals(ledger(spark)[0])


def test_a_group_over_the_bound_is_refused_by_name_and_nothing_is_written(
    copies: tuple[Path, Path], spark_stopped: None
) -> None:
    _, spark = copies
    before = ledger(spark)
    biggest, period, tickets = sql(
        spark,
        "select technician_id, strftime(completed_date, '%Y-%m') as p, count(*) from tickets"
        " where completed_date is not null group by all order by 3 desc, 1 limit 1",
    )[0]
    bound = int(str(tickets)) - 1
    with pytest.raises(SettlementFailed) as refused:
        settle_warehouse(spark, full=True, engine=SparkEngine(max_group_rows=bound))
    message = str(refused.value)
    assert f"technician {biggest} in {period}: {tickets:,} tickets" in message
    assert f"over the bound of {bound:,}" in message
    after = ledger(spark)
    assert all(b.equals(a) for b, a in zip(before, after, strict=True))
    failed = sql(spark, "select status, error from settlement_runs order by run_id desc limit 1")[0]
    assert failed[0] == "failed" and "GroupTooLarge" in str(failed[1])


def test_the_submitted_job_settles_an_export_as_the_local_engine_does(
    prepared: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spark_stopped: None
) -> None:
    monkeypatch.delenv("TIERBOARD_APP_DB", raising=False)
    db = copy_warehouse(prepared, tmp_path / "w")
    export(db, tmp_path / "export")
    out = tmp_path / "settled"
    assert (
        distributed_main(["settle", "--inputs", str(tmp_path / "export"), "--out", str(out)]) == 0
    )
    with connect_read_only(serving_path(db)) as con:
        tickets, orders = settlement_inputs(con)
    lines, unpriced = LOCAL.settle(tickets, orders, rule_timeline(app_store_path(db)))
    order = ["period", "line_kind", "payee_type", "payee_id", "ticket_id"]
    assert pl.read_parquet(out / "lines.parquet").sort(order).equals(lines.sort(order))
    assert (
        pl.read_parquet(out / "unpriced.parquet")
        .sort("ticket_id")
        .equals(unpriced.sort("ticket_id"))
    )
    assert unpriced.height == 2
    stages = json.loads((out / "run.json").read_text())["stages"]
    assert [s["name"] for s in stages] == ["unpriced", "links", "technician lines", "partner lines"]
    assert all(s["calls"] > 0 for s in stages)


def test_the_submitted_job_refuses_a_folder_that_is_no_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        distributed_main(["settle", "--inputs", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    )
    assert "not an export (no layout.json)" in capsys.readouterr().err


def test_a_cluster_needs_a_shared_work_folder_and_an_unshared_one_is_refused(
    tmp_path: Path,
) -> None:
    with pytest.raises(ValueError, match="--work: a folder the driver and every worker"):
        SparkEngine(master="spark://spark-master:7077")
    # What the driver finds when the workers wrote elsewhere: the commit marker, no files.
    (tmp_path / "technician_lines").mkdir()
    (tmp_path / "technician_lines" / "_SUCCESS").touch()
    with pytest.raises(StageFailed, match="must be one the driver and every worker share"):
        _read_back(tmp_path, ["technician_lines"], LINES)
