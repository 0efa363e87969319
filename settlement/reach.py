"""Where a draft rule set can change a settlement: the tickets and payee months to settle again.

A preview compares the draft's lines with the live ones. Most drafts touch a few settings (one
item's price in one tier, a city's coefficient), and most lines cannot move: settling only what
the differences reach, against the live lines kept from before, gives the same preview at a
fraction of the cost. What may change, and through what:

- a ticket-level setting (prices, tiers, coefficients, surcharges, subsidies, discounts) changes
  the labour of the tickets it applies to, so their technician's month (the ladder ranks a month
  by count or by earnings) and a rework's chargeback; whether a ticket is priced at all also
  decides whether it has partner lines and which ticket is first for its order;
- a ladder, mode or deduction of a payee type changes that type's lines in every month it is in
  force;
- anything else (rework and refund policies, currencies, the list of tiers) is settled in full.

``reach`` answers with the directly touched tickets and which line families they move; the
preview closes that over months, reworks and orders (``closure``) and keeps from the draft's run
only the lines of groups it settled whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from settlement.diff import differences
from settlement.engine import PARTNER_TYPES
from settlement.rules import RuleSet, to_document
from settlement.timeline import Timeline

TECHNICIAN, PARTNER = "technician", "partner"
# A setting's path (as settlement.diff flattens it) → the tickets it applies to.
TICKET_FLAGS = {
    "surcharges.urgent_bp": pl.col("is_urgent"),
    "surcharges.night_cents": pl.col("is_night"),
    "surcharges.high_altitude_cents": pl.col("is_high_altitude"),
    "subsidies.plateau_cents": pl.col("is_plateau"),
    "subsidies.township_cents": pl.col("is_township"),
    "subsidies.remote_guidance_hourly_cents": pl.col("remote_guidance_minutes") > 0,
}
EVERYTHING = pl.lit(True)


@dataclass(frozen=True)
class Reach:
    """Tickets a draft touches directly, by the families of lines they move."""

    technician: pl.Expr  # their technician lines (and chargebacks) may move
    partner: pl.Expr  # their partner lines (ticket and monthly) may move
    # Every ticket keeps its technician ladder rate: the draft changes labour only (no ticket
    # becomes priced or unpriced) under the same count ladders, which rank a month by how many
    # tickets it has, not by what they earn. Then a touched ticket settles alone, at its live
    # rate, instead of with its whole month.
    rates_hold: bool = False


# Settings that change a ticket's labour and nothing else.
_LABOUR = ("item_prices", "part_prices", "region_coefficients", "member_discounts_bp")


def _labour_only(path: str, before: str, after: str) -> bool:
    if "—" in (before, after):  # a price that appears or disappears prices a ticket or not
        return False
    return path.split(".")[0] in _LABOUR or path in TICKET_FLAGS


def _counts_tickets(before: RuleSet, after: RuleSet) -> bool:
    """The same technician ladder on both sides, and one that counts tickets (or none)."""
    ladder = before.ladders.get("technician")
    return ladder == after.ladders.get("technician") and _by_count(before)


def _by_count(rules: RuleSet) -> bool:
    ladder = rules.ladders.get("technician")
    return ladder is None or ladder.basis == "count"


def _has_part(part: str) -> pl.Expr:
    codes = pl.col("parts").list.eval(pl.element().struct.field("part_code") == part)
    return codes.list.any().fill_null(False)


def _setting(path: str, before: str, after: str) -> tuple[pl.Expr, set[str]] | None:
    """(tickets, families) one changed setting reaches; None when it may reach anything."""
    key = path.split(".")
    # A price or tier that appears or disappears decides whether a ticket is priced at all.
    pricing = {TECHNICIAN, PARTNER} if "—" in (before, after) else {TECHNICIAN}
    if key[0] == "item_prices" and len(key) == 3:
        return pl.col("item_code") == key[1], pricing
    if key[0] == "part_prices" and len(key) == 3:
        return _has_part(key[1]), pricing
    if key[0] == "tier_map" and len(key) == 2:
        return pl.col("city_tier") == key[1], {TECHNICIAN, PARTNER}
    if key[0] == "city_price_tiers" and len(key) == 2:
        return pl.col("city_code") == key[1], {TECHNICIAN, PARTNER}
    if key[:2] == ["region_coefficients", "cities"] and len(key) == 3:
        return pl.col("city_code") == key[2], {TECHNICIAN}
    if key[:2] == ["region_coefficients", "provinces"] and len(key) == 3:
        return pl.col("province_code") == key[2], {TECHNICIAN}
    if path in TICKET_FLAGS:
        return TICKET_FLAGS[path], {TECHNICIAN}
    if key[0] == "member_discounts_bp" and len(key) == 2:
        return pl.col("member_level") == key[1], {TECHNICIAN}
    if key[0] in ("ladders", "deductions") and len(key) >= 2:
        if key[1] == TECHNICIAN:
            return EVERYTHING, {TECHNICIAN}
        if key[1] in PARTNER_TYPES:
            return pl.col("partner_type") == key[1], {PARTNER}
    if key[0] == "partner_modes" and len(key) >= 2 and key[1] in PARTNER_TYPES:
        return pl.col("partner_type") == key[1], {PARTNER}
    if key[0] == "partner_overrides" and len(key) >= 2:
        return pl.col("partner_id") == key[1], {PARTNER}
    return None


def _between(start: date | None, end: date | None) -> pl.Expr:
    """Tickets completed in [start, end), and those of the months the span touches: a month's
    ladder and partner terms follow the versions of its days and of its last day."""
    month = pl.col("completed_date").dt.truncate("1mo")
    after = EVERYTHING if start is None else month >= pl.lit(start).dt.truncate("1mo")
    before = EVERYTHING if end is None else month <= pl.lit(end).dt.truncate("1mo")
    return after & before


def reach(live: Timeline, draft: Timeline) -> Reach | None:
    """What publishing ``draft`` (a timeline) instead of ``live`` reaches; None for everything."""
    starts = sorted(
        {d for d in [*live.starts(), *draft.starts()] if d is not None}
    )  # every day a version of either side begins
    spans: list[tuple[date | None, date | None]] = list(
        zip([None, *starts], [*starts, None], strict=True)
    )
    technician: pl.Expr = pl.lit(False)
    partner: pl.Expr = pl.lit(False)
    # A month ranks every ticket of it, whichever version prices it: an earnings ladder of any
    # version (even one the draft leaves alone) sees labour moved in another.
    rates_hold = all(_by_count(v) for v in (*live.versions, *draft.versions))
    for start, end in spans:
        day = start or date.min
        before, after = live.version_on(day), draft.version_on(day)
        if before == after:
            continue
        changes = _changes(before, after)
        if changes is None:
            return None
        rates_hold = rates_hold and _counts_tickets(before, after)
        when = _between(start, end)
        for tickets, families, labour_only in changes:
            rates_hold = rates_hold and labour_only
            if TECHNICIAN in families:
                technician = technician | (when & tickets)
            if PARTNER in families:
                partner = partner | (when & tickets)
    return Reach(technician, partner, rates_hold)


def _changes(before: RuleSet, after: RuleSet) -> list[tuple[pl.Expr, set[str], bool]] | None:
    rows = differences(to_document(before), to_document(after))
    found = []
    for row in rows:
        if row["setting"] == "effective_date":
            continue
        setting = _setting(row["setting"], row["before"], row["after"])
        if setting is None:
            return None
        found.append((*setting, _labour_only(row["setting"], row["before"], row["after"])))
    return found


@dataclass(frozen=True)
class Closure:
    """What to settle again (``tickets``: whole groups and their context) and which lines of
    that run replace the live ones (``owned``: a predicate over lines)."""

    tickets: pl.LazyFrame
    owned: Callable[[pl.LazyFrame], pl.LazyFrame]
    size: int  # how many tickets are settled again
    rates_given: bool = False  # settle them at their live ladder rates (``Reach.rates_hold``)
    # Found by rows (``closure_by_rows``): the rows of ``tickets`` in the history's ``Keys``, and
    # the rows whose technician lines (and chargebacks) are owned.
    rows: pl.Series | None = None
    owned_rows: pl.Series | None = None


@dataclass(frozen=True)
class Keys:
    """A history's tickets and what a closure follows between them, as row positions found once
    (a live side keeps them for every preview of the same history): the row of the ticket a
    rework names and an integer per order. A closure is then a few gathers over integers
    instead of joins on text ids."""

    tickets: pl.DataFrame  # the history, in its order
    original: pl.Series  # row of the ticket ``rework_of`` names; null outside the history
    order: pl.Series  # (order_platform, order_id) as an integer; null without either

    @classmethod
    def of(cls, tickets: pl.DataFrame) -> Keys | None:
        """None when a ticket id is missing or repeats: a row would then be no one ticket."""
        ids = tickets["ticket_id"]
        if ids.null_count() or ids.n_unique() != tickets.height:
            return None
        rows = tickets.select("ticket_id", "rework_of", "order_platform", "order_id")
        originals = rows.select(rework_of="ticket_id").with_row_index("original")
        orders = (
            rows.select("order_platform", "order_id").drop_nulls().unique().with_row_index("order")
        )
        keyed = rows.join(originals, on="rework_of", how="left", maintain_order="left").join(
            orders, on=["order_platform", "order_id"], how="left", maintain_order="left"
        )
        return cls(tickets, keyed["original"], keyed["order"])


def closure(tickets: pl.LazyFrame, reached: Reach) -> Closure:
    """The technician months and partner months the reached tickets belong to, with what their
    lines are computed from: the originals of their reworks and every ticket of their orders.
    When every ladder rate holds, a touched ticket's technician lines are its own: its month is
    not settled again."""
    # The keys only, materialised once: every step below joins on them.
    marked = (
        tickets.select(
            "ticket_id", "rework_of", "technician_id", "partner_id", "order_platform", "order_id",
            period=pl.col("completed_date").dt.strftime("%Y-%m"),
            _tech=reached.technician.fill_null(False),
            _part=reached.partner.fill_null(False),
        )
        .collect()
        .lazy()
    )  # fmt: skip
    # A ticket whose labour moves moves its rework's chargeback too, and the other way round.
    moved = marked.filter("_tech").select("ticket_id", "rework_of")
    linked = pl.concat(
        [
            moved.select("ticket_id"),
            moved.select(ticket_id="rework_of").drop_nulls(),
            marked.join(moved.select(rework_of="ticket_id"), on="rework_of", how="semi").select(
                "ticket_id"
            ),
        ]
    ).unique()
    # Which ticket is first for an order decides partner lines: an order's tickets move together.
    orders = marked.filter("_part").select("order_platform", "order_id").drop_nulls().unique()
    # ... and a ticket priced or not decides whether its reworks are reworks.
    priced_or_not = marked.filter("_part").select(rework_of="ticket_id")
    partnered = pl.concat(
        [
            marked.filter("_part").select("ticket_id"),
            marked.join(orders, on=["order_platform", "order_id"], how="semi").select("ticket_id"),
            marked.join(priced_or_not, on="rework_of", how="semi").select("ticket_id"),
        ]
    ).unique()
    tech_months = (
        marked.join(linked, on="ticket_id", how="semi")
        .select("technician_id", "period")
        .drop_nulls()
        .unique()
    )
    partner_months = (
        marked.join(partnered, on="ticket_id", how="semi")
        .select("partner_id", "period")
        .drop_nulls()
        .unique()
    )
    technician_part = (
        marked.join(linked, on="ticket_id", how="semi")
        if reached.rates_hold
        else marked.join(tech_months, on=["technician_id", "period"], how="semi")
    )
    whole = pl.concat(
        [technician_part, marked.join(partner_months, on=["partner_id", "period"], how="semi")]
    ).unique("ticket_id")
    context = pl.concat(
        [
            # the originals of their reworks, and every ticket sharing one of their orders
            marked.join(
                whole.select(ticket_id="rework_of").drop_nulls(), on="ticket_id", how="semi"
            ),
            marked.join(
                whole.select("order_platform", "order_id").drop_nulls().unique(),
                on=["order_platform", "order_id"],
                how="semi",
            ),
        ]
    )
    # No explicit caches: the preview collects everything at once and Polars shares the
    # common plans itself (an explicit cache no consumer reads trips its optimiser).
    chosen_ids = pl.concat([whole, context]).select("ticket_id").unique().collect()
    # A run's input in one order, whatever the plans above did.
    chosen = tickets.join(chosen_ids.lazy(), on="ticket_id", how="semi").sort("ticket_id")
    # Lines name their payee as text; the inputs encode ids as categories.
    tech_keys = tech_months.select(
        payee_id=pl.col("technician_id").cast(pl.String), period="period"
    )
    partner_keys = partner_months.select(
        payee_id=pl.col("partner_id").cast(pl.String), period="period"
    )
    reworked = linked

    def owned(lines: pl.LazyFrame) -> pl.LazyFrame:
        """The lines of the groups settled whole: technician ticket lines of those months,
        chargebacks of the moved reworks, partner lines of those months."""
        own = lines.filter(
            (pl.col("payee_type") == TECHNICIAN) & (pl.col("line_kind") != "chargeback")
        )
        technician = (
            own.join(reworked, on="ticket_id", how="semi")
            if reached.rates_hold
            else own.join(tech_keys, on=["payee_id", "period"], how="semi")
        )
        chargebacks = lines.filter(pl.col("line_kind") == "chargeback").join(
            reworked, on="ticket_id", how="semi"
        )
        partners = lines.filter(pl.col("payee_type") != TECHNICIAN).join(
            partner_keys, on=["payee_id", "period"], how="semi"
        )
        return pl.concat([technician, chargebacks, partners], how="vertical")

    return Closure(chosen, owned, chosen_ids.height, reached.rates_hold)


def closure_by_rows(keys: Keys, reached: Reach) -> Closure | None:
    """``closure`` of a draft whose ladder rates hold and whose differences reach no partner
    lines, followed by rows (``Keys``); None for any other (``closure`` takes it). The same
    tickets, in the history's order, and the same owned lines."""
    if not reached.rates_hold:
        return None
    # Beside the columns, so that a literal (nothing reached, or everything) is one per row.
    marks = keys.tickets.with_columns(
        moved=reached.technician.fill_null(False), partnered=reached.partner.fill_null(False)
    ).select("moved", "partnered")
    if marks["partnered"].any():
        return None
    moved = marks["moved"]
    original = keys.original
    # A moved ticket, the original it reworks, and the reworks of a moved one.
    linked = pl.select(
        pl.lit(moved) | pl.lit(moved).gather(pl.lit(original)).fill_null(False)
    ).to_series()
    linked.scatter(original.filter(moved).drop_nulls(), True)
    # The originals of their reworks, and every ticket sharing one of their orders.
    orders = keys.order.filter(linked).drop_nulls().unique()
    chosen = linked | keys.order.is_in(orders.implode()).fill_null(False)
    chosen.scatter(original.filter(linked).drop_nulls(), True)
    rows = chosen.arg_true()
    owned_rows = linked.arg_true()
    reworked = keys.tickets.select(pl.col("ticket_id").filter(linked)).lazy()

    def owned(lines: pl.LazyFrame) -> pl.LazyFrame:
        """The technician lines and chargebacks of the linked tickets (no partner month moves)."""
        return lines.filter(
            (pl.col("payee_type") == TECHNICIAN) | (pl.col("line_kind") == "chargeback")
        ).join(reworked, on="ticket_id", how="semi")

    # A filter, not a gather by ``rows``: gathering the parts lists costs four times as much.
    chosen_tickets = keys.tickets.filter(chosen).lazy()
    return Closure(chosen_tickets, owned, rows.len(), True, rows, owned_rows)
