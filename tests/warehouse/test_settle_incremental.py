"""Incremental settlement against a real warehouse: a run recomputes only the (payee, period)
groups whose inputs or rules changed, and its lines are exactly a full run's.

The proof is a property: two copies of one warehouse receive the same random sequence of feed
batches (new, updated, moved and cancelled tickets, rework links, new and updated orders,
refunds, rule publishes, period closes, accepted disputes); after each batch one copy is
settled incrementally and the other in full, and every settlement line (all columns but the
run id), every unpriced ticket and every period's status must agree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.generate import write_feeds
from pipelines.generate.simulate import simulate_world
from pipelines.ingest import ingest
from pipelines.reference import Reference
from settlement.rules import DEFAULT_RULES
from settlement.timeline import period_start
from warehouse import app_store, disputes
from warehouse.db import connect_read_only, writer
from warehouse.publish import publish
from warehouse.settle import close_period, settle_warehouse

ROOT = Path(__file__).resolve().parents[2]
HELD = "hash(ticket_id || 'held') % 6 = 0"  # a sixth of the tickets arrive in later batches


@pytest.fixture(scope="module")
def small(reference: Reference, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small warehouse (three months), with some tickets held back for later batches."""
    world = simulate_world(reference, 1_500, seed=5, months=3, end_month="2026-03")
    folder = tmp_path_factory.mktemp("incremental")
    write_feeds(world, folder / "feeds")
    db = folder / "w.duckdb"
    ingest([folder / "feeds"], db)
    with writer(db) as con:
        con.execute(f"create table held_tickets as select * from tickets where {HELD}")
        con.execute(f"delete from tickets where {HELD}")
    return db


def lines(db: Path) -> pl.DataFrame:
    with connect_read_only(db) as con:
        return con.sql("select * exclude (run_id) from settlement_lines order by all").pl()


