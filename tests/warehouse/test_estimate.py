"""The payee estimator against the ledger: with no extra tickets it is the month's total to the
cent, and a ladder step is reported crossed exactly when the projected count reaches it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.timeline import period_end
from warehouse.db import connect_read_only
from warehouse.estimate import MonthInputs, month_inputs, project
from warehouse.settle import live_timeline


@pytest.fixture(scope="module")
def ledger(demo_warehouse: Path) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERBOARD_APP_DB", str(demo_warehouse.with_name("app.sqlite")))
        yield demo_warehouse


def busiest_months(db: Path, n: int) -> list[tuple[str, str, int]]:
    with connect_read_only(db) as con:
        return [
            (str(t), str(p), int(c))
            for t, p, c in con.execute(
                "select payee_id, period, sum(amount_cents)::bigint from settlement_lines"
                " where payee_type = 'technician' group by all"
                " order by count(*) desc, payee_id, period limit $n",
                {"n": n},
            ).fetchall()
        ]


def test_no_extra_tickets_is_the_ledger_month_to_the_cent(ledger: Path) -> None:
    timeline = live_timeline(ledger)
    for technician, period, total in busiest_months(ledger, 8):
        month = month_inputs(ledger, technician, period)
        result = project(month, timeline, 0, month.items[0], str(month.cities["city_code"][0]))
        assert result.current_cents == result.projected_cents == total, (technician, period)
        assert result.crossed == []


@pytest.fixture(scope="module")
def month(ledger: Path) -> MonthInputs:
    technician, period, _ = busiest_months(ledger, 1)[0]
    return month_inputs(ledger, technician, period)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_step_is_crossed_exactly_when_the_projected_count_reaches_it(
    ledger: Path, month: MonthInputs, data: st.DataObject
) -> None:
    timeline = live_timeline(ledger)
    base = project(month, timeline, 0, "INS-AC-01", str(month.cities["city_code"][0]))
    steps = timeline.version_on(period_end(month.period)).ladders["technician"].brackets
    # Around every threshold: one short of it, on it, one past it.
    targets = [
        b.start + d for b in steps[1:] for d in (-1, 0, 1) if b.start + d > base.current_count
    ]
    extra = data.draw(st.sampled_from(targets)) - base.current_count
    item = data.draw(st.sampled_from(month.items))
    city = data.draw(st.sampled_from(month.cities["city_code"].to_list()))
    result = project(month, timeline, extra, item, city)
    assert result.current_cents == base.current_cents
    assert result.projected_count == base.current_count + extra
    reached = [b for b in steps if b.start <= result.projected_count][-1]
    # Differential: the engine's rate on the last synthetic ticket is the bracket's.
    assert result.projected_rate_bp == reached.rate_bp
    expected = [(b.start, b.rate_bp) for b in steps[1:]
                if base.current_count < b.start <= result.projected_count]  # fmt: skip
    assert result.crossed == expected
    ahead = [b for b in steps if b.start > result.projected_count]
    if ahead:
        assert result.next_step == (ahead[0].start, ahead[0].rate_bp)
        assert result.to_next == ahead[0].start - result.projected_count
    else:
        assert result.next_step is None and result.to_next is None
    assert result.projected_cents >= base.current_cents or extra == 0
