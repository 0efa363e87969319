"""The one translation layer: gettext catalogs read with Babel, 简体中文 by default, `?lang=en`.

Messages are written in English in the code (`_("Overview")`) and translated by
``locale/zh/LC_MESSAGES/tierboard.po``. Code values (scenarios, channels, line kinds, column
names…) are translated with a context naming their kind (`code("scenario", "in_sale")`) in both
catalogs, since neither language should see the raw code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st
from babel.messages.pofile import read_po

from warehouse.db import Phrase

LANGS = ("zh", "en")
DEFAULT = "zh"
DOMAIN = "tierboard"
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
LANG_NAMES = {"zh": "中文", "en": "English"}


@cache
def catalog(lang: str) -> dict[tuple[str | None, str], str]:
    """(context, message) → translation of one language; untranslated entries are left out."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as file:
        messages = read_po(file, locale=lang, domain=DOMAIN)
    return {
        (message.context, str(message.id)): str(message.string)
        for message in messages
        if message.id and message.string and not message.fuzzy
    }


def current_lang() -> str:
    """The session's language: the sidebar switch, else the URL's ``lang``, else Chinese."""
    chosen = st.session_state.get("url-lang") or st.query_params.get("lang")
    return chosen if chosen in LANGS else DEFAULT


def _(message: str, lang: str | None = None) -> str:
    """``message`` in the session's language (English messages are their own translation).

    ``lang`` is for work done outside a script run (a deferred download), which has no session.
    """
    return catalog(lang or current_lang()).get((None, message), message)


def code(kind: str, value: object, lang: str | None = None) -> str:
    """A code value of ``kind`` (``"scenario"``, ``"column"``…) as words; unknown codes as sent."""
    text = "" if value is None else str(value)
    return catalog(lang or current_lang()).get((kind, text), text)


def frozen(label: Callable[[Any], str], options: Iterable[Any]) -> Callable[[Any], str]:
    """``label`` evaluated now, for every option: a widget's ``format_func`` may be called
    outside the script run (AppTest reads widget states from another thread), where the
    session's language is unknown."""
    table = {option: label(option) for option in options}
    return lambda option: table.get(option, str(option))


def language_switch() -> str:
    """The sidebar's language switch, in the URL as ``lang=zh|en``."""
    from pages.components.urls import bound

    choice = bound(
        st.sidebar.segmented_control, "语言 · Language", list(LANGS), "lang", DEFAULT,
        format_func=LANG_NAMES.__getitem__,
    )  # fmt: skip
    return choice if choice in LANGS else DEFAULT


def N_(message: str) -> str:
    """Marks a message for the catalog without translating it yet."""
    return message


