"""Demo feeds: simulate a world, then write it in each source system's own format."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pipelines.sources
from pipelines.generate.simulate import simulate_world
from pipelines.generate.world import World
from pipelines.reference import load_reference

DEFAULT_END_MONTH = "2026-10"


def writers() -> list[str]:
    """Source packages that can render demo feeds (those with a ``writer`` module)."""
    names = []
    for module in pkgutil.iter_modules(pipelines.sources.__path__):
        if module.ispkg and importlib.util.find_spec(f"pipelines.sources.{module.name}.writer"):
            names.append(module.name)
    return sorted(names)


def generate(
    out_dir: Path,
    tickets: int,
    *,
    seed: int = 7,
    months: int = 12,
    end_month: str = DEFAULT_END_MONTH,
) -> list[Path]:
    """Write every feed for a simulated world; the same arguments always write the same bytes."""
    world = simulate_world(load_reference(), tickets, seed=seed, months=months, end_month=end_month)
    return write_feeds(world, out_dir)


def write_feeds(world: World, out_dir: Path) -> list[Path]:
    """Render ``world`` through every source's writer."""
    written: list[Path] = []
    for name in writers():
        module = importlib.import_module(f"pipelines.sources.{name}.writer")
        written.extend(module.write(world, out_dir, world.seed))
    return sorted(written)
