"""The Rules page's golden cases: each case against the draft (pass / fail, expected vs actual),
and an Excel import (audited; a bad row is refused naming its row and field)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st
from pydantic import ValidationError

from pages.components.formatting import export_buttons, show_table
from pages.components.i18n import _, code, phrase
from settlement.rules import parse_rules
from settlement.timeline import Timeline
from warehouse import golden
from warehouse.app_store import app_store_path


def outcomes_table(db: Path, timeline: Timeline, draft: dict[str, Any]) -> pl.DataFrame:
    try:
        candidate = parse_rules({**draft, "version": "draft"})
    except ValidationError:
        candidate = None  # an invalid draft: the cases are checked against the live rules
    under = timeline.with_draft(candidate) if candidate is not None else timeline
    results = golden.outcomes(app_store_path(db), under)
    return pl.DataFrame(
        [{"case": o.name, "passed": o.passed,
          "expected_technician_cents": o.expected_technician_cents,
          "actual_technician_cents": o.actual_technician_cents,
          "expected_partner_cents": o.expected_partner_cents,
          "actual_partner_cents": o.actual_partner_cents,
          "problem": phrase(golden.problem(o.problem)) if o.problem else ""}
         for o in results],
        schema={"case": pl.String, "passed": pl.Boolean, "expected_technician_cents": pl.Int64,
                "actual_technician_cents": pl.Int64, "expected_partner_cents": pl.Int64,
                "actual_partner_cents": pl.Int64, "problem": pl.String},
    )  # fmt: skip


def section(db: Path, timeline: Timeline, draft: dict[str, Any], who: str) -> None:
    table = outcomes_table(db, timeline, draft)
    failed = table.filter(~pl.col("passed")).height
    if failed:
        st.warning(
            _("The draft breaks {count} golden case(s): a publish is refused until they are "
              "changed with it.").format(count=failed)
        )  # fmt: skip
    else:
        st.success(_("The draft keeps all {count} golden case(s).").format(count=table.height))
    show_table(table)
    export_buttons(table, _("Golden cases"), key="golden")
    editor(db, who)
    with st.form("golden-import"):
        upload = st.file_uploader(
            _("Import golden cases (xlsx)"), type=["xlsx"], key="golden-import-file"
        )
        why = st.text_input(_("Why (required)"), key="golden-note")
        if st.form_submit_button(_("Import")):
            if upload is None:
                st.error(_("Choose an xlsx file first."))
            elif not why.strip():
                st.error(_("Changing golden cases needs a note saying why."))
            else:
                try:
                    cases = golden.import_excel(upload.getvalue())
                except ValueError as error:
                    st.error(_("Not imported: {reason}").format(reason=error))
                else:
                    golden.save(
                        app_store_path(db), {c.name: c for c in cases}, actor=who, reason=why
                    )
                    st.success(_("Imported {count} golden case(s).").format(count=len(cases)))
    st.caption(
        _("Columns: {columns}. Amounts in cents; the case ticket is the technician's n-th of "
          "the month (position).").format(columns=", ".join(golden.COLUMNS))
    )  # fmt: skip


def editor(db: Path, who: str) -> None:
    """Every case as an editable grid (rows added and deleted too), saved with a note; a bad row
    is refused naming its row and field, and nothing is saved then."""
    store = app_store_path(db)
    current = golden.cases(store)
    labels = {n: code("golden_field", n) for n in golden.COLUMNS}  # headers in the reader's words
    frame = pl.DataFrame(
        [c.model_dump(mode="json") for c in current],
        schema={n: _dtype(n) for n in golden.COLUMNS},
    ).rename(labels)
    with st.form("golden-edit"):
        edited = st.data_editor(frame, num_rows="dynamic", hide_index=True, key="golden-editor")
        why = st.text_input(_("Why (required)"), key="golden-edit-note")
        if st.form_submit_button(_("Save golden cases")):
            fields = {label: name for name, label in labels.items()}
            grid = edited if isinstance(edited, pl.DataFrame) else pl.DataFrame(edited)
            rows = grid.rename(fields, strict=False).to_dicts()
            try:
                cases = golden.rows_to_cases(rows)
            except ValueError as error:
                st.error(_("Not saved: {reason}").format(reason=error))
                return
            if not why.strip():
                st.error(_("Changing golden cases needs a note saying why."))
                return
            kept = {c.name for c in cases}
            edits: golden.Edits = {c.name: c for c in cases if c not in current}
            edits |= {c.name: None for c in current if c.name not in kept}
            golden.save(store, edits, actor=who, reason=why)
            st.success(_("Saved {count} change(s) to the golden cases.").format(count=len(edits)))


def _dtype(name: str) -> pl.DataType:
    if name in golden.BOOLEAN_FIELDS:
        return pl.Boolean()
    if name in golden.INTEGER_FIELDS:
        return pl.Int64()
    return pl.String()
