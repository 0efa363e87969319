"""Chinese first, English on request: every message, code value, header and export header of the
dashboard has both, and what a page shows in Chinese mode is Chinese."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from babel.messages.extract import extract_from_dir
from streamlit.testing.v1 import AppTest

from pages.components import formatting
from pages.components.context import DEMO_IDENTITIES, PAGES_BY_ROLE
from pages.components.i18n import PATTERNS, catalog, code, reword
from pages.components.vocabulary import VOCABULARY
from tests.conftest import APP, ROOT
from tests.pages.test_pages import open_page
from warehouse import queries
from warehouse.scope import Scope

KEYWORDS = {"_": None, "N_": None, "safely": (1,), "C_": ((1, "c"), 2)}
CJK = re.compile(r"[\u4e00-\u9fff]")
# What may stay as it is in Chinese: ids, codes, numbers, file formats, names of commands.
NEUTRAL = re.compile(
    r"`[^`]*`|https?://\S+|\S*[/\\]\S*|[A-Z][A-Z0-9_]+\b|\S*\d\S*|\b(?:Tierboard|Excel|YAML|CSV)\b"
)


def source_messages() -> set[tuple[str | None, str]]:
    found = extract_from_dir(
        ROOT,
        method_map=[
            ("app.py", "python"),
            ("pages/**.py", "python"),
            ("statements/**.py", "python"),
        ],
        keywords=KEYWORDS,
    )
    return {(context, str(message)) for _file, _line, message, _comments, context in found}


def test_every_message_in_the_code_has_a_chinese_translation() -> None:
    messages = source_messages()
    assert len(messages) > 300, "the extraction found the dashboard's messages"
    zh = catalog("zh")
    missing = sorted(m for c, m in messages if c is None and not zh.get((None, m)))
    assert missing == []


def test_every_warehouse_message_has_chinese_with_the_same_placeholders() -> None:
    found = extract_from_dir(
        ROOT, method_map=[("warehouse/**.py", "python")], keywords={"said": (2,), "Phrase": (1,)}
    )
    messages = {str(message) for _file, _line, message, _comments, _context in found}
    assert len(messages) > 15, "the extraction found the warehouse's messages"
    zh = catalog("zh")
    assert sorted(m for m in messages if not zh.get((None, m))) == []
    for message in messages:
        placeholders = set(re.findall(r"{(\w+)}", message))
        assert set(re.findall(r"{(\w+)}", zh[(None, message)])) == placeholders, message


def test_every_code_value_has_chinese_and_english_words() -> None:
    assert set(VOCABULARY) <= source_messages()  # the vocabulary is what pybabel extracts
    zh, en = catalog("zh"), catalog("en")
    assert [v for v in VOCABULARY if not zh.get(v)] == []
    assert [v for v in VOCABULARY if not en.get(v)] == []
    assert all(CJK.search(zh[v]) or not re.search("[a-z]{3}", zh[v]) for v in VOCABULARY)


def test_message_patterns_have_the_same_placeholders_in_chinese() -> None:
    zh = catalog("zh")
    for patterns in PATTERNS.values():
        for pattern, template in patterns:
            names = set(re.findall(r"\(\?P<(\w+)>", pattern))
            assert set(re.findall(r"{(\w+)", template)) <= names, template
            assert set(re.findall(r"{(\w+)", zh[(None, template)])) == set(
                re.findall(r"{(\w+)", template)
            ), template


def warehouse_frames(db: Path) -> list:  # type: ignore[type-arg]
    scope = Scope("analyst")
    period = queries.periods(db, scope)[0]
    technician = str(queries.drill(db, scope, period, "technician")["child"][0])
    return [
        queries.overview(db, scope, period),
        queries.region_ranking(db, scope, period),
        queries.tickets(db, scope, period=period).drop("matching_tickets"),
        queries.drill(db, scope, period, "group").drop("child"),
        queries.payee_months(db, scope, technician),
        queries.payee_lines(db, scope, technician, period),
        queries.feed_freshness(db, scope),
        queries.recent_runs(db, scope),
        queries.quarantine(db, scope),
        queries.quarantine_reasons(db, scope),
        queries.unpriced(db, scope),
        queries.rule_triggers(db, scope),
        queries.settlement_status(db, scope),
        queries.settlement_runs(db, scope),
        queries.new_platform_values(db, scope),
    ]


def test_every_header_and_code_value_of_every_export_is_chinese(demo_warehouse: Path) -> None:
    for frame in warehouse_frames(demo_warehouse):
        exported = formatting.export_frame(frame, "zh")
        assert [h for h in exported.columns if not CJK.search(h)] == []
        english = formatting.export_frame(frame, "en")
        assert len(set(english.columns)) == len(english.columns)
        for column in formatting.CODE_COLUMNS & set(frame.columns):
            words = exported[formatting.header(column, "zh")].drop_nulls().unique().to_list()
            assert [w for w in words if not CJK.search(str(w))] == [], column


def test_every_code_the_warehouse_holds_has_words(demo_warehouse: Path) -> None:
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        seen = {
            (kind, value)
            for kind, sql in (
                ("scenario", "select distinct scenario from tickets"),
                ("channel", "select distinct channel from tickets"),
                ("item_category", "select distinct category from service_items"),
                ("partner_type", "select distinct partner_type from partners"),
                ("line_kind", "select distinct line_kind from settlement_lines"),
                ("payee_type", "select distinct payee_type from settlement_lines"),
                ("feed", "select distinct feed from ingestion_runs"),
                ("status", "select distinct status from ingestion_runs"),
                ("status", "select distinct status from settlement_periods"),
                ("reason", "select distinct reason from quarantine"),
            )
            for (value,) in con.sql(sql).fetchall()
        }
    assert len(seen) > 20
    assert [s for s in seen if not CJK.search(reword(s[0], s[1], "zh"))] == []
    assert [s for s in seen if s[0] != "reason" and code(*s, lang="en") == s[1]] == []


def visible_texts(at) -> list[str]:  # type: ignore[no-untyped-def]
    texts = [e.value for kind in ("title", "header", "subheader", "caption", "info", "warning",
                                  "success", "error") for e in getattr(at, kind)]  # fmt: skip
    texts += [m.label for m in at.metric]
    texts += [w.label for kind in ("button", "selectbox", "multiselect", "text_input",
                                   "number_input", "text_area", "date_input", "checkbox",
                                   "button_group") for w in getattr(at, kind)]  # fmt: skip
    texts += [e.label for e in at.expander] + [t.label for t in at.tabs]
    texts += [str(c) for frame in at.dataframe for c in frame.value.columns]
    return [t for t in texts if t]


def untranslated(text: str) -> bool:
    """English words left in a text with no Chinese in it."""
    return not CJK.search(text) and bool(re.search(r"[A-Za-z]{3,}", NEUTRAL.sub(" ", text)))


CASES = [(i.key, page) for i in DEMO_IDENTITIES for page in PAGES_BY_ROLE[i.scope.role]]


@pytest.mark.parametrize(("identity", "page"), CASES)
def test_a_page_in_chinese_shows_no_english(app_env: Path, identity: str, page: str) -> None:
    at = open_page(page, identity, lang="zh")
    assert not at.exception, [e.value for e in at.exception]
    texts = visible_texts(at)
    assert len(texts) >= 2
    assert [t for t in texts if untranslated(t)] == []


def test_the_language_is_chosen_by_the_url_and_stays_in_it(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["as"] = "manager"
    at.query_params["lang"] = "en"
    at.run()  # the root forwards to the role's first page, Overview
    assert at.title[0].value == "Overview" and at.query_params["lang"] == "en"
    switch = next(b for b in at.button_group if b.label == "语言 · Language")
    assert switch.value == "en"
    assert at.query_params["period"] and at.query_params["split"] == "scenario"


def test_without_lang_the_dashboard_speaks_chinese(app_env: Path) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["as"] = "manager"
    at.run()
    assert at.title[0].value == "总览" and at.query_params["lang"] == "zh"
