"""Replayable closed periods: freeze a period's settlement inputs at close, replay them later.

At close (``freeze_period``, inside the close's transaction) the period keeps, beside its lines:
the tickets and orders settlement read for it (``frozen_tickets``, ``frozen_orders``), and the rule
timeline in force (``frozen_rule_versions`` and the documents). When the period holds adjustments
of earlier closed periods, the inputs those corrections were computed from are frozen too, scoped
to the period they correct.

``verify_period`` replays the engine on them and compares every stored column of the period's
lines with the replay. What it proves, precisely:

- the period's own lines (tickets, chargebacks, partner monthly lines, ladders over the month,
  clawbacks of refunds known at close) are what the engine gives on the frozen inputs under the
  frozen timeline;
- each adjustment it holds is the difference between the corrected period recomputed on the
  inputs frozen for that correction and that period's stored lines plus the adjustments of it
  stored in the periods between (those are proven by verifying their own periods);
- its manual adjustment lines are the accepted disputes' adjustments as the app store recorded
  them at close (``frozen_manual_adjustments``);
- not proven: that a closed period with no adjustment in it needed none at the time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from settlement.frames import LINES, ORDERS_IN, TICKETS_IN
from settlement.manual import MANUAL, manual_lines
from settlement.replay import Difference, correction_lines, first_difference, own_lines
from settlement.rules import RuleSet, parse_rules
from settlement.timeline import Timeline
from warehouse.db import WarehouseMissing, connect_read_only, schema_version, unreadable

FROZEN_SINCE = 9  # the migration that added frozen inputs
PERIOD_MONTH = pl.col("completed_date").dt.strftime("%Y-%m")
# Every stored column a replay reproduces; ``amount`` (yuan) is checked against its cents too.
COMPARED = (
    *(n for n in LINES if n not in ("period",)), "origin_period", "origin_kind", "manual_cents",
    "dispute_id", "amount",
)  # fmt: skip
# Columns of stored lines the engine does not produce, and their value on the engine's lines.
NOT_ENGINE = {"manual_cents": (pl.Int64(), 0), "dispute_id": (pl.Int64(), None)}
MANUAL_SINCE = 11  # the migration that added frozen manual adjustments


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def scope_tickets(tickets: pl.DataFrame, scope: str) -> pl.DataFrame:
    """The tickets a replay of ``scope``'s lines reads: its own, the originals its reworks name,
    and every ticket serving one of its orders (the first of them earns order-based partner
    lines)."""
    own = tickets.filter(scope == PERIOD_MONTH)
    originals = tickets.filter(pl.col("ticket_id").is_in(own["rework_of"].drop_nulls().implode()))
    served = own.select("order_platform", "order_id").drop_nulls().unique()
    sharing = tickets.join(served, on=["order_platform", "order_id"], how="semi")
    return pl.concat([own, originals, sharing]).unique("ticket_id", keep="first").sort("ticket_id")


def _document(rules: RuleSet) -> str:
    return json.dumps(rules.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)


def freeze_period(
    con: duckdb.DuckDBPyConnection,
    period: str,
    *,
    tickets: pl.DataFrame,
    orders: pl.DataFrame,
    timeline: Timeline,
    actor: str,
    manual: pl.DataFrame,
) -> None:
    """Write the period's frozen inputs; the caller holds the transaction the close runs in.

    ``manual``: the accepted adjustments (``settlement.manual.MANUAL``) whose lines it holds."""
    corrects = [
        str(origin)
        for (origin,) in con.execute(
            "select distinct origin_period from settlement_lines where period = $p"
            " and line_kind = 'adjustment' order by 1",
            {"p": period},
        ).fetchall()
    ]
    scoped = pl.concat(
        [
            scope_tickets(tickets, scope).select(
                pl.lit(period).alias("period"), pl.lit(scope).alias("scope"), *TICKETS_IN
            )
            for scope in [period, *corrects]
        ]
    )
    served = scoped.select(platform="order_platform", order_id="order_id").drop_nulls().unique()
    kept_orders = orders.join(served, on=["platform", "order_id"], how="semi").unique(
        ["platform", "order_id"], keep="last", maintain_order=True
    )
    con.register("frozen_new_tickets", scoped)
    con.register(
        "frozen_new_orders", kept_orders.select(pl.lit(period).alias("period"), *ORDERS_IN)
    )
    try:
        con.execute("insert into frozen_tickets by name select * from frozen_new_tickets")
        con.execute("insert into frozen_orders by name select * from frozen_new_orders")
    finally:
        con.unregister("frozen_new_tickets")
        con.unregister("frozen_new_orders")
    for position, rules in enumerate(timeline.versions):
        document = _document(rules)
        digest = hashlib.sha256(document.encode("utf-8")).hexdigest()
        con.execute(
            "insert into frozen_rule_documents values ($d, $doc) on conflict do nothing",
            {"d": digest, "doc": document},
        )
        con.execute(
            "insert into frozen_rule_versions values ($p, $pos, $v, $day, $d)",
            {"p": period, "pos": position, "v": rules.version, "day": rules.effective_date,
             "d": digest},
        )  # fmt: skip
    con.register("frozen_new_manual", manual.with_columns(period=pl.lit(period)))
    try:
        con.execute("insert into frozen_manual_adjustments by name select * from frozen_new_manual")
    finally:
        con.unregister("frozen_new_manual")
    con.execute(
        "insert into frozen_periods values ($p, $at, $by, $corrects)",
        {"p": period, "at": _now(), "by": actor, "corrects": ",".join(corrects)},
    )


@dataclass(frozen=True)
class Verdict:
    period: str
    lines: int
    versions: str  # the frozen timeline, e.g. "0+3"
    corrects: list[str]
    difference: Difference | None

    @property
    def proven(self) -> bool:
        return self.difference is None

    def text(self) -> str:
        if self.difference is not None:
            return (
                f"period {self.period} does NOT verify: {self.difference.text()} "
                f"(replayed on its frozen inputs under the rule timeline {self.versions})"
            )
        text = (
            f"period {self.period} verified: its {self.lines:,} stored lines equal, in every "
            f"column, the engine's replay of the inputs frozen at close under the rule timeline "
            f"{self.versions}"
        )
        if self.corrects:
            text += (
                f"; its adjustments of {', '.join(self.corrects)} equal those periods recomputed"
                " on the inputs frozen for them, less what they held (their stored lines and"
                " the adjustments of them in the periods between)"
            )
        return text + "; not proven: that a closed period with no adjustment here needed none"


def _frozen_timeline(con: duckdb.DuckDBPyConnection, period: str) -> Timeline:
    rows = con.execute(
        "select v.version, d.document from frozen_rule_versions as v"
        " join frozen_rule_documents as d using (digest) where v.period = $p order by v.position",
        {"p": period},
    ).fetchall()
    return Timeline(
        tuple(parse_rules({**json.loads(doc), "version": version}) for version, doc in rows)
    )


def _frozen_inputs(
    con: duckdb.DuckDBPyConnection, period: str, scope: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    tickets = con.sql(
        "select * from frozen_tickets where period = $p and scope = $s",
        params={"p": period, "s": scope},
    ).pl()
    orders = con.sql("select * from frozen_orders where period = $p", params={"p": period}).pl()
    return (
        tickets.select(pl.col(n).cast(t) for n, t in TICKETS_IN.items()),
        orders.select(pl.col(n).cast(t) for n, t in ORDERS_IN.items()),
    )


def _stored_lines(
    con: duckdb.DuckDBPyConnection, where: str, params: dict[str, object]
) -> pl.DataFrame:
    columns = ", ".join(["period", *COMPARED])
    return con.sql(f"select {columns} from settlement_lines where {where}", params=params).pl()


def _with_amount(lines: pl.DataFrame) -> pl.DataFrame:
    """The ledger's yuan column, as the settlement run writes it: cents × 0.01, exactly."""
    return lines.with_columns(
        amount=pl.col("amount_cents").cast(pl.Decimal(18, 0)) * pl.lit(Decimal("0.01"))
    ).with_columns(pl.col("amount").cast(pl.Decimal(18, 2)))


