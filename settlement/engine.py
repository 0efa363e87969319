"""Settle tickets: LazyFrames in, settlement lines and unpriced tickets out (docs/settlement.md).

Pure Polars: the caller collects once. Every component is integer cents, rounded once by
``settlement.money``; a line's breakdown columns add up to its ``amount_cents`` by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from settlement import lookups
from settlement.frames import BREAKDOWN, LINES, UNPRICED
from settlement.money import BP, div_round, pct
from settlement.rules import Ladder, RuleSet

POSITION_ORDER = ["completed_at", "ticket_id"]


def attach(wide: pl.LazyFrame, on: list[str], right: pl.LazyFrame) -> pl.LazyFrame:
    """``wide`` left-joined to ``right`` (unique on ``on``) without gathering ``wide``'s columns:
    only the key columns go through the join, and the result is placed beside ``wide``."""
    found = wide.select(on).join(right, on=on, how="left", maintain_order="left").drop(on)
    return pl.concat([wide, found], how="horizontal")


@dataclass(frozen=True)
class Settlement:
    lines: pl.LazyFrame  # frames.LINES
    unpriced: pl.LazyFrame  # frames.UNPRICED


def priced_tickets(tickets: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """Tickets with ``row``, ``period``, ``price_tier``, ``item_price_cents``, ``parts_cents``,
    ``coef_bp`` and the reason they cannot be priced (null when they can). Lookups are hash
    replacements and the parts sum is an explode/aggregate on a narrow frame: no wide joins."""
    with_tier = tickets.with_row_index("row").with_columns(
        period=pl.col("completed_date").dt.strftime("%Y-%m"),
        price_tier=lookups.price_tier(rules),
    )
    parts = (
        with_tier.select("row", "price_tier", "parts")
        .explode("parts", keep_nulls=False, empty_as_null=False)
        .unnest("parts")
        .with_columns(price_cents=lookups.per_tier(rules, "part_code", rules.part_prices))
        .group_by("row")
        .agg(
            parts_cents=(pl.col("price_cents") * pl.col("quantity")).sum().cast(pl.Int64),
            missing_part=pl.col("part_code").filter(pl.col("price_cents").is_null()).first(),
        )
    )
    tier_text = pl.col("price_tier").fill_null("None")  # a city no tier maps still gets a reason
    reason = (
        pl.when(pl.col("item_price_cents").is_null())
        .then(pl.format("no price for item {} in tier {}", "item_code", tier_text))
        .when(pl.col("missing_part").is_not_null())
        .then(pl.format("no price for part {} in tier {}", "missing_part", tier_text))
    )
    return (
        with_tier.drop("parts")
        .with_columns(
            item_price_cents=lookups.per_tier(rules, "item_code", rules.item_prices),
            coef_bp=lookups.coefficient_bp(rules),
        )
        .pipe(attach, ["row"], parts)
        .with_columns(parts_cents=pl.col("parts_cents").fill_null(0), unpriced_reason=reason)
    )


def ticket_components(priced: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """The pre-ladder components of every priced ticket, and its ``labour``."""
    surcharge, subsidy = rules.surcharges, rules.subsidies
    base = pl.col("item_price_cents") * pl.col("quantity")
    return (
        priced.with_columns(
            base_cents=base.cast(pl.Int64),
            discount_bp=lookups.lookup("member_level", rules.member_discounts_bp),
        )
        .with_columns(
            coefficient_cents=pct(pl.col("base_cents"), pl.col("coef_bp") - BP),
            urgent_cents=pl.when("is_urgent")
            .then(pct(pl.col("base_cents"), surcharge.urgent_bp))
            .otherwise(0),
            night_cents=pl.when("is_night").then(surcharge.night_cents).otherwise(0),
            high_altitude_cents=pl.when("is_high_altitude")
            .then(surcharge.high_altitude_cents)
            .otherwise(0),
            plateau_cents=pl.when("is_plateau").then(subsidy.plateau_cents).otherwise(0),
            township_cents=pl.when("is_township").then(subsidy.township_cents).otherwise(0),
            remote_cents=div_round(
                pl.col("remote_guidance_minutes").cast(pl.Int64).fill_null(0)
                * subsidy.remote_guidance_hourly_cents,
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


def reworks(priced: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """(ticket_id, original_technician_id) of every ticket that is a rework under the policy."""
    window = pl.duration(days=rules.rework.window_days)
    originals = priced.select(
        rework_of="ticket_id",
        original_completed_at="completed_at",
        original_technician_id="technician_id",
    )
    elapsed = pl.col("completed_at") - pl.col("original_completed_at")
    return (
        # A ticket cannot be its own original.
        priced.filter(
            pl.col("rework_of").is_not_null() & (pl.col("rework_of") != pl.col("ticket_id"))
        )
        .select("ticket_id", "rework_of", "completed_at")
        .join(originals, on="rework_of", how="inner")
        .filter((elapsed >= pl.duration()) & (elapsed <= window))
        .select("ticket_id", "original_technician_id")
    )


def _ladder_measure(
    ladder: Ladder | None, group: list[str], labour: str
) -> tuple[pl.Expr, pl.Expr]:
    """(this ticket's measure, the month's measure) among the group's non-rework tickets."""
    counted = ~pl.col("is_rework")
    if ladder is not None and ladder.basis == "earnings":
        earned = pl.when(counted).then(pl.col(labour)).otherwise(0)
        before = earned.cum_sum().over(group, order_by=POSITION_ORDER) - earned
        return before, earned.sum().over(group)
    position = counted.cast(pl.Int64).cum_sum().over(group, order_by=POSITION_ORDER)
    return position, counted.cast(pl.Int64).sum().over(group)


