"""Who a signed-in person is in Tierboard: role, regions, technician or partner id, from the
identity provider's claims (when configured) or from the app store's ``users`` table. Changes
audited."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warehouse import app_store
from warehouse.db import Phrase
from warehouse.scope import ROLES, Scope


@dataclass(frozen=True)
class User:
    email: str
    name: str
    role: str
    region_groups: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    technician_id: str | None = None
    partner_id: str | None = None  # a partner contact's partner

    @property
    def scope(self) -> Scope:
        return Scope(
            self.role, self.region_groups, self.provinces, self.technician_id, self.partner_id
        )

    def describe(self) -> str:
        where = ", ".join([*self.region_groups, *self.provinces]) or "all regions"
        payee = self.technician_id or self.partner_id
        who = f" as {payee}" if payee else ""
        return f"{self.role}{who} ({where})"


@dataclass(frozen=True)
class ClaimNames:
    """Which claims carry the role, regions, technician or partner id (configured in secrets)."""

    role: str = "tierboard_role"
    region_groups: str = "tierboard_region_groups"
    provinces: str = "tierboard_provinces"
    technician_id: str = "tierboard_technician_id"
    partner_id: str = "tierboard_partner_id"


def _split(value: object) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(v.strip() for v in str(value or "").split(",") if v.strip())


def from_claims(claims: Mapping[str, object], names: ClaimNames = ClaimNames()) -> User | None:
    """A user from the provider's claims, when they carry a role; else None."""
    role = claims.get(names.role)
    if not role:
        return None
    user = User(
        email=str(claims.get("email") or claims.get("sub") or ""),
        name=str(claims.get("name") or claims.get("email") or claims.get("sub") or ""),
        role=str(role),
        region_groups=_split(claims.get(names.region_groups)),
        provinces=_split(claims.get(names.provinces)),
        technician_id=str(claims.get(names.technician_id) or "") or None,
        partner_id=str(claims.get(names.partner_id) or "") or None,
    )
    user.scope  # noqa: B018 - validates the combination (a technician needs an id, …)
    return user


def get(store: Path, email: str) -> User | None:
    with app_store.connect(store) as con:
        row = con.execute(
            "select email, name, role, region_groups, provinces, technician_id, partner_id"
            " from users where email = ?",
            (email,),
        ).fetchone()
    if row is None:
        return None
    email, name, role, groups, provinces, technician, partner = row
    return User(email, name, role, _split(groups), _split(provinces), technician, partner)


def all_users(store: Path) -> list[User]:
    with app_store.connect(store) as con:
        emails = [r[0] for r in con.execute("select email from users order by email")]
    return [u for u in (get(store, e) for e in emails) if u is not None]


def resolve(
    claims: Mapping[str, object], store: Path, names: ClaimNames = ClaimNames()
) -> User | None:
    """Claims first (the provider is the authority when it sends a role), else the users table."""
    return from_claims(claims, names) or get(store, str(claims.get("email") or ""))


def _access(user: User) -> Phrase:
    """``User.describe`` for the audit log, with its wording."""
    role = Phrase.code("role", user.role)
    where = ", ".join([*user.region_groups, *user.provinces]) or Phrase("all regions")
    if user.technician_id:
        return Phrase(
            "{role} as {technician} ({where})", role=role, technician=user.technician_id,
            where=where,
        )  # fmt: skip
    if user.partner_id:
        return Phrase(
            "{role} of partner {partner} ({where})", role=role, partner=user.partner_id,
            where=where,
        )  # fmt: skip
    return Phrase("{role} ({where})", role=role, where=where)


def save(store: Path, user: User, *, actor: str, reason: str) -> None:
    """Create or change a user; the audit row commits with the change."""
    if user.role not in ROLES:
        raise ValueError(f"unknown role {user.role!r}")
    user.scope  # noqa: B018 - refuse an incoherent user before writing it
    if not reason.strip():
        raise ValueError("a user change needs a reason")
    before = get(store, user.email)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    with app_store.connect(store) as con:
        con.execute(
            "insert into users (email, name, role, region_groups, provinces, technician_id,"
            " partner_id, updated_at, updated_by) values (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " on conflict (email) do update set"
            " name = excluded.name, role = excluded.role, region_groups = excluded.region_groups,"
            " provinces = excluded.provinces, technician_id = excluded.technician_id,"
            " partner_id = excluded.partner_id,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (user.email, user.name, user.role, ",".join(user.region_groups),
             ",".join(user.provinces), user.technician_id, user.partner_id, now, actor),
        )  # fmt: skip
        app_store.audit(
            con,
            actor=actor,
            action="user_change",
            subject=Phrase("user {email}", email=user.email),
            diff=Phrase(
                "{before} → {after}",
                before=_access(before) if before else Phrase("new user"),
                after=_access(user),
            ),
            reason=reason,
        )
