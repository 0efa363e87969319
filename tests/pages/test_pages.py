"""Every page from app.py, as each demo identity: it renders; its numbers are the warehouse's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from pages.components.context import DEMO_IDENTITIES, PAGES_BY_ROLE
from pages.components.formatting import yuan
from tests.conftest import APP
from warehouse.db import connect_read_only

TITLES = {
    "overview": "Overview",
    "heatmaps": "Earnings heatmaps",
    "regions": "Regions",
    "rules": "Rules",
    "my_earnings": "My earnings",
    "data_health": "Data health",
    "audit": "Audit",
    "users": "Users",
    "disputes": "Disputes",
    "period_close": "Period close",
    "approvals": "Approvals",
}


def open_page(page: str, identity: str = "analyst", lang: str = "en", **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["as"] = identity
    at.query_params["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    return at


def scalar(db: Path, sql: str, **params: object) -> object:
    with connect_read_only(db) as con:
        return con.execute(sql, params).fetchall()[0][0]


CASES = [(i.key, page) for i in DEMO_IDENTITIES for page in PAGES_BY_ROLE[i.scope.role]]


@pytest.mark.parametrize(("identity", "page"), CASES)
def test_every_page_renders_for_every_identity_that_may_see_it(
    app_env: Path, identity: str, page: str
) -> None:
    at = open_page(page, identity)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title and at.title[0].value.startswith(TITLES[page])


def test_overview_numbers_are_the_warehouse_numbers(app_env: Path) -> None:
    period = str(scalar(app_env, "select max(period) from ticket_economics"))
    at = open_page("overview", "manager", period=period)
    metrics = {m.label: m.value for m in at.metric}
    tickets = scalar(app_env, "select count(*) from ticket_economics where period = $p", p=period)
    # Payouts are every settlement line of the period, partner monthly lines included.
    payouts = scalar(
        app_env, "select sum(amount_cents) from settlement_lines where period = $p", p=period
    )
    revenue = scalar(
        app_env, "select sum(revenue_cents) from ticket_economics where period = $p", p=period
    )
    helps = {m.label: m.help for m in at.metric}
    assert metrics["Tickets"] == f"{tickets:,}"
    assert helps["Payouts"] == yuan(int(payouts))  # type: ignore[arg-type]
    assert helps["Revenue"] == yuan(int(revenue))  # type: ignore[arg-type]
    assert helps["Margin"] == yuan(int(revenue) - int(payouts))  # type: ignore[arg-type]


def test_a_regional_lead_sees_only_their_region(app_env: Path) -> None:
    period = str(scalar(app_env, "select max(period) from ticket_economics"))
    at = open_page("regions", "lead-east", period=period)
    tickets = scalar(
        app_env,
        "select count(*) from ticket_economics where period = $p and region_group = '华东'",
        p=period,
    )
    assert {m.label: m.value for m in at.metric}["Tickets"] == f"{tickets:,}"


def test_drill_down_follows_the_url(app_env: Path) -> None:
    period = str(scalar(app_env, "select max(period) from ticket_economics"))
    province = str(scalar(
        app_env,
        "select province_name from ticket_economics where period = $p and region_group = '华东'"
        " group by 1 order by count(*) desc limit 1",
        p=period,
    ))  # fmt: skip
    at = open_page("regions", "manager", period=period, group="华东", province=province)
    labels = [b.label for b in at.button]
    assert f"Province: {province}" in labels and "Region group: 华东" in labels
    zh = open_page("regions", "manager", lang="zh", period=period, group="华东", province=province)
    assert f"省份: {province}" in [b.label for b in zh.button]
    tickets = scalar(
        app_env,
        "select count(*) from ticket_economics where period = $p and province_name = $province",
        p=period,
        province=province,
    )
    assert {m.label: m.value for m in at.metric}["Tickets"] == f"{tickets:,}"


def test_my_earnings_total_is_the_technicians_lines(app_env: Path) -> None:
    technician, period = scalar(
        app_env,
        "select [payee_id, period] from settlement_lines where payee_type = 'technician'"
        " group by payee_id, period order by count(*) desc limit 1",
    )  # type: ignore[misc]
    at = open_page("my_earnings", "manager", tech=technician, month=period)
    total = scalar(
        app_env,
        "select sum(amount_cents) from settlement_lines where payee_type = 'technician'"
        " and payee_id = $t and period = $p",
        t=technician,
        p=period,
    )
    assert {m.label: m.value for m in at.metric}[f"Total for {period}"] == yuan(int(total))  # type: ignore[arg-type]
    assert at.get("progress"), "the ladder progress bar is shown"


def test_a_technician_sees_only_my_earnings_and_only_their_own(app_env: Path) -> None:
    at = open_page("my_earnings", "technician", tech="T00001")
    assert not at.exception
    # The URL cannot change whose earnings a technician sees.
    assert at.subheader[0].value.startswith("T00042 · ")
    # The only page script a technician's navigation holds is theirs; the other roles' paths
    # are forwarders back to it (named, not scripts).
    known = r"Known pages: \['Tierboard', '[^']*my_earnings\.py'(, '[a-z_]+')+\]"
    with pytest.raises(ValueError, match=known):
        open_page("overview", "technician")


def test_an_empty_warehouse_is_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERBOARD_DB", str(tmp_path / "none.duckdb"))
    monkeypatch.setenv("TIERBOARD_APP_DB", str(tmp_path / "app.sqlite"))
    st.cache_data.clear()
    at = open_page("overview", "manager")
    assert not at.exception
    assert any("No warehouse yet" in i.value for i in at.info)


def test_data_health_names_new_platform_values_and_failed_settlements(app_env: Path) -> None:
    from warehouse.db import writer

    with writer(app_env) as con:  # publishes the serving snapshot the page reads
        con.execute(
            "insert into quarantine values ('youzan_trades', 'trades_202610.jsonl', 'sha', 7,"
            " 'full_order_info.order_info.status', 'TRADE_NEW_STATE',"
            " 'unknown order status value', '{}', 1)"
        )
        con.execute(
            "insert into settlement_runs (run_id, started_at, finished_at, periods, rule_versions,"
            " lines_written, adjustments, unpriced, status, error)"
            " values (nextval('settlement_run_id'), now()::timestamp, now()::timestamp, '', '',"
            " 0, 0, 0, 'failed', 'ConversionException: out of range')"
        )
    at = open_page("data_health", "manager")
    assert not at.exception, [e.value for e in at.exception]
    assert any("a platform may have changed" in w.value for w in at.warning)
    tables = [t.value for t in at.dataframe]
    assert any("TRADE_NEW_STATE" in table["Value"].to_list() for table in tables
               if "Value" in table.columns)  # fmt: skip
    assert any("ConversionException: out of range" in e.value for e in at.error)


def test_a_regional_leads_my_earnings_shows_no_line_outside_their_regions(
    mixed_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("tierboard.duckdb", "tierboard.serving.duckdb"):
        shutil.copy(mixed_warehouse.with_name(name), tmp_path / name)
    monkeypatch.setenv("TIERBOARD_DB", str(tmp_path / "tierboard.duckdb"))
    monkeypatch.setenv("TIERBOARD_APP_DB", str(tmp_path / "app.sqlite"))
    st.cache_data.clear()
    serving = tmp_path / "tierboard.serving.duckdb"
    # A technician with lines in 华东 and elsewhere in the same month.
    technician, period = scalar(
        serving,
        "select [l.payee_id, l.period] from settlement_lines as l"
        " join ticket_facts as f using (ticket_id) where l.payee_type = 'technician'"
        " group by l.payee_id, l.period"
        " having count(*) filter (where f.region_group = '华东') > 0"
        " and count(*) filter (where f.region_group <> '华东') > 0"
        " order by count(*) desc limit 1",
    )  # type: ignore[misc]
    at = open_page("my_earnings", "lead-east", tech=technician, month=period)
    assert not at.exception
    east = scalar(
        serving,
        "select [count(*), sum(l.amount_cents)] from settlement_lines as l"
        " join ticket_facts as f using (ticket_id) where l.payee_type = 'technician'"
        " and l.payee_id = $t and l.period = $p and f.region_group = '华东'",
        t=technician,
        p=period,
    )  # type: ignore[misc]
    shown = at.dataframe[0].value
    assert len(shown) == east[0] > 0  # type: ignore[index]
    regions = scalar(
        serving,
        "select list(distinct region_group) from ticket_facts where ticket_id = any($ids)",
        ids=list(shown["Ticket"]),  # the table's headers are in the page's language
    )
    assert regions == ["华东"]
    total = {m.label: m.value for m in at.metric}[f"Total for {period}"]
    assert total == yuan(int(east[1]))  # type: ignore[index]
    st.cache_data.clear()


def test_the_map_drills_into_a_province_on_the_regions_page(app_env: Path) -> None:
    period = str(scalar(app_env, "select max(period) from ticket_economics"))
    at = open_page("heatmaps", "manager", hperiod=period)
    assert not at.exception, [e.value for e in at.exception]
    code, name, group = scalar(
        app_env,
        "select [province_code, province_name, region_group] from ticket_economics"
        " where period = $p group by all order by count(*) desc limit 1",
        p=period,
    )  # type: ignore[misc]
    at.selectbox(key="map-drill").set_value(code).run()
    assert at.title[0].value == "Regions"
    assert at.query_params["province"] == name and at.query_params["group"] == group
    tickets = scalar(
        app_env,
        "select count(*) from ticket_economics where period = $p and province_code = $c",
        p=period,
        c=code,
    )
    assert {m.label: m.value for m in at.metric}["Tickets"] == f"{tickets:,}"


def widget_values(at: AppTest) -> dict[str, object]:
    widgets = [*at.selectbox, *at.button_group, *at.text_input]
    return {w.key.split("~")[0]: w.value for w in widgets if w.key}


def test_every_page_opens_from_a_link_with_its_filters(app_env: Path) -> None:
    earlier = str(scalar(app_env, "select min(period) from ticket_economics"))
    technician, month = scalar(
        app_env,
        "select [payee_id, min(period)] from settlement_lines where payee_type = 'technician'"
        " group by payee_id order by count(*) desc limit 1",
    )  # type: ignore[misc]
    links = {
        "overview": {"period": earlier, "split": "channel"},
        "heatmaps": {"hperiod": earlier, "rows": "item", "cols": "province", "measure": "margin"},
        "my_earnings": {"tech": technician, "month": month},
        "data_health": {"qfeed": "fsm_csv"},
    }
    for page, params in links.items():
        at = open_page(page, "analyst", **params)
        assert not at.exception, [e.value for e in at.exception]
        shown = widget_values(at)
        assert {k: str(shown.get(k)) for k in params} == params, (page, shown)
        assert {k: at.query_params[k] for k in params} == params, page  # still in the URL


def test_tables_show_the_ledgers_cents(app_env: Path) -> None:
    period = str(scalar(app_env, "select max(period) from ticket_economics"))
    at = open_page("regions", "manager", period=period)
    groups = at.dataframe[0].value
    for group, payouts in zip(groups["Region group"], groups["Payouts"], strict=True):
        cents = scalar(
            app_env,
            "select sum(payout_cents) from ticket_economics where period = $p"
            " and region_group = $g",
            p=period,
            g=group,
        )
        assert round(payouts * 100) == cents and payouts * 100 == pytest.approx(cents, abs=1e-6)
    assert any(round(v * 100) % 100 for v in groups["Payouts"])  # fen are shown, not rounded off

    technician = str(scalar(
        app_env,
        "select payee_id from settlement_lines where payee_type = 'technician'"
        " group by 1 order by count(*) desc limit 1",
    ))  # fmt: skip
    months = open_page("my_earnings", "manager", tech=technician).dataframe[-1].value
    for month, amount in zip(months["Period"], months["Amount"], strict=True):
        cents = scalar(
            app_env,
            "select sum(amount_cents) from settlement_lines where payee_id = $t and period = $p",
            t=technician,
            p=month,
        )
        assert round(amount * 100) == cents


def test_an_analyst_closes_periods_in_order_on_period_close(app_env: Path) -> None:
    # Single-person mode (TIERBOARD_APPROVALS=off): the close takes effect at once.
    from warehouse import app_store

    with connect_read_only(app_env) as con:
        query = "select period from settlement_periods order by period limit 2"
        first, second = (p for (p,) in con.execute(query).fetchall())
    health = open_page("data_health", "analyst", lang="zh")
    assert not any(b.label == "关闭该账期" for b in health.button)  # moved to Period close
    at = open_page("period_close", "analyst", lang="zh")
    at.selectbox(key="close-which").set_value(second).run()
    assert next(b for b in at.button if b.label == "关闭该账期").disabled
    assert any(e.label.endswith("更早的账期仍未结账（按顺序结账）: 1") for e in at.expander)

    at.selectbox(key="close-which").set_value(first).run()
    at.text_input(key="close-note").input("月末结账")
    next(b for b in at.button if b.label == "关闭该账期").click().run()
    assert any(f"已关闭 {first}" in s.value for s in at.success), [e.value for e in at.error]
    with connect_read_only(app_env) as con:
        status = con.execute(
            "select status from settlement_periods where period = $p", {"p": first}
        ).fetchall()[0][0]
    assert status == "closed"
    entry = app_store.audit_entries(app_store.app_store_path(app_env), "analyst")[0]
    assert entry["action"] == "period_close" and entry["reason"] == "月末结账"


def test_heatmap_cells_and_settlement_periods_are_the_ledgers(app_env: Path) -> None:
    period = str(scalar(app_env, "select max(period) from ticket_economics"))
    at = open_page("heatmaps", "manager", hperiod=period, rows="category", cols="group")
    cells = next(d.value for d in at.dataframe if "Category" in d.value.columns)
    cents = scalar(
        app_env, "select sum(payout_cents) from ticket_economics where period = $p", p=period
    )
    assert sum(round(v * 100) for v in cells["Payouts"]) == cents
    assert set(cells["Category"]) <= {"Install", "Repair", "Maintenance", "Survey", "Consult"}

    periods = open_page("data_health", "manager").dataframe
    table = next(d.value for d in periods if "Lines" in d.value.columns and "Status" in d.value)
    for month, amount in zip(table["Period"], table["Amount"], strict=True):
        total = scalar(
            app_env, "select sum(amount_cents) from settlement_lines where period = $p", p=month
        )
        assert round(amount * 100) == total


def test_period_close_totals_are_the_ledgers(app_env: Path) -> None:
    from pages.components.i18n import code

    with connect_read_only(app_env) as con:
        first, second = (
            p for (p,) in con.execute(
                "select period from settlement_periods order by period limit 2"
            ).fetchall()
        )  # fmt: skip
        ledger = {
            (code("payee_type", kind, "en"), currency): (now, before, local)
            for kind, currency, now, before, local in con.execute(
                "select payee_type, currency,"
                " coalesce(sum(amount_cents) filter (where period = $p), 0),"
                " coalesce(sum(amount_cents) filter (where period = $b), 0),"
                " coalesce(sum(amount_local_cents) filter (where period = $p), 0)"
                " from settlement_lines where period in ($p, $b) group by all",
                {"p": second, "b": first},
            ).fetchall()
        }
    at = open_page("period_close", "analyst")
    at.selectbox(key="close-which").set_value(second).run()
    table = next(d.value for d in at.dataframe if "Payee type" in d.value.columns)
    shown = {
        (row["Payee type"], row["Currency"]): (
            round(row["Amount"] * 100), round(row["Previous period"] * 100),
            round(row["Amount in payout currency"] * 100),
        )
        for row in table.to_dict("records")
    }  # fmt: skip
    assert shown == ledger and len(shown) > 3
    assert all(round(r["Change"] * 100) == s[0] - s[1] for r, s in zip(
        table.to_dict("records"), shown.values(), strict=True
    ))  # fmt: skip
