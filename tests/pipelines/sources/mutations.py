"""Wrongly typed copies of a real record, one field at a time, and what reading them must say.

Every field a reader takes (the reader's own decode schema, intersected with the fields the
record carries) gets each JSON type it is not: an object or an array where text or a number
belongs, text or the other container where an object or array belongs.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl

Record = dict[str, Any]
Step = str | int


@dataclass(frozen=True)
class Mutation:
    field: str  # as the quarantine names it: ``orders.order[0].num``
    steps: tuple[Step, ...]
    value: object
    reason: str

    def apply(self, record: Record) -> Record:
        changed = copy.deepcopy(record)
        target: Any = changed
        for step in self.steps[:-1]:
            target = target[step]
        target[self.steps[-1]] = self.value
        return changed


def _name(path: str, step: Step) -> str:
    if isinstance(step, int):
        return f"{path}[{step}]"
    return f"{path}.{step}" if path else step


def type_mismatches(
    record: Record, dtype: pl.DataType, path: str = "", steps: tuple[Step, ...] = ()
) -> Iterator[Mutation]:
    """Each field of ``record`` that ``dtype`` reads, replaced by each JSON type it is not."""
    if isinstance(dtype, pl.Struct):
        assert isinstance(record, dict)
        if steps:
            yield Mutation(path, steps, "x", "a JSON string where an object was expected")
            yield Mutation(path, steps, [1], "a JSON array where an object was expected")
        for f in dtype.fields:
            if record.get(f.name) is not None:
                yield from type_mismatches(
                    record[f.name], f.dtype, _name(path, f.name), (*steps, f.name)
                )
    elif isinstance(dtype, pl.List):
        assert isinstance(record, list)
        yield Mutation(path, steps, "x", "a JSON string where an array was expected")
        yield Mutation(path, steps, {"x": 1}, "a JSON object where an array was expected")
        for i, item in enumerate(record):
            yield from type_mismatches(item, dtype.inner, _name(path, i), (*steps, i))
    else:
        yield Mutation(path, steps, {"x": 1}, "a JSON object where text or a number was expected")
        yield Mutation(path, steps, ["x"], "a JSON array where text or a number was expected")