def state(db: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    with connect_read_only(db) as con:
        return (
            con.sql("select * exclude (run_id) from settlement_lines order by all").pl(),
            con.sql("select * exclude (run_id) from settlement_unpriced order by all").pl(),
            con.sql("select period, status from settlement_periods order by all").pl(),
        )


def statuses(db: Path) -> dict[str, str]:
    with connect_read_only(db) as con:
        return dict(con.sql("select period, status from settlement_periods").fetchall())


def last_run(db: Path) -> tuple[str, int]:
    with connect_read_only(db) as con:
        mode, groups = con.sql(
            "select mode, groups_recomputed from settlement_runs order by run_id desc limit 1"
        ).fetchall()[0]
    return str(mode), int(groups)


# Feed batches, each one SQL statement (or a few) bound to a drawn integer k: the same batch is
# applied to both copies. Tickets are chosen by hash buckets, so every batch touches a few.
def pick(alias: str = "") -> str:
    """Some completed tickets (about 1 in 29), by bucket ``$k`` of a salted hash."""
    at = f"{alias}." if alias else ""
    return f"{at}status = 'completed' and hash({at}ticket_id || $salt) % 29 = $k"


PICK = pick()
BATCHES: dict[str, list[str]] = {
    "arrive": [
        "insert into tickets select * from held_tickets where hash(ticket_id) % 3 = $k % 3",
        "delete from held_tickets where hash(ticket_id) % 3 = $k % 3",
    ],
    "urgent": [f"update tickets set is_urgent = not is_urgent where {PICK}"],
    "quantity": [f"update tickets set quantity = quantity + 1 where {PICK}"],
    # Another technician (and the partner they serve through) takes the ticket.
    "technician": [
        "update tickets as t set technician_id = x.technician_id, partner_id = x.partner_id"
        " from (select technician_id, partner_id,"
        "  row_number() over (order by technician_id) - 1 as n from technicians) as x"
        f" where x.n = hash(t.ticket_id) % (select count(*) from technicians) and {pick('t')}"
    ],
    # Completed three weeks earlier: often in the month before, which may be closed.
    "move": [
        "update tickets set completed_at = completed_at - interval 21 day,"
        f" completed_date = completed_date - 21 where {PICK}"
    ],
    "cancel": [f"update tickets set status = 'cancelled' where {PICK}"],
    # A rework of the ticket completed just before it in the same city: any technician, and
    # sometimes in the previous month.
    "rework": [
        "update tickets as t set rework_of = p.previous from (select ticket_id,"
        "  lag(ticket_id) over (partition by city_code order by completed_at, ticket_id)"
        "  as previous from tickets where status = 'completed') as p"
        f" where p.ticket_id = t.ticket_id and p.previous is not null and {pick('t')}"
    ],
    # A ticket serves the order of the ticket completed before it in the same city: which one
    # served the order first decides the partner's share.
    "share_order": [
        "update tickets as t set order_platform = p.order_platform, order_id = p.order_id"
        " from (select ticket_id,"
        "  lag(order_platform) over w as order_platform, lag(order_id) over w as order_id"
        "  from tickets where status = 'completed'"
        "  window w as (partition by city_code order by completed_at, ticket_id)) as p"
        f" where p.ticket_id = t.ticket_id and p.order_id is not null and {pick('t')}"
    ],
    "new_order": [
        "insert into orders select 'wechat', 'incr-' || t.ticket_id, 'paid', false, null,"
        " 20000 + 100 * $k, 15000 + 100 * $k, 0, c.province_code, t.city_code, 1,"
        " t.created_at, t.created_at, t.created_at, 0"
        f" from tickets as t join cities as c using (city_code)"
        f" where t.order_id is null and {pick('t')}",
        "update tickets set order_platform = 'wechat', order_id = 'incr-' || ticket_id"
        f" where order_id is null and {PICK}",
    ],
    "order_update": [
        "update orders set paid_cents = paid_cents + 1234,"
        " province_code = case when $k % 2 = 0 then null else province_code end"
        " where hash(order_id || $salt) % 29 = $k"
    ],
    "refund": [
        "insert into order_refunds by name select platform, 'incr-' || order_id as refund_id,"
        " order_id, 'succeeded' as status, paid_cents // (1 + $k % 3) as refund_cents,"
        " created_at as requested_at, created_at as refunded_at, created_at as updated_at,"
        " run_id from orders as o where paid_cents > 0 and hash(order_id || $salt) % 29 = $k"
        " and not exists (select 1 from order_refunds as r"  # a refund is refunded once
        " where r.platform = o.platform and r.refund_id = 'incr-' || o.order_id)"
    ],
}
ALL_SALT = "salt"


def apply_batch(dbs: list[Path], kind: str, k: int) -> None:
    for db in dbs:
        with writer(db) as con:
            for statement in BATCHES[kind]:
                params = {"k": k, "salt": ALL_SALT} if "$salt" in statement else {"k": k}
                con.execute(statement, params)


def publish_step(db: Path, offset: int, urgent_bp: int, retroactive: bool) -> None:
    document = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    document["surcharges"]["urgent_bp"] = urgent_bp
    document["item_prices"]["INS-AC-01"]["B"] += offset
    first_day = period_start(min(statuses(db)))
    try:
        publish(db, document, effective_date=first_day + timedelta(days=offset), note="incr",
                author="p", retroactive=retroactive)  # fmt: skip
    except ValueError as refused:  # into a closed period without saying so
        assert "reaches into closed period" in str(refused)


def dispute_step(db: Path, k: int) -> None:
    """An accepted dispute on some line: a manual adjustment booked in the first open period."""
    with connect_read_only(db) as con:
        found = con.sql(
            "select payee_type, payee_id, ticket_id, period from settlement_lines"
            " where line_kind = 'ticket' order by hash(ticket_id || $k) limit 1",
            params={"k": k},
        ).fetchall()
    if not found:
        return
    payee_type, payee_id, ticket_id, period = found[0]
    store = app_store.app_store_path(db)
    dispute_id = disputes.raise_dispute(
        store, actor="p", payee_type=payee_type, payee_id=payee_id, ticket_id=ticket_id,
        reason="incr", period=period, line_kind="ticket",
    )  # fmt: skip
    booked = disputes.first_open_period(statuses(db))
    disputes.accept(store, dispute_id, actor="m", amount=f"{k}.25", period=booked)


NAMES = ("lines", "unpriced", "periods")
KINDS = [*sorted(BATCHES), "publish", "close", "dispute"]
# (kind, k, urgent surcharge of a publish, whether a publish may reach into closed periods)
steps = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 85), st.integers(0, 9_000), st.booleans()),
    min_size=3,
    max_size=5,
)


def close_first_open(dbs: list[Path]) -> None:
    opened = sorted(p for p, s in statuses(dbs[0]).items() if s == "open")
    if not opened:
        return
    for db in dbs:
        close_period(db, opened[0], actor="p", note="incr")


