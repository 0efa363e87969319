"""Readable differences between two rule documents: one row per changed setting."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten(document: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted paths; lists stay whole (brackets read best as a unit)."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def differences(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every setting that differs: path, value before, value after ("—" when absent)."""
    old, new = flatten(before), flatten(after)
    rows = []
    for path in sorted(set(old) | set(new)):
        if path in ("version", "note"):
            continue
        a, b = old.get(path, "—"), new.get(path, "—")
        if a != b:
            rows.append({"setting": path, "before": str(a), "after": str(b)})
    return rows


def describe(rows: list[dict[str, str]], limit: int = 12) -> str:
    """A short readable diff for the audit log."""
    if not rows:
        return "no change to any setting"
    shown = [f"{r['setting']}: {r['before']} → {r['after']}" for r in rows[:limit]]
    more = len(rows) - limit
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
