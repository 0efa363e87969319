"""Golden cases in the app store: the publish gate, edits travelling with a publish, the Excel
import, and the Rules page's section in both languages."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter
from streamlit.testing.v1 import AppTest

from settlement.golden import GoldenCase
from settlement.rules import load_rules, to_document
from tests.conftest import APP
from warehouse import golden
from warehouse.app_store import app_store_path, audit_entries, rule_versions
from warehouse.publish import publish

CASE = "北京 空调安装"


def pricier() -> dict:  # type: ignore[type-arg]
    document = to_document(load_rules())
    document["item_prices"]["INS-AC-01"]["A"] = 16000  # 北京: 16000 × 1.2 = 19200
    return document


@pytest.fixture(autouse=True)
def shipped_cases(app_env: Path) -> None:
    assert golden.seed_defaults(app_store_path(app_env)) == len(golden.DEFAULT_CASES)
    assert golden.seed_defaults(app_store_path(app_env)) == 0  # once


def test_the_shipped_cases_hold_under_the_live_rules(app_env: Path) -> None:
    store = app_store_path(app_env)
    assert {c.name for c in golden.cases(store)} == {c["name"] for c in golden.DEFAULT_CASES}
    from warehouse.settle import live_timeline

    assert all(o.passed for o in golden.outcomes(store, live_timeline(app_env)))


def test_publish_is_refused_with_the_case_then_accepted_with_the_case_changed(
    app_env: Path,
) -> None:
    store = app_store_path(app_env)
    with pytest.raises(ValueError) as refused:
        publish(app_env, pricier(), effective_date=date(2026, 11, 1), note="dearer", author="ana")
    assert f"golden case '{CASE}': technician expected ¥180.00, actual ¥192.00" in str(
        refused.value
    )
    assert rule_versions(store) == []  # nothing stored

    edited = {
        name: case.model_copy(update={"expected_technician_cents": cents})
        for name, cents in ((CASE, 19200), ("北京 空调安装 加急夜间", 27000),
                            ("北京 空调安装 第61单", 21120))
        for case in golden.cases(store) if case.name == name
    }  # fmt: skip
    assert golden.golden_problem(store, _live(app_env), _draft(), edited) is None
    done = publish(
        app_env, pricier(), effective_date=date(2026, 11, 1), note="dearer", author="ana",
        golden_edits=edited,
    )  # fmt: skip
    assert done.version == 1
    stored = {c.name: c.expected_technician_cents for c in golden.cases(store)}
    assert stored[CASE] == 19200
    actions = [e["action"] for e in audit_entries(store, "analyst")]
    assert actions == ["golden_cases", "rule_publish", "golden_cases"]  # the last: the seed


def test_a_publish_request_is_gated_too_and_its_case_edits_wait_for_the_approval(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warehouse import requests
    from warehouse.requests import RequestRefused

    monkeypatch.setenv("TIERBOARD_APPROVALS", "on")
    store = app_store_path(app_env)
    payload = {"document": pricier(), "effective_date": "2026-11-01", "note": "dearer"}
    with pytest.raises(RequestRefused, match=f"golden case '{CASE}'"):
        requests.submit(app_env, "publish", payload, by="ana", role="analyst")
    assert requests.listing(app_env, status="pending") == []  # refused: nothing waits

    edits = golden.adopting(store, _live(app_env), _draft())
    assert CASE in edits  # the draft's amounts for every case it breaks
    payload["golden_edits"] = golden.edits_to_json(edits)
    pending = requests.submit(app_env, "publish", payload, by="ana", role="analyst").request
    assert pending.status == "pending"
    # Nothing changes before the second person approves: neither the rules nor the cases.
    assert {c.name: c.expected_technician_cents for c in golden.cases(store)}[CASE] == 18000
    assert rule_versions(store) == []

    applied = requests.approve(app_env, pending.request_id, by="max", role="manager")
    assert applied.applied and len(rule_versions(store)) == 1
    assert {c.name: c.expected_technician_cents for c in golden.cases(store)}[CASE] == 19200
    assert all(o.passed for o in golden.outcomes(store, _live(app_env)))


def _live(db: Path):  # type: ignore[no-untyped-def]
    from warehouse.settle import live_timeline

    return live_timeline(db)


def _draft():  # type: ignore[no-untyped-def]
    from settlement.rules import parse_rules

    return parse_rules({**pricier(), "version": "draft", "effective_date": "2026-11-01"})


def workbook(rows: list[list[object]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.close()
    return out.getvalue()


HEADER = ["name", "city_code", "item_code", "is_urgent", "position", "expected_technician_cents"]


def test_an_excel_import_reads_good_rows(app_env: Path) -> None:
    cases = golden.import_excel(workbook([
        HEADER,
        ["深圳 维修", "440300", "REP-AC-01", "否", 1, 12650],
        ["北京 加急", "110100", "INS-AC-01", "是", 3, 22500],
    ]))  # fmt: skip
    assert cases == [
        GoldenCase(name="深圳 维修", city_code="440300", item_code="REP-AC-01",
                   expected_technician_cents=12650),
        GoldenCase(name="北京 加急", city_code="110100", item_code="INS-AC-01", is_urgent=True,
                   position=3, expected_technician_cents=22500),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (["ok", "110100", "INS-AC-01", "否", 1, "lots"], "row 3, expected_technician_cents"),
        (["ok", "110100", "INS-AC-01", "否", 0, 100], "row 3, position"),
        (["ok", "110100", "INS-AC-01", "maybe", 1, 100], "row 3, is_urgent"),
    ],
)
def test_a_bad_excel_row_is_refused_naming_row_and_field(
    app_env: Path, row: list[object], reason: str
) -> None:
    good = ["fine", "110100", "INS-AC-01", "否", 1, 18000]
    with pytest.raises(ValueError, match=reason):
        golden.import_excel(workbook([HEADER, good, row]))


def test_a_file_that_is_not_a_workbook_is_refused(app_env: Path) -> None:
    with pytest.raises(ValueError, match="not a readable xlsx workbook"):
        golden.import_excel(b"not a workbook")


@pytest.mark.parametrize(("lang", "tab", "verdict"), [
    ("en", "Golden cases", "The draft keeps all 3 golden case(s)."),
    ("zh", "黄金用例", "草稿通过全部 3 个黄金用例。"),
])  # fmt: skip
def test_the_rules_page_previews_the_draft_against_the_golden_cases(
    app_env: Path, lang: str, tab: str, verdict: str
) -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["as"] = "analyst"
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/rules.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert tab in [t.label for t in at.tabs]
    assert verdict in [s.value for s in at.success]
    # A draft that breaks a case says so before any publish.
    at.session_state["rule-draft"] = pricier()
    at.run()
    assert not at.exception
    broken = "3" if lang == "en" else "3 个"
    assert any(broken in e.value and ("golden" in e.value or "黄金" in e.value) for e in at.warning)


def test_the_rules_page_publishes_a_breaking_draft_only_with_its_cases_changed(
    app_env: Path,
) -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["as"] = "analyst"
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("pages/rules.py").run()
    at.number_input(key="urgent-0").set_value(40.0)
    next(b for b in at.button if b.label == "Apply amounts to the draft").click().run()
    at.text_area(key="publish-note").input("urgent jobs are hard to staff")
    next(b for b in at.button if b.label == "Publish").click().run()
    refused = [e.value for e in at.error]
    # 北京 urgent at night: 18000 + 40 % of 15000 + 3000 = 27000, not the 25500 expected.
    assert any("'北京 空调安装 加急夜间'" in e and "expected ¥255.00" in e and "actual ¥270.00" in e
               for e in refused), refused  # fmt: skip
    store = app_store_path(app_env)
    assert rule_versions(store) == []
    at.checkbox(key="publish-golden").check()
    next(b for b in at.button if b.label == "Publish").click().run()
    assert any("Version 1 takes effect on " in s.value for s in at.success), [
        e.value for e in at.error
    ]
    stored = {c.name: c.expected_technician_cents for c in golden.cases(store)}
    assert stored["北京 空调安装 加急夜间"] == 27000
    assert stored[CASE] == 18000  # unchanged: the draft keeps it


def test_the_rules_page_edits_a_case_in_its_grid(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["as"] = "analyst"
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("pages/rules.py").run()
    store = app_store_path(app_env)
    names = [c.name for c in golden.cases(store)]
    grid = "golden-editor"
    row = names.index(CASE)
    at.session_state[grid] = {
        "edited_rows": {row: {"Technician expected (cents)": 18100}},  # its English header
        "added_rows": [], "deleted_rows": [],
    }  # fmt: skip
    at.text_input(key="golden-edit-note").input("one yuan more")
    next(b for b in at.button if b.label == "Save golden cases").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {c.name: c.expected_technician_cents for c in golden.cases(store)}[CASE] == 18100, [
        e.value for e in at.error
    ]
    # A bad row from the grid is refused as a spreadsheet's is (the same reader).
    with pytest.raises(ValueError, match="row 2, position"):
        golden.rows_to_cases([{"name": "a", "city_code": "110100", "item_code": "INS-AC-01",
                               "expected_technician_cents": 1},
                              {"name": "b", "city_code": "110100", "item_code": "INS-AC-01",
                               "position": 0, "expected_technician_cents": 1}])  # fmt: skip


def test_the_demo_ships_the_example_cases(app_env: Path, demo_warehouse: Path) -> None:
    shipped = golden.cases(demo_warehouse.with_name("app.sqlite"))
    assert [c.name for c in shipped] == sorted(c["name"] for c in golden.DEFAULT_CASES)