def ladder_rate(ladder: Ladder | None, group: list[str], labour: str) -> pl.Expr:
    mine, month = _ladder_measure(ladder, group, labour)
    measure = month if ladder is not None and ladder.mode == "retroactive" else mine
    rate = lookups.ladder_rate(ladder, measure)
    return pl.when(pl.col("is_rework")).then(pl.lit(BP, pl.Int64)).otherwise(rate)


def clawback_ratio(orders: pl.LazyFrame) -> pl.LazyFrame:
    """order → (refunded share numerator, denominator): the part of what was paid given back."""
    # One row per order (the last wins, as in the reference); refunds count from 0 up to paid.
    orders = orders.unique(["platform", "order_id"], keep="last", maintain_order=True)
    return orders.select(
        order_platform="platform",
        order_id="order_id",
        paid_cents="paid_cents",
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


def _clawback(amount: pl.Expr, rules: RuleSet) -> pl.Expr:
    if not rules.refunds.clawback:
        return pl.lit(0, pl.Int64)
    numerator = pl.col("claw_num").fill_null(0)
    return -div_round(amount * numerator, pl.col("claw_den").fill_null(1))


def technician_lines(components: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    vat = rules.cross_province_vat_bp
    ladder = rules.ladders.get("technician")
    rework_share = BP - rules.rework.pay_bp
    cross_province = pl.col("technician_province_code").is_not_null() & (
        pl.col("technician_province_code") != pl.col("province_code")
    )
    return (
        components.with_columns(
            fee_bp=lookups.lookup("order_platform", rules.channel_fees_bp),
            ladder_rate_bp=ladder_rate(ladder, ["technician_id", "period"], "labour"),
        )
        .with_columns(
            ladder_cents=pct(pl.col("labour"), pl.col("ladder_rate_bp") - BP),
            rework_cents=pl.when("is_rework")
            .then(-pct(pl.col("labour"), rework_share))
            .otherwise(pl.lit(0, pl.Int64)),
        )
        .with_columns(
            pre_clawback=pl.sum_horizontal("labour", "parts_cents", "ladder_cents", "rework_cents")
        )
        .with_columns(clawback_cents=_clawback(pl.col("pre_clawback"), rules))
        .with_columns(before_fee=pl.col("pre_clawback") + pl.col("clawback_cents"))
        .with_columns(
            fee_cents=pl.when(pl.col("order_platform").is_not_null())
            .then(-pct(pl.col("before_fee"), pl.col("fee_bp")))
            .otherwise(pl.lit(0, pl.Int64))
        )
        .with_columns(
            tax_cents=pl.when(cross_province)
            .then(-pct(pl.col("before_fee") + pl.col("fee_cents"), vat))
            .otherwise(pl.lit(0, pl.Int64))
        )
        .with_columns(
            line_kind=pl.lit("ticket"),
            payee_type=pl.lit("technician"),
            payee_id=pl.col("technician_id"),
            chargeback_cents=pl.lit(0, pl.Int64),
            guarantee_cents=pl.lit(0, pl.Int64),
            bonus_cents=pl.lit(0, pl.Int64),
        )
    )


def chargeback_lines(components: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """The original technician pays back part of a rework's labour."""
    share = rules.rework.chargeback_bp
    zero = pl.lit(0, pl.Int64)
    return (
        components.filter(pl.col("is_rework") & pl.lit(share > 0))
        .with_columns(
            line_kind=pl.lit("chargeback"),
            payee_type=pl.lit("technician"),
            payee_id=pl.col("original_technician_id"),
            ladder_rate_bp=pl.lit(BP, pl.Int64),
            chargeback_cents=-pct(pl.col("labour"), share),
            is_rework=pl.lit(False),
            claw_num=zero,
        )
        .with_columns(
            (zero.alias(name) for name in BREAKDOWN if name != "chargeback_cents"),
        )
    )


def _partner_ladder_rate(rules: RuleSet) -> pl.Expr:
    rate: pl.Expr = pl.lit(BP, pl.Int64)
    for partner_type in ("direct", "dealer", "agent"):
        ladder = rules.ladders.get(partner_type)
        if ladder is not None:
            typed = ladder_rate(ladder, ["partner_id", "period"], "labour")
            rate = pl.when(pl.col("partner_type") == partner_type).then(typed).otherwise(rate)
    return pl.when(pl.col("is_rework")).then(pl.lit(BP, pl.Int64)).otherwise(rate)


def partner_modes(components: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """Priced tickets with a partner, with the parameters of that partner's mode."""
    by_type = {t: lookups.mode_values(m) for t, m in rules.partner_modes.items()}
    by_id = {p: lookups.mode_values(m) for p, m in rules.partner_overrides.items()}

    def parameter(name: str, dtype: pl.DataType) -> pl.Expr:
        typed = pl.col("partner_type").replace_strict(
            {t: v[name] for t, v in by_type.items()}, default=None, return_dtype=dtype
        )
        if not by_id:
            return typed.alias(name)
        return (
            pl.col("partner_id")
            .replace_strict(
                {p: v[name] for p, v in by_id.items()}, default=typed, return_dtype=dtype
            )
            .alias(name)
        )

    return (
        components.filter(pl.col("partner_id").is_not_null() & pl.col("partner_type").is_not_null())
        .with_columns(
            parameter("mode", pl.String()),
            *(parameter(name, pl.Int64()) for name in lookups.MODE_PARAMETERS),
        )
        .filter(pl.col("mode").is_not_null())
    )


def first_tickets_of_orders(components: pl.LazyFrame) -> pl.LazyFrame:
    """(ticket_id, is_first_for_order) of the first priced ticket serving each known order,
    whatever its partner: only that ticket's partner can earn the order's sales share."""
    return (
        components.filter(pl.col("paid_cents").is_not_null())
        .select("ticket_id", "order_platform", "order_id", "completed_at")
        .sort(POSITION_ORDER)
        .unique(["order_platform", "order_id"], keep="first")
        .select("ticket_id", is_first_for_order=pl.lit(True))
    )


def partner_ticket_lines(moded: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    mode = pl.col("mode")
    known_order = pl.col("paid_cents").is_not_null()
    first_for_order = pl.col("is_first_for_order").fill_null(False)
    base = (
        pl.when(mode.is_in(["piece_rate", "guaranteed_minimum"]))
        .then(pl.col("piece_cents"))
        .when(mode == "percent_of_sales")
        .then(pct(pl.col("paid_cents"), pl.col("rate_bp")))
        .otherwise(pl.lit(0, pl.Int64))
    )
    bonus = (
        pl.when((mode == "base_fee_plus_bonus") & pl.col("order_id").is_not_null())
        .then(pl.col("per_order_bonus_cents"))
        .otherwise(pl.lit(0, pl.Int64))
    )
    has_line = (
        mode.is_in(["piece_rate", "guaranteed_minimum"])
        | ((mode == "percent_of_sales") & known_order & first_for_order)
        | ((mode == "base_fee_plus_bonus") & pl.col("order_id").is_not_null())
    )
    rework_share = BP - rules.rework.pay_bp
    zero = pl.lit(0, pl.Int64)
    return (
        moded.with_columns(has_line=has_line)
        .filter("has_line")
        .with_columns(
            base_cents=base.cast(pl.Int64),
            bonus_cents=bonus.cast(pl.Int64),
        )
        .with_columns(labour=pl.col("base_cents") + pl.col("bonus_cents"))
        .with_columns(ladder_rate_bp=_partner_ladder_rate(rules))
        .with_columns(
            ladder_cents=pct(pl.col("labour"), pl.col("ladder_rate_bp") - BP),
            rework_cents=pl.when("is_rework")
            .then(-pct(pl.col("labour"), rework_share))
            .otherwise(zero),
        )
        .with_columns(
            clawback_cents=_clawback(
                pl.sum_horizontal("labour", "ladder_cents", "rework_cents"), rules
            )
        )
        .with_columns(
            line_kind=pl.lit("ticket"),
            payee_type=pl.col("partner_type"),
            payee_id=pl.col("partner_id"),
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
                )
            },
        )
    )


def partner_monthly_lines(
    moded: pl.LazyFrame, ticket_lines: pl.LazyFrame, rules: RuleSet
) -> pl.LazyFrame:
    """Guarantee top-ups and excess bonuses; base fees of periods with work."""
    del rules
    partner_period = ["partner_id", "period"]
    month = moded.group_by(partner_period).agg(
        pl.first("partner_type"),
        pl.first("partner_region_group"),
        pl.first("mode"),
        pl.first("minimum_cents"),
        pl.first("threshold_cents"),
        pl.first("excess_bonus_bp"),
        pl.first("base_fee_cents"),
    )
    totals = ticket_lines.group_by(payee_id="payee_id", period="period").agg(
        month_total=pl.col("amount_cents").sum()
    )
    zero = pl.lit(0, pl.Int64)
    guaranteed = pl.col("mode") == "guaranteed_minimum"
    total = pl.col("month_total").fill_null(0)
    return (
        month.join(totals.rename({"payee_id": "partner_id"}), on=partner_period, how="left")
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


def _finish(lines: pl.LazyFrame, rules: RuleSet) -> pl.LazyFrame:
    """Amount, currency, flags and rule version, in the LINES schema."""
    return (
        lines.with_columns(
            amount_cents=pl.sum_horizontal(*BREAKDOWN).cast(pl.Int64),
            currency=pl.col("region_group").replace_strict(
                rules.currencies, default="CNY", return_dtype=pl.String
            ),
        )
        .with_columns(
            amount_local_cents=div_round(
                pl.col("amount_cents")
                * lookups.lookup("currency", rules.exchange_rates_ppm, default=1_000_000),
                1_000_000,
            ),
            is_refunded=pl.col("claw_num").fill_null(0) > 0,
            rule_version=pl.lit(rules.version),
        )
        .select(pl.col(name).cast(dtype) for name, dtype in LINES.items())
    )


def settle(tickets: pl.LazyFrame, orders: pl.LazyFrame, rules: RuleSet) -> Settlement:
    """Settle completed tickets (frames.TICKETS_IN) against orders (frames.ORDERS_IN)."""
    priced_all = priced_tickets(tickets, rules).cache()
    unpriced = priced_all.filter(pl.col("unpriced_reason").is_not_null()).select(
        "period",
        "ticket_id",
        reason="unpriced_reason",
        rule_version=pl.lit(rules.version),
    )
    priced = priced_all.filter(pl.col("unpriced_reason").is_null())
    components = (
        ticket_components(priced, rules)
        .pipe(attach, ["ticket_id"], reworks(priced, rules))
        .with_columns(is_rework=pl.col("original_technician_id").is_not_null())
        .pipe(attach, ["order_platform", "order_id"], clawback_ratio(orders))
        .cache()  # shared by every kind of line below: computed once per collect
    )
    technician = _finish(technician_lines(components, rules), rules)
    chargeback = _finish(chargeback_lines(components, rules), rules)
    firsts = first_tickets_of_orders(components)
    moded = partner_modes(components.pipe(attach, ["ticket_id"], firsts), rules).cache()
    partner_tickets = _finish(partner_ticket_lines(moded, rules), rules)
    monthly = _finish(partner_monthly_lines(moded, partner_tickets, rules), rules)
    lines = pl.concat([technician, chargeback, partner_tickets, monthly], how="vertical")
    return Settlement(
        lines=lines,
        unpriced=unpriced.select(pl.col(n).cast(t) for n, t in UNPRICED.items()),
    )
