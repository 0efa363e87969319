"""Statement downloads: a technician gets only their own statement, only for closed months; an
analyst gets a closed period's workbook and all its PDFs from Data health."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.pages.test_pages import open_page, scalar
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
    assert {"Workbook (Excel)", "All PDF statements (zip)"} <= set(downloads(at))
    assert at.selectbox(key="statements-period").options == [first]


def test_without_a_chinese_font_the_page_says_why(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = closed_first_period(app_env)
    monkeypatch.setenv("TIERBOARD_CJK_FONT", str(app_env.with_name("none.ttf")))
    at = open_page("my_earnings", "technician", lang="en", month=first)
    assert not at.exception
    assert not [label for label in downloads(at) if label.startswith("My statement")]
    assert any("no such font file" in w.value for w in at.warning)
