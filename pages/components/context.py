"""Who is looking, at which warehouse: set by app.py, read by every page."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from pages.components.i18n import N_
from warehouse.db import serving_path, warehouse_path
from warehouse.scope import Scope

PAGES = (
    "overview", "heatmaps", "regions", "rules", "my_earnings", "data_health", "audit", "users",
    "disputes",
    "period_close", "approvals",
)  # fmt: skip
PAGES_BY_ROLE: dict[str, tuple[str, ...]] = {
    "manager": ("overview", "heatmaps", "regions", "my_earnings", "data_health", "approvals"),
    "regional_lead": ("overview", "heatmaps", "regions", "my_earnings"),
    "analyst": (
        "overview",
        "heatmaps",
        "regions",
        "rules",
        "my_earnings",
        "data_health",
        "period_close",
        "audit",
        "disputes",
    ),
    "technician": ("my_earnings",),
    "partner": ("my_earnings",),
    "admin": ("data_health", "audit", "users"),
}


@dataclass(frozen=True)
class Identity:
    key: str
    name: str
    scope: Scope

    @property
    def pages(self) -> tuple[str, ...]:
        return pages_of(self.scope.role)


def pages_of(role: str) -> tuple[str, ...]:
    """A role's pages; Approvals and Period close follow the configured approving and
    requesting roles (``TIERBOARD_APPROVER_ROLES``, ``TIERBOARD_REQUEST_ROLES``)."""
    from warehouse.requests import approver_roles, requester_roles

    follows = {"approvals": approver_roles(), "period_close": requester_roles()}
    pages = [p for p in PAGES_BY_ROLE[role] if p not in follows or role in follows[p]]
    pages += [p for p, roles in follows.items() if role in roles and p not in pages]
    return tuple(pages)


DEMO_IDENTITIES = (
    Identity("analyst", N_("Demo analyst · all data, rules"), Scope("analyst")),
    Identity("manager", N_("Demo manager · all regions"), Scope("manager")),
    Identity(
        "lead-east",
        N_("Demo regional lead · 华东"),
        Scope("regional_lead", region_groups=("华东",)),
    ),
    Identity(
        "lead-sw",
        N_("Demo regional lead · 四川 重庆"),
        Scope("regional_lead", provinces=("51", "50")),
    ),
    Identity(
        "technician", N_("Demo technician · T00042"), Scope("technician", technician_id="T00042")
    ),
    Identity("partner", N_("Demo partner contact · PT0001"), Scope("partner", partner_id="PT0001")),
    Identity("admin", N_("Demo admin"), Scope("admin")),
)


def database() -> Path:
    """The warehouse this app reads (its serving snapshot, see warehouse.db)."""
    return warehouse_path(os.environ.get("TIERBOARD_DB"))


def snapshot_version(db: Path) -> int:
    """Changes whenever a pipeline publishes a new snapshot: part of every cache key."""
    try:
        return serving_path(db).stat().st_mtime_ns
    except FileNotFoundError:
        return 0


# Where a deep link's page waits while it goes through the entry point (see current()).
DEEP_LINK = "deep-link"


def current(page: str) -> Identity:
    """The identity app.py established for this session.

    A page reached without app.py having run (a deep link served before Streamlit switched to
    ``st.navigation``) must not render: it goes through the entry point, which signs in and
    builds the navigation of the role, and then opens this page if the role has it (the switch
    loses the URL's path, so the page's name waits in the session meanwhile).
    """
    identity = st.session_state.get("identity")
    if not isinstance(identity, Identity):
        st.session_state[DEEP_LINK] = page
        st.switch_page("app.py", query_params=st.query_params.to_dict())
    return identity


def store_version(db: Path) -> int:
    """Changes whenever the app store is written (a publish): keys the live-rules cache."""
    from warehouse.app_store import app_store_path

    store = app_store_path(db)
    stamps = [
        p.stat().st_mtime_ns for p in (store, store.with_name(store.name + "-wal")) if p.exists()
    ]
    return max(stamps, default=0)
