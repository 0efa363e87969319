"""The rule editor's forms: each edits one part of the draft document; nothing is kept unless
the whole draft validates, and every problem is shown next to the form it came from."""

from __future__ import annotations

import copy
from decimal import Decimal
from functools import cache
from typing import Any

import polars as pl
import streamlit as st
import yaml
from pydantic import ValidationError

from pages.components.i18n import N_, _, code, frozen, reword
from pipelines.reference import known_codes, load_reference
from settlement.rules import (
    KnownCodes,
    RuleProblem,
    document_from_yaml,
    parse_rules,
    problems_of,
)

Document = dict[str, Any]


@cache
def rule_codes() -> KnownCodes:
    return KnownCodes(**known_codes())


def validate(document: Document) -> list[RuleProblem]:
    try:
        parse_rules(document, rule_codes())
    except ValidationError as error:
        return problems_of(error)
    except (TypeError, ValueError) as error:
        return [RuleProblem("(rule set)", str(error))]
    return []


def apply(draft_key: str, document: Document, section: str) -> None:
    """Keep ``document`` as the draft if it validates; otherwise show why, under the form."""
    problems = validate(document)
    if problems:
        st.session_state[f"problems-{section}"] = [str(p) for p in problems]
    else:
        st.session_state[draft_key] = document
        st.session_state.pop(f"problems-{section}", None)
        st.session_state[f"applied-{section}"] = True
        # Widgets are keyed by the draft's revision, so every form shows the new draft.
        st.session_state["draft-rev"] = st.session_state.get("draft-rev", 0) + 1
        st.rerun()


def key(name: str) -> str:
    return f"{name}-{st.session_state.get('draft-rev', 0)}"


def problem_text(problem: RuleProblem | str) -> str:
    """A validation problem in the reader's language: the setting's name, then the reason."""
    field, _sep, reason = str(problem).partition(": ")
    head, *rest = field.split(".")
    words = " · ".join([code("rule_field", head), *rest])
    return reword("validation", f"{words}: {reason}")


def show_problems(section: str) -> None:
    for problem in st.session_state.get(f"problems-{section}", []):
        st.error(problem_text(problem), icon=":material/error:")
    if st.session_state.pop(f"applied-{section}", False):
        st.success(_("Applied to the draft."), icon=":material/check:")


def to_cents(yuan: Any) -> int:
    """Editor input (yuan) to exact cents: through the decimal text, never binary float maths."""
    return int((Decimal(str(yuan)) * 100).quantize(Decimal(1)))


def headers(*columns: str) -> list[str]:
    """Editor headers in the reader's language (the editors' frames are read back by them)."""
    return [code("column", column) for column in columns]


def price_table(
    table: dict[str, dict[str, int]], tiers: list[str], names: dict[str, str]
) -> pl.DataFrame:
    code_h, name_h = headers("item_code", "item_name")
    rows = [
        {code_h: item, name_h: names.get(item, ""), **{t: prices.get(t, 0) / 100 for t in tiers}}
        for item, prices in sorted(table.items())
    ]
    return pl.DataFrame(
        rows, schema={code_h: pl.String, name_h: pl.String, **dict.fromkeys(tiers, pl.Float64)}
    )


def prices_form(draft_key: str, draft: Document) -> None:
    ref = load_reference()
    tiers = list(draft["price_tiers"])
    item_names = dict(ref.service_items.select("item_code", "item_name").iter_rows())
    part_names = dict(ref.parts.select("part_code", "part_name").iter_rows())
    code_h, name_h = headers("item_code", "item_name")
    with st.form("prices"):
        st.caption(_("Internal prices in yuan per unit, by price tier. Edited cells are marked."))
        items = st.data_editor(
            price_table(draft["item_prices"], tiers, item_names), key=key("item-prices"),
            disabled=[code_h, name_h], hide_index=True,
        )  # fmt: skip
        parts = st.data_editor(
            price_table(draft.get("part_prices", {}), tiers, part_names), key=key("part-prices"),
            disabled=[code_h, name_h], hide_index=True,
        )  # fmt: skip
        if st.form_submit_button(_("Apply prices to the draft")):
            updated = copy.deepcopy(draft)
            for field, frame in (("item_prices", items), ("part_prices", parts)):
                updated[field] = {
                    row[code_h]: {t: to_cents(row[t]) for t in tiers if row[t] is not None}
                    for row in pl.DataFrame(frame).iter_rows(named=True)
                }
            apply(draft_key, updated, "prices")
    show_problems("prices")


