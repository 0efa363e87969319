"""The packaged reference data, read and validated once per process."""

from __future__ import annotations

from functools import cache

from pipelines.reference.tables import Reference, read_reference
from pipelines.reference.validation import validate_reference


@cache
def load_reference() -> Reference:
    reference = read_reference()
    validate_reference(reference)
    return reference
