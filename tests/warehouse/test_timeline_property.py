"""A property of settlement over time, on a real warehouse: for random sequences of publishes
(any effective date, retroactive or not), period closes, settlement runs and late arrivals of
tickets and refunds, no line of a closed period ever changes, and every line is priced by the
version effective on its ticket's completion date (a monthly line: on its period's last day)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest import ingest
from settlement.rules import DEFAULT_RULES
from settlement.timeline import period_end, period_start
from warehouse.db import connect_read_only, writer
from warehouse.publish import publish
from warehouse.settle import close_period, live_timeline, settle_warehouse

HELD = "hash(ticket_id) % 5 = 0"  # a fifth of the tickets arrive late


@pytest.fixture(scope="module")
def loaded(feed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("property") / "w.duckdb"
    ingest([feed_dir], db)
    return db


def lines(db: Path) -> pl.DataFrame:
    with connect_read_only(db) as con:
        return con.sql("select * exclude (run_id) from settlement_lines order by all").pl()


def statuses(db: Path) -> dict[str, str]:
    with connect_read_only(db) as con:
        return dict(con.sql("select period, status from settlement_periods").fetchall())


def check_versions(db: Path) -> None:
    """Open periods: each line (adjustments included) is priced by the version effective on its
    ticket's completion date, a monthly line by the one on its period's last day. Closed
    periods keep the versions they were closed with, whatever was published since."""
    timeline = live_timeline(db)
    with connect_read_only(db) as con:
        priced = con.sql(
            "select l.line_kind, l.origin_kind, coalesce(l.origin_period, l.period),"
            " t.completed_date, l.rule_version"
            " from settlement_lines as l left join tickets as t using (ticket_id)"
            " join settlement_periods as p on p.period = l.period and p.status = 'open'"
        ).fetchall()
    for kind, origin_kind, period, completed, version in priced:
        monthly = "partner_monthly" in (kind, origin_kind)
        day = period_end(period) if monthly else completed
        assert version == timeline.version_on(day).version, (kind, period, completed, version)


steps = st.lists(
    st.one_of(
        st.tuples(st.just("publish"), st.integers(0, 130), st.integers(0, 9_000), st.booleans()),
        st.tuples(st.just("close")),
        st.tuples(st.just("arrive")),
        st.tuples(st.just("refund"), st.integers(0, 40)),
    ),
    min_size=3,
    max_size=5,
)


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps)
def test_closed_lines_never_change_and_versions_follow_completion_dates(
    loaded: Path, tmp_path_factory: pytest.TempPathFactory, plan: list[tuple[object, ...]]
) -> None:
    folder = tmp_path_factory.mktemp("run")
    db = folder / "w.duckdb"
    shutil.copy(loaded, db)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERBOARD_APP_DB", str(folder / "app.sqlite"))
        with writer(db) as con:
            con.execute(f"create table held_tickets as select * from tickets where {HELD}")
            con.execute(f"delete from tickets where {HELD}")
        settle_warehouse(db)
        first_day = period_start(min(statuses(db)))
        frozen: dict[str, pl.DataFrame] = {}
        for step in plan:
            if step[0] == "publish":
                _, offset, urgent_bp, retroactive = step
                document = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
                document["surcharges"]["urgent_bp"] = urgent_bp
                effective = first_day + timedelta(days=int(offset))  # type: ignore[call-overload]
                try:
                    publish(db, document, effective_date=effective, note="property",
                            author="p", retroactive=bool(retroactive))  # fmt: skip
                except ValueError as refused:
                    assert "reaches into closed period" in str(refused)
                    assert not retroactive
            elif step[0] == "close":
                open_periods = sorted(p for p, s in statuses(db).items() if s == "open")
                if open_periods:
                    close_period(db, open_periods[0], actor="p", note="property")
                    frozen[open_periods[0]] = lines(db).filter(pl.col("period") == open_periods[0])
            elif step[0] == "arrive":
                with writer(db) as con:
                    con.execute("insert into tickets select * from held_tickets")
                    con.execute("delete from held_tickets")
            else:
                with writer(db) as con:
                    con.execute(
                        "insert into order_refunds by name select platform,"
                        " 'prop-' || order_id as refund_id, order_id, 'succeeded' as status,"
                        " paid_cents as refund_cents, now()::timestamp as requested_at,"
                        " now()::timestamp as refunded_at, now()::timestamp as updated_at, run_id"
                        " from orders as o where paid_cents > 0 and hash(order_id) % 41 = $k"
                        " and not exists (select 1 from order_refunds as r"
                        " where r.platform = o.platform and r.refund_id = 'prop-' || o.order_id)",
                        {"k": step[1]},
                    )
            settle_warehouse(db)
            now = lines(db)
            for period, kept in frozen.items():
                assert now.filter(pl.col("period") == period).equals(kept), period
            check_versions(db)
        closed = sorted(p for p, s in statuses(db).items() if s == "closed")
        opened = sorted(p for p, s in statuses(db).items() if s == "open")
        assert not opened or not closed or max(closed) < min(opened)  # periods close in order
