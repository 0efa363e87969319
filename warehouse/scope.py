"""Who may see which rows: every query function takes a Scope and filters with bound parameters.

A scope is data, not a role check: the query layer turns it into parameters that every SQL file
applies (``$all_regions``, ``$region_groups``, ``$provinces``, ``$technician_id``), so there is
no unscoped path from a page to the warehouse.

A payee's own scope (a technician, a partner contact) sees that payee's lines and nothing else: a
partner contact has no region, so every region-filtered query returns nothing to them, and the
payee queries admit the partner's own lines by ``$partner_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("manager", "regional_lead", "analyst", "technician", "partner", "admin")
# What kind of payee a payee's own scope is: technicians, or partners of any type (direct,
# dealer, agent: the type is the partner's, from the reference data).
PAYEE_KINDS = ("technician", "partner")


@dataclass(frozen=True)
class Scope:
    role: str
    region_groups: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    technician_id: str | None = None
    partner_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role == "technician" and not self.technician_id:
            raise ValueError("a technician scope needs the technician's id")
        if self.role == "partner" and not self.partner_id:
            raise ValueError("a partner contact's scope needs the partner's id")
        if self.role == "regional_lead" and not (self.region_groups or self.provinces):
            raise ValueError("a regional lead's scope needs region groups or provinces")

    @property
    def all_regions(self) -> bool:
        """Regions do not limit this scope (a technician is limited by id instead; a partner
        contact has no region at all and sees only their own lines)."""
        return self.role not in ("regional_lead", "partner")

    @property
    def payee(self) -> tuple[str, str] | None:
        """(payee kind, id) of a payee's own scope, else None."""
        if self.role == "technician" and self.technician_id:
            return ("technician", self.technician_id)
        if self.role == "partner" and self.partner_id:
            return ("partner", self.partner_id)
        return None

    def params(self) -> dict[str, object]:
        """The bound parameters every scoped SQL file filters on."""
        return {
            "all_regions": self.all_regions,
            "region_groups": list(self.region_groups),
            "provinces": list(self.provinces),
            "technician_id": self.technician_id if self.role == "technician" else None,
            "partner_id": self.partner_id if self.role == "partner" else None,
        }


EVERYTHING = Scope("manager")

# The predicate each scoped query applies to a row with these columns (documented here, written
# out in every .sql file so each file reads on its own):
#   ($all_regions or region_group in $region_groups or province_code in $provinces)
#   and ($technician_id is null or technician_id = $technician_id)
# A partner contact's scope fails the first line for every row; only payee_lines and
# payee_months admit rows by ``$partner_id``.
