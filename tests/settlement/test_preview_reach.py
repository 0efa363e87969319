"""A preview that settles only what a draft reaches gives exactly the preview of settling all.

The reference is the plain preview (both rule sets over the whole history); the reached one
gets the live side's settlement and settles only the months and orders the draft's differences
touch. For random drafts (each kind of setting, and several at once) and effective dates in the
middle of the history, every output must be equal.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest import ingest
from settlement.engine import settle
from settlement.frames import LINE_KEY
from settlement.preview import LiveSide, Preview, preview
from settlement.reach import Keys, closure, closure_by_rows, reach
from settlement.rules import load_rules, parse_rules, to_document
from settlement.timeline import Timeline
from warehouse.db import connect_read_only
from warehouse.settle import settlement_inputs


@pytest.fixture(scope="module")
def history(
    feed_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[pl.DataFrame, pl.DataFrame]:
    db = tmp_path_factory.mktemp("reach") / "w.duckdb"
    ingest([feed_dir], db)
    with connect_read_only(db) as con:
        return settlement_inputs(con)


SHIPPED = to_document(load_rules())
ITEMS = sorted(SHIPPED["item_prices"])
PARTS = sorted(SHIPPED["part_prices"])
TIERS = list(SHIPPED["price_tiers"])


def _set(document: dict[str, Any], dotted: str, value: object) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        document = document.setdefault(key, {})
    document[leaf] = value


def _drop(document: dict[str, Any], dotted: str) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        document = document[key]
    document.pop(leaf, None)


amount = st.integers(0, 40_000)
EDITS = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(ITEMS).flatmap(
        lambda i: st.sampled_from(TIERS).map(lambda t: f"item_prices.{i}.{t}")), amount),
    st.tuples(st.just("drop"), st.sampled_from(ITEMS).flatmap(
        lambda i: st.sampled_from(TIERS).map(lambda t: f"item_prices.{i}.{t}")), st.none()),
    st.tuples(st.just("set"), st.sampled_from(PARTS).flatmap(
        lambda p: st.sampled_from(TIERS).map(lambda t: f"part_prices.{p}.{t}")), amount),
    st.tuples(st.just("set"), st.sampled_from(["tier_map.一线", "tier_map.二线", "tier_map.三线"]),
              st.sampled_from(TIERS)),
    st.tuples(st.just("set"), st.sampled_from(
        ["region_coefficients.provinces.11", "region_coefficients.provinces.51",
         "region_coefficients.cities.310100"]), st.integers(5_000, 20_000)),
    st.tuples(st.just("set"), st.sampled_from(
        ["surcharges.urgent_bp", "surcharges.night_cents", "surcharges.high_altitude_cents",
         "subsidies.plateau_cents", "subsidies.township_cents",
         "subsidies.remote_guidance_hourly_cents"]), st.integers(0, 9_000)),
    st.tuples(st.just("set"), st.sampled_from(
        ["member_discounts_bp.silver", "member_discounts_bp.gold"]), st.integers(0, 3_000)),
    st.tuples(st.just("set"), st.just("ladders.technician.brackets"), st.just(
        [{"start": 1, "rate_bp": 10_000}, {"start": 4, "rate_bp": 11_500}])),
    st.tuples(st.just("set"), st.just("partner_modes.agent"),
              st.builds(lambda c: {"mode": "piece_rate", "piece_cents": c}, amount)),
    st.tuples(st.just("set"), st.just("partner_overrides.PT0003"),
              st.builds(lambda m: {"mode": "guaranteed_minimum", "piece_cents": 1_000,
                                   "minimum_cents": m, "threshold_cents": 50_000,
                                   "excess_bonus_bp": 500}, amount)),
    st.tuples(st.just("set"), st.just("deductions.agent"),
              st.just({"base": "payout", "cross_province_vat_bp": 600})),
    st.tuples(st.just("set"), st.just("rework.chargeback_bp"), st.integers(0, 5_000)),
)  # fmt: skip


def same(reached: Preview, full: Preview) -> None:
    key = list(LINE_KEY)
    assert reached.lines.sort(key, nulls_last=True).equals(full.lines.sort(key, nulls_last=True))
    for name, frame in full.by.items():
        columns = frame.columns
        assert reached.by[name].sort(columns).equals(frame.sort(columns)), name
    assert reached.ladder_crossings.equals(full.ladder_crossings)
    assert reached.unpriced.sort("ticket_id").equals(full.unpriced.sort("ticket_id"))
    assert (reached.live_cents, reached.draft_cents) == (full.live_cents, full.draft_cents)


def test_a_reached_preview_is_the_full_preview(
    history: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    tickets, orders = history
    days = sorted(set(tickets["completed_date"]))
    live = Timeline.single(load_rules())

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(edits=st.lists(EDITS, min_size=1, max_size=3), start=st.sampled_from(days[::7]))
    def check(edits: list[tuple[str, str, object]], start: date) -> None:
        document = to_document(load_rules())
        for action, path, value in edits:
            if action == "set":
                _set(document, path, value)
            else:
                _drop(document, path)
        try:
            draft = parse_rules({**document, "version": "draft", "effective_date": start})
        except ValueError:
            return  # an edit the rules refuse (e.g. an unknown tier) is no draft to preview
        proposed = live.with_draft(draft)
        settled = settle(tickets.lazy(), orders.lazy(), live)
        lines, unpriced = pl.collect_all([settled.lines, settled.unpriced])
        full = preview(tickets.lazy(), orders.lazy(), live, proposed)
        # As the Rules page keeps it (its summaries computed once, its history by rows), and
        # without them (the closure joined on ticket ids).
        kept = LiveSide.of(tickets.lazy(), lines, unpriced)
        assert kept.rows is not None
        for side in (kept, LiveSide(lines, unpriced)):
            reached = preview(tickets.lazy(), orders.lazy(), live, proposed, live_side=side)
            same(reached, full)

    check()


def test_a_price_edit_settles_a_fraction_of_the_history(
    history: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """The point of it: one price of one tier reaches the months of a few technicians."""
    tickets, _ = history
    live = Timeline.single(load_rules())
    document = to_document(load_rules())
    document["item_prices"]["INS-AC-01"]["B"] += 1_000
    draft = live.with_draft(parse_rules({**document, "version": "draft"}))
    reached = reach(live, draft)
    assert reached is not None
    again = closure(tickets.lazy(), reached).tickets.collect()
    assert 0 < again.height < tickets.height / 2
    # Under the shipped count ladder every rate holds: the touched tickets settle alone, not
    # with their months.
    assert reached.rates_hold
    months = closure(tickets.lazy(), replace(reached, rates_hold=False)).size
    assert again.height < months
    touched = tickets.filter(pl.col("item_code") == "INS-AC-01").height
    assert touched <= again.height < 2 * touched
    # An earnings ladder ranks by what tickets earn: a price edit moves the whole month.
    document["ladders"]["technician"]["basis"] = "earnings"
    document["ladders"]["technician"]["brackets"][0]["start"] = 0
    earnings = parse_rules({**document, "version": "e"})
    document["item_prices"]["INS-AC-01"]["B"] += 1_000
    edited = parse_rules({**document, "version": "e2"})
    ranked = reach(Timeline.single(earnings), Timeline.single(earnings).with_draft(edited))
    assert ranked is not None and not ranked.rates_hold
    # A policy the reach does not model is settled in full.
    document["rework"]["window_days"] = 7
    assert reach(live, live.with_draft(parse_rules({**document, "version": "d2"}))) is None


def test_an_earnings_ladder_of_another_version_in_the_month_keeps_whole_months(
    history: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """A price edit of a count-ladder version moves the rates of a later version of the same
    month that ranks by earnings: the reach settles whole months, and equals the full preview."""
    tickets, orders = history
    days = sorted(set(tickets["completed_date"]))
    earnings = to_document(load_rules())
    earnings["ladders"]["technician"] = {
        "basis": "earnings",
        "mode": "graduated",
        "brackets": [{"start": 0, "rate_bp": 10_000}, {"start": 30_000, "rate_bp": 11_500}],
    }
    later = parse_rules({**earnings, "version": "1", "effective_date": days[len(days) // 2]})
    live = Timeline.of(load_rules(), [later])
    edited = to_document(load_rules())
    edited["item_prices"]["INS-AC-01"]["B"] += 1_000
    draft = live.with_draft(parse_rules({**edited, "version": "draft", "effective_date": days[1]}))
    reached = reach(live, draft)
    assert reached is not None and not reached.rates_hold
    settled = settle(tickets.lazy(), orders.lazy(), live)
    lines, unpriced = pl.collect_all([settled.lines, settled.unpriced])
    side = LiveSide.of(tickets.lazy(), lines, unpriced)
    full = preview(tickets.lazy(), orders.lazy(), live, draft)
    same(preview(tickets.lazy(), orders.lazy(), live, draft, live_side=side), full)
    assert not full.ladder_crossings.is_empty() or full.delta_cents > 0


LABOUR = st.one_of(
    st.tuples(st.sampled_from(ITEMS).flatmap(
        lambda i: st.sampled_from(TIERS).map(lambda t: f"item_prices.{i}.{t}")), amount),
    st.tuples(st.sampled_from(PARTS).flatmap(
        lambda p: st.sampled_from(TIERS).map(lambda t: f"part_prices.{p}.{t}")), amount),
    st.tuples(st.sampled_from(
        ["region_coefficients.provinces.11", "region_coefficients.cities.310100",
         "surcharges.urgent_bp", "surcharges.night_cents", "subsidies.township_cents",
         "member_discounts_bp.gold"]), st.integers(0, 9_000)),
)  # fmt: skip


def test_a_labour_edit_found_by_rows_is_the_closure_found_by_ids(
    history: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """Labour-only drafts under the count ladder: the closure followed by rows settles the same
    tickets, owns the same lines, and the preview is the full preview."""
    tickets, orders = history
    days = sorted(set(tickets["completed_date"]))
    live = Timeline.single(load_rules())
    settled = settle(tickets.lazy(), orders.lazy(), live)
    lines, unpriced = pl.collect_all([settled.lines, settled.unpriced])
    side = LiveSide.of(tickets.lazy(), lines, unpriced)
    assert side.rows is not None
    key = list(LINE_KEY)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(edits=st.lists(LABOUR, min_size=1, max_size=3), start=st.sampled_from(days[::7]))
    def check(edits: list[tuple[str, object]], start: date) -> None:
        document = to_document(load_rules())
        for path, value in edits:
            _set(document, path, value)
        try:
            rules = parse_rules({**document, "version": "draft", "effective_date": start})
        except ValueError:
            return  # an edit the rules refuse (e.g. a zero coefficient) is no draft to preview
        draft = live.with_draft(rules)
        reached = reach(live, draft)
        assert reached is not None and side.rows is not None
        by_rows = closure_by_rows(side.rows.keys, reached)
        if not reached.rates_hold:  # e.g. a city coefficient that did not exist before
            assert by_rows is None
            return
        by_ids = closure(tickets.lazy(), reached)
        assert by_rows is not None and by_rows.rows is not None
        assert (
            by_rows.tickets.collect().sort("ticket_id").equals(by_ids.tickets.collect().sort("ticket_id"))
        )  # fmt: skip
        assert by_rows.size == by_ids.size
        assert (
            by_rows.owned(lines.lazy()).collect().sort(key, nulls_last=True)
            .equals(by_ids.owned(lines.lazy()).collect().sort(key, nulls_last=True))
        )  # fmt: skip
        full = preview(tickets.lazy(), orders.lazy(), live, draft)
        same(preview(tickets.lazy(), orders.lazy(), live, draft, live_side=side), full)

    check()


def test_a_history_whose_ticket_ids_repeat_is_not_followed_by_rows(
    history: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    tickets, _ = history
    assert Keys.of(tickets) is not None
    assert Keys.of(pl.concat([tickets, tickets.head(1)])) is None
    assert Keys.of(tickets.with_columns(ticket_id=pl.lit(None, pl.String))) is None
