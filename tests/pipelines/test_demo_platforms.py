"""``serve-demo-platforms``: the demo feeds served through the platforms' API shapes, pulled by
the connectors; with ``--speed`` the history unfolds so each watch round finds new changes."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pipelines.__main__ import main
from pipelines.platform_server import Shop
from pipelines.pull import pull
from pipelines.sources.http_api import beijing_now
from tests.conftest import ROOT
from tests.pipelines.sources import test_youzan_payloads as yz
from warehouse.db import connect_read_only


def test_replay_releases_the_history_as_the_clock_advances(
    shop: Shop, settings: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    for day in (10, 11, 13):
        shop.add(
            "youzan_trades", yz.trade(tid=f"E202601{day}", update_time=f"2026-01-{day} 08:00:00")
        )
    shop.replay(1440)  # a demo day per real minute, from the oldest change
    shop.began = beijing_now() - timedelta(minutes=2)  # two minutes in: days 10 to 12 are past
    db, youzan = tmp_path / "tierboard.duckdb", {"youzan": settings["youzan"]}
    pull(db, youzan)
    assert orders(db) == ["E20260110", "E20260111"]
    shop.began -= timedelta(minutes=2)  # two more minutes: day 13 happens
    (second,) = pull(db, youzan)
    assert second.status == "succeeded"
    assert orders(db) == ["E20260110", "E20260111", "E20260113"]


def orders(db: Path) -> list[str]:
    with connect_read_only(db) as con:
        return [row[0] for row in con.sql("select order_id from orders order by 1").fetchall()]


def test_the_command_serves_demo_feeds_that_pull_loads(
    feed_dir: Path, tmp_path: Path, free_tcp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "connectors.toml"
    server = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "serve-demo-platforms", "--feeds", str(feed_dir),
         "--port", str(free_tcp_port), "--write-config", str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not config.exists() and time.monotonic() < deadline and server.poll() is None:
            time.sleep(0.1)
        assert config.exists(), server.stderr.read() if server.stderr else ""
        monkeypatch.setenv("TIERBOARD_CONNECTORS", str(config))
        db = tmp_path / "tierboard.duckdb"
        window = ["--since", "2025-11-01 00:00:00", "--until", "2026-05-01 00:00:00"]
        assert main(["pull", "all", *window, "--db", str(db)]) == 0
        with connect_read_only(db) as con:
            counts = dict(con.sql("select platform, count(*) from orders group by 1").fetchall())
        assert set(counts) == {"taobao", "youzan", "wechat"} and min(counts.values()) > 50
    finally:
        server.terminate()
        server.wait(timeout=10)
