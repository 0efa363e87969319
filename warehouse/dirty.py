"""What changed since the last settlement run, for an incremental run (README, "Incremental
runs").

Each run leaves a *baseline* in the warehouse (migration 012): every settlement input ticket's
group keys, links and a hash of its row; those hashes combined per period, with the period's
status and a digest of the rule versions pricing it; every order's hash as settlement reads it
(refunds summed) and their combination; digests of the code and of the reference tables. The
next run compares:

1. the combined hashes per period and of all orders — one pass over tickets and orders, a few
   rows compared; when nothing changed, this is all an incremental run reads;
2. within the periods that differ, ticket by ticket: the changed tickets, as they are and as the
   baseline saw them (a ticket that moved keeps both its old and its new groups); orders one by
   one when their combination differs; periods by their rule digest.

From those it derives the dirty (payee, period) groups (``settlement_dirty_groups.sql`` says
which dependency reaches which group) and the tickets that settle them exactly
(``settlement_dirty_inputs.sql``). Everything runs inside the run's transaction, in temporary
tables of the writer's connection. A change of code or reference data is not followed row by
row: the run is full.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources

import duckdb
import polars as pl

from settlement.frames import ORDERS_IN, TICKETS_IN
from settlement.timeline import Timeline, period_end, period_start

GROUP_KEY = ["kind", "payee_id", "period"]  # kind: technician or partner
GROUPS: dict[str, pl.DataType] = {name: pl.String() for name in GROUP_KEY}
SCAN_TABLES = (
    "settlement_scan_periods",
    "settlement_scan_tickets",
    "settlement_scan_orders",
    "settlement_touched",
    "settlement_dirty_groups",
    "settlement_dirty_inputs",
    "settlement_line_changes",  # warehouse.settle's comparison of the lines
)
VIEWS = (
    "tickets",  # read_inputs' narrowed tickets, should a failure have left it
    "settlement_current_states",
    "settlement_input_tickets",
    "settlement_input_orders",
)
# What computes lines: a baseline left by other code is not trusted (a new release re-settles).
CODE = (  # package, folder, name prefix, name endings
    ("settlement", "", "", (".py", ".yaml")),
    ("warehouse", "", "", ("settle.py", "dirty.py")),
    ("warehouse", "sql", "settlement_", (".sql",)),
)


def query(name: str) -> str:
    return (resources.files("warehouse") / "sql" / f"{name}.sql").read_text(encoding="utf-8")


def group_kind(payee_type: pl.Expr) -> pl.Expr:
    """The kind of a line's group: a technician's, or a partner's (of whatever partner type)."""
    return (
        pl.when(payee_type == "technician")
        .then(pl.lit("technician"))
        .otherwise(pl.lit("partner"))
        .alias("kind")
    )


