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

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pipelines.platform_server import taobao, wechat, youzan
from pipelines.platform_server.shop import DEMO_CREDENTIALS, Shop, demo_shop, newest_versions
from pipelines.sources.http_api import Record

__all__ = ["DEMO_CREDENTIALS", "Shop", "connectors_toml", "demo_shop", "newest_versions", "serving"]


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
        return form.get("method", ""), form, lambda: taobao.answer(shop, form)
    if path == "/auth/token":
        body = json.loads(raw or b"{}")
        return "auth/token", body, lambda: youzan.token(shop, body)
    if path.startswith("/api/"):
        api = path.split("/")[2]
        body = json.loads(raw or b"{}")
        return api, body, lambda: youzan.answer(shop, api, query.get("access_token", ""), body)
    if path == "/cgi-bin/token":
        return path, query, lambda: wechat.token(shop, query)
    body = json.loads(raw or b"{}")
    if path == "/cgi-bin/webhook/send":  # a 企业微信 group robot, for the watch's alerts
        return path, body, lambda: {"errcode": 0, "errmsg": "ok"}
    return path, body, lambda: wechat.answer(shop, path, query.get("access_token", ""), body)


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
