"""``python -m settlement run | publish | close | verify | statements | explain | check``: the
settlement command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from settlement.explain import explain, explain_payee_month, yuan
from settlement.rules import KnownCodes, document_from_yaml, load_rules, problems_of


def _known_codes() -> KnownCodes:
    from pipelines.reference import known_codes

    return KnownCodes(**known_codes())


def _period(text: str) -> str:
    try:
        date.fromisoformat(f"{text}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a period YYYY-MM: {text!r}") from None
    return text


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m settlement", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    db_help = "warehouse file (default $TIERBOARD_DB or data/tierboard.duckdb)"
    run = commands.add_parser(
        "run", help="settle the open periods (or one) under the published rule timeline"
    )
    run.add_argument("--period", type=_period, help="YYYY-MM: settle only this open period")
    run.add_argument("--db", help=db_help)
    run.add_argument(
        "--rules",
        type=Path,
        help="what-if: show per period what publishing this file on its effective date would"
        " change; writes nothing",
    )
    publish = commands.add_parser("publish", help="publish a rule file as the next version")
    publish.add_argument("--rules", type=Path, required=True)
    publish.add_argument("--effective", type=_day, required=True, help="YYYY-MM-DD (Beijing)")
    publish.add_argument("--note", required=True, help="why this version exists")
    publish.add_argument("--by", default=None, help="who publishes (default: the current user)")
    publish.add_argument(
        "--retroactive",
        action="store_true",
        help="allow an effective date inside a closed period (its changes become adjustments)",
    )
    publish.add_argument("--no-settle", action="store_true", help="do not re-settle afterwards")
    publish.add_argument("--db", help=db_help)
    close = commands.add_parser("close", help="close a settled period: its lines never change")
    close.add_argument("period", type=_period, help="YYYY-MM")
    close.add_argument("--db", help=db_help)
    close.add_argument("--by", default=None, help="who closes it (default: the current user)")
    close.add_argument("--note", default="period closed", help="why")
    verify = commands.add_parser(
        "verify",
        help="replay a closed period on the inputs frozen at its close and prove its stored lines",
    )
    verify.add_argument("period", type=_period, help="YYYY-MM")
    verify.add_argument("--db", help=db_help)
    statements = commands.add_parser(
        "statements",
        help="write every payee's PDF statement and the period's Excel workbook (closed periods)",
    )
    statements.add_argument("period", type=_period, help="YYYY-MM (a closed period)")
    statements.add_argument("--out", type=Path, required=True, help="folder to write into")
    statements.add_argument("--payee", help="only this payee's PDF (no workbook)")
    statements.add_argument("--db", help=db_help)
    what = commands.add_parser(
        "explain", help="a ticket's settlement lines in words, or a payee's month"
    )
    what.add_argument("ticket_id", nargs="?")
    what.add_argument("--payee", help="a technician or partner id (with --period)")
    what.add_argument("--period", type=_period, help="YYYY-MM (with --payee)")
    what.add_argument("--db", help=db_help)
    check = commands.add_parser("check", help="validate a rule file")
    check.add_argument("--rules", type=Path, required=True)
    return parser


def _check(path: Path) -> int:
    rules = load_rules(path, _known_codes())
    print(f"{path}: valid (version {rules.version}, effective {rules.effective_date})")
    return 0


def _what_if(db: Path, path: Path) -> int:
    from warehouse.publish import what_if

    draft = load_rules(path, _known_codes()).model_copy(update={"version": "what-if"})
    impact = what_if(db, draft)
    print(f"what-if: {path} effective {draft.effective_date}; nothing written")
    for row in impact.iter_rows(named=True):
        change = "no change"
        if row["lines_changed"]:
            sign = "+" if row["delta_cents"] > 0 else ""
            change = (
                f"{yuan(row['now_cents'])} → {yuan(row['draft_cents'])} "
                f"({sign}{yuan(row['delta_cents'])}), {row['lines_changed']:,} lines"
            )
            if row["status"] == "closed":
                change += " (as adjustments in the first open period after it)"
        print(f"  {row['period']} {row['status']:<6} {change}")
    return 0


def _publish(args: argparse.Namespace, db: Path) -> int:
    from warehouse.publish import publish
    from warehouse.settle import settle_warehouse

    author = args.by or getpass.getuser()
    document = document_from_yaml(args.rules.read_text(encoding="utf-8"))
    done = publish(
        db, document, effective_date=args.effective, note=args.note, author=author,
        retroactive=args.retroactive,
    )  # fmt: skip
    reach = (
        f"; re-prices closed {', '.join(done.retroactive_into)}" if done.retroactive_into else ""
    )
    print(f"version {done.version} published by {author}, effective {args.effective}{reach}")
    if not args.no_settle and db.exists():
        settle_warehouse(db, echo=print)
    return 0


def _statements(args: argparse.Namespace, db: Path) -> int:
    from statements.files import write_statements
    from warehouse.statements import read_statements

    data = read_statements(db, args.period, args.payee)
    written = write_statements(data, args.out, workbook=args.payee is None)
    pdfs = [path for path in written if path.suffix == ".pdf"]
    books = [path.name for path in written if path.suffix == ".xlsx"]
    named = pdfs[0].name if len(pdfs) == 1 else f"{len(pdfs):,} PDF statements"
    print(f"{args.period}: {' and '.join([named, *books])} written to {args.out}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from warehouse.db import warehouse_path
    from warehouse.settle import (
        close_period,
        payee_month_lines,
        settle_warehouse,
        ticket_lines,
    )

    db = warehouse_path(args.db)
    if args.command == "run":
        if args.rules:
            return _what_if(db, args.rules)
        settle_warehouse(db, period=args.period, echo=print)
    elif args.command == "publish":
        return _publish(args, db)
    elif args.command == "close":
        actor = args.by or getpass.getuser()
        close_period(db, args.period, actor=actor, note=args.note)
        print(f"period {args.period} closed by {actor}")
    elif args.command == "statements":
        return _statements(args, db)
    elif args.command == "verify":
        from warehouse.frozen import verify_period

        verdict = verify_period(db, args.period)
        print(verdict.text())
        return 0 if verdict.proven else 1
    elif args.payee or args.period:
        if not (args.payee and args.period):
            raise ValueError("explain a payee's month with both --payee ID and --period YYYY-MM")
        print(
            explain_payee_month(
                args.payee, args.period, payee_month_lines(db, args.payee, args.period)
            )
        )
    elif args.ticket_id:
        print(explain(args.ticket_id, ticket_lines(db, args.ticket_id)))
    else:
        raise ValueError("explain needs a ticket id, or --payee ID --period YYYY-MM")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from statements.fonts import NoCjkFont
    from warehouse.db import WarehouseError
    from warehouse.settle import SettlementFailed

    source = getattr(args, "rules", None)
    try:
        return _check(args.rules) if args.command == "check" else _run(args)
    except ValidationError as error:
        for problem in problems_of(error):
            print(f"{source or 'rules'}: {problem}", file=sys.stderr)
    except (ValueError, OSError, WarehouseError, SettlementFailed, NoCjkFont) as error:
        text = str(error) or type(error).__name__
        if isinstance(error, OSError) and error.filename and str(error.filename) not in text:
            text = f"{error.filename}: {text}"
        print(
            text.splitlines()[0] if isinstance(error, SettlementFailed) else text, file=sys.stderr
        )
    return 1


if __name__ == "__main__":
    sys.exit(main())
