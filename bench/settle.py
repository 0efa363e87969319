"""`python -m bench settle --tickets N`: engine wall time, peak memory and rows/s.

The engine's lines are taken as a stream of batches, every column of every line computed, as a
writer into the warehouse would take them (`--collect` holds them all in memory instead: at 10 M
tickets the 14.7 M lines alone are about 3 GiB). Seconds of CPU are printed beside wall time:
on a shared machine they show the work done whatever else runs.

Beside it: the row-by-row reference engine (the test oracle) on a smaller sample, and a preview
of one tier-price edit on `--preview-tickets` tickets of history.
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import time
from pathlib import Path

import duckdb
import polars as pl

from bench._machine import describe, peak_rss_mib
from bench._synthetic import tickets_and_orders
from settlement.engine import settle
from settlement.preview import LiveSide, preview
from settlement.rules import RuleSet, load_rules, parse_rules, to_document

CORE_RULES = Path(__file__).with_name("core_rules.sql")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Tally:
    """Counts the lines of a stream of batches and adds up their amounts."""

    def __init__(self) -> None:
        self.lines = 0
        self.amount_cents = 0

    def __call__(self, batch: pl.DataFrame) -> None:
        self.lines += batch.height
        self.amount_cents += int(batch["amount_cents"].sum())


def run_engine(tickets: pl.DataFrame, orders: pl.DataFrame, rules: RuleSet, collect: bool) -> int:
    """Settle; the number of lines."""
    result = settle(tickets.lazy(), orders.lazy(), rules)
    if collect:
        lines, _ = pl.collect_all([result.lines, result.unpriced])
        return lines.height
    tally = Tally()
    pl.collect_all(
        [
            result.lines.sink_batches(tally, lazy=True, maintain_order=False),
            result.unpriced.sink_batches(lambda _: None, lazy=True),
        ]
    )
    return tally.lines


def duckdb_core_rules(tickets: pl.DataFrame, rules: RuleSet) -> tuple[float, int]:
    """Seconds for DuckDB to settle the core ticket rules over the same frame, and its lines."""
    ladder = rules.ladders["technician"]
    tables = {
        "tickets": tickets.drop("parts"),
        "tier_map": pl.DataFrame(
            list(rules.tier_map.items()), schema=["city_tier", "price_tier"], orient="row"
        ),
        "city_tiers": pl.DataFrame(
            list(rules.city_price_tiers.items()), schema=["city_code", "price_tier"], orient="row"
        ),
        "item_prices": pl.DataFrame(
            [(i, t, c) for i, by in rules.item_prices.items() for t, c in by.items()],
            schema={"item_code": pl.String, "price_tier": pl.String, "price_cents": pl.Int64},
            orient="row",
        ),
        "city_coefficients": pl.DataFrame(
            list(rules.region_coefficients.cities.items()),
            schema={"city_code": pl.String, "coef_bp": pl.Int64}, orient="row",
        ),
        "province_coefficients": pl.DataFrame(
            list(rules.region_coefficients.provinces.items()),
            schema={"province_code": pl.String, "coef_bp": pl.Int64}, orient="row",
        ),
        "discounts": pl.DataFrame(
            list(rules.member_discounts_bp.items()),
            schema={"member_level": pl.String, "discount_bp": pl.Int64}, orient="row",
        ),
        "brackets": pl.DataFrame(
            [(b.start, b.rate_bp) for b in ladder.brackets],
            schema={"start": pl.Int64, "rate_bp": pl.Int64}, orient="row",
        ),
    }  # fmt: skip
    con = duckdb.connect()
    try:
        for name, frame in tables.items():
            con.register(name, frame)
        params = {
            "urgent_bp": rules.surcharges.urgent_bp,
            "night_cents": rules.surcharges.night_cents,
            "window_days": rules.rework.window_days,
        }
        started = time.perf_counter()
        lines, _ = con.sql(CORE_RULES.read_text(encoding="utf-8"), params=params).fetchall()[0]
        return time.perf_counter() - started, int(lines)
    finally:
        con.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench settle")
    parser.add_argument("--tickets", type=int, default=10_000_000)
    parser.add_argument("--oracle-tickets", type=int, default=100_000)
    parser.add_argument("--preview-tickets", type=int, default=1_000_000)
    parser.add_argument("--collect", action="store_true", help="hold every line in memory")
    args = parser.parse_args(argv)
    print(f"machine: {describe()}  polars threads: {pl.thread_pool_size()}")
    rules = load_rules()

    started = time.perf_counter()
    tickets, orders = tickets_and_orders(args.tickets)
    built = time.perf_counter() - started
    before = peak_rss_mib()
    print(f"inputs     {args.tickets:>12,} tickets  built in {built:6.2f} s  ({before:,.0f} MiB)")

    started, cpu = time.perf_counter(), cpu_seconds()
    lines = run_engine(tickets, orders, rules, args.collect)
    took, engine_cpu = time.perf_counter() - started, cpu_seconds() - cpu
    taken = "held in memory" if args.collect else "streamed"
    print(
        f"engine     {lines:>12,} lines    {took:6.2f} s  {args.tickets / took:>12,.0f} "
        f"tickets/s  cpu {engine_cpu:6.2f} s  peak {peak_rss_mib():,.0f} MiB (inputs alone "
        f"{before:,.0f} MiB; lines {taken})"
    )
    engine_seconds = took

    cpu = cpu_seconds()
    took, core_lines = duckdb_core_rules(tickets, rules)
    duckdb_cpu = cpu_seconds() - cpu
    print(
        f"duckdb     {core_lines:>12,} lines    {took:6.2f} s  cpu {duckdb_cpu:6.2f} s  the core "
        f"ticket rules in one SQL query over the same frame; engine / duckdb = "
        f"{engine_seconds / took:.2f} (cpu {engine_cpu / duckdb_cpu:.2f})"
    )

    if importlib.util.find_spec("settlement.oracle") is not None:
        from settlement.oracle import settle_frames

        sample = tickets.head(args.oracle_tickets)
        started = time.perf_counter()
        settle_frames(sample, orders, rules)
        took = time.perf_counter() - started
        print(
            f"oracle     {sample.height:>12,} tickets  {took:6.2f} s  "
            f"{sample.height / took:>12,.0f} tickets/s (row by row, the test reference)"
        )

    history = tickets.head(args.preview_tickets)
    document = to_document(rules)
    document["item_prices"]["INS-AC-01"]["B"] += 1_000
    draft = parse_rules({**document, "version": "draft"})
    started = time.perf_counter()
    live = settle(history.lazy(), orders.lazy(), rules)
    live_lines, live_unpriced = pl.collect_all([live.lines, live.unpriced])
    full_settle = time.perf_counter() - started
    live_side = LiveSide.of(history.lazy(), live_lines, live_unpriced)  # once per history
    started = time.perf_counter()
    outcome = preview(history.lazy(), orders.lazy(), rules, draft, live_side=live_side)
    took = time.perf_counter() - started
    print(
        f"preview    {history.height:>12,} tickets  {took:6.2f} s  one tier edit against stored "
        f"live lines (Δ {outcome.delta_cents / 100:,.2f} yuan); a full settle of the same "
        f"history {full_settle:.2f} s: preview / full = {took / full_settle:.2f} (aim ≤ 0.25)"
    )
    return 0
