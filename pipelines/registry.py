"""Which source reads a file: each source recognises its own files by name and first bytes.

Every package under ``pipelines/sources/`` exposes ``SOURCES``, the readers it provides.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import pipelines.sources
from pipelines.sources.base import Source

HEAD_BYTES = 1 << 16  # enough for the longest first record of any feed
FEED_SUFFIXES = (".csv", ".jsonl", ".json")


@cache
def sources() -> tuple[Source, ...]:
    found: list[Source] = []
    for module in pkgutil.iter_modules(pipelines.sources.__path__):
        if not module.ispkg:
            continue
        package = importlib.import_module(f"pipelines.sources.{module.name}")
        found.extend(getattr(package, "SOURCES", ()))
    return tuple(found)


def source_for(path: Path, available: Iterable[Source] | None = None) -> Source | None:
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    matching = [source for source in (available or sources()) if source.detect(path, head)]
    if len(matching) > 1:
        names = ", ".join(source.name for source in matching)
        raise RuntimeError(f"{path}: more than one source claims this file ({names})")
    return matching[0] if matching else None


def feed_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and feed files under folders, in a stable (sorted) order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in FEED_SUFFIXES
            )
        else:
            yield path
