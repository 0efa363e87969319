"""Disputes against a real warehouse and app store: raised, resolved, and an accepted one's
adjustment a settlement line that re-settling keeps and closed periods never receive."""

from __future__ import annotations

import io
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from PIL import Image

from pipelines.ingest import ingest
from warehouse import app_store, disputes
from warehouse.db import connect_read_only
from warehouse.disputes import DisputeRefused
from warehouse.settle import close_period, period_statuses, settle_warehouse


@pytest.fixture(scope="module")
def settled(feed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("disputes")
    db = folder / "w.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERBOARD_APP_DB", str(folder / "app.sqlite"))
        ingest([feed_dir], db)
        settle_warehouse(db)
    return db


@pytest.fixture
def warehouse(settled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("w.duckdb", "w.serving.duckdb"):
        if settled.with_name(name).exists():
            shutil.copy(settled.with_name(name), tmp_path / name)
    monkeypatch.setenv("TIERBOARD_APP_DB", str(tmp_path / "app.sqlite"))
    return tmp_path / "w.duckdb"


def store(db: Path) -> Path:
    return app_store.app_store_path(db)


def rows(db: Path, sql: str, **params: object) -> list[tuple[object, ...]]:
    with connect_read_only(db) as con:
        return con.execute(sql, params).fetchall()


def a_line(db: Path) -> tuple[str, str, str]:
    (period, payee, ticket), *_ = rows(
        db,
        "select period, payee_id, ticket_id from settlement_lines where line_kind = 'ticket'"
        " and payee_type = 'technician' order by period, ticket_id limit 1",
    )
    return str(period), str(payee), str(ticket)


def raise_on(db: Path, **extra: object) -> int:
    period, payee, ticket = a_line(db)
    return disputes.raise_dispute(
        store(db), actor="tech", payee_type="technician", payee_id=payee, ticket_id=ticket,
        period=period, line_kind="ticket", reason="the urgent surcharge is missing", **extra,
    )  # fmt: skip


def manual(db: Path) -> list[tuple[object, ...]]:
    return rows(
        db,
        "select period, payee_id, ticket_id, dispute_id, amount_cents, manual_cents"
        " from settlement_lines where line_kind = 'manual_adjustment' order by dispute_id",
    )


def test_accepted_dispute_is_a_line_in_the_first_open_period_that_survives_resettling(
    warehouse: Path,
) -> None:
    period, payee, ticket = a_line(warehouse)
    first = min(p for p, s in period_statuses(warehouse).items() if s == "open")
    close_period(warehouse, first, actor="analyst", note="month end")
    statuses = period_statuses(warehouse)
    booking = disputes.first_open_period(statuses)
    assert booking > first and statuses[booking] == "open"

    dispute_id = raise_on(warehouse)
    assert disputes.open_disputes(store(warehouse), period) == 1
    assert disputes.accept(
        store(warehouse), dispute_id, actor="analyst", amount="35.50", period=booking
    ) == 3550  # fmt: skip
    assert disputes.open_disputes(store(warehouse), period) == 0
    frozen = rows(warehouse, "select * exclude (run_id) from settlement_lines where period = $p",
                  p=first)  # fmt: skip

    settle_warehouse(warehouse)
    assert manual(warehouse) == [(booking, payee, ticket, dispute_id, 3550, 3550)]
    again = settle_warehouse(warehouse)
    assert again.status == "unchanged"
    assert manual(warehouse) == [(booking, payee, ticket, dispute_id, 3550, 3550)]
    # The closed period is as it was, and no correction was made for the dispute.
    assert rows(warehouse, "select * exclude (run_id) from settlement_lines where period = $p",
                p=first) == frozen  # fmt: skip
    assert not rows(warehouse, "select 1 from settlement_lines where origin_kind ="
                    " 'manual_adjustment'")  # fmt: skip

    # Its period closes with it; later runs keep it there and book nothing new.
    close_period(warehouse, booking, actor="analyst", note="month end")
    settle_warehouse(warehouse)
    assert manual(warehouse) == [(booking, payee, ticket, dispute_id, 3550, 3550)]
    assert not rows(warehouse, "select 1 from settlement_lines where line_kind = 'adjustment'"
                    " and origin_kind = 'manual_adjustment'")  # fmt: skip


def test_an_adjustment_booked_in_a_period_closed_since_moves_to_the_next_open_one(
    warehouse: Path,
) -> None:
    statuses = period_statuses(warehouse)
    booking = disputes.first_open_period(statuses)
    dispute_id = raise_on(warehouse)
    disputes.accept(store(warehouse), dispute_id, actor="analyst", amount="-12", period=booking)
    close_period(warehouse, booking, actor="analyst", note="closed before the run")
    settle_warehouse(warehouse)
    (line,) = manual(warehouse)
    assert line[0] > booking and line[3:5] == (dispute_id, -1200)
    assert period_statuses(warehouse)[str(line[0])] == "open"


def test_every_period_closed_opens_the_next_month_for_the_adjustment(warehouse: Path) -> None:
    for period in sorted(period_statuses(warehouse)):
        if period_statuses(warehouse)[period] == "open":
            close_period(warehouse, period, actor="analyst", note="all closed")
    statuses = period_statuses(warehouse)
    booking = disputes.first_open_period(statuses)
    assert booking not in statuses and booking > max(statuses)
    dispute_id = raise_on(warehouse)
    disputes.accept(store(warehouse), dispute_id, actor="analyst", amount="8.8", period=booking)
    summary = settle_warehouse(warehouse)
    assert booking in summary.opened
    assert manual(warehouse)[0][:1] + manual(warehouse)[0][3:5] == (booking, dispute_id, 880)
    assert period_statuses(warehouse)[booking] == "open"


def test_reject_needs_an_answer_and_every_step_is_audited(warehouse: Path) -> None:
    with pytest.raises(DisputeRefused, match="readable"):
        raise_on(warehouse, photo=b"\x89PNG fake", photo_type="image/png")
    picture = io.BytesIO()
    Image.new("RGB", (2, 2)).save(picture, format="PNG")
    dispute_id = raise_on(warehouse, photo=picture.getvalue(), photo_type="image/png")
    assert disputes.photo(store(warehouse), dispute_id) == picture.getvalue()
    with pytest.raises(DisputeRefused, match="answer"):
        disputes.reject(store(warehouse), dispute_id, actor="analyst", answer="  ")
    disputes.reject(store(warehouse), dispute_id, actor="analyst", answer="paid in March")
    found = disputes.dispute(store(warehouse), dispute_id)
    assert found is not None and (found.status, found.answer) == ("rejected", "paid in March")
    with pytest.raises(DisputeRefused, match="rejected already"):
        disputes.accept(store(warehouse), dispute_id, actor="a", amount="1", period="2026-03")
    actions = [
        (e["action"], e["subject"], e["actor"])
        for e in app_store.audit_entries(store(warehouse), "analyst")
    ]
    assert actions[:2] == [
        ("dispute_reject", f"dispute {dispute_id}", "analyst"),
        ("dispute_raise", f"dispute {dispute_id}", "tech"),
    ]
    settle_warehouse(warehouse)
    assert manual(warehouse) == []


@pytest.mark.parametrize(
    ("text", "cents"),
    [("120", 12000), ("-35.5", -3550), ("1,200.05", 120005), ("¥0.01", 1), ("+7.10", 710)],
)
def test_amounts_are_exact_yuan(text: str, cents: int) -> None:
    assert disputes.parse_yuan(text) == cents


@pytest.mark.parametrize(
    ("text", "reason"),
    [("12.345", "two decimals"), ("abc", "not an amount"), ("", "not an amount"),
     ("1e3", "not an amount"), ("0.00", "changes nothing"), ("12,34", "not an amount"),
     ("99999999999", "beyond")],
)  # fmt: skip
def test_bad_amounts_are_refused_and_nothing_is_written(
    warehouse: Path, text: str, reason: str
) -> None:
    dispute_id = raise_on(warehouse)
    with pytest.raises(DisputeRefused, match=reason):
        disputes.accept(store(warehouse), dispute_id, actor="a", amount=text, period="2026-03")
    found = disputes.dispute(store(warehouse), dispute_id)
    assert found is not None and found.status == "open"
    with sqlite3.connect(store(warehouse)) as con:
        assert con.execute("select count(*) from manual_adjustments").fetchone() == (0,)


def test_a_dispute_needs_a_reason_a_ticket_and_a_small_image(warehouse: Path) -> None:
    s = store(warehouse)
    base = {"actor": "t", "payee_type": "technician", "payee_id": "T1"}
    with pytest.raises(DisputeRefused, match="reason"):
        disputes.raise_dispute(s, **base, ticket_id="X", period="2026-03", line_kind="ticket",
                               reason=" ")  # fmt: skip
    with pytest.raises(DisputeRefused, match="date"):
        disputes.raise_dispute(s, **base, ticket_id="X", reason="missing")
    with pytest.raises(DisputeRefused, match="PNG"):
        disputes.raise_dispute(s, **base, ticket_id="X", reason="r", ticket_date=date(2026, 3, 2),
                               photo=b"%PDF", photo_type="application/pdf")  # fmt: skip
    with pytest.raises(DisputeRefused, match="2 MB"):
        disputes.raise_dispute(s, **base, ticket_id="X", reason="r", ticket_date=date(2026, 3, 2),
                               photo=b"0" * (disputes.MAX_PHOTO_BYTES + 1),
                               photo_type="image/jpeg")  # fmt: skip
    missing = disputes.raise_dispute(s, **base, ticket_id="TK-404", reason="not listed",
                                     ticket_date=date(2026, 3, 2))  # fmt: skip
    (found,) = disputes.disputes_of(s, "technician", "T1")
    assert (found.dispute_id, found.period, found.line_kind) == (missing, "2026-03", None)
    assert disputes.open_disputes(s, "2026-03") == 1 and disputes.open_disputes(s, "2026-02") == 0
