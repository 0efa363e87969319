"""Connector commands of ``python -m pipelines``: pull, watch, serve-demo-platforms."""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from pipelines.connectors import REQUIRED, ConfigError, connectors_path, platform_settings
from pipelines.load import RunSummary
from warehouse.db import WarehouseLocked, warehouse_path

DB_HELP = "warehouse file (default $TIERBOARD_DB or data/tierboard.duckdb)"


def _beijing_time(text: str) -> datetime:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Beijing time written YYYY-MM-DD HH:MM:SS"
        ) from None


def connect_commands(commands: Any) -> None:
    pull = commands.add_parser("pull", help="pull changed orders and refunds from shop APIs")
    pull.add_argument("platform", choices=[*REQUIRED, "all"], help="a platform, or all configured")
    pull.add_argument("--since", type=_beijing_time, help="window start, Beijing time")
    pull.add_argument("--until", type=_beijing_time, help="window end, Beijing time (default now)")
    pull.add_argument("--db", help=DB_HELP)

    watch = commands.add_parser("watch", help="pull on a schedule, settle and publish")
    watch.add_argument("--every", default="5m", help="interval: 30s, 5m, 1h (default 5m)")
    watch.add_argument("--rounds", type=int, help="stop after this many rounds (default: never)")
    watch.add_argument("--db", help=DB_HELP)

    demo = commands.add_parser(
        "serve-demo-platforms", help="serve demo feeds through the platforms' API shapes"
    )
    demo.add_argument("--feeds", type=Path, required=True, help="a folder of demo feeds")
    demo.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    demo.add_argument("--write-config", type=Path, help="write a connectors file pointing here")
    demo.add_argument(
        "--speed", type=float, default=0.0,
        help="replay the history at this many times real time (1440: a day a minute)",
    )  # fmt: skip


def _settings(args: argparse.Namespace, db: Path) -> dict[str, dict[str, str]]:
    path = connectors_path(db)
    settings = platform_settings(path)
    if args.platform != "all":
        if args.platform not in settings:
            raise ConfigError(f"{path}: no [{args.platform}] connector configured")
        return {args.platform: settings[args.platform]}
    if not settings:
        raise ConfigError(f"{path}: no connector configured (see README, Connecting to the shops)")
    return settings


def _stop(signum: int, frame: object) -> None:
    del signum, frame
    raise KeyboardInterrupt  # an open load rolls back (its transaction never commits)


def run_connect(args: argparse.Namespace) -> int:
    if args.command == "serve-demo-platforms":
        return _serve(args)
    db = warehouse_path(args.db)
    if db.is_dir():
        raise ConfigError(f"{db}: is a folder, not a warehouse file")
    try:
        if args.command == "pull":
            from pipelines.pull import pull

            if args.since and args.until and args.since >= args.until:
                raise ConfigError(f"--since {args.since} is not before --until {args.until}")
            summaries = pull(
                db, _settings(args, db), since=args.since, until=args.until, echo=print
            )
            _audit(db, args.platform, summaries)
            return 1 if any(s.status == "failed" for s in summaries) else 0
        from pipelines.watch import parse_every, watch

        every = parse_every(args.every)
        platform_settings(connectors_path(db))  # a broken file fails now, not in a round
        signal.signal(signal.SIGTERM, _stop)  # systemd's stop: end like Ctrl-C, nothing half-done
        return watch(db, connectors_path(db), every, rounds=args.rounds)
    except WarehouseLocked as error:
        print(error, file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130


def _audit(db: Path, platform: str, summaries: list[RunSummary]) -> None:
    """A manual pull is an audited change, as a manual ingest is (``watch`` is the schedule)."""
    from warehouse import app_store

    failed = [s.feed for s in summaries if s.status == "failed"]
    with app_store.connect(app_store.app_store_path(db)) as con:
        app_store.audit(
            con,
            actor=getpass.getuser(),
            action="manual_pull",
            subject=f"{platform}: " + ", ".join(sorted({s.file for s in summaries}))[:480],
            diff=(
                f"{len(summaries)} runs: {sum(s.inserted for s in summaries):,} inserted, "
                f"{sum(s.updated for s in summaries):,} updated, "
                f"{sum(s.quarantined for s in summaries):,} quarantined, "
                f"failed: {', '.join(failed) or 'none'}"
            ),
            reason="python -m pipelines pull",
        )


def _serve(args: argparse.Namespace) -> int:
    from pipelines.platform_server import connectors_toml, demo_shop, serving

    if not args.feeds.is_dir():
        raise ConfigError(f"{args.feeds}: no such folder of demo feeds")
    shop = demo_shop(args.feeds)
    if args.speed > 0:
        shop.replay(args.speed)
    counts = ", ".join(f"{feed} {len(records):,}" for feed, records in shop.records.items())
    with serving(shop, args.port) as url:
        print(f"serving {counts} on {url} (Ctrl-C stops)")
        if args.write_config:
            args.write_config.write_text(connectors_toml(url, shop), encoding="utf-8")
            print(f"wrote {args.write_config}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
