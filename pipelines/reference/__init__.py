"""The project's reference data: divisions and city tiers, the item and parts libraries, people.

The CSVs under ``data/`` are the project's own tables (facts from public classifications, written
in the warehouse schema); ``load_reference`` reads and validates them once per process, and
``attach_city_codes`` resolves the place names feeds carry to statistical codes.
"""

from pipelines.reference.loading import known_codes, load_reference
from pipelines.reference.names import (
    attach_city_codes,
    city_aliases,
    clean_name,
    province_aliases,
)
from pipelines.reference.tables import (
    CATEGORIES,
    CITY_TIERS,
    DATA,
    KEYS,
    MAINLAND_GROUPS,
    MUNICIPALITIES,
    OVERSEAS_GROUPS,
    PARTNER_TYPES,
    REGION_GROUPS,
    SCHEMAS,
    Reference,
    read_reference,
)
from pipelines.reference.validation import validate_reference

__all__ = [
    "CATEGORIES",
    "CITY_TIERS",
    "DATA",
    "KEYS",
    "MAINLAND_GROUPS",
    "MUNICIPALITIES",
    "OVERSEAS_GROUPS",
    "PARTNER_TYPES",
    "REGION_GROUPS",
    "SCHEMAS",
    "Reference",
    "attach_city_codes",
    "city_aliases",
    "clean_name",
    "known_codes",
    "load_reference",
    "province_aliases",
    "read_reference",
    "validate_reference",
]
