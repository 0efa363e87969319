"""What a draft rule set would change on chosen history, without writing anything.

Both rule sets settle the same tickets; their lines are matched on the line key and compared.
The live side's settlement may be passed in (kept from an earlier preview): then only what the
draft's differences reach is settled again.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from settlement.engine import GIVEN_RATE, settle
from settlement.frames import LINE_KEY
from settlement.reach import closure, reach
from settlement.rules import RuleSet
from settlement.timeline import Timeline, as_timeline

DIMENSIONS = {
    "region": ["region_group", "province_code"],
    "price_tier": ["price_tier"],
    "item": ["item_code"],
    "payee": ["payee_type", "payee_id"],
}


@dataclass(frozen=True)
class Preview:
    lines: pl.DataFrame  # LINE_KEY + live/draft/delta cents + ticket attributes
    by: dict[str, pl.DataFrame]  # dimension name -> live, draft, delta, lines, tickets changed
    ladder_crossings: pl.DataFrame  # payee months whose ladder rate changes
    unpriced: pl.DataFrame  # tickets the draft cannot price (the live could, or not)
    live_cents: int
    draft_cents: int

    @property
    def delta_cents(self) -> int:
        return self.draft_cents - self.live_cents


def _side(lines: pl.LazyFrame, side: str) -> pl.LazyFrame:
    mine = pl.lit(side) == pl.lit("live")
    return lines.select(
        *LINE_KEY,
        "price_tier",
        rate_live=pl.when(mine).then(pl.col("ladder_rate_bp")),
        rate_draft=pl.when(~mine).then(pl.col("ladder_rate_bp")),
        live_cents=pl.when(mine).then(pl.col("amount_cents")).otherwise(0),
        draft_cents=pl.when(~mine).then(pl.col("amount_cents")).otherwise(0),
    )


def compare(
    tickets: pl.LazyFrame, live_lines: pl.LazyFrame, draft_lines: pl.LazyFrame
) -> pl.LazyFrame:
    """Every line of either side with live, draft and delta cents and its ticket's attributes."""
    return _with_attributes(tickets, _matched(live_lines, draft_lines))


def _matched(live_lines: pl.LazyFrame, draft_lines: pl.LazyFrame) -> pl.LazyFrame:
    """Both sides' lines matched on the line key. Stacking both sides and grouping on the key
    matches them in one pass (cheaper than a full join on five text columns); a line missing on
    one side counts 0 there."""
    stacked = pl.concat(
        [_side(live_lines, "live"), _side(draft_lines, "draft")], how="vertical_relaxed"
    )
    return stacked.group_by(list(LINE_KEY)).agg(
        pl.col("price_tier").drop_nulls().last(),
        pl.col("rate_live").max(),
        pl.col("rate_draft").max(),
        pl.col("live_cents").sum(),
        pl.col("draft_cents").sum(),
    )


def _unchanged(lines: pl.LazyFrame) -> pl.LazyFrame:
    """Live lines the draft cannot move, as matched rows (the same on both sides)."""
    return lines.select(
        *LINE_KEY,
        "price_tier",
        rate_live="ladder_rate_bp",
        rate_draft="ladder_rate_bp",
        live_cents="amount_cents",
        draft_cents="amount_cents",
    )


def _with_attributes(tickets: pl.LazyFrame, matched: pl.LazyFrame) -> pl.LazyFrame:
    # As text, like the lines: the inputs hold these codes as categories.
    attributes = tickets.select(
        "ticket_id",
        *(pl.col(c).cast(pl.String) for c in ("region_group", "province_code", "item_code")),
    )
    return matched.with_columns(
        delta_cents=pl.col("draft_cents") - pl.col("live_cents"),
        # A chargeback carries no price tier of its own: it counts under its ticket's.
        price_tier=pl.col("price_tier").fill_null(
            pl.col("price_tier").drop_nulls().first().over("ticket_id")
        ),
    ).join(attributes, on="ticket_id", how="left")


