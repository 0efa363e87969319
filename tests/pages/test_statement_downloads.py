"""Statement downloads: a technician gets only their own statement, only for closed months; an
analyst gets a closed period's workbook, and its PDFs as zips built in the background, on Period
close."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.pages.test_pages import open_page, scalar
from warehouse.db import connect_read_only
from warehouse.settle import close_period

TECHNICIAN = "T00042"  # the demo technician identity


def downloads(at: AppTest) -> list[str]:
    """The labels of every download button on the page."""
    return [element.proto.label for element in at.get("download_button")]  # type: ignore[attr-defined]


def closed_first_period(db: Path) -> tuple[str, str]:
    """Close the technician's first month; return it and a later month that stays open."""
    first = str(scalar(db, "select min(period) from settlement_lines where payee_id = $t",
                       t=TECHNICIAN))  # fmt: skip
    later = str(scalar(db, "select max(period) from settlement_lines where payee_id = $t",
                       t=TECHNICIAN))  # fmt: skip
    earliest = str(scalar(db, "select min(period) from settlement_periods"))
    assert first == earliest and later > first
    close_period(db, first, actor="ana", note="month end")
    st.cache_data.clear()
    return first, later


def test_a_technician_downloads_only_their_own_closed_months(app_env: Path) -> None:
    first, later = closed_first_period(app_env)
    at = open_page("my_earnings", "technician", lang="en", month=first)
    assert not at.exception, [e.value for e in at.exception]
    assert f"My statement of {first} (PDF)" in downloads(at)
    assert at.subheader[0].value.startswith(TECHNICIAN)

    at = open_page("my_earnings", "technician", lang="en", month=later)
    assert not at.exception
    assert not [label for label in downloads(at) if label.startswith("My statement")]
    assert any(
        f"Your statement of {later} is offered once the period is closed" in c.value
        for c in at.caption
    )

    # Asking for another technician changes nothing: a technician's scope is their own.
    at = open_page("my_earnings", "technician", lang="en", month=first, tech="T00001")
    assert at.subheader[0].value.startswith(TECHNICIAN)
    # Other roles look at technicians' earnings but are not offered anyone's statement there.
    at = open_page("my_earnings", "manager", lang="en", month=first, tech=TECHNICIAN)
    assert not at.exception
    assert not [label for label in downloads(at) if label.startswith("My statement")]


def test_a_partner_contact_downloads_their_partner_s_closed_months(app_env: Path) -> None:
    first, _ = closed_first_period(app_env)
    at = open_page("my_earnings", "partner", lang="en", month=first, partner="PT0002")
    assert not at.exception, [e.value for e in at.exception]
    assert at.subheader[0].value.startswith("PT0001")  # their own partner, whatever is asked
    assert f"My statement of {first} (PDF)" in downloads(at)
    # A manager looks at the partner's lines but is offered no one's statement there.
    at = open_page("my_earnings", "manager", lang="en", month=first, payee="partner",
                   partner="PT0001")  # fmt: skip
    assert not at.exception, [e.value for e in at.exception]
    assert at.subheader[0].value.startswith("PT0001")
    assert not [label for label in downloads(at) if label.startswith("My statement")]


def test_the_chinese_page_offers_the_statement_in_chinese(app_env: Path) -> None:
    first, _ = closed_first_period(app_env)
    at = open_page("my_earnings", "technician", lang="zh", month=first)
    assert f"我的 {first} 结算单（PDF）" in downloads(at)


