"""Settle tickets: LazyFrames in, settlement lines and unpriced tickets out (docs/settlement.md).

Pure Polars: the caller collects once. Every component is integer cents, rounded once by
``settlement.money``; a line's breakdown columns add up to its ``amount_cents`` by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import get_args

import polars as pl

from settlement import lookups
from settlement.frames import (
    BREAKDOWN,
    CODE,
    LINES,
    LINKED,
    ORDERS_IN,
    PARTS,
    TICKETS_IN,
    UNPRICED,
)
from settlement.money import BP, div_round, pct, scale_round
from settlement.rules import Deductions, PayeeType, Platform, RegionGroup, RuleSet
from settlement.timeline import VERSION_INDEX, Timeline, as_timeline

POSITION_ORDER = ["completed_at", "ticket_id"]
PARTNER_TYPES: tuple[PayeeType, ...] = ("direct", "dealer", "agent")
PAYEE_TYPES: tuple[PayeeType, ...] = ("technician", *PARTNER_TYPES)
PLATFORMS: tuple[str, ...] = get_args(Platform)
REGION_GROUPS: tuple[str, ...] = get_args(RegionGroup)
MONTH = "period"  # what a monthly ladder groups on


def by_version(
    timeline: Timeline, build: Callable[[RuleSet], pl.Expr], index: str = VERSION_INDEX
) -> pl.Expr:
    """``build(rules)`` of the version that prices each row (``index`` names it)."""
    versions = timeline.versions
    value = build(versions[0])
    for position, rules in enumerate(versions[1:], start=1):
        value = pl.when(pl.col(index) == position).then(build(rules)).otherwise(value)
    return value


def parameter(
    timeline: Timeline, value: Callable[[RuleSet], object], index: str = VERSION_INDEX
) -> pl.Expr:
    """One scalar rule parameter per row: a literal when every version agrees."""
    values = [value(rules) for rules in timeline.versions]
    if all(v == values[0] for v in values):
        return pl.lit(values[0])
    return pl.lit(pl.Series(values)).gather(pl.col(index))


def attach(wide: pl.LazyFrame, on: list[str], right: pl.LazyFrame) -> pl.LazyFrame:
    """``wide`` left-joined to ``right`` (unique on ``on``) without gathering ``wide``'s columns:
    only the key columns go through the join, and the result is placed beside ``wide``."""
    found = wide.select(on).join(right, on=on, how="left", maintain_order="left").drop(on)
    return pl.concat([wide, found], how="horizontal")


@dataclass(frozen=True)
class Settlement:
    lines: pl.LazyFrame  # frames.LINES
    unpriced: pl.LazyFrame  # frames.UNPRICED


def priced_tickets(tickets: pl.LazyFrame, timeline: Timeline) -> pl.LazyFrame:
    """Tickets with ``row``, ``period``, ``version_index`` (the version pricing them),
    ``tier`` (a position in ``lookups.price_tiers``), ``item_price_cents``, ``parts_cents``,
    ``coef_bp`` and ``is_priced``
    (``unpriced_tickets`` says why not). Lookups are hash replacements and the parts sum is an
    explode/aggregate on a narrow frame: no wide joins."""
    with_tier = (
        tickets.with_row_index("row")
        .with_columns(
            # A code, not text, while the tickets are held (``_finish`` writes the lines' text):
            # ladders group on it as on an integer.
            period=pl.col("completed_date").dt.strftime("%Y-%m").cast(CODE),
            version_index=timeline.index_expr(pl.col("completed_date")),
        )
        .with_columns(tier=lookups.price_tier(timeline))
    )
    parts = (
        with_tier.select("row", "tier", VERSION_INDEX, "parts")
        .explode("parts", keep_nulls=False, empty_as_null=False)
        .unnest("parts")
        .with_columns(
            price_cents=lookups.per_tier(
                timeline, "part_code", lambda rules: rules.part_prices, pl.col("tier")
            )
        )
        .group_by("row")
        .agg(
            parts_cents=(pl.col("price_cents") * pl.col("quantity")).sum().cast(pl.Int64),
            missing_part=pl.col("part_code").filter(pl.col("price_cents").is_null()).first(),
        )
    )
    return (
        with_tier.drop("parts")
        .with_columns(
            # Held as 32 bits (rules.MAX_PRICE_CENTS, MAX_BP); computed on as 64.
            item_price_cents=lookups.per_tier(
                timeline, "item_code", lambda rules: rules.item_prices, pl.col("tier")
            ).cast(pl.Int32),
            coef_bp=lookups.coefficient_bp(timeline).cast(pl.Int32),
        )
        .pipe(attach, ["row"], parts)
        .with_columns(
            parts_cents=pl.col("parts_cents").fill_null(0),
            # A flag, not the reason's text: ten million null strings would be held for nothing.
            is_priced=pl.col("item_price_cents").is_not_null() & pl.col("missing_part").is_null(),
        )
    )


def _price_tier(timeline: Timeline) -> pl.Expr:
    return lookups.tier_name(timeline, pl.col("tier")).alias("price_tier")


def _unpriced_reason(timeline: Timeline) -> pl.Expr:
    # A city no tier maps still gets a reason.
    tier_text = _price_tier(timeline).cast(pl.String).fill_null("None")
    return (
        pl.when(pl.col("item_price_cents").is_null())
        .then(pl.format("no price for item {} in tier {}", "item_code", tier_text))
        .otherwise(pl.format("no price for part {} in tier {}", "missing_part", tier_text))
    )


def ticket_components(priced: pl.LazyFrame, timeline: Timeline) -> pl.LazyFrame:
    """The pre-ladder components of every priced ticket, and its ``labour``."""

    def amount(value: Callable[[RuleSet], int]) -> pl.Expr:
        return parameter(timeline, value).cast(pl.Int64)

    base = pl.col("item_price_cents").cast(pl.Int64) * pl.col("quantity")
    return (
        priced.with_columns(
            base_cents=base.cast(pl.Int64),
            discount_bp=lookups.member_discount_bp(timeline),
        )
        .with_columns(
            coefficient_cents=pct(pl.col("base_cents"), pl.col("coef_bp").cast(pl.Int64) - BP),
            urgent_cents=pl.when("is_urgent")
            .then(pct(pl.col("base_cents"), amount(lambda r: r.surcharges.urgent_bp)))
            .otherwise(0),
            night_cents=pl.when("is_night")
            .then(amount(lambda r: r.surcharges.night_cents))
            .otherwise(0),
            high_altitude_cents=pl.when("is_high_altitude")
            .then(amount(lambda r: r.surcharges.high_altitude_cents))
            .otherwise(0),
            plateau_cents=pl.when("is_plateau")
            .then(amount(lambda r: r.subsidies.plateau_cents))
            .otherwise(0),
            township_cents=pl.when("is_township")
            .then(amount(lambda r: r.subsidies.township_cents))
            .otherwise(0),
            remote_cents=div_round(
                pl.col("remote_guidance_minutes").cast(pl.Int64).fill_null(0)
                * amount(lambda r: r.subsidies.remote_guidance_hourly_cents),
                60,
            ),
            discount_cents=-pct(pl.col("base_cents"), pl.col("discount_bp")),
        )
        .with_columns(
            pl.col(name).cast(pl.Int64)
            for name in ("night_cents", "high_altitude_cents", "plateau_cents", "township_cents")
        )
        .with_columns(
            labour=pl.sum_horizontal(
                "base_cents",
                "coefficient_cents",
                "urgent_cents",
                "night_cents",
                "high_altitude_cents",
                "plateau_cents",
                "township_cents",
                "remote_cents",
                "discount_cents",
            )
        )
    )


def rework_candidates(priced: pl.LazyFrame) -> pl.LazyFrame:
    """(row, original_completed_at, original_technician_id) of every priced ticket whose
    ``rework_of`` names a priced ticket: the cross-ticket join a rework needs (``LINKED``).
    Whether it is a rework under its version's policy is ``rework_original``'s to say."""
    originals = priced.select(
        rework_of="ticket_id",
        original_completed_at="completed_at",
        original_technician_id="technician_id",
    )
    return (
        priced.filter(pl.col("rework_of").is_not_null())
        .select("row", "rework_of")
        .join(originals, on="rework_of", how="inner")
        .select("row", "original_completed_at", "original_technician_id")
    )


def rework_original(timeline: Timeline) -> pl.Expr:
    """The original technician of a rework under the policy of the version pricing the rework
    (null when the ticket is no rework); needs ``rework_candidates``' columns beside it."""
    window = pl.duration(days=parameter(timeline, lambda r: r.rework.window_days))
    elapsed = pl.col("completed_at") - pl.col("original_completed_at")
    # A ticket cannot be its own original.
    is_rework = (
        pl.col("rework_of").is_not_null()
        & (pl.col("rework_of") != pl.col("ticket_id"))
        & (elapsed >= pl.duration())
        & (elapsed <= window)
    )
    return pl.when(is_rework).then(pl.col("original_technician_id"))


