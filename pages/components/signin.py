"""Who is signed in: an OpenID Connect provider when one is configured, else local demo mode."""

from __future__ import annotations

import os

import streamlit as st

from pages.components.context import DEMO_IDENTITIES, Identity, database
from pages.components.i18n import _
from pages.components.urls import bound
from warehouse import app_store, users


def provider_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError):
        return False
    except Exception:  # no secrets file at all: Streamlit raises its own error type
        return False


def claim_names() -> users.ClaimNames:
    try:
        configured = dict(st.secrets.get("tierboard", {}))
    except Exception:
        configured = {}
    fields = {k.removesuffix("_claim"): v for k, v in configured.items() if k.endswith("_claim")}
    return users.ClaimNames(**fields)


def signed_in() -> Identity:
    """The signed-in user's identity; stops the page with a sign-in button until there is one."""
    if not st.user.is_logged_in:
        st.title("Tierboard")
        st.write(_("Sign in to see what tickets earn."))
        st.button(_("Sign in"), on_click=st.login, type="primary", key="sign-in")
        st.stop()
    claims = st.user.to_dict()
    store = app_store.app_store_path(database())
    user = users.resolve(claims, store, claim_names())
    if user is None:
        st.title("Tierboard")
        st.error(
            _(
                "You are signed in as {who}, but have no Tierboard role yet. Ask an "
                "administrator to add you."
            ).format(who=claims.get("email") or claims.get("sub"))
        )
        st.button(_("Sign out"), on_click=st.logout, key="sign-out")
        st.stop()
    st.sidebar.caption(
        _("Signed in as {name} · {access}").format(name=user.name, access=user.describe())
    )
    st.sidebar.button(_("Sign out"), on_click=st.logout, key="sign-out")
    return Identity(user.email, user.name, user.scope)


# TIERBOARD_ENV: where this app runs. Demo identities (anyone may pick any role) only where it
# is explicitly a development value; unset, misspelt or unknown counts as not development.
DEVELOPMENT_ENVS = ("development", "test")
DEPLOYED_ENVS = ("staging", "production")


def demo_mode_refusal(env: str | None) -> str | None:
    """Why local demo mode may not run under ``TIERBOARD_ENV=env``; None when it may."""
    value = (env or "").strip().lower()
    if value in DEVELOPMENT_ENVS:
        return None
    allowed = " | ".join(DEVELOPMENT_ENVS)
    if value in DEPLOYED_ENVS:
        why = f"TIERBOARD_ENV={value}"
    elif not value:
        why = _("TIERBOARD_ENV is not set")
    else:
        known = ", ".join((*DEVELOPMENT_ENVS, *DEPLOYED_ENVS))
        why = _("TIERBOARD_ENV={value} is not one of {known}").format(value=repr(env), known=known)
    return _(
        "Tierboard refuses to run in local demo mode: {why}. Configure an OpenID Connect "
        "provider in .streamlit/secrets.toml (see the README), or set TIERBOARD_ENV={allowed} "
        "on a development machine."
    ).format(why=why, allowed=allowed)


def demo_identity() -> Identity:
    """Local demo mode: no provider configured; only on an explicitly development machine."""
    refusal = demo_mode_refusal(os.environ.get("TIERBOARD_ENV"))
    if refusal:
        st.error(refusal)
        st.stop()
    names = {identity.key: identity for identity in DEMO_IDENTITIES}
    keys = list(names)
    key = bound(
        st.sidebar.selectbox, _("Demo identity"), keys, "as", keys[0],
        format_func=lambda k: _(names[k].name),
        help=_("Local demo mode: pick whose view to see."),
    )  # fmt: skip
    st.sidebar.caption(_("Local demo mode · no sign-in configured"))
    return names.get(key or "", DEMO_IDENTITIES[0])


def current_identity() -> Identity:
    return signed_in() if provider_configured() else demo_identity()


def actor(identity: Identity) -> str:
    """How an identity is named in the audit log."""
    return identity.key if "@" in identity.key else f"{identity.name} (demo)"
