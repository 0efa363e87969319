"""My earnings' estimator: "if I complete N more tickets of this kind this month"."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from pages.components import data
from pages.components.context import store_version
from pages.components.formatting import yuan
from pages.components.i18n import _
from pages.components.page import View
from warehouse.estimate import project


def _rate(bp: int | None) -> str:
    return "—" if bp is None else f"{bp / 100:g} %"


def panel(view: View, technician: str, period: str) -> None:
    # The month as the engine sees it is the whole month: only views of all of it estimate.
    if not (view.scope.all_regions or view.scope.technician_id == technician):
        return
    with st.expander(
        _("Estimate: if I complete more tickets this month"), icon=":material/calculate:"
    ):
        month = data.estimate_month(view.db, view.version, technician, period)
        cities = month.cities
        own = month.tickets.filter(month.tickets["technician_id"] == technician)
        usual_city = (
            own["city_code"].mode().sort()[0] if not own.is_empty() else cities["city_code"][0]
        )
        usual_item = own["item_code"].mode().sort()[0] if not own.is_empty() else month.items[0]
        names = dict(zip(cities["city_code"], cities["city_name"], strict=True))
        tiers = dict(zip(cities["city_code"], cities["city_tier"], strict=True))
        codes = cities["city_code"].to_list()
        with st.form("estimate"):
            extra = st.number_input(_("More tickets"), 0, 1000, 10, step=1, key="estimate-n")
            item = st.selectbox(_("Service item"), month.items, month.items.index(usual_item),
                                key="estimate-item")  # fmt: skip
            city = st.selectbox(
                _("City"), codes, codes.index(usual_city), key="estimate-city",
                format_func=lambda c: f"{names[c]} · {tiers[c]}",  # no words: any language
            )  # fmt: skip
            if not st.form_submit_button(_("Estimate")):
                return
        timeline = data.rule_timeline(view.db, store_version(Path(view.db)))
        result = project(month, timeline, int(extra), str(item), str(city))
        left, right = st.columns(2)
        left.metric(_("Now"), yuan(result.current_cents))
        right.metric(_("Projected"), yuan(result.projected_cents),
                     delta=yuan(result.gain_cents))  # fmt: skip
        st.caption(
            _("{now} → {then} tickets on the ladder · rate {rate_now} → {rate_then}").format(
                now=result.current_count, then=result.projected_count,
                rate_now=_rate(result.current_rate_bp), rate_then=_rate(result.projected_rate_bp),
            )
        )  # fmt: skip
        for start, rate in result.crossed:
            st.success(_("Step reached: {rate} from ticket {start}").format(
                rate=_rate(rate), start=start))  # fmt: skip
        if result.next_step and result.to_next is not None:
            start, rate = result.next_step
            st.info(
                _("{to_go} more after that to reach {rate} at ticket {start}").format(
                    to_go=result.to_next, rate=_rate(rate), start=start
                )
            )
        elif result.next_step is None and result.basis:
            st.info(_("The top step is reached."))