# What a ticket's labour is made of (``ticket_components``).
LABOUR_INPUTS = (
    "item_price_cents",
    "quantity",
    "coef_bp",
    "member_level",
    "is_urgent",
    "is_night",
    "is_high_altitude",
    "is_plateau",
    "is_township",
    "remote_guidance_minutes",
    VERSION_INDEX,
)


def with_ladder_measures(
    lines: pl.LazyFrame, source: pl.LazyFrame, group: list[str], earnings: bool
) -> pl.LazyFrame:
    """``lines`` with their ``ladder_measures``, computed over ``source``: the same rows,
    narrow (``group``, the position order, ``is_rework`` and, for an earnings ladder,
    ``labour``). The windows sort and hold only those columns: were they taken from ``lines``,
    the lines' whole frame would be held while they run."""
    measures = source.select(ladder_measures(group, "labour" if earnings else None))
    return pl.concat([lines, measures], how="horizontal")


def ladder_measures(group: list[str], labour: str | None) -> list[pl.Expr]:
    """Each line's place on its payee's monthly ladder, by count and, given ``labour``, by
    earnings, and the month's totals, among the group's non-rework lines (every version of the
    month counts)."""
    counted = ~pl.col("is_rework")
    measures = [
        counted.cast(pl.Int64).cum_sum().over(group, order_by=POSITION_ORDER).alias("_count"),
        counted.cast(pl.Int64).sum().over(group).alias("_month_count"),
    ]
    if labour is None:
        return measures
    earned = pl.when(counted).then(pl.col(labour)).otherwise(0)
    return [
        *measures,
        (earned.cum_sum().over(group, order_by=POSITION_ORDER) - earned).alias("_earned"),
        earned.sum().over(group).alias("_month_earned"),
    ]


