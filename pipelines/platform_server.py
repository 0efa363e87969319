"""A local stand-in for the three platforms' open APIs, serving a shop's records in their shapes.

``python -m pipelines serve-demo-platforms --feeds DIR`` serves the demo feeds (the newest
version of every trade, refund and after-sale) so the connectors and the dashboard can be shown
without files or a real shop; the tests use the same server. It speaks what the connectors
speak, as the platforms document it: the TOP router (signature checked: a wrong secret is
refused with error 25), Youzan's token and 4.0.0 trade APIs, and the WeChat shop's token,
order and after-sale APIs; list calls filter by update time (inclusive at both ends) and page.
``faults`` queues replies to send instead of the real one (throttling, an expired token, an
error envelope), and ``calls`` records every request.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pipelines.sources.http_api import BEIJING_OFFSET, Record, beijing_now
from pipelines.sources.taobao.api import response_key, sign

DEMO_CREDENTIALS: dict[str, dict[str, str]] = {
    "taobao": {"app_key": "12345678", "app_secret": "demo-top-secret", "session": "demo-session"},
    "youzan": {"client_id": "demo-client", "client_secret": "demo-yz-secret", "grant_id": "110"},
    "wechat": {"appid": "wxdemo0000000001", "secret": "demo-wx-secret"},
}
FEEDS = ("taobao_trades", "taobao_refunds", "youzan_trades", "wechat_orders", "wechat_aftersales")
TOKEN_SECONDS = 7200


def _beijing(text: object) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def _unix(value: object) -> datetime | None:
    try:
        return datetime(1970, 1, 1) + timedelta(seconds=int(str(value))) + BEIJING_OFFSET
    except (ValueError, OverflowError):
        return None


def updated(feed: str, record: Record) -> datetime | None:
    """A record's update time (naive Beijing), as the platform's list APIs filter on it."""
    if feed.startswith("taobao"):
        return _beijing(record.get("modified"))
    if feed == "youzan_trades":
        info = (record.get("full_order_info") or {}).get("order_info") or {}
        return _beijing(info.get("update_time"))
    return _unix(record.get("update_time"))


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


class _Handler(BaseHTTPRequestHandler):
    shop: Shop

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # quiet: the shop's ``calls`` is the log

    def _reply(self, status: int, body: Record) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self) -> None:
        self._dispatch(b"")

    def do_POST(self) -> None:
        self._dispatch(self._body())

    def _dispatch(self, raw: bytes) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        try:
            route, params, answer = _route(self.shop, url.path, query, raw, self.headers)
        except (ValueError, KeyError) as error:
            self._reply(400, {"error": str(error)})
            return
        with self.shop.lock:
            self.shop.calls.append((route, params))
            queued = self.shop.faults.get(route)
            fault = queued.pop(0) if queued else None
        if fault is not None:
            self._reply(*fault)
            return
        self._reply(200, answer())


def _route(shop: Shop, path: str, query: dict[str, str], raw: bytes, headers: Any) -> Any:
    if path == "/router/rest":
        form = dict(parse_qsl(raw.decode()))
        return form.get("method", ""), form, lambda: _taobao(shop, form)
    if path == "/auth/token":
        body = json.loads(raw or b"{}")
        return "auth/token", body, lambda: _youzan_token(shop, body)
    if path.startswith("/api/"):
        api = path.split("/")[2]
        body = json.loads(raw or b"{}")
        return api, body, lambda: _youzan(shop, api, query.get("access_token", ""), body)
    if path == "/cgi-bin/token":
        return path, query, lambda: _wechat_token(shop, query)
    body = json.loads(raw or b"{}")
    if path == "/cgi-bin/webhook/send":  # a 企业微信 group robot, for the watch's alerts
        return path, body, lambda: {"errcode": 0, "errmsg": "ok"}
    return path, body, lambda: _wechat(shop, path, query.get("access_token", ""), body)


def _page(items: list[Record], number: int, size: int) -> list[Record]:
    return items[(number - 1) * size : number * size]


# --- Taobao (TOP router) ---------------------------------------------------------------------


def _top_error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> Record:
    return {
        "error_response": {
            "code": code,
            "msg": msg,
            "sub_code": sub_code,
            "sub_msg": sub_msg,
            "request_id": "demo",
        }
    }


def _taobao(shop: Shop, form: dict[str, str]) -> Record:
    known = shop.credentials["taobao"]
    if form.get("app_key") != known["app_key"]:
        return _top_error(29, "Invalid app Key")
    method = form.get("sign_method", "md5")
    if method not in ("md5", "hmac") or form.get("sign") != sign(form, known["app_secret"], method):
        return _top_error(25, "Invalid signature")
    if form.get("session") != known["session"]:
        return _top_error(27, "Invalid session", "invalid-sessionkey")
    if form.get("v") != "2.0" or form.get("format") != "json" or not form.get("timestamp"):
        return _top_error(40, "Missing required arguments", "missing-required:v,format,timestamp")
    name = form.get("method", "")
    handlers = {
        "taobao.trades.sold.increment.get": lambda: _top_list(shop, form, "taobao_trades"),
        "taobao.refunds.receive.get": lambda: _top_list(shop, form, "taobao_refunds"),
        "taobao.trade.fullinfo.get": lambda: _top_one(shop, "taobao_trades", form.get("tid")),
        "taobao.refund.get": lambda: _top_one(shop, "taobao_refunds", form.get("refund_id")),
    }
    if name not in handlers:
        return _top_error(22, "Invalid method")
    payload = handlers[name]()
    return payload if "error_response" in payload else {response_key(name): payload}


def _top_list(shop: Shop, form: dict[str, str], feed: str) -> Record:
    start, end = _beijing(form.get("start_modified")), _beijing(form.get("end_modified"))
    if start is None or end is None or end - start > timedelta(days=1) or end < start:
        return _top_error(41, "Invalid arguments", "isv.invalid-parameter:start_modified")
    found = shop.changed(feed, start, end)
    number, size = int(form.get("page_no", 1)), int(form.get("page_size", 40))
    outer, inner, key = (
        ("trades", "trade", "tid")
        if feed == "taobao_trades"
        else ("refunds", "refund", "refund_id")
    )
    page = [{key: r.get(key), "modified": r.get("modified")} for r in _page(found, number, size)]
    return {
        "total_results": len(found),
        "has_next": number * size < len(found),
        outer: {inner: page},
    }


def _top_one(shop: Shop, feed: str, wanted: str | None) -> Record:
    record = shop.find(feed, str(wanted))
    if record is None:
        return _top_error(15, "Remote service error", "isv.invalid-parameter", "not found")
    return {"trade" if feed == "taobao_trades" else "refund": record}


# --- Youzan --------------------------------------------------------------------------------


def _youzan_token(shop: Shop, body: Record) -> Record:
    known = shop.credentials["youzan"]
    if (body.get("client_id"), body.get("client_secret")) != (
        known["client_id"],
        known["client_secret"],
    ):
        return {"success": False, "code": 40003, "message": "client_id or client_secret invalid"}
    if str(body.get("grant_id")) != known["grant_id"]:
        return {"success": False, "code": 40004, "message": "grant_id not authorised"}
    expires = int((time.time() + TOKEN_SECONDS) * 1000)
    token = shop.issue_token("youzan")
    return {
        "success": True,
        "code": 200,
        "message": None,
        "data": {
            "access_token": token,
            "expires": expires,
            "scope": "trade",
            "authority_id": known["grant_id"],
        },
    }


def _youzan(shop: Shop, api: str, token: str, body: Record) -> Record:
    if token not in shop.tokens:
        return {"gw_err_resp": {"err_code": 4203, "err_msg": "invalid access_token"}}
    if api == "youzan.trades.sold.get":
        start, end = _beijing(body.get("start_update")), _beijing(body.get("end_update"))
        if start is None or end is None:
            return {"success": False, "code": 141500101, "message": "start_update invalid"}
        found = shop.changed("youzan_trades", start, end)
        page = _page(found, int(body.get("page_no", 1)), int(body.get("page_size", 20)))
        data: Record = {
            "full_order_info_list": [{"full_order_info": r["full_order_info"]} for r in page],
            "total_results": len(found),
        }
        return {"success": True, "code": 200, "message": "successful", "data": data}
    if api == "youzan.trade.get":
        record = shop.find("youzan_trades", str(body.get("tid")))
        if record is None:
            return {"success": False, "code": 101100101, "message": "订单不存在"}
        return {"success": True, "code": 200, "message": "successful", "data": record}
    return {"gw_err_resp": {"err_code": 4004, "err_msg": f"api {api} not found"}}


# --- WeChat shop ---------------------------------------------------------------------------


def _wechat_token(shop: Shop, query: dict[str, str]) -> Record:
    known = shop.credentials["wechat"]
    if query.get("appid") != known["appid"]:
        return {"errcode": 40013, "errmsg": "invalid appid"}
    if query.get("secret") != known["secret"] or query.get("grant_type") != "client_credential":
        return {"errcode": 40125, "errmsg": "invalid appsecret"}
    return {"access_token": shop.issue_token("wechat"), "expires_in": TOKEN_SECONDS}


def _wechat(shop: Shop, path: str, token: str, body: Record) -> Record:
    if token not in shop.tokens:
        return {"errcode": 42001, "errmsg": "access_token expired"}
    ok = {"errcode": 0, "errmsg": "ok"}
    if path == "/channels/ec/order/list/get":
        span = body.get("update_time_range") or {}
        return {
            **ok,
            **_wechat_list(
                shop,
                "wechat_orders",
                span.get("start_time"),
                span.get("end_time"),
                body,
                "order_id_list",
                timedelta(days=7),
            ),
        }
    if path == "/channels/ec/aftersale/getaftersalelist":
        return {
            **ok,
            **_wechat_list(
                shop,
                "wechat_aftersales",
                body.get("begin_update_time"),
                body.get("end_update_time"),
                body,
                "after_sale_order_id_list",
                timedelta(days=1),
            ),
        }
    details = {
        "/channels/ec/order/get": ("wechat_orders", "order_id", "order"),
        "/channels/ec/aftersale/getaftersaleorder": (
            "wechat_aftersales",
            "after_sale_order_id",
            "after_sale_order",
        ),
    }
    if path not in details:
        return {"errcode": 40066, "errmsg": "invalid url"}
    feed, field_name, key = details[path]
    record = shop.find(feed, str(body.get(field_name)))
    if record is None:
        return {"errcode": 10021000, "errmsg": "订单不存在"}
    return {**ok, key: record}


def _wechat_list(
    shop: Shop, feed: str, low: object, high: object, body: Record, key: str, longest: timedelta
) -> Record:
    start, end = _unix(low), _unix(high)
    if start is None or end is None or end < start or end - start > longest:
        return {"errcode": 47001, "errmsg": "time range invalid"}
    found = shop.changed(feed, start, end)
    offset = int(body.get("next_key") or 0)
    size = min(int(body.get("page_size", 10)), 100)
    ids = [record_id(feed, r) for r in found[offset : offset + size]]
    more = offset + size < len(found)
    return {key: ids, "next_key": str(offset + size) if more else "", "has_more": more}


@contextmanager
def serving(shop: Shop, port: int = 0) -> Iterator[str]:
    """Serve ``shop`` on 127.0.0.1 in a thread; yields the base URL."""
    handler = type("ShopHandler", (_Handler,), {"shop": shop})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def connectors_toml(base_url: str, shop: Shop) -> str:
    """A connectors file pointing every platform at ``base_url`` with the shop's credentials."""
    lines = []
    for platform, values in shop.credentials.items():
        url = f"{base_url}/router/rest" if platform == "taobao" else base_url
        lines += [f"[{platform}]", f'base_url = "{url}"']
        lines += [f'{key} = "{value}"' for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)
