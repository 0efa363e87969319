"""``python -m settlement run | close | explain | check``: the settlement command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from pydantic import ValidationError

from settlement.explain import explain
from settlement.rules import KnownCodes, load_rules, problems_of


def _known_codes() -> KnownCodes:
    from pipelines.reference import known_codes

    return KnownCodes(**known_codes())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m settlement", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    db_help = "warehouse file (default $TIERBOARD_DB or data/tierboard.duckdb)"
    run = commands.add_parser("run", help="settle the open periods (or one) into settlement_lines")
    run.add_argument("--period", help="YYYY-MM: settle only this open period")
    run.add_argument("--db", help=db_help)
    run.add_argument("--rules", type=Path, help="a rule file to use instead of published versions")
    close = commands.add_parser("close", help="close a settled period: its lines never change")
    close.add_argument("period", help="YYYY-MM")
    close.add_argument("--db", help=db_help)
    close.add_argument("--by", default=None, help="who closes it (default: the current user)")
    close.add_argument("--note", default="period closed", help="why")
    what = commands.add_parser("explain", help="a ticket's settlement lines in words")
    what.add_argument("ticket_id")
    what.add_argument("--db", help=db_help)
    check = commands.add_parser("check", help="validate a rule file")
    check.add_argument("--rules", type=Path, required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        try:
            rules = load_rules(args.rules, _known_codes())
        except ValidationError as error:
            for problem in problems_of(error):
                print(f"{args.rules}: {problem}", file=sys.stderr)
            return 1
        except (OSError, ValueError) as error:
            print(f"{args.rules}: {error}", file=sys.stderr)
            return 1
        print(f"{args.rules}: valid (version {rules.version}, effective {rules.effective_date})")
        return 0

    from warehouse.db import WarehouseLocked, warehouse_path
    from warehouse.settle import close_period, settle_warehouse, ticket_lines

    db = warehouse_path(args.db)
    try:
        if args.command == "run":
            settle_warehouse(db, period=args.period, rules_file=args.rules, echo=print)
        elif args.command == "close":
            actor = args.by or getpass.getuser()
            close_period(db, args.period, actor=actor, note=args.note)
            print(f"period {args.period} closed by {actor}")
        else:
            print(explain(args.ticket_id, ticket_lines(db, args.ticket_id)))
    except (ValueError, WarehouseLocked, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 1
    except ValidationError as error:
        for problem in problems_of(error):
            print(f"rules: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
