"""Migrations, the writer lock, the serving snapshot, and the app store beside them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest

from warehouse import app_store
from warehouse.db import (
    WarehouseLocked,
    connect_read_only,
    connect_serving,
    migration_files,
    schema_version,
    serving_path,
    writer,
)

ROOT = Path(__file__).resolve().parents[2]
LATEST = migration_files()[-1][0]

HOLD_WRITER = """
import sys, time
from pathlib import Path
from warehouse.db import writer
db, marker, seconds = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
with writer(db) as con:
    con.execute("insert into partners values ('PT8888', '并发测试服务商', 'dealer', '11')")
    marker.write_text("holding")
    time.sleep(seconds)
"""


def hold_writer(db: Path, tmp_path: Path, seconds: float) -> subprocess.Popen[bytes]:
    marker = tmp_path / "holding"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITER, str(db), str(marker), str(seconds)], cwd=ROOT
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None, "the writer process died"
        assert time.monotonic() < deadline, "the writer process never took the lock"
        time.sleep(0.05)
    return process


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.sql("select table_name from information_schema.tables").fetchall()
    return {name for (name,) in rows}


def test_a_new_warehouse_is_migrated_to_the_latest_version(db_path: Path) -> None:
    with writer(db_path) as con:
        assert schema_version(con) == LATEST
        assert {"tickets", "orders", "order_refunds", "quarantine", "ingestion_runs"} <= tables(con)
        assert {
            "provinces",
            "cities",
            "service_items",
            "parts",
            "partners",
            "technicians",
        } <= tables(con)


def test_an_older_warehouse_file_is_upgraded_in_place(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    con = duckdb.connect(str(db_path))  # a file as the first release left it
    con.execute(
        "create table schema_migrations (version integer primary key, name varchar not null,"
        " applied_at timestamp not null default (now()::timestamp))"
    )
    version, name, sql = migration_files()[0]
    con.execute(sql)
    con.execute("insert into schema_migrations (version, name) values (?, ?)", [version, name])
    con.execute("insert into provinces values ('11', '北京市', '北京', '华北')")
    con.close()
    with writer(db_path) as con:
        assert schema_version(con) == LATEST > version
        assert con.sql("select province_name from provinces").fetchall() == [("北京市",)]
        assert "ticket_facts" in tables(con)  # added by a later migration
        applied = con.sql("select version from schema_migrations order by version").fetchall()
        assert [v for (v,) in applied] == [v for v, _, _ in migration_files()]


FEED_ROWS = {
    "tickets": "insert into tickets values ('TK1', 'completed', 'INS-AC-01', 1,"
    " [{'part_code': 'P-1', 'quantity': 2}], '110100', 'T00001', 'PT0001', 'in_sale',"
    " 'staff', true, false, false, false, 30, 'gold', 'taobao', 'O1', null,"
    " '2026-10-01 01:00', '2026-10-01 03:00', '2026-10-01', '2026-10-01 03:00', 7)",
    "orders": "insert into orders values ('taobao', 'O1', 'paid', false, null, 100, 100, 0,"
    " null, null, 1, '2026-09-30', '2026-09-30', '2026-09-30', 7)",
    "order_refunds": "insert into order_refunds values ('taobao', 'R1', 'O1', 'succeeded', 50,"
    " '2026-10-02', '2026-10-03', '2026-10-03', 7)",
    "quarantine": "insert into quarantine values ('fsm_csv', 'a.csv', 'ab12', 3, '工单号', 'x',"
    " 'missing ticket id', 'x,,', 7)",
}


def test_the_feed_tables_lose_their_key_indexes_and_keep_every_row(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    con = duckdb.connect(str(db_path))  # a file as release 12 left it, with rows in each table
    con.execute(
        "create table schema_migrations (version integer primary key, name varchar not null,"
        " applied_at timestamp not null default (now()::timestamp))"
    )
    for version, name, sql in migration_files():
        if version <= 12:
            con.execute(sql)
            con.execute(
                "insert into schema_migrations (version, name) values (?, ?)", [version, name]
            )
    for insert in FEED_ROWS.values():
        con.execute(insert)
    before = {table: con.sql(f"select * from {table}").fetchall() for table in FEED_ROWS}
    con.close()
    with writer(db_path) as con:
        for table, rows in before.items():
            assert con.sql(f"select * from {table}").fetchall() == rows, table
        kinds = con.sql(
            "select distinct constraint_type from duckdb_constraints()"
            " where table_name in ('tickets', 'orders', 'order_refunds', 'quarantine')"
        ).fetchall()
        assert kinds == [("NOT NULL",)]
        assert not con.sql("select * from duckdb_indexes()").fetchall()


def test_the_serving_snapshot_is_published_only_after_a_clean_write(db_path: Path) -> None:
    with writer(db_path) as con:
        con.execute("insert into provinces values ('11', '北京市', '北京', '华北')")
    with connect_serving(db_path) as con:
        assert con.sql("select count(*) from provinces").fetchall() == [(1,)]
    with pytest.raises(RuntimeError, match="boom"), writer(db_path) as con:
        con.execute("insert into provinces values ('12', '天津市', '天津', '华北')")
        raise RuntimeError("boom")
    with connect_serving(db_path) as con:
        assert con.sql("select count(*) from provinces").fetchall() == [(1,)]


def test_a_second_writer_waits_for_the_first(db_path: Path, tmp_path: Path) -> None:
    with writer(db_path):
        pass
    holder = hold_writer(db_path, tmp_path, seconds=30)
    try:
        locked = pytest.raises(WarehouseLocked, match="another pipeline or settlement command")
        with locked, writer(db_path, timeout=0.5):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_dashboard_reads_and_rule_publishes_proceed_while_a_load_holds_the_warehouse(
    db_path: Path, tmp_path: Path
) -> None:
    with writer(db_path) as con:
        con.execute("insert into partners values ('PT0001', '北京服务商', 'direct', '11')")
    store = app_store.app_store_path(db_path)
    holder = hold_writer(db_path, tmp_path, seconds=4)
    try:
        # The primary file is locked by the loader, read-only opens included...
        with pytest.raises(duckdb.IOException):
            connect_read_only(db_path)
        # ...but the serving snapshot answers, and the app's own store takes the publish.
        with connect_serving(db_path) as con:
            assert con.sql("select partner_id from partners").fetchall() == [("PT0001",)]
        version = app_store.publish_rule_version(
            store, {"version": "draft"}, effective_date=date(2026, 1, 1), note="test", author="ana"
        )
        assert holder.poll() is None, "the load finished before the reads were tried"
    finally:
        assert holder.wait(timeout=60) == 0
    with connect_serving(db_path) as con:  # the finished load is now served...
        rows = con.sql("select partner_id from partners order by 1").fetchall()
        assert rows == [("PT0001",), ("PT8888",)]
    published = app_store.rule_versions(store)  # ...and the publish was not lost
    assert [v.version for v in published] == [version] and published[0].author == "ana"


def test_the_audit_log_cannot_be_edited(db_path: Path) -> None:
    store = app_store.app_store_path(db_path)
    app_store.publish_rule_version(
        store, {}, effective_date=date(2026, 1, 1), note="first", author="ana"
    )
    with pytest.raises(Exception, match="append-only"), app_store.connect(store) as con:
        con.execute("update audit_log set actor = 'mallory'")
    with pytest.raises(ValueError, match="note"):
        app_store.publish_rule_version(
            store, {}, effective_date=date(2026, 1, 1), note=" ", author="a"
        )


def test_serving_path_sits_beside_the_primary() -> None:
    assert serving_path(Path("data/tierboard.duckdb")) == Path("data/tierboard.serving.duckdb")
    assert os.fspath(serving_path(Path("x/w.db"))) == "x/w.serving.db"


def test_the_serving_snapshot_stores_the_page_views_as_tables(demo_warehouse: Path) -> None:
    """The pages read ticket_economics (and the facts under it) as tables computed at publish;
    their rows are exactly what the primary's views give."""
    from warehouse.db import MATERIALIZED, connect_read_only, serving_path

    def kinds(path: Path) -> dict[str, str]:
        with connect_read_only(path) as con:
            rows = con.execute(
                "select table_name, table_type from information_schema.tables"
                " where table_name = any($names)",
                {"names": list(MATERIALIZED)},
            ).fetchall()
        return dict(rows)

    assert kinds(demo_warehouse) == dict.fromkeys(MATERIALIZED, "VIEW")
    assert kinds(serving_path(demo_warehouse)) == dict.fromkeys(MATERIALIZED, "BASE TABLE")
    for name in MATERIALIZED:
        with connect_read_only(demo_warehouse) as con:
            primary = con.sql(f"select * from {name}").pl()
        with connect_read_only(serving_path(demo_warehouse)) as con:
            served = con.sql(f"select * from {name}").pl()
        key = served.columns[:2]
        assert served.sort(key).equals(primary.sort(key)), name
        assert served.height > 0
