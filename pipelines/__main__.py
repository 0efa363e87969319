"""``python -m pipelines generate | ingest | publish | demo | pull | watch |
serve-demo-platforms``: feeds in (files or the shops' APIs), warehouse out."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
import time
from pathlib import Path

import duckdb
import polars as pl

from pipelines.connect_cli import connect_commands, run_connect
from pipelines.connectors import ConfigError
from pipelines.generate import DEFAULT_END_MONTH, generate
from pipelines.ingest import ingest
from pipelines.load import RunSummary
from pipelines.registry import FEED_SUFFIXES, feed_files
from warehouse.db import WarehouseError, WarehouseLocked, publish, serving_path, warehouse_path


class UsageError(Exception):
    """A bad argument or input the user can fix: reported in one line, exit code 2."""


def _count(text: str) -> int:
    value = int(text) if text.strip().isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _month(text: str) -> str:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month written YYYY-MM")
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def world_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--tickets", type=_count, default=200_000, help="tickets to simulate")
        command.add_argument(
            "--seed", type=int, default=7, help="random seed (same seed, same feeds)"
        )
        command.add_argument("--months", type=_count, default=12, help="months of history")
        command.add_argument(
            "--end-month",
            type=_month,
            default=DEFAULT_END_MONTH,
            help="last month simulated, YYYY-MM",
        )

    gen = commands.add_parser("generate", help="write demo feeds in each source's own format")
    gen.add_argument("--out", type=Path, required=True, help="folder to write the feeds into")
    world_options(gen)

    ing = commands.add_parser("ingest", help="load feed files or folders into the warehouse")
    ing.add_argument("paths", type=Path, nargs="+", help="feed files or folders")
    ing.add_argument("--db", help="warehouse file (default $TIERBOARD_DB or data/tierboard.duckdb)")
    ing.add_argument("--force", action="store_true", help="re-merge files loaded before")

    pub = commands.add_parser(
        "publish", help="publish a fresh serving snapshot from the warehouse (after a failure)"
    )
    pub.add_argument("--db", help="warehouse file (default $TIERBOARD_DB or data/tierboard.duckdb)")

    exp = commands.add_parser(
        "export",
        help="write settlement's inputs as Parquet partitioned by period (docs/export.md)",
    )
    exp.add_argument("--out", type=Path, required=True, help="folder to write the export into")
    exp.add_argument("--db", help="warehouse file (default $TIERBOARD_DB or data/tierboard.duckdb)")

    demo = commands.add_parser("demo", help="generate demo feeds, ingest and settle them")
    demo.add_argument(
        "--db", help="warehouse file (default $TIERBOARD_DB or data/tierboard.duckdb)"
    )
    demo.add_argument("--feeds", type=Path, help="where to keep the feeds (default: beside the db)")
    world_options(demo)
    connect_commands(commands)
    return parser


def _generate(args: argparse.Namespace, out: Path) -> list[Path]:
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    started = time.perf_counter()
    paths = generate(
        out, args.tickets, seed=args.seed, months=args.months, end_month=args.end_month
    )
    print(f"wrote {len(paths)} feed files to {out} in {time.perf_counter() - started:.1f} s")
    return paths


def _check_inputs(paths: list[Path], db: Path) -> None:
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        if path.is_file() and not os.access(path, os.R_OK):
            raise UsageError(f"{path}: not readable")
    if db.is_dir():
        raise UsageError(f"{db}: is a folder, not a warehouse file")
    if not any(True for _ in feed_files(paths)):
        names = ", ".join(str(p) for p in paths)
        raise UsageError(f"{names}: no feed files ({', '.join(FEED_SUFFIXES)}) found")


def _ingest(paths: list[Path], db: Path, force: bool) -> int:
    _check_inputs(paths, db)
    started = time.perf_counter()
    try:
        summaries = ingest(paths, db, force=force, echo=print)
    except WarehouseLocked as error:
        print(error, file=sys.stderr)
        return 3
    except WarehouseError as error:
        # A full disk, a damaged or newer warehouse: one clear line, and the attempt audited.
        print(f"ingest stopped: {error}", file=sys.stderr)
        _audit(db, paths, [], stopped=str(error))
        return 2
    failed = [s for s in summaries if s.status == "failed"]
    _audit(db, paths, summaries)
    print(
        f"{len(summaries)} files, {sum(s.inserted for s in summaries):,} rows inserted, "
        f"{sum(s.updated for s in summaries):,} updated, "
        f"{sum(s.quarantined for s in summaries):,} records quarantined, "
        f"{len(failed)} failed, in {time.perf_counter() - started:.1f} s → {db}"
    )
    return 1 if failed else 0


def _audit(
    db: Path, paths: list[Path], summaries: list[RunSummary], stopped: str | None = None
) -> None:
    """A manual ingest is an audited change (recorded once the load has committed: the app
    store must not be held for the length of a load, or dashboard publishes would wait).
    One that stopped part-way is audited too, with why."""
    import sqlite3

    from warehouse import app_store

    diff = (
        f"stopped: {stopped}"
        if stopped
        else f"{len(summaries)} files: {sum(s.inserted for s in summaries):,} inserted, "
        f"{sum(s.updated for s in summaries):,} updated, "
        f"{sum(s.quarantined for s in summaries):,} quarantined, "
        f"{sum(1 for s in summaries if s.status == 'failed')} failed"
    )
    try:
        with app_store.connect(app_store.app_store_path(db)) as con:
            app_store.audit(
                con,
                actor=getpass.getuser(),
                action="manual_ingest",
                subject=", ".join(str(p) for p in paths)[:500],
                diff=diff[:1000],
                reason="python -m pipelines",
            )
    except (sqlite3.Error, OSError) as error:  # the app store may sit on the same full disk
        print(f"could not write the audit row: {error}", file=sys.stderr)


def _export(db: Path, out: Path) -> int:
    from warehouse.export import ExportRefused, export

    if not serving_path(db).exists():
        raise UsageError(f"{db}: no warehouse here (build one with `python -m pipelines demo`)")
    started = time.perf_counter()
    try:
        done = export(db, out)
    except (ExportRefused, WarehouseError) as error:
        print(f"export refused: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in done.counts.items())
    print(
        f"exported {len(done.periods)} period(s) to {out} in "
        f"{time.perf_counter() - started:.1f} s: {counts}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (UsageError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (OSError, ValueError, duckdb.Error, pl.exceptions.PolarsError) as error:
        # what a user's file or folder can cause (unreadable, full disk, not a warehouse):
        # one line that names it, never a traceback
        detail = " ".join(str(error).split())
        print(f"error: {type(error).__name__}: {detail}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "generate":
        _generate(args, args.out)
        return 0
    if args.command in ("pull", "watch", "serve-demo-platforms"):
        return run_connect(args)
    db = warehouse_path(args.db)
    if db.is_dir():  # before a demo spends minutes generating feeds it cannot load
        raise UsageError(f"{db}: is a folder, not a warehouse file")
    if args.command == "ingest":
        return _ingest(args.paths, db, args.force)
    if args.command == "publish":
        try:
            print(f"published {publish(db)}")
        except WarehouseError as error:
            print(f"publish failed: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "export":
        return _export(db, args.out)
    feeds = args.feeds or db.parent / f"{db.stem}_feeds"
    _generate(args, feeds)
    status = _ingest([feeds], db, force=False)
    if status == 0:
        from warehouse.settle import SettlementFailed, settle_warehouse

        started = time.perf_counter()
        try:
            settle_warehouse(db, echo=print)
        except (WarehouseError, SettlementFailed) as error:
            print(f"settlement stopped: {error}", file=sys.stderr)
            return 2
        print(f"settled in {time.perf_counter() - started:.1f} s")
        from warehouse.app_store import app_store_path
        from warehouse.golden import seed_defaults

        if seed_defaults(app_store_path(db)):  # the demo's golden cases, once
            print("golden cases: the shipped examples added (Rules page)")
    return status


if __name__ == "__main__":
    sys.exit(main())
