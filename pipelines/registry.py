"""Which source reads a file: each source recognises its own files by name and first bytes.

Every package under ``pipelines/sources/`` exposes ``SOURCES``, the readers it provides.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import pipelines.sources
from pipelines.sources.base import Source

HEAD_BYTES = 1 << 16  # a CSV header, or where a JSON-lines file's search for a record starts
SCAN_BYTES = 1 << 26  # how far into a JSON-lines file to look for its first readable record
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


def _head(path: Path) -> bytes:
    """What ``detect`` sees: a JSON-lines file's first readable record (a broken or oversized
    first line must not hide the file's kind), otherwise the file's first bytes."""
    with path.open("rb") as handle:
        if path.suffix != ".jsonl":
            return handle.read(HEAD_BYTES)
        scanned = 0
        for line in handle:
            scanned += len(line)
            try:
                if isinstance(json.loads(line), dict):
                    return line
            except ValueError:
                pass
            if scanned > SCAN_BYTES:
                break
    return b""


def source_for(path: Path, available: Iterable[Source] | None = None) -> Source | None:
    head = _head(path)
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
