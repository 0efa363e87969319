"""Youzan cloud (有赞云) connector: trades, with their refunds, changed in a window.

The access token comes from ``POST /auth/token`` with ``client_id``, ``client_secret``,
``authorize_type=silent`` and ``grant_id`` (the shop's kdt_id), as the official SDKs ask for it;
its ``data.expires`` (epoch milliseconds) says when to fetch a new one, which happens five
minutes before. Calls are ``POST /api/<name>/<version>?access_token=…`` with a JSON body; a
reply is ``{"success", "code", "message", "data"}``, or ``{"gw_err_resp": {"err_code",
"err_msg"}}`` when the gateway refuses it.

Trades: ``youzan.trades.sold.get`` 4.0.0 by ``start_update``/``end_update`` (Beijing
``yyyy-MM-dd HH:mm:ss``), paged with ``page_no``/``page_size`` until ``total_results`` are
read, then ``youzan.trade.get`` 4.0.0 per trade: its ``data`` (``full_order_info`` and
``refund_order[]``) is exactly the record the file reader reads.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import httpx

from pipelines.sources.http_api import (
    Permanent,
    Record,
    Retry,
    TokenExpired,
    Transient,
    beijing_text,
    newest_by_id,
    send,
    windows,
    with_token_refresh,
)

PLATFORM = "youzan"
LONGEST_WINDOW = timedelta(days=1)  # keeps a window's pages well under the list's depth limit
PAGE_SIZE = 100
REFRESH_BEFORE_SECONDS = 300
# Gateway refusals: a token that is missing, invalid or expired (these codes, or a message
# naming the token: the codes are not in a public reference we could check) gets a new token
# once; a rate limit (these codes, or a message about call frequency), a 429 or a 5xx is
# retried; any other refusal stops the pull.
TOKEN_CODES = {"4201", "4202", "4203"}
THROTTLE_CODES = {"429", "4001", "4002"}
TOKEN_WORDS = ("token",)
THROTTLE_WORDS = ("频", "rate limit")  # 调用频率 / 频次超限


def unwrap(api: str, body: Record) -> Any:
    """The ``data`` of a Youzan reply, or its refusal as TokenExpired, Transient or Permanent."""
    refusal = body.get("gw_err_resp")
    if isinstance(refusal, dict):
        code, words = str(refusal.get("err_code", "")), str(refusal.get("err_msg", ""))
        message = f"{api}: gateway error {code} {words}".strip()
        if code in TOKEN_CODES or any(w in words.lower() for w in TOKEN_WORDS):
            raise TokenExpired(PLATFORM, message)
        if code in THROTTLE_CODES or any(w in words.lower() for w in THROTTLE_WORDS):
            raise Transient(PLATFORM, message)
        raise Permanent(PLATFORM, message)
    if body.get("success") is not True:
        code = str(body.get("code", ""))
        message = f"{api}: error {code} {body.get('message') or ''}".strip()
        if code in THROTTLE_CODES or code.startswith("5"):
            raise Transient(PLATFORM, message)
        raise Permanent(PLATFORM, message)
    return body.get("data")


class YouzanConnector:
    platform = PLATFORM

    def __init__(self, config: dict[str, str], client: httpx.Client, retry: Retry) -> None:
        self.url = config["base_url"].rstrip("/")
        self.client_id, self.secret = config["client_id"], config["client_secret"]
        self.grant_id = config["grant_id"]
        self.client, self.retry = client, retry
        self.token: str | None = None
        self.expires_at = 0.0  # epoch seconds

    def access_token(self) -> str:
        if self.token is None or time.time() >= self.expires_at - REFRESH_BEFORE_SECONDS:
            self.refresh()
        assert self.token is not None
        return self.token

    def refresh(self) -> None:
        body = {
            "client_id": self.client_id,
            "client_secret": self.secret,
            "authorize_type": "silent",
            "grant_id": self.grant_id,
            "refresh": True,
        }
        data = self.retry.run(
            lambda: unwrap(
                "auth/token",
                send(PLATFORM, lambda: self.client.post(f"{self.url}/auth/token", json=body)),
            )
        )
        if not isinstance(data, dict) or not data.get("access_token"):
            raise Permanent(PLATFORM, "auth/token: no access_token in the reply")
        self.token = str(data["access_token"])
        self.expires_at = float(data.get("expires") or 0) / 1000

    def call(self, api: str, params: Record, version: str = "4.0.0") -> Any:
        def once() -> Any:
            url = f"{self.url}/api/{api}/{version}"
            token = {"access_token": self.access_token()}
            return unwrap(
                api, send(PLATFORM, lambda: self.client.post(url, params=token, json=params))
            )

        def refresh() -> None:
            self.token = None

        return with_token_refresh(lambda: self.retry.run(once), refresh, PLATFORM)

    def _listed(self, start: datetime, end: datetime) -> list[Record]:
        found: list[Record] = []
        page = 1
        while True:
            data = self.call(
                "youzan.trades.sold.get",
                {"start_update": beijing_text(start), "end_update": beijing_text(end),
                 "page_no": page, "page_size": PAGE_SIZE},
            )  # fmt: skip
            data = data if isinstance(data, dict) else {}
            items = data.get("full_order_info_list") or []
            found += [item for item in items if isinstance(item, dict)]
            total = int(data.get("total_results") or 0)
            if not items or page * PAGE_SIZE >= total:
                return found
            page += 1

    def pull(self, start: datetime, end: datetime) -> dict[str, list[Record]]:
        """Every trade updated in ``[start, end]`` (Beijing), in full with its refunds."""
        listed: list[Record] = []
        for low, high in windows(start, end, LONGEST_WINDOW):
            listed += self._listed(low, high)
        trades = []
        for item in newest_by_id(listed, _tid):
            detail = self.call("youzan.trade.get", {"tid": _tid(item)})
            if not isinstance(detail, dict) or "full_order_info" not in detail:
                raise Permanent(PLATFORM, f"youzan.trade.get {_tid(item)}: no full_order_info")
            trades.append(detail)
        return {"youzan_trades": trades}


def _tid(item: Record) -> str:
    info = (item.get("full_order_info") or {}).get("order_info") or {}
    return str(info.get("tid", ""))
