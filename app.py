"""Tierboard: what field-service tickets earn. Entry point: identity, then navigation by role."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from pages.components import alerts_panel
from pages.components.context import DEEP_LINK, PAGES
from pages.components.i18n import _, language_switch, say
from pages.components.signin import current_identity
from warehouse.db import WarehouseError

st.set_page_config(page_title="Tierboard", page_icon=":material/payments:", layout="wide")
language_switch()

PAGE_SPECS = {  # name: (title, icon, url path)
    "overview": (_("Overview"), "dashboard", "overview"),
    "heatmaps": (_("Earnings heatmaps"), "grid_on", "heatmaps"),
    "regions": (_("Regions"), "map", "regions"),
    "rules": (_("Rules"), "rule", "rules"),
    "my_earnings": (_("My earnings"), "person", "my_earnings"),
    "data_health": (_("Data health"), "monitor_heart", "data_health"),
    "period_close": (_("Period close"), "lock", "period_close"),
    "approvals": (_("Approvals"), "approval", "approvals"),
    "audit": (_("Audit"), "history", "audit"),
    "users": (_("Users"), "group", "users"),
    "disputes": (_("Disputes"), "gavel", "disputes"),
}
assert set(PAGE_SPECS) == set(PAGES)

identity = current_identity()
st.session_state["identity"] = identity
if "data_health" in identity.pages and (count := alerts_panel.active_count(identity.scope)):
    title, icon, url = PAGE_SPECS["data_health"]
    PAGE_SPECS["data_health"] = (f"{title} · {count}", icon, url)  # the alerts, beside its title
# Only the pages of this role exist for this session: any other URL is not a page at all.
pages = {
    name: st.Page(f"pages/{name}.py", title=title, icon=f":material/{icon}:", url_path=url)
    for name, (title, icon, url) in PAGE_SPECS.items()
    if name in identity.pages
}
# A deep link routed through here (context.current) lands on its page if the role has it.
landing = st.session_state.pop(DEEP_LINK, None)


def home() -> None:
    """The app's root: the landing page (the role's first, or the deep link's), by its own
    path, with the link's parameters.

    Streamlit serves its default page only at the root; a hidden default page that forwards
    lets every real page (the first included) open by its own path, e.g. ``/overview?as=…``.
    """
    target = pages.get(landing) if landing else None
    if landing in PAGE_SPECS and target is None:
        st.session_state["not-for-role"] = PAGE_SPECS[landing][0]
    st.switch_page(target or next(iter(pages.values())), query_params=st.query_params.to_dict())


def elsewhere(title: str) -> Callable[[], None]:
    """Another role's page, by its path: this role lands on its own first page, told why
    (rather than meeting Streamlit's English "Page not found" over a page it cannot use)."""

    def forward() -> None:
        st.session_state["not-for-role"] = title
        st.switch_page(next(iter(pages.values())), query_params=st.query_params.to_dict())

    return forward


others = [
    st.Page(elsewhere(title), title=title, url_path=url, visibility="hidden")
    for name, (title, _icon, url) in PAGE_SPECS.items()
    if name not in identity.pages
]
page = st.navigation(
    [st.Page(home, title="Tierboard", default=True, visibility="hidden"), *pages.values(), *others]
)
# Said once, on the page the forward landed on (the forwarding run itself shows nothing).
refused = st.session_state.pop("not-for-role", None)
if refused:
    # On the page, not a toast: a toast times out while a slow page is still loading.
    st.info(
        _("{page} is not available to your role: here is your own page.").format(page=refused),
        icon=":material/block:",
    )
try:
    page.run()
except WarehouseError as error:
    # The pages stop with their own message; this is the net for a read no page guarded.
    st.error(
        _("The warehouse cannot be read: {error}").format(error=say(error)), icon=":material/error:"
    )
