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


@cache
def known_codes() -> dict[str, frozenset[str]]:
    """The codes rule sets may name: cities, provinces, service items and parts."""
    ref = load_reference()
    return {
        "cities": frozenset(ref.cities["city_code"]),
        "provinces": frozenset(ref.provinces["province_code"]),
        "items": frozenset(ref.service_items["item_code"]),
        "parts": frozenset(ref.parts["part_code"]),
    }
