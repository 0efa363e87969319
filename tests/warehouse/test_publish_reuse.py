"""Publishing keeps the stored page views whose inputs did not change, and recomputes the rest:
either way the snapshot's tables are exactly what the primary's views give."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest
from polars.testing import assert_frame_equal

from warehouse.db import (
    MATERIALIZED,
    STORED_VIEWS,
    WarehouseDiskFull,
    connect_read_only,
    publish_serving_snapshot,
    serving_path,
    view_inputs,
    writer,
)
from warehouse.settle import close_period, period_statuses, settle_warehouse

KEYS = {"order_facts": ["platform", "order_id"], "ticket_economics": ["ticket_id"]}
NONE: set[str] = set()
ALL = set(MATERIALIZED)


@pytest.fixture
def warehouse(demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the small demo warehouse (both files), published once already."""
    for name in ("tierboard.duckdb", "tierboard.serving.duckdb"):
        shutil.copy(demo_warehouse.with_name(name), tmp_path / name)
    shutil.copy(demo_warehouse.with_name("app.sqlite"), tmp_path / "app.sqlite")
    monkeypatch.setenv("TIERBOARD_APP_DB", str(tmp_path / "app.sqlite"))
    return tmp_path / "tierboard.duckdb"


def recomputed(primary: Path) -> set[str]:
    """The views the last publish recomputed, as the served snapshot records them."""
    with connect_read_only(serving_path(primary)) as con:
        rows = con.execute(f"select view_name, is_recomputed from {STORED_VIEWS}").fetchall()
    assert {name for name, _ in rows} == ALL
    return {name for name, again in rows if again}


def assert_served_as_computed(primary: Path) -> None:
    """Each stored table in the snapshot equals the primary's view, row for row."""
    for name in MATERIALIZED:
        with connect_read_only(primary) as con:
            computed = con.sql(f"select * from {name}").pl().sort(KEYS[name])
        with connect_read_only(serving_path(primary)) as con:
            kind = con.execute(
                "select table_type from information_schema.tables where table_name = $name",
                {"name": name},
            ).fetchall()
            served = con.sql(f"select * from {name}").pl().sort(KEYS[name])
        assert kind == [("BASE TABLE",)], name
        assert served.height > 0, name
        assert_frame_equal(served, computed, check_exact=True)


def change(primary: Path, *statements: str) -> None:
    with writer(primary) as con:  # publishes on a clean exit, as every command does
        for statement in statements:
            con.execute(statement)


def test_a_publish_with_unchanged_inputs_reuses_every_stored_view(warehouse: Path) -> None:
    with connect_read_only(serving_path(warehouse)) as con:
        served_before = con.sql("select * from ticket_economics").pl().sort("ticket_id")
    publish_serving_snapshot(warehouse)
    assert recomputed(warehouse) == NONE
    assert_served_as_computed(warehouse)
    with connect_read_only(serving_path(warehouse)) as con:
        served = con.sql("select * from ticket_economics").pl().sort("ticket_id")
    assert_frame_equal(served, served_before)


def test_a_settlement_run_that_finds_nothing_changed_and_a_close_reuse_them(
    warehouse: Path,
) -> None:
    assert settle_warehouse(warehouse).status == "unchanged"
    assert recomputed(warehouse) == NONE
    first = min(p for p, s in period_statuses(warehouse).items() if s == "open")
    close_period(warehouse, first, actor="analyst", note="month end")
    assert recomputed(warehouse) == NONE
    assert period_statuses(warehouse)[first] == "closed"
    with connect_read_only(serving_path(warehouse)) as con:  # the close itself is served
        assert con.execute(
            "select status from settlement_periods where period = $p", {"p": first}
        ).fetchall() == [("closed",)]
    assert_served_as_computed(warehouse)


