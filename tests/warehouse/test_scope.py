"""Row-level scope: for random scopes and every query function, nothing outside the scope.

The demo world keeps every technician and partner in one province, which would hide a query that
admits an entity in scope and then returns all its rows. So the warehouse here is the demo one
with some technicians' tickets moved into other region groups and some partners' tickets into
other provinces, re-settled for real.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import MOVED_PARTNERS, MOVED_TECHNICIANS
from warehouse import queries
from warehouse.db import connect_read_only, serving_path
from warehouse.scope import Scope

GROUPS = ("华北", "东北", "华东", "华中", "华南", "西南", "西北")


@pytest.fixture(scope="module")
def facts(mixed_warehouse: Path) -> pl.DataFrame:
    with connect_read_only(serving_path(mixed_warehouse)) as con:
        return con.sql("select * from ticket_economics").pl()


@pytest.fixture(scope="module")
def placed_lines(mixed_warehouse: Path) -> pl.DataFrame:
    """Every line with its ticket's place (null for a line without a ticket)."""
    with connect_read_only(serving_path(mixed_warehouse)) as con:
        return con.sql(
            "select l.*, f.region_group, f.province_code, f.technician_id as ticket_technician"
            " from settlement_lines as l left join ticket_facts as f using (ticket_id)"
        ).pl()


@pytest.fixture(scope="module")
def technician_lines(placed_lines: pl.DataFrame) -> pl.DataFrame:
    return placed_lines.filter(pl.col("payee_type") == "technician")


@pytest.fixture(scope="module")
def partner_lines(placed_lines: pl.DataFrame) -> pl.DataFrame:
    """Every partner line, of any partner type."""
    return placed_lines.filter(pl.col("payee_type") != "technician")


def test_the_warehouse_has_cross_region_technicians_and_multi_province_partners(
    facts: pl.DataFrame,
) -> None:
    spread = facts.group_by("technician_id").agg(pl.col("region_group").n_unique())
    assert spread.filter(pl.col("region_group") > 1).height >= MOVED_TECHNICIANS // 2
    partners = facts.drop_nulls("partner_id").group_by("partner_id")
    assert (
        partners.agg(pl.col("province_code").n_unique()).filter(pl.col("province_code") > 1).height
        >= MOVED_PARTNERS // 2
    )


def inside(frame: pl.DataFrame, scope: Scope, technician: str = "technician_id") -> pl.DataFrame:
    """The rows of ``frame`` the scope may see, computed independently of the SQL."""
    if scope.role == "technician":
        return frame.filter(pl.col(technician) == scope.technician_id)
    if scope.role == "regional_lead":
        return frame.filter(
            pl.col("region_group").is_in(scope.region_groups)
            | pl.col("province_code").is_in(scope.provinces)
        )
    return frame


def cross_region(facts: pl.DataFrame) -> list[str]:
    spread = facts.group_by("technician_id").agg(pl.col("region_group").n_unique())
    return sorted(spread.filter(pl.col("region_group") > 1)["technician_id"])


def scopes(
    technicians: list[str], provinces: list[str], groups: tuple[str, ...] = GROUPS
) -> st.SearchStrategy[Scope]:
    leads = (
        st.tuples(
            st.lists(st.sampled_from(groups), max_size=3, unique=True),
            st.lists(st.sampled_from(provinces), max_size=3, unique=True),
        )
        .filter(lambda pair: bool(pair[0] or pair[1]))
        .map(
            lambda pair: Scope(
                "regional_lead", region_groups=tuple(pair[0]), provinces=tuple(pair[1])
            )
        )
    )
    own = st.sampled_from(technicians).map(lambda t: Scope("technician", technician_id=t))
    others = st.sampled_from([Scope("manager"), Scope("analyst"), Scope("admin")])
    return st.one_of(leads, own, others)


def check_payee_queries(
    db: Path, scope: Scope, lines: pl.DataFrame, technician: str, period: str
) -> None:
    """My earnings' queries for one technician: exactly the lines the scope may see."""
    visible = inside(lines.filter(pl.col("payee_id") == technician), scope, "payee_id")
    if scope.role == "regional_lead":
        visible = visible.drop_nulls("region_group")  # a line with no ticket has no place
    shown = queries.payee_lines(db, scope, technician, period)
    expected = visible.filter(pl.col("period") == period)
    key = ["ticket_id", "line_kind", "origin_period", "origin_kind"]
    assert sorted(shown.select(key).rows(), key=str) == sorted(expected.select(key).rows(), key=str)
    if scope.role == "regional_lead":
        places = lines.filter(pl.col("ticket_id").is_in(shown["ticket_id"].implode()))
        assert inside(places, scope).height == places.height  # every ticket shown is in scope
    months = queries.payee_months(db, scope, technician)
    totals = visible.group_by("period").agg(pl.col("amount_cents").sum())
    assert dict(months.select("period", "amount_cents").rows()) == dict(totals.rows())


