"""Fixtures: a local platform server (a real socket, real HTTP) and connector settings for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.platform_server import DEMO_CREDENTIALS, Shop, connectors_toml, serving


@pytest.fixture
def shop() -> Shop:
    return Shop()


@pytest.fixture
def shop_url(shop: Shop) -> Iterator[str]:
    with serving(shop) as url:
        yield url


@pytest.fixture
def settings(shop_url: str) -> dict[str, dict[str, str]]:
    """What ``pipelines.connectors.platform_settings`` reads from a file pointing here."""
    return {
        platform: {
            "base_url": f"{shop_url}/router/rest" if platform == "taobao" else shop_url,
            **values,
        }
        for platform, values in DEMO_CREDENTIALS.items()
    }


@pytest.fixture
def connectors_file(
    tmp_path: Path, shop: Shop, shop_url: str, monkeypatch: pytest.MonkeyPatch
) -> Path:
    path = tmp_path / "connectors.toml"
    path.write_text(connectors_toml(shop_url, shop), encoding="utf-8")
    monkeypatch.setenv("TIERBOARD_CONNECTORS", str(path))
    return path
