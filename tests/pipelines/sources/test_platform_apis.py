"""The three connectors against a local server speaking the platforms' documented APIs.

Shapes: TOP's router and envelopes (``<method>_response`` / ``error_response`` with ``code``,
``msg``, ``sub_code``, ``sub_msg``; code 7 App Call Limited with "This ban will last for N
more seconds", 25 Invalid signature, 27 Invalid session), its signature example (TOP
documentation, 签名算法: secret ``helloworld`` signs to ``66987CB115214E59E6EC978214934FB8``);
Youzan's ``/auth/token`` (``authorize_type=silent``, ``grant_id``; the official Node SDK's
example) and 4.0.0 replies (``success/code/data``, ``gw_err_resp``); the WeChat shop's
``/cgi-bin/token`` and Channels EC order and after-sale APIs (``errcode/errmsg``, 42001 access
token expired, ``next_key``/``has_more`` paging, ``update_time_range``). Records are the
documented example payloads of the readers' tests.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pipelines.platform_server import Shop
from pipelines.sources.http_api import Permanent, Retry
from pipelines.sources.taobao.api import TaobaoConnector, sign
from pipelines.sources.wechat.api import WechatConnector, unix
from pipelines.sources.youzan.api import YouzanConnector
from tests.pipelines.sources import test_taobao_payloads as tb
from tests.pipelines.sources import test_wechat_payloads as wx
from tests.pipelines.sources import test_youzan_payloads as yz
from tests.pipelines.sources.conftest import Record

Settings = dict[str, dict[str, str]]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


@pytest.fixture
def waits() -> list[float]:
    return []


def retry(platform: str, waits: list[float]) -> Retry:
    return Retry(platform, base=0.01, sleep=waits.append)


def _times(start: str, end: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(start), datetime.fromisoformat(end)


DOCUMENTED_PARAMS = {
    "method": "taobao.item.seller.get",
    "app_key": "12345678",
    "session": "test",
    "timestamp": "2016-01-01 12:00:00",
    "format": "json",
    "v": "2.0",
    "sign_method": "md5",
    "fields": "num_iid,title,nick,price,num",
    "num_iid": "11223344",
}


def test_top_md5_signature_reproduces_the_documented_example() -> None:
    assert sign(DOCUMENTED_PARAMS, "helloworld") == "66987CB115214E59E6EC978214934FB8"
    # empty values and the sign itself are left out of the signed text
    assert sign({**DOCUMENTED_PARAMS, "sign": "X", "partner_id": ""}, "helloworld") == (
        "66987CB115214E59E6EC978214934FB8"
    )


def test_top_hmac_signature_is_hmac_md5_of_the_sorted_pairs() -> None:
    text = "".join(f"{k}{v}" for k, v in sorted(DOCUMENTED_PARAMS.items()))
    expected = hmac.new(b"helloworld", text.encode(), hashlib.md5).hexdigest().upper()
    assert sign(DOCUMENTED_PARAMS, "helloworld", "hmac") == expected


def test_a_wrong_app_secret_is_refused_by_the_signature_check(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    shop.add("taobao_trades", tb.trade())
    wrong = {**settings["taobao"], "app_secret": "not-the-secret"}
    connector = TaobaoConnector(wrong, client, retry("taobao", waits))
    with pytest.raises(Permanent, match="error 25 Invalid signature"):
        connector.pull(*_times("2026-01-09 00:00:00", "2026-01-10 00:00:00"))
    assert waits == []  # a permanent error is not retried
    right = TaobaoConnector({**settings["taobao"], "sign_method": "hmac"}, client, Retry("taobao"))
    pulled = right.pull(*_times("2026-01-09 00:00:00", "2026-01-10 00:00:00"))
    assert [t["tid"] for t in pulled["taobao_trades"]] == [tb.TID]


def test_taobao_pages_from_the_last_page_backwards_and_fetches_each_trade_once(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    for n in range(250):
        shop.add(
            "taobao_trades",
            tb.trade(tid=tb.TID + 10 * n, modified=f"2026-01-09 10:{n % 60:02d}:00"),
        )
    connector = TaobaoConnector(settings["taobao"], client, retry("taobao", waits))
    pulled = connector.pull(*_times("2026-01-09 00:00:00", "2026-01-10 00:00:00"))
    pages = [int(c["page_no"]) for c in shop.called("taobao.trades.sold.increment.get")]
    assert pages == [1, 3, 2, 1]  # the count, then the last page first
    assert len(shop.called("taobao.trade.fullinfo.get")) == 250
    assert sorted(t["tid"] for t in pulled["taobao_trades"]) == [
        tb.TID + 10 * n for n in range(250)
    ]
    signed = shop.called("taobao.trade.fullinfo.get")[0]
    assert (signed["v"], signed["format"], signed["app_key"], signed["session"]) == (
        "2.0", "json", "12345678", "demo-session")  # fmt: skip


def test_paging_backwards_misses_no_trade_when_one_changes_mid_pull(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    # Pages list trades oldest change first. Had the pull walked forwards, a trade of page 1
    # changing after page 1 was read would shift trade 100 onto page 1 and lose it for good.
    for n in range(250):
        stamp = f"2026-01-09 {10 + n // 60}:{n % 60:02d}:00"  # a distinct minute each
        shop.add("taobao_trades", tb.trade(tid=tb.TID + 10 * n, modified=stamp))
    moved = shop.records["taobao_trades"][50]

    def seller_edits(feed: str, page: int) -> None:
        if len(shop.called("taobao.trades.sold.increment.get")) == 2:  # after the first page
            moved["modified"] = "2026-01-10 12:00:00"  # now changes in a later window

    shop.after_page = seller_edits
    connector = TaobaoConnector(settings["taobao"], client, retry("taobao", waits))
    pulled = connector.pull(*_times("2026-01-09 00:00:00", "2026-01-10 00:00:00"))
    tids = {t["tid"] for t in pulled["taobao_trades"]}
    assert tids == {tb.TID + 10 * n for n in range(250)} - {moved["tid"]}


def test_a_trade_modified_exactly_on_a_window_edge_is_fetched_once(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    shop.add("taobao_trades", tb.trade(modified="2026-01-10 00:00:00"))
    connector = TaobaoConnector(settings["taobao"], client, retry("taobao", waits))
    pulled = connector.pull(*_times("2026-01-09 00:00:00", "2026-01-11 00:00:00"))
    windows = [
        (c["start_modified"], c["end_modified"])
        for c in shop.called("taobao.trades.sold.increment.get")
    ]
    assert sorted(set(windows)) == [
        ("2026-01-09 00:00:00", "2026-01-10 00:00:00"),  # one day at most per call
        ("2026-01-10 00:00:00", "2026-01-11 00:00:00"),
    ]
    assert len(pulled["taobao_trades"]) == 1
    assert len(shop.called("taobao.trade.fullinfo.get")) == 1


def test_throttling_is_retried_for_as_long_as_the_platform_says(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    shop.add("taobao_refunds", tb.refund())
    limited = {"error_response": {"code": 7, "msg": "App Call Limited",
               "sub_code": "accesscontrol.limited-by-app-access-count",
               "sub_msg": "This ban will last for 2 more seconds"}}  # fmt: skip
    shop.fail_next("taobao.refund.get", limited)
    shop.fail_next("taobao.refund.get", {}, status=503)
    connector = TaobaoConnector(settings["taobao"], client, retry("taobao", waits))
    pulled = connector.pull(*_times("2026-01-08 00:00:00", "2026-01-09 00:00:00"))
    assert pulled["taobao_refunds"][0]["refund_fee"] == "50.00"
    assert waits[0] == 2.0 and len(waits) == 2  # the ban as stated, then a back-off
    assert len(shop.called("taobao.refund.get")) == 3


def test_a_ban_longer_than_we_wait_stops_the_pull(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    ban = "This ban will last for 31062 more seconds"
    limited = {"error_response": {"code": 7, "msg": "App Call Limited", "sub_msg": ban}}
    shop.fail_next("taobao.trades.sold.increment.get", limited)
    connector = TaobaoConnector(settings["taobao"], client, retry("taobao", waits))
    with pytest.raises(Permanent, match="asked to wait 31062 s, try later"):
        connector.pull(*_times("2026-01-08 00:00:00", "2026-01-09 00:00:00"))


def test_youzan_token_is_refreshed_once_when_refused(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    for n in range(230):
        shop.add("youzan_trades", yz.trade(tid=f"E2026010512000001{n:07d}"))
    connector = YouzanConnector(settings["youzan"], client, retry("youzan", waits))
    window = _times("2026-01-10 00:00:00", "2026-01-10 12:00:00")
    first = connector.pull(*window)
    assert len(first["youzan_trades"]) == 230
    pages = [c["page_no"] for c in shop.called("youzan.trades.sold.get")]
    assert pages == [1, 2, 3]
    token_request = shop.called("auth/token")[0]
    assert (token_request["authorize_type"], token_request["grant_id"]) == ("silent", "110")
    shop.expire_tokens()  # the platform revokes it: the next call is refused with 4203
    again = connector.pull(*window)
    assert len(again["youzan_trades"]) == 230
    assert len(shop.called("auth/token")) == 2
    detail = again["youzan_trades"][0]
    assert detail["refund_order"] == yz.trade()["refund_order"]


def test_youzan_error_envelope_stops_with_its_message(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    shop.fail_next("youzan.trades.sold.get", {"success": False, "code": 141500101,
                                              "message": "参数错误: start_update"})  # fmt: skip
    connector = YouzanConnector(settings["youzan"], client, retry("youzan", waits))
    with pytest.raises(Permanent, match="error 141500101 参数错误"):
        connector.pull(*_times("2026-01-10 00:00:00", "2026-01-10 12:00:00"))


def test_wechat_pages_by_next_key_and_refreshes_an_expired_token_once(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    for n in range(150):
        shop.add("wechat_orders", wx.order(order_id=f"37051150584712{n:05d}"))
    shop.add("wechat_aftersales", wx.aftersale())
    connector = WechatConnector(settings["wechat"], client, retry("wechat", waits))
    shop.fail_next(
        "/channels/ec/order/list/get", {"errcode": 42001, "errmsg": "access_token expired"}
    )
    start, end = _times("2026-01-01 00:00:00", "2026-01-06 00:00:00")
    pulled = connector.pull(start, end)
    assert len(pulled["wechat_orders"]) == 150
    assert pulled["wechat_aftersales"][0]["refund_info"]["amount"] == 129950
    assert len(shop.called("/cgi-bin/token")) == 2
    lists = shop.called("/channels/ec/order/list/get")
    assert [c["next_key"] for c in lists] == ["", "", "100"]  # refused, retried, next page
    assert lists[0]["update_time_range"] == {"start_time": unix(start), "end_time": unix(end)}
    assert len(shop.called("/channels/ec/aftersale/getaftersalelist")) == 5  # a day per call


def test_wechat_token_refused_twice_is_permanent(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    expired: Record = {"errcode": 42001, "errmsg": "access_token expired"}
    shop.fail_next("/channels/ec/order/list/get", expired, times=2)
    connector = WechatConnector(settings["wechat"], client, retry("wechat", waits))
    with pytest.raises(
        Permanent, match=r"42001 access_token expired \(again after a token refresh\)"
    ):
        connector.pull(*_times("2026-01-01 00:00:00", "2026-01-02 00:00:00"))


def test_wechat_minute_quota_is_retried_with_back_off(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    shop.add("wechat_orders", wx.order())
    quota: Record = {"errcode": 45011, "errmsg": "api minute-quota reach limit"}
    shop.fail_next("/channels/ec/order/get", quota, times=2)
    connector = WechatConnector(settings["wechat"], client, retry("wechat", waits))
    pulled = connector.pull(*_times("2026-01-02 00:00:00", "2026-01-03 00:00:00"))
    assert [o["order_id"] for o in pulled["wechat_orders"]] == [wx.ORDER_ID]
    assert len(waits) == 2 and waits[1] > waits[0] * 1.0  # exponential, jittered


def test_tokens_are_renewed_before_they_expire(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    youzan = YouzanConnector(settings["youzan"], client, retry("youzan", waits))
    wechat = WechatConnector(settings["wechat"], client, retry("wechat", waits))
    first = youzan.access_token(), wechat.access_token()
    assert (youzan.access_token(), wechat.access_token()) == first  # cached
    youzan.expires_at = wechat.expires_at = time.time() + 120  # inside the 5-minute margin
    renewed = youzan.access_token(), wechat.access_token()
    assert renewed[0] != first[0] and renewed[1] != first[1]
    assert all(token in shop.tokens for token in renewed)
    assert len(shop.called("auth/token")) == len(shop.called("/cgi-bin/token")) == 2


def test_an_invalid_taobao_session_says_the_shop_must_authorise_again(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    stale = {**settings["taobao"], "session": "expired-session"}
    connector = TaobaoConnector(stale, client, retry("taobao", waits))
    with pytest.raises(Permanent, match=r"error 27 Invalid session .*authorise the app again"):
        connector.pull(*_times("2026-01-08 00:00:00", "2026-01-09 00:00:00"))


def test_youzan_gateway_throttling_is_retried(
    shop: Shop, settings: Settings, client: httpx.Client, waits: list[float]
) -> None:
    shop.add("youzan_trades", yz.trade())
    busy: Record = {"gw_err_resp": {"err_code": 4003, "err_msg": "调用频率超过限制"}}
    shop.fail_next("youzan.trade.get", busy)
    connector = YouzanConnector(settings["youzan"], client, retry("youzan", waits))
    pulled = connector.pull(*_times("2026-01-10 00:00:00", "2026-01-10 12:00:00"))
    assert len(pulled["youzan_trades"]) == 1 and len(waits) == 1
