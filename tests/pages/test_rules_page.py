"""The rule editor end to end in AppTest: refused edits, a previewed draft, a publish that goes
live and re-settles the open periods in the background."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import yaml
from streamlit.testing.v1 import AppTest

from tests.conftest import APP
from warehouse import app_store
from warehouse.db import connect_read_only


def rules_page(lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["as"] = "analyst"
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("pages/rules.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_an_invalid_edit_is_refused_with_its_reason(app_env: Path) -> None:
    at = rules_page()
    at.number_input(key="urgent-0").set_value(-5.0)
    button(at, "Apply amounts to the draft").click().run()
    assert "surcharges · urgent_bp: must be at least 0" in errors(at)
    assert not any(s.value == "Applied to the draft." for s in at.success)

    draft = yaml.safe_load(at.text_area(key="draft-yaml-0").value)
    draft["ladders"]["technician"]["brackets"][2]["start"] = 61
    at.text_area(key="draft-yaml-0").input(yaml.safe_dump(draft, allow_unicode=True))
    button(at, "Apply YAML to the draft").click().run()
    assert "ladders · technician: brackets must increase without overlap: 61 follows 61" in errors(
        at
    )
    assert any("0 setting(s) differ" in c.value for c in at.caption)  # the draft is untouched


def test_a_valid_draft_is_previewed_then_published_and_settled(app_env: Path) -> None:
    at = rules_page()
    at.number_input(key="urgent-0").set_value(40.0)
    button(at, "Apply amounts to the draft").click().run()
    assert not errors(at)
    assert any(s.value == "Applied to the draft." for s in at.success)
    assert any("1 setting(s) differ" in c.value for c in at.caption)

    button(at, "Preview impact").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Change"].startswith("¥") and metrics["Change"] != "¥0.00"

    button(at, "Publish").click().run()
    assert "Publishing needs a note saying why." in errors(at)
    at.text_area(key="publish-note").input("urgent jobs are hard to staff")
    button(at, "Publish").click().run()
    assert any("Version 1 takes effect on " in s.value for s in at.success)
    # Right after the publish, the page already shows the new version in its history.
    history = at.dataframe[0].value
    assert 1 in history["Version"].to_list()

    store = app_store.app_store_path(app_env)
    (version,) = app_store.rule_versions(store)
    assert version.document["surcharges"]["urgent_bp"] == 4_000  # type: ignore[index]
    with app_store.connect(store) as con:
        action, diff = con.execute("select action, diff from audit_log").fetchall()[0]
    assert action == "rule_publish" and "surcharges.urgent_bp: 3000 → 4000" in diff

    # Re-settlement runs in its own process; the serving snapshot shows it when done.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with connect_read_only(app_env.with_name("tierboard.serving.duckdb")) as con:
            runs = con.sql(
                "select count(*) from settlement_runs where rule_versions like '%=1%'"
            ).fetchall()[0][0]
        if runs:
            break
        time.sleep(1)
    assert runs, "the open periods were not re-settled with the published version"


def test_a_rollback_is_a_new_audited_version(app_env: Path) -> None:
    from datetime import date

    from settlement.rules import load_rules, to_document

    store = app_store.app_store_path(app_env)
    document = to_document(load_rules())
    app_store.publish_rule_version(
        store, document, effective_date=date(2025, 1, 1), note="v1", author="ana"
    )
    changed = copy.deepcopy(document)
    changed["deductions"]["technician"]["cross_province_vat_bp"] = 0
    app_store.publish_rule_version(
        store, changed, effective_date=date(2025, 1, 1), note="v2", author="ana"
    )
    at = rules_page()
    at.selectbox(key="rollback-to").set_value(1)
    at.text_input(key="rollback-note").input("VAT change was premature")
    button(at, "Roll back (publishes a copy as a new version)").click().run()
    assert any("Version 3 (a copy of version 1) takes effect" in s.value for s in at.success)
    versions = app_store.rule_versions(store)
    assert {**versions[-1].document, "version": "", "effective_date": "", "note": ""} == {
        **document,
        "version": "",
        "effective_date": "",
        "note": "",
    }
    entry = app_store.audit_entries(store, "analyst")[0]
    assert entry["action"] == "rule_rollback"
    assert "deductions.technician.cross_province_vat_bp: 0 → 300" in str(entry["diff"])
    assert "VAT change was premature" in str(entry["reason"])


def test_partner_modes_are_edited_in_a_form(app_env: Path) -> None:
    at = rules_page()
    at.selectbox(key="mode-agent-0").set_value("piece_rate").run()
    at.number_input(key="agent-piece_cents-0").set_value(15.5)
    button(at, "Apply partner modes to the draft").click().run()
    assert not errors(at)
    draft = yaml.safe_load(at.text_area(key="draft-yaml-1").value)
    assert draft["partner_modes"]["agent"] == {"mode": "piece_rate", "piece_cents": 1_550}

    at.selectbox(key="mode-dealer-1").set_value("percent_of_sales").run()
    at.number_input(key="dealer-rate_bp-1").set_value(120.0)  # 120 % of the order: refused
    button(at, "Apply partner modes to the draft").click().run()
    assert "partner modes · dealer · percent_of_sales · rate_bp: must be at most 10000" in errors(
        at
    )


def test_a_date_in_a_closed_period_shows_its_adjustments_and_needs_the_retroactive_box(
    app_env: Path,
) -> None:
    from datetime import date

    from warehouse.settle import close_period

    with connect_read_only(app_env) as con:
        query = "select period from settlement_periods order by period limit 2"
        first, second = (p for (p,) in con.sql(query).fetchall())
    close_period(app_env, first, actor="ana", note="month end")  # publishes a new snapshot
    inside = date.fromisoformat(f"{first}-20")
    at = rules_page()
    at.number_input(key="urgent-0").set_value(45.0)
    button(at, "Apply amounts to the draft").click().run()
    at.multiselect(key="preview-periods").set_value([first, second])
    at.date_input(key="effective-date").set_value(inside)
    button(at, "Preview impact").click().run()
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.warning)
    assert f"reaches closed {first}" in warning and f"booked in {second}" in warning

    at.date_input(key="publish-date").set_value(inside)
    at.text_area(key="publish-note").input("urgent jobs cost more from the 20th")
    button(at, "Publish").click().run()
    assert any(f"reaches into closed {first}" in e for e in errors(at))
    assert app_store.rule_versions(app_store.app_store_path(app_env)) == []
    at.checkbox(key="publish-retro").check()
    button(at, "Publish").click().run()
    assert any("Version 1 takes effect on" in s.value for s in at.success), errors(at)
    entry = app_store.audit_entries(app_store.app_store_path(app_env), "analyst")[0]
    assert f"retroactive into closed {first}" in str(entry["diff"])


def test_validation_messages_speak_chinese(app_env: Path) -> None:
    at = rules_page("zh")
    at.number_input(key="urgent-0").set_value(-5.0)
    button(at, "将金额应用到草稿").click().run()
    assert "加价 · urgent_bp：不能小于 0" in errors(at)
