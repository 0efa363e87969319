"""``pull`` and ``watch`` into a real warehouse file from a local server speaking the platforms'
APIs: the same records as a file feed load the same orders and refunds to the cent, a window
pulled twice changes nothing, the next pull starts from the watermark, a failing platform is
recorded (and alerted) while the others load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipelines.__main__ import main
from pipelines.ingest import ingest
from pipelines.platform_server import Shop, demo_shop
from pipelines.pull import OVERLAP, pull
from pipelines.sources.http_api import Retry, beijing_now, beijing_text
from pipelines.watch import watch
from tests.conftest import ROOT
from tests.pipelines.sources import test_taobao_payloads as tb
from tests.pipelines.sources import test_youzan_payloads as yz
from warehouse.app_store import app_store_path, audit_entries
from warehouse.db import connect_read_only

Settings = dict[str, dict[str, str]]
SINCE, UNTIL = datetime(2025, 11, 1), datetime(2026, 5, 1)  # the whole simulated world
FILE_NAMES = {
    "taobao_trades": "taobao/trades_all.jsonl",
    "taobao_refunds": "taobao/refunds_all.jsonl",
    "youzan_trades": "youzan/trades_all.jsonl",
    "wechat_orders": "wechat/orders_all.jsonl",
    "wechat_aftersales": "wechat/aftersales_all.jsonl",
}


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with connect_read_only(db) as con:
        return con.sql(sql).fetchall()


def state(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {
        "orders": rows(db, "select * exclude (run_id) from orders order by all"),
        "order_refunds": rows(db, "select * exclude (run_id) from order_refunds order by all"),
        "quarantine": rows(
            db, "select feed, field, reason, count(*) from quarantine group by all order by all"
        ),
    }


def quick(platform: str) -> Retry:
    return Retry(platform, base=0.01)


@pytest.fixture
def demo(shop: Shop, feed_dir: Path) -> Shop:
    """The shop serves the newest version of every record of the simulated world's feeds."""
    shop.records = demo_shop(feed_dir).records
    return shop


def test_pulled_records_load_exactly_as_the_same_records_from_files(
    demo: Shop, settings: Settings, tmp_path: Path
) -> None:
    for feed, name in FILE_NAMES.items():
        path = tmp_path / "files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [json.dumps(r, ensure_ascii=False) for r in demo.records[feed]]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    from_files = tmp_path / "files.duckdb"
    ingest([tmp_path / "files"], from_files)
    from_api = tmp_path / "api.duckdb"
    runs = pull(from_api, settings, since=SINCE, until=UNTIL, retry=quick)
    assert [r.status for r in runs] == ["succeeded"] * 5
    pulled, filed = state(from_api), state(from_files)
    assert len(pulled["orders"]) > 200 and len(pulled["order_refunds"]) > 5
    assert pulled == filed  # every order and refund, to the cent and the second
    records = {feed: len(records) for feed, records in demo.records.items()}
    assert {r.feed: r.records_read for r in runs} == records
    assert rows(from_api, "select distinct source from ingestion_runs") == [("api",)]


def test_a_window_pulled_twice_changes_nothing(
    demo: Shop, settings: Settings, tmp_path: Path
) -> None:
    db = tmp_path / "tierboard.duckdb"
    pull(db, settings, since=SINCE, until=UNTIL, retry=quick)
    before = state(db)
    again = pull(db, settings, since=SINCE, until=UNTIL, retry=quick)
    assert [(r.status, r.inserted, r.updated) for r in again] == [("succeeded", 0, 0)] * 5
    assert sum(r.unchanged for r in again) > 200
    assert state(db) == before