def _canonical(lines: pl.DataFrame) -> pl.DataFrame:
    types = {
        **LINES, "origin_period": pl.String(), "origin_kind": pl.String(),
        **{name: dtype for name, (dtype, _value) in NOT_ENGINE.items()},
    }  # fmt: skip
    return lines.select(
        pl.col("period").cast(pl.String),
        *(pl.col(n).cast(types.get(n, pl.Decimal(18, 2))) for n in COMPARED),
    )


def replay(con: duckdb.DuckDBPyConnection, period: str) -> Verdict:
    statuses = dict(con.execute("select period, status from settlement_periods").fetchall())
    if statuses.get(period) != "closed":
        state = statuses.get(period, "unknown")
        raise ValueError(f"period {period} is {state}; only a closed period can be verified")
    found = (
        con.execute(
            "select corrects from frozen_periods where period = $p", {"p": period}
        ).fetchall()
        if schema_version(con) >= FROZEN_SINCE
        else []
    )
    if not found:
        raise ValueError(
            f"period {period} was closed before inputs were frozen at close: nothing to replay"
        )
    corrects = [p for p in str(found[0][0]).split(",") if p]
    timeline = _frozen_timeline(con, period)
    tickets, orders = _frozen_inputs(con, period, period)
    parts = [own_lines(tickets, orders, timeline, period)]
    for origin in corrects:
        booked = _stored_lines(
            con,
            "(period = $o and line_kind <> 'adjustment') or (line_kind = 'adjustment'"
            " and origin_period = $o and period > $o and period < $p)",
            {"o": origin, "p": period},
        )
        scope_tickets_, scope_orders = _frozen_inputs(con, period, origin)
        parts.append(
            correction_lines(scope_tickets_, scope_orders, timeline, origin, booked, period)
        )
    if schema_version(con) >= MANUAL_SINCE:
        manual = con.sql(
            "select dispute_id, period, payee_type, payee_id, ticket_id, amount_cents"
            " from frozen_manual_adjustments where period = $p",
            params={"p": period},
        ).pl()
        in_period = dict.fromkeys(manual["dispute_id"].to_list(), period)
        parts.append(manual_lines(manual.cast(dict(MANUAL)), in_period))
    replayed = _canonical(_with_amount(pl.concat([_canonical_engine(p) for p in parts])))
    stored = _canonical(_stored_lines(con, "period = $p", {"p": period}))
    difference = first_difference(stored, replayed, ["period", *COMPARED])
    versions = "+".join(rules.version for rules in timeline.versions)
    return Verdict(period, stored.height, versions, corrects, difference)


def _canonical_engine(lines: pl.DataFrame) -> pl.DataFrame:
    types = {**LINES, "origin_period": pl.String(), "origin_kind": pl.String()}
    return lines.select(
        *(pl.col(n).cast(t) for n, t in types.items()),
        *(
            (pl.col(n) if n in lines.columns else pl.lit(value)).cast(dtype).alias(n)
            for n, (dtype, value) in NOT_ENGINE.items()
        ),
    )


def verify_period(primary: Path, period: str) -> Verdict:
    """Replay ``period`` on the primary warehouse, read-only."""
    if not primary.exists():
        raise WarehouseMissing(f"no warehouse at {primary}")
    try:
        con = connect_read_only(primary)
    except duckdb.Error as error:
        raise unreadable(primary, error, snapshot=False) from error
    with con:
        return replay(con, period)
