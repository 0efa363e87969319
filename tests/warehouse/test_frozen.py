"""Replayable closed periods: a close freezes the period's inputs and rule timeline, and
``settlement verify`` proves the stored lines from them, or names the first difference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from settlement.timeline import period_start
from tests.warehouse import test_timeline
from tests.warehouse.test_timeline import ROOT, periods, refund_an_order_of, sql
from warehouse.db import writer
from warehouse.frozen import verify_period
from warehouse.publish import publish
from warehouse.settle import close_period, settle_warehouse

settled = test_timeline.settled
warehouse = test_timeline.warehouse


def verify_cli(db: Path, period: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "settlement", "verify", period, "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_freshly_closed_period_verifies_and_a_tampered_line_is_named(warehouse: Path) -> None:
    first = periods(warehouse)[0]
    close_period(warehouse, first, actor="ana", note="month end")
    frozen = sql(warehouse, f"select count(*) from frozen_tickets where period = '{first}'")
    assert frozen[0][0] > 0
    done = verify_cli(warehouse, first)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"period {first} verified")

    ticket, payee, cents = sql(
        warehouse,
        "select ticket_id, payee_id, amount_cents from settlement_lines"
        f" where period = '{first}' and line_kind = 'ticket' and payee_type = 'technician'"
        " order by ticket_id limit 1",
    )[0]
    with writer(warehouse) as con:
        con.execute(
            "update settlement_lines set amount_cents = amount_cents + 1"
            " where ticket_id = $t and payee_id = $p and line_kind = 'ticket'",
            {"t": ticket, "p": payee},
        )
    done = verify_cli(warehouse, first)
    assert done.returncode == 1
    assert f"ticket line of {ticket} for technician {payee}" in done.stdout
    assert f"column amount_cents: stored {cents + 1}, replayed {cents}" in done.stdout


def test_the_yuan_column_is_checked_against_the_cents(warehouse: Path) -> None:
    first = periods(warehouse)[0]
    close_period(warehouse, first, actor="ana", note="month end")
    with writer(warehouse) as con:
        con.execute(
            "update settlement_lines set amount = amount + 1 where rowid = ("
            " select min(rowid) from settlement_lines where period = $p)",
            {"p": first},
        )
    verdict = verify_period(warehouse, first)
    assert verdict.difference is not None and verdict.difference.column == "amount"


def test_changing_a_live_ticket_after_close_does_not_affect_verify(warehouse: Path) -> None:
    first = periods(warehouse)[0]
    close_period(warehouse, first, actor="ana", note="month end")
    (ticket,) = sql(
        warehouse,
        "select ticket_id from settlement_lines"
        f" where period = '{first}' and line_kind = 'ticket' order by ticket_id limit 1",
    )[0]
    with writer(warehouse) as con:
        con.execute(
            "update tickets set quantity = quantity + 5 where ticket_id = $t", {"t": ticket}
        )
    assert verify_period(warehouse, first).proven


def test_a_late_refund_verifies_both_the_period_and_the_one_holding_its_adjustment(
    warehouse: Path,
) -> None:
    first, second, *_ = periods(warehouse)
    close_period(warehouse, first, actor="ana", note="month end")
    refund_an_order_of(warehouse, first)
    settle_warehouse(warehouse)
    close_period(warehouse, second, actor="ana", note="month end")
    adjustments = sql(
        warehouse,
        f"select count(*) from settlement_lines where period = '{second}'"
        " and line_kind = 'adjustment'",
    )[0][0]
    assert adjustments > 0
    assert verify_period(warehouse, first).proven
    verdict = verify_period(warehouse, second)
    assert verdict.proven, verdict.text()
    assert verdict.corrects == [first] and f"adjustments of {first}" in verdict.text()

    # An adjustment tampered with is named as such.
    with writer(warehouse) as con:
        con.execute(
            "update settlement_lines set clawback_cents = clawback_cents - 1"
            " where period = $p and line_kind = 'adjustment' and origin_kind = 'ticket'",
            {"p": second},
        )
    difference = verify_period(warehouse, second).difference
    assert difference is not None and difference.column == "clawback_cents"
    assert f"correcting ticket of {first}" in difference.line


def test_open_and_unfrozen_periods_are_refused_in_one_line(warehouse: Path) -> None:
    first = periods(warehouse)[0]
    done = verify_cli(warehouse, first)
    assert done.returncode == 1
    assert done.stderr.strip() == f"period {first} is open; only a closed period can be verified"
    with writer(warehouse) as con:  # closed the way periods were closed before freezing existed
        con.execute(
            "update settlement_periods set status = 'closed' where period = $p", {"p": first}
        )
    with pytest.raises(ValueError, match="closed before inputs were frozen at close"):
        verify_period(warehouse, first)


def test_a_retroactive_version_verifies_under_the_frozen_timeline(warehouse: Path) -> None:
    first, second, *_ = periods(warehouse)
    close_period(warehouse, first, actor="ana", note="month end")
    publish(
        warehouse, test_timeline.dearer(urgent_bp=5_000), effective_date=period_start(first),
        note="dearer", author="ana", retroactive=True,
    )  # fmt: skip
    settle_warehouse(warehouse)
    close_period(warehouse, second, actor="ana", note="month end")
    versions = sql(
        warehouse,
        f"select version from frozen_rule_versions where period = '{second}' order by position",
    )
    assert versions == [("0",), ("1",)]
    verdict = verify_period(warehouse, second)
    assert verdict.proven, verdict.text()
    assert verdict.corrects == [first] and verdict.versions == "0+1"
    assert verify_period(warehouse, first).versions == "0"


def test_a_manual_adjustment_is_proved_against_the_accepted_dispute(warehouse: Path) -> None:
    from warehouse import disputes
    from warehouse.app_store import app_store_path

    first = periods(warehouse)[0]
    store = app_store_path(warehouse)
    ticket, payee = sql(
        warehouse,
        f"select ticket_id, payee_id from settlement_lines where period = '{first}'"
        " and line_kind = 'ticket' and payee_type = 'technician' order by ticket_id limit 1",
    )[0]
    dispute = disputes.raise_dispute(
        store, actor="tech", payee_type="technician", payee_id=payee, ticket_id=ticket,
        reason="夜间服务未计", period=first, line_kind="ticket",
    )  # fmt: skip
    disputes.accept(store, dispute, actor="ana", amount="35.50", period=first, answer="补发")
    settle_warehouse(warehouse)
    close_period(warehouse, first, actor="ana", note="month end")
    done = verify_cli(warehouse, first)
    assert done.returncode == 0, done.stdout + done.stderr

    with writer(warehouse) as con:
        con.execute(
            "update settlement_lines set manual_cents = 3551, amount_cents = 3551"
            " where dispute_id = $d",
            {"d": dispute},
        )
    done = verify_cli(warehouse, first)
    assert done.returncode == 1
    assert f"manual_adjustment line of {ticket} for technician {payee}" in done.stdout
    assert "stored 3551, replayed 3550" in done.stdout
