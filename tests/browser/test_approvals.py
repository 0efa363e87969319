"""Maker–checker in a real browser with two identities: an analyst requests a period close, a
manager approves it and the analyst sees it applied; or the manager rejects it with a reason and
the analyst sees that reason, the period still open."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser_support import chromium, new_page, running_app, screenshot, settled
from warehouse.db import connect_read_only

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture
def approvals_app(
    demo_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Path]]:
    """The dashboard with approvals on, on a private copy of the warehouse (a close changes it)."""
    for name in ("tierboard.duckdb", "tierboard.serving.duckdb"):
        shutil.copy(demo_warehouse.with_name(name), tmp_path / name)
    monkeypatch.setenv("TIERBOARD_APPROVALS", "on")
    with running_app(tmp_path, tmp_path / "tierboard.duckdb") as url:
        yield url, tmp_path / "tierboard.duckdb"


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def visit(page: Page, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for()
    settled(page)
    page.wait_for_timeout(1_500)  # the session's second run (the address bar) finishes
    settled(page)
    # A fresh server answers a session's first deep link with a notice it then recovers from.
    if page.get_by_role("dialog").count():
        page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="detached")


def status(db: Path, period: str) -> str:
    with connect_read_only(db) as con:
        query = "select status from settlement_periods where period = $p"
        return str(con.execute(query, {"p": period}).fetchall()[0][0])


def test_an_analyst_requests_a_close_a_manager_approves_and_the_analyst_sees_it(
    browser: Browser, approvals_app: tuple[str, Path]
) -> None:
    url, db = approvals_app
    with connect_read_only(db) as con:
        query = "select min(period) from settlement_periods where status = 'open'"
        period = str(con.execute(query).fetchall()[0][0])

    analyst = new_page(browser, viewport={"width": 1400, "height": 1000})
    visit(analyst, f"{url}/period_close?as=analyst&lang=en", "Period close")
    analyst.get_by_label("Why (required)").fill("month end")
    analyst.get_by_role("button", name="Request the close").click()
    analyst.get_by_text("awaits a manager's approval").first.wait_for()
    settled(analyst)
    screenshot(analyst, "approvals-requested")
    assert status(db, period) == "open"

    manager = new_page(browser, viewport={"width": 1400, "height": 1000})
    visit(manager, f"{url}/approvals?as=manager&lang=en", "Pending requests")
    manager.get_by_role("button", name="Approve").first.click()
    manager.get_by_text("approved and applied").first.wait_for()
    settled(manager)
    screenshot(manager, "approvals-approved")
    assert status(db, period) == "closed"

    analyst.goto(f"{url}/period_close?as=analyst&lang=en")
    analyst.get_by_text("was approved by").first.wait_for()
    settled(analyst)
    screenshot(analyst, "approvals-applied")
    analyst.context.close()
    manager.context.close()


def test_a_manager_rejects_a_close_with_a_reason_and_the_analyst_sees_why(
    browser: Browser, approvals_app: tuple[str, Path]
) -> None:
    url, db = approvals_app
    with connect_read_only(db) as con:
        query = "select min(period) from settlement_periods where status = 'open'"
        period = str(con.execute(query).fetchall()[0][0])
        lines = "select count(*), sum(amount_cents) from settlement_lines where period = $p"
        before = con.execute(lines, {"p": period}).fetchall()

    analyst = new_page(browser, viewport={"width": 1400, "height": 1000})
    visit(analyst, f"{url}/period_close?as=analyst&lang=en", "Period close")
    analyst.get_by_label("Why (required)").fill("month end")
    analyst.get_by_role("button", name="Request the close").click()
    analyst.get_by_text("awaits a manager's approval").first.wait_for()
    settled(analyst)

    manager = new_page(browser, viewport={"width": 1400, "height": 1000})
    visit(manager, f"{url}/approvals?as=manager&lang=en", "Pending requests")
    reason = "the Youzan refunds of the last week are not loaded yet"
    manager.get_by_label("Reason for rejecting").first.fill(reason)
    manager.get_by_role("button", name="Reject").first.click()
    manager.get_by_text("rejected.").first.wait_for()
    settled(manager)
    assert manager.get_by_text("Nothing awaits approval.").count() == 1
    screenshot(manager, "approvals-rejected")
    assert status(db, period) == "open"  # a rejected close changes nothing

    analyst.goto(f"{url}/period_close?as=analyst&lang=en")
    notice = analyst.get_by_text("was rejected by").first
    notice.wait_for()
    settled(analyst)
    assert reason in notice.inner_text()
    # Nothing awaits approval any more: the close can be asked for again.
    assert analyst.get_by_text("awaits approval already").count() == 0
    assert analyst.get_by_role("button", name="Request the close").is_enabled()
    screenshot(analyst, "approvals-rejected-seen")
    assert status(db, period) == "open"
    with connect_read_only(db) as con:
        assert con.execute(lines, {"p": period}).fetchall() == before
    analyst.context.close()
    manager.context.close()
