"""Maker–checker in AppTest: an analyst requests a close on Period close, a manager approves or
rejects it on Approvals, and the analyst sees the outcome; the checklist refuses a blocked close."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pages.components.i18n import _
from tests.pages.test_pages import open_page, scalar
from warehouse import period_close, requests


@pytest.fixture(autouse=True)
def approvals_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERBOARD_APPROVALS", "on")


def button(at: AppTest, label: str, lang: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == _(label, lang))


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def first_open(db: Path) -> str:
    return str(scalar(db, "select min(period) from settlement_periods where status = 'open'"))


def request_close(db: Path, lang: str) -> tuple[str, int]:
    period = first_open(db)
    assert not any(b.blocks for b in period_close.blockers(db, period)), "demo period blocked"
    at = ok(open_page("period_close", "analyst", lang))
    assert at.selectbox(key="close-which").value == period
    at.text_input(key="close-note").input("month end")
    button(at, "Request the close", lang).click().run()
    ok(at)
    (request,) = requests.listing(db, status="pending")
    assert any(str(request.request_id) in s.value for s in at.success)
    assert scalar(db, "select status from settlement_periods where period = $p", p=period) == "open"
    return period, request.request_id


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_an_analyst_requests_a_close_and_a_manager_approves_it(app_env: Path, lang: str) -> None:
    period, number = request_close(app_env, lang)
    at = ok(open_page("approvals", "manager", lang))
    assert any(period in c.value for c in at.code)  # the figures the close freezes
    button(at, "Approve", lang).click().run()
    ok(at)
    assert scalar(app_env, "select status from settlement_periods where period = $p", p=period) == (
        "closed"
    )
    assert requests.get(app_env, number).status == "applied"
    assert not any(b.key == f"approve-{number}" for b in at.button)  # no longer pending


def test_a_rejection_shows_its_reason_to_the_requester(app_env: Path) -> None:
    period, number = request_close(app_env, "en")
    at = ok(open_page("approvals", "manager", "en"))
    at.text_input(key=f"reason-{number}").input("totals look off")
    at.button(key=f"reject-{number}").click().run()
    ok(at)
    assert requests.get(app_env, number).status == "rejected"
    mine = ok(open_page("period_close", "analyst", "en"))
    assert any("totals look off" in w.value for w in mine.warning)
    assert scalar(app_env, "select status from settlement_periods where period = $p", p=period) == (
        "open"
    )


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_checklist_shows_an_earlier_open_period_and_disables_the_request(
    app_env: Path, lang: str
) -> None:
    first = first_open(app_env)
    at = ok(open_page("period_close", "analyst", lang))
    later = next(p for p in at.selectbox(key="close-which").options if p > first)
    at.selectbox(key="close-which").select(later).run()
    ok(at)
    blocker = _("Earlier periods still open (periods close in order)", lang)
    assert any(e.label.startswith(f":material/block: {blocker}: 1") for e in at.expander)
    assert button(at, "Request the close", lang).disabled
    assert any(_("Resolve every blocker above before the close can be requested.", lang)
               == c.value for c in at.caption)  # fmt: skip


def test_with_approvals_on_the_rules_page_requests_a_publish_and_the_manager_applies_it(
    app_env: Path,
) -> None:
    from warehouse import app_store

    at = ok(open_page("rules", "analyst", "en"))
    at.number_input(key="urgent-0").set_value(40.0)
    button(at, "Apply amounts to the draft", "en").click().run()
    at.text_area(key="publish-note").input("urgent jobs are hard to staff")
    button(at, "Request publish", "en").click().run()
    ok(at)
    (request,) = requests.listing(app_env, status="pending")
    assert any(f"Request {request.request_id}: the publish awaits" in s.value for s in at.success)
    assert "surcharges.urgent_bp: 3000 → 4000" in request.summary
    store = app_store.app_store_path(app_env)
    assert app_store.rule_versions(store) == []
    assert any(b.key == f"withdraw-{request.request_id}" for b in at.button)  # the requester's

    manager = ok(open_page("approvals", "manager", "en"))
    assert any("urgent_bp" in c.value for c in manager.code)  # the diff to approve
    manager.button(key=f"approve-{request.request_id}").click().run()
    ok(manager)
    (version,) = app_store.rule_versions(store)
    assert version.author == request.requested_by
    assert version.document["surcharges"]["urgent_bp"] == 4_000  # type: ignore[index]


def test_the_approvals_page_follows_the_configured_approving_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pages.components.context import pages_of

    assert "approvals" in pages_of("manager") and "approvals" not in pages_of("admin")
    monkeypatch.setenv("TIERBOARD_APPROVER_ROLES", "admin")
    assert "approvals" in pages_of("admin") and "approvals" not in pages_of("manager")
    assert "period_close" in pages_of("analyst")
