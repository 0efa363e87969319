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
from settlement.reach import Closure, Keys, closure, closure_by_rows, reach
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
    lines: pl.DataFrame  # the lines the draft moves: LINE_KEY, live/draft/delta, attributes
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


ATTRIBUTES = ("region_group", "province_code", "item_code")  # a ticket's, beside its lines


def _with_attributes(tickets: pl.LazyFrame, matched: pl.LazyFrame) -> pl.LazyFrame:
    # As text, like the lines: the inputs hold these codes as categories.
    attributes = tickets.select("ticket_id", *(pl.col(c).cast(pl.String) for c in ATTRIBUTES))
    return matched.with_columns(
        delta_cents=pl.col("draft_cents") - pl.col("live_cents"),
        # A chargeback carries no price tier of its own: it counts under its ticket's.
        price_tier=pl.col("price_tier").fill_null(
            pl.col("price_tier").drop_nulls().first().over("ticket_id")
        ),
    ).join(attributes, on="ticket_id", how="left")


def _summaries(compared: pl.LazyFrame) -> dict[str, pl.LazyFrame]:
    """Per dimension: live, draft and delta cents, lines, tickets changed (``Preview.by``)."""
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
    """The live rules' settlement of the same history, kept from before (collected), and its
    summaries as if nothing changed (``LiveSide.of`` computes them once for every preview)."""

    lines: pl.DataFrame
    unpriced: pl.DataFrame
    summaries: dict[str, pl.DataFrame] | None = None
    rates: pl.DataFrame | None = None  # ticket → technician ladder rate (``_live_rates``)
    rows: Rows | None = None  # the history and its lines by row (``Rows``)

    @classmethod
    def of(cls, tickets: pl.LazyFrame, lines: pl.DataFrame, unpriced: pl.DataFrame) -> LiveSide:
        summaries = _unchanged_summaries(tickets, lines.lazy())
        keys = Keys.of(tickets.collect())
        rows = Rows.of(keys, lines) if keys is not None else None
        if rows is not None:
            lines = rows.lines  # the same lines, each ticket's together
        return cls(lines, unpriced, summaries, _live_rates(lines), rows)


@dataclass(frozen=True)
class Rows:
    """The history's keys (``reach.Keys``) and the live lines grouped by ticket row: the lines
    of chosen tickets are a gather of their ranges, their live rates a gather too."""

    keys: Keys
    lines: pl.DataFrame  # the live lines in ticket row order; those of no ticket last
    line_rows: pl.Series  # each line's ticket row
    start: pl.Series  # per ticket row: where its lines start in ``lines``
    count: pl.Series  # ... and how many there are
    rates: pl.Series  # per ticket row: its live technician ladder rate (``GIVEN_RATE``)

    @classmethod
    def of(cls, keys: Keys, lines: pl.DataFrame) -> Rows | None:
        """None when a ticket has more than one technician ticket line (no one rate)."""
        ids = keys.tickets.select("ticket_id").with_row_index("row")
        rowed = lines.join(ids, on="ticket_id", how="left", maintain_order="left")
        order = rowed["row"].arg_sort(nulls_last=True)
        rowed = rowed[order]
        line_rows = rowed["row"]
        count = (
            ids.select("row")
            .join(line_rows.value_counts(name="count").drop_nulls(), on="row", how="left")
            .sort("row")["count"]
            .fill_null(0)
            .cast(pl.Int64)
        )
        start = count.cum_sum() - count
        rated = rowed.filter(
            (pl.col("payee_type") == "technician") & (pl.col("line_kind") == "ticket")
        ).select("row", "ladder_rate_bp")
        if rated["row"].is_duplicated().any():
            return None
        rates = (
            ids.select("row")
            .join(rated, on="row", how="left")
            .sort("row")["ladder_rate_bp"]
            .alias(GIVEN_RATE)
        )
        return cls(keys, rowed.drop("row"), line_rows, start, count, rates)

    def lines_of(self, rows: pl.Series) -> tuple[pl.DataFrame, pl.Series]:
        """The live lines of those ticket rows, and each one's row."""
        ranges = pl.DataFrame({"start": self.start.gather(rows), "count": self.count.gather(rows)})
        at = ranges.filter(pl.col("count") > 0).select(
            pl.int_ranges("start", pl.col("start") + pl.col("count"), dtype=pl.Int64).explode()
        )["start"]
        return self.lines[at], self.line_rows.gather(at)


def _unchanged_summaries(tickets: pl.LazyFrame, lines: pl.LazyFrame) -> dict[str, pl.DataFrame]:
    frames = pl.collect_all(_summaries(_with_attributes(tickets, _unchanged(lines))).values())
    return dict(zip(DIMENSIONS, frames, strict=True))