# Each change to a base table, and the views that read it (directly or through another view).
CHANGES = {
    "a settlement line's amount": (
        ["update settlement_lines set amount_cents = amount_cents + 1"
         " where ticket_id = (select min(ticket_id) from settlement_lines"
         " where line_kind = 'ticket')"],
        {"ticket_economics"},
    ),
    "a new ticket loaded": (
        ["insert into tickets select * replace ('T-NEW-1' as ticket_id, null as order_id,"
         " null as order_platform) from tickets where status = 'completed' limit 1"],
        {"ticket_economics"},
    ),
    "a ticket's flag": (
        ["update tickets set is_urgent = not is_urgent"
         " where ticket_id = (select max(ticket_id) from tickets)"],
        {"ticket_economics"},
    ),
    "a city's name (reference data)": (
        ["update cities set city_name = city_name || '新'"
         " where city_code = (select min(city_code) from tickets)"],
        {"ticket_economics"},
    ),
    "a refund succeeded": (
        ["update order_refunds set status = 'succeeded', refunded_at = requested_at"
         " where refund_id = (select min(refund_id) from order_refunds"
         " where status <> 'succeeded')"],
        {"order_facts", "ticket_economics"},
    ),
    "a partner's type": (
        ["update partners set partner_type = case partner_type when 'direct' then 'dealer'"
         " else 'direct' end where partner_id = (select min(partner_id) from tickets)"],
        {"ticket_economics"},
    ),
    "a line deleted and put back as it was": (
        ["create temp table kept as select * from settlement_lines"
         " where ticket_id = (select min(ticket_id) from settlement_lines)",
         "delete from settlement_lines where ticket_id = (select min(ticket_id) from kept)",
         "insert into settlement_lines select * from kept"],
        NONE,
    ),
}  # fmt: skip


@pytest.mark.parametrize("what", list(CHANGES))
def test_a_change_recomputes_exactly_the_views_that_read_it(warehouse: Path, what: str) -> None:
    statements, expected = CHANGES[what]
    change(warehouse, *statements)
    assert recomputed(warehouse) == expected
    assert_served_as_computed(warehouse)
    publish_serving_snapshot(warehouse)  # and the next publish keeps them again
    assert recomputed(warehouse) == NONE
    assert_served_as_computed(warehouse)


def test_a_migration_that_changes_a_view_recomputes_it_and_the_views_over_it(
    warehouse: Path,
) -> None:
    with connect_read_only(warehouse) as con:
        (sql,) = con.execute(
            "select sql from duckdb_views() where view_name = 'order_facts'"
        ).fetchall()[0]
    query = sql.removeprefix("CREATE VIEW order_facts AS ").rstrip(";")
    # Other SQL, the same rows: only the text tells the view changed.
    change(warehouse, f"create or replace view order_facts as select * from ({query})")
    assert recomputed(warehouse) == {"order_facts", "ticket_economics"}
    assert_served_as_computed(warehouse)
    # A new schema version alone (every migration records one) recomputes everything.
    change(
        warehouse,
        "insert into schema_migrations (version, name)"
        " select max(version) + 1, 'test' from schema_migrations",
    )
    assert recomputed(warehouse) == ALL
    assert_served_as_computed(warehouse)


@pytest.mark.parametrize(
    "damage",
    [
        f"drop table {STORED_VIEWS}",
        f"delete from {STORED_VIEWS}",
        f"update {STORED_VIEWS} set inputs_fingerprint = 'forged'",
        f"alter table {STORED_VIEWS} drop column inputs_fingerprint",
        "drop table order_facts__stored",
        "alter table order_facts__stored drop column refunded_cents",
    ],
)
def test_stored_views_without_a_trustworthy_record_are_recomputed(
    warehouse: Path, damage: str
) -> None:
    change(warehouse, damage)
    again = recomputed(warehouse)
    assert "order_facts" in again
    if "stored_views" in damage:
        assert again == ALL
    assert_served_as_computed(warehouse)


def test_a_warehouse_never_published_with_stored_views_is_materialized_in_full(
    warehouse: Path,
) -> None:
    with duckdb.connect(str(warehouse)) as con:  # as the previous release left the primary
        for name in MATERIALIZED:
            con.execute(f"drop table {name}__stored")
        con.execute(f"drop table {STORED_VIEWS}")
    serving_path(warehouse).unlink()
    publish_serving_snapshot(warehouse)
    assert recomputed(warehouse) == ALL
    assert_served_as_computed(warehouse)


def test_ticket_facts_is_served_as_its_view_and_a_stored_copy_left_behind_is_dropped(
    warehouse: Path,
) -> None:
    with duckdb.connect(str(warehouse)) as con:  # as a release that stored it left the primary
        con.execute("create table ticket_facts__stored as select * from ticket_facts")
        con.execute(
            f"insert into {STORED_VIEWS} values ('ticket_facts', 'old', true, now()::timestamp)"
        )
    publish_serving_snapshot(warehouse)
    assert recomputed(warehouse) == NONE
    with connect_read_only(warehouse) as con:
        computed = con.sql("select * from ticket_facts").pl().sort("ticket_id")
        left = con.execute(
            "select count(*) from duckdb_tables() where table_name = 'ticket_facts__stored'"
        ).fetchall()
    assert left == [(0,)]
    with connect_read_only(serving_path(warehouse)) as con:
        kind = con.execute(
            "select table_type from information_schema.tables where table_name = 'ticket_facts'"
        ).fetchall()
        served = con.sql("select * from ticket_facts").pl().sort("ticket_id")
    assert kind == [("VIEW",)]
    assert served.height > 0
    assert_frame_equal(served, computed, check_exact=True)


