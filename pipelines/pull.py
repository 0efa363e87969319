"""Pull a window of changes from each platform's API and load it like a file of the same records.

A pull asks the platform for every trade and refund changed in ``[since, until]`` (Beijing
time), writes them as the file reader's records (one JSON line each, as the platform sent them)
and reads them with that same reader, so a pulled record is mapped, validated and quarantined
exactly as a file record is. A platform's batches (trades and refunds) merge in one transaction
with their ``ingestion_runs`` rows (``source = 'api'``, the window asked for); pulling a window
again changes nothing, because only a newer version of a record wins.

The network is asked before the warehouse is locked, so a slow platform never holds the
writer; a platform that fails permanently is recorded as a failed run and the others still load.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import duckdb
import httpx

from pipelines.ingest import refresh_reference
from pipelines.load import RunSummary, load_pulled
from pipelines.reference import Reference, load_reference
from pipelines.sources import taobao, wechat, youzan
from pipelines.sources.base import FeedBatch, ReferenceLike
from pipelines.sources.http_api import BEIJING_OFFSET, ApiError, Record, Retry, beijing_now
from pipelines.sources.taobao.api import TaobaoConnector
from pipelines.sources.wechat.api import WechatConnector
from pipelines.sources.youzan.api import YouzanConnector
from warehouse.db import connect_serving, writer

# Late updates: a platform may index a change a little after its stamped time, so each pull
# starts this much before the previous window's end (re-reading a record changes nothing).
OVERLAP = timedelta(minutes=10)
FIRST_PULL = timedelta(days=1)  # a platform never pulled before, without --since
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Reader(Protocol):
    name: str

    def read(self, path: Path, reference: ReferenceLike) -> FeedBatch: ...


class Connector(Protocol):
    platform: str

    def pull(self, start: datetime, end: datetime) -> dict[str, list[Record]]: ...


ConnectorType = Callable[[dict[str, str], httpx.Client, Retry], Connector]
CONNECTORS: dict[str, ConnectorType] = {
    "taobao": TaobaoConnector,
    "youzan": YouzanConnector,
    "wechat": WechatConnector,
}
READERS: dict[str, dict[str, Reader]] = {
    "taobao": {"taobao_trades": taobao.TaobaoTrades(), "taobao_refunds": taobao.TaobaoRefunds()},
    "youzan": {"youzan_trades": youzan.YouzanTrades()},
    "wechat": {
        "wechat_orders": wechat.WechatOrders(),
        "wechat_aftersales": wechat.WechatAftersales(),
    },
}


@dataclass(frozen=True)
class Window:
    """A pull's update-time range, naive Beijing wall-clock times (the platforms' own)."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M:%S} .. {self.end:%Y-%m-%d %H:%M:%S}"

    def utc(self) -> dict[str, object]:
        return {
            "window_start": self.start - BEIJING_OFFSET,
            "window_end": self.end - BEIJING_OFFSET,
        }


@dataclass(frozen=True)
class Fetched:
    """What one platform answered for one window: its records per feed, or why it failed."""

    platform: str
    window: Window
    records: dict[str, list[Record]]
    error: str | None = None


def last_window_ends(db: Path) -> dict[str, datetime]:
    """Per platform, the end (Beijing) of its last successful pull, read from the serving
    snapshot: it is published after every writing command and never locked by a writer."""
    sql = (
        "select split_part(feed, '_', 1), max(window_end) from ingestion_runs"
        " where source = 'api' and status = 'succeeded' group by 1"
    )
    try:
        with connect_serving(db) as con:
            rows = con.execute(sql).fetchall()
    except (FileNotFoundError, duckdb.Error):
        return {}  # no warehouse yet, or one from before pulls existed
    return {platform: end + BEIJING_OFFSET for platform, end in rows if end is not None}


def window_for(
    platform: str, since: datetime | None, until: datetime | None, ends: dict[str, datetime]
) -> Window:
    end = until or beijing_now().replace(microsecond=0)
    if since is not None:
        start = since
    elif platform in ends:
        start = ends[platform] - OVERLAP
    else:
        start = end - FIRST_PULL
    if start >= end:
        raise ValueError(f"{platform}: the window {start} .. {end} is empty (since >= until)")
    return Window(start, end)


