"""Every settlement command, given what a user can get wrong, answers in one line: no traceback,
a non-zero exit, and the file, field or period named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from settlement.rules import DEFAULT_RULES

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIERBOARD_APP_DB": str(tmp_path / "app.sqlite")}
    env.pop("TIERBOARD_DB", None)
    return subprocess.run(
        [sys.executable, "-m", "settlement", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip


def files(tmp_path: Path) -> None:
    (tmp_path / "syntax.yaml").write_text("version: [unclosed\nnote: x\n", encoding="utf-8")
    (tmp_path / "list.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00bad")
    (tmp_path / "deep.yaml").write_text("a: " + "[" * 5_000 + "]" * 5_000, encoding="utf-8")
    poison = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    poison["item_prices"]["INS-AC-01"]["A"] = 2**62
    (tmp_path / "poison.yaml").write_text(yaml.safe_dump(poison), encoding="utf-8")
    dated = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    dated["version"] = "2026-01-01"  # YAML reads this as a date, not text
    (tmp_path / "dated.yaml").write_text(
        yaml.safe_dump(dated).replace("'2026-01-01'", "2026-01-01")
    )
    (tmp_path / "folder").mkdir()


CASES = [
    (["check", "--rules", "{tmp}/missing.yaml"], ["missing.yaml"]),
    (["check", "--rules", "{tmp}/syntax.yaml"], ["syntax.yaml", "line"]),
    (["check", "--rules", "{tmp}/list.yaml"], ["one mapping"]),
    (["check", "--rules", "{tmp}/binary.yaml"], ["binary.yaml", "UTF-8"]),
    (["check", "--rules", "{tmp}/deep.yaml"], ["deep.yaml", "nested too deeply"]),
    (["check", "--rules", "{tmp}/poison.yaml"], ["item_prices.INS-AC-01.A", "less than or equal"]),
    (["check", "--rules", "{tmp}/dated.yaml"], ["version", "valid string"]),
    (["check", "--rules", "{tmp}/folder"], ["folder"]),
    (["run", "--db", "{tmp}/none.duckdb", "--period", "2026-13"], ["2026-13"]),
    (["run", "--rules", "{tmp}/syntax.yaml", "--db", "{tmp}/none.duckdb"], ["syntax.yaml"]),
    (["run", "--rules", "{tmp}/missing.yaml", "--db", "{tmp}/none.duckdb"], ["missing.yaml"]),
    (["close", "2026-10", "--db", "{tmp}/none.duckdb"], ["2026-10"]),
    (["close", "October", "--db", "{tmp}/none.duckdb"], ["October"]),
    (["verify", "2026-10", "--db", "{tmp}/none.duckdb"], ["no warehouse", "none.duckdb"]),
    (["verify", "October", "--db", "{tmp}/none.duckdb"], ["October"]),
    (["verify", "2026-10", "--db", "{tmp}/syntax.yaml"], ["syntax.yaml"]),
    (["statements", "2026-10", "--out", "{tmp}/o", "--db", "{tmp}/none.duckdb"], ["no warehouse"]),
    (["statements", "2026-10", "--db", "{tmp}/none.duckdb"], ["--out"]),
    (["explain", "--db", "{tmp}/none.duckdb"], ["ticket id"]),
    (["explain", "T1", "--db", "{tmp}/none.duckdb"], ["none"]),
    (["explain", "--payee", "T00001", "--db", "{tmp}/none.duckdb"], ["--period"]),
    (
        ["publish", "--rules", "{tmp}/poison.yaml", "--effective", "2026-10-01", "--note", "x",
         "--db", "{tmp}/none.duckdb"],
        ["item_prices.INS-AC-01.A"],
    ),
    (
        ["publish", "--rules", str(DEFAULT_RULES), "--effective", "2026-02-30", "--note", "x"],
        ["2026-02-30"],
    ),
    (
        ["publish", "--rules", str(DEFAULT_RULES), "--effective", "2026-10-01", "--note", " ",
         "--db", "{tmp}/none.duckdb"],
        ["note"],
    ),
    (["approve", "99", "--by", "manager", "--db", "{tmp}/none.duckdb"], ["no request 99"]),
    (["close", "--approve", "7", "--db", "{tmp}/none.duckdb"], ["no request 7"]),
    (["reject", "3", "--reason", "no", "--db", "{tmp}/none.duckdb"], ["no request 3"]),
    (["approve", "first", "--db", "{tmp}/none.duckdb"], ["first"]),
    (["close", "--db", "{tmp}/none.duckdb"], ["period", "--approve"]),
    (["publish", "--note", "x", "--db", "{tmp}/none.duckdb"], ["--rules", "--effective"]),
    (["nonsense"], ["nonsense"]),
]  # fmt: skip


@pytest.mark.parametrize(("args", "names"), CASES)
def test_a_bad_request_is_one_line_naming_what_is_wrong(
    tmp_path: Path, args: list[str], names: list[str]
) -> None:
    files(tmp_path)
    result = run(tmp_path, *(a.replace("{tmp}", str(tmp_path)) for a in args))
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    message = result.stderr.strip()
    assert message, result.stdout
    for name in names:
        assert name in message, message