def test_analysts_get_a_closed_periods_workbook_and_pdfs_on_period_close(app_env: Path) -> None:
    at = open_page("period_close", "analyst", lang="en")
    assert not at.exception
    assert "Workbook (Excel)" not in downloads(at)
    assert any("none is closed yet" in c.value for c in at.caption)

    first, _ = closed_first_period(app_env)
    at = open_page("period_close", "analyst", lang="en")
    assert not at.exception, [e.value for e in at.exception]
    assert "Workbook (Excel)" in downloads(at)
    assert at.selectbox(key="statements-period").options == [first]
    # Nothing is built before it is asked for: a zip per scope, each with its payee count.
    assert not [label for label in downloads(at) if "(zip)" in label]
    counts = payee_counts(app_env, first)
    shown = " ".join(m.value for m in at.markdown)
    assert f"All payees · {sum(counts.values()):,} payees" in shown
    assert f"Technician · {counts['technician']:,} payees" in shown
    assert {"statements-build-all", "statements-build-technician"} <= {b.key for b in at.button}


def payee_counts(db: Path, period: str) -> dict[str, int]:
    with connect_read_only(db.with_name("tierboard.serving.duckdb")) as con:
        rows = con.execute(
            "select payee_type, count(distinct payee_id) from settlement_lines"
            " where period = $p group by 1",
            {"p": period},
        ).fetchall()
    return {str(t): int(n) for t, n in rows}


def until(at: AppTest, done: Callable[[AppTest], bool], seen: list[str]) -> AppTest:
    """Rerun the page (as its polling would) until ``done``; what each run said goes to
    ``seen``."""
    deadline = time.monotonic() + 240
    while not done(at):
        assert time.monotonic() < deadline, seen[-3:]
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        seen += [c.value for c in at.caption] + [e.proto.text for e in at.get("progress")]  # type: ignore[attr-defined]
    return at


def test_a_zip_is_built_in_the_background_with_progress_then_offered(app_env: Path) -> None:
    closed_first_period(app_env)
    at = open_page("period_close", "analyst", lang="zh")
    at.button(key="statements-build-direct").click().run()
    assert not at.exception, [e.value for e in at.exception]
    seen = [c.value for c in at.caption] + [e.proto.text for e in at.get("progress")]  # type: ignore[attr-defined]
    label = "直营团队 PDF 结算单（zip）"
    until(at, lambda at: label in downloads(at), seen)
    assert any(s == "正在启动生成…" or s.startswith("已生成 ") for s in seen), seen
    # The other scopes are still to be built; a fresh session (a second analyst) gets the
    # same zip at once.
    assert "全部 PDF 结算单（zip）" not in downloads(at)
    again = open_page("period_close", "analyst", lang="zh")
    assert label in downloads(again)
    assert not [c for c in again.caption if c.value == "正在启动生成…"]


def test_a_failed_build_says_why_and_can_be_retried(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed_first_period(app_env)
    broken = app_env.with_name("broken.ttf")
    broken.write_bytes(b"not a font at all")  # a font file the page accepts, the build cannot read
    monkeypatch.setenv("TIERBOARD_CJK_FONT", str(broken))
    at = open_page("period_close", "analyst", lang="en")
    at.button(key="statements-build-direct").click().run()
    until(at, lambda at: bool(at.error), [])
    (error,) = at.error
    assert error.value.startswith(f"The build failed: {broken}: cannot read this font")
    assert "\n" not in error.value and "Traceback" not in error.value
    retry = at.button(key="statements-build-direct")
    assert retry.label == "Try again"
    monkeypatch.delenv("TIERBOARD_CJK_FONT")  # the font mended, the zip can be built
    st.cache_data.clear()
    at = open_page("period_close", "analyst", lang="en")
    at.button(key="statements-build-direct").click().run()
    until(at, lambda at: "Direct team PDF statements (zip)" in downloads(at), [])
    assert not at.error


def test_without_a_chinese_font_the_page_says_why(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = closed_first_period(app_env)
    monkeypatch.setenv("TIERBOARD_CJK_FONT", str(app_env.with_name("none.ttf")))
    at = open_page("my_earnings", "technician", lang="en", month=first)
    assert not at.exception
    assert not [label for label in downloads(at) if label.startswith("My statement")]
    assert any("no such font file" in w.value for w in at.warning)
