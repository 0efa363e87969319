"""Row-level scope: for random scopes and every query function, nothing outside the scope."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warehouse import queries
from warehouse.db import connect_read_only
from warehouse.scope import Scope

GROUPS = ("华北", "东北", "华东", "华中", "华南", "西南", "西北")


@pytest.fixture(scope="module")
def facts(demo_warehouse: Path) -> pl.DataFrame:
    with connect_read_only(demo_warehouse.with_name("tierboard.serving.duckdb")) as con:
        return con.sql("select * from ticket_economics").pl()


def inside(frame: pl.DataFrame, scope: Scope) -> pl.DataFrame:
    """The rows of ``frame`` the scope may see, computed independently of the SQL."""
    if scope.role == "technician":
        return frame.filter(pl.col("technician_id") == scope.technician_id)
    if scope.role == "regional_lead":
        return frame.filter(
            pl.col("region_group").is_in(scope.region_groups)
            | pl.col("province_code").is_in(scope.provinces)
        )
    return frame


def scopes(facts_technicians: list[str], provinces: list[str]) -> st.SearchStrategy[Scope]:
    leads = (
        st.tuples(
            st.lists(st.sampled_from(GROUPS), max_size=3, unique=True),
            st.lists(st.sampled_from(provinces), max_size=3, unique=True),
        )
        .filter(lambda pair: bool(pair[0] or pair[1]))
        .map(
            lambda pair: Scope(
                "regional_lead", region_groups=tuple(pair[0]), provinces=tuple(pair[1])
            )
        )
    )
    technicians = st.sampled_from(facts_technicians).map(
        lambda t: Scope("technician", technician_id=t)
    )
    others = st.sampled_from([Scope("manager"), Scope("analyst"), Scope("admin")])
    return st.one_of(leads, technicians, others)


def test_scopes_of_every_kind(facts: pl.DataFrame, demo_warehouse: Path) -> None:
    technicians = sorted(set(facts["technician_id"]))[:50]
    provinces = sorted(set(facts["province_code"]))

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(scope=scopes(technicians, provinces), data=st.data())
    def check(scope: Scope, data: st.DataObject) -> None:
        db = demo_warehouse
        visible = inside(facts, scope)
        period = data.draw(st.sampled_from(sorted(set(facts["period"]))), label="period")
        in_period = visible.filter(pl.col("period") == period)

        assert set(queries.periods(db, scope)) == set(visible["period"])
        overview = queries.overview(db, scope, period).filter(pl.col("period") == period)
        assert int(overview["tickets"].sum()) == in_period.height
        assert int(queries.region_ranking(db, scope, period)["tickets"].sum()) == in_period.height
        assert int(queries.trend(db, scope, "channel")["tickets"].sum()) == visible.height
        heat = queries.heatmap(db, scope, None, "category", "province")
        assert int(heat["tickets"].sum()) == visible.height
        for level in queries.DRILL_LEVELS:
            assert int(queries.drill(db, scope, period, level)["tickets"].sum()) == in_period.height

        listed = queries.tickets(db, scope, period=period, limit=100_000)
        assert set(listed["ticket_id"]) == set(in_period["ticket_id"])

        everyone = facts.filter(pl.col("period") == period)["ticket_id"].head(300).to_list()
        lines = queries.ticket_lines(db, scope, everyone)
        assert set(lines["ticket_id"]) <= set(in_period["ticket_id"])
        if scope.role == "technician":
            assert set(lines["payee_id"]) <= {scope.technician_id}
            stranger = next(t for t in technicians if t != scope.technician_id)
            assert queries.payee_months(db, scope, stranger).is_empty()
            assert queries.payee_lines(db, scope, stranger, period).is_empty()

        operations = scope.role in queries.OPERATIONS_ROLES
        for health in (
            queries.feed_freshness, queries.recent_runs, queries.quarantine,
            queries.quarantine_reasons, queries.unpriced, queries.rule_triggers,
            queries.settlement_status,
        ):  # fmt: skip
            frame = health(db, scope)
            assert operations or frame.is_empty(), health.__name__

    check()


def test_a_scope_must_name_what_it_limits() -> None:
    with pytest.raises(ValueError, match="needs the technician's id"):
        Scope("technician")
    with pytest.raises(ValueError, match="needs region groups or provinces"):
        Scope("regional_lead")
    with pytest.raises(ValueError, match="unknown role"):
        Scope("superuser")
