"""Statement zips built in the background: one PDF per payee of the period (or of one payee
type) holding their total, kept under a key that changes with the period's lines, and a build
that fails or dies reported as such."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from settlement.explain import yuan
from statements.content import pdf_name
from statements.words import Words
from tests.conftest import ROOT
from warehouse import statement_jobs
from warehouse.db import connect_read_only, serving_path, writer
from warehouse.settle import close_period
from warehouse.statement_jobs import Build, BuildState, state_of
from warehouse.statements import read_fingerprint

WORDS = Words("zh")


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A small demo warehouse with its first period closed: (warehouse, closed period)."""
    folder = tmp_path_factory.mktemp("statement-jobs")
    db = folder / "tierboard.duckdb"
    env = {**os.environ, "TIERBOARD_APP_DB": str(folder / "app.sqlite")}
    subprocess.run(
        [sys.executable, "-m", "pipelines", "demo", "--tickets", "800", "--months", "2",
         "--db", str(db)],
        cwd=ROOT, check=True, capture_output=True, env=env,
    )  # fmt: skip
    with connect_read_only(db) as con:
        period = str(con.execute("select min(period) from settlement_periods").fetchall()[0][0])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERBOARD_APP_DB", env["TIERBOARD_APP_DB"])
        close_period(db, period, actor="ana", note="month end")
    return db, period


def ledger(db: Path, period: str, payee_type: str | None = None) -> dict[str, tuple[str, int]]:
    """Payee id → (name, total cents) of the period's payees (of one type), from the snapshot."""
    with connect_read_only(serving_path(db)) as con:
        rows = con.execute(
            "select l.payee_id, coalesce(any_value(t.technician_name),"
            " any_value(p.partner_name), l.payee_id), sum(l.amount_cents)::bigint"
            " from settlement_lines as l"
            " left join technicians as t on t.technician_id = l.payee_id"
            " left join partners as p on p.partner_id = l.payee_id"
            " where l.period = $p and ($t is null or l.payee_type = $t) group by l.payee_id",
            {"p": period, "t": payee_type},
        ).fetchall()
    return {str(i): (str(n), int(c)) for i, n, c in rows}


def wait(build: Build, *, until: tuple[str, ...] = ("ready", "failed")) -> BuildState:
    deadline = time.monotonic() + 300
    while (state := state_of(build)).state not in until:
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    return state


def job(build: Build, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "warehouse.statement_jobs", build.period,
               "--db", str(build.primary), "--key", build.key]  # fmt: skip
    if build.payee_type:
        command += ["--payee-type", build.payee_type]
    return subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, check=False,
        env={**os.environ, **env},
    )  # fmt: skip


def assert_one_pdf_per_payee(
    archive: Path, period: str, payees: dict[str, tuple[str, int]]
) -> None:
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        assert sorted(names) == sorted(
            pdf_name(WORDS, period, i, name) for i, (name, _) in payees.items()
        )
        for payee_id, (name, cents) in payees.items():
            pdf = opened.read(pdf_name(WORDS, period, payee_id, name))
            text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
            assert payee_id in text
            assert f"{period} 合计: {yuan(cents)}" in text, payee_id


def test_the_background_build_zips_one_pdf_per_payee_with_their_total(
    closed: tuple[Path, str],
) -> None:
    db, period = closed
    build = Build.of(db, read_fingerprint(db, period), None)
    assert state_of(build).state == "absent"
    statement_jobs.start(build)
    assert state_of(build).state in ("starting", "building")
    statement_jobs.start(build)  # a second click while it builds starts nothing more
    building = wait(build, until=("building", "ready", "failed"))
    if building.state == "building":
        assert building.total == len(ledger(db, period))
    assert wait(build) == BuildState("ready")
    everyone = ledger(db, period)
    assert len(everyone) > 50
    assert_one_pdf_per_payee(build.zip_path, period, everyone)
    # Ready once built: nothing is left half-written beside it, and asking again builds nothing.
    folder = build.zip_path.parent
    assert not list(folder.glob("*.part")) and not build.status_path.exists()
    built_at = build.zip_path.stat().st_mtime_ns
    statement_jobs.start(build)
    assert state_of(build).state == "ready"
    assert build.zip_path.stat().st_mtime_ns == built_at


@pytest.mark.parametrize("payee_type", ["dealer", "agent"])
def test_a_zip_of_one_payee_type_holds_only_its_payees(
    closed: tuple[Path, str], payee_type: str
) -> None:
    db, period = closed
    fingerprint = read_fingerprint(db, period)
    build = Build.of(db, fingerprint, payee_type)
    done = job(build)
    assert done.returncode == 0, done.stderr
    payees = ledger(db, period, payee_type)
    assert 0 < fingerprint.payees(payee_type) == len(payees) < len(ledger(db, period))
    assert_one_pdf_per_payee(build.zip_path, period, payees)


