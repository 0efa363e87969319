"""Running the dashboard as a real process and driving Debian's chromium with Playwright."""

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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
# url path -> heading, of every page an analyst sees
PAGE_HEADINGS = {
    "overview": "Overview",
    "heatmaps": "Earnings heatmaps",
    "regions": "Regions",
    "rules": "Rules",
    "my_earnings": "My earnings",
    "data_health": "Data health",
    "period_close": "Period close",
    "audit": "Audit",
    "disputes": "Disputes",
}
# Every wait in a browser test is for a condition, never a fixed sleep, and the limit is generous:
# a machine busy with other work makes these tests slower, never failing. Only a condition that
# never comes (a page that does not render) runs into it.
PATIENCE_MS = 240_000
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(home: Path, warehouse: Path, port: int | None = None) -> Iterator[str]:
    """``streamlit run app.py`` from ``home`` (its .streamlit/ holds config and secrets)."""
    port = port or free_port()
    (home / ".streamlit").mkdir(exist_ok=True)
    shutil.copy(ROOT / ".streamlit" / "config.toml", home / ".streamlit" / "config.toml")
    env = {
        **os.environ,
        "TIERBOARD_DB": str(warehouse),
        "TIERBOARD_APP_DB": str(home / "app.sqlite"),
        "PYTHONPATH": str(ROOT),
        # A test or benchmark run is a development machine: demo identities are allowed.
        "TIERBOARD_ENV": os.environ.get("TIERBOARD_ENV", "test"),
    }
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py")]
    process = subprocess.Popen(
        [*command, "--server.port", str(port), "--server.headless", "true"],
        cwd=home,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + PATIENCE_MS / 1000
        while True:  # poll the health endpoint until the server answers
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=10)
                break
            except OSError:
                assert process.poll() is None, "the app process exited"
                assert time.monotonic() < deadline, "the app did not start"
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium is needed for browser tests (.ci/run installs it)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, **options: Any) -> Page:
    """A page in a fresh context whose every wait (actions, navigation) has ``PATIENCE_MS``."""
    context = browser.new_context(**options)
    context.set_default_timeout(PATIENCE_MS)
    context.set_default_navigation_timeout(PATIENCE_MS)
    return context.new_page()


# Streamlit marks its root with the script's state; "notRunning" once a run has finished (a fresh
# page says "initial" until its first run), and the connection state once the socket is up.
SCRIPT_DONE = (
    '[data-testid="stApp"][data-test-script-state="notRunning"]'
    '[data-test-connection-state="CONNECTED"]'
)


def settled(page: Page) -> None:
    """Wait until Streamlit has finished running the script, and check it raised nothing.

    Callers first wait for what their action should show (a heading, a breadcrumb), so that
    this cannot see the state from before the run they caused.
    """
    page.wait_for_selector(SCRIPT_DONE)
    assert page.locator('[data-testid="stException"]').count() == 0, page.url
    # Streamlit's own English modal for a path it did not know at the session's first run.
    assert page.get_by_role("dialog").filter(has_text="Page not found").count() == 0, page.url


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def navigation(page: Page) -> set[str]:
    page.wait_for_selector('[data-testid="stSidebarNav"]')
    links = page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    # The icon's name comes first; Data health's title may end in its alert count (" · 3").
    return {re.sub(r" · \d+$", "", t.strip().splitlines()[-1].strip()) for t in links}