def in_groups(lines: pl.DataFrame, groups: pl.DataFrame, period: str = "period") -> pl.DataFrame:
    """The lines whose (kind, payee, ``period`` column) group is one of ``groups``."""
    keyed = lines.with_columns(group_kind(pl.col("payee_type")), pl.col(period).alias("_group"))
    return keyed.join(
        groups.rename({"period": "_group"}), on=["kind", "payee_id", "_group"], how="semi"
    ).drop("kind", "_group")


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the code that computes lines, as this process loaded it."""
    digest = hashlib.sha256()
    for package, folder, prefix, endings in CODE:
        root = resources.files(package)
        for item in sorted((root / folder if folder else root).iterdir(), key=lambda e: e.name):
            if item.is_file() and item.name.startswith(prefix) and item.name.endswith(endings):
                digest.update(f"{package}/{folder}/{item.name}\0".encode())
                digest.update(item.read_bytes())
    return digest.hexdigest()


def rules_digests(timeline: Timeline, periods: set[str]) -> dict[str, str]:
    """period → a digest of the rule versions pricing it (documents and effective dates)."""
    documents = [
        json.dumps(rules.model_dump(mode="json"), sort_keys=True) for rules in timeline.versions
    ]
    digests = {}
    for period in periods:
        first = timeline.index_on(period_start(period))
        last = timeline.index_on(period_end(period))
        text = "\n".join(documents[first : last + 1])
        digests[period] = hashlib.sha256(text.encode()).hexdigest()
    return digests


@dataclass(frozen=True)
class Baseline:
    run_id: int
    code_digest: str
    reference_digest: str
    orders: tuple[int, int]  # the orders' combined hash, how many
    periods: dict[str, tuple[str, str]]  # period → (status, rules digest) as last settled


def baseline(con: duckdb.DuckDBPyConnection) -> Baseline | None:
    rows = con.execute(
        "select run_id, code_digest, reference_digest, orders_fingerprint, orders"
        " from settlement_baseline"
    ).fetchall()
    if len(rows) != 1:
        return None
    run_id, code, reference, orders_fingerprint, orders = rows[0]
    periods = con.execute("select period, status, rules_digest from settlement_seen_periods")
    return Baseline(
        int(run_id),
        str(code),
        str(reference),
        (int(orders_fingerprint), int(orders)),
        {p: (s, d) for p, s, d in periods.fetchall()},
    )


@dataclass(frozen=True)
class Digests:
    """What a run compares as a whole: the reference tables and the orders."""

    reference: str
    orders: tuple[int, int]  # the orders' combined hash, how many


def digests(con: duckdb.DuckDBPyConnection) -> Digests:
    return Digests(reference_digest(con), orders_digest(con))


def reference_digest(con: duckdb.DuckDBPyConnection) -> str:
    return str(con.execute(query("settlement_reference_digest")).fetchall()[0][0])


def orders_digest(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    fingerprint, orders = con.execute(query("settlement_orders_digest")).fetchall()[0]
    return int(fingerprint), int(orders)


def open_inputs(con: duckdb.DuckDBPyConnection) -> None:
    """The settlement inputs as views of this connection (the same SQL the full run reads)."""
    for view, name in (
        ("settlement_input_tickets", "settlement_tickets"),
        ("settlement_input_orders", "settlement_orders"),
    ):
        con.execute(f"create or replace temp view {view} as {query(name)}")


def close(con: duckdb.DuckDBPyConnection) -> None:
    """Drop this module's temporary tables and views (after the run's commit or rollback)."""
    # Always by the temporary schema's name: ``tickets`` unqualified is the warehouse's table.
    for table in SCAN_TABLES:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"drop table if exists temp.{table}")
    for view in VIEWS:
        with contextlib.suppress(duckdb.Error):
            con.execute(f"drop view if exists temp.{view}")


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, sql: str, **params: object) -> None:
    con.execute(f"create or replace temp table {name} as {sql}", params or None)


def scan_periods(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Compare each period's combined ticket hashes with the baseline's; the periods of the
    inputs now."""
    _temp_table(con, "settlement_scan_periods", query("settlement_changed_periods"))
    rows = con.execute("select period from settlement_scan_periods where tickets > 0").fetchall()
    return {str(period) for (period,) in rows}


def _changed_tickets(con: duckdb.DuckDBPyConnection) -> bool:
    """``settlement_scan_tickets`` from the changed periods; whether there were any."""
    first, last = con.execute(
        "select min(period), max(period) from settlement_scan_periods where is_changed"
    ).fetchall()[0]
    tickets, found = query("settlement_changed_tickets"), first is not None
    if not found:  # nothing to compare ticket by ticket: skip the pass over the inputs
        tickets = f"select * from ({tickets}\n) where false"
        first = last = "1970-01"  # any period: nothing is read
    _temp_table(
        con,
        "settlement_scan_tickets",
        tickets,
        first_day=period_start(first),
        end_day=period_end(last) + timedelta(days=1),
    )
    return found