def check_partner_queries(
    db: Path, scope: Scope, lines: pl.DataFrame, partner: str, period: str
) -> None:
    """My earnings' queries for one partner: exactly the lines the scope may see."""
    own = lines.filter(pl.col("payee_id") == partner)
    if scope.role == "technician" or (scope.role == "partner" and scope.partner_id != partner):
        visible = own.clear()
    elif scope.role == "regional_lead":
        visible = inside(own, scope).drop_nulls("region_group")
    else:
        visible = own
    shown = queries.payee_lines(db, scope, partner, period, "partner")
    key = ["ticket_id", "line_kind", "origin_period", "origin_kind"]
    expected = visible.filter(pl.col("period") == period)
    assert sorted(shown.select(key).rows(), key=str) == sorted(expected.select(key).rows(), key=str)
    assert set(shown["payee_type"]) <= {"direct", "dealer", "agent"}
    months = queries.payee_months(db, scope, partner, "partner")
    totals = visible.group_by("period").agg(pl.col("amount_cents").sum())
    assert dict(months.select("period", "amount_cents").rows()) == dict(totals.rows())
    # The same id asked for as a technician is another payee: none of the partner's lines.
    assert queries.payee_lines(db, scope, partner, period).is_empty()


def test_scopes_of_every_kind(
    facts: pl.DataFrame,
    technician_lines: pl.DataFrame,
    partner_lines: pl.DataFrame,
    mixed_warehouse: Path,
) -> None:
    crossing = cross_region(facts)
    partners = spread_partners(facts)
    technicians = sorted({*crossing, *sorted(set(facts["technician_id"]))[:30]})
    provinces = sorted(set(facts["province_code"]))

    @settings(max_examples=16, deadline=None, suppress_health_check=list(HealthCheck))
    @given(scope=scopes(technicians, provinces), data=st.data())
    def check(scope: Scope, data: st.DataObject) -> None:
        db = mixed_warehouse
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

        # My earnings, for a technician the scope may or may not see (a cross-region one often).
        whom = data.draw(st.sampled_from(crossing + technicians), label="technician")
        check_payee_queries(db, scope, technician_lines, whom, period)
        partner = data.draw(st.sampled_from(partners), label="partner")
        check_partner_queries(db, scope, partner_lines, partner, period)

        tickets, orders = queries.preview_inputs(db, scope, [period])
        assert set(tickets["ticket_id"]) <= set(inside(facts, scope)["ticket_id"]) | set(
            inside(technician_lines, scope, "ticket_technician")["ticket_id"]
        )
        served = set(tickets.select("order_platform", "order_id").drop_nulls().rows())
        assert set(orders.select("platform", "order_id").rows()) <= served

        operations = scope.role in queries.OPERATIONS_ROLES
        for health in (
            queries.feed_freshness, queries.recent_runs, queries.quarantine,
            queries.quarantine_reasons, queries.unpriced, queries.rule_triggers,
            queries.settlement_status, queries.settlement_runs, queries.new_platform_values,
            queries.alert_ticket_flags, queries.alert_rule_tickets, queries.alert_closed_refunds,
            queries.alert_flag_shares,
        ):  # fmt: skip
            frame = health(db, scope)
            assert operations or frame.is_empty(), health.__name__
        lag = queries.connector_lag(db, scope, max_lag_minutes=5)
        assert operations or lag.is_empty()

    check()


def spread_partners(facts: pl.DataFrame) -> list[str]:
    """Partners with tickets in more than one province first, then others."""
    spread = (
        facts.drop_nulls("partner_id")
        .group_by("partner_id")
        .agg(pl.col("province_code").n_unique())
    )
    ordered = spread.sort(["province_code", "partner_id"], descending=[True, False])
    return ordered["partner_id"].head(20).to_list()


