"""The dashboard in a real browser: every page, a drill-down, a heatmap cell and a rule preview
clicked through, a technician kept to their page; screenshots kept as test artefacts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from pages.components.i18n import _
from tests.browser_support import (
    PAGE_HEADINGS,
    chromium,
    navigation,
    new_page,
    running_app,
    screenshot,
    settled,
)
from tests.pages.test_broken_warehouse import damage_data_blocks
from warehouse.db import connect_read_only, serving_path

# Room for several patient waits in one test on a loaded machine (see browser_support).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
PAGES = PAGE_HEADINGS


@pytest.fixture(scope="module")
def app(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_app(tmp_path_factory.mktemp("browser"), demo_warehouse) as url:
        yield url


@pytest.fixture(scope="module")
def broken_app(demo_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a copy of the warehouse whose serving snapshot has damaged blocks."""
    folder = tmp_path_factory.mktemp("broken")
    for name in ("tierboard.duckdb", "tierboard.serving.duckdb"):
        shutil.copy(demo_warehouse.with_name(name), folder / name)
    damage_data_blocks(serving_path(folder / "tierboard.duckdb"))
    with running_app(folder, folder / "tierboard.duckdb") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = new_page(browser, viewport={"width": 1500, "height": 1000})
    yield opened
    opened.context.close()


def open_page(page: Page, url: str, heading: str) -> None:
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for()
    settled(page)


def click_first_row(page: Page, table_index: int = 0) -> None:
    """Select the first data row of a selectable st.dataframe (its grid is drawn on a canvas)."""
    grid = page.locator('[data-testid="stDataFrame"]').nth(table_index)
    grid.wait_for(state="visible")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    page.mouse.click(
        box["x"] + 12, box["y"] + 35 + 17
    )  # the row's selection cell, below the header


@pytest.fixture
def fresh_app(demo_warehouse: Path, tmp_path: Path) -> Iterator[str]:
    """A server that has served nothing yet (its first request is the one under test)."""
    with running_app(tmp_path, demo_warehouse) as url:
        yield url


def test_a_first_deep_link_goes_through_the_entry_point(page: Page, fresh_app: str) -> None:
    # The very first request of a fresh server, straight to a page a technician may not see:
    # it must be routed through app.py (identity, role navigation), never run on its own.
    page.goto(f"{fresh_app}/overview?as=technician&lang=en")
    page.get_by_role("heading", name="My earnings").first.wait_for()
    settled(page)
    assert page.get_by_role("heading", name="Overview").count() == 0


def test_a_first_deep_link_lands_on_its_page_with_its_parameters(
    page: Page, fresh_app: str
) -> None:
    # Routed through app.py, the link keeps its page (not the default one) and its filters,
    # and the identity it names (a lead: no Rules in the menu).
    page.goto(f"{fresh_app}/regions?as=lead-east&group=华东&lang=en")
    page.get_by_role("heading", name="Regions").first.wait_for()
    page.get_by_role("button", name="Region group: 华东").first.wait_for()
    settled(page)
    assert navigation(page) == {"Overview", "Earnings heatmaps", "Regions", "My earnings"}


@pytest.mark.parametrize(("path", "title"), list(PAGES.items()))
def test_every_page_opens(page: Page, app: str, path: str, title: str) -> None:
    open_page(page, f"{app}/{path}?lang=en", title)
    screenshot(page, f"page-{path}")


def test_the_overview_shows_the_warehouse_numbers(
    page: Page, app: str, demo_warehouse: Path
) -> None:
    with connect_read_only(demo_warehouse.with_name("tierboard.serving.duckdb")) as con:
        period, tickets = con.sql(
            "select period, count(*) from ticket_economics group by 1 order by 1 desc limit 1"
        ).fetchall()[0]
    open_page(page, f"{app}/overview?as=manager&period={period}&lang=en", "Overview")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Tickets").first
    assert f"{tickets:,}" in metric.inner_text()


def test_a_drill_down_is_clicked_through(page: Page, app: str) -> None:
    open_page(page, f"{app}/regions?as=manager&lang=en", "Regions")
    click_first_row(page)
    crumb = page.get_by_role("button", name="Region group:")
    crumb.first.wait_for()
    settled(page)
    assert "group=" in page.url
    click_first_row(page)  # then a province
    page.get_by_role("button", name="Province:").first.wait_for()
    settled(page)
    screenshot(page, "drill-down")
    page.get_by_role("button", name="All regions").click()
    page.wait_for_function("() => !window.location.search.includes('group=')")
    settled(page)


def test_a_heatmap_cell_leads_to_its_tickets(page: Page, app: str) -> None:
    open_page(page, f"{app}/heatmaps?as=manager&lang=en", "Earnings heatmaps")
    click_first_row(page)
    page.get_by_role("heading", name="Tickets ·").first.wait_for()
    settled(page)
    screenshot(page, "heatmap-cell")


def test_the_map_draws_every_province_from_the_static_boundaries(page: Page, app: str) -> None:
    # The figure names the boundaries by URL: the browser must fetch and draw them all.
    open_page(page, f"{app}/heatmaps?as=manager&lang=en", "Earnings heatmaps")
    page.wait_for_function(
        "() => document.querySelectorAll('path.choroplethlocation').length >= 34", timeout=60_000
    )