def find_changes(
    con: duckdb.DuckDBPyConnection, rule_periods: list[str], orders_changed: bool
) -> None:
    """The changed tickets and orders, the ticket states they touch and the dirty groups, as
    temporary tables (after ``scan_periods``)."""
    changed = _changed_tickets(con)
    orders = query("settlement_changed_orders")
    if not orders_changed:  # nothing to compare order by order: skip the pass
        orders = f"select * from ({orders}\n) where false"
    _temp_table(con, "settlement_scan_orders", orders)
    con.execute(
        "create or replace temp view settlement_current_states as"
        f" {query('settlement_current_states')}"
    )
    _temp_table(con, "settlement_touched", query("settlement_touched"))
    if rule_periods:
        con.execute(
            f"insert into settlement_touched {query('settlement_touched_by_rules')}",
            {"periods": rule_periods},
        )
    if orders_changed:
        con.execute(f"insert into settlement_touched {query('settlement_touched_by_orders')}")
    groups = query("settlement_dirty_groups")
    if not (changed or orders_changed or rule_periods):
        groups = f"select * from ({groups}\n) where false"
    _temp_table(con, "settlement_dirty_groups", groups)


def add_groups(con: duckdb.DuckDBPyConnection, groups: pl.DataFrame) -> None:
    if groups.is_empty():
        return
    con.register("more_groups", groups.select(GROUP_KEY))
    try:
        con.execute(
            "insert into settlement_dirty_groups select * from more_groups"
            " except select * from settlement_dirty_groups"
        )
    finally:
        con.unregister("more_groups")


