"""Disputes: a payee's "this line is wrong" or "this ticket is missing", and its resolution.

They live in the app store beside rules and audit, because the dashboard writes them while a load
may hold the warehouse. An accepted dispute becomes a manual adjustment (its amount, the payee and
the open period it is booked in); the settlement run reads those and emits each as a
``manual_adjustment`` line carrying the dispute's id, so re-settling never loses it.
"""

from __future__ import annotations

import io
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from PIL import Image

from settlement.explain import yuan
from settlement.manual import MANUAL
from warehouse import app_store
from warehouse.db import Phrase

SCHEMA = """
create table if not exists disputes (
    dispute_id      integer primary key autoincrement,
    raised_at       text not null,          -- UTC, ISO 8601
    raised_by       text not null,
    payee_type      text not null,          -- technician, or the partner's type
    payee_id        text not null,
    period          text not null,          -- YYYY-MM the dispute is about
    ticket_id       text not null,          -- '' for a line without a ticket
    line_kind       text,                   -- the disputed line's kind, null for a missing ticket
    ticket_date     text,                   -- a missing ticket's completion date (ISO)
    reason          text not null,
    photo           blob,
    photo_type      text,
    status          text not null default 'open',  -- open accepted rejected
    answer          text not null default '',
    resolved_at     text,
    resolved_by     text
);
create table if not exists manual_adjustments (
    dispute_id      integer primary key references disputes (dispute_id),
    period          text not null,          -- the open period it was booked in at acceptance
    payee_type      text not null,
    payee_id        text not null,
    ticket_id       text not null,
    amount_cents    integer not null,
    created_at      text not null,
    created_by      text not null
);
"""

STATUSES = ("open", "accepted", "rejected")
PHOTO_TYPES = ("image/png", "image/jpeg", "image/webp")
PHOTO_EXTENSIONS = ("png", "jpg", "jpeg", "webp")
MAX_PHOTO_BYTES = 2 * 1024 * 1024
MAX_REASON = 2_000
# Exact yuan: an optional sign, whole yuan (separators allowed), at most two decimals.
YUAN = re.compile(r"^([+-])?(\d{1,3}(?:,\d{3})+|\d{1,12})(?:\.(\d{1,2}))?$")
MAX_ADJUSTMENT_CENTS = 10**12  # ¥10 000 000 000: far beyond any single correction


class DisputeRefused(ValueError):
    """Input a person gave that cannot be taken, with the reason in words."""


@dataclass(frozen=True)
class Dispute:
    dispute_id: int
    raised_at: datetime
    raised_by: str
    payee_type: str
    payee_id: str
    period: str
    ticket_id: str
    line_kind: str | None
    ticket_date: date | None
    reason: str
    has_photo: bool
    status: str
    answer: str
    resolved_at: datetime | None
    resolved_by: str | None
    amount_cents: int | None  # accepted: the adjustment
    booked_period: str | None  # accepted: where the adjustment is booked

    def age_days(self, today: date) -> int:
        """Days since raised (to its resolution once resolved)."""
        end = self.resolved_at.date() if self.resolved_at else today
        return (end - self.raised_at.date()).days


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@contextmanager
def connect(store: Path) -> Iterator[sqlite3.Connection]:
    with app_store.connect(store) as con:
        # One statement at a time: executescript would commit the open transaction.
        for statement in SCHEMA.split(";"):
            if statement.strip():
                con.execute(statement)
        yield con


def parse_yuan(text: str) -> int:
    """Exact yuan text ("120", "-35.5", "1,200.00", "¥8.80") → integer cents, or refused."""
    cleaned = text.strip().replace("¥", "").replace("￥", "").replace(" ", "")
    match = YUAN.match(cleaned)
    if not match:
        raise DisputeRefused(
            "not an amount in yuan: write digits with at most two decimals, e.g. 120 or -35.50"
        )
    sign, whole, fraction = match.groups()
    cents = int(whole.replace(",", "")) * 100 + int((fraction or "0").ljust(2, "0"))
    cents = -cents if sign == "-" else cents
    if cents == 0:
        raise DisputeRefused("an adjustment of ¥0.00 changes nothing")
    if abs(cents) >= MAX_ADJUSTMENT_CENTS:
        raise DisputeRefused("the amount is beyond what one adjustment may be")
    return cents