def test_a_rule_preview_is_clicked_through(page: Page, app: str) -> None:
    open_page(page, f"{app}/rules?as=analyst&lang=en", "Rules")
    page.get_by_role("tab", name="Preview impact").click()
    page.get_by_role("button", name="Preview impact").click()
    page.locator('[data-testid="stMetric"]').filter(has_text="Change").first.wait_for()
    settled(page)
    screenshot(page, "rule-preview")


def test_a_technician_is_kept_to_their_own_page(page: Page, app: str) -> None:
    open_page(page, f"{app}/my_earnings?as=technician&lang=en", "My earnings")
    assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0  # one page: no menu
    page.goto(f"{app}/overview?as=technician&lang=en")
    page.get_by_role("heading", name="My earnings").first.wait_for()  # routed to their page
    page.get_by_text("Overview is not available to your role").first.wait_for()  # and told why
    settled(page)
    assert page.get_by_role("heading", name="Overview").count() == 0
    screenshot(page, "technician-overview-refused")


def test_an_analyst_sees_the_analyst_menu(page: Page, app: str) -> None:
    open_page(page, f"{app}/overview?as=analyst&lang=en", "Overview")
    assert navigation(page) == set(PAGES.values())


@pytest.mark.parametrize("path", [p for p in PAGES if p != "audit"])  # audit reads the app store
def test_a_damaged_snapshot_is_a_message_on_every_page(
    page: Page, broken_app: str, path: str
) -> None:
    page.goto(f"{broken_app}/{path}?as=analyst&lang=en")
    alert = page.locator('[data-testid="stAlertContentError"]').filter(has_text="is damaged")
    alert.first.wait_for()
    settled(page)  # and no exception element
    assert "python -m pipelines publish" in alert.first.inner_text()
    screenshot(page, f"damaged-{path}")


@pytest.mark.parametrize(("path", "title"), list(PAGES.items()))
def test_every_page_opens_in_chinese_by_its_own_path_keeping_its_parameters(
    page: Page, app: str, path: str, title: str
) -> None:
    open_page(page, f"{app}/{path}?as=analyst", _(title, "zh"))
    assert f"/{path}" in page.url and "as=analyst" in page.url and "lang=zh" in page.url
    screenshot(page, f"page-{path}-zh")


def test_a_link_keeps_its_filters_and_back_restores_the_view(
    page: Page, app: str, demo_warehouse: Path
) -> None:
    with connect_read_only(demo_warehouse.with_name("tierboard.serving.duckdb")) as con:
        (earlier,) = con.sql(
            "select distinct period from ticket_economics order by 1 desc limit 1 offset 1"
        ).fetchall()[0]
    open_page(page, f"{app}/regions?as=manager&period={earlier}&group=华东", "区域")
    page.get_by_role("button", name="大区: 华东").first.wait_for(timeout=60_000)
    page.wait_for_function("() => location.search.includes('lang=zh')", timeout=60_000)
    assert f"period={earlier}" in page.url  # the link's period is kept, not the newest
    page.get_by_role("button", name="全部区域").click()
    page.wait_for_function("() => !location.search.includes('group=')", timeout=60_000)
    settled(page)
    page.go_back()
    page.wait_for_function("() => location.search.includes('group=')", timeout=60_000)
    page.get_by_role("button", name="大区: 华东").first.wait_for(timeout=60_000)
    settled(page)
    assert f"period={earlier}" in page.url


def test_a_technician_reads_a_ticket_on_a_phone(browser: Browser, app: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone = context.new_page()
    open_page(phone, f"{app}/my_earnings?as=technician", "我的收入")
    phone.wait_for_function("() => location.search.includes('month=')", timeout=60_000)
    settled(phone)  # the run that writes the filters into the address bar is over
    month = phone.locator('[data-testid="stSelectbox"]').filter(has_text="月份").first
    month.wait_for(state="visible", timeout=30_000)  # on the page, not in the closed sidebar
    ticket = phone.locator('[data-testid="stExpander"]').first
    ticket.scroll_into_view_if_needed()
    summary = ticket.locator("summary")
    assert (
        summary.inner_text().splitlines()[-1].startswith("¥")
    )  # the amount comes first (after the icon)
    # Each ticket is a row that opens on a tap (Streamlit's expander): closed, its words are
    # hidden; tapped, they show in full within the screen's width.
    details = ticket.locator('[data-testid="stExpanderDetails"]')
    assert not details.is_visible()
    summary.tap()
    details.wait_for(state="visible", timeout=10_000)
    text = details.inner_text()
    assert text.startswith("¥") and "基础价" in text and "规则版本" in text
    box = details.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    screenshot(phone, "phone-my-earnings")
    context.close()


def test_an_export_is_built_when_clicked_and_holds_the_table(page: Page, app: str) -> None:
    open_page(page, f"{app}/data_health?as=analyst&lang=en", "Data health")
    button = page.locator(".st-key-feeds-csv button")  # the feeds table's CSV
    button.scroll_into_view_if_needed()
    with page.expect_download() as download:
        button.click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    header, *rows = text.splitlines()
    assert download.value.suggested_filename == "Feeds.csv"
    assert "Feed" in header and len(rows) >= 1  # the feeds table, built on click