def dirty_groups(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    frame = con.sql("select kind, payee_id, period from settlement_dirty_groups").pl()
    return frame.select(pl.col(n).cast(t) for n, t in GROUPS.items())


def touched_tickets(con: duckdb.DuckDBPyConnection) -> pl.Series:
    return con.sql("select distinct ticket_id from settlement_touched").pl()["ticket_id"]


def read_inputs(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The tickets and orders that settle the dirty groups exactly, as the full run reads them."""
    first, last = con.execute(
        "select min(period), max(period) from settlement_dirty_groups"
    ).fetchall()[0]
    _temp_table(
        con,
        "settlement_dirty_inputs",
        query("settlement_dirty_inputs"),
        first_day=period_start(first),
        end_day=period_end(last) + timedelta(days=1),
    )
    # The full run's own query, narrowed: settlement_tickets.sql reads ``tickets``, and a
    # temporary view of that name (searched before the warehouse's table) holds only the dirty
    # inputs' rows, so places and people are joined to those alone, and nothing is copied. The
    # view names the warehouse's table by its catalog: inside the temporary schema, ``main``
    # is the temporary one. The semi join keeps the result exact should the query ever name
    # the warehouse's table itself.
    # The inputs' completion dates bound the view's scan (tickets arrive roughly in completion
    # order, so the range skips most of the table before the join).
    (catalog,) = con.execute("select current_database()").fetchall()[0]
    warehouse_tickets = '"{}".main.tickets'.format(str(catalog).replace('"', '""'))
    first_day, last_day = con.execute(
        "select min(completed_date), max(completed_date) from settlement_dirty_inputs"
    ).fetchall()[0]
    in_range = (  # dates from DuckDB, written as literals: a view takes no parameters
        "false"
        if first_day is None
        else f"t.completed_date between date '{first_day.isoformat()}'"
        f" and date '{last_day.isoformat()}'"
    )
    con.execute(
        "create or replace temp view tickets as select t.* from"
        f" {warehouse_tickets} as t semi join settlement_dirty_inputs as n"
        f" on n.ticket_id = t.ticket_id where {in_range}"
    )
    try:
        tickets = con.sql(
            f"select i.* from ({query('settlement_tickets')}\n) as i"
            " semi join settlement_dirty_inputs as n on n.ticket_id = i.ticket_id"
        ).pl()
    finally:
        con.execute("drop view temp.tickets")
    # The orders these tickets serve, by the keys read already (not a second pass over tickets).
    con.register("dirty_orders", tickets.select("order_platform", "order_id").drop_nulls())
    try:
        orders = con.sql(
            "select o.* from settlement_input_orders as o semi join dirty_orders as t"
            " on t.order_platform = o.platform and t.order_id = o.order_id"
        ).pl()
    finally:
        con.unregister("dirty_orders")
    return (
        tickets.select(pl.col(n).cast(t) for n, t in TICKETS_IN.items()),
        orders.select(pl.col(n).cast(t) for n, t in ORDERS_IN.items()),
    )


def _save_state(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    periods: dict[str, tuple[str, str]],
    tickets: str,
    now: Digests | None,
) -> None:
    """Each period's status and rule digest with its tickets' combined hash (from ``tickets``:
    period, fingerprint, tickets); the digests."""
    con.execute("delete from settlement_seen_periods")
    con.register(
        "period_states",
        pl.DataFrame(
            [(p, s, d) for p, (s, d) in sorted(periods.items())],
            schema={"period": pl.String, "status": pl.String, "rules_digest": pl.String},
            orient="row",
        ),
    )
    try:
        con.execute(
            "insert into settlement_seen_periods select p.period, p.status, p.rules_digest,"
            " coalesce(t.fingerprint, 0), coalesce(t.tickets, 0)"
            f" from period_states as p left join ({tickets}) as t on t.period = p.period"
        )
    finally:
        con.unregister("period_states")
    now = now or digests(con)
    fingerprint, orders = now.orders
    con.execute("delete from settlement_baseline")
    con.execute(
        "insert into settlement_baseline values ($run, $code, $reference, $orders_fingerprint,"
        " $orders, now()::timestamp)",
        {
            "run": run_id,
            "code": code_digest(),
            "reference": now.reference,
            "orders_fingerprint": fingerprint,
            "orders": orders,
        },
    )


def save_full(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    periods: dict[str, tuple[str, str]],
    now: Digests | None = None,
) -> None:
    """The baseline of a run that settled every ticket: the previous baseline brought up to
    date row by row (rewriting a million unchanged rows would cost the full run a tenth of its
    time), or every row when there is none."""
    if con.execute("select count(*) from settlement_seen_periods").fetchall()[0][0]:
        scan_periods(con)
        _changed_tickets(con)
        _temp_table(con, "settlement_scan_orders", query("settlement_changed_orders"))
        save_incremental(con, run_id, periods, now)
        return
    con.execute(f"insert into settlement_seen_tickets {query('settlement_ticket_states')}")
    con.execute(
        "insert into settlement_seen_orders select platform, order_id, hash(o)"
        " from settlement_input_orders as o"
    )
    _save_state(
        con,
        run_id,
        periods,
        "select period, bit_xor(fingerprint) as fingerprint, count(*) as tickets"
        " from settlement_seen_tickets group by period",
        now,
    )


def save_incremental(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    periods: dict[str, tuple[str, str]],
    now: Digests | None = None,
) -> None:
    """The baseline after a run that compared with it: the changed rows replaced, the rest kept
    (after ``scan_periods`` and the changed tickets and orders)."""
    # The changed tickets' baseline rows are in the changed periods (their 'old' side): the
    # period bounds the scan, most of the table is skipped by its row groups' ranges.
    con.execute(
        "delete from settlement_seen_tickets"
        " where period in (select period from settlement_scan_tickets where side = 'old')"
        " and ticket_id in (select ticket_id from settlement_scan_tickets where side = 'old')"
    )
    con.execute(
        "insert into settlement_seen_tickets select ticket_id, period, technician_id,"
        " partner_id, order_platform, order_id, rework_of, fingerprint"
        " from settlement_scan_tickets where side = 'new'"
    )
    con.execute(
        "delete from settlement_seen_orders as s using settlement_scan_orders as o"
        " where s.platform = o.platform and s.order_id = o.order_id"
    )
    con.execute(
        "insert into settlement_seen_orders select platform, order_id, fingerprint"
        " from settlement_scan_orders where fingerprint is not null"
    )
    # The scan combined every period's hashes already.
    scanned = "select period, fingerprint, tickets from settlement_scan_periods"
    _save_state(con, run_id, periods, scanned, now)


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """No baseline: the next run is full (after a run that settled only part of the lines)."""
    for table in (
        "settlement_baseline",
        "settlement_seen_periods",
        "settlement_seen_tickets",
        "settlement_seen_orders",
    ):
        con.execute(f"delete from {table}")
