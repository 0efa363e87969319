"""`python -m bench pages --tickets 2000000`: time to a fully rendered page, for every page.

Builds a demo warehouse of that size (or reuses `--db`, building it there if it is missing),
starts the dashboard as a real process and times each page in Debian's chromium as an analyst
(who sees every page timed here), two ways: opened by its address (a new browser session each
time, as a bookmark or a shared link opens it) and reached from the menu within one session (a
warm session: how a user moves between pages). Each is one warm-up, then the median of three.
A page counts as rendered when Streamlit has finished running its script, no element is still
a loading placeholder, its heading is shown (by address) and no exception is. The time to the
heading alone is printed beside it: the heading comes early in every script, so it is not the
time a user waits.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page

from bench._machine import describe
from tests.browser_support import PAGE_HEADINGS, chromium, running_app

LOADS = 4  # the first warms the server's caches and the browser's script chunks
TIMEOUT_MS = 120_000
# The status widget is no signal: it only appears after about half a second of running, and says
# "Stop", not "Running". The app root's script state is exact; lazily loaded elements (charts,
# tables, widgets) show an stSkeleton placeholder until their code has arrived and drawn them.
RENDERED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return app !== null
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && document.querySelector('[data-testid="stSkeleton"], [data-stale="true"]') === null;
}"""


RUNNING = """() => document.querySelector('[data-testid="stApp"]')
    ?.getAttribute('data-test-script-state') === 'running'"""


def build(db: Path, tickets: int, months: int | None = None) -> None:
    """A demo warehouse of ``tickets`` tickets (over ``months`` months, else the demo's)."""
    command = [sys.executable, "-m", "pipelines", "demo", "--tickets", str(tickets)]
    if months is not None:
        command += ["--months", str(months)]
    started = time.perf_counter()
    subprocess.run([*command, "--db", str(db)], check=True, capture_output=True)
    took = time.perf_counter() - started
    print(f"built a {tickets:,}-ticket warehouse in {took:.0f} s at {db}")


def load(page: Page, url: str, heading: str) -> tuple[float, float]:
    """Seconds from navigation to the heading, and to the fully rendered page."""
    started = time.perf_counter()
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=TIMEOUT_MS)
    shown = time.perf_counter() - started
    page.wait_for_function(RENDERED, timeout=TIMEOUT_MS)
    rendered = time.perf_counter() - started
    if page.locator('[data-testid="stException"]').count():
        raise SystemExit(f"{url} shows an exception: its timing would mean nothing")
    return shown, rendered


def navigate(page: Page, path: str, heading: str) -> float:
    """Seconds from a click on the page's menu link to the rendered page, in the same session
    (its heading shown: the previous page's script state would otherwise pass for its own)."""
    started = time.perf_counter()
    page.locator(f'[data-testid="stSidebarNavLink"][href$="/{path}"]').first.click()
    page.wait_for_url(f"**/{path}*", timeout=TIMEOUT_MS)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(RENDERED, timeout=TIMEOUT_MS)
    took = time.perf_counter() - started
    if page.locator('[data-testid="stException"]').count():
        raise SystemExit(f"{path} shows an exception: its timing would mean nothing")
    return took


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench pages")
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--db", type=Path, help="a warehouse to reuse (built there if missing)")
    args = parser.parse_args(argv)
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or Path(folder) / "tierboard.duckdb"
        if db.exists():
            print(f"reusing the warehouse at {db}")
        else:
            db.parent.mkdir(parents=True, exist_ok=True)
            build(db, args.tickets)
        home = Path(folder) / "app"
        home.mkdir()
        with running_app(home, db) as url, chromium() as browser:
            page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            opened = {}
            for path, heading in PAGE_HEADINGS.items():
                # English headings (PAGE_HEADINGS): the default language is Chinese.
                address = f"{url}/{path}?as=analyst&lang=en"
                opened[path] = [load(page, address, heading) for _ in range(LOADS)]
            # Round after round through the menu: each page is reached from the one before.
            moved: dict[str, list[float]] = {path: [] for path in PAGE_HEADINGS}
            for _ in range(LOADS):
                for path, heading in PAGE_HEADINGS.items():
                    moved[path].append(navigate(page, path, heading))
    print(f"{'page':<14} {'from menu':>10} {'by address':>11} {'heading':>9} {'first load':>11}")
    for path, loads in opened.items():
        shown = statistics.median(s for s, _ in loads[1:])
        rendered = statistics.median(r for _, r in loads[1:])
        menu = statistics.median(moved[path][1:])
        print(f"{path:<14} {menu:8.2f} s {rendered:9.2f} s {shown:7.2f} s {loads[0][1]:9.2f} s")
    print(
        "median of 3 after a warm-up; from menu: a warm session (aim ≤ 1 s); by address: a new"
        " session (aim ≤ 2 s)"
    )
    return 0
