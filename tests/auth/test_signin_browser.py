"""Sign-in through a real OpenID Connect flow (a local mock provider) in a real browser: each
role sees exactly its pages and rows."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import Browser, Page, sync_playwright

from warehouse.db import connect_read_only

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
]  # fmt: skip
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
        "Audit",
    },
    "lin": {"Overview", "Earnings heatmaps", "Regions", "My earnings"},
    "tao": {"My earnings"},
    "mia": {"Overview", "Earnings heatmaps", "Regions", "My earnings", "Data health"},
    "adm": {"Data health", "Audit", "Users"},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    shutil.copy(ROOT / ".streamlit" / "config.toml", home / ".streamlit" / "config.toml")
    (home / ".streamlit" / "secrets.toml").write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{port}/oauth2callback"\n'
        'cookie_secret = "a-test-cookie-secret-of-enough-length"\n'
        'client_id = "tierboard"\n'
        'client_secret = "tierboard-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "TIERBOARD_DB": str(demo_warehouse),
        "TIERBOARD_APP_DB": str(home / "app.sqlite"),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
         "--server.port", str(port), "--server.headless", "true"],
        cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                assert process.poll() is None, "the app process exited"
                assert time.monotonic() < deadline, "the app did not start"
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is needed for browser tests (.ci/run installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def sign_in(browser: Browser, app: str, who: str) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(app)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"))
    page.locator("input[name=sub]").fill(who)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(re.compile(re.escape(app)))
    page.wait_for_selector('[data-testid="stSidebar"]', timeout=60_000)
    return page


def navigation(page: Page) -> set[str]:
    page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=60_000)
    links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    return {t.strip().splitlines()[-1].strip() for t in links}  # the icon's name comes first


@pytest.mark.parametrize("who", list(NAVIGATION))
def test_each_role_sees_exactly_its_pages(browser: Browser, app: str, who: str) -> None:
    page = sign_in(browser, app, who)
    if NAVIGATION[who] == {"My earnings"}:
        # One page: Streamlit shows no navigation; the page itself is the proof.
        page.get_by_text("T00042 ·").first.wait_for(timeout=60_000)
        assert page.locator('[data-testid="stSidebarNavLink"]').count() == 0
    else:
        assert navigation(page) == NAVIGATION[who]
    page.get_by_text(f"Signed in as {PEOPLE[who]['name']}").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"signin-{who}.png"), full_page=True)
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
    page.goto(f"{app}/overview?period={period}")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Tickets").first
    metric.wait_for(timeout=60_000)
    assert f"{tickets:,}" in metric.inner_text()
    page.context.close()


def test_someone_without_a_role_gets_no_data(browser: Browser, app: str) -> None:
    page = browser.new_context().new_page()
    page.goto(app)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/oauth2/authorize"))
    page.locator("input[name=sub]").fill("nobody")
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text("have no Tierboard role yet").wait_for(timeout=60_000)
    assert page.locator('[data-testid="stMetric"]').count() == 0
    page.context.close()