def _check_photo(photo: bytes | None, photo_type: str | None) -> None:
    if photo is None:
        return
    if photo_type not in PHOTO_TYPES:
        raise DisputeRefused("the photo must be a PNG, JPEG or WebP image")
    if len(photo) > MAX_PHOTO_BYTES:
        raise DisputeRefused("the photo is larger than 2 MB")
    try:
        with Image.open(io.BytesIO(photo)) as image:
            image.verify()
    except Exception as error:  # Pillow raises many kinds for a broken file
        raise DisputeRefused("the photo is not a readable image") from error


def raise_dispute(
    store: Path,
    *,
    actor: str,
    payee_type: str,
    payee_id: str,
    ticket_id: str,
    reason: str,
    period: str | None = None,
    line_kind: str | None = None,
    ticket_date: date | None = None,
    photo: bytes | None = None,
    photo_type: str | None = None,
) -> int:
    """Record a dispute on a line (``period`` and ``line_kind``) or a missing ticket
    (``ticket_date``); audited. Returns its id."""
    reason, ticket_id = reason.strip(), ticket_id.strip()
    if not reason:
        raise DisputeRefused("say why: a dispute needs a reason")
    if len(reason) > MAX_REASON:
        raise DisputeRefused("the reason is longer than 2 000 characters")
    if not ticket_id and line_kind is None:  # a line may have no ticket (a partner's monthly)
        raise DisputeRefused("name the ticket")
    if line_kind is None:
        if ticket_date is None:
            raise DisputeRefused("a missing ticket needs the date it was completed")
        if ticket_date > datetime.now(UTC).date():
            raise DisputeRefused("the ticket's date is in the future")
        period = f"{ticket_date:%Y-%m}"
    if period is None:
        raise DisputeRefused("name the period of the disputed line")
    _check_photo(photo, photo_type)
    with connect(store) as con:
        cursor = con.execute(
            "insert into disputes (raised_at, raised_by, payee_type, payee_id, period, ticket_id,"
            " line_kind, ticket_date, reason, photo, photo_type)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (_now(), actor, payee_type, payee_id, period, ticket_id, line_kind,
             ticket_date.isoformat() if ticket_date else None, reason, photo,
             photo_type if photo is not None else None),
        )  # fmt: skip
        dispute_id = int(cursor.lastrowid or 0)
        what = (
            Phrase("line {kind} of {ticket}", kind=Phrase.code("line_kind", line_kind),
                   ticket=ticket_id)
            if line_kind
            else Phrase("missing ticket {ticket}", ticket=ticket_id)
        )  # fmt: skip
        app_store.audit(
            con, actor=actor, action="dispute_raise",
            subject=Phrase("dispute {number}", number=dispute_id),
            diff=Phrase(
                "{payee_type} {payee}, {period}: {what}",
                payee_type=Phrase.code("payee_type", payee_type), payee=payee_id, period=period,
                what=what,
            ),
            reason=reason,
        )  # fmt: skip
    return dispute_id


_SELECT = (
    "select d.dispute_id, d.raised_at, d.raised_by, d.payee_type, d.payee_id, d.period,"
    " d.ticket_id, d.line_kind, d.ticket_date, d.reason, d.photo is not null, d.status,"
    " d.answer, d.resolved_at, d.resolved_by, m.amount_cents, m.period"
    " from disputes as d left join manual_adjustments as m on m.dispute_id = d.dispute_id"
)


def _dispute(row: tuple[object, ...]) -> Dispute:
    (did, raised_at, raised_by, payee_type, payee_id, period, ticket_id, line_kind, ticket_date,
     reason, has_photo, status, answer, resolved_at, resolved_by, amount, booked) = row  # fmt: skip
    return Dispute(
        int(str(did)), datetime.fromisoformat(str(raised_at)), str(raised_by), str(payee_type),
        str(payee_id), str(period), str(ticket_id), None if line_kind is None else str(line_kind),
        date.fromisoformat(str(ticket_date)) if ticket_date else None, str(reason),
        bool(has_photo), str(status), str(answer),
        datetime.fromisoformat(str(resolved_at)) if resolved_at else None,
        None if resolved_by is None else str(resolved_by),
        None if amount is None else int(str(amount)), None if booked is None else str(booked),
    )  # fmt: skip


def disputes_of(store: Path, payee_type: str, payee_id: str) -> list[Dispute]:
    """A payee's disputes, newest first."""
    with connect(store) as con:
        rows = con.execute(
            _SELECT + " where d.payee_type = ? and d.payee_id = ? order by d.dispute_id desc",
            (payee_type, payee_id),
        ).fetchall()
    return [_dispute(row) for row in rows]


