"""The dashboard's catalogs (``locale/``), read without Streamlit: statements speak the same
words as the pages, in the same language files."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "tierboard"


@cache
def catalog(lang: str) -> dict[tuple[str | None, str], str]:
    """(context, message) → translation; untranslated entries are left out."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as file:
        messages = read_po(file, locale=lang, domain=DOMAIN)
    return {
        (message.context, str(message.id)): str(message.string)
        for message in messages
        if message.id and message.string and not message.fuzzy
    }


@dataclass(frozen=True)
class Words:
    """Messages and code values in one language (Chinese for statements)."""

    lang: str = "zh"

    def message(self, text: str) -> str:
        return catalog(self.lang).get((None, text), text)

    def catalog(self) -> dict[tuple[str | None, str], str]:
        return catalog(self.lang)

    def code(self, kind: str, value: object) -> str:
        text = "" if value is None else str(value)
        return catalog(self.lang).get((kind, text), text)
