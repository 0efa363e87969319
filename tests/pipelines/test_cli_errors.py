"""Every pipelines command, given what a user can get wrong, answers in one line: no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIERBOARD_APP_DB": str(tmp_path / "app.sqlite")}
    env.pop("TIERBOARD_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess[str], *names: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    message = result.stderr.strip().splitlines()[-1]
    for name in names:
        assert name in message, message


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["generate", "--out", "{tmp}/feeds", "--tickets", "0"], ["--tickets", "'0'"]),
        (["generate", "--out", "{tmp}/feeds", "--tickets", "ten"], ["--tickets", "'ten'"]),
        (["generate", "--out", "{tmp}/f", "--tickets", "5", "--end-month", "2026-13"], ["2026-13"]),
        (["generate", "--out", "{tmp}/f", "--tickets", "5", "--months", "-1"], ["--months"]),
        (["generate", "--out", "{tmp}/a_file", "--tickets", "5"], ["a_file", "not a folder"]),
        (["generate"], ["--out"]),
        (["ingest", "{tmp}/missing.jsonl", "--db", "{tmp}/w.duckdb"], ["missing.jsonl"]),
        (["ingest", "{tmp}/empty_folder", "--db", "{tmp}/w.duckdb"], ["empty_folder"]),
        (["ingest", "{tmp}/a_file", "--db", "{tmp}"], ["is a folder"]),
        (["ingest", "{tmp}/orders_202601.jsonl", "--db", "{tmp}/a_file"], ["a_file"]),
        (["ingest"], ["paths"]),
        (["demo", "--tickets", "-3", "--db", "{tmp}/w.duckdb"], ["--tickets"]),
        (["demo", "--tickets", "50", "--db", "{tmp}"], ["is a folder"]),
        (["nonsense"], ["nonsense"]),
    ],
)
def test_bad_arguments_and_paths_print_one_line(
    tmp_path: Path, args: list[str], names: list[str]
) -> None:
    (tmp_path / "a_file").write_text("not a warehouse, not a feed\n", encoding="utf-8")
    (tmp_path / "empty_folder").mkdir()
    (tmp_path / "orders_202601.jsonl").write_text('{"order_id": "1"}\n', encoding="utf-8")
    result = run(tmp_path, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert_one_line_error(result, *(n.replace("{tmp}", str(tmp_path)) for n in names))


def test_malformed_files_are_failed_or_quarantined_runs_never_a_crash(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "garbage.jsonl").write_bytes(b"\x00\xff\xfe binary \x89PNG\r\n\x1a\n")
    (feeds / "empty.jsonl").write_bytes(b"")
    (feeds / "header_only.csv").write_text("\ufeff工单号,状态\n", encoding="utf-8")
    (feeds / "trades_202601.jsonl").write_text(
        '{"tid": "1", "receiver_state": "浙江", "orders": [{"num": {"x": 1}}]}\nNaN\n[1, 2]\n',
        encoding="utf-8",
    )
    result = run(tmp_path, "ingest", str(feeds), "--db", str(tmp_path / "w.duckdb"))
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert result.returncode == 1  # unrecognised and unreadable files are failed runs
    assert "no source recognises this file's format" in out
    assert "ticket export lacks columns" in out
    trades = next(line for line in out.splitlines() if "trades_202601.jsonl" in line)
    assert trades.startswith("succeeded") and "read 3" in trades and "quarantined 3" in trades
