"""Settlement's inputs as Parquet files that any engine reads (Spark, DuckDB, Polars).

``python -m pipelines export --out DIR`` writes, from the warehouse and its app store, everything a
settlement run reads, in the layout ``docs/export.md`` documents (``LAYOUT`` names its version):
tickets with their reference attributes and orders with their refunds, partitioned by period
(hive style, ``period=YYYY-MM``), the reference tables, the periods with their status, the
stored lines of closed periods (what corrections are measured against), the accepted manual
adjustments and the rule timeline. An export is written beside ``DIR`` and moved into place
whole, so a reader never sees half of one; a folder that is not an export is never replaced.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from settlement.rules import to_document
from warehouse import disputes
from warehouse.app_store import app_store_path
from warehouse.db import connect_read_only, schema_version, serving_path
from warehouse.settle import STORED_LINES, rule_timeline, settlement_inputs

LAYOUT = "tierboard-settlement-inputs"
LAYOUT_VERSION = 1
MANIFEST = "layout.json"
REFERENCE_TABLES = ("provinces", "cities", "service_items", "parts", "technicians", "partners")


class ExportRefused(Exception):
    """The export cannot be written where it was asked to be (nothing was changed there)."""


@dataclass(frozen=True)
class Exported:
    folder: Path
    counts: dict[str, int]
    periods: dict[str, str]


def _copy(con: duckdb.DuckDBPyConnection, sql: str, target: Path, partitioned: bool) -> None:
    options = "format parquet, compression zstd"
    if partitioned:
        options += ", partition_by (period), filename_pattern 'part_{i}'"
    quoted = str(target).replace("'", "''")
    con.execute(f"copy ({sql}) to '{quoted}' ({options})")


def _inputs(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Tickets and orders exactly as a local run reads them (``frames`` types), by period.

    An order belongs to the period of the first ticket it serves, so an order serving tickets of
    two months is written once; orders no ticket serves are no input of settlement."""
    tickets, orders = settlement_inputs(con)
    tickets = tickets.with_columns(period=pl.col("completed_date").dt.strftime("%Y-%m"))
    served = (
        tickets.drop_nulls("order_id")
        .group_by(platform="order_platform", order_id="order_id")
        .agg(pl.col("period").min())
    )
    orders = orders.join(served, on=["platform", "order_id"], how="inner")
    return tickets.sort("ticket_id"), orders.sort("platform", "order_id")


def _replace(staged: Path, out: Path) -> None:
    """Move the finished export into place; the one it replaces is removed only after."""
    old = out.with_name(out.name + ".replaced")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    staged.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def _check_target(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportRefused(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise ExportRefused(
            f"{out}: is a folder with other files in it, not an export: choose an empty or new one"
        )


def export(primary: Path, out: Path) -> Exported:
    """Write the settlement inputs of the warehouse at ``primary`` (its serving snapshot, so a
    load in progress is neither waited for nor half read) to ``out``."""
    _check_target(out)
    staged = out.with_name(out.name + ".partial")
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    store = app_store_path(primary)
    try:
        with connect_read_only(serving_path(primary)) as con:
            counts, periods, schema = _write(con, staged)
        manual = disputes.manual_adjustments(store)
        manual.write_parquet(staged / "manual_adjustments.parquet")
        counts["manual_adjustments"] = manual.height
        timeline = rule_timeline(store)
        (staged / "rules.json").write_text(
            json.dumps(
                {"versions": [to_document(v) for v in timeline.versions]},
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
        manifest = {
            "layout": LAYOUT,
            "layout_version": LAYOUT_VERSION,
            "warehouse_schema_version": schema,
            "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "periods": periods,
            "counts": counts,
        }
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _replace(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return Exported(out, counts, periods)


def _write(
    con: duckdb.DuckDBPyConnection, staged: Path
) -> tuple[dict[str, int], dict[str, str], int]:
    counts: dict[str, int] = {}
    for name, frame in zip(("tickets", "orders"), _inputs(con), strict=True):
        counts[name] = frame.height
        if frame.height:
            con.register(f"export_{name}", frame)
            _copy(con, f"select * from export_{name}", staged / name, partitioned=True)
            con.unregister(f"export_{name}")
    reference = staged / "reference"
    reference.mkdir()
    for table in REFERENCE_TABLES:
        _copy(con, f"select * from {table}", reference / f"{table}.parquet", partitioned=False)
    periods = dict(
        con.execute("select period, status from settlement_periods order by period").fetchall()
    )
    _copy(
        con,
        "select period, status from settlement_periods order by period",
        staged / "periods.parquet",
        partitioned=False,
    )
    columns = ", ".join(STORED_LINES)
    closed = (
        f"select {columns} from settlement_lines where period in"
        " (select period from settlement_periods where status = 'closed')"
    )
    (count,) = con.execute(f"select count(*) from ({closed})").fetchall()[0]
    counts["closed_lines"] = int(count)
    if count:
        _copy(con, closed, staged / "closed_lines", partitioned=True)
    return counts, {str(k): str(v) for k, v in periods.items()}, schema_version(con)
