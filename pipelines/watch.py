"""``watch``: pull every configured platform on a schedule, settle what changed, publish.

A plain loop with jitter (so several installations do not hit a platform in step): each round
re-reads the connectors file (a rotated secret applies without a restart), pulls each platform
from its last window (less the overlap), settles if any order or refund changed (each writing
command publishes the serving snapshot), then checks every platform's lag. A platform failing
or further behind than ``max_lag_minutes`` is announced once to the 企业微信 group robot
webhook, if one is configured, and again when it recovers.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx

from pipelines.connectors import max_lag_minutes, platform_settings, webhook_url
from pipelines.load import RunSummary
from pipelines.pull import last_window_ends, pull
from pipelines.sources.http_api import beijing_now

UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_every(text: str) -> float:
    """``30s``, ``5m``, ``1h`` (or plain seconds) as seconds; at least one second."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    seconds = float(found.group(1)) * UNITS[found.group(2) or "s"] if found else 0.0
    if seconds < 1:
        raise ValueError(f"{text!r} is not an interval like 30s, 5m or 1h")
    return seconds


def problems(
    db: Path, platforms: list[str], round_runs: list[RunSummary], limit: float
) -> dict[str, str]:
    """Per platform in trouble, why: its pull failed this round, or it lags past ``limit``."""
    ends = last_window_ends(db)
    now = beijing_now()
    found: dict[str, str] = {}
    for platform in platforms:
        failed = [r for r in round_runs if r.feed.startswith(platform) and r.status == "failed"]
        if failed:
            found[platform] = f"pull failed: {failed[0].error}"
        elif platform not in ends:
            found[platform] = "never pulled successfully"
        elif now - ends[platform] > timedelta(minutes=limit):
            lag = (now - ends[platform]).total_seconds() / 60
            found[platform] = f"{lag:.0f} minutes behind (limit {limit:g})"
    return found


def notify(url: str | None, text: str, echo: Callable[[str], None]) -> None:
    """One text message to a 企业微信 group robot (``{"msgtype": "text", ...}``); a failed
    alert is reported, never fatal: the watch goes on."""
    if not url:
        return
    try:
        reply = httpx.post(url, json={"msgtype": "text", "text": {"content": text}}, timeout=10)
        body = reply.json()
        if reply.status_code != 200 or body.get("errcode") != 0:
            echo(f"alert not delivered: HTTP {reply.status_code} {reply.text[:200]}")
    except (httpx.HTTPError, ValueError) as error:
        echo(f"alert not delivered: {type(error).__name__}: {error}")


def watch(
    db: Path,
    config: Path,
    every: float,
    *,
    rounds: int | None = None,
    echo: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
    settle: Callable[[Path], object] | None = None,
) -> int:
    """Run pull rounds every ``every`` seconds (± 10 %); ``rounds`` stops after that many."""
    if settle is None:
        from warehouse.settle import settle_warehouse

        def settle(path: Path) -> object:
            return settle_warehouse(path, echo=echo)

    alerted: dict[str, str] = {}
    done = 0
    while rounds is None or done < rounds:
        settings = platform_settings(config)
        runs = pull(db, settings, echo=echo)
        if any(r.inserted or r.updated for r in runs):
            try:
                settle(db)
            except Exception as error:  # recorded in settlement_runs; the next round retries
                echo(f"settlement failed: {error}")
        trouble = problems(db, list(settings), runs, max_lag_minutes(config))
        for platform, why in trouble.items():
            if alerted.get(platform) != why.split(":")[0]:
                notify(webhook_url(config), f"Tierboard: {platform} {why}", echo)
            alerted[platform] = why.split(":")[0]
        for platform in [p for p in alerted if p not in trouble]:
            notify(webhook_url(config), f"Tierboard: {platform} is up to date again", echo)
            del alerted[platform]
        done += 1
        echo(f"round {done} done: {len(runs)} runs, {len(trouble)} platform(s) in trouble")
        if rounds is None or done < rounds:
            sleep(every * random.uniform(0.9, 1.1))
    return 0
