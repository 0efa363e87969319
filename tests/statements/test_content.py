"""What a statement says, format aside: words of adjustment lines, the ladder step, file names,
the font setting."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from settlement.explain import line_words, parts
from settlement.frames import BREAKDOWN
from statements.content import ladder_outcome, pdf_name, totals
from statements.fonts import DEBIAN_FONT, SETTING, NoCjkFont, cjk_font
from statements.words import Words
from warehouse.settle import shipped_rules

WORDS = Words("zh")


def line(**values: object) -> dict[str, object]:
    return {
        "period": "2026-08", "line_kind": "ticket", "payee_type": "technician",
        "payee_id": "T00042", "ticket_id": "GD1", "origin_period": None, "origin_kind": None,
        "price_tier": None, "ladder_rate_bp": 10_000, **dict.fromkeys(BREAKDOWN, 0),
        "amount_cents": 0, "currency": "CNY", "amount_local_cents": 0, "is_rework": False,
        "is_refunded": False, "rule_version": "0", "completed_date": date(2026, 8, 3),
    } | values  # fmt: skip


def test_an_adjustment_of_a_monthly_line_reads_as_that_monthly_line() -> None:
    monthly = line(line_kind="partner_monthly", base_cents=50_000, amount_cents=50_000)
    adjusted = line(
        line_kind="adjustment", origin_kind="partner_monthly", origin_period="2026-07",
        base_cents=-1_200, amount_cents=-1_200,
    )  # fmt: skip
    assert parts(monthly) == [("monthly base fee", 50_000)]
    assert parts(adjusted) == [("monthly base fee", -1_200)]
    words = line_words(adjusted, WORDS.message, WORDS.code)
    assert words.startswith("-¥12.00 · ") and "规则版本 0" in words


def test_the_ladder_step_is_the_bracket_of_the_highest_rate_reached() -> None:
    rules = shipped_rules()
    ladder = rules.ladders["technician"]
    top = ladder.brackets[-1].rate_bp
    lines = pl.DataFrame(
        [
            line(ticket_id="GD1", ladder_rate_bp=ladder.brackets[0].rate_bp),
            line(ticket_id="GD2", ladder_rate_bp=top, completed_date=date(2026, 8, 9)),
            line(ticket_id="GD3", ladder_rate_bp=10_000, is_rework=True),
        ]
    )
    outcome = ladder_outcome(lines, "technician", {"0": rules})
    assert outcome is not None
    assert (outcome.counted, outcome.rate_bp) == (2, top)
    assert (outcome.step, outcome.steps) == (len(ladder.brackets), len(ladder.brackets))
    assert ladder_outcome(lines.filter(pl.col("is_rework")), "technician", {"0": rules}) is None


def test_totals_are_cny_then_each_payout_currency() -> None:
    lines = pl.DataFrame(
        [
            line(amount_cents=71_000, currency="USD", amount_local_cents=10_000),
            line(ticket_id="GD2", amount_cents=-100),
        ]
    )
    assert totals(lines) == [("CNY", "¥709.00"), ("USD", "US$100.00")]


def test_file_names_say_what_and_when_and_stay_file_names() -> None:
    assert pdf_name(WORDS, "2026-10", "T01001", "张三") == "结算单_2026-10_T01001_张三.pdf"
    assert pdf_name(WORDS, "2026-10", "PT1", "A/B 公司") == "结算单_2026-10_PT1_A-B-公司.pdf"
    assert pdf_name(WORDS, "2026-10", "PT1", "PT1") == "结算单_2026-10_PT1.pdf"


def test_the_font_setting_names_a_face_or_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if DEBIAN_FONT.is_file():
        monkeypatch.setenv(SETTING, f"{DEBIAN_FONT}#1")
        assert cjk_font().index == 1
    text = tmp_path / "font.otf"
    text.write_bytes(b"")
    monkeypatch.setenv(SETTING, str(text))
    with pytest.raises(NoCjkFont, match=r"need a TrueType font \(.ttf or .ttc\)"):
        cjk_font()
