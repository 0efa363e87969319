"""The connectors file: which shops to pull from and with what credentials.

A TOML file named by ``$TIERBOARD_CONNECTORS`` (default ``connectors.toml`` beside the
warehouse; it holds secrets and is never committed). One table per platform; any value may
instead come from the environment as ``TIERBOARD_<PLATFORM>_<KEY>`` (e.g.
``TIERBOARD_TAOBAO_APP_SECRET``), which wins over the file. ``[watch]`` holds
``max_lag_minutes`` (default 5) and ``[alert]`` an optional 企业微信 group robot ``webhook``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

REQUIRED = {
    "taobao": ("base_url", "app_key", "app_secret", "session"),
    "youzan": ("base_url", "client_id", "client_secret", "grant_id"),
    "wechat": ("base_url", "appid", "secret"),
}
OPTIONAL = {"taobao": ("sign_method",), "youzan": (), "wechat": ()}
DEFAULT_MAX_LAG_MINUTES = 5.0


class ConfigError(ValueError):
    """The connectors file is missing, unreadable or incomplete: said in one line."""


def connectors_path(db: Path) -> Path:
    env = os.environ.get("TIERBOARD_CONNECTORS")
    return Path(env) if env else db.parent / "connectors.toml"


def read_file(path: Path) -> dict[str, object]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: not a readable TOML file: {error}") from error


def platform_settings(path: Path) -> dict[str, dict[str, str]]:
    """The configured platforms (a file table or any environment value), each complete."""
    document = read_file(path)
    found: dict[str, dict[str, str]] = {}
    for platform, required in REQUIRED.items():
        table = document.get(platform, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{platform}] must be a table")
        values = {k: str(v) for k, v in table.items()}
        for key in (*required, *OPTIONAL[platform]):
            env = os.environ.get(f"TIERBOARD_{platform.upper()}_{key.upper()}")
            if env:
                values[key] = env
        if not values:
            continue
        missing = [key for key in required if not values.get(key)]
        if missing:
            raise ConfigError(f"{path}: [{platform}] lacks {', '.join(missing)}")
        found[platform] = values
    return found


def max_lag_minutes(path: Path) -> float:
    """How far behind a platform may fall before it is shown red (and alerted)."""
    watch = read_file(path).get("watch", {})
    value = watch.get("max_lag_minutes", DEFAULT_MAX_LAG_MINUTES) if isinstance(watch, dict) else 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{path}: [watch] max_lag_minutes must be a positive number")
    return float(value)


def webhook_url(path: Path) -> str | None:
    alert = read_file(path).get("alert", {})
    url = alert.get("webhook") if isinstance(alert, dict) else None
    return os.environ.get("TIERBOARD_ALERT_WEBHOOK") or (str(url) if url else None)
