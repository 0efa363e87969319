"""Sign-in through a real OpenID Connect flow (a local mock provider) in a real browser: each
role sees exactly its pages and rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import Browser, Page

from pages.components.i18n import _
from tests.browser_support import (
    chromium,
    free_port,
    navigation,
    new_page,
    running_app,
    screenshot,
    settled,
)
from warehouse.db import connect_read_only

# Room for several patient waits in one test on a loaded machine (see browser_support).
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
PEOPLE = {
    "ana": {"email": "ana@example.com", "name": "Ana", "tierboard_role": "analyst"},
    "lin": {
        "email": "lin@example.com",
        "name": "Lin",
        "tierboard_role": "regional_lead",
        "tierboard_region_groups": ["华东"],
    },
    "tao": {
        "email": "tao@example.com",
        "name": "Tao",
        "tierboard_role": "technician",
        "tierboard_technician_id": "T00042",
    },
    "mia": {"email": "mia@example.com", "name": "Mia", "tierboard_role": "manager"},
    "adm": {"email": "adm@example.com", "name": "Adm", "tierboard_role": "admin"},
    "nobody": {"email": "nobody@example.com", "name": "Nobody"},
}
NAVIGATION = {
    "ana": {
        "Overview",
        "Earnings heatmaps",
        "Regions",
        "Rules",
        "My earnings",
        "Data health",
        "Period close",
        "Audit",
        "Disputes",
    },
    "lin": {"Overview", "Earnings heatmaps", "Regions", "My earnings"},
    "tao": {"My earnings"},
    "mia": {"Overview", "Earnings heatmaps", "Regions", "My earnings", "Data health", "Approvals"},
    "adm": {"Data health", "Audit", "Users"},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    users = [User(sub=sub, claims=claims) for sub, claims in PEOPLE.items()]
    with run_server_in_thread(port=free_port(), user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def app(
    demo_warehouse: Path, provider: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The dashboard as a real process, configured for the provider through its secrets file."""
    home = tmp_path_factory.mktemp("signin")
    port = free_port()
    (home / ".streamlit").mkdir()
    (home / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-of-enough-length"\n'
        'client_id = "tierboard"\n'
        'client_secret = "tierboard-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    with running_app(home, demo_warehouse, port) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def zh(message: str) -> str:
    return _(message, "zh")


def sign_in(browser: Browser, app: str, who: str) -> Page:
    page = new_page(browser, viewport={"width": 1400, "height": 900})
    page.goto(app)
    page.get_by_role("button", name=zh("Sign in"), exact=True).click()  # the default language
    page.wait_for_url(re.compile(r"/oauth2/authorize"))
    page.locator("input[name=sub]").fill(who)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(app)))
    page.wait_for_selector('[data-testid="stSidebar"]')
    settled(page)
    return page


@pytest.mark.parametrize("who", list(NAVIGATION))
def test_each_role_sees_exactly_its_pages(browser: Browser, app: str, who: str) -> None:
    page = sign_in(browser, app, who)
    if NAVIGATION[who] == {"My earnings"}:
        # One page: Streamlit shows no navigation; the page itself is the proof.
        page.get_by_text("T00042 ·").first.wait_for()
        assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
    else:
        assert navigation(page) == {zh(name) for name in NAVIGATION[who]}
    signed_in = zh("Signed in as {name} · {access}").split("{")[0]  # "已登录："
    page.get_by_text(f"{signed_in}{PEOPLE[who]['name']}").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, f"signin-{who}")
    page.context.close()


def test_a_regional_lead_sees_only_their_rows(
    browser: Browser, app: str, demo_warehouse: Path
) -> None:
    with connect_read_only(demo_warehouse.with_name("tierboard.serving.duckdb")) as con:
        period, tickets = con.sql(
            "select period, count(*) filter (where region_group = '华东') from ticket_economics"
            " group by period order by period desc limit 1"
        ).fetchall()[0]
    page = sign_in(browser, app, "lin")
    page.goto(f"{app}/overview?period={period}&lang=en")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Tickets").first
    metric.wait_for()
    settled(page)
    assert f"{tickets:,}" in metric.inner_text()
    page.context.close()


def test_someone_without_a_role_gets_no_data(browser: Browser, app: str) -> None:
    page = new_page(browser)
    page.goto(app)
    page.get_by_role("button", name=zh("Sign in"), exact=True).click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"))
    page.locator("input[name=sub]").fill("nobody")
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text("尚无 Tierboard 角色").wait_for()
    assert page.locator('[data-testid="stMetric"]').count() == 0
    page.context.close()