def queue(store: Path) -> list[Dispute]:
    """Open disputes, oldest first."""
    with connect(store) as con:
        rows = con.execute(
            _SELECT + " where d.status = 'open' order by d.raised_at, d.dispute_id"
        ).fetchall()
    return [_dispute(row) for row in rows]


def dispute(store: Path, dispute_id: int) -> Dispute | None:
    with connect(store) as con:
        row = con.execute(_SELECT + " where d.dispute_id = ?", (dispute_id,)).fetchone()
    return _dispute(row) if row else None


def photo(store: Path, dispute_id: int) -> bytes | None:
    with connect(store) as con:
        row = con.execute("select photo from disputes where dispute_id = ?", (dispute_id,))
        found = row.fetchone()
    return bytes(found[0]) if found and found[0] is not None else None


def open_disputes(store: Path, period: str | None = None) -> int:
    """Open disputes (about ``period``, or any): a blocker for closing that period."""
    with connect(store) as con:
        (count,) = con.execute(
            "select count(*) from disputes where status = 'open' and (? is null or period = ?)",
            (period, period),
        ).fetchone()
    return int(count)


def first_open_period(statuses: dict[str, str], today: date | None = None) -> str:
    """Where an adjustment accepted now is booked: the first open period; when every period is
    closed, the month after the latest (settlement opens it, as it does for corrections)."""
    open_periods = sorted(p for p, s in statuses.items() if s == "open")
    if open_periods:
        return open_periods[0]
    if not statuses:
        return f"{today or datetime.now(UTC).date():%Y-%m}"
    latest = max(statuses)
    year, month = int(latest[:4]), int(latest[5:7])
    return f"{year + month // 12}-{month % 12 + 1:02d}"


def _open_one(con: sqlite3.Connection, dispute_id: int) -> Dispute:
    row = con.execute(_SELECT + " where d.dispute_id = ?", (dispute_id,)).fetchone()
    if row is None:
        raise DisputeRefused(f"there is no dispute {dispute_id}")
    found = _dispute(row)
    if found.status != "open":
        raise DisputeRefused(f"dispute {dispute_id} is {found.status} already")
    return found


def accept(
    store: Path, dispute_id: int, *, actor: str, amount: str, period: str, answer: str = ""
) -> int:
    """Accept: a manual adjustment of ``amount`` (exact yuan text) booked in ``period`` (the first
    open period now, see ``first_open_period``); audited. Returns the amount in cents."""
    cents = parse_yuan(amount)
    with connect(store) as con:
        found = _open_one(con, dispute_id)
        now = _now()
        con.execute(
            "insert into manual_adjustments values (?, ?, ?, ?, ?, ?, ?, ?)",
            (dispute_id, period, found.payee_type, found.payee_id, found.ticket_id, cents, now,
             actor),
        )  # fmt: skip
        con.execute(
            "update disputes set status = 'accepted', answer = ?, resolved_at = ?,"
            " resolved_by = ? where dispute_id = ?",
            (answer.strip(), now, actor, dispute_id),
        )
        app_store.audit(
            con, actor=actor, action="dispute_accept",
            subject=Phrase("dispute {number}", number=dispute_id),
            diff=Phrase(
                "manual adjustment {amount} for {payee_type} {payee}, ticket {ticket}, booked in "
                "{period}",
                amount=yuan(cents), payee_type=Phrase.code("payee_type", found.payee_type),
                payee=found.payee_id, ticket=found.ticket_id, period=period,
            ),
            reason=answer.strip() or found.reason,
        )  # fmt: skip
    return cents


def reject(store: Path, dispute_id: int, *, actor: str, answer: str) -> None:
    """Reject with an answer the payee reads (required); audited."""
    if not answer.strip():
        raise DisputeRefused("a rejection needs an answer for the payee")
    with connect(store) as con:
        _open_one(con, dispute_id)
        con.execute(
            "update disputes set status = 'rejected', answer = ?, resolved_at = ?,"
            " resolved_by = ? where dispute_id = ?",
            (answer.strip(), _now(), actor, dispute_id),
        )
        app_store.audit(
            con, actor=actor, action="dispute_reject",
            subject=Phrase("dispute {number}", number=dispute_id),
            diff=Phrase("open → rejected"), reason=answer.strip(),
        )  # fmt: skip


def manual_adjustments(store: Path) -> pl.DataFrame:
    """Every accepted adjustment, for the settlement run."""
    with connect(store) as con:
        rows = con.execute(
            "select dispute_id, period, payee_type, payee_id, ticket_id, amount_cents"
            " from manual_adjustments order by dispute_id"
        ).fetchall()
    return pl.DataFrame(rows, schema=MANUAL, orient="row")
