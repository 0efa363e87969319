"""Payee statements of a closed period: a PDF per payee whose text holds their name and total
as the dashboard shows it, and a workbook whose numeric amounts add up to the ledger."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from settlement.explain import money, yuan
from statements.content import pdf_name, workbook_name
from statements.words import Words
from tests.conftest import ROOT
from warehouse.db import connect_read_only
from warehouse.settle import close_period

WORDS = Words("zh")


def cli(db: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "settlement", "statements", *args, "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, check=False, env={**os.environ, **env},
    )  # fmt: skip


def rows(db: Path, sql: str, **params: object) -> list[tuple[object, ...]]:
    with connect_read_only(db) as con:
        return con.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, Path]:
    """A small demo warehouse with its first period closed and that period's statements
    written: (warehouse, closed period, open period, folder of statements)."""
    folder = tmp_path_factory.mktemp("statements")
    db = folder / "tierboard.duckdb"
    env = {**os.environ, "TIERBOARD_APP_DB": str(folder / "app.sqlite")}
    subprocess.run(
        [sys.executable, "-m", "pipelines", "demo", "--tickets", "800", "--months", "2",
         "--db", str(db)],
        cwd=ROOT, check=True, capture_output=True, env=env,
    )  # fmt: skip
    first, second = (
        str(p) for (p,) in rows(db, "select period from settlement_periods order by 1")
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIERBOARD_APP_DB", env["TIERBOARD_APP_DB"])
        close_period(db, first, actor="ana", note="month end")
    out = folder / "out"
    done = cli(db, first, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return db, first, second, out


def payees(db: Path, period: str) -> list[tuple[str, str, int]]:
    """(payee id, name, total cents) of every payee of the period, from the ledger."""
    found = rows(
        db,
        "select l.payee_id, coalesce(any_value(t.technician_name), any_value(p.partner_name)),"
        " sum(l.amount_cents)::bigint from settlement_lines as l"
        " left join technicians as t on t.technician_id = l.payee_id"
        " left join partners as p on p.partner_id = l.payee_id"
        " where l.period = $p group by l.payee_id order by 1",
        p=period,
    )
    return [(str(i), str(n), int(c)) for i, n, c in found]  # type: ignore[call-overload]


def text_of(pdf: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(pdf).pages)


def test_every_payee_gets_a_pdf_with_their_name_and_total(
    closed: tuple[Path, str, str, Path],
) -> None:
    db, period, _, out = closed
    everyone = payees(db, period)
    assert len(everyone) > 50
    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == len(everyone)
    for payee_id, name, cents in everyone:
        path = out / pdf_name(WORDS, period, payee_id, name)
        assert path.name.startswith(f"结算单_{period}_{payee_id}_")
        text = text_of(path)
        assert name in text and payee_id in text
        assert f"{period} 合计: {yuan(cents)}" in text, payee_id  # as My earnings shows it


def test_a_foreign_currency_payee_shows_what_is_paid_in_it(
    closed: tuple[Path, str, str, Path],
) -> None:
    db, period, _, out = closed
    found = rows(
        db,
        "select payee_id, sum(amount_local_cents)::bigint from settlement_lines"
        " where period = $p and currency = 'USD' group by 1 order by 1 limit 1",
        p=period,
    )
    assert found, "the demo has an overseas payee"
    payee_id, local = found[0]
    (path,) = out.glob(f"*_{payee_id}_*.pdf")
    assert f"{period} 以 USD 支付: {money(int(local), 'USD')}" in text_of(path)  # type: ignore[call-overload]


def test_the_workbook_adds_up_to_the_ledger(closed: tuple[Path, str, str, Path]) -> None:
    db, period, _, out = closed
    book = openpyxl.load_workbook(out / workbook_name(WORDS, period))
    lines = book["明细"]
    assert lines.freeze_panes == "A2"
    header = [cell.value for cell in lines[1]]
    amount, local, currency = (
        header.index("金额"),
        header.index("支付币种金额"),
        header.index("币种"),
    )
    payee, day = header.index("收款方"), header.index("完成日期")
    by_payee: dict[str, int] = {}
    for row in lines.iter_rows(min_row=2):
        cell = row[amount]
        assert isinstance(cell.value, int | float) and '"¥"' in cell.number_format
        if row[currency].value == "USD":
            assert '"$"' in row[local].number_format
        if row[day].value is not None:
            assert isinstance(row[day].value, datetime) and row[day].number_format == "yyyy-mm-dd"
        key = str(row[payee].value)
        by_payee[key] = by_payee.get(key, 0) + round(cell.value * 100)
    ledger = {payee_id: cents for payee_id, _, cents in payees(db, period)}
    assert by_payee == ledger
    total = rows(db, "select sum(amount_cents)::bigint from settlement_lines where period = $p",
                 p=period)[0][0]  # fmt: skip
    assert sum(by_payee.values()) == total

    summaries = [sheet for sheet in book.worksheets if sheet.title.endswith("汇总")]
    assert {s.title for s in summaries} >= {"技师汇总", "代理商汇总"}
    summed = 0
    for sheet in summaries:
        head = [cell.value for cell in sheet[1]]
        column = head.index("金额")
        summed += sum(round(r[column].value * 100) for r in sheet.iter_rows(min_row=2))
    assert summed == total


def test_an_open_period_is_refused_in_one_line(closed: tuple[Path, str, str, Path]) -> None:
    db, _, second, out = closed
    done = cli(db, second, "--out", str(out / "open"))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"period {second} is open; statements are written only for closed periods"
    )
    assert not (out / "open").exists()


def test_one_payee_writes_one_pdf(closed: tuple[Path, str, str, Path], tmp_path: Path) -> None:
    db, period, _, _ = closed
    payee_id, name, cents = payees(db, period)[0]
    done = cli(db, period, "--out", str(tmp_path), "--payee", payee_id)
    assert done.returncode == 0, done.stderr
    (only,) = list(tmp_path.iterdir())
    assert only.name == pdf_name(WORDS, period, payee_id, name)
    assert yuan(cents) in text_of(only)
    done = cli(db, period, "--out", str(tmp_path), "--payee", "NOBODY")
    assert done.returncode == 1 and "no settlement lines for payee NOBODY" in done.stderr


def test_a_missing_font_is_a_clear_refusal(
    closed: tuple[Path, str, str, Path], tmp_path: Path
) -> None:
    db, period, _, _ = closed
    missing = tmp_path / "none.ttf"
    done = cli(db, period, "--out", str(tmp_path / "x"), TIERBOARD_CJK_FONT=str(missing))
    assert done.returncode == 1
    assert done.stderr.strip() == f"TIERBOARD_CJK_FONT={missing}: no such font file"


def test_the_font_collection_face_is_embedded(closed: tuple[Path, str, str, Path]) -> None:
    _, _, _, out = closed
    reader = PdfReader(io.BytesIO(next(out.glob("*.pdf")).read_bytes()))
    fonts = reader.pages[0]["/Resources"]["/Font"]  # type: ignore[index]
    descriptors = [f.get_object()["/DescendantFonts"][0].get_object() for f in fonts.values()]
    assert any("/FontFile2" in d["/FontDescriptor"] for d in descriptors)  # embedded TrueType