def test_the_next_pull_starts_at_the_last_window_end_less_the_overlap(
    shop: Shop, settings: Settings, tmp_path: Path
) -> None:
    shop.add("youzan_trades", yz.trade())  # updated 2026-01-10 08:00:00
    db = tmp_path / "tierboard.duckdb"
    youzan = {"youzan": settings["youzan"]}
    (first,) = pull(db, youzan, since=datetime(2026, 1, 10), until=datetime(2026, 1, 10, 8))
    assert (first.status, first.inserted) == ("succeeded", 2)  # the order and its refund
    (second,) = pull(db, youzan, until=datetime(2026, 1, 10, 9))
    assert second.inserted == second.updated == 0
    windows = rows(db, "select window_start, window_end from ingestion_runs order by run_id")
    utc = timedelta(hours=8)
    assert windows[1] == (datetime(2026, 1, 10, 8) - OVERLAP - utc, datetime(2026, 1, 10, 1))
    sent = shop.called("youzan.trades.sold.get")[-1]
    assert (sent["start_update"], sent["end_update"]) == (
        "2026-01-10 07:50:00",
        "2026-01-10 09:00:00",
    )


def test_a_failing_platform_is_recorded_and_the_others_still_load(
    demo: Shop, settings: Settings, tmp_path: Path
) -> None:
    settings["taobao"]["app_secret"] = "wrong"
    db = tmp_path / "tierboard.duckdb"
    runs = pull(db, settings, since=SINCE, until=UNTIL, retry=quick)
    assert [r.status for r in runs] == ["failed", "succeeded", "succeeded", "succeeded"]
    failed = rows(db, "select feed, source, error from ingestion_runs where status = 'failed'")
    assert failed == [("taobao_trades", "api", "taobao: taobao.trades.sold.increment.get: "
                       "error 25 Invalid signature")]  # fmt: skip
    assert rows(db, "select count(*) from orders where platform = 'taobao'") == [(0,)]
    assert rows(db, "select count(*) > 0 from orders where platform = 'youzan'") == [(True,)]


