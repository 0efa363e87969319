"""Malformed rule documents, generated: the validator, the editor's check and the publish path
refuse each with a reason (no other exception), nothing is stored, and whatever passes settles
inside the ledger's range."""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pages.components.rule_forms import validate
from settlement.engine import settle
from settlement.frames import ORDERS_IN, TICKETS_IN
from settlement.rules import load_rules, parse_rules, problems_of, to_document
from tests.settlement.test_golden import ticket
from warehouse import app_store
from warehouse.publish import publish
from warehouse.settle import LEDGER_LIMIT_CENTS

SHIPPED = to_document(load_rules())

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**62, 10**30, -1, 0, 100_000_001, 10_001]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", "7.10", "=1+1", "A", "USD", "华南", "2026-13-01"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
    st.lists(st.integers(0, 5), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(0, 5), max_size=2),
    st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=2), max_leaves=40),
)


def paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document a value can be replaced."""
    found = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            found += paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found += paths(value, (*prefix, index))
    return found


PATHS = paths(SHIPPED)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    document = copy.deepcopy(SHIPPED)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        target: Any = document
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = draw(odd_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced a parent
    if draw(st.booleans()):
        document[draw(st.sampled_from(["bogus", "surcharges", "version"]))] = draw(odd_values)
    return document


def priced_in_range(rules: Any) -> None:
    tickets = pl.DataFrame(
        [ticket("T1", datetime(2026, 1, 10, 9), quantity=999, is_urgent=True, is_night=True)],
        schema=TICKETS_IN,
    )
    orders = pl.DataFrame([], schema=ORDERS_IN)
    lines = settle(tickets.lazy(), orders.lazy(), rules).lines.collect()
    assert (lines["amount_cents"].abs() < LEDGER_LIMIT_CENTS).all()


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_a_malformed_document_is_refused_with_a_reason_or_settles_in_range(
    document: dict[str, Any],
) -> None:
    try:
        rules = parse_rules(document)
    except ValidationError as error:
        problems = problems_of(error)
        assert problems and all(p.field and p.reason for p in problems)
    except ValueError as error:
        assert str(error)
    else:
        priced_in_range(rules)
    # The editor's check says the same without raising.
    shown = validate(document)
    assert all(str(p) for p in shown)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_publishing_a_malformed_document_stores_nothing(
    tmp_path_factory: pytest.TempPathFactory, document: dict[str, Any]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERBOARD_APP_DB", str(folder / "app.sqlite"))
        store = app_store.app_store_path(Path(folder / "w.duckdb"))
        try:
            publish(folder / "w.duckdb", document, effective_date=date(2026, 10, 1),
                    note="fuzz", author="f")  # fmt: skip
        except ValueError:  # ValidationError is a ValueError: refused with its reason
            assert app_store.rule_versions(store) == []
        else:
            (stored,) = app_store.rule_versions(store)
            priced_in_range(parse_rules({**stored.document, "version": "1"}))
