"""Maker–checker: a rule publish or a period close is requested by one person and takes effect
only when a second person with the approving role approves it.

Requests live in the app store beside the audit log; their payload is JSON so that later fields
ride along without a schema change. Every step (requested, approved, rejected, withdrawn, and an
approved request that could not take effect) is audited. ``TIERBOARD_APPROVALS=off`` is the
single-person mode: a request takes effect at once, still audited as requested and applied.

The effect reuses ``warehouse.publish.publish`` and ``warehouse.settle.close_period``; the caller
re-settles after an applied publish (the dashboard in a separate process, the CLI in its own).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from warehouse import app_store, users
from warehouse.db import Phrase, WarehouseMissing

DDL = """
create table if not exists change_requests (
    request_id      integer primary key autoincrement,
    kind            text not null,          -- publish close
    subject         text not null,          -- "rule version effective 2026-05-01", "period 2026-04"
    payload         text not null,          -- JSON: what to apply (rules, effective date, period …)
    summary         text not null,          -- the readable diff or the period's figures
    status          text not null,          -- pending applied rejected withdrawn failed
    requested_by    text not null,
    requested_at    text not null,          -- UTC, ISO 8601
    note            text not null,          -- the requester's why
    decided_by      text,
    decided_at      text,
    reason          text not null default '',  -- rejection reason or why it failed to apply
    outcome         text not null default '',  -- what applying it did ("version 4", "closed")
    wording         text                    -- JSON: subject, summary, reason, outcome's templates
);
"""

KINDS = ("publish", "close")
STATUSES = ("pending", "applied", "rejected", "withdrawn", "failed")


def approvals_on() -> bool:
    """``TIERBOARD_APPROVALS=off`` (or 0, no, false) is the single-person mode; on by default."""
    value = os.environ.get("TIERBOARD_APPROVALS", "on").strip().lower()
    return value not in ("off", "0", "no", "false")


def _roles(variable: str, default: str) -> tuple[str, ...]:
    value = os.environ.get(variable) or default
    return tuple(r.strip() for r in value.split(",") if r.strip())


def requester_roles() -> tuple[str, ...]:
    """Who may request (``TIERBOARD_REQUEST_ROLES``, comma separated; default analyst)."""
    return _roles("TIERBOARD_REQUEST_ROLES", "analyst")


def approver_roles() -> tuple[str, ...]:
    """Who may approve or reject (``TIERBOARD_APPROVER_ROLES``; default manager)."""
    return _roles("TIERBOARD_APPROVER_ROLES", "manager")


class RequestRefused(ValueError):
    """A request, approval, rejection or withdrawal that may not happen, with the reason (a
    Phrase keeps its template and fields, as a warehouse error made with ``said`` does, so a page
    says it in the reader's language)."""

    template: str | None = None
    fields: dict[str, object] = {}  # noqa: RUF012 - replaced per instance by a Phrase's

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        if isinstance(reason, Phrase) and reason.context is None:
            self.template, self.fields = reason.template, reason.fields


def _reason_of(error: BaseException) -> str:
    """An error's message, as a Phrase when it keeps its template (a refusal, a warehouse error
    made with ``said``)."""
    reason = error.args[0] if error.args else None
    if isinstance(reason, Phrase):
        return reason
    template = getattr(error, "template", None)
    if template is not None:
        return Phrase(template, **getattr(error, "fields", {}))
    return str(error) or type(error).__name__


@dataclass(frozen=True)
class Request:
    """A request; its subject, summary, reason and outcome are Phrases when they were written
    with their wording (English as strings, in the reader's language on a page)."""

    request_id: int
    kind: str
    subject: str
    payload: dict[str, Any]
    summary: str
    status: str
    requested_by: str
    requested_at: str
    note: str
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str = ""
    outcome: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a request did: still pending, or applied (then what it produced)."""

    request: Request
    applied: bool
    version: int | None = None  # an applied publish: the new rule version
    retroactive_into: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@contextmanager
def _connect(primary: Path) -> Iterator[sqlite3.Connection]:
    with app_store.connect(app_store.app_store_path(primary)) as con:
        con.execute(DDL)
        yield con


def _row(row: tuple[Any, ...]) -> Request:
    rid, kind, subject, payload, summary, status, by, at, note, dby, dat, reason, outcome = row[:13]
    texts = app_store.worded(
        {"subject": subject, "summary": summary, "reason": reason, "outcome": outcome}, row[13]
    )
    return Request(
        int(rid), kind, _text(texts["subject"]), json.loads(payload), _text(texts["summary"]),
        status, by, at, note, dby, dat, _text(texts["reason"]), _text(texts["outcome"]),
    )  # fmt: skip


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)  # a Phrase stays one


COLUMNS = (
    "request_id, kind, subject, payload, summary, status, requested_by, requested_at, note,"
    " decided_by, decided_at, reason, outcome, wording"
)


def get(primary: Path, request_id: int) -> Request:
    with _connect(primary) as con:
        row = con.execute(
            f"select {COLUMNS} from change_requests where request_id = ?", (request_id,)
        ).fetchone()
    if row is None:
        raise RequestRefused(Phrase("no request {number}", number=request_id))
    return _row(row)


def listing(
    primary: Path, *, status: str | None = None, requested_by: str | None = None
) -> list[Request]:
    """Requests, newest first; ``status='decided'`` means every status but pending."""
    with _connect(primary) as con:
        rows = con.execute(
            f"select {COLUMNS} from change_requests where (? is null or status = ?"
            " or (? = 'decided' and status <> 'pending')) and (? is null or requested_by = ?)"
            " order by request_id desc",
            (status, status, status, requested_by, requested_by),
        ).fetchall()
    return [_row(r) for r in rows]


# --- checks: what must hold before a request is accepted, and again before it is applied -----
# Each check returns why the request is refused, or None. Another check (a golden-case gate on a
# publish, open disputes on a close) is one more function in the kind's list.
Check = Callable[[Path, dict[str, Any]], str | None]


def _statuses(primary: Path) -> dict[str, str]:
    from warehouse.settle import period_statuses

    try:
        return period_statuses(primary)
    except WarehouseMissing:
        return {}


def reach_into_closed_periods(primary: Path, payload: dict[str, Any]) -> str | None:
    from warehouse.publish import reach_problem

    effective = date.fromisoformat(payload["effective_date"])
    return reach_problem(effective, _statuses(primary), bool(payload.get("retroactive")))


def rules_are_valid(primary: Path, payload: dict[str, Any]) -> str | None:
    from pydantic import ValidationError

    from settlement.rules import parse_rules, problems_of
    from warehouse.publish import known_codes

    document = {**payload["document"], "effective_date": payload["effective_date"]}
    try:
        parse_rules({**document, "note": payload["note"], "version": "draft"}, known_codes())
    except ValidationError as error:
        return Phrase.joined([Phrase.code("validation", str(p)) for p in problems_of(error)])
    return None


def golden_cases_hold(primary: Path, payload: dict[str, Any]) -> str | None:
    """A draft that breaks a golden case is refused unless the request changes that case."""
    from settlement.rules import parse_rules
    from warehouse import golden
    from warehouse.app_store import app_store_path
    from warehouse.publish import known_codes
    from warehouse.settle import live_timeline

    document = {**payload["document"], "effective_date": payload["effective_date"]}
    draft = parse_rules({**document, "note": payload["note"], "version": "draft"}, known_codes())
    edits = golden.edits_from_json(payload.get("golden_edits"))
    return golden.golden_problem(app_store_path(primary), live_timeline(primary), draft, edits)


def period_may_close(primary: Path, payload: dict[str, Any]) -> str | None:
    period = payload["period"]
    statuses = _statuses(primary)
    if statuses.get(period) != "open":
        state = statuses.get(period, "unknown")
        return Phrase(
            "period {period} is {state}; only an open period can be closed",
            period=period, state=Phrase.code("status", state),
        )  # fmt: skip
    earlier = sorted(p for p, s in statuses.items() if s == "open" and p < period)
    if earlier:
        return Phrase(
            "periods close in order: close {earlier} before {period}",
            earlier=", ".join(earlier), period=period,
        )  # fmt: skip
    return None


CHECKS: dict[str, list[Check]] = {
    "publish": [reach_into_closed_periods, rules_are_valid, golden_cases_hold],
    "close": [period_may_close],
}


def refusal(primary: Path, kind: str, payload: dict[str, Any]) -> str | None:
    """The first check that refuses ``payload``, or None when every check passes."""
    for check in CHECKS[kind]:
        problem = check(primary, payload)
        if problem:
            return problem
    return None


# --- who may do what -------------------------------------------------------------------------
# The CLI's ``--by`` is a person in the app store's users table (by email); on a development
# machine (TIERBOARD_ENV=development|test, as for the dashboard's demo identities) a demo
# identity's key names its role: ``--by manager``.
DEMO_ROLES = {
    "analyst": "analyst", "manager": "manager", "lead-east": "regional_lead",
    "lead-sw": "regional_lead", "technician": "technician", "admin": "admin",
}  # fmt: skip


def role_of(primary: Path, who: str) -> str | None:
    user = users.get(app_store.app_store_path(primary), who)
    if user is not None:
        return user.role
    if os.environ.get("TIERBOARD_ENV", "").strip().lower() in ("development", "test"):
        return DEMO_ROLES.get(who)
    return None


def _may(role: str | None, allowed: tuple[str, ...], who: str, what: Phrase) -> None:
    if role not in allowed:
        raise RequestRefused(Phrase(
            "{who} ({role}) may not {what}: that needs the role {roles}", who=who,
            role=Phrase.code("role", role) if role else Phrase("no role"), what=what,
            roles=_either([Phrase.code("role", r) for r in allowed]),
        ))  # fmt: skip


def _either(roles: list[Phrase]) -> Phrase:
    """The roles as "a", "a or b", "a, b or c"."""
    if len(roles) < 2:
        return Phrase.joined(roles)
    return Phrase("{roles} or {role}", roles=Phrase.joined(roles[:-1], ", "), role=roles[-1])


# --- the steps -------------------------------------------------------------------------------
KIND_WORDS = {"publish": Phrase("publish"), "close": Phrase("close")}


def _audit(con: sqlite3.Connection, request: Request, actor: str, step: str, text: str) -> None:
    if not approvals_on():
        return  # single-person mode: the effect's own audit row (rule_publish …) says it all
    app_store.audit(
        con, actor=actor, action=f"request_{step}",
        subject=Phrase("request {number}", number=request.request_id),
        diff=Phrase(
            "{kind} {subject}: {text}", kind=KIND_WORDS.get(request.kind, request.kind),
            subject=request.subject, text=text,
        ),
        reason=text,
    )  # fmt: skip


def _decide(
    primary: Path, request: Request, status: str, by: str, *, reason: str = "", outcome: str = ""
) -> Request:
    texts = {"subject": request.subject, "summary": request.summary, "reason": reason,
             "outcome": outcome}  # fmt: skip
    with _connect(primary) as con:
        changed = con.execute(
            "update change_requests set status = ?, decided_by = ?, decided_at = ?, reason = ?,"
            " outcome = ?, wording = ? where request_id = ? and status = 'pending'",
            (status, by, _now(), str(reason), str(outcome), app_store.wording(**texts),
             request.request_id),
        ).rowcount  # fmt: skip
        if not changed:  # decided meanwhile by someone else
            raise RequestRefused(
                Phrase("request {number} is no longer pending", number=request.request_id)
            )
        step = {"applied": "approved", "failed": "failed"}.get(status, status)
        _audit(con, request, by, step, reason or outcome or Phrase.code("status", status))
    return get(primary, request.request_id)


def _summary(primary: Path, kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """A request's subject and summary (the readable diff, or the period's figures)."""
    if kind == "publish":
        from warehouse.publish import describe_publish

        effective = date.fromisoformat(payload["effective_date"])
        text = describe_publish(primary, payload["document"], effective, payload["note"])
        day = effective.isoformat()
        return Phrase("rule version effective {day}", day=day), text
    from warehouse.period_close import figures_text

    period = payload["period"]
    return Phrase("period {period}", period=period), figures_text(primary, period)


def submit(
    primary: Path, kind: str, payload: dict[str, Any], *, by: str, role: str | None
) -> Outcome:
    """Request ``kind`` (publish or close) with ``payload``; applied at once when approvals are
    off. ``role`` is the requester's (the dashboard's identity, or ``role_of`` for the CLI)."""
    if kind not in KINDS:
        raise RequestRefused(Phrase("unknown request kind {kind}", kind=repr(kind)))
    payload = json.loads(json.dumps(payload, ensure_ascii=False, default=str))  # as stored
    note = str(payload.get("note", "")).strip()
    if not note:
        raise RequestRefused(Phrase("a request needs a note saying why"))
    if approvals_on():
        what = Phrase("request a publish") if kind == "publish" else Phrase("request a close")
        _may(role, requester_roles(), by, what)
    problem = refusal(primary, kind, payload)
    if problem:
        raise RequestRefused(problem)
    subject, summary = _summary(primary, kind, payload)
    with _connect(primary) as con:
        cursor = con.execute(
            "insert into change_requests (kind, subject, payload, summary, status, requested_by,"
            " requested_at, note, wording) values (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
            (kind, str(subject), json.dumps(payload, ensure_ascii=False), str(summary), by,
             _now(), note, app_store.wording(subject=subject, summary=summary)),
        )  # fmt: skip
        request_id = int(cursor.lastrowid or 0)
        request = Request(request_id, kind, subject, payload, summary, "pending", by, _now(), note)
        _audit(con, request, by, "requested", note)
    if not approvals_on():
        return _apply(primary, request, by)
    return Outcome(request, applied=False)


def approve(primary: Path, request_id: int, *, by: str, role: str | None) -> Outcome:
    """Apply a pending request as its second person; re-validated against today's state."""
    request = _pending(primary, request_id)
    if by == request.requested_by:
        raise RequestRefused(Phrase(
            "{who} requested {number}: a second person must approve it", who=by, number=request_id
        ))  # fmt: skip
    _may(role, approver_roles(), by, Phrase("approve requests"))
    return _apply(primary, request, by)