@pytest.mark.parametrize("old", ["missing", "damaged", "not DuckDB"])
def test_a_missing_or_damaged_old_snapshot_changes_nothing(warehouse: Path, old: str) -> None:
    """The stored rows come from the primary, so the previous snapshot is never read."""
    snapshot = serving_path(warehouse)
    if old == "missing":
        snapshot.unlink()
    elif old == "damaged":
        with snapshot.open("r+b") as handle:
            handle.seek(os.path.getsize(snapshot) // 2)
            handle.write(b"\xff" * 65536)
    else:
        snapshot.write_bytes(b"not a warehouse\n" * 1000)
    publish_serving_snapshot(warehouse)
    assert recomputed(warehouse) == NONE
    assert_served_as_computed(warehouse)


def test_a_full_disk_while_storing_the_views_keeps_the_old_snapshot_and_the_old_records(
    warehouse: Path,
) -> None:
    served = serving_path(warehouse).read_bytes()
    with connect_read_only(warehouse) as con:
        records = con.execute(f"select * from {STORED_VIEWS} order by 1").fetchall()
        kept = con.sql("select * from order_facts__stored").pl().sort(KEYS["order_facts"])
        (sql,) = con.execute(
            "select sql from duckdb_views() where view_name = 'ticket_economics'"
        ).fetchall()[0]
    query = sql.removeprefix("CREATE VIEW ticket_economics AS ").rstrip(";")
    with duckdb.connect(str(warehouse)) as con:  # changes not yet published
        con.execute("update orders set paid_cents = paid_cents + 1")
        # Computing ticket_economics now fails as DuckDB does on a full disk, after
        # order_facts was recomputed.
        con.execute(
            "create or replace view ticket_economics as select * from"
            f" ({query}) where error('IO Error: No space left on device') is null"
        )
    with pytest.raises(WarehouseDiskFull, match="disk filled up while publishing"):
        publish_serving_snapshot(warehouse)
    assert serving_path(warehouse).read_bytes() == served
    assert sorted(p.name for p in warehouse.parent.iterdir() if ".serving" in p.name) == [
        "tierboard.serving.duckdb"
    ]
    with connect_read_only(warehouse) as con:  # the half-done store was rolled back
        assert con.execute(f"select * from {STORED_VIEWS} order by 1").fetchall() == records
        again = con.sql("select * from order_facts__stored").pl().sort(KEYS["order_facts"])
    assert_frame_equal(again, kept)
    with duckdb.connect(str(warehouse)) as con:  # once there is room
        con.execute(f"create or replace view ticket_economics as {query}")
    publish_serving_snapshot(warehouse)
    assert recomputed(warehouse) == {"order_facts", "ticket_economics"}
    assert_served_as_computed(warehouse)


def test_the_inputs_of_each_view_come_from_the_catalog(demo_warehouse: Path) -> None:
    with connect_read_only(demo_warehouse) as con:
        inputs = {name: view_inputs(con, name) for name in MATERIALIZED}
    assert inputs["order_facts"].tables == ("order_refunds", "orders")
    assert inputs["ticket_economics"].tables == (
        "cities", "order_refunds", "orders", "partners", "provinces", "service_items",
        "settlement_lines", "tickets",
    )  # fmt: skip
    assert [name for name, _ in inputs["ticket_economics"].view_sql] == [
        "order_facts", "ticket_economics", "ticket_facts",
    ]  # fmt: skip
    assert all(found.is_deterministic for found in inputs.values())


@pytest.mark.parametrize(
    ("query", "deterministic"),
    [
        ("select * from a", True),
        ("with a as (select 1 as x) select * from a", True),  # a CTE shadowing a: a kept
        ("select x, now() as at from a", False),
        ("select x from a where random() < 0.5", False),
        ("select * from range(3)", False),
        ("select * from other.main.b", False),
    ],
)
def test_a_view_that_is_not_a_function_of_its_tables_is_never_reused(
    query: str, deterministic: bool
) -> None:
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as other")
        con.execute("create table other.main.b (x integer)")
        con.execute("create table a (x integer)")
        con.execute(f"create view v as {query}")
        found = view_inputs(con, "v")
    assert found.is_deterministic is deterministic
    if deterministic:
        assert found.tables == ("a",)