def amounts_form(draft_key: str, draft: Document) -> None:
    """Coefficients, surcharges, subsidies, discounts, fees: the common one-number settings."""
    with st.form("amounts"):
        a, b, c = st.columns(3)
        urgent = a.number_input(
            _("Urgent surcharge (% of base)"), value=draft["surcharges"]["urgent_bp"] / 100,
            step=1.0, key=key("urgent"),
        )  # fmt: skip
        night = b.number_input(
            _("Night service (¥)"), value=draft["surcharges"]["night_cents"] / 100, key=key("night")
        )
        height = c.number_input(
            _("Work at height (¥)"),
            value=draft["surcharges"]["high_altitude_cents"] / 100,
            key=key("height"),
        )
        plateau = a.number_input(
            _("Plateau subsidy (¥)"),
            value=draft["subsidies"]["plateau_cents"] / 100,
            key=key("plateau"),
        )
        township = b.number_input(
            _("Township subsidy (¥)"),
            value=draft["subsidies"]["township_cents"] / 100,
            key=key("township"),
        )
        remote = c.number_input(
            _("Remote guidance (¥ per hour)"),
            value=draft["subsidies"]["remote_guidance_hourly_cents"] / 100, key=key("remote"),
        )  # fmt: skip
        if st.form_submit_button(_("Apply amounts to the draft")):
            updated = copy.deepcopy(draft)
            updated["surcharges"]["urgent_bp"] = round(urgent * 100)
            updated["surcharges"]["high_altitude_cents"] = to_cents(height)
            updated["surcharges"]["night_cents"] = to_cents(night)
            updated["subsidies"]["plateau_cents"] = to_cents(plateau)
            updated["subsidies"]["township_cents"] = to_cents(township)
            updated["subsidies"]["remote_guidance_hourly_cents"] = to_cents(remote)
            apply(draft_key, updated, "amounts")
    show_problems("amounts")


def coefficients_form(draft_key: str, draft: Document) -> None:
    """Region coefficients by province (× on the base price; 1 means none)."""
    ref = load_reference()
    current = draft["region_coefficients"]["provinces"]
    code_h, name_h, value_h = headers("province_code", "province_name", "coefficient")
    table = pl.DataFrame(
        [
            {code_h: province, name_h: name, value_h: current.get(province, 10_000) / 10_000}
            for province, name in ref.provinces.select("province_code", "province_name").iter_rows()
        ],
        schema={code_h: pl.String, name_h: pl.String, value_h: pl.Float64},
    )
    with st.form("coefficients"):
        st.caption(_("× on the base price by province (a city's own coefficient, in YAML, wins)."))
        edited = st.data_editor(
            table, disabled=[code_h, name_h], hide_index=True, key=key("coefficients")
        )
        if st.form_submit_button(_("Apply coefficients to the draft")):
            updated = copy.deepcopy(draft)
            updated["region_coefficients"]["provinces"] = {
                row[code_h]: round(Decimal(str(row[value_h] or 0)) * 10_000)
                for row in pl.DataFrame(edited).iter_rows(named=True)
                if row[value_h] != 1
            }
            apply(draft_key, updated, "coefficients")
    show_problems("coefficients")


MODE_FIELDS = {  # mode: (parameter, label, unit) — unit ¥ is entered in yuan, % in percent
    "piece_rate": [("piece_cents", N_("Per ticket"), "¥")],
    "percent_of_sales": [("rate_bp", N_("Share of the order"), "%")],
    "guaranteed_minimum": [
        ("piece_cents", N_("Per ticket"), "¥"),
        ("minimum_cents", N_("Guaranteed a month"), "¥"),
        ("threshold_cents", N_("Bonus above"), "¥"),
        ("excess_bonus_bp", N_("Bonus share of the excess"), "%"),
    ],
    "base_fee_plus_bonus": [
        ("base_fee_cents", N_("Base fee a month"), "¥"),
        ("per_order_bonus_cents", N_("Bonus per order ticket"), "¥"),
    ],
    # The order's net paid amount; its channel fee and VAT are the partner type's deductions.
    "order_split": [],
}