def fetch(
    platform: str, settings: dict[str, str], window: Window, retry: Retry | None = None
) -> Fetched:
    """Ask one platform for a window; an API error is kept as the result, not raised."""
    retry = retry or Retry(platform)
    try:
        with httpx.Client(timeout=TIMEOUT) as client:
            connector = CONNECTORS[platform](settings, client, retry)
            records = connector.pull(window.start, window.end)
    except ApiError as error:
        return Fetched(platform, window, {}, str(error))
    except httpx.InvalidURL as error:
        return Fetched(platform, window, {}, f"{platform}: base_url is not a URL: {error}")
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        # a reply of an unexpected shape (a count that is not a number, a list that is not
        # one): that platform stops with what was wrong; the others still load
        detail = f"{type(error).__name__}: {error}"
        return Fetched(platform, window, {}, f"{platform}: unexpected reply ({detail})")
    return Fetched(platform, window, records)


def batches(fetched: Fetched, reference: Reference) -> list[FeedBatch]:
    """The records as the file readers' batches, named after the pull (``api:<feed> <window>``)."""
    read: list[FeedBatch] = []
    with tempfile.TemporaryDirectory(prefix="tierboard-pull-") as folder:
        for feed, reader in READERS[fetched.platform].items():
            path = Path(folder) / f"{feed}.jsonl"
            lines = (json.dumps(r, ensure_ascii=False) for r in fetched.records.get(feed, []))
            path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
            batch = reader.read(path, reference)
            read.append(dataclasses.replace(batch, file=Path(f"api:{feed} {fetched.window.label}")))
    return read


def load_fetched(
    con: duckdb.DuckDBPyConnection, fetched: Fetched, reference: Reference
) -> list[RunSummary]:
    run = {"source": "api", **fetched.window.utc()}
    if fetched.error is None:
        return load_pulled(con, batches(fetched, reference), **run)
    feed = next(iter(READERS[fetched.platform]))
    return [_record_failure(con, feed, fetched, run)]


def _record_failure(
    con: duckdb.DuckDBPyConnection, feed: str, fetched: Fetched, run: dict[str, object]
) -> RunSummary:
    run_id = int(con.execute("select nextval('ingestion_run_id')").fetchall()[0][0])
    now = datetime.now(UTC).replace(tzinfo=None)
    label = f"api:{fetched.platform} {fetched.window.label}"
    con.execute(
        "insert into ingestion_runs (run_id, feed, file, file_sha256, started_at, finished_at,"
        " status, error, source, window_start, window_end) values ($run_id, $feed, $file, '',"
        " $now, $now, 'failed', $error, $source, $window_start, $window_end)",
        {"run_id": run_id, "feed": feed, "file": label, "now": now, "error": fetched.error, **run},
    )
    return RunSummary(run_id, feed, label, "failed", error=fetched.error)


def pull(
    db: Path,
    settings: dict[str, dict[str, str]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    retry: Callable[[str], Retry] = Retry,
    echo: Callable[[str], None] = lambda _: None,
) -> list[RunSummary]:
    """Pull every platform in ``settings`` and load what each answered; publishes the snapshot."""
    ends = last_window_ends(db)
    windows = {platform: window_for(platform, since, until, ends) for platform in settings}
    for platform, window in windows.items():
        echo(f"pulling  {platform:<16} {window.label} (Beijing)")
    # The platforms are independent and the wait is the network's: ask them at once.
    with ThreadPoolExecutor(max_workers=len(settings) or 1) as pool:
        asked = [
            pool.submit(fetch, platform, settings[platform], window, retry(platform))
            for platform, window in windows.items()
        ]
        fetched = [answer.result() for answer in asked]
    reference = load_reference()
    summaries: list[RunSummary] = []
    with writer(db) as con:
        refresh_reference(con, reference)
        for answer in fetched:
            for summary in load_fetched(con, answer, reference):
                echo(summary.line())
                summaries.append(summary)
    return summaries