# Messages the engine and the warehouse compose in English, as patterns: their words in the
# catalog, their values (periods, fields, limits) carried over.
PATTERNS: dict[str, list[tuple[str, str]]] = {
    "refusal": [
        (
            r"effective (?P<day>\S+) reaches into closed periods? (?P<periods>.+): publish it as "
            r"retroactive to re-price them \(the differences become adjustments in the first "
            r"open period\)",
            N_(
                "effective {day} reaches into closed {periods}: publish it as retroactive to "
                "re-price them (the differences become adjustments in the first open period)"
            ),
        ),
        (r"a rule version needs a note saying why", N_("a rule version needs a note saying why")),
        (
            r"periods close in order: close (?P<earlier>.+) before (?P<period>\S+)",
            N_("periods close in order: close {earlier} before {period}"),
        ),
        (
            r"period (?P<period>\S+) is (?P<state>\w+); only an open period can be closed",
            N_("period {period} is {state}; only an open period can be closed"),
        ),
        (r"breaks (?P<cases>.+)", N_("the draft breaks {cases}")),
        (
            r"period (?P<period>\S+) has no settlement lines: run the settlement first",
            N_("period {period} has no settlement lines: run the settlement first"),
        ),
        # approvals
        (
            r"(?P<who>.+) requested (?P<number>\d+): a second person must approve it",
            N_("{who} requested {number}: a second person must approve it"),
        ),
        (
            r"(?P<who>.+) \((?P<role>[^()]+)\) may not (?P<what>.+): that needs the role "
            r"(?P<roles>.+)",
            N_("{who} ({role}) may not {what}: that needs the role {roles}"),
        ),
        (
            r"request (?P<number>\d+) is (?P<status>\w+), not pending",
            N_("request {number} is {status}, not pending"),
        ),
        (r"a rejection needs a reason", N_("a rejection needs a reason")),
        (r"a request needs a note saying why", N_("a request needs a note saying why")),
        (
            r"request (?P<number>\d+) could not take effect: (?P<problem>.+)",
            N_("request {number} could not take effect: {problem}"),
        ),
    ],
    "reason": [
        (r"missing (?P<field>.+)", N_("missing {field}")),
        (r"unknown (?P<vocabulary>.+) value", N_("unknown {vocabulary} value")),
        (
            r"row has (?P<n>\d+) fields, the header (?P<m>\d+)",
            N_("row has {n} fields, the header {m}"),
        ),
        (
            r"(?P<what>order|refund|ticket) id is not a plain digit or code string",
            N_("{what} id is not a plain digit or code string"),
        ),
        (
            r"a JSON (?P<sent>\w+) where (?P<wanted>\w+) was expected",
            N_("a JSON {sent} where {wanted} was expected"),
        ),
        (
            r"no price for item (?P<item>\S+) in tier (?P<tier>\S+)",
            N_("no price for item {item} in tier {tier}"),
        ),
    ],
    "validation": [
        (
            r"(?P<field>.+?): Input should be greater than or equal to (?P<limit>\S+)",
            N_("{field}: must be at least {limit}"),
        ),
        (
            r"(?P<field>.+?): Input should be less than or equal to (?P<limit>\S+)",
            N_("{field}: must be at most {limit}"),
        ),
        (
            r"(?P<field>.+?): Input should be greater than (?P<limit>\S+)",
            N_("{field}: must be more than {limit}"),
        ),
        (
            r"(?P<field>.+?): Input should be a valid (?P<kind>integer|number).*",
            N_("{field}: must be a number"),
        ),
        (r"(?P<field>.+?): Field required", N_("{field}: required")),
        (
            r"(?P<field>.+?): brackets must increase without overlap: (?P<after>\d+) follows "
            r"(?P<before>\d+)",
            N_("{field}: brackets must increase without overlap: {after} follows {before}"),
        ),
        (
            r"(?P<field>.+?): the first bracket must start at (?P<first>\d+) for a "
            r"(?P<basis>\w+) ladder",
            N_("{field}: the first bracket must start at {first}"),
        ),
        (
            r"(?P<field>.+?): price tier (?P<tier>\S+) has items missing: (?P<codes>.+)",
            N_("{field}: price tier {tier} has items missing: {codes}"),
        ),
        (
            r"(?P<field>.+?): unknown price tier (?P<tiers>.+)",
            N_("{field}: unknown price tier {tiers}"),
        ),
        (
            r"(?P<field>.+?): no exchange rate for (?P<currency>\S+)",
            N_("{field}: no exchange rate for {currency}"),
        ),
        (
            r"(?P<field>.+?): not valid YAML at line (?P<line>\d+), column (?P<column>\d+): "
            r"(?P<problem>.+)",
            N_("{field}: not valid YAML at line {line}, column {column}: {problem}"),
        ),
        (r"(?P<field>.+?): Extra inputs are not permitted", N_("{field}: not a known setting")),
    ],
}


def reword(kind: str, text: str, lang: str | None = None) -> str:
    """An English message of the engine or warehouse in the session's language, when known."""
    for pattern, template in PATTERNS.get(kind, []):
        match = re.fullmatch(pattern, text)
        if match:
            return _(template, lang).format(**match.groupdict())
    return code(kind, text, lang)


def phrase(text: object, lang: str | None = None) -> str:
    """A warehouse text in the session's language: a Phrase by its template, its fields said in
    turn (ids, periods, amounts and paths as they are); any other text as it is (a note someone
    wrote, a row stored before texts kept their wording)."""
    if not isinstance(text, Phrase):
        return "" if text is None else str(text)
    if text.context is not None:  # a code value, or an engine's message of a known kind
        return reword(text.context, text.template, lang)
    words = _(text.template, lang)
    if not text.fields:
        return words
    fields = {
        name: phrase(value, lang) if isinstance(value, Phrase) else value
        for name, value in text.fields.items()
    }
    return words.format(**fields)


def say(error: BaseException, lang: str | None = None) -> str:
    """An error's message in the session's language: a warehouse error by its template (its
    fixed phrases translated, paths and DuckDB's own words as they are), else a known refusal."""
    template = getattr(error, "template", None)
    if template is not None:
        return phrase(Phrase(template, **getattr(error, "fields", {})), lang)
    if error.args and isinstance(error.args[0], Phrase):  # raised with a Phrase as its message
        return phrase(error.args[0], lang)
    return reword("refusal", str(error), lang)