def ladder_rate(timeline: Timeline, payee_type: PayeeType) -> pl.Expr:
    """The rate of the bracket each line reaches under its own version's ladder; reworks 10 000.
    Needs the ``ladder_measures`` columns."""

    def rate(rules: RuleSet) -> pl.Expr:
        ladder = rules.ladders.get(payee_type)
        if ladder is None:
            return pl.lit(BP, pl.Int64)
        month = ladder.mode == "retroactive"
        if ladder.basis == "earnings":
            measure = pl.col("_month_earned" if month else "_earned")
        else:
            measure = pl.col("_month_count" if month else "_count")
        return lookups.ladder_rate(ladder, measure)

    rates = by_version(timeline, rate)
    return pl.when(pl.col("is_rework")).then(pl.lit(BP, pl.Int64)).otherwise(rates)


def _needs_ladder(timeline: Timeline, payee_types: tuple[PayeeType, ...]) -> bool:
    return any(t in rules.ladders for rules in timeline.versions for t in payee_types)


def _needs_earnings(timeline: Timeline, payee_types: tuple[PayeeType, ...]) -> bool:
    return any(
        rules.ladders[t].basis == "earnings"
        for rules in timeline.versions
        for t in payee_types
        if t in rules.ladders
    )


TECHNICIAN_MONTH = ["technician_id", MONTH]  # the group a technician's ladder ranks


def technician_ladder_source(
    priced: pl.LazyFrame, links: pl.LazyFrame, timeline: Timeline
) -> pl.LazyFrame:
    """What the technicians' ladders rank, row by row beside ``priced`` and its resolved
    ``links``: the group, the position order, ``is_rework`` and, for earnings, ``labour``
    (recomputed from its inputs: cheaper than holding the components)."""
    columns = [*TECHNICIAN_MONTH, *POSITION_ORDER]
    if _needs_earnings(timeline, ("technician",)):
        narrow = ticket_components(priced.select(*columns, *LABOUR_INPUTS), timeline)
        narrow = narrow.select(*columns, "labour")
    else:
        narrow = priced.select(columns)
    return pl.concat([narrow, links.select("is_rework")], how="horizontal")


def ticket_links(priced: pl.LazyFrame, orders: pl.LazyFrame) -> pl.LazyFrame:
    """What the cross-ticket joins find for each priced ticket, row by row beside ``priced``
    (``frames.LINKED``): a rework's original, its order's amounts and refunded share, whether it
    is the order's first ticket. A distributed run computes the same columns with its own joins
    and hands them to ``settle_linked``."""
    # Only the tickets with a known order meet the orders (a quarter of them, typically), by
    # the order's text id; everything found is then placed beside ``priced`` by integer row,
    # sorted, which Polars joins without hashing.
    with_order = (
        priced.filter(pl.col("order_id").is_not_null())
        .select("row", "order_platform", "order_id", *POSITION_ORDER)
        .join(order_terms(orders), on=["order_platform", "order_id"], how="inner")
        .cache()
    )
    order_links = (
        with_order.drop("order_platform", "order_id", *POSITION_ORDER)
        .join(first_tickets_of_orders(with_order), on="row", how="left")
        .sort("row")
    )
    return (
        priced.select("row")
        .pipe(attach, ["row"], rework_candidates(priced).sort("row"))
        .pipe(attach, ["row"], order_links)
        .select(*LINKED)
    )


def resolved_links(found: pl.LazyFrame, timeline: Timeline) -> pl.LazyFrame:
    """The links as the lines use them: the original technician of a rework under its version's
    policy (``is_rework``), the order's terms; ``found`` holds ``LINKED`` and the ticket columns
    the policy reads."""
    return found.select(
        original_technician_id=rework_original(timeline),
        **{name: pl.col(name) for name in LINKED if not name.startswith("original_")},
    ).with_columns(is_rework=pl.col("original_technician_id").is_not_null())


