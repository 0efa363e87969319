"""Views as links: every choice a page offers is a value in the address bar."""

from __future__ import annotations

from typing import Any

import streamlit as st

from pages.components.i18n import frozen


def _url_state(key: str) -> tuple[str | None, str | None, str]:
    """(the URL's value, the value last shown, the widget key): a URL changed from outside since
    the last run starts a new generation of the key, so the widget is drawn afresh with it."""
    raw = st.query_params.get(key)
    last = st.session_state.get(f"url-{key}")
    generation = int(st.session_state.get(f"gen-{key}", 0))
    if raw is not None and last is not None and raw != last:
        generation += 1
        st.session_state[f"gen-{key}"] = generation
    return raw, last, f"{key}~{generation}" if generation else key


def bound(widget: Any, label: str, options: list[Any], key: str, fallback: Any, **kw: Any) -> Any:
    """A choice widget (selectbox, segmented control) whose value is in the URL as ``key``:
    the option itself, never its label, written on every run (defaults included) so that the
    address bar always says what is shown.

    A URL changed from outside (a shared link, the Back button) moves the widget: it is drawn
    afresh under a new generation of its key. A page switch, which drops the URL's parameters,
    keeps the value last shown.
    """
    _, last, widget_key = _url_state(key)
    kept = next((option for option in options if str(option) == last), fallback)
    start = url_choice(key, options, kept)
    if "format_func" in kw:
        kw["format_func"] = frozen(kw["format_func"], options)
    if getattr(widget, "__name__", "") == "selectbox":
        kw["index"] = index_of(options, start)
    else:
        kw["default"] = start
    choice = widget(label, options, key=widget_key, **kw)
    # None (a segmented control clicked off) keeps the value shown: a view always has one.
    value = start if choice is None or choice not in options else choice
    # Written on every run, defaults included: the address bar says what is shown.
    st.query_params[key] = str(value)
    st.session_state[f"url-{key}"] = str(value)
    return value


def bound_text(widget: Any, label: str, key: str, fallback: str, **kw: Any) -> str:
    """A text input whose value is in the URL as ``key``, like ``bound``'s choices."""
    raw, last, widget_key = _url_state(key)
    start = raw if raw is not None else (last if last is not None else fallback)
    text = widget(label, value=start, key=widget_key, **kw)
    value = str(text or "").strip()
    # Written on every run, defaults included: the address bar says what is shown.
    st.query_params[key] = value
    st.session_state[f"url-{key}"] = value
    return value


def url_choice(key: str, options: list[Any] | None, fallback: Any) -> Any:
    """A URL-bound widget's starting value: the URL's, if it is one of ``options``.

    ``bind="query-params"`` keeps the URL in step with the widget in the browser; reading the
    URL here as well makes a shared link open the same view in every client (and in AppTest),
    and a hand-edited URL cannot pick a value that is not offered.
    """
    raw = st.query_params.get(key)
    if raw is None:
        return fallback
    if options is None:
        return raw
    return next((option for option in options if str(option) == raw), fallback)


def index_of(options: list[Any], value: Any) -> int:
    return options.index(value) if value in options else 0