def run_plan(small: Path, folder: Path, plan: list[tuple[str, int, int, bool]]) -> None:
    """Both copies through ``plan``; after each step incremental and full runs must agree."""
    incremental, full = folder / "incremental" / "w.duckdb", folder / "full" / "w.duckdb"
    for db in (incremental, full):
        db.parent.mkdir()
        shutil.copy(small, db)
    with pytest.MonkeyPatch.context() as patch:
        # One app store for both: the same publishes and disputes reach both copies.
        patch.setenv("TIERBOARD_APP_DB", str(folder / "app.sqlite"))
        settle_warehouse(incremental)
        settle_warehouse(full, full=True)
        for step in plan:
            kind, k, urgent_bp, retroactive = step
            before = statuses(full)
            if kind == "publish":
                publish_step(full, k, urgent_bp, retroactive)
            elif kind == "close":
                close_first_open([incremental, full])
            elif kind == "dispute":
                dispute_step(full, k)
            else:
                apply_batch([incremental, full], kind, k % 29)
            ran = settle_warehouse(incremental)
            settle_warehouse(full, full=True)
            # A close, or a ticket moved into a month before the latest closed one (recorded
            # closed), is settled in full; anything else incrementally.
            late = any(p not in before and s == "closed" for p, s in statuses(full).items())
            assert ran.mode == ("full" if kind == "close" or late else "incremental"), step
            now, expected = state(incremental), state(full)
            for name, got, want in zip(NAMES, now, expected, strict=True):
                assert got.equals(want), f"{name} differ after {step}"
        assert not settle_warehouse(incremental).periods_written  # and it settles to rest


def test_every_kind_of_batch_in_turn(small: Path, tmp_path: Path) -> None:
    plan = [(kind, 7, 4_000, True) for kind in KINDS if kind != "close"]
    run_plan(small, tmp_path, [("close", 0, 0, False), *plan])


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps)
def test_incremental_runs_write_exactly_the_lines_of_full_runs(
    small: Path, tmp_path_factory: pytest.TempPathFactory, plan: list[tuple[str, int, int, bool]]
) -> None:
    run_plan(small, tmp_path_factory.mktemp("pair"), plan)


