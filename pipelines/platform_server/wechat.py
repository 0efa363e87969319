"""WeChat shop: ``/cgi-bin/token`` and the Channels EC order and after-sale APIs (``errcode``)."""

from __future__ import annotations

from datetime import timedelta

from pipelines.platform_server.shop import TOKEN_SECONDS, Shop, record_id, unix
from pipelines.sources.http_api import Record


def token(shop: Shop, query: dict[str, str]) -> Record:
    known = shop.credentials["wechat"]
    if query.get("appid") != known["appid"]:
        return {"errcode": 40013, "errmsg": "invalid appid"}
    if query.get("secret") != known["secret"] or query.get("grant_type") != "client_credential":
        return {"errcode": 40125, "errmsg": "invalid appsecret"}
    return {"access_token": shop.issue_token("wechat"), "expires_in": TOKEN_SECONDS}


def answer(shop: Shop, path: str, token: str, body: Record) -> Record:
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
    start, end = unix(low), unix(high)
    if start is None or end is None or end < start or end - start > longest:
        return {"errcode": 47001, "errmsg": "time range invalid"}
    found = shop.changed(feed, start, end)
    offset = int(body.get("next_key") or 0)
    size = min(int(body.get("page_size", 10)), 100)
    ids = [record_id(feed, r) for r in found[offset : offset + size]]
    more = offset + size < len(found)
    return {key: ids, "next_key": str(offset + size) if more else "", "has_more": more}