def _summaries(compared: pl.LazyFrame) -> dict[str, pl.LazyFrame]:
    return {
        name: compared.group_by(columns)
        .agg(
            live_cents=pl.col("live_cents").sum(),
            draft_cents=pl.col("draft_cents").sum(),
            delta_cents=pl.col("delta_cents").sum(),
            lines=pl.len(),
            tickets_changed=pl.col("ticket_id").filter(pl.col("delta_cents") != 0).n_unique(),
        )
        .sort("delta_cents", descending=True)
        for name, columns in DIMENSIONS.items()
    }


def ladder_crossings(compared: pl.LazyFrame) -> pl.LazyFrame:
    """Payee months whose top ladder rate differs: who crosses a step up or falls back."""
    return (
        compared.filter(pl.col("line_kind") == "ticket")
        .group_by("payee_type", "payee_id", "period")
        .agg(
            live_rate_bp=pl.col("rate_live").max(),
            draft_rate_bp=pl.col("rate_draft").max(),
            delta_cents=pl.col("delta_cents").sum(),
        )
        .filter(pl.col("live_rate_bp").ne_missing(pl.col("draft_rate_bp")))
        .sort("payee_type", "payee_id", "period")
    )


# The largest share of the history a reached preview settles again; above it, all is settled.
WORTH_IT = 0.5


@dataclass(frozen=True)
class LiveSide:
    """The live rules' settlement of the same history, kept from before (collected)."""

    lines: pl.DataFrame
    unpriced: pl.DataFrame


def _live_rates(lines: pl.DataFrame) -> pl.DataFrame:
    """ticket → its technician ladder rate in the live settlement."""
    return lines.filter(
        (pl.col("payee_type") == "technician") & (pl.col("line_kind") == "ticket")
    ).select("ticket_id", pl.col("ladder_rate_bp").alias(GIVEN_RATE))


def preview(
    tickets: pl.LazyFrame,
    orders: pl.LazyFrame,
    live: RuleSet | Timeline,
    draft: RuleSet | Timeline,
    *,
    live_side: LiveSide | None = None,
) -> Preview:
    """Settle ``tickets`` under the draft (and the live rules unless their settlement is given).

    Given the live side, only what the draft's differences reach is settled again
    (``settlement.reach``): the months and orders of the tickets they touch; every other live
    line stands for the draft's too. The result is the same as settling everything."""
    tickets = tickets.cache()
    reached = reach(as_timeline(live), as_timeline(draft)) if live_side is not None else None
    part = closure(tickets, reached) if reached is not None else None
    if part is not None and part.size > WORTH_IT * tickets.select(pl.len()).collect().item():
        part = None  # settling most of it again, and merging, costs more than settling all
    if live_side is None or part is None:
        draft_result = settle(tickets, orders, draft)
        live_lines = live_side.lines.lazy() if live_side else settle(tickets, orders, live).lines
        matched = _matched(live_lines, draft_result.lines)
        unpriced = draft_result.unpriced
    else:
        # Materialised: the engine reads its input more than once and must see one order.
        subset = part.tickets.collect()
        if part.rates_given:
            subset = subset.join(_live_rates(live_side.lines), on="ticket_id", how="left")
        again = settle(subset.lazy(), orders, draft, rates_given=part.rates_given)
        live_lines = live_side.lines.lazy()
        replaced = part.owned(live_lines).cache()
        kept = live_lines.join(
            replaced.select(LINE_KEY), on=list(LINE_KEY), how="anti", nulls_equal=True
        )
        matched = pl.concat(
            [_matched(replaced, part.owned(again.lines)), _unchanged(kept)], how="vertical_relaxed"
        )
        settled_again = subset.lazy().select("ticket_id")
        unpriced = pl.concat(
            [
                live_side.unpriced.lazy().join(settled_again, on="ticket_id", how="anti"),
                again.unpriced.join(settled_again, on="ticket_id", how="semi"),
            ]
        )
    compared = _with_attributes(tickets, matched).cache()
    summaries = _summaries(compared)
    frames = pl.collect_all([compared, ladder_crossings(compared), unpriced, *summaries.values()])
    lines, crossings, unpriced_frame, *grouped = frames
    return Preview(
        lines=lines,
        by=dict(zip(summaries, grouped, strict=True)),
        ladder_crossings=crossings,
        unpriced=unpriced_frame,
        live_cents=int(lines["live_cents"].sum()),
        draft_cents=int(lines["draft_cents"].sum()),
    )