def order_terms(orders: pl.LazyFrame) -> pl.LazyFrame:
    """order → (refunded share numerator, denominator): the part of what was paid given back;
    and where it was delivered (cross-province VAT on order amounts)."""
    # One row per order (the last wins, as in the reference); refunds count from 0 up to paid.
    orders = orders.unique(["platform", "order_id"], keep="last", maintain_order=True)
    return orders.select(
        order_platform="platform",
        order_id="order_id",
        paid_cents="paid_cents",
        order_province_code="province_code",
        claw_num=pl.when("is_forfeited")
        .then(pl.lit(1, pl.Int64))
        .when(pl.col("paid_cents") > 0)
        .then(pl.min_horizontal(pl.col("refunded_cents").clip(lower_bound=0), "paid_cents"))
        .otherwise(0),
        claw_den=pl.when("is_forfeited")
        .then(pl.lit(1, pl.Int64))
        .when(pl.col("paid_cents") > 0)
        .then(pl.col("paid_cents"))
        .otherwise(1),
    )


def _clawback(amount: pl.Expr, timeline: Timeline) -> pl.Expr:
    """The refunded share of ``amount``, negative, under each line's version's refund policy."""
    clawed = -div_round(amount * pl.col("claw_num").fill_null(0), pl.col("claw_den").fill_null(1))
    switched_on = parameter(timeline, lambda r: r.refunds.clawback)
    return pl.when(switched_on).then(clawed).otherwise(pl.lit(0, pl.Int64))


