"""The dashboard's own store: what the app writes (rule versions, audit), apart from the warehouse.

The warehouse file belongs to the pipelines (one writer at a time, see ``warehouse.db``); the app
must be able to publish a rule while a load holds it. So the app writes here, to SQLite in WAL
mode: many readers, one short writer transaction at a time, and no long-held lock. The settlement
command reads rule versions from here and copies them into the warehouse's ``rule_versions`` table
for analysts' SQL.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from warehouse.db import Phrase

SCHEMA = """
create table if not exists rule_versions (
    version         integer primary key,
    effective_date  text not null,          -- ISO date the rules apply from
    document        text not null,          -- the rule set as JSON
    note            text not null,          -- why this version exists
    author          text not null,
    published_at    text not null           -- UTC, ISO 8601
);
create table if not exists audit_log (
    audit_id        integer primary key autoincrement,
    at              text not null,          -- UTC, ISO 8601
    actor           text not null,
    action          text not null,          -- rule_publish rule_rollback period_close ...
    subject         text not null,
    diff            text not null,          -- readable description of the change
    reason          text not null,
    wording         text                    -- JSON: the English texts' templates and fields
);
create table if not exists users (
    email           text primary key,       -- the identity provider's email claim
    name            text not null,
    role            text not null,          -- manager regional_lead analyst technician admin
    region_groups   text not null default '',  -- comma separated (regional leads)
    provinces       text not null default '',  -- comma separated province codes
    technician_id   text,                   -- technicians only
    partner_id      text,                   -- partner contacts only
    updated_at      text not null,
    updated_by      text not null
);
create trigger if not exists audit_log_is_append_only_u before update on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
create trigger if not exists audit_log_is_append_only_d before delete on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
"""


# Columns added after a store was first created: (table, column, declaration). ``create table
# if not exists`` leaves an older table as it was, so each is added where it is missing (a
# table another module creates on first use is skipped until it exists, with the column).
# Adding a column rewrites no row, so the append-only audit log keeps every row as it was.
ADDED_COLUMNS = (
    ("users", "partner_id", "text"),
    ("audit_log", "wording", "text"),
    ("change_requests", "wording", "text"),
)


def _add_missing_columns(con: sqlite3.Connection) -> None:
    for table, column, declaration in ADDED_COLUMNS:
        present = {row[1] for row in con.execute(f"pragma table_info({table})")}
        if present and column not in present:  # names are the constants above, never input
            con.execute(f"alter table {table} add column {column} {declaration}")


# --- stored texts: a Phrase is stored as its English text and, beside it, as its template and
# fields (JSON), so a page reads it back as a Phrase and says it in the reader's language.
def phrase_json(value: object) -> object:
    """``value`` as JSON: a Phrase as its template, context and fields, anything else as is."""
    if not isinstance(value, Phrase):
        return value
    stored: dict[str, object] = {"template": value.template}
    if value.context is not None:
        stored["context"] = value.context
    if value.fields:
        stored["fields"] = {name: phrase_json(v) for name, v in value.fields.items()}
    return stored


def json_phrase(stored: object) -> object:
    """What :func:`phrase_json` stored, a Phrase again."""
    if not isinstance(stored, dict):
        return stored
    template = str(stored["template"])
    if stored.get("context") is not None:
        return Phrase.code(str(stored["context"]), template)
    fields = {name: json_phrase(v) for name, v in (stored.get("fields") or {}).items()}
    return Phrase(template, **fields)


def wording(**texts: str) -> str | None:
    """The texts that are phrases, as one JSON column (None when none is one)."""
    phrases = {name: phrase_json(text) for name, text in texts.items() if isinstance(text, Phrase)}
    return json.dumps(phrases, ensure_ascii=False) if phrases else None


def worded(texts: dict[str, object], stored: str | None) -> dict[str, object]:
    """``texts`` (a row's columns) with those the ``wording`` column holds as phrases; a row
    written before the column existed, or a damaged one, keeps its stored texts."""
    try:
        phrases = json.loads(stored) if stored else {}
        return texts | {name: json_phrase(value) for name, value in phrases.items()}
    except (ValueError, TypeError, KeyError, IndexError):
        return texts


def app_store_path(warehouse: Path) -> Path:
    """``$TIERBOARD_APP_DB``, else ``tierboard_app.sqlite`` beside the warehouse."""
    env = os.environ.get("TIERBOARD_APP_DB")
    return Path(env) if env else warehouse.with_name("tierboard_app.sqlite")


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A WAL-mode connection with the schema in place; commits on success, else rolls back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path, timeout=30, isolation_level=None)) as con:
        con.execute("pragma journal_mode = wal")
        con.execute("pragma busy_timeout = 30000")
        con.executescript(SCHEMA)
        _add_missing_columns(con)
        con.execute("begin immediate")
        try:
            yield con
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise


@dataclass(frozen=True)
class RuleVersion:
    version: int
    effective_date: date
    document: dict[str, object]
    note: str
    author: str
    published_at: datetime


def publish_rule_version(
    path: Path,
    document: dict[str, object],
    *,
    effective_date: date,
    note: str,
    author: str,
    action: str = "rule_publish",
    diff: str | None = None,
    also: Callable[[sqlite3.Connection, int], None] | None = None,
) -> int:
    """Store a new rule version and its audit record in one transaction; returns the version.
    ``also`` writes what must commit with the version (golden-case edits) in that transaction."""
    if not note.strip():
        raise ValueError("a rule version needs a note saying why")
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    with connect(path) as con:
        (latest,) = con.execute("select coalesce(max(version), 0) from rule_versions").fetchone()
        version = int(latest) + 1
        con.execute(
            "insert into rule_versions values (?, ?, ?, ?, ?, ?)",
            (version, effective_date.isoformat(), json.dumps(document, ensure_ascii=False), note,
             author, now),
        )  # fmt: skip
        audit(
            con,
            actor=author,
            action=action,
            subject=Phrase("rule version {version}", version=version),
            diff=diff or Phrase("published version {version}", version=version),
            reason=note,
        )
        if also is not None:
            also(con, version)
    return version


def audit(
    con: sqlite3.Connection, *, actor: str, action: str, subject: str, diff: str, reason: str
) -> None:
    """Record an audited action inside the caller's app-store transaction. Texts given as
    Phrases are stored in English and, in ``wording``, as their templates and fields."""
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    con.execute(
        "insert into audit_log (at, actor, action, subject, diff, reason, wording)"
        " values (?, ?, ?, ?, ?, ?, ?)",
        (now, actor, action, str(subject), str(diff), str(reason),
         wording(subject=subject, diff=diff, reason=reason)),
    )  # fmt: skip


def rule_versions(path: Path) -> list[RuleVersion]:
    with connect(path) as con:
        rows = con.execute("select * from rule_versions order by version").fetchall()
    return [
        RuleVersion(
            int(version),
            date.fromisoformat(effective),
            json.loads(document),
            note,
            author,
            datetime.fromisoformat(published),
        )
        for version, effective, document, note, author, published in rows
    ]


AUDIT_ROLES = ("analyst", "admin")


def audit_entries(
    path: Path, role: str, *, action: str | None = None, actor: str | None = None
) -> list[dict[str, object]]:
    """The audit log, newest first, for the roles allowed to read it (others get nothing).
    A text stored with its wording is a Phrase (its English text, which a page can say in the
    reader's language)."""
    if role not in AUDIT_ROLES:
        return []
    with connect(path) as con:
        rows = con.execute(
            "select audit_id, at, actor, action, subject, diff, reason, wording from audit_log"
            " where (? is null or action = ?) and (? is null or actor = ?)"
            " order by audit_id desc",
            (action, action, actor, actor),
        ).fetchall()
    keys = ("audit_id", "at", "actor", "action", "subject", "diff", "reason")
    return [worded(dict(zip(keys, row[:-1], strict=True)), row[-1]) for row in rows]
