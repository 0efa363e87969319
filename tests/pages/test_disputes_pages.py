"""Disputes through the pages: a technician raises one on My earnings, an analyst resolves it on
Disputes, and the technician reads the outcome (and an accepted one's line), in both languages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.pages.test_pages import open_page, scalar
from warehouse import app_store, disputes
from warehouse.db import connect_read_only, serving_path
from warehouse.settle import period_statuses, settle_warehouse

TECH = "T00042"
WORDS = {
    "en": {"raise": "Raise the dispute", "accept": "Accept and book the adjustment",
           "reject": "Reject", "accepted": "Accepted", "rejected": "Rejected",
           "manual": "Manual adjustment", "disputes": "Disputes"},
    "zh": {"raise": "提交争议", "accept": "接受并记入调整", "reject": "驳回",
           "accepted": "已接受", "rejected": "已驳回", "manual": "人工调整",
           "disputes": "争议"},
}  # fmt: skip


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, format="PNG")
    return out.getvalue()


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


def my_disputes(at: AppTest) -> list[list[object]]:
    """The rows of "My disputes" (the only 9-column table), the dispute's id first."""
    frames = [d.value for d in at.dataframe]
    mine = [f for f in frames if len(f.columns) == 9]
    return mine[0].values.tolist() if mine else []


def raise_on_a_line(lang: str) -> tuple[AppTest, str]:
    at = open_page("my_earnings", "technician", lang=lang)
    assert not at.exception, [e.value for e in at.exception]
    period = str(at.selectbox(key="month").value) if False else at.query_params.get("month")
    at.text_area(key="dispute-reason").input("the urgent surcharge is missing")
    button(at, WORDS[lang]["raise"]).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at, str(period)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_raised_accepted_and_seen_with_its_adjustment_line(app_env: Path, lang: str) -> None:
    store = app_store.app_store_path(app_env)
    at, _ = raise_on_a_line(lang)
    (raised,) = disputes.disputes_of(store, "technician", TECH)
    assert raised.status == "open" and raised.reason == "the urgent surcharge is missing"
    assert [r[0] for r in my_disputes(at)] == [raised.dispute_id]
    # One more, with a photo (a file upload has no AppTest driver: raised through the store).
    with_photo = disputes.raise_dispute(
        store, actor="tech", payee_type="technician", payee_id=TECH, ticket_id="TK-MISSING",
        ticket_date=raised.raised_at.date(), reason="not listed", photo=png(),
        photo_type="image/png",
    )  # fmt: skip

    analyst = open_page("disputes", "analyst", lang=lang)
    assert not analyst.exception, [e.value for e in analyst.exception]
    assert analyst.title[0].value == WORDS[lang]["disputes"]
    queue = analyst.dataframe[0].value
    assert list(queue.iloc[:, 0]) == [raised.dispute_id, with_photo]  # oldest first
    analyst.text_input(key="dispute-amount").input("12.345")
    button(analyst, WORDS[lang]["accept"]).click().run()
    assert analyst.error, "a bad amount is refused with a reason"
    assert disputes.dispute(store, raised.dispute_id).status == "open"  # type: ignore[union-attr]
    analyst.text_input(key="dispute-amount").input("35.50")
    button(analyst, WORDS[lang]["accept"]).click().run()
    assert not analyst.exception and not analyst.error
    assert disputes.dispute(store, raised.dispute_id).status == "accepted"  # type: ignore[union-attr]
    assert len(analyst.get("image")) == 1  # the next in the queue: the one with the photo

    booked = disputes.first_open_period(period_statuses(app_env))
    settle_warehouse(app_env)  # what the requested background run does
    # Read the served snapshot: the background run the accept started may hold the primary.
    assert scalar(
        serving_path(app_env), "select amount_cents from settlement_lines where dispute_id = $d",
        d=raised.dispute_id,
    ) == 3550  # fmt: skip

    tech = open_page("my_earnings", "technician", lang=lang, month=booked)
    assert not tech.exception, [e.value for e in tech.exception]
    rows = {r[0]: r for r in my_disputes(tech)}
    assert WORDS[lang]["accepted"] in rows[raised.dispute_id]
    labels = [e.label for e in tech.expander]
    assert any(WORDS[lang]["manual"] in label and "¥35.50" in label for label in labels)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rejected_with_an_answer_the_technician_reads(app_env: Path, lang: str) -> None:
    store = app_store.app_store_path(app_env)
    raise_on_a_line(lang)
    (raised,) = disputes.disputes_of(store, "technician", TECH)
    analyst = open_page("disputes", "analyst", lang=lang)
    button(analyst, WORDS[lang]["reject"]).click().run()
    assert analyst.error, "a rejection without an answer is refused"
    analyst.text_area(key="dispute-answer").input("the surcharge is in the base price")
    button(analyst, WORDS[lang]["reject"]).click().run()
    assert not analyst.exception and not analyst.error
    tech = open_page("my_earnings", "technician", lang=lang)
    (row,) = my_disputes(tech)
    assert WORDS[lang]["rejected"] in row
    assert "the surcharge is in the base price" in row
    assert disputes.dispute(store, raised.dispute_id).answer == "the surcharge is in the base price"  # type: ignore[union-attr]


PARTNER = "PT0001"


def test_a_partner_contact_disputes_a_monthly_line_and_reads_its_adjustment(
    app_env: Path,
) -> None:
    """A partner contact (no region, their partner's lines only) disputes the partner's monthly
    line, which has no ticket; accepted, it is booked for the partner under its type."""
    store = app_store.app_store_path(app_env)
    at = open_page("my_earnings", "partner", lang="zh")
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params.get("month")
    line = at.selectbox(key="dispute-line")
    monthly = next(i for i, label in enumerate(line.options) if "合作方月结" in label)
    line.select(monthly)
    at.text_area(key="dispute-reason").input("保底差额少算了")
    button(at, WORDS["zh"]["raise"]).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (raised,) = disputes.disputes_of(store, "agent", PARTNER)
    assert (raised.ticket_id, raised.line_kind) == ("", "partner_monthly")
    assert [r[0] for r in my_disputes(at)] == [raised.dispute_id]

    analyst = open_page("disputes", "analyst", lang="zh")
    assert not analyst.exception, [e.value for e in analyst.exception]
    assert any("合作方月结" in m.value for m in analyst.markdown), "the disputed line is shown"
    analyst.text_input(key="dispute-amount").input("100")
    button(analyst, WORDS["zh"]["accept"]).click().run()
    assert not analyst.exception and not analyst.error
    booked = disputes.first_open_period(period_statuses(app_env))
    settle_warehouse(app_env)
    with connect_read_only(serving_path(app_env)) as con:
        booked_lines = con.execute(
            "select period, payee_type, payee_id, ticket_id, amount_cents from settlement_lines"
            " where dispute_id = $d",
            {"d": raised.dispute_id},
        ).fetchall()
    assert booked_lines == [(booked, "agent", PARTNER, None, 10000)]

    partner = open_page("my_earnings", "partner", lang="zh", month=booked)
    assert not partner.exception, [e.value for e in partner.exception]
    rows = {r[0]: r for r in my_disputes(partner)}
    assert WORDS["zh"]["accepted"] in rows[raised.dispute_id]
    labels = [e.label for e in partner.expander]
    assert any(WORDS["zh"]["manual"] in label and "¥100.00" in label for label in labels)