@pytest.fixture
def settled(small: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "w.duckdb"
    shutil.copy(small, db)
    monkeypatch.setenv("TIERBOARD_APP_DB", str(tmp_path / "app.sqlite"))
    settle_warehouse(db)
    return db


def stored_lines(db: Path) -> pl.DataFrame:
    """Every line with its run id: what an incremental run must leave untouched."""
    with connect_read_only(db) as con:
        return con.sql("select * from settlement_lines order by all").pl()


def test_nothing_changed_recomputes_nothing(settled: Path) -> None:
    before = stored_lines(settled)
    again = settle_warehouse(settled)
    assert (again.mode, again.groups_recomputed, again.status) == ("incremental", 0, "unchanged")
    assert last_run(settled) == ("incremental", 0)
    assert stored_lines(settled).equals(before)


def test_one_changed_ticket_rewrites_only_its_groups(settled: Path, tmp_path: Path) -> None:
    with connect_read_only(settled) as con:
        ticket, technician, partner, period = con.sql(
            "select ticket_id, technician_id, partner_id, strftime(completed_date, '%Y-%m')"
            " from tickets where status = 'completed' and rework_of is null and order_id is null"
            " and ticket_id not in (select rework_of from tickets where rework_of is not null)"
            " order by ticket_id limit 1"
        ).fetchall()[0]
    before = stored_lines(settled)
    with writer(settled) as con:
        con.execute(
            "update tickets set is_urgent = not is_urgent where ticket_id = $t", {"t": ticket}
        )
    ran = settle_warehouse(settled)
    # Its technician's month and its partner's month, nothing else.
    assert (ran.mode, ran.groups_recomputed, ran.periods_written) == ("incremental", 2, [period])
    mine = (pl.col("period") == period) & pl.col("payee_id").is_in([technician, partner])
    after = stored_lines(settled)
    assert after.filter(~mine).equals(before.filter(~mine))  # run ids included
    assert not after.filter(mine).equals(before.filter(mine))
    # And the lines are a full run's.
    copy = tmp_path / "full" / "w.duckdb"
    copy.parent.mkdir()
    shutil.copy(settled, copy)
    settle_warehouse(copy, full=True)
    assert lines(copy).equals(lines(settled))


def test_an_incremental_run_writes_only_the_lines_that_changed(settled: Path) -> None:
    with connect_read_only(settled) as con:
        ticket = con.sql(
            "select ticket_id from settlement_lines where line_kind = 'ticket'"
            " and payee_type = 'technician' order by ticket_id limit 1"
        ).fetchall()[0][0]
    with writer(settled) as con:
        con.execute(
            "update tickets set is_urgent = not is_urgent where ticket_id = $t", {"t": ticket}
        )
    before = stored_lines(settled)
    ran = settle_warehouse(settled)
    after = stored_lines(settled)
    content = [c for c in after.columns if c != "run_id"]
    # The lines that are new in content are exactly those the run wrote, and it wrote no more:
    # the rest of its groups' lines keep the run that wrote them.
    fresh = after.join(before, on=content, how="anti", nulls_equal=True)
    assert 0 < fresh.height == ran.lines_written
    assert after.filter(pl.col("run_id") == ran.run_id).equals(fresh)
    assert ticket in fresh["ticket_id"].to_list()
    assert (
        ran.groups_recomputed >= 1
        and fresh.height < after.filter(pl.col("period").is_in(ran.periods_written)).height
    )
    assert after.height == before.height  # each changed line replaced, none lost


def test_a_stored_line_twice_over_is_written_once(settled: Path, tmp_path: Path) -> None:
    """Two copies of one line agree with one new line row by row: the comparison counts them."""
    with connect_read_only(settled) as con:
        # A technician line, and another ticket of the same technician's month.
        ticket, technician, other = con.sql(
            "select a.ticket_id, a.payee_id, b.ticket_id from settlement_lines as a"
            " join settlement_lines as b on b.payee_id = a.payee_id and b.period = a.period"
            " and b.line_kind = 'ticket' and b.ticket_id > a.ticket_id"
            " join tickets as t on t.ticket_id = b.ticket_id"
            " where a.line_kind = 'ticket' and a.payee_type = 'technician'"
            " order by a.ticket_id, b.ticket_id limit 1"
        ).fetchall()[0]
    with writer(settled) as con:
        con.execute(
            "insert into settlement_lines select * from settlement_lines"
            " where ticket_id = $t and payee_id = $p and line_kind = 'ticket'",
            {"t": ticket, "p": technician},
        )
        # The other ticket changes: the month is settled again.
        con.execute("update tickets set is_night = not is_night where ticket_id = $o", {"o": other})
    ran = settle_warehouse(settled)
    assert ran.mode == "incremental" and ran.groups_recomputed >= 1
    with connect_read_only(settled) as con:
        copies = con.sql(
            "select count(*) from settlement_lines where ticket_id = $t and payee_id = $p"
            " and line_kind = 'ticket'",
            params={"t": ticket, "p": technician},
        ).fetchall()[0][0]
    assert copies == 1
    copy = tmp_path / "full" / "w.duckdb"
    copy.parent.mkdir()
    shutil.copy(settled, copy)
    settle_warehouse(copy, full=True)
    assert lines(copy).equals(lines(settled))


def test_full_is_on_request_and_after_a_run_of_one_period(settled: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "settlement", "run", "--full", "--db", str(settled)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "; full, " in shown and "payee-period groups recomputed" in shown
    assert last_run(settled)[0] == "full"
    opened = sorted(p for p, s in statuses(settled).items() if s == "open")
    settle_warehouse(settled, period=opened[-1])
    # The other periods were not settled with it: nothing to compare the next run with.
    assert settle_warehouse(settled).mode == "full"
    assert settle_warehouse(settled).mode == "incremental"


def test_changed_reference_data_settles_in_full(settled: Path, tmp_path: Path) -> None:
    with writer(settled) as con:
        # A tier reclassification: every ticket of those cities is priced anew.
        con.execute(
            "update cities set city_tier = '五线' where city_tier <> '五线' and city_code in"
            " (select city_code from tickets group by 1 order by count(*) desc limit 3)"
        )
    before = lines(settled)
    assert settle_warehouse(settled).mode == "full"
    assert not lines(settled).equals(before)
    assert settle_warehouse(settled).mode == "incremental"


def test_the_baseline_keys_are_unique(settled: Path) -> None:
    apply_batch([settled], "arrive", 1)
    apply_batch([settled], "move", 4)
    settle_warehouse(settled)
    with connect_read_only(settled) as con:
        rows = con.sql(
            "select count(*), count(distinct ticket_id), count(ticket_id)"
            " from settlement_seen_tickets"
        ).fetchall()[0]
        settled_tickets = con.sql(
            "select count(*) from tickets where status = 'completed' and completed_date is not null"
        ).fetchall()[0][0]
        orders = con.sql(
            "select count(*), count(distinct (platform, order_id)) from settlement_seen_orders"
        ).fetchall()[0]
    assert rows == (settled_tickets, settled_tickets, settled_tickets)
    assert orders[0] == orders[1] > 0