def test_a_partner_contact_sees_their_partner_s_lines_and_nothing_else(
    facts: pl.DataFrame, partner_lines: pl.DataFrame, mixed_warehouse: Path
) -> None:
    """A partner contact has no region: their partner's every line (monthly ones included, in
    every province), their periods, and from every other query nothing."""
    partners = spread_partners(facts)
    technicians = sorted(set(facts["technician_id"]))[:5]

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        db = mixed_warehouse
        partner = data.draw(st.sampled_from(partners), label="partner")
        scope = Scope("partner", partner_id=partner)
        own = facts.filter(pl.col("partner_id") == partner)
        assert set(queries.periods(db, scope)) == set(own["period"])
        period = data.draw(st.sampled_from(sorted(set(own["period"]))), label="period")
        check_partner_queries(db, scope, partner_lines, partner, period)
        stranger = next(p for p in partners if p != partner)
        check_partner_queries(db, scope, partner_lines, stranger, period)
        for technician in technicians:
            assert queries.payee_months(db, scope, technician).is_empty()
        assert queries.overview(db, scope, period).is_empty()
        assert queries.region_ranking(db, scope, period).is_empty()
        assert queries.trend(db, scope, "channel").is_empty()
        assert queries.heatmap(db, scope, None, "category", "province").is_empty()
        for level in queries.DRILL_LEVELS:
            assert queries.drill(db, scope, period, level).is_empty()
        assert queries.tickets(db, scope, period=period, limit=100_000).is_empty()
        assert queries.ticket_lines(db, scope, own["ticket_id"].head(50).to_list()).is_empty()
        tickets, orders = queries.preview_inputs(db, scope, [period])
        assert tickets.is_empty() and orders.is_empty()
        for health in (
            queries.feed_freshness, queries.recent_runs, queries.quarantine,
            queries.quarantine_reasons, queries.unpriced, queries.rule_triggers,
            queries.settlement_status, queries.settlement_runs, queries.new_platform_values,
            queries.alert_ticket_flags, queries.alert_rule_tickets, queries.alert_closed_refunds,
            queries.alert_flag_shares,
        ):  # fmt: skip
            assert health(db, scope).is_empty(), health.__name__
        assert queries.connector_lag(db, scope, max_lag_minutes=5).is_empty()

    check()


def test_a_regional_lead_sees_no_line_of_a_technician_outside_their_regions(
    facts: pl.DataFrame, technician_lines: pl.DataFrame, mixed_warehouse: Path
) -> None:
    """Leads over one of a cross-region technician's regions: only that region's lines."""
    crossing = cross_region(facts)
    assert crossing

    @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        technician = data.draw(st.sampled_from(crossing), label="technician")
        own = technician_lines.filter(pl.col("payee_id") == technician).drop_nulls("region_group")
        groups = sorted(set(own["region_group"]))
        provinces = sorted(set(own["province_code"]))
        scope = data.draw(
            st.one_of(
                st.sampled_from(groups).map(lambda g: Scope("regional_lead", region_groups=(g,))),
                st.sampled_from(provinces).map(lambda p: Scope("regional_lead", provinces=(p,))),
            ),
            label="lead",
        )
        period = data.draw(st.sampled_from(sorted(set(own["period"]))), label="period")
        check_payee_queries(mixed_warehouse, scope, technician_lines, technician, period)
        shown = queries.payee_lines(mixed_warehouse, scope, technician, period)
        outside = own.filter(
            ~pl.col("region_group").is_in(scope.region_groups)
            & ~pl.col("province_code").is_in(scope.provinces)
        )
        assert not set(shown["ticket_id"]) & set(outside["ticket_id"])

    check()


SCOPED_QUERIES_CHECKED = {
    "periods", "overview", "trend", "region_ranking", "heatmap", "tickets", "drill",
    "ticket_lines", "payee_months", "payee_lines", "feed_freshness", "recent_runs",
    "quarantine", "quarantine_reasons", "unpriced", "rule_triggers", "settlement_status",
    "preview_inputs", "settlement_runs", "new_platform_values", "connector_lag",
    "alert_ticket_flags", "alert_rule_tickets", "alert_closed_refunds", "alert_flag_shares",
}  # fmt: skip


def test_every_scoped_query_function_is_checked_here() -> None:
    """A new query function must join the property test above before it can pass."""
    scoped = {
        name
        for name, function in inspect.getmembers(queries, inspect.isfunction)
        if function.__module__ == queries.__name__
        and not name.startswith("_")
        and "scope" in inspect.signature(function).parameters
    }
    assert scoped == SCOPED_QUERIES_CHECKED


def test_a_scope_must_name_what_it_limits() -> None:
    with pytest.raises(ValueError, match="needs the technician's id"):
        Scope("technician")
    with pytest.raises(ValueError, match="needs region groups or provinces"):
        Scope("regional_lead")
    with pytest.raises(ValueError, match="needs the partner's id"):
        Scope("partner")
    with pytest.raises(ValueError, match="unknown role"):
        Scope("superuser")
