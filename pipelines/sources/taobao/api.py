"""Taobao/Tmall open platform (TOP) connector: trades and refunds changed in a window.

Requests go to the TOP router as the SDKs send them (``TopApiClient``): form fields ``method``,
``app_key``, ``session``, ``timestamp`` (Beijing ``yyyy-MM-dd HH:mm:ss``), ``v=2.0``,
``format=json``, ``sign_method`` and ``sign``: the parameters sorted by name, concatenated as
name+value (empty ones left out) and signed with the app secret, ``md5`` as
``MD5(secret + text + secret)`` or ``hmac`` as ``HMAC-MD5(secret, text)``, upper-case hex.
A reply is ``{"<method without taobao., dots as _>_response": {...}}`` or
``{"error_response": {"code", "msg", "sub_code", "sub_msg"}}``.

Trades: ``taobao.trades.sold.increment.get`` by ``start_modified``/``end_modified`` (at most one
day per call), paged from the last page backwards as the platform advises (a trade changing
while we page moves out of the earlier pages, so walking back never skips one), then
``taobao.trade.fullinfo.get`` per trade. Refunds: ``taobao.refunds.receive.get`` over the same
windows, then ``taobao.refund.get`` per refund.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from pipelines.sources.http_api import (
    Permanent,
    Record,
    Retry,
    Transient,
    beijing_now,
    beijing_text,
    newest_by_id,
    send,
    windows,
)
from pipelines.sources.taobao import REFUND, SUB_ORDER, TRADE

PLATFORM = "taobao"
LONGEST_WINDOW = timedelta(days=1)  # the increment APIs' limit per call
PAGE_SIZE = 100
TRADE_FIELDS = ",".join(
    [
        *(n for n in TRADE.to_schema() if n != "orders"),
        *(f"orders.{n}" for n in SUB_ORDER.to_schema()),
    ]
)
REFUND_FIELDS = ",".join(REFUND.to_schema())
# error_response codes worth a retry: 7 App Call Limited (flow control; sub_msg says how long
# the ban lasts), and any isp.* sub-code (the platform's own service failed, e.g.
# isp.top-remote-connection-timeout). Everything else (25 invalid signature, 27 invalid
# session, 40/41 missing or invalid parameters, isv.* errors) will not heal by asking again.
THROTTLED = 7
SESSION_CODES = {"26", "27"}  # Missing session, Invalid session: only the seller can renew it
BAN = re.compile(r"ban will last for (\d+) more seconds", re.IGNORECASE)


def sign(params: dict[str, str], secret: str, method: str = "md5") -> str:
    """TOP's signature of ``params`` (every field but ``sign``; empty values left out)."""
    text = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    if method == "hmac":
        return hmac.new(secret.encode(), text.encode(), hashlib.md5).hexdigest().upper()
    if method != "md5":
        raise ValueError(f"unknown TOP sign_method {method!r} (md5 or hmac)")
    return hashlib.md5(f"{secret}{text}{secret}".encode()).hexdigest().upper()


def response_key(method: str) -> str:
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


def unwrap(method: str, body: Record) -> Record:
    """The payload of a TOP reply, or the error it carries as Transient or Permanent."""
    error = body.get("error_response")
    if isinstance(error, dict):
        code, sub_code = str(error.get("code", "")), str(error.get("sub_code", ""))
        detail = " ".join(str(error.get(k, "")) for k in ("msg", "sub_code", "sub_msg")).strip()
        message = f"{method}: error {code} {detail}"
        if code == str(THROTTLED) or sub_code.startswith("isp."):
            ban = BAN.search(str(error.get("sub_msg", "")))
            raise Transient(PLATFORM, message, wait=float(ban.group(1)) if ban else None)
        if code in SESSION_CODES:
            message += " (the shop's session is invalid or expired: authorise the app again)"
        raise Permanent(PLATFORM, message)
    payload = body.get(response_key(method))
    if not isinstance(payload, dict):
        raise Permanent(PLATFORM, f"{method}: no {response_key(method)} in the reply")
    return payload


def _listed(payload: Record, outer: str, inner: str) -> list[Record]:
    """``{"trades": {"trade": [...]}}`` as the list (absent when the page is empty)."""
    wrapper = payload.get(outer)
    items = wrapper.get(inner, []) if isinstance(wrapper, dict) else []
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


class TaobaoConnector:
    platform = PLATFORM

    def __init__(self, config: dict[str, str], client: httpx.Client, retry: Retry) -> None:
        self.url = config["base_url"]
        self.app_key, self.secret = config["app_key"], config["app_secret"]
        self.session = config["session"]
        self.sign_method = config.get("sign_method", "md5")
        self.client, self.retry = client, retry

    def call(self, method: str, **params: Any) -> Record:
        def once() -> Record:
            form = {
                "method": method,
                "app_key": self.app_key,
                "session": self.session,
                "timestamp": beijing_text(beijing_now()),
                "v": "2.0",
                "format": "json",
                "sign_method": self.sign_method,
                **{k: str(v) for k, v in params.items()},
            }
            form["sign"] = sign(form, self.secret, self.sign_method)
            return unwrap(method, send(PLATFORM, lambda: self.client.post(self.url, data=form)))

        return self.retry.run(once)

    def _paged_backwards(
        self, method: str, start: datetime, end: datetime, outer: str, inner: str, fields: str
    ) -> list[Record]:
        window = {"start_modified": beijing_text(start), "end_modified": beijing_text(end)}
        first = self.call(method, fields=fields, page_no=1, page_size=PAGE_SIZE, **window)
        pages = math.ceil(int(first.get("total_results", 0) or 0) / PAGE_SIZE)
        found: list[Record] = []
        for page in range(pages, 0, -1):
            payload = self.call(method, fields=fields, page_no=page, page_size=PAGE_SIZE, **window)
            found.extend(_listed(payload, outer, inner))
        return found

    def pull(self, start: datetime, end: datetime) -> dict[str, list[Record]]:
        """Every trade and refund modified in ``[start, end]`` (Beijing), in full."""
        trades: list[Record] = []
        refunds: list[Record] = []
        for low, high in windows(start, end, LONGEST_WINDOW):
            trades += self._paged_backwards(
                "taobao.trades.sold.increment.get", low, high, "trades", "trade", "tid,modified"
            )
            refunds += self._paged_backwards(
                "taobao.refunds.receive.get", low, high, "refunds", "refund", "refund_id,modified"
            )
        tids = [str(t["tid"]) for t in newest_by_id(trades, lambda t: str(t.get("tid")))]
        refund_ids = [
            str(r["refund_id"]) for r in newest_by_id(refunds, lambda r: str(r.get("refund_id")))
        ]
        return {
            "taobao_trades": [
                self._detail("taobao.trade.fullinfo.get", "trade", fields=TRADE_FIELDS, tid=tid)
                for tid in tids
            ],
            "taobao_refunds": [
                self._detail("taobao.refund.get", "refund", fields=REFUND_FIELDS, refund_id=rid)
                for rid in refund_ids
            ],
        }

    def _detail(self, method: str, key: str, **params: Any) -> Record:
        item = self.call(method, **params).get(key)
        if not isinstance(item, dict):
            raise Permanent(PLATFORM, f"{method} {params}: no {key} in the reply")
        return item
