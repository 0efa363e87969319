"""A dispute end to end in a real browser, with two identities: the technician raises it, the
analyst accepts it into an adjustment, and the technician sees the adjustment line."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.browser_support import chromium, new_page, running_app, screenshot, settled
from warehouse.db import connect_read_only, serving_path
from warehouse.disputes import first_open_period

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def home(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy: accepting a dispute re-settles the warehouse."""
    folder = tmp_path_factory.mktemp("disputes-browser")
    for name in ("tierboard.duckdb", "tierboard.serving.duckdb"):
        shutil.copy(demo_warehouse.with_name(name), folder / name)
    return folder


@pytest.fixture(scope="module")
def app(home: Path) -> Iterator[str]:
    with running_app(home, home / "tierboard.duckdb") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def opened(browser: Browser, url: str, heading: str) -> Page:
    page = new_page(browser, viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for()
    settled(page)
    page.wait_for_timeout(1_500)  # the session's second run (the URL sync)
    settled(page)
    return page


def adjustment_in_snapshot(db: Path) -> int | None:
    with connect_read_only(serving_path(db)) as con:
        rows = con.execute(
            "select amount_cents from settlement_lines where line_kind = 'manual_adjustment'"
        ).fetchall()
    return int(rows[0][0]) if rows else None


def test_raised_by_the_technician_resolved_by_the_analyst_seen_by_the_technician(
    browser: Browser, app: str, home: Path
) -> None:
    db = home / "tierboard.duckdb"
    with connect_read_only(serving_path(db)) as con:
        booked = first_open_period(dict(con.execute(
            "select period, status from settlement_periods").fetchall()))  # fmt: skip

    tech = opened(browser, f"{app}/my_earnings?as=technician&lang=en", "My earnings")
    tech.get_by_text("Something wrong? Raise a dispute").click()
    tech.get_by_label("Reason (required)").fill("the night surcharge is missing")
    tech.get_by_role("button", name="Raise the dispute").click()
    tech.get_by_text("raised: an analyst will answer it here").wait_for()
    settled(tech)
    screenshot(tech, "dispute-raised")

    analyst = opened(browser, f"{app}/disputes?as=analyst&lang=en", "Disputes")
    analyst.locator('[data-testid="stMarkdown"]').filter(
        has_text="the night surcharge is missing"
    ).first.wait_for()
    analyst.get_by_label("Adjustment in yuan (e.g. 35.50 or -12)").fill("35.50")
    analyst.get_by_role("button", name="Accept and book the adjustment").click()
    analyst.get_by_text("accepted: the adjustment is booked in").wait_for()
    settled(analyst)
    screenshot(analyst, "dispute-accepted")

    deadline = time.monotonic() + 240
    while adjustment_in_snapshot(db) is None:  # the background settlement run
        assert time.monotonic() < deadline, "the re-settlement did not publish the adjustment"
        time.sleep(1)
    assert adjustment_in_snapshot(db) == 3550

    tech.goto(f"{app}/my_earnings?as=technician&lang=en&month={booked}")
    line = tech.locator('[data-testid="stExpander"]').filter(has_text="Manual adjustment")
    line.first.wait_for()
    settled(tech)
    assert "¥35.50" in line.first.inner_text()
    # The status cell of "My disputes" (the grid may draw after the line on a busy machine).
    tech.get_by_text("Accepted").first.wait_for(state="attached")  # glide grid: hidden cells
    screenshot(tech, "dispute-adjustment-seen")
    tech.context.close()
    analyst.context.close()
