"""The connectors file: platforms configured, secrets from the environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.connectors import (
    ConfigError,
    connectors_path,
    max_lag_minutes,
    platform_settings,
    webhook_url,
)

WECHAT = '[wechat]\nbase_url = "https://api.weixin.qq.com"\nappid = "wx1"\nsecret = "in-file"\n'


def test_the_file_beside_the_warehouse_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TIERBOARD_CONNECTORS", raising=False)
    assert connectors_path(tmp_path / "w.duckdb") == tmp_path / "connectors.toml"
    monkeypatch.setenv("TIERBOARD_CONNECTORS", "/etc/tierboard/shops.toml")
    assert connectors_path(tmp_path / "w.duckdb") == Path("/etc/tierboard/shops.toml")


def test_a_secret_from_the_environment_wins_and_completes_a_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "connectors.toml"
    taobao_without_secret = '[taobao]\nbase_url = "u"\napp_key = "k"\nsession = "s"\n'
    path.write_text(WECHAT + taobao_without_secret, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[taobao\] lacks app_secret$"):
        platform_settings(path)
    monkeypatch.setenv("TIERBOARD_TAOBAO_APP_SECRET", "from-env")
    monkeypatch.setenv("TIERBOARD_WECHAT_SECRET", "rotated")
    settings = platform_settings(path)
    assert sorted(settings) == ["taobao", "wechat"]  # youzan is not configured at all
    assert settings["taobao"]["app_secret"] == "from-env"
    assert settings["wechat"]["secret"] == "rotated"


def test_limits_alerts_and_broken_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIERBOARD_ALERT_WEBHOOK", raising=False)
    path = tmp_path / "connectors.toml"
    assert platform_settings(path) == {} and max_lag_minutes(path) == 5.0  # no file: nothing
    path.write_text('[watch]\nmax_lag_minutes = 15\n[alert]\nwebhook = "https://hook"\n')
    assert (max_lag_minutes(path), webhook_url(path)) == (15.0, "https://hook")
    path.write_text("[watch]\nmax_lag_minutes = 0\n")
    with pytest.raises(ConfigError, match="max_lag_minutes must be a positive number"):
        max_lag_minutes(path)
    path.write_text("[youzan\n")
    with pytest.raises(ConfigError, match="not a readable TOML file"):
        platform_settings(path)
    path.write_text('youzan = "client"\n')
    with pytest.raises(ConfigError, match=r"\[youzan\] must be a table"):
        platform_settings(path)