def _apply(primary: Path, request: Request, by: str) -> Outcome:
    from warehouse.db import WarehouseError, WarehouseLocked

    problem = refusal(primary, request.kind, request.payload)
    if problem is None:
        try:
            return _take_effect(primary, request, by)
        except WarehouseLocked:
            raise  # a writer holds the warehouse for now: the request stays pending, try again
        except (ValueError, WarehouseError) as error:
            problem = _reason_of(error)
    _decide(primary, request, "failed", by, reason=problem)
    raise RequestRefused(Phrase(
        "request {number} could not take effect: {problem}", number=request.request_id,
        problem=problem,
    ))  # fmt: skip


def _take_effect(primary: Path, request: Request, by: str) -> Outcome:
    payload = request.payload
    note: str = payload["note"]
    if by != request.requested_by:  # the note the effect audits says who approved it
        note = Phrase(
            "{note} (request {number}, approved by {who})", note=note, number=request.request_id,
            who=by,
        )  # fmt: skip
    if request.kind == "publish":
        from warehouse import golden
        from warehouse.publish import publish

        done = publish(
            primary, payload["document"],
            effective_date=date.fromisoformat(payload["effective_date"]),
            note=note, author=request.requested_by, retroactive=bool(payload.get("retroactive")),
            action=str(payload.get("action", "rule_publish")),
            golden_edits=golden.edits_from_json(payload.get("golden_edits")),
        )  # fmt: skip
        decided = _decide(
            primary, request, "applied", by,
            outcome=Phrase("version {version}", version=done.version),
        )  # fmt: skip
        return Outcome(decided, True, done.version, done.retroactive_into)
    from warehouse.settle import close_period

    close_period(primary, payload["period"], actor=request.requested_by, note=note)
    decided = _decide(primary, request, "applied", by, outcome=Phrase.code("status", "closed"))
    return Outcome(decided, True)


def _pending(primary: Path, request_id: int) -> Request:
    request = get(primary, request_id)
    if request.status != "pending":
        raise RequestRefused(Phrase(
            "request {number} is {status}, not pending", number=request_id,
            status=Phrase.code("status", request.status),
        ))  # fmt: skip
    return request


def reject(primary: Path, request_id: int, *, by: str, role: str | None, reason: str) -> Request:
    request = _pending(primary, request_id)
    if not reason.strip():
        raise RequestRefused(Phrase("a rejection needs a reason"))
    if by == request.requested_by:
        raise RequestRefused(Phrase(
            "{who} requested {number}: withdraw it instead", who=by, number=request_id
        ))  # fmt: skip
    _may(role, approver_roles(), by, Phrase("reject requests"))
    return _decide(primary, request, "rejected", by, reason=reason.strip())


def withdraw(primary: Path, request_id: int, *, by: str) -> Request:
    request = _pending(primary, request_id)
    if by != request.requested_by:
        raise RequestRefused(Phrase(
            "only {who}, who requested it, may withdraw it", who=request.requested_by
        ))  # fmt: skip
    return _decide(primary, request, "withdrawn", by, reason=Phrase("withdrawn by the requester"))