def with_deductions(
    lines: pl.LazyFrame, timeline: Timeline, payee_province: str, payee: pl.Expr | int
) -> pl.LazyFrame:
    """``fee_cents`` and ``tax_cents`` from ``before_fee`` under the deductions of each line's
    payee type (``payee``: its position in ``PAYEE_TYPES``): on the payout, or on the linked
    order's net paid amount; VAT when the payee's province differs from the place (the ticket's
    province, or the order's delivery province)."""
    kinds = len(PAYEE_TYPES)

    def per_payee_type(value: Callable[[Deductions], object], dtype: pl.DataType) -> pl.Expr:
        """``value`` of the deductions of each line's payee type, under its version."""
        return lookups.table(
            timeline, payee, kinds, lambda r, p: value(r.deductions_for(PAYEE_TYPES[p])), dtype
        )

    on_order = per_payee_type(lambda d: d.base == "order", pl.Boolean()).fill_null(False)
    vat_bp = per_payee_type(lambda d: d.cross_province_vat_bp, pl.Int64())
    width = len(PLATFORMS)
    fee_bp = lookups.table(
        timeline,
        lookups.positions("order_platform", PLATFORMS) + payee * width,
        kinds * width,
        lambda r, p: r.deductions_for(PAYEE_TYPES[p // width]).channel_fees_bp.get(
            PLATFORMS[p % width],  # type: ignore[call-overload]
            0,
        ),
        pl.Int64(),
    )
    # What is left of the order once its refunded share is taken back (as the clawback does).
    order_net = pl.col("paid_cents") + _clawback(pl.col("paid_cents"), timeline)
    place = (
        pl.when(pl.col("on_order"))
        .then(pl.col("order_province_code"))
        .otherwise(pl.col("province_code"))
    )
    crosses = pl.col(payee_province).is_not_null() & place.is_not_null()
    crosses = crosses & (pl.col(payee_province) != place)
    return (
        lines.with_columns(
            on_order=on_order,
            fee_bp=fee_bp.cast(pl.Int64).fill_null(0),
            vat_bp=vat_bp.cast(pl.Int64).fill_null(0),
        )
        .with_columns(
            fee_base=pl.when("on_order")
            .then(order_net.fill_null(0))
            .otherwise(pl.col("before_fee"))
        )
        .with_columns(
            fee_cents=pl.when(pl.col("order_platform").is_not_null())
            .then(-pct(pl.col("fee_base"), pl.col("fee_bp")))
            .otherwise(pl.lit(0, pl.Int64))
        )
        .with_columns(
            tax_cents=pl.when(crosses)
            .then(-pct(pl.col("fee_base") + pl.col("fee_cents"), pl.col("vat_bp")))
            .otherwise(pl.lit(0, pl.Int64))
        )
    )


# A ticket's technician ladder rate, when the caller knows it (``settle(..., rates_given=True)``).
GIVEN_RATE = "technician_ladder_rate_bp"


def technician_lines(
    components: pl.LazyFrame,
    timeline: Timeline,
    rates_given: bool = False,
    ladder_source: pl.LazyFrame | None = None,
) -> pl.LazyFrame:
    """The technicians' ticket lines; ``ladder_source`` (``technician_ladder_source``) is what
    their ladders rank, when the ladders are ranked here."""
    rework_share = BP - parameter(timeline, lambda r: r.rework.pay_bp).cast(pl.Int64)
    ranked = components.with_columns(payee_type=pl.lit("technician"))
    if rates_given:
        rate = pl.col(GIVEN_RATE).cast(pl.Int64)
    else:
        rate = ladder_rate(timeline, "technician")
        if ladder_source is not None:
            earnings = _needs_earnings(timeline, ("technician",))
            ranked = with_ladder_measures(ranked, ladder_source, TECHNICIAN_MONTH, earnings)
    return (
        ranked.with_columns(ladder_rate_bp=rate)
        .with_columns(
            ladder_cents=pct(pl.col("labour"), pl.col("ladder_rate_bp") - BP),
            rework_cents=pl.when("is_rework")
            .then(-pct(pl.col("labour"), rework_share))
            .otherwise(pl.lit(0, pl.Int64)),
        )
        .with_columns(
            pre_clawback=pl.sum_horizontal("labour", "parts_cents", "ladder_cents", "rework_cents")
        )
        .with_columns(clawback_cents=_clawback(pl.col("pre_clawback"), timeline))
        .with_columns(before_fee=pl.col("pre_clawback") + pl.col("clawback_cents"))
        .pipe(with_deductions, timeline, "technician_province_code", 0)
        .with_columns(
            line_kind=pl.lit("ticket"),
            payee_id=pl.col("technician_id"),
            price_tier=_price_tier(timeline),
            chargeback_cents=pl.lit(0, pl.Int64),
            guarantee_cents=pl.lit(0, pl.Int64),
            bonus_cents=pl.lit(0, pl.Int64),
        )
    )


def chargeback_lines(components: pl.LazyFrame, timeline: Timeline) -> pl.LazyFrame:
    """The original technician pays back part of a rework's labour."""
    share = parameter(timeline, lambda r: r.rework.chargeback_bp).cast(pl.Int64)
    zero = pl.lit(0, pl.Int64)
    return (
        components.filter(pl.col("is_rework") & (share > 0))
        .with_columns(
            line_kind=pl.lit("chargeback"),
            payee_type=pl.lit("technician"),
            payee_id=pl.col("original_technician_id"),
            price_tier=pl.lit(None, pl.String),
            ladder_rate_bp=pl.lit(BP, pl.Int64),
            chargeback_cents=-pct(pl.col("labour"), share),
            is_rework=pl.lit(False),
            claw_num=zero,
        )
        .with_columns(
            (zero.alias(name) for name in BREAKDOWN if name != "chargeback_cents"),
        )
    )


def _partner_ladder_rate(timeline: Timeline) -> pl.Expr:
    rate: pl.Expr = pl.lit(BP, pl.Int64)
    for partner_type in PARTNER_TYPES:
        typed = ladder_rate(timeline, partner_type)
        rate = pl.when(pl.col("partner_type") == partner_type).then(typed).otherwise(rate)
    return pl.when(pl.col("is_rework")).then(pl.lit(BP, pl.Int64)).otherwise(rate)


def mode_parameters(timeline: Timeline, index: str = VERSION_INDEX) -> list[pl.Expr]:
    """``mode`` and every mode parameter of each row's partner, under the version ``index``
    names (overrides per partner id win over the partner type's mode)."""
    overrides = lookups.vocabulary(p for r in timeline.versions for p in r.partner_overrides)
    by_type = lookups.positions("partner_type", PARTNER_TYPES)
    by_id = lookups.positions("partner_id", overrides)

    def parameter_of(name: str, dtype: pl.DataType) -> pl.Expr:
        def typed(rules: RuleSet, p: int) -> object:
            mode = rules.partner_modes.get(PARTNER_TYPES[p])  # type: ignore[arg-type]
            return None if mode is None else lookups.mode_values(mode)[name]

        def overridden(rules: RuleSet, p: int) -> object:
            mode = rules.partner_overrides.get(overrides[p])
            return None if mode is None else lookups.mode_values(mode)[name]

        value = lookups.table(timeline, by_type, len(PARTNER_TYPES), typed, dtype, index)
        if not overrides:
            return value
        found = lookups.table(timeline, by_id, len(overrides), overridden, dtype, index)
        return found.fill_null(value)

    return [
        parameter_of("mode", pl.String()).alias("mode"),
        *(parameter_of(name, pl.Int64()).alias(name) for name in lookups.MODE_PARAMETERS),
    ]


def partner_modes(components: pl.LazyFrame, timeline: Timeline) -> pl.LazyFrame:
    """Priced tickets with a partner, with the parameters of that partner's mode."""
    return (
        components.filter(pl.col("partner_id").is_not_null() & pl.col("partner_type").is_not_null())
        .with_columns(mode_parameters(timeline))
        .filter(pl.col("mode").is_not_null())
    )


def first_tickets_of_orders(components: pl.LazyFrame) -> pl.LazyFrame:
    """(row, is_first_for_order) of the first priced ticket serving each known order, whatever
    its partner: only that ticket's partner can earn the order's sales share."""
    return (
        components.filter(pl.col("paid_cents").is_not_null())
        .group_by("order_platform", "order_id")
        .agg(pl.col("row").sort_by(POSITION_ORDER).first())
        .select("row", is_first_for_order=pl.lit(True))
    )


ORDER_MODES = ("percent_of_sales", "order_split")  # earned once per order, on its first ticket


def partner_lined(moded: pl.LazyFrame) -> pl.LazyFrame:
    """The partner tickets that earn a ticket line under their mode, with its ``base_cents``,
    ``bonus_cents`` and their sum, ``labour``."""
    mode = pl.col("mode")
    known_order = pl.col("paid_cents").is_not_null()
    first_for_order = pl.col("is_first_for_order").fill_null(False)
    base = (
        pl.when(mode.is_in(["piece_rate", "guaranteed_minimum"]))
        .then(pl.col("piece_cents"))
        .when(mode == "percent_of_sales")
        .then(pct(pl.col("paid_cents"), pl.col("rate_bp")))
        .when(mode == "order_split")
        .then(pl.col("paid_cents"))
        .otherwise(pl.lit(0, pl.Int64))
    )
    bonus = (
        pl.when((mode == "base_fee_plus_bonus") & pl.col("order_id").is_not_null())
        .then(pl.col("per_order_bonus_cents"))
        .otherwise(pl.lit(0, pl.Int64))
    )
    has_line = (
        mode.is_in(["piece_rate", "guaranteed_minimum"])
        | (mode.is_in(ORDER_MODES) & known_order & first_for_order)
        | ((mode == "base_fee_plus_bonus") & pl.col("order_id").is_not_null())
    )
    return (
        moded.filter(has_line)
        .with_columns(
            base_cents=base.cast(pl.Int64),
            bonus_cents=bonus.cast(pl.Int64),
            payee_type=pl.col("partner_type"),
        )
        .with_columns(labour=pl.col("base_cents") + pl.col("bonus_cents"))
    )


PARTNER_MONTH = ["partner_id", MONTH]  # the group a partner's ladder ranks
# The ticket and link columns that decide which partner tickets earn a line, and their labour.
PARTNER_LADDER_INPUTS = (
    "partner_id",
    "partner_type",
    MONTH,
    *POSITION_ORDER,
    "order_id",
    VERSION_INDEX,
)
PARTNER_LADDER_LINKS = ("paid_cents", "is_first_for_order", "is_rework")
# The ticket columns a partner's monthly lines read, and those its ticket lines read beside the
# links (what a month's totals are computed from).
PARTNER_MONTH_INPUTS = (
    "partner_id",
    "partner_type",
    "partner_region_group",
    "period",
    VERSION_INDEX,
)
PARTNER_LINE_INPUTS = (
    *PARTNER_MONTH_INPUTS,
    "tier",
    *POSITION_ORDER,
    "order_id",
    "order_platform",
    "province_code",
    "partner_province_code",
)


def partner_ladder_source(
    priced: pl.LazyFrame, links: pl.LazyFrame, timeline: Timeline
) -> pl.LazyFrame:
    """What the partners' ladders rank: the rows of ``partner_lined`` of the partner tickets of
    ``priced`` beside their ``links``, narrow (as ``technician_ladder_source``)."""
    narrow = pl.concat(
        [priced.select(PARTNER_LADDER_INPUTS), links.select(PARTNER_LADDER_LINKS)],
        how="horizontal",
    )
    earnings = _needs_earnings(timeline, PARTNER_TYPES)
    lined = partner_lined(partner_modes(narrow, timeline))
    return lined.select(*PARTNER_MONTH, *POSITION_ORDER, "is_rework", *(["labour"] * earnings))


def partner_ticket_lines(
    moded: pl.LazyFrame, timeline: Timeline, ladder_source: pl.LazyFrame | None
) -> pl.LazyFrame:
    """The partners' ticket lines of ``moded`` (``partner_modes``); ``ladder_source``
    (``partner_ladder_source`` of the same tickets) when a partner ladder is ranked."""
    rework_share = BP - parameter(timeline, lambda r: r.rework.pay_bp).cast(pl.Int64)
    zero = pl.lit(0, pl.Int64)
    lined = partner_lined(moded)
    if ladder_source is not None:
        earnings = _needs_earnings(timeline, PARTNER_TYPES)
        lined = with_ladder_measures(lined, ladder_source, PARTNER_MONTH, earnings)
    return (
        lined.with_columns(ladder_rate_bp=_partner_ladder_rate(timeline))
        .with_columns(
            ladder_cents=pct(pl.col("labour"), pl.col("ladder_rate_bp") - BP),
            rework_cents=pl.when("is_rework")
            .then(-pct(pl.col("labour"), rework_share))
            .otherwise(zero),
        )
        .with_columns(pre_clawback=pl.sum_horizontal("labour", "ladder_cents", "rework_cents"))
        .with_columns(clawback_cents=_clawback(pl.col("pre_clawback"), timeline))
        .with_columns(before_fee=pl.col("pre_clawback") + pl.col("clawback_cents"))
        .pipe(
            with_deductions,
            timeline,
            "partner_province_code",
            lookups.positions("partner_type", PARTNER_TYPES) + 1,
        )
        .with_columns(
            line_kind=pl.lit("ticket"),
            payee_id=pl.col("partner_id"),
            price_tier=_price_tier(timeline),
            **{
                name: zero
                for name in BREAKDOWN
                if name
                not in (
                    "base_cents",
                    "bonus_cents",
                    "ladder_cents",
                    "rework_cents",
                    "clawback_cents",
                    "fee_cents",
                    "tax_cents",
                )
            },
        )
    )


def partner_month_totals(
    moded: pl.LazyFrame, timeline: Timeline, ladder_source: pl.LazyFrame | None
) -> pl.LazyFrame:
    """(partner_id, period, month_total): what each partner's ticket lines of a month add up to
    (``partner_ticket_lines``' arguments)."""
    lines = partner_ticket_lines(moded, timeline, ladder_source)
    return lines.group_by("partner_id", "period").agg(
        month_total=pl.sum_horizontal(*BREAKDOWN).sum()
    )


def partner_monthly_lines(
    moded: pl.LazyFrame, totals: pl.LazyFrame, timeline: Timeline
) -> pl.LazyFrame:
    """Guarantee top-ups and excess bonuses; base fees of periods with work. A month's terms are
    those of the version in force on its last day. ``moded``: the partners' tickets with a mode
    (``partner_modes``); ``totals``: ``partner_month_totals``."""
    partner_period = ["partner_id", "period"]
    month = (
        moded.group_by(partner_period)
        .agg(pl.first("partner_type"), pl.first("partner_region_group"))
        .with_columns(
            version_index=timeline.index_expr(
                pl.concat_str("period", pl.lit("-01")).str.to_date().dt.month_end()
            )
        )
        .with_columns(mode_parameters(timeline))
        .filter(pl.col("mode").is_not_null())
    )
    zero = pl.lit(0, pl.Int64)
    guaranteed = pl.col("mode") == "guaranteed_minimum"
    total = pl.col("month_total").fill_null(0)
    return (
        month.join(totals, on=partner_period, how="left")
        .with_columns(
            guarantee_cents=pl.when(guaranteed)
            .then(pl.max_horizontal(zero, pl.col("minimum_cents") - total))
            .otherwise(zero),
            bonus_cents=pl.when(guaranteed)
            .then(
                pct(
                    pl.max_horizontal(zero, total - pl.col("threshold_cents")),
                    pl.col("excess_bonus_bp"),
                )
            )
            .otherwise(zero),
            base_cents=pl.when(pl.col("mode") == "base_fee_plus_bonus")
            .then(pl.col("base_fee_cents"))
            .otherwise(zero),
        )
        .with_columns(
            line_kind=pl.lit("partner_monthly"),
            payee_type=pl.col("partner_type"),
            payee_id=pl.col("partner_id"),
            ticket_id=pl.lit(None, pl.String),
            price_tier=pl.lit(None, pl.String),
            ladder_rate_bp=pl.lit(BP, pl.Int64),
            region_group=pl.col("partner_region_group"),
            is_rework=pl.lit(False),
            claw_num=zero,
            **{
                name: zero
                for name in BREAKDOWN
                if name not in ("guarantee_cents", "bonus_cents", "base_cents")
            },
        )
        .with_columns(amount_cents=pl.sum_horizontal(*BREAKDOWN))
        .filter(pl.col("amount_cents") != 0)
    )


def _finish(lines: pl.LazyFrame, timeline: Timeline) -> pl.LazyFrame:
    """Amount, payout currency and its amount, flags and rule version, in the LINES schema.

    The local amount is the CNY amount divided by the exact rate (CNY per unit, a fraction
    ``num/den``), rounded once: ``div_round(amount · den, num)`` (computed without overflow).
    """
    versions = timeline.versions
    names = ["CNY", *lookups.vocabulary(c for r in versions for c in r.currencies.values())]
    names = list(dict.fromkeys(names))
    currency = lookups.table(
        timeline,
        lookups.positions("region_group", REGION_GROUPS),
        len(REGION_GROUPS),
        lambda r, p: names.index(r.currency_of(REGION_GROUPS[p])),
        pl.UInt32(),
    ).fill_null(0)

    def rate_part(part: str) -> pl.Expr:
        def value(rules: RuleSet, p: int) -> int:
            used = set(rules.currencies.values()) - {"CNY"}
            return int(getattr(rules.cny_per_unit(names[p]), part)) if names[p] in used else 1

        return lookups.table(timeline, pl.col("_currency"), len(names), value, pl.Int64())

    return (
        lines.with_columns(
            amount_cents=pl.sum_horizontal(*BREAKDOWN).cast(pl.Int64),
            _currency=currency,
        )
        .with_columns(
            currency=pl.lit(pl.Series(names, dtype=pl.String)).gather(pl.col("_currency")),
            amount_local_cents=scale_round(
                pl.col("amount_cents"), rate_part("denominator"), rate_part("numerator")
            ),
            is_refunded=pl.col("claw_num").fill_null(0) > 0,
            rule_version=_rule_version(timeline),
        )
        .select(pl.col(name).cast(dtype) for name, dtype in LINES.items())
    )


def _rule_version(timeline: Timeline) -> pl.Expr:
    return parameter(timeline, lambda rules: rules.version).cast(pl.String)


def _require_encoded(frame: pl.LazyFrame, schema: dict[str, pl.DataType], name: str) -> None:
    found = frame.collect_schema()
    for column, dtype in schema.items():
        if dtype in (CODE, PARTS) and column in found and found[column] != dtype:
            raise TypeError(f"{name}.{column} is {found[column]}, settlement takes {dtype}")


PAYEE_GROUPS = ("technician", "partner")  # the line families, each settled on its own
# The ticket columns a rework's policy reads beside the links.
_POLICY_COLUMNS = ("ticket_id", "rework_of", "completed_at", VERSION_INDEX)


def settle(
    tickets: pl.LazyFrame,
    orders: pl.LazyFrame,
    rules: RuleSet | Timeline,
    *,
    rates_given: bool = False,
) -> Settlement:
    """Settle completed tickets (frames.TICKETS_IN) against orders (frames.ORDERS_IN), each
    ticket under the version of ``rules`` effective on its completion date.

    The code columns must already be dictionary-encoded (frames.CODE), in frames that exist
    when this is called (``DataFrame.lazy()``): lookups are planned over the categories known
    now (``lookups.positions``). With ``rates_given`` the tickets carry their technician ladder
    rate (``GIVEN_RATE``, known from a settlement whose ladder positions these rules keep: a
    preview of a price edit) instead of ranking their months: any subset settles alone."""
    _require_encoded(tickets, TICKETS_IN, "tickets")
    _require_encoded(orders, ORDERS_IN, "orders")
    timeline = as_timeline(rules)
    priced_all = priced_tickets(tickets, timeline).cache()
    priced = priced_all.filter("is_priced")
    return Settlement(
        lines=_lines(priced, ticket_links(priced, orders), timeline, PAYEE_GROUPS, rates_given),
        unpriced=unpriced_tickets(priced_all, timeline),
    )


def settle_linked(
    linked: pl.LazyFrame, rules: RuleSet | Timeline, payees: tuple[str, ...] = PAYEE_GROUPS
) -> pl.LazyFrame:
    """The lines of ``payees`` ("technician": ticket and chargeback lines; "partner": partner
    ticket and monthly lines) of priced tickets whose links are already found: frames.TICKETS_IN
    and frames.LINKED side by side. Given every ticket of each (payee, period) group it settles,
    the lines are exactly ``settle``'s for those groups: ladders and monthly lines see only their
    own group, and everything that crosses groups is in the links."""
    _require_encoded(linked, {**TICKETS_IN, **LINKED}, "linked")
    timeline = as_timeline(rules)
    priced = priced_tickets(linked, timeline).filter("is_priced")
    return _lines(priced.drop(*LINKED), priced.select(*LINKED), timeline, payees)


def unpriced_tickets(priced_all: pl.LazyFrame, timeline: Timeline) -> pl.LazyFrame:
    """The tickets ``priced_tickets`` could not price, with the reason (frames.UNPRICED)."""
    return priced_all.filter(~pl.col("is_priced")).select(
        pl.col("period").cast(UNPRICED["period"]),
        pl.col("ticket_id").cast(UNPRICED["ticket_id"]),
        reason=_unpriced_reason(timeline).cast(UNPRICED["reason"]),
        rule_version=_rule_version(timeline).cast(UNPRICED["rule_version"]),
    )


def _lines(
    priced: pl.LazyFrame,
    found: pl.LazyFrame,
    timeline: Timeline,
    payees: tuple[str, ...],
    rates_given: bool = False,
) -> pl.LazyFrame:
    """The lines of ``payees`` of ``priced`` tickets, ``found`` (frames.LINKED) beside them."""
    # Only what joins find is kept (a narrow frame, computed once); the per-ticket components
    # are recomputed beside it by every kind of line, which costs less than holding them. Each
    # kind starts from its own narrow selection: Polars holds a subplan shared by two kinds of
    # line whole (every column either needs) until both have read it.
    policy = priced.select(_POLICY_COLUMNS)
    links = resolved_links(pl.concat([policy, found], how="horizontal"), timeline).cache()
    tickets = pl.concat([priced, links], how="horizontal")
    components = pl.concat([ticket_components(priced, timeline), links], how="horizontal")
    parts = []
    if "technician" in payees:
        source = None
        if not rates_given and _needs_ladder(timeline, ("technician",)):
            source = technician_ladder_source(priced, links, timeline)
        lines = technician_lines(components, timeline, rates_given, source)
        parts.append(_finish(lines, timeline))
        # From the reworks alone, by a plan of its own: a plan shared with the ticket lines
        # would be held whole for the two of them.
        reworks = ticket_components(tickets.filter("is_rework"), timeline)
        parts.append(_finish(chargeback_lines(reworks, timeline), timeline))
    if "partner" in payees:
        source = None
        if _needs_ladder(timeline, PARTNER_TYPES):
            source = partner_ladder_source(priced, links, timeline)
        partner_tickets = partner_ticket_lines(partner_modes(tickets, timeline), timeline, source)
        parts.append(_finish(partner_tickets, timeline))
        # The monthly lines' inputs by narrow plans of their own: a plan shared with the
        # ticket lines would be held whole.
        narrow = pl.concat([priced.select(PARTNER_LINE_INPUTS), links], how="horizontal")
        totals = partner_month_totals(partner_modes(narrow, timeline), timeline, source)
        months = partner_modes(priced.select(PARTNER_MONTH_INPUTS), timeline)
        parts.append(_finish(partner_monthly_lines(months, totals, timeline), timeline))
    return pl.concat(parts, how="vertical")
