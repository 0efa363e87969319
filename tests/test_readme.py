"""The README's promises that code can check."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pipelines.reference import known_codes
from settlement.rules import KnownCodes, parse_rules

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_opens_with_the_two_set_up_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).strip().splitlines()]
    assert commands == ["make run", "make test"]


def test_the_rule_file_example_is_valid() -> None:
    text = README.read_text(encoding="utf-8")
    example = re.search(r"<!-- rule-example -->\n```yaml\n(.*?)```", text, re.S)
    assert example is not None
    known = KnownCodes(**known_codes())
    rules = parse_rules(yaml.safe_load(example.group(1)), known)
    assert rules.ladders["technician"].brackets[1].rate_bp == 11_000
