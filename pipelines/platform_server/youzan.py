"""Youzan: ``/auth/token`` and the 4.0.0 trade APIs (``success/code/data``, ``gw_err_resp``)."""

from __future__ import annotations

import time

from pipelines.platform_server.shop import TOKEN_SECONDS, Shop, beijing, page
from pipelines.sources.http_api import Record


def token(shop: Shop, body: Record) -> Record:
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


def answer(shop: Shop, api: str, token: str, body: Record) -> Record:
    if token not in shop.tokens:
        return {"gw_err_resp": {"err_code": 4203, "err_msg": "invalid access_token"}}
    if api == "youzan.trades.sold.get":
        start, end = beijing(body.get("start_update")), beijing(body.get("end_update"))
        if start is None or end is None:
            return {"success": False, "code": 141500101, "message": "start_update invalid"}
        found = shop.changed("youzan_trades", start, end)
        shown = page(found, int(body.get("page_no", 1)), int(body.get("page_size", 20)))
        data: Record = {
            "full_order_info_list": [{"full_order_info": r["full_order_info"]} for r in shown],
            "total_results": len(found),
        }
        return {"success": True, "code": 200, "message": "successful", "data": data}
    if api == "youzan.trade.get":
        record = shop.find("youzan_trades", str(body.get("tid")))
        if record is None:
            return {"success": False, "code": 101100101, "message": "订单不存在"}
        return {"success": True, "code": 200, "message": "successful", "data": record}
    return {"gw_err_resp": {"err_code": 4004, "err_msg": f"api {api} not found"}}