def test_the_pull_command_loads_and_says_so_in_lines(
    demo: Shop, connectors_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "tierboard.duckdb"
    window = ["--since", beijing_text(SINCE), "--until", beijing_text(UNTIL), "--db", str(db)]
    assert main(["pull", "all", *window]) == 0
    out = capsys.readouterr().out
    assert "succeeded taobao_trades    api:taobao_trades 2025-11-01 00:00:00 .. 2026-05-01" in out
    assert main(["pull", "wechat", *window]) == 0
    (entry, _) = audit_entries(app_store_path(db), "admin", action="manual_pull")
    assert entry["subject"] == f"wechat: api:wechat_aftersales {window[1]} .. {window[3]}, " \
        f"api:wechat_orders {window[1]} .. {window[3]}"  # fmt: skip
    assert str(entry["diff"]).endswith("failed: none")
    assert rows(db, "select count(*) from ingestion_runs where feed like 'wechat%'") == [(4,)]
    connectors_file.write_text("[youzan]\nbase_url = 'http://127.0.0.1:9'\n", encoding="utf-8")
    assert main(["pull", "youzan", *window]) == 2
    assert capsys.readouterr().err == (
        f"error: {connectors_file}: [youzan] lacks client_id, client_secret, grant_id\n"
    )


def test_watch_runs_two_rounds_settles_what_changed_and_alerts_once(
    shop: Shop, shop_url: str, connectors_file: Path, tmp_path: Path
) -> None:
    recent = beijing_text(beijing_now() - timedelta(minutes=30))
    shop.add("youzan_trades", yz.trade(update_time=recent))
    config = connectors_file.read_text(encoding="utf-8").split("[wechat]")[0]
    config = config.replace('app_secret = "demo-top-secret"', 'app_secret = "rotated"')
    webhook = f"{shop_url}/cgi-bin/webhook/send?key=robot"
    connectors_file.write_text(
        f'{config}\n[watch]\nmax_lag_minutes = 5\n\n[alert]\nwebhook = "{webhook}"\n',
        encoding="utf-8",
    )
    db, sleeps, settled, lines = tmp_path / "tierboard.duckdb", [], [], []
    status = watch(
        db, connectors_file, 60, rounds=2, sleep=sleeps.append, settle=settled.append,
        echo=lines.append,
    )  # fmt: skip
    assert status == 0
    assert len(sleeps) == 1 and 54 <= sleeps[0] <= 66  # one pause between two rounds, jittered
    assert settled == [db]  # the first round changed orders; the second changed nothing
    assert [line.split(":")[0] for line in lines if line.startswith("round")] == [
        "round 1 done", "round 2 done"]  # fmt: skip
    windows = rows(
        db, "select window_start, window_end from ingestion_runs where feed = 'youzan_trades'"
        " order by run_id",
    )  # fmt: skip
    assert windows[1][0] == windows[0][1] - OVERLAP
    alerts = shop.called("/cgi-bin/webhook/send")
    assert len(alerts) == 1  # failing in both rounds: said once
    assert alerts[0]["msgtype"] == "text"
    assert "Tierboard: taobao pull failed: taobao:" in alerts[0]["text"]["content"]
    assert "Invalid signature" in alerts[0]["text"]["content"]


def test_an_unreachable_or_garbled_platform_fails_alone_with_its_reason(
    shop: Shop, settings: Settings, tmp_path: Path
) -> None:
    shop.add("youzan_trades", yz.trade())
    settings["wechat"]["base_url"] = "http://127.0.0.1:9"  # nothing listens: refused
    shop.fail_next("taobao.trades.sold.increment.get", {"trades_sold_increment_get_response": {
        "total_results": "many"}})  # fmt: skip
    db = tmp_path / "tierboard.duckdb"
    runs = pull(db, settings, since=datetime(2026, 1, 10), until=datetime(2026, 1, 11), retry=quick)
    errors = {r.feed: r.error for r in runs if r.status == "failed"}
    assert errors["taobao_trades"] == (
        "taobao: unexpected reply (ValueError: invalid literal for int() with base 10: 'many')"
    )
    assert errors["wechat_orders"].startswith("wechat: ConnectError")
    assert errors["wechat_orders"].endswith("gave up after 5 attempts")
    assert rows(db, "select order_id from orders") == [(yz.TID,)]


def test_watch_under_a_service_manager_stops_cleanly_on_sigterm(
    shop: Shop, connectors_file: Path, tmp_path: Path
) -> None:
    shop.add("youzan_trades", yz.trade(update_time=beijing_text(beijing_now())))
    db = tmp_path / "tierboard.duckdb"
    env = {**os.environ, "TIERBOARD_APP_DB": str(tmp_path / "app.sqlite")}
    command = [sys.executable, "-m", "pipelines", "watch", "--every", "1h", "--db", str(db)]
    watcher = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert watcher.stdout is not None
        for line in watcher.stdout:  # the first round: pull, settle, publish
            if line.startswith("round 1 done"):
                break
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=30) == 130
        assert watcher.stderr is not None and watcher.stderr.read() == "stopped\n"
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert rows(db, "select order_id from orders") == [(yz.TID,)]


def test_watch_rereads_the_connectors_file_and_announces_a_recovery(
    shop: Shop, shop_url: str, connectors_file: Path, tmp_path: Path
) -> None:
    shop.add("taobao_trades", tb.trade(modified=beijing_text(beijing_now() - timedelta(hours=1))))
    good = connectors_file.read_text(encoding="utf-8").split("[youzan]")[0]
    webhook = f'\n[alert]\nwebhook = "{shop_url}/cgi-bin/webhook/send?key=robot"\n'
    connectors_file.write_text(good.replace("demo-top-secret", "old") + webhook)

    def rotate_secret(seconds: float) -> None:  # between the rounds, someone fixes the file
        connectors_file.write_text(good + webhook)

    db = tmp_path / "tierboard.duckdb"
    watch(db, connectors_file, 300, rounds=2, sleep=rotate_secret, settle=lambda _: None,
          echo=lambda _: None)  # fmt: skip
    said = [a["text"]["content"] for a in shop.called("/cgi-bin/webhook/send")]
    assert len(said) == 2 and "taobao pull failed" in said[0]
    assert said[1] == "Tierboard: taobao is up to date again"
    assert rows(db, "select order_id from orders") == [(str(tb.TID),)]
