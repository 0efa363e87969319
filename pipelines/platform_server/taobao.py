"""The TOP router: signature, session and system parameters checked, then the trade and refund
APIs the connector calls (``<method>_response`` or ``error_response``)."""

from __future__ import annotations

from datetime import timedelta

from pipelines.platform_server.shop import Shop, beijing, page
from pipelines.sources.http_api import Record
from pipelines.sources.taobao.api import response_key, sign


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


def answer(shop: Shop, form: dict[str, str]) -> Record:
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
    start, end = beijing(form.get("start_modified")), beijing(form.get("end_modified"))
    if start is None or end is None or end - start > timedelta(days=1) or end < start:
        return _top_error(41, "Invalid arguments", "isv.invalid-parameter:start_modified")
    found = shop.changed(feed, start, end)
    number, size = int(form.get("page_no", 1)), int(form.get("page_size", 40))
    outer, inner, key = (
        ("trades", "trade", "tid")
        if feed == "taobao_trades"
        else ("refunds", "refund", "refund_id")
    )
    listed = [{key: r.get(key), "modified": r.get("modified")} for r in page(found, number, size)]
    if shop.after_page is not None:
        shop.after_page(feed, number)
    return {
        "total_results": len(found),
        "has_next": number * size < len(found),
        outer: {inner: listed},
    }


def _top_one(shop: Shop, feed: str, wanted: str | None) -> Record:
    record = shop.find(feed, str(wanted))
    if record is None:
        return _top_error(15, "Remote service error", "isv.invalid-parameter", "not found")
    return {"trade" if feed == "taobao_trades" else "refund": record}
