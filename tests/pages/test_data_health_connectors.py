"""Data health's shop-connector section: each platform's lag, red past the limit, last error."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pipelines.platform_server import Shop
from pipelines.pull import pull
from pipelines.sources.http_api import Retry, beijing_now, beijing_text
from tests.pages.test_pages import open_page
from tests.pipelines.sources import test_youzan_payloads as yz


def test_data_health_shows_each_platforms_lag_and_a_failing_one_in_red(
    app_env: Path, shop: Shop, settings: dict[str, dict[str, str]]
) -> None:
    shop.add("youzan_trades", yz.trade(update_time=beijing_text(beijing_now())))
    settings["taobao"]["app_secret"] = "wrong"  # the signature check refuses every call
    del settings["wechat"]
    pull(app_env, settings, retry=lambda p: Retry(p, base=0.01))
    at = open_page("data_health", "manager", lang="en")
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(
        e.startswith("Taobao/Tmall: never pulled successfully (limit 5 min); last error: taobao:")
        and "Invalid signature" in e
        for e in errors
    ), errors
    assert not any(e.startswith("Youzan") for e in errors)  # pulled up to now: not behind
    lag = next(t.value for t in at.dataframe if "Lag (minutes)" in t.value.columns)
    youzan = lag.set_index("Platform").loc["Youzan"]
    assert youzan["Lag (minutes)"] < 2 and youzan["Last status"] == "succeeded"
    assert youzan["Newest record"] > youzan["Pulled until"] - timedelta(minutes=2)
