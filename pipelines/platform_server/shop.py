"""The shop a platform stand-in serves: records per feed, credentials, tokens, faults, calls."""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from pipelines.sources.http_api import BEIJING_OFFSET, Record, beijing_now

DEMO_CREDENTIALS: dict[str, dict[str, str]] = {
    "taobao": {"app_key": "12345678", "app_secret": "demo-top-secret", "session": "demo-session"},
    "youzan": {"client_id": "demo-client", "client_secret": "demo-yz-secret", "grant_id": "110"},
    "wechat": {"appid": "wxdemo0000000001", "secret": "demo-wx-secret"},
}
FEEDS = ("taobao_trades", "taobao_refunds", "youzan_trades", "wechat_orders", "wechat_aftersales")
TOKEN_SECONDS = 7200


def beijing(text: object) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def unix(value: object) -> datetime | None:
    try:
        return datetime(1970, 1, 1) + timedelta(seconds=int(str(value))) + BEIJING_OFFSET
    except (ValueError, OverflowError):
        return None


def updated(feed: str, record: Record) -> datetime | None:
    """A record's update time (naive Beijing), as the platform's list APIs filter on it."""
    if feed.startswith("taobao"):
        return beijing(record.get("modified"))
    if feed == "youzan_trades":
        info = (record.get("full_order_info") or {}).get("order_info") or {}
        return beijing(info.get("update_time"))
    return unix(record.get("update_time"))


def record_id(feed: str, record: Record) -> str:
    if feed == "taobao_trades":
        return str(record.get("tid"))
    if feed == "youzan_trades":
        return str(((record.get("full_order_info") or {}).get("order_info") or {}).get("tid"))
    if feed == "wechat_aftersales":
        return str(record.get("after_sale_order_id"))
    return str(record.get("order_id") if feed == "wechat_orders" else record.get("refund_id"))


@dataclass
class Shop:
    """Records per feed (as the platform would return them in detail), and the server's state."""

    records: dict[str, list[Record]] = field(default_factory=lambda: {f: [] for f in FEEDS})
    credentials: dict[str, dict[str, str]] = field(default_factory=lambda: DEMO_CREDENTIALS)
    faults: dict[str, list[tuple[int, Record]]] = field(default_factory=lambda: defaultdict(list))
    calls: list[tuple[str, Record]] = field(default_factory=list)
    # Called after each page a list API serves (feed, page): lets a test change the shop
    # between pages, as sellers do while a pull is paging.
    after_page: Callable[[str, int], None] | None = None
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _serial: Iterator[int] = field(default_factory=itertools.count)
    # Replay: with speed > 0 the shop's history unfolds at that many times real time from
    # ``origin`` (demo time at the moment replay began), so a watch sees new changes each round.
    speed: float = 0.0
    origin: datetime | None = None
    began: datetime = field(default_factory=beijing_now)

    def replay(self, speed: float) -> None:
        stamps = [t for feed in FEEDS for r in self.records[feed] if (t := updated(feed, r))]
        self.speed, self.origin, self.began = speed, min(stamps, default=None), beijing_now()

    def demo_time(self, real: datetime) -> datetime:
        if self.speed <= 0 or self.origin is None:
            return real
        return self.origin + (real - self.began) * self.speed

    def add(self, feed: str, record: Record) -> None:
        self.records[feed].append(record)

    def fail_next(self, route: str, body: Record, status: int = 200, times: int = 1) -> None:
        self.faults[route].extend([(status, body)] * times)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def issue_token(self, platform: str) -> str:
        token = f"{platform}-token-{next(self._serial)}"
        self.tokens.add(token)
        return token

    def changed(self, feed: str, start: datetime, end: datetime) -> list[Record]:
        """Records updated in ``[start, end]``, oldest change first (the order lists page in)."""
        start, end = self.demo_time(start), self.demo_time(end)
        hits = [(t, r) for r in self.records[feed] if (t := updated(feed, r)) and start <= t <= end]
        return [r for _, r in sorted(hits, key=lambda pair: pair[0])]

    def find(self, feed: str, wanted: str) -> Record | None:
        return next((r for r in self.records[feed] if record_id(feed, r) == wanted), None)

    def called(self, route: str) -> list[Record]:
        return [params for name, params in self.calls if name == route]


def newest_versions(feed: str, records: list[Record]) -> list[Record]:
    """The platform's current state: the latest version of each id (by update time)."""
    newest: dict[str, tuple[datetime, Record]] = {}
    for record in records:
        stamp = updated(feed, record)
        if stamp is None:
            continue  # a version with a broken update time is not one a platform would list
        key = record_id(feed, record)
        if key not in newest or stamp >= newest[key][0]:
            newest[key] = (stamp, record)
    return [record for _, record in newest.values()]


def demo_shop(feeds: Path) -> Shop:
    """The newest version of every record in a folder of demo feeds."""
    globs = {
        "taobao_trades": "taobao/trades_*.jsonl",
        "taobao_refunds": "taobao/refunds_*.jsonl",
        "youzan_trades": "youzan/trades_*.jsonl",
        "wechat_orders": "wechat/orders_*.jsonl",
        "wechat_aftersales": "wechat/aftersales_*.jsonl",
    }
    shop = Shop()
    for feed, pattern in globs.items():
        found: list[Record] = []
        for path in sorted(feeds.glob(pattern)):
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # the demo's deliberately broken lines
                if isinstance(record, dict):
                    found.append(record)
        shop.records[feed] = newest_versions(feed, found)
    return shop


def page(items: list[Record], number: int, size: int) -> list[Record]:
    return items[(number - 1) * size : number * size]
