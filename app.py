"""Tierboard: what field-service tickets earn. Entry point: identity, then navigation by role."""

from __future__ import annotations

import streamlit as st

from pages.components.context import DEEP_LINK, PAGES
from pages.components.signin import current_identity
from warehouse.db import WarehouseError

st.set_page_config(page_title="Tierboard", page_icon=":material/payments:", layout="wide")

PAGE_SPECS = {  # name: (title, icon, url path)
    "overview": ("Overview", "dashboard", "overview"),
    "heatmaps": ("Earnings heatmaps", "grid_on", "heatmaps"),
    "regions": ("Regions", "map", "regions"),
    "rules": ("Rules", "rule", "rules"),
    "my_earnings": ("My earnings", "person", "my-earnings"),
    "data_health": ("Data health", "monitor_heart", "data-health"),
    "audit": ("Audit", "history", "audit"),
    "users": ("Users", "group", "users"),
}
assert set(PAGE_SPECS) == set(PAGES)

identity = current_identity()
st.session_state["identity"] = identity
# Only the pages of this role exist for this session: any other URL is not a page at all.
# A deep link routed through here (context.current) lands on its page if the role has it: that
# page is the default for this one run, served at the URL the link now has.
landing = st.session_state.pop(DEEP_LINK, None)
if landing not in identity.pages:
    landing = identity.pages[0]
page = st.navigation(
    [
        st.Page(
            f"pages/{name}.py", title=title, icon=f":material/{icon}:", url_path=url,
            default=name == landing,
        )
        for name, (title, icon, url) in PAGE_SPECS.items()
        if name in identity.pages
    ]
)  # fmt: skip
try:
    page.run()
except WarehouseError as error:
    # The pages stop with their own message; this is the net for a read no page guarded.
    st.error(f"The warehouse cannot be read: {error}", icon=":material/error:")