def partner_modes_form(draft_key: str, draft: Document) -> None:
    """Each partner type's mode and its parameters (overrides per partner stay in YAML)."""
    modes = draft["partner_modes"]
    names = list(MODE_FIELDS)
    types = ("direct", "dealer", "agent")
    # Modes are chosen outside the form, so that the form shows the chosen mode's parameters.
    picked = {
        partner_type: column.selectbox(
            _("{partner_type} mode").format(partner_type=code("partner_type", partner_type)),
            names,
            format_func=frozen(lambda m: code("mode", m), names),
            index=names.index(modes.get(partner_type, {"mode": "piece_rate"})["mode"]),
            key=key(f"mode-{partner_type}"),
        )
        for partner_type, column in zip(types, st.columns(3), strict=True)
    }
    with st.form("partner-modes"):
        chosen: dict[str, tuple[str, dict[str, float]]] = {}
        for partner_type, column in zip(types, st.columns(3), strict=True):
            current = modes.get(partner_type, {"mode": "piece_rate"})
            mode = picked[partner_type] or current["mode"]
            values = {}
            for field, label, unit in MODE_FIELDS[mode]:
                stored = current.get(field, 0) if current["mode"] == mode else 0
                values[field] = column.number_input(
                    f"{_(label)} ({unit})", value=stored / 100, key=key(f"{partner_type}-{field}")
                )
            chosen[partner_type] = (mode, values)
        if st.form_submit_button(_("Apply partner modes to the draft")):
            updated = copy.deepcopy(draft)
            updated["partner_modes"] = {
                partner_type: {
                    "mode": mode,
                    **{
                        field: to_cents(value)
                        if field.endswith("_cents")
                        else round(Decimal(str(value)) * 100)
                        for field, value in values.items()
                    },
                }
                for partner_type, (mode, values) in chosen.items()
            }
            apply(draft_key, updated, "partner-modes")
    show_problems("partner-modes")


def ladder_form(draft_key: str, draft: Document) -> None:
    ladder = draft.get("ladders", {}).get("technician")
    with st.form("ladder"):
        st.caption(_("Technician ladder: the rate from each bracket's start (ticket number or ¥)."))
        left, right = st.columns(2)
        current = ladder or {"basis": "count", "mode": "graduated", "brackets": []}
        bases, modes = ["count", "earnings"], ["graduated", "retroactive"]
        basis = left.selectbox(
            _("Basis"), bases, index=bases.index(current["basis"]), key=key("ladder-basis"),
            format_func=frozen(lambda b: code("basis", b), bases),
        )  # fmt: skip
        mode = right.selectbox(
            _("Mode"), modes, index=modes.index(current["mode"]), key=key("ladder-mode"),
            format_func=frozen(lambda m: code("ladder_mode", m), modes),
        )  # fmt: skip
        start_h, rate_h = headers("start", "rate_percent")
        brackets = pl.DataFrame(
            [{start_h: b["start"], rate_h: b["rate_bp"] / 100} for b in current["brackets"]],
            schema={start_h: pl.Int64, rate_h: pl.Float64},
        )
        edited = st.data_editor(
            brackets, num_rows="dynamic", key=key("ladder-brackets"), hide_index=True
        )
        if st.form_submit_button(_("Apply ladder to the draft")):
            updated = copy.deepcopy(draft)
            rows = [r for r in pl.DataFrame(edited).iter_rows(named=True) if r[start_h] is not None]
            updated.setdefault("ladders", {})["technician"] = {
                "basis": basis,
                "mode": mode,
                "brackets": [
                    {"start": int(r[start_h]), "rate_bp": round((r[rate_h] or 0) * 100)}
                    for r in rows
                ],
            }
            apply(draft_key, updated, "ladder")
    show_problems("ladder")


def yaml_form(draft_key: str, draft: Document) -> None:
    """Everything else (partner modes, rework, refunds, fees, currencies) as the YAML document."""
    with st.form("yaml"):
        text = st.text_area(
            _("The whole draft as YAML"),
            yaml.safe_dump(draft, allow_unicode=True, sort_keys=False),
            height=320,
            key=key("draft-yaml"),
        )
        if st.form_submit_button(_("Apply YAML to the draft")):
            try:
                document = document_from_yaml(text)
            except ValueError as error:
                st.session_state["problems-yaml"] = [f"(rule set): {error}"]
            else:
                apply(draft_key, document, "yaml")
    show_problems("yaml")
