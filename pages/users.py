"""Users (admins): who may sign in as what. Every change is audited with its reason."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import streamlit as st

from pages.components.context import current, database
from pages.components.formatting import show_table
from pages.components.i18n import _, code, frozen
from pages.components.page import stop
from pages.components.signin import actor
from warehouse import app_store, users
from warehouse.scope import ROLES

identity = current("users")
if "users" not in identity.pages:
    stop(_("This page is not available to your role."))
st.title(_("Users"))
store = app_store.app_store_path(Path(database()))
known = users.all_users(store)
show_table(
    pl.DataFrame(
        [{"email": u.email, "name": u.name, "access": u.describe()} for u in known],
        schema={"email": pl.String, "name": pl.String, "access": pl.String},
    )
)
with st.form("user"):
    st.subheader(_("Add or change a user"))
    email = st.text_input(_("Email (as the identity provider sends it)"), key="user-email")
    name = st.text_input(_("Name"), key="user-name")
    role = st.selectbox(
        _("Role"), ROLES, key="user-role", format_func=frozen(lambda r: code("role", r), ROLES)
    )
    groups = st.text_input(_("Region groups (regional leads; comma separated)"), key="user-groups")
    provinces = st.text_input(
        _("Province codes (regional leads; comma separated)"), key="user-prov"
    )
    technician = st.text_input(_("Technician id (technicians)"), key="user-tech")
    partner = st.text_input(_("Partner id (partner contacts)"), key="user-partner")
    reason = st.text_input(_("Why (required)"), key="user-reason")
    if st.form_submit_button(_("Save user")):
        try:
            users.save(
                store,
                users.User(
                    email=email.strip(),
                    name=name.strip() or email.strip(),
                    role=role,
                    region_groups=tuple(g.strip() for g in groups.split(",") if g.strip()),
                    provinces=tuple(p.strip() for p in provinces.split(",") if p.strip()),
                    technician_id=technician.strip() or None,
                    partner_id=partner.strip() or None,
                ),
                actor=actor(identity),
                reason=reason,
            )
        except ValueError as error:
            st.error(code("user_error", str(error)))
        else:
            st.success(_("Saved {email}.").format(email=email))
