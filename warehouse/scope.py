"""Who may see which rows: every query function takes a Scope and filters with bound parameters.

A scope is data, not a role check: the query layer turns it into parameters that every SQL file
applies (``$all_regions``, ``$region_groups``, ``$provinces``, ``$technician_id``), so there is
no unscoped path from a page to the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("manager", "regional_lead", "analyst", "technician", "admin")


@dataclass(frozen=True)
class Scope:
    role: str
    region_groups: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    technician_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role == "technician" and not self.technician_id:
            raise ValueError("a technician scope needs the technician's id")
        if self.role == "regional_lead" and not (self.region_groups or self.provinces):
            raise ValueError("a regional lead's scope needs region groups or provinces")

    @property
    def all_regions(self) -> bool:
        """Regions do not limit this scope (a technician is limited by id instead)."""
        return self.role != "regional_lead"

    def params(self) -> dict[str, object]:
        """The bound parameters every scoped SQL file filters on."""
        return {
            "all_regions": self.all_regions,
            "region_groups": list(self.region_groups),
            "provinces": list(self.provinces),
            "technician_id": self.technician_id if self.role == "technician" else None,
        }


EVERYTHING = Scope("manager")

# The predicate each scoped query applies to a row with these columns (documented here, written
# out in every .sql file so each file reads on its own):
#   ($all_regions or region_group in $region_groups or province_code in $provinces)
#   and ($technician_id is null or technician_id = $technician_id)
