"""Tierboard: what field-service tickets earn. Entry point: identity, then navigation by role."""

from __future__ import annotations

import streamlit as st

from pages.components.context import DEMO_IDENTITIES, PAGES, Identity
from pages.components.page import index_of, url_choice

st.set_page_config(page_title="Tierboard", page_icon=":material/payments:", layout="wide")

PAGE_SPECS = {  # name: (title, icon, url path)
    "overview": ("Overview", "dashboard", "overview"),
    "heatmaps": ("Earnings heatmaps", "grid_on", "heatmaps"),
    "regions": ("Regions", "map", "regions"),
    "rules": ("Rules", "rule", "rules"),
    "my_earnings": ("My earnings", "person", "my-earnings"),
    "data_health": ("Data health", "monitor_heart", "data-health"),
}
PAGE_FILES = {
    name: st.Page(f"pages/{name}.py", title=title, icon=f":material/{icon}:", url_path=url)
    for name, (title, icon, url) in PAGE_SPECS.items()
}
assert set(PAGE_FILES) == set(PAGES)


def choose_identity() -> Identity:
    """Local demo mode: no identity provider is configured, so the sidebar offers demo users."""
    names = {identity.key: identity for identity in DEMO_IDENTITIES}
    keys = list(names)
    key = st.sidebar.selectbox(
        "Demo identity",
        keys,
        index=index_of(keys, url_choice("as", keys, keys[0])),
        format_func=lambda k: names[k].name,
        key="as",
        bind="query-params",
        help="Local demo mode: pick whose view to see.",
    )
    return names.get(key or "", DEMO_IDENTITIES[0])


identity = choose_identity()
st.session_state["identity"] = identity
st.sidebar.caption("Local demo mode · no sign-in configured")
page = st.navigation([PAGE_FILES[name] for name in identity.pages])
page.run()
