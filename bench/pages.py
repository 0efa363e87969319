"""`python -m bench pages --tickets 2000000`: time to a fully rendered page, for every page.

Builds a demo warehouse of that size (or uses `--db`), starts the dashboard as a real process
and loads each page in Debian's chromium: one warm-up load, then the median of three, from
navigation until Streamlit has finished running and the page's heading is shown. The browser
plumbing is the end-to-end tests' (tests/browser_support.py).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._machine import describe
from tests.browser_support import PAGE_HEADINGS, chromium, running_app, settled

PAGES = PAGE_HEADINGS


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench pages")
    parser.add_argument("--tickets", type=int, default=2_000_000)
    parser.add_argument("--db", type=Path, help="an existing warehouse (skips building one)")
    args = parser.parse_args(argv)
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or Path(folder) / "tierboard.duckdb"
        if args.db is None:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "pipelines", "demo", "--tickets", str(args.tickets),
                 "--db", str(db)],
                check=True, capture_output=True,
            )  # fmt: skip
            took = time.perf_counter() - started
            print(f"built a {args.tickets:,}-ticket warehouse in {took:.0f} s")
        home = Path(folder) / "app"
        home.mkdir()
        with running_app(home, db) as url, chromium() as browser:
            page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
            for path, heading in PAGES.items():
                times = []
                for _ in range(4):
                    started = time.perf_counter()
                    page.goto(f"{url}/{path}?as=analyst")
                    page.get_by_role("heading", name=heading).first.wait_for(timeout=120_000)
                    settled(page, timeout=120_000)
                    times.append(time.perf_counter() - started)
                median = statistics.median(times[1:])
                print(f"{path:<14} {median:6.2f} s  (first load {times[0]:.2f} s)")
    return 0
