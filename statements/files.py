"""Statements as files: every payee's PDF and the period's workbook into a folder, or the PDFs
as one zip for a download."""

from __future__ import annotations

import io
import multiprocessing
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import BinaryIO

import polars as pl

from statements.content import pdf_name, workbook_name
from statements.fonts import Font, cjk_font, subset
from statements.pdf import statement_pdf
from statements.words import Words
from statements.workbook import period_workbook
from warehouse.statements import PeriodStatements


def _text(data: PeriodStatements, words: Words) -> str:
    """Every character the period's statements can print: its lines' text, the catalog's words
    and the notes of the rule versions."""
    text = [v for v in words.catalog().values()]
    text += [version.note for version in data.versions.values()]
    for column, dtype in data.lines.schema.items():
        if dtype == pl.String:
            text += [v for v in data.lines[column].unique().to_list() if v]
    return "".join(text) + "¥$—·，。：；（）％"


CHUNK = 25  # payees a worker process writes at a time


def _chunk(data: PeriodStatements, words: Words, font: Font) -> list[tuple[str, bytes]]:
    """(file name, PDF) of every payee of ``data``: a worker process's share."""
    return [
        (pdf_name(words, data.period, payee_id, name), statement_pdf(data, payee_id, words, font))
        for _type, payee_id, name in data.payees()
    ]


def each_pdf(
    data: PeriodStatements, words: Words, font: Font | None = None, workers: int = 1
) -> Iterator[tuple[str, bytes]]:
    """(file name, PDF) of every payee of ``data`` in statement order, all set in one subset
    of the font (subset once: embedding the whole CJK font would parse megabytes per PDF),
    written by ``workers`` processes when there are enough payees to share."""
    with tempfile.TemporaryDirectory(prefix="tierboard-font-") as folder:
        small = subset(font or cjk_font(), _text(data, words), Path(folder))
        payees = [payee_id for _type, payee_id, _name in data.payees()]
        if workers <= 1 or len(payees) < 2 * CHUNK:
            for _type, payee_id, name in data.payees():
                pdf = statement_pdf(data, payee_id, words, small)
                yield pdf_name(words, data.period, payee_id, name), pdf
            return
        shares = [data.of_payees(payees[i : i + CHUNK]) for i in range(0, len(payees), CHUNK)]
        # Spawned, not forked: the parent's Polars thread pool is running, and a fork would
        # copy its locks mid-use.
        spawn = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=spawn)
        try:
            for written in pool.map(_chunk, shares, [words] * len(shares), [small] * len(shares)):
                yield from written
        finally:  # a build stopped half-way must not wait for every share still queued
            pool.shutdown(wait=False, cancel_futures=True)


def pdfs(data: PeriodStatements, words: Words, font: Font | None = None) -> dict[str, bytes]:
    """File name → PDF of every payee of ``data``."""
    return dict(each_pdf(data, words, font))


def write_statements(
    data: PeriodStatements, out: Path, *, workbook: bool = True, words: Words | None = None
) -> list[Path]:
    """Write the PDFs (and the workbook) into ``out``; returns the paths written."""
    words = words or Words("zh")
    out.mkdir(parents=True, exist_ok=True)
    files = pdfs(data, words)
    if workbook:
        files[workbook_name(words, data.period)] = period_workbook(data, words)
    written = []
    for name, content in files.items():
        path = out / name
        path.write_bytes(content)
        written.append(path)
    return written


def write_pdf_zip(
    data: PeriodStatements,
    target: BinaryIO,
    words: Words | None = None,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 1,
) -> int:
    """Every payee's PDF into a zip written to ``target``; ``progress(done, total)`` after each.
    Returns the number of PDFs."""
    words = words or Words("zh")
    total, done = len(data.payees()), 0
    if progress:
        progress(0, total)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in each_pdf(data, words, workers=workers):
            archive.writestr(name, content)
            done += 1
            if progress:
                progress(done, total)
    return done


def pdf_zip(data: PeriodStatements, words: Words | None = None) -> bytes:
    buffer = io.BytesIO()
    write_pdf_zip(data, buffer, words)
    return buffer.getvalue()