def _combined(
    everything: dict[str, pl.DataFrame],
    replaced: dict[str, pl.DataFrame],
    compared: dict[str, pl.DataFrame],
) -> dict[str, pl.DataFrame]:
    """Every line's summaries from the live side's (``everything``, nothing changed): those of
    the tickets settled again taken out as they were (``replaced``) and put back compared."""
    sums = ("live_cents", "draft_cents", "delta_cents", "lines", "tickets_changed")
    combined = {}
    for name, columns in DIMENSIONS.items():
        signed = [
            frame.select(*columns, *(pl.col(c).cast(pl.Int64) * sign for c in sums))
            for frame, sign in ((everything[name], 1), (replaced[name], -1), (compared[name], 1))
        ]
        dtypes = everything[name].schema
        combined[name] = (
            pl.concat(signed)
            .group_by(columns)
            .agg(pl.col(c).sum() for c in sums)
            .filter(pl.col("lines") > 0)
            .select(pl.col(c).cast(dtypes[c]) for c in dtypes)
            .sort("delta_cents", descending=True)
        )
    return combined


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
    line stands for the draft's too. The result is the same as settling everything. A live side
    from ``LiveSide.of`` keeps the history it was computed from: it must be ``tickets``."""
    tickets = tickets.cache()
    reached = reach(as_timeline(live), as_timeline(draft)) if live_side is not None else None
    rows = live_side.rows if live_side is not None else None
    part = None
    if reached is not None:
        part = closure_by_rows(rows.keys, reached) if rows is not None else None
        part = part or closure(tickets, reached)
    if part is not None:
        by_rows = rows is not None and part.rows is not None
        height = rows.keys.tickets.height if rows is not None and by_rows else None
        if part.size > WORTH_IT * (height or tickets.select(pl.len()).collect().item()):
            part = None  # settling most of it again, and merging, costs more than settling all
    if live_side is None or part is None:
        return _settled_in_full(tickets, orders, live, draft, live_side)
    if rows is not None and part.rows is not None:
        return _reached_by_rows(orders, draft, live_side, rows, part)
    return _reached(tickets, orders, draft, live_side, part)


def _settled_in_full(
    tickets: pl.LazyFrame,
    orders: pl.LazyFrame,
    live: RuleSet | Timeline,
    draft: RuleSet | Timeline,
    live_side: LiveSide | None,
) -> Preview:
    draft_result = settle(tickets, orders, draft)
    live_lines = live_side.lines.lazy() if live_side else settle(tickets, orders, live).lines
    compared = _with_attributes(tickets, _matched(live_lines, draft_result.lines)).cache()
    frames = pl.collect_all(
        [compared, ladder_crossings(compared), draft_result.unpriced,
         *_summaries(compared).values()]
    )  # fmt: skip
    lines, crossings, unpriced, *grouped = frames
    return Preview(
        lines=lines.filter(pl.col("delta_cents") != 0),
        by=dict(zip(DIMENSIONS, grouped, strict=True)),
        ladder_crossings=crossings,
        unpriced=unpriced,
        live_cents=int(lines["live_cents"].sum()),
        draft_cents=int(lines["draft_cents"].sum()),
    )


def _served(orders: pl.LazyFrame, tickets: pl.DataFrame) -> pl.LazyFrame:
    """The orders those tickets serve: the engine reads an order only through its tickets."""
    keys = tickets.select(platform="order_platform", order_id="order_id").drop_nulls().unique()
    return orders.join(keys.lazy(), on=["platform", "order_id"], how="semi")


def _reached(
    tickets: pl.LazyFrame,
    orders: pl.LazyFrame,
    draft: RuleSet | Timeline,
    live_side: LiveSide,
    part: Closure,
) -> Preview:
    """Only the tickets with a line settled again are compared; every other ticket's lines
    stand for the draft's too, and count in the summaries through the live side's."""
    subset = part.tickets.collect()  # one order: the engine reads its input more than once
    if part.rates_given:
        rates = live_side.rates if live_side.rates is not None else _live_rates(live_side.lines)
        subset = subset.join(rates, on="ticket_id", how="left")
    again = settle(subset.lazy(), _served(orders, subset), draft, rates_given=part.rates_given)
    again_lines, again_unpriced = pl.collect_all([again.lines, again.unpriced])
    live_lines = live_side.lines.lazy()
    replaced = part.owned(live_lines).collect()
    drafted = part.owned(again_lines.lazy()).collect()
    touched = pl.concat([replaced.select("ticket_id"), drafted.select("ticket_id")]).unique()
    theirs = live_lines.join(touched.lazy(), on="ticket_id", how="semi", nulls_equal=True)
    kept = theirs.join(
        replaced.lazy().select(LINE_KEY), on=list(LINE_KEY), how="anti", nulls_equal=True
    )
    # Attributes of the touched tickets only: the lines compared are theirs.
    theirs_tickets = tickets.join(touched.lazy(), on="ticket_id", how="semi")
    return _merged(
        tickets, live_side, subset, again_unpriced, replaced, drafted, theirs, kept,
        theirs_tickets,
    )  # fmt: skip


def _reached_by_rows(
    orders: pl.LazyFrame, draft: RuleSet | Timeline, live_side: LiveSide, rows: Rows, part: Closure
) -> Preview:
    """``_reached`` with the closure found by rows (``reach.closure_by_rows``): the tickets
    settled again, their live rates and their live lines are gathers, not joins on text ids."""
    assert part.rows is not None and part.owned_rows is not None
    subset = part.tickets.collect().with_columns(rows.rates.gather(part.rows))
    again = settle(subset.lazy(), _served(orders, subset), draft, rates_given=True)
    again_lines, again_unpriced = pl.collect_all([again.lines, again.unpriced])
    # Every live line of the tickets whose lines are owned; the owned ones among them.
    lines, line_rows = rows.lines_of(part.owned_rows)
    own = ((pl.col("payee_type") == "technician") | (pl.col("line_kind") == "chargeback")).alias(
        "own"
    )
    mine = lines.select(own)["own"]
    replaced = lines.filter(mine)
    drafted = part.owned(again_lines.lazy()).collect()
    settled_rows = pl.DataFrame({"ticket_id": subset["ticket_id"], "row": part.rows})
    drafted_rows = drafted.select("ticket_id").unique().join(settled_rows, on="ticket_id")["row"]
    touched = pl.concat([line_rows.filter(mine), drafted_rows]).unique()
    # A touched ticket's live lines: those owned (replaced) and the others (kept).
    theirs_mask = line_rows.is_in(touched.implode())
    theirs = lines.filter(theirs_mask)
    kept = lines.filter(theirs_mask & ~mine)
    theirs_tickets = rows.keys.tickets.select("ticket_id", *ATTRIBUTES)[touched.sort()]
    return _merged(
        rows.keys.tickets.lazy(), live_side, subset, again_unpriced, replaced, drafted,
        theirs.lazy(), kept.lazy(), theirs_tickets.lazy(),
    )  # fmt: skip


def _merged(
    tickets: pl.LazyFrame,
    live_side: LiveSide,
    subset: pl.DataFrame,
    again_unpriced: pl.DataFrame,
    replaced: pl.DataFrame,
    drafted: pl.DataFrame,
    theirs: pl.LazyFrame,
    kept: pl.LazyFrame,
    theirs_tickets: pl.LazyFrame,
) -> Preview:
    """The preview from the lines settled again: ``replaced`` live lines and the ``drafted``
    ones for them, ``theirs`` every live line of the tickets they touch and ``kept`` those of
    them that stand."""
    matched = pl.concat(
        [_matched(replaced.lazy(), drafted.lazy()), _unchanged(kept)], how="vertical_relaxed"
    )
    compared = _with_attributes(theirs_tickets, matched).cache()
    settled_again = subset.select("ticket_id")
    unpriced = pl.concat(
        [
            live_side.unpriced.join(settled_again, on="ticket_id", how="anti"),
            again_unpriced.join(settled_again, on="ticket_id", how="semi"),
        ]
    ).lazy()
    was = _summaries(_with_attributes(theirs_tickets, _unchanged(theirs)))
    now = _summaries(compared)
    frames = pl.collect_all(
        [compared, ladder_crossings(compared), unpriced, *was.values(), *now.values()]
    )
    lines, crossings, unpriced_frame, *grouped = frames
    width = len(DIMENSIONS)
    everything = live_side.summaries or _unchanged_summaries(tickets, live_side.lines.lazy())
    by = _combined(
        everything,
        dict(zip(DIMENSIONS, grouped[:width], strict=True)),
        dict(zip(DIMENSIONS, grouped[width:], strict=True)),
    )
    live_cents = int(live_side.lines["amount_cents"].sum())
    return Preview(
        lines=lines.filter(pl.col("delta_cents") != 0),
        by=by,
        ladder_crossings=crossings,
        unpriced=unpriced_frame,
        live_cents=live_cents,
        draft_cents=live_cents + int(lines["delta_cents"].sum()),
    )
