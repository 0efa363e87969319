"""Data health's alerts on a real warehouse: each kind raised by data built to trigger it, with
exactly the tickets behind it; quiet on normal demo data; thresholds move them."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.test_pages import open_page
from warehouse import alerts
from warehouse.app_store import app_store_path, audit_entries
from warehouse.db import writer
from warehouse.scope import Scope

ANALYST = Scope("analyst")


def active(db: Path) -> list[alerts.Alert]:
    return alerts.alerts(db, ANALYST, alerts.thresholds(app_store_path(db)))


def latest_period(db: Path) -> str:
    with writer(db) as con:
        return str(
            con.execute("select max(strftime(completed_date, '%Y-%m')) from tickets").fetchone()[0]
        )  # type: ignore[index]


def test_demo_data_raises_no_rule_unpriced_or_closed_refund_alert(app_env: Path) -> None:
    kinds = {a.kind for a in active(app_env)}
    assert not kinds & {"rule_stopped", "rule_surge", "unpriced", "closed_refund"}


def test_extra_urgent_tickets_of_one_technician_raise_a_share_spike_with_those_tickets(
    app_env: Path,
) -> None:
    period = latest_period(app_env)
    with writer(app_env) as con:
        # The busiest technician of the latest period: no urgent work at all in their history.
        (technician,) = con.execute(
            "select technician_id from tickets where strftime(completed_date, '%Y-%m') = $p"
            " and status = 'completed' group by 1 order by count(*) desc, 1 limit 1",
            {"p": period},
        ).fetchone()  # type: ignore[misc]
        con.execute(
            "update tickets set is_urgent = false where technician_id = $t", {"t": technician}
        )
        chosen = [r[0] for r in con.execute(
            "select ticket_id from tickets where technician_id = $t and status = 'completed'"
            " and strftime(completed_date, '%Y-%m') = $p order by ticket_id limit 6",
            {"t": technician, "p": period},
        ).fetchall()]  # fmt: skip
        history = con.execute(
            "select ticket_id from tickets where technician_id = $t and status = 'completed'"
            " and strftime(completed_date, '%Y-%m') < $p order by ticket_id limit 1",
            {"t": technician, "p": period},
        ).fetchall()
        # One urgent ticket in their history, so their own mean is small but not zero.
        con.execute(
            "update tickets set is_urgent = true where ticket_id = any($ids)",
            {"ids": [*chosen, history[0][0]]},
        )
    spikes = [
        a for a in active(app_env)
        if a.kind == "share_spike" and a.subject == technician and a.measure == "technician:urgent"
    ]  # fmt: skip
    assert len(spikes) == 1
    assert spikes[0].tickets == tuple(sorted(chosen))
    assert spikes[0].period == period

    # Thresholds move it: asking for more urgent tickets than there are silences it.
    store = app_store_path(app_env)
    alerts.set_thresholds(store, {"share_min_tickets": 7}, actor="ana", reason="fewer alerts")
    assert not [a for a in active(app_env) if a.subject == technician]
    alerts.set_thresholds(store, {"share_min_tickets": 6}, actor="ana", reason="back")
    assert [a for a in active(app_env) if a.subject == technician]
    assert [e["action"] for e in audit_entries(store, "analyst")][:2] == ["alert_thresholds"] * 2


def test_a_rule_that_stops_firing_is_named_with_the_tickets_it_fired_on(app_env: Path) -> None:
    period = latest_period(app_env)
    with writer(app_env) as con:
        con.execute("update settlement_lines set night_cents = 0 where period = $p", {"p": period})
        previous = con.execute(
            "select max(period) from settlement_lines where period < $p and night_cents <> 0",
            {"p": period},
        ).fetchone()[0]  # type: ignore[index]
        expected = sorted(r[0] for r in con.execute(
            "select distinct ticket_id from settlement_lines where period = $p"
            " and night_cents <> 0", {"p": previous},
        ).fetchall())  # fmt: skip
    stopped = [a for a in active(app_env) if a.kind == "rule_stopped"]
    assert [(a.subject, a.measure) for a in stopped] == [("night", previous)]
    assert list(stopped[0].tickets) == expected


def test_unpriced_and_closed_period_refunds_are_alerts_with_their_tickets(app_env: Path) -> None:
    with writer(app_env) as con:
        first = con.execute("select min(period) from settlement_periods").fetchone()[0]  # type: ignore[index]
        con.execute(
            "insert into settlement_unpriced values ($p, 'T-NOPRICE', 'no price for item X in"
            " tier A', '0', 1)", {"p": first},
        )  # fmt: skip
        con.execute(
            "update settlement_periods set status = 'closed', closed_at = timestamp"
            " '2000-01-01' where period = $p", {"p": first},
        )  # fmt: skip
        refunded = con.execute(
            "select t.ticket_id, t.order_platform, t.order_id from tickets as t"
            " where t.status = 'completed' and strftime(t.completed_date, '%Y-%m') = $p"
            " and t.order_id is not null order by t.ticket_id limit 1", {"p": first},
        ).fetchone()  # fmt: skip
        con.execute(
            "insert into order_refunds (platform, refund_id, order_id, status, refund_cents,"
            " requested_at, refunded_at, updated_at, run_id) values ($pl, 'R-LATE', $o,"
            " 'succeeded', 100, timestamp '2001-01-01', timestamp '2001-01-02',"
            " timestamp '2001-01-02', 1)",
            {"pl": refunded[1], "o": refunded[2]},  # type: ignore[index]
        )
    found = active(app_env)
    unpriced = [a for a in found if a.kind == "unpriced"]
    assert [(a.period, a.tickets) for a in unpriced] == [(first, ("T-NOPRICE",))]
    late = [a for a in found if a.kind == "closed_refund"]
    assert len(late) == 1 and late[0].period == first
    assert refunded[0] in late[0].tickets  # type: ignore[index]

    store = app_store_path(app_env)
    alerts.set_thresholds(store, {"unpriced_min_tickets": 2}, actor="ana", reason="one is noise")
    assert not [a for a in active(app_env) if a.kind == "unpriced"]


def test_a_threshold_below_its_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="share_factor: must be at least 1"):
        alerts.set_thresholds(Path("/nonexistent/none.sqlite"), {"share_factor": 0.5},
                              actor="ana", reason="x")  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "title", "heading"), [("en", "Data health", "Alerts"), ("zh", "数据健康", "告警")]
)
def test_data_health_shows_alerts_and_the_badge_count(
    app_env: Path, lang: str, title: str, heading: str
) -> None:
    count = len(active(app_env))
    assert count  # the demo's share spikes
    at: AppTest = open_page("data_health", "analyst", lang)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == f"{title} · {count}"
    assert heading in [h.value for h in at.subheader]
    (table, behind, *_) = [d.value for d in at.dataframe]
    assert len(table) == count  # every alert is a row, in words
    first = active(app_env)[0]
    assert table.iloc[0, 1] == first.period
    assert sorted(behind.iloc[:, 0]) == sorted(first.tickets)  # the first one's tickets below
