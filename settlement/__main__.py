"""``python -m settlement run | publish | close | approve | reject | withdraw | requests | verify |
statements | explain | check``: the settlement command line.

A publish or close is a request: with approvals on (the default) it waits for a second person
with the approving role (``--approve REQUEST --by WHO`` or ``approve REQUEST --by WHO``); with
``TIERBOARD_APPROVALS=off`` it takes effect at once.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from settlement.explain import explain, explain_payee_month, yuan
from settlement.rules import KnownCodes, document_from_yaml, load_rules, parse_rules, problems_of


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
    run.add_argument(
        "--full",
        action="store_true",
        help="recompute every payee and period, not only what changed since the last run",
    )
    run.add_argument("--db", help=db_help)
    run.add_argument(
        "--engine",
        choices=("local", "spark"),
        default="local",
        help="where the engine runs: in this process (default) or on Apache Spark (docs/spark.md)",
    )
    run.add_argument(
        "--master",
        default="local[2]",
        help="with --engine spark: the Spark master (local[N], spark://HOST:7077, yarn)",
    )
    run.add_argument(
        "--work",
        type=Path,
        help="with --engine spark: a folder every Spark worker sees, for the run's files"
        " (default: a temporary folder, enough for local[N])",
    )
    run.add_argument(
        "--max-group-rows",
        type=int,
        help="with --engine spark: refuse a payee's month of more tickets than this"
        " (default 5 000 000)",
    )
    run.add_argument(
        "--rules",
        type=Path,
        help="what-if: show per period what publishing this file on its effective date would"
        " change; writes nothing",
    )
    by_help = (
        "who: an email in the app store's users table (on a development machine also a demo"
        " identity: analyst, manager); default the current user"
    )
    approve_help = "approve pending request REQUEST instead (as --by, a second person)"
    publish = commands.add_parser(
        "publish", help="request publishing a rule file as the next version"
    )
    publish.add_argument("--approve", type=int, metavar="REQUEST", help=approve_help)
    publish.add_argument("--rules", type=Path)
    publish.add_argument("--effective", type=_day, help="YYYY-MM-DD (Beijing)")
    publish.add_argument("--note", help="why this version exists")
    publish.add_argument("--by", default=None, help=by_help)
    publish.add_argument(
        "--retroactive",
        action="store_true",
        help="allow an effective date inside a closed period (its changes become adjustments)",
    )
    publish.add_argument("--no-settle", action="store_true", help="do not re-settle afterwards")
    publish.add_argument("--db", help=db_help)
    close = commands.add_parser(
        "close", help="request closing a settled period: its lines never change"
    )
    close.add_argument("period", type=_period, nargs="?", help="YYYY-MM")
    close.add_argument("--approve", type=int, metavar="REQUEST", help=approve_help)
    close.add_argument("--db", help=db_help)
    close.add_argument("--by", default=None, help=by_help)
    close.add_argument("--note", default="period closed", help="why")
    close.add_argument("--no-settle", action="store_true", help=argparse.SUPPRESS)
    approve = commands.add_parser("approve", help="approve a pending request (a second person)")
    approve.add_argument("request", type=int)
    approve.add_argument("--by", default=None, help=by_help)
    approve.add_argument("--no-settle", action="store_true", help="do not re-settle afterwards")
    approve.add_argument("--db", help=db_help)
    reject = commands.add_parser("reject", help="reject a pending request with a reason")
    reject.add_argument("request", type=int)
    reject.add_argument("--by", default=None, help=by_help)
    reject.add_argument("--reason", required=True)
    reject.add_argument("--db", help=db_help)
    withdraw = commands.add_parser("withdraw", help="withdraw your own pending request")
    withdraw.add_argument("request", type=int)
    withdraw.add_argument("--by", default=None, help=by_help)
    withdraw.add_argument("--db", help=db_help)
    listing = commands.add_parser("requests", help="list pending requests (or every one)")
    listing.add_argument("--all", action="store_true", help="decided ones too")
    listing.add_argument("--db", help=db_help)
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


def _settle_after(db: Path, outcome: Any, no_settle: bool) -> None:
    from warehouse.settle import settle_warehouse

    if outcome.request.kind == "publish" and not no_settle and db.exists():
        settle_warehouse(db, echo=print)


def _said(outcome: Any) -> str:
    request = outcome.request
    if not outcome.applied:
        return (
            f"request {request.request_id} ({request.kind} {request.subject}) awaits approval:"
            f" {request.summary}\nnext: a second person with the approving role runs"
            f" `python -m settlement approve {request.request_id} --by WHO`"
            f" (or rejects it with `reject {request.request_id} --by WHO --reason ...`)"
        )
    if request.kind == "publish":
        reach = outcome.retroactive_into
        tail = f"; re-prices closed {', '.join(reach)}" if reach else ""
        return (
            f"request {request.request_id} applied: version {outcome.version} published by"
            f" {request.requested_by}, effective {request.payload['effective_date']}{tail}"
        )
    return (
        f"request {request.request_id} applied: period {request.payload['period']} closed"
        f" (requested by {request.requested_by})"
    )


def _approve(db: Path, request_id: int, by: str | None, no_settle: bool) -> int:
    from warehouse import requests

    who = by or getpass.getuser()
    outcome = requests.approve(db, request_id, by=who, role=requests.role_of(db, who))
    print(f"approved by {who}: " + _said(outcome))
    _settle_after(db, outcome, no_settle)
    return 0


def _publish(args: argparse.Namespace, db: Path) -> int:
    from warehouse import requests

    if args.approve is not None:
        return _approve(db, args.approve, args.by, args.no_settle)
    missing = [f"--{n}" for n in ("rules", "effective", "note") if getattr(args, n) is None]
    if missing:
        raise ValueError(f"publish needs {', '.join(missing)} (or --approve REQUEST)")
    author = args.by or getpass.getuser()
    document = document_from_yaml(args.rules.read_text(encoding="utf-8"))
    payload = {
        "document": document, "effective_date": args.effective.isoformat(), "note": args.note,
        "retroactive": args.retroactive,
    }  # fmt: skip
    parse_rules({**document, "effective_date": args.effective, "note": args.note,
                 "version": "draft"}, _known_codes())  # fmt: skip
    outcome = requests.submit(db, "publish", payload, by=author, role=requests.role_of(db, author))
    print(_said(outcome))
    _settle_after(db, outcome, args.no_settle)
    return 0


def _close(args: argparse.Namespace, db: Path) -> int:
    from warehouse import requests

    if args.approve is not None:
        return _approve(db, args.approve, args.by, args.no_settle)
    if args.period is None:
        raise ValueError("close needs a period YYYY-MM (or --approve REQUEST)")
    actor = args.by or getpass.getuser()
    outcome = requests.submit(
        db, "close", {"period": args.period, "note": args.note}, by=actor,
        role=requests.role_of(db, actor),
    )  # fmt: skip
    print(_said(outcome))
    return 0


def _decide(args: argparse.Namespace, db: Path) -> int:
    from warehouse import requests

    who = args.by or getpass.getuser()
    if args.command == "approve":
        return _approve(db, args.request, who, args.no_settle)
    if args.command == "reject":
        done = requests.reject(
            db, args.request, by=who, role=requests.role_of(db, who), reason=args.reason
        )
        print(f"request {done.request_id} rejected by {who}: {done.reason}")
    else:
        done = requests.withdraw(db, args.request, by=who)
        print(f"request {done.request_id} withdrawn by {who}")
    return 0


def _requests(args: argparse.Namespace, db: Path) -> int:
    from warehouse import requests

    shown = requests.listing(db, status=None if args.all else "pending")
    if not shown:
        print("no pending requests" if not args.all else "no requests")
    for r in shown:
        decided = f" by {r.decided_by}" if r.decided_by else ""
        why = f": {r.reason}" if r.reason else ""
        print(
            f"{r.request_id:>4} {r.status:<9} {r.kind:<7} {r.subject} — requested by"
            f" {r.requested_by} at {r.requested_at} ({r.note}){decided}{why}"
        )
        print(f"       {r.summary}")
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


def _engine(args: argparse.Namespace) -> Any:
    """The engine ``run --engine`` names; Spark is imported only when asked for."""
    from warehouse.settle import LOCAL

    if args.engine == "local":
        return LOCAL
    from distributed.engine import SparkEngine
    from distributed.job import MAX_GROUP_ROWS

    return SparkEngine(
        master=args.master, work=args.work, max_group_rows=args.max_group_rows or MAX_GROUP_ROWS
    )


def _run(args: argparse.Namespace) -> int:
    from warehouse.db import warehouse_path
    from warehouse.settle import (
        payee_month_lines,
        settle_warehouse,
        ticket_lines,
    )

    db = warehouse_path(args.db)
    if args.command == "run":
        if args.rules:
            return _what_if(db, args.rules)
        settle_warehouse(db, period=args.period, full=args.full, echo=print, engine=_engine(args))
    elif args.command == "publish":
        return _publish(args, db)
    elif args.command == "close":
        return _close(args, db)
    elif args.command in ("approve", "reject", "withdraw"):
        return _decide(args, db)
    elif args.command == "requests":
        return _requests(args, db)
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