def test_the_key_changes_with_the_lines_and_an_old_zip_is_not_offered(
    closed: tuple[Path, str], tmp_path: Path
) -> None:
    source, period = closed
    db = tmp_path / "tierboard.duckdb"
    for name in (source.name, serving_path(source).name):
        (tmp_path / name).write_bytes(source.with_name(name).read_bytes())
    before = read_fingerprint(db, period)
    dealers = Build.of(db, before, "dealer")
    assert job(dealers).returncode == 0 and state_of(dealers).state == "ready"
    with writer(db) as con:  # a correction of one dealer's line (the snapshot is published)
        con.execute(
            "update settlement_lines set amount_cents = amount_cents + 1"
            " where period = $p and payee_type = 'dealer' and ticket_id = (select min(ticket_id)"
            " from settlement_lines where period = $p and payee_type = 'dealer')",
            {"p": period},
        )
    after = read_fingerprint(db, period)
    assert after.key("dealer") != before.key("dealer") and after.key() != before.key()
    assert after.key("technician") == before.key("technician")  # its statements did not change
    assert state_of(Build.of(db, after, "dealer")).state == "absent"  # the old zip is not it
    # A re-close is another close: its date is on every statement, so it is in the key too.
    reclosed = replace(after, closed_at=after.closed_at + timedelta(days=1))  # type: ignore[operator]
    assert reclosed.key("technician") != after.key("technician")
    # A build asked for with the old key refuses to write the new lines under it.
    stale = Build.of(db, before, "agent")
    assert job(stale).returncode == 0  # the agents' lines did not change: their key holds
    outdated = replace(dealers, key=before.key("dealer", "an older layout"))
    done = job(outdated)
    assert done.returncode == 1
    state = state_of(outdated)
    assert state.state == "failed" and state.reason.startswith("the period's statements changed")
    assert not outdated.zip_path.exists()


def test_a_failing_build_is_reported_in_one_line(
    closed: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, period = closed
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    monkeypatch.setenv("TIERBOARD_CJK_FONT", str(broken))
    build = Build.of(db, read_fingerprint(db, period), "direct")
    statement_jobs.start(build)
    state = wait(build)
    assert state.state == "failed"
    assert state.reason.startswith(f"{broken}: cannot read this font (")
    assert "\n" not in state.reason and "Traceback" not in state.reason
    assert not build.zip_path.exists() and not list(build.zip_path.parent.glob("*.part"))
    done = job(build)
    assert done.returncode == 1 and done.stderr.count("\n") == 1  # one line, no traceback


@pytest.mark.parametrize(
    ("stop", "reason"),
    [
        (signal.SIGKILL, "the build stopped before it finished"),  # no chance to say so itself
        (signal.SIGTERM, "the build was stopped"),
    ],
)
def test_a_build_that_is_stopped_is_not_shown_as_running(
    closed: tuple[Path, str], tmp_path: Path, stop: signal.Signals, reason: str
) -> None:
    source, period = closed
    db = tmp_path / "tierboard.duckdb"
    for name in (source.name, serving_path(source).name):
        (tmp_path / name).write_bytes(source.with_name(name).read_bytes())
    build = Build.of(db, read_fingerprint(db, period), "technician")
    statement_jobs.start(build)
    assert wait(build, until=("building", "ready")).state == "building"
    pid = json.loads(build.status_path.read_text(encoding="utf-8"))["pid"]
    os.kill(pid, stop)  # the build's own process, started by this test
    state = wait(build, until=("failed",))
    assert state.reason == reason
    assert not build.zip_path.exists()
    if stop == signal.SIGTERM:
        deadline = time.monotonic() + 30  # its clean-up removes the partial file
        while list(build.zip_path.parent.glob("*.part")):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    statement_jobs.start(build)  # and it can be built again
    assert wait(build) == BuildState("ready")


def test_worker_processes_write_the_same_zip(closed: tuple[Path, str], tmp_path: Path) -> None:
    source, period = closed
    db = tmp_path / "tierboard.duckdb"
    for name in (source.name, serving_path(source).name):
        (tmp_path / name).write_bytes(source.with_name(name).read_bytes())
    build = Build.of(db, read_fingerprint(db, period), None)
    path = statement_jobs.run(build, processes=2)
    everyone = ledger(db, period)
    assert len(everyone) > 2 * 25  # enough payees to be shared out
    assert_one_pdf_per_payee(path, period, everyone)
    with zipfile.ZipFile(path) as opened:  # in statement order, as one process writes them
        names = opened.namelist()
    with connect_read_only(serving_path(db)) as con:
        order = [str(i) for (i,) in con.execute(
            "select payee_id from settlement_lines where period = $p"
            " group by payee_type, payee_id order by payee_type, payee_id",
            {"p": period},
        ).fetchall()]  # fmt: skip
    assert names == [pdf_name(WORDS, period, i, everyone[i][0]) for i in order]
