"""WeChat shop (视频号小店, Channels EC) connector: orders and after-sales changed in a window.

The access token comes from ``GET /cgi-bin/token?grant_type=client_credential&appid&secret``
(``{"access_token", "expires_in"}``), cached until five minutes before it expires. Calls are
``POST <path>?access_token=…`` with a JSON body; every reply carries ``errcode`` / ``errmsg``
(0 is success).

Orders: ``/channels/ec/order/list/get`` by ``update_time_range`` (unix seconds, at most seven
days a call), paged by ``next_key`` while ``has_more``, then ``/channels/ec/order/get`` per
order (its ``order`` is the file reader's record). After-sales:
``/channels/ec/aftersale/getaftersalelist`` by ``begin_update_time``/``end_update_time`` (at most
a day a call), then ``/channels/ec/aftersale/getaftersaleorder`` (its ``after_sale_order``).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import httpx

from pipelines.sources.http_api import (
    BEIJING_OFFSET,
    Permanent,
    Record,
    Retry,
    TokenExpired,
    Transient,
    send,
    windows,
    with_token_refresh,
)

PLATFORM = "wechat"
ORDER_WINDOW = timedelta(days=7)
AFTERSALE_WINDOW = timedelta(days=1)
PAGE_SIZE = 100
REFRESH_BEFORE_SECONDS = 300
# errcode: 40001 invalid credential, 40014 invalid access_token, 42001 access_token expired
# (fetch a new token); -1 system busy, 45011 API minute-quota reached (retry); anything else
# (40013 invalid appid, 40125 invalid secret, 45009 daily quota used up, …) stops the pull.
TOKEN_CODES = {40001, 40014, 42001}
TRANSIENT_CODES = {-1, 45011}


def unwrap(path: str, body: Record) -> Record:
    code = body.get("errcode", 0)
    code = int(code) if isinstance(code, int | str) and str(code).lstrip("-").isdigit() else code
    if code == 0:
        return body
    message = f"{path}: errcode {code} {body.get('errmsg', '')}".strip()
    if code in TOKEN_CODES:
        raise TokenExpired(PLATFORM, message)
    if code in TRANSIENT_CODES:
        raise Transient(PLATFORM, message)
    raise Permanent(PLATFORM, message)


def unix(beijing: datetime) -> int:
    """A naive Beijing time as unix seconds."""
    return int((beijing - BEIJING_OFFSET - datetime(1970, 1, 1)).total_seconds())


class WechatConnector:
    platform = PLATFORM

    def __init__(self, config: dict[str, str], client: httpx.Client, retry: Retry) -> None:
        self.url = config["base_url"].rstrip("/")
        self.appid, self.secret = config["appid"], config["secret"]
        self.client, self.retry = client, retry
        self.token: str | None = None
        self.expires_at = 0.0

    def access_token(self) -> str:
        if self.token is None or time.time() >= self.expires_at - REFRESH_BEFORE_SECONDS:
            self.refresh()
        assert self.token is not None
        return self.token

    def refresh(self) -> None:
        query = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}
        path = "/cgi-bin/token"
        body = self.retry.run(
            lambda: unwrap(
                path, send(PLATFORM, lambda: self.client.get(self.url + path, params=query))
            )
        )
        if not body.get("access_token"):
            raise Permanent(PLATFORM, f"{path}: no access_token in the reply")
        self.token = str(body["access_token"])
        self.expires_at = time.time() + float(body.get("expires_in") or 0)

    def call(self, path: str, payload: Record) -> Record:
        def once() -> Record:
            token = {"access_token": self.access_token()}
            return unwrap(
                path,
                send(
                    PLATFORM, lambda: self.client.post(self.url + path, params=token, json=payload)
                ),
            )

        def refresh() -> None:
            self.token = None

        return with_token_refresh(lambda: self.retry.run(once), refresh, PLATFORM)

    def _ids(self, path: str, window: Record, key: str) -> list[str]:
        found: list[str] = []
        next_key = ""
        while True:
            body = self.call(path, {**window, "page_size": PAGE_SIZE, "next_key": next_key})
            found += [str(i) for i in body.get(key) or []]
            next_key = str(body.get("next_key") or "")
            if not body.get("has_more") or not next_key:
                return found

    def _detail(self, path: str, field: str, key: str, value: str) -> Record:
        item = self.call(path, {field: value}).get(key)
        if not isinstance(item, dict):
            raise Permanent(PLATFORM, f"{path} {value}: no {key} in the reply")
        return item

    def pull(self, start: datetime, end: datetime) -> dict[str, list[Record]]:
        """Every order and after-sale updated in ``[start, end]`` (Beijing), in full."""
        orders: list[str] = []
        for low, high in windows(start, end, ORDER_WINDOW):
            window: Record = {
                "update_time_range": {"start_time": unix(low), "end_time": unix(high)}
            }
            orders += self._ids("/channels/ec/order/list/get", window, "order_id_list")
        aftersales: list[str] = []
        for low, high in windows(start, end, AFTERSALE_WINDOW):
            window = {"begin_update_time": unix(low), "end_update_time": unix(high)}
            aftersales += self._ids(
                "/channels/ec/aftersale/getaftersalelist", window, "after_sale_order_id_list"
            )
        return {
            "wechat_orders": [
                self._detail("/channels/ec/order/get", "order_id", "order", order_id)
                for order_id in dict.fromkeys(orders)
            ],
            "wechat_aftersales": [
                self._detail(
                    "/channels/ec/aftersale/getaftersaleorder",
                    "after_sale_order_id",
                    "after_sale_order",
                    after_sale_id,
                )
                for after_sale_id in dict.fromkeys(aftersales)
            ],
        }
