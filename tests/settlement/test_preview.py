"""Previewing a draft rule set on real history: exact differences, nothing written."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest import ingest
from settlement.engine import settle
from settlement.preview import preview
from settlement.rules import RuleSet, load_rules, parse_rules, to_document
from warehouse.db import connect_read_only
from warehouse.settle import settlement_inputs


@pytest.fixture(scope="module")
def history(
    feed_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[pl.DataFrame, pl.DataFrame]:
    db = tmp_path_factory.mktemp("preview") / "w.duckdb"
    ingest([feed_dir], db)
    with connect_read_only(db) as con:
        return settlement_inputs(con)


def edited(rules: RuleSet, edit: dict[str, object]) -> RuleSet:
    document = to_document(rules)
    for dotted, value in edit.items():
        target = document
        *parents, leaf = dotted.split(".")
        for key in parents:
            target = target[key]
        target[leaf] = value
    return parse_rules({**document, "version": "draft"})


def test_an_unchanged_draft_changes_nothing(history: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    tickets, orders = history
    live = load_rules()
    result = preview(tickets.lazy(), orders.lazy(), live, edited(live, {}))
    assert result.delta_cents == 0 and result.live_cents > 0
    assert result.ladder_crossings.is_empty()
    assert (result.lines["delta_cents"] == 0).all()


def test_a_tier_price_edit_changes_exactly_its_tickets(
    history: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    tickets, orders = history
    live = load_rules()
    draft = edited(live, {"item_prices.INS-AC-01.B": live.item_prices["INS-AC-01"]["B"] + 1_000})
    result = preview(tickets.lazy(), orders.lazy(), live, draft)
    changed = result.lines.filter(pl.col("delta_cents") != 0)
    assert set(changed["item_code"]) == {"INS-AC-01"}
    # Chargeback lines follow their rework's labour; they count under their ticket's tier.
    assert set(changed["price_tier"]) == {"B"}
    by_tier = result.by["price_tier"].filter(pl.col("delta_cents") != 0)
    assert by_tier["price_tier"].to_list() == ["B"]
    assert by_tier["delta_cents"].sum() == result.delta_cents > 0
    # The preview is the difference of two full settlements, line for line.
    full_live = settle(tickets.lazy(), orders.lazy(), live).lines.collect()["amount_cents"].sum()
    full_draft = settle(tickets.lazy(), orders.lazy(), draft).lines.collect()["amount_cents"].sum()
    assert (result.live_cents, result.draft_cents) == (full_live, full_draft)


def test_lowering_a_ladder_step_shows_who_crosses_it(
    history: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    tickets, orders = history
    live = load_rules()
    ladder = to_document(live)["ladders"]["technician"]
    ladder["brackets"][1]["start"] = 3  # 3rd ticket of the month already earns the next rate
    result = preview(
        tickets.lazy(), orders.lazy(), live, edited(live, {"ladders.technician": ladder})
    )
    crossings = result.ladder_crossings
    assert not crossings.is_empty()
    assert (crossings["draft_rate_bp"] > crossings["live_rate_bp"]).all()
    assert set(crossings["payee_type"]) == {"technician"}
    assert result.delta_cents > 0
