"""Maker–checker on a real warehouse and app store: a publish or close takes effect only when a
second person with the approving role approves it; every step is audited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from settlement.timeline import period_start
from tests.warehouse.test_timeline import ROOT, dearer, periods, settled, sql, warehouse
from warehouse import app_store, requests
from warehouse.requests import RequestRefused
from warehouse.settle import close_period

__all__ = ["settled", "warehouse"]  # the fixtures, shared with the timeline tests


@pytest.fixture(autouse=True)
def approvals_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIERBOARD_APPROVALS", "on")


def status(db: Path, period: str) -> str:
    return str(sql(db, f"select status from settlement_periods where period = '{period}'")[0][0])


def actions(db: Path) -> list[str]:
    entries = app_store.audit_entries(app_store.app_store_path(db), "analyst")
    return [str(e["action"]) for e in reversed(entries)]


def versions(db: Path) -> int:
    return len(app_store.rule_versions(app_store.app_store_path(db)))


def test_a_close_takes_effect_only_when_a_manager_approves_it(warehouse: Path) -> None:
    first = periods(warehouse)[0]
    done = requests.submit(
        warehouse, "close", {"period": first, "note": "month end"}, by="ana", role="analyst"
    )
    assert not done.applied and done.request.status == "pending"
    assert status(warehouse, first) == "open"
    assert first in done.request.summary and "technician" in done.request.summary
    assert [r.request_id for r in requests.listing(warehouse, status="pending")] == [
        done.request.request_id
    ]
    approved = requests.approve(warehouse, done.request.request_id, by="max", role="manager")
    assert approved.applied and approved.request.status == "applied"
    assert approved.request.decided_by == "max"
    assert status(warehouse, first) == "closed"
    assert actions(warehouse) == ["request_requested", "period_close", "request_approved"]


def test_the_requester_cannot_approve_and_nor_can_a_wrong_role(warehouse: Path) -> None:
    first = periods(warehouse)[0]
    with pytest.raises(RequestRefused, match="may not request a close"):
        requests.submit(
            warehouse, "close", {"period": first, "note": "m"}, by="t", role="technician"
        )
    request = requests.submit(
        warehouse, "close", {"period": first, "note": "m"}, by="ana", role="analyst"
    ).request
    with pytest.raises(RequestRefused, match="a second person must approve it"):
        requests.approve(warehouse, request.request_id, by="ana", role="manager")
    with pytest.raises(RequestRefused, match=r"bob \(analyst\) may not approve"):
        requests.approve(warehouse, request.request_id, by="bob", role="analyst")
    assert status(warehouse, first) == "open"
    assert requests.get(warehouse, request.request_id).status == "pending"


def test_a_rejection_keeps_its_reason_and_changes_nothing(warehouse: Path) -> None:
    latest = periods(warehouse)[-1]
    payload = {
        "document": dearer(urgent_bp=5_000), "effective_date": period_start(latest).isoformat(),
        "note": "dearer urgent", "retroactive": False,
    }  # fmt: skip
    request = requests.submit(warehouse, "publish", payload, by="ana", role="analyst").request
    assert "urgent" in request.summary  # the readable diff
    with pytest.raises(RequestRefused, match="needs a reason"):
        requests.reject(warehouse, request.request_id, by="max", role="manager", reason=" ")
    rejected = requests.reject(
        warehouse, request.request_id, by="max", role="manager", reason="too dear"
    )
    assert rejected.status == "rejected" and rejected.reason == "too dear"
    assert versions(warehouse) == 0
    with pytest.raises(RequestRefused, match="is rejected, not pending"):
        requests.approve(warehouse, request.request_id, by="max", role="manager")
    assert actions(warehouse) == ["request_requested", "request_rejected"]


def test_the_requester_may_withdraw_and_no_one_else(warehouse: Path) -> None:
    first = periods(warehouse)[0]
    request = requests.submit(
        warehouse, "close", {"period": first, "note": "m"}, by="ana", role="analyst"
    ).request
    with pytest.raises(RequestRefused, match="only ana"):
        requests.withdraw(warehouse, request.request_id, by="max")
    assert requests.withdraw(warehouse, request.request_id, by="ana").status == "withdrawn"
    assert status(warehouse, first) == "open"
    assert actions(warehouse)[-1] == "request_withdrawn"


def test_approvals_off_applies_a_request_at_once(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERBOARD_APPROVALS", "off")
    latest = periods(warehouse)[-1]
    payload = {
        "document": dearer(), "effective_date": period_start(latest).isoformat(), "note": "n",
    }  # fmt: skip
    done = requests.submit(warehouse, "publish", payload, by="solo", role=None)
    assert done.applied and done.version == 1 and versions(warehouse) == 1
    assert actions(warehouse) == ["rule_publish"]  # one person: no request steps to audit
    assert requests.listing(warehouse)[0].status == "applied"


def test_approval_revalidates_a_close_of_a_period_closed_meanwhile(warehouse: Path) -> None:
    first = periods(warehouse)[0]
    request = requests.submit(
        warehouse, "close", {"period": first, "note": "m"}, by="ana", role="analyst"
    ).request
    close_period(warehouse, first, actor="someone", note="closed directly")
    with pytest.raises(RequestRefused, match=f"period {first} is closed; only an open period"):
        requests.approve(warehouse, request.request_id, by="max", role="manager")
    failed = requests.get(warehouse, request.request_id)
    assert failed.status == "failed" and "is closed" in failed.reason
    assert actions(warehouse)[-1] == "request_failed"


def test_a_request_is_refused_up_front_by_its_checks(warehouse: Path) -> None:
    first, second, *_ = periods(warehouse)
    with pytest.raises(RequestRefused, match=f"close {first} before {second}"):
        requests.submit(warehouse, "close", {"period": second, "note": "m"}, by="a", role="analyst")
    close_period(warehouse, first, actor="ana", note="m")
    payload = {"document": dearer(), "effective_date": period_start(first).isoformat(), "note": "n"}
    with pytest.raises(RequestRefused, match="reaches into closed period"):
        requests.submit(warehouse, "publish", payload, by="a", role="analyst")
    assert requests.listing(warehouse) == []


def test_a_demo_key_names_a_role_only_on_a_development_machine(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERBOARD_ENV", "test")
    assert requests.role_of(warehouse, "manager") == "manager"
    monkeypatch.setenv("TIERBOARD_ENV", "production")
    assert requests.role_of(warehouse, "manager") is None


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIERBOARD_APPROVALS": "on", "TIERBOARD_ENV": "test"}
    return subprocess.run(
        [sys.executable, "-m", "settlement", *args],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def test_cli_requests_then_a_manager_approves(warehouse: Path, tmp_path: Path) -> None:
    first, *_, latest = periods(warehouse)
    db = ("--db", str(warehouse))
    closing = cli("close", first, "--by", "analyst", "--note", "month end", *db)
    assert closing.returncode == 0, closing.stderr
    assert "request 1 (close period" in closing.stdout and "approve 1 --by" in closing.stdout
    assert status(warehouse, first) == "open"

    path = tmp_path / "dearer.yaml"
    path.write_text(yaml.safe_dump(dearer(), allow_unicode=True), encoding="utf-8")
    day = period_start(latest).isoformat()
    publishing = cli(
        "publish", "--rules", str(path), "--effective", day, "--note", "dearer", "--by",
        "analyst", *db,
    )  # fmt: skip
    assert publishing.returncode == 0, publishing.stderr
    assert "request 2 (publish" in publishing.stdout and versions(warehouse) == 0

    listed = cli("requests", *db)
    assert listed.stdout.count("pending") == 2, listed.stdout

    self_approval = cli("close", "--approve", "1", "--by", "analyst", *db)
    assert self_approval.returncode == 1
    assert self_approval.stderr.strip().count("\n") == 0
    assert "a second person must approve it" in self_approval.stderr

    approved = cli("close", "--approve", "1", "--by", "manager", *db)
    assert approved.returncode == 0, approved.stderr
    assert f"period {first} closed" in approved.stdout
    assert status(warehouse, first) == "closed"

    applied = cli("publish", "--approve", "2", "--by", "manager", *db)
    assert applied.returncode == 0, applied.stderr
    assert "version 1 published by analyst" in applied.stdout
    assert "settlement run" in applied.stdout  # the re-settlement follows
    assert set(sql(warehouse, f"select distinct rule_version from settlement_lines"
                   f" where period = '{latest}' and line_kind = 'ticket'")) == {("1",)}  # fmt: skip

    again = cli("approve", "2", "--by", "manager", *db)
    assert again.returncode == 1 and "request 2 is applied, not pending" in again.stderr
