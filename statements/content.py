"""What a statement says, independent of its format: totals per currency, the ladder step the
month reached, file names a person recognises."""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from settlement.explain import money, yuan
from settlement.rules import RuleSet
from statements.words import Words


def totals(lines: pl.DataFrame) -> list[tuple[str, str]]:
    """(currency, figure) of the lines: the CNY total (as My earnings shows it), then what is
    paid in each other payout currency."""
    shown = [("CNY", yuan(int(lines["amount_cents"].sum())))]
    for currency in sorted(set(lines["currency"].to_list()) - {"CNY"}):
        local = lines.filter(pl.col("currency") == currency)["amount_local_cents"].sum()
        shown.append((currency, money(int(local), currency)))
    return shown


@dataclass(frozen=True)
class LadderOutcome:
    counted: int  # ticket lines that count on the ladder (reworks do not)
    rate_bp: int  # the highest rate the month reached
    step: int  # 1-based bracket of that rate
    steps: int
    version: str


def ladder_outcome(
    lines: pl.DataFrame, payee_type: str, rules: dict[str, RuleSet]
) -> LadderOutcome | None:
    """The step of its ladder the payee's month reached, under the version of its last ticket;
    None when that version has no ladder for the payee's type or there are no ticket lines."""
    tickets = lines.filter((pl.col("line_kind") == "ticket") & ~pl.col("is_rework"))
    if tickets.is_empty():
        return None
    last = tickets.sort("completed_date", "ticket_id", nulls_last=True).row(-1, named=True)
    version = str(last["rule_version"])
    ruleset = rules.get(version)
    ladder = ruleset.ladders.get(payee_type) if ruleset else None  # type: ignore[call-overload]
    if ladder is None:
        return None
    top = int(tickets["ladder_rate_bp"].max())  # type: ignore[arg-type]
    rates = [bracket.rate_bp for bracket in ladder.brackets]
    step = max((i for i, rate in enumerate(rates, start=1) if rate == top), default=1)
    return LadderOutcome(tickets.height, top, step, len(rates), version)


def _safe(text: str) -> str:
    return re.sub(r"[\\/:*?\"<>|\s]+", "-", text).strip("-")


def pdf_name(words: Words, period: str, payee_id: str, name: str) -> str:
    """``结算单_2026-10_T01001_张三.pdf``."""
    _ = words.message
    parts = [_("Statement"), period, payee_id, name if name != payee_id else ""]
    return "_".join(_safe(p) for p in parts if p) + ".pdf"


def workbook_name(words: Words, period: str) -> str:
    """``结算_2026-10.xlsx``."""
    _ = words.message
    return f"{_safe(_('Settlement'))}_{period}.xlsx"


def zip_name(words: Words, period: str, payee_type: str | None = None) -> str:
    """``结算单_2026-10.zip``, or of one payee type ``结算单_2026-10_技师.zip``."""
    _ = words.message
    kind = f"_{_safe(words.code('payee_type', payee_type))}" if payee_type else ""
    return f"{_safe(_('Statements'))}_{period}{kind}.zip"
