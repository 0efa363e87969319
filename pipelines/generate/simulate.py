"""Simulate a year of field-service work and the e-commerce orders behind it, vectorised.

Everything is drawn from one ``numpy.random.Generator`` seeded by the caller, so a seed fixes the
world. Shapes that make the dashboard and the ladders interesting are deliberate:
- seasonality (air-conditioning summer peak, Spring Festival trough) and a weekday rhythm;
- cities weighted by tier, technicians' volumes heavy-tailed (a few do many tickets a month);
- urgent / night / township / working-at-height / remote-guidance / rework shares;
- installation tickets linked to platform orders, some pre-sale (deposit then balance), some
  refunded in part or whole weeks after the ticket closed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import polars as pl

from pipelines import canonical
from pipelines.generate.world import WORLD_ORDERS, World, order_state_at
from pipelines.reference import Reference

BEIJING = timedelta(hours=8)

# Relative demand by calendar month (index 0 = January).
MONTH_WEIGHT = np.array([0.70, 0.55, 0.85, 0.95, 1.05, 1.30, 1.45, 1.40, 1.05, 0.95, 0.95, 0.85])
# Monday .. Sunday: households book weekends.
WEEKDAY_WEIGHT = np.array([0.95, 0.92, 0.93, 0.95, 1.00, 1.20, 1.15])
# Hour of day, 0..23: working hours, with a long evening tail.
HOUR_WEIGHT = np.concatenate(
    [
        [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.2, 2.5, 3.5, 3.8, 3.6],
        [2.8, 3.0, 3.5, 3.6, 3.4, 3.0, 2.6, 2.2, 1.6, 1.0, 0.6, 0.4],
    ]
)
TIER_WEIGHT = {"一线": 6.0, "新一线": 4.0, "二线": 2.5, "三线": 1.5, "四线": 1.0, "五线": 0.7}
TOWNSHIP_SHARE = {
    "一线": 0.02,
    "新一线": 0.05,
    "二线": 0.08,
    "三线": 0.14,
    "四线": 0.2,
    "五线": 0.28,
}
CATEGORY_SHARE = {
    "install": 0.40,
    "repair": 0.30,
    "maintenance": 0.18,
    "survey": 0.07,
    "consult": 0.05,
}
PLATFORM_SHARE = {"taobao": 0.5, "youzan": 0.25, "wechat": 0.25}
REWORK_SHARE = 0.03
ORDER_LINK_SHARE = 0.55  # of installation tickets
PRESALE_SHARE = 0.12
REFUND_SHARE = 0.07
UNLINKED_ORDER_SHARE = 0.08  # orders never serviced: unpaid, cancelled, forfeited deposits


def month_starts(end_month: str, months: int) -> list[date]:
    year, month = (int(part) for part in end_month.split("-"))
    starts = []
    for back in range(months - 1, -1, -1):
        y, m = divmod((year * 12 + month - 1) - back, 12)
        starts.append(date(y, m + 1, 1))
    return starts


def _month_end(start: date) -> date:
    y, m = divmod(start.year * 12 + start.month, 12)
    return date(y, m + 1, 1)


def _creation_times(rng: np.random.Generator, n: int, starts: list[date]) -> np.ndarray:
    """Beijing-local creation times with seasonality, weekday rhythm and working hours."""
    days = np.array(
        [
            np.datetime64(s) + np.timedelta64(d, "D")
            for s in starts
            for d in range((_month_end(s) - s).days)
        ]
    )
    months = days.astype("datetime64[M]").astype(int) % 12
    weekdays = (days.astype("datetime64[D]").astype(int) + 3) % 7  # 1970-01-01 was a Thursday
    weight = MONTH_WEIGHT[months] * WEEKDAY_WEIGHT[weekdays]
    day = rng.choice(days, size=n, p=weight / weight.sum())
    hour = rng.choice(24, size=n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    seconds = hour * 3600 + rng.integers(0, 3600, size=n)
    return day.astype("datetime64[s]") + seconds.astype("timedelta64[s]")


def _technician_weights(
    rng: np.random.Generator, ref: Reference
) -> tuple[np.ndarray, pl.DataFrame]:
    techs = ref.technicians.join(
        ref.cities.select("city_code", "city_tier", "is_plateau"),
        left_on="home_city_code",
        right_on="city_code",
    ).sort("technician_id")
    tier = techs["city_tier"].replace_strict(TIER_WEIGHT, return_dtype=pl.Float64).to_numpy()
    # Pareto-tailed personal volume: most do a ticket or two a day, a few do many.
    personal = rng.pareto(2.2, size=techs.height) + 0.35
    weight = tier * personal
    return weight / weight.sum(), techs


def _pick_items(rng: np.random.Generator, ref: Reference, n: int) -> pl.DataFrame:
    items = ref.service_items.sort("item_code")
    share = items["category"].replace_strict(CATEGORY_SHARE, return_dtype=pl.Float64)
    per_category = items.group_by("category").len()
    count = items.join(per_category, on="category", how="left")["len"].cast(pl.Float64)
    # Zipf-ish inside each category: the first items of a category are the common ones.
    rank = items.with_columns(r=pl.int_range(pl.len()).over("category"))["r"].to_numpy() + 1
    weight = (share / count).to_numpy() / rank**0.6
    chosen = rng.choice(items.height, size=n, p=weight / weight.sum())
    return items[chosen].select("item_code", "category", "unit")


def _parts_lists(rng: np.random.Generator, ref: Reference, category: np.ndarray) -> pl.Series:
    n = category.size
    chance = np.select(
        [category == "repair", category == "install", category == "maintenance"],
        [0.65, 0.2, 0.35],
        0.0,
    )
    count = np.where(rng.random(n) < chance, rng.integers(1, 4, size=n), 0)
    codes = ref.parts.sort("part_code")["part_code"].to_numpy()
    flat_codes = rng.choice(codes, size=int(count.sum()))
    flat_qty = np.where(
        rng.random(flat_codes.size) < 0.8, 1, rng.integers(2, 6, size=flat_codes.size)
    )
    flat = pl.DataFrame(
        {
            "row": np.repeat(np.arange(n), count),
            "part_code": flat_codes,
            "quantity": flat_qty.astype(np.int32),
        }
    )
    grouped = flat.group_by("row").agg(pl.struct("part_code", "quantity").alias("parts"))
    lists = (
        pl.DataFrame({"row": np.arange(n)})
        .join(grouped, on="row", how="left", maintain_order="left")
        .select(pl.col("parts").fill_null(pl.lit([], canonical.PARTS_LIST)))
    )
    return lists.to_series().cast(canonical.PARTS_LIST)


def _choice(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    labels = np.array(list(shares))
    p = np.array(list(shares.values()), dtype=float)
    return rng.choice(labels, size=n, p=p / p.sum())


def _to_utc(local: np.ndarray) -> pl.Series:
    return pl.Series((local - np.timedelta64(8, "h")).astype("datetime64[us]")).cast(
        canonical.TIMESTAMP
    )


def simulate_tickets(
    rng: np.random.Generator, ref: Reference, n: int, starts: list[date], as_of: datetime
) -> pl.DataFrame:
    """``n`` tickets in canonical shape, final state as of ``as_of`` (naive UTC)."""
    n_rework = int(n * REWORK_SHARE)
    n_first = n - n_rework
    weights, techs = _technician_weights(rng, ref)
    tech_index = rng.choice(techs.height, size=n_first, p=weights)
    crew = techs[tech_index]
    items = _pick_items(rng, ref, n_first)
    category = items["category"].to_numpy()
    created_local = _creation_times(rng, n_first, starts)
    tier = crew["city_tier"]
    township_p = tier.replace_strict(TOWNSHIP_SHARE, return_dtype=pl.Float64).to_numpy()
    metre_unit = (items["unit"] == "米").to_numpy()
    quantity = np.where(
        metre_unit, rng.integers(1, 15, size=n_first), np.where(rng.random(n_first) < 0.9, 1, 2)
    )
    consult = category == "consult"
    remote = np.where(
        consult,
        rng.integers(1, 9, size=n_first) * 15,
        np.where(rng.random(n_first) < 0.03, rng.integers(1, 5, size=n_first) * 15, 0),
    )
    duration_h = np.where(consult, 0.5, rng.lognormal(2.3, 1.0, size=n_first).clip(0.5, 240))
    completed_local = created_local + (duration_h * 3600).astype("timedelta64[s]")
    night = rng.random(n_first) < 0.05
    # Night service is done between 20:00 and 23:00 local time.
    night_shift = (20 + rng.integers(0, 3, size=n_first)) * 3600 + rng.integers(
        0, 3600, size=n_first
    )
    completed_local = np.where(
        night,
        completed_local.astype("datetime64[D]").astype("datetime64[s]")
        + night_shift.astype("timedelta64[s]"),
        completed_local,
    )
    completed_local = np.maximum(completed_local, created_local + np.timedelta64(1800, "s"))
    scenario = np.select(
        [category == "survey", category == "install"],
        [np.array("pre_sale"), np.where(rng.random(n_first) < 0.8, "in_sale", "pre_sale")],
        "after_sale",
    )
    tickets = pl.DataFrame(
        {
            "item_code": items["item_code"],
            "category": items["category"],
            "quantity": quantity.astype(np.int32),
            "parts": _parts_lists(rng, ref, category),
            "city_code": crew["home_city_code"],
            "technician_id": crew["technician_id"],
            "partner_id": crew["partner_id"],
            "scenario": scenario,
            "channel": _choice(
                rng, {"self_service": 0.45, "staff": 0.4, "auto_rule": 0.15}, n_first
            ),
            "is_urgent": rng.random(n_first) < 0.08,
            "is_night": night,
            "is_township": rng.random(n_first) < township_p,
            "is_high_altitude": (category == "install") & (rng.random(n_first) < 0.12),
            "remote_guidance_minutes": remote.astype(np.int32),
            "member_level": _choice(
                rng, {"none": 0.7, "silver": 0.15, "gold": 0.1, "platinum": 0.05}, n_first
            ),
            "created_at": _to_utc(created_local),
            "completed_at": _to_utc(completed_local),
            "cancelled": rng.random(n_first) < 0.035,
            "rework_row": pl.Series([None] * n_first, dtype=pl.String),
        }
    )
    tickets = pl.concat([tickets, _rework_tickets(rng, tickets, techs, n_rework)], how="vertical")
    return _finalise_tickets(tickets, as_of)


def _rework_tickets(
    rng: np.random.Generator, first: pl.DataFrame, techs: pl.DataFrame, n: int
) -> pl.DataFrame:
    """Return visits for earlier repair/installation work, 1-45 days later (some past 30 days)."""
    eligible = first.with_row_index("source_row").filter(
        pl.col("category").is_in(["repair", "install"]) & ~pl.col("cancelled")
    )
    if eligible.is_empty() or n == 0:
        return first.clear()
    picked = eligible[rng.choice(eligible.height, size=min(n, eligible.height), replace=False)]
    n = picked.height
    later = rng.integers(1, 46, size=n) * 86400 + rng.integers(0, 36000, size=n)
    created = picked["completed_at"] + pl.Series(later).cast(pl.Duration("us")) * 1_000_000
    # Half go back to the same technician; the rest to a colleague in the same city.
    colleagues = techs.group_by("home_city_code").agg(pl.col("technician_id", "partner_id"))
    same = rng.random(n) < 0.5
    joined = picked.join(colleagues, left_on="city_code", right_on="home_city_code", how="left")
    pick = pl.Series(rng.integers(0, 1 << 30, size=n))
    size = joined["technician_id_right"].list.len()
    other_tech = joined["technician_id_right"].list.get(pick % size)
    other_partner = joined["partner_id_right"].list.get(pick % size)
    duration = pl.Series(rng.lognormal(1.8, 0.8, size=n).clip(0.5, 72) * 3600).cast(pl.Int64)
    return picked.drop("source_row").with_columns(
        created_at=created,
        completed_at=created + duration.cast(pl.Duration("us")) * 1_000_000,
        technician_id=pl.when(pl.Series(same)).then(pl.col("technician_id")).otherwise(other_tech),
        partner_id=pl.when(pl.Series(same)).then(pl.col("partner_id")).otherwise(other_partner),
        scenario=pl.lit("after_sale"),
        channel=pl.lit("staff"),
        is_urgent=pl.Series(rng.random(n) < 0.3),
        parts=pl.Series([[]] * n, dtype=canonical.PARTS_LIST),
        cancelled=pl.lit(False),
        rework_row=picked["source_row"].cast(pl.String),
    )


def _finalise_tickets(tickets: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    tickets = (
        tickets.with_row_index("row")
        .filter(pl.col("created_at") < as_of)
        .sort("created_at", "row")
        .with_columns(
            ticket_id=pl.format("GD{}", (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(10))
        )
    )
    id_by_row = tickets.select(
        pl.col("row").cast(pl.String).alias("rework_row"), rework_of="ticket_id"
    )
    tickets = tickets.join(id_by_row, on="rework_row", how="left", maintain_order="left")
    done = pl.col("completed_at") <= as_of
    assigned_at = pl.col("created_at") + pl.duration(minutes=20)
    started_at = pl.col("created_at") + pl.duration(hours=2)
    return (
        tickets.with_columns(
            status=pl.when(pl.col("cancelled"))
            .then(pl.lit("cancelled"))
            .when(done)
            .then(pl.lit("completed"))
            .when(started_at <= as_of)
            .then(pl.lit("in_progress"))
            .when(assigned_at <= as_of)
            .then(pl.lit("assigned"))
            .otherwise(pl.lit("created")),
        )
        .with_columns(
            completed_at=pl.when(pl.col("status") == "completed").then(pl.col("completed_at")),
            updated_at=pl.when(pl.col("status") == "completed")
            .then(pl.col("completed_at"))
            .when(pl.col("status") == "cancelled")
            .then(pl.col("created_at") + pl.duration(hours=3))
            .when(pl.col("status") == "in_progress")
            .then(started_at)
            .when(pl.col("status") == "assigned")
            .then(assigned_at)
            .otherwise(pl.col("created_at")),
            technician_id=pl.when(pl.col("status") != "created").then(pl.col("technician_id")),
            partner_id=pl.when(pl.col("status") != "created").then(pl.col("partner_id")),
        )
        .with_columns(
            completed_date=(pl.col("completed_at") + pl.duration(hours=8)).dt.date(),
            order_platform=pl.lit(None, pl.String),
            order_id=pl.lit(None, pl.String),
        )
    )


def _seconds(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype(np.int64) * 1_000_000).cast(pl.Duration("us"))


def _order_ids(rng: np.random.Generator, platform: pl.Series, created: pl.Series) -> pl.Series:
    """Platform-shaped order ids, unique by construction (the sequence is part of each id)."""
    n = platform.len()
    seq = pl.Series(rng.permutation(n) + 1)
    stamp = (created + BEIJING).dt.strftime("%Y%m%d%H%M%S")
    frame = pl.DataFrame({"platform": platform, "seq": seq, "stamp": stamp})
    # Taobao tids are 19 digits, beyond 2^53: a float parse would corrupt them.
    return frame.select(
        pl.when(pl.col("platform") == "taobao")
        .then(
            pl.format(
                "3{}{}",
                pl.col("stamp").str.slice(2, 6),
                pl.col("seq").cast(pl.String).str.zfill(12),
            )
        )
        .when(pl.col("platform") == "youzan")
        .then(pl.format("E{}{}", pl.col("stamp"), pl.col("seq").cast(pl.String).str.zfill(8)))
        .otherwise(
            pl.format(
                "37{}{}",
                pl.col("stamp").str.slice(2, 8),
                pl.col("seq").cast(pl.String).str.zfill(9),
            )
        )
    ).to_series()


def simulate_orders(
    rng: np.random.Generator, tickets: pl.DataFrame, ref: Reference, as_of: datetime
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(tickets with their order links, orders, refunds)."""
    installs = tickets.filter(
        (pl.col("category") == "install") & pl.col("rework_of").is_null()
    ).select("ticket_id", "city_code", "created_at", "completed_at", "status")
    linked = installs.filter(pl.Series(rng.random(installs.height) < ORDER_LINK_SHARE))
    n = linked.height
    presale = rng.random(n) < PRESALE_SHARE
    lead = np.where(
        presale, rng.integers(15, 41, size=n) * 86400, rng.integers(3600, 7 * 86400, size=n)
    )
    created = linked["created_at"] - _seconds(lead + rng.integers(0, 3600, size=n))
    price_yuan = rng.choice([1299, 1999, 2599, 3299, 3999, 4999, 6999, 8999, 12999], size=n)
    total = price_yuan * 100 - rng.choice([0, 0, 0, 10, 100], size=n)
    deposit = np.where(presale, (total * rng.uniform(0.1, 0.2, size=n) // 100) * 100, 0)
    paid = created + _seconds(rng.integers(60, 1800, size=n))
    final_paid = linked["created_at"] - _seconds(rng.integers(3600, 3 * 86400, size=n))
    shipped = paid + (linked["created_at"] - paid) * 0.4
    orders = pl.DataFrame(
        {
            "platform": _choice(rng, PLATFORM_SHARE, n),
            "is_presale": presale,
            "total_cents": total.astype(np.int64),
            "deposit_cents": deposit.astype(np.int64),
            "city_code": linked["city_code"],
            "item_count": np.where(rng.random(n) < 0.9, 1, 2).astype(np.int32),
            "created_at": created,
            "paid_at": paid,
            "final_paid_at": pl.Series(np.where(presale, 1, 0)).cast(pl.Boolean),
            "shipped_at": shipped,
            "completed_at": linked["completed_at"] + _seconds(rng.integers(0, 10 * 86400, size=n)),
            "closed_at": pl.Series([None] * n, dtype=canonical.TIMESTAMP),
            "ticket_id": linked["ticket_id"],
        }
    ).with_columns(final_paid_at=pl.when(pl.col("final_paid_at")).then(final_paid))
    orders = pl.concat([orders, _unserviced_orders(rng, orders, tickets, as_of)], how="diagonal")
    orders = orders.with_columns(order_id=_order_ids(rng, orders["platform"], orders["created_at"]))
    refunds, closed_by_refund = _refunds(rng, orders, as_of)
    orders = orders.join(closed_by_refund, on=["platform", "order_id"], how="left").with_columns(
        closed_at=pl.coalesce("closed_at", "refund_closed_at")
    )
    orders = order_state_at(orders, pl.lit(as_of)).join(
        ref.cities.select("city_code", "province_code"), on="city_code", how="left"
    )
    links = orders.filter(pl.col("ticket_id").is_not_null()).select(
        "ticket_id", order_platform="platform", order_id="order_id"
    )
    tickets = tickets.drop("order_platform", "order_id").join(
        links, on="ticket_id", how="left", maintain_order="left"
    )
    return tickets, orders.select(list(WORLD_ORDERS)).sort("platform", "order_id"), refunds


def _unserviced_orders(
    rng: np.random.Generator, serviced: pl.DataFrame, tickets: pl.DataFrame, as_of: datetime
) -> pl.DataFrame:
    """Orders that never led to a ticket: unpaid timeouts, cancellations, forfeited deposits."""
    n = int(serviced.height * UNLINKED_ORDER_SHARE)
    sample = serviced[rng.choice(serviced.height, size=n)]
    created = tickets["created_at"].sample(
        n, with_replacement=True, seed=int(rng.integers(1 << 31))
    )
    kind = rng.choice(
        ["unpaid", "cancelled", "forfeited", "pending"], size=n, p=[0.4, 0.3, 0.2, 0.1]
    )
    presale = kind == "forfeited"
    total = sample["total_cents"].to_numpy()
    deposit = np.where(presale, (total // 1000) * 100, 0)
    pending_created = pl.lit(as_of) - pl.duration(minutes=30) * pl.Series(
        rng.integers(1, 40, size=n)
    )
    return (
        sample.select("platform", "total_cents", "city_code", "item_count")
        .with_columns(
            is_presale=pl.Series(presale),
            deposit_cents=pl.Series(deposit.astype(np.int64)),
            created_at=pl.when(pl.Series(kind == "pending"))
            .then(pending_created)
            .otherwise(created),
        )
        .with_columns(
            paid_at=pl.when(pl.Series(np.isin(kind, ["cancelled", "forfeited"]))).then(
                pl.col("created_at") + pl.duration(minutes=5)
            ),
            final_paid_at=pl.lit(None, canonical.TIMESTAMP),
            shipped_at=pl.lit(None, canonical.TIMESTAMP),
            completed_at=pl.lit(None, canonical.TIMESTAMP),
            closed_at=pl.when(pl.Series(kind == "pending"))
            .then(None)
            .when(pl.Series(kind == "unpaid"))
            .then(pl.col("created_at") + pl.duration(hours=72))
            .when(pl.Series(kind == "forfeited"))
            .then(pl.col("created_at") + pl.duration(days=30))
            .otherwise(pl.col("created_at") + pl.duration(days=1)),
            ticket_id=pl.lit(None, pl.String),
        )
    )


def _refunds(
    rng: np.random.Generator, orders: pl.DataFrame, as_of: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Refunds weeks after the service, partial or full; a full refund that succeeds closes the
    order."""
    candidates = orders.filter(
        pl.col("ticket_id").is_not_null() & pl.col("completed_at").is_not_null()
    )
    chosen = candidates.filter(pl.Series(rng.random(candidates.height) < REFUND_SHARE))
    n = chosen.height
    full = rng.random(n) < 0.4
    paid = chosen["total_cents"].to_numpy()
    amount = np.where(full, paid, (paid * rng.uniform(0.1, 0.5, size=n) // 100) * 100)
    requested = chosen["completed_at"] + _seconds(rng.integers(86400, 60 * 86400, size=n))
    refunded = requested + _seconds(rng.integers(3600, 5 * 86400, size=n))
    outcome = rng.choice(["succeeded", "rejected"], size=n, p=[0.88, 0.12])
    refunds = pl.DataFrame(
        {
            "platform": chosen["platform"],
            "order_id": chosen["order_id"],
            "refund_cents": amount.astype(np.int64),
            "requested_at": requested,
            "resolved_at": refunded,
            "outcome": outcome,
            "full": full,
        }
    ).filter(pl.col("requested_at") <= as_of)
    refunds = refunds.with_columns(
        status=pl.when(pl.col("resolved_at") > as_of)
        .then(pl.lit("requested"))
        .otherwise(pl.col("outcome")),
        refund_id=pl.format(
            "{}{}",
            pl.col("order_id").str.slice(0, 6),
            pl.int_range(pl.len()).cast(pl.String).str.zfill(10),
        ),
    ).with_columns(
        refunded_at=pl.when(pl.col("status") == "succeeded").then(pl.col("resolved_at")),
        updated_at=pl.when(pl.col("status") == "requested")
        .then(pl.col("requested_at"))
        .otherwise(pl.col("resolved_at")),
    )
    closed = refunds.filter(pl.col("full") & (pl.col("status") == "succeeded")).select(
        "platform", "order_id", refund_closed_at="refunded_at"
    )
    return refunds.select(list(canonical.ORDER_REFUNDS)).sort("platform", "refund_id"), closed


def simulate_world(
    ref: Reference, tickets: int, *, seed: int = 7, months: int = 12, end_month: str = "2026-10"
) -> World:
    """The whole demo world: ``tickets`` tickets over ``months`` months ending with ``end_month``.

    The world is observed at the last instant of ``end_month`` (Beijing), so the last month holds
    tickets still in progress and refunds still pending.
    """
    rng = np.random.default_rng(seed)
    starts = month_starts(end_month, months)
    end_local = datetime.combine(_month_end(starts[-1]), datetime.min.time())
    as_of = end_local - BEIJING - timedelta(microseconds=1)
    simulated = simulate_tickets(rng, ref, tickets, starts, as_of)
    simulated, orders, refunds = simulate_orders(rng, simulated, ref, as_of)
    return World(
        tickets=_whole_seconds(simulated.select(list(canonical.TICKETS)).sort("ticket_id")),
        orders=_whole_seconds(orders),
        order_refunds=_whole_seconds(refunds),
        seed=seed,
    )


def _whole_seconds(frame: pl.DataFrame) -> pl.DataFrame:
    """Feeds carry whole seconds; so does the world, so that a round trip is exact."""
    return frame.with_columns(pl.col(pl.Datetime).dt.truncate("1s"))
