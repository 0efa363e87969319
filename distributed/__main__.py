"""``python -m distributed settle --inputs EXPORT --out DIR``: settle an export on Spark.

The job a cluster runs: it reads an export of the settlement inputs (``python -m pipelines
export``, docs/export.md), settles every ticket under the export's rule timeline and writes
``DIR/lines.parquet`` (settlement.frames.LINES), ``DIR/unpriced.parquet`` and ``DIR/run.json``
(the stages' times). Submit it as it is::

    spark-submit --master spark://HOST:7077 distributed/__main__.py settle --inputs … --out …

Corrections of closed periods and the writing of lines stay with the warehouse's run
(``python -m settlement run --engine spark``), which does all of this itself.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

if __package__ in (None, ""):  # run as a file by spark-submit: the project is its parent
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distributed.job import MAX_GROUP_ROWS, BadInputs, GroupTooLarge, settle_on_spark
from distributed.session import spark_session
from settlement.rules import parse_rules
from settlement.timeline import Timeline


def export_timeline(inputs: Path) -> Timeline:
    """The rule timeline an export carries (``rules.json``, version 0 first)."""
    versions = json.loads((inputs / "rules.json").read_text(encoding="utf-8"))["versions"]
    return Timeline(tuple(parse_rules(v) for v in versions))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m distributed", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    settle = commands.add_parser("settle", help="settle an export's tickets on Spark")
    settle.add_argument("--inputs", type=Path, required=True, help="an export's folder")
    settle.add_argument("--out", type=Path, required=True, help="where the lines are written")
    settle.add_argument(
        "--master",
        help="Spark master (local[N], spark://HOST:7077, yarn); default: spark-submit's, or"
        " local[2] when run with python",
    )
    settle.add_argument("--max-group-rows", type=int, default=MAX_GROUP_ROWS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not (args.inputs / "layout.json").exists():
        print(f"{args.inputs}: not an export (no layout.json): see docs/export.md", file=sys.stderr)
        return 2
    try:
        spark = spark_session(args.master)
        result = settle_on_spark(
            spark,
            args.inputs,
            export_timeline(args.inputs),
            args.out / "stages",
            max_group_rows=args.max_group_rows,
        )
    except (GroupTooLarge, BadInputs) as refused:
        print(f"refused: {refused}", file=sys.stderr)
        return 2
    result.lines.write_parquet(args.out / "lines.parquet")
    result.unpriced.write_parquet(args.out / "unpriced.parquet")
    run = {"buckets": result.buckets, "stages": [asdict(s) for s in result.stages]}
    (args.out / "run.json").write_text(json.dumps(run, indent=1), encoding="utf-8")
    print(
        f"{result.lines.height:,} lines, {result.unpriced.height:,} unpriced tickets → {args.out}"
    )
    for stage in result.stages:
        print(f"  {stage.name}: {stage.seconds:.1f} s ({stage.calls} engine calls)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
