"""Helpers for the order-feed tests: hand-built records written as one small JSON-lines file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Record = dict[str, Any]
WriteLines = Callable[[str, list[Record | str]], Path]


@pytest.fixture
def write_lines(tmp_path: Path) -> WriteLines:
    """Write records (dicts as JSON, strings verbatim) as ``tmp_path/<name>``, one per line."""

    def write(name: str, records: list[Record | str]) -> Path:
        path = tmp_path / name
        lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
