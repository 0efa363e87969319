"""What the three platforms' API connectors share: errors, retries with back-off, windows.

Each connector (``pipelines/sources/<platform>/api.py``) turns a platform's response envelope
into either the payload or one of three errors: ``Transient`` (throttled, busy, a dropped
connection: retried with exponential back-off and jitter), ``TokenExpired`` (the connector
refreshes its token once and retries) and ``Permanent`` (stops that platform's pull; the
message is recorded in ``ingestion_runs``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

T = TypeVar("T")
BEIJING_OFFSET = timedelta(hours=8)  # the platforms' wall clock, UTC+8 all year
Record = dict[str, Any]


class ApiError(Exception):
    """A platform's answer that is not the data asked for."""

    def __init__(self, platform: str, message: str) -> None:
        super().__init__(f"{platform}: {message}")
        self.platform = platform


class Transient(ApiError):
    """Throttled or briefly unavailable: worth asking again after a pause."""

    def __init__(self, platform: str, message: str, wait: float | None = None) -> None:
        super().__init__(platform, message)
        self.wait = wait  # seconds the platform asked us to wait, when it says


class TokenExpired(ApiError):
    """The access token was refused: refresh it once, then ask again."""


class Permanent(ApiError):
    """An error asking again will not fix (bad credentials, signature, parameters)."""


@dataclass
class Retry:
    """Exponential back-off with full jitter; a platform asking for a longer ban than
    ``max_wait`` stops the pull instead of holding the scheduler."""

    platform: str
    attempts: int = 5
    base: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    waits: list[float] = field(default_factory=list)  # what was slept, for the log and tests

    def run(self, call: Callable[[], T]) -> T:
        last: Transient | None = None
        for attempt in range(self.attempts):
            try:
                return call()
            except Transient as error:
                last = error
                if attempt + 1 == self.attempts:
                    break
                wait = error.wait if error.wait is not None else self._backoff(attempt)
                if wait > self.max_wait:
                    raise Permanent(
                        self.platform, f"{_reason(error)}; asked to wait {wait:.0f} s, try later"
                    ) from error
                self.waits.append(wait)
                self.sleep(wait)
        assert last is not None
        raise Permanent(
            self.platform, f"{_reason(last)}; gave up after {self.attempts} attempts"
        ) from last

    def _backoff(self, attempt: int) -> float:
        return self.base * (2**attempt) * (0.5 + random.random() / 2)


def _reason(error: ApiError) -> str:
    return str(error).removeprefix(f"{error.platform}: ")


def with_token_refresh(call: Callable[[], T], refresh: Callable[[], None], platform: str) -> T:
    """``call``; if the token is refused, refresh it once and call again."""
    try:
        return call()
    except TokenExpired:
        refresh()
    try:
        return call()
    except TokenExpired as error:
        raise Permanent(platform, f"{_reason(error)} (again after a token refresh)") from error


def send(platform: str, request: Callable[[], httpx.Response]) -> Record:
    """One HTTP exchange as a JSON object: transport failures, 429 and 5xx are transient,
    another HTTP error or a body that is not a JSON object is permanent. Decimal numbers are
    kept as the text sent (``"12.30"``), so no amount passes through a float."""
    try:
        response = request()
    except httpx.TransportError as error:
        raise Transient(platform, f"{type(error).__name__}: {error}") from error
    if response.status_code == 429 or response.status_code >= 500:
        raise Transient(platform, f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise Permanent(platform, f"HTTP {response.status_code}: {response.text[:200]}")
    try:
        body = json.loads(response.text, parse_float=str)
    except ValueError:
        raise Permanent(platform, f"not a JSON response: {response.text[:200]!r}") from None
    if not isinstance(body, dict):
        raise Permanent(platform, f"not a JSON object: {response.text[:200]!r}")
    return body


def windows(
    start: datetime, end: datetime, longest: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """``[start, end]`` cut into consecutive windows of at most ``longest``. Neighbours share
    their edge (the platforms' ranges are inclusive), so a record changed exactly on an edge
    is listed twice and kept once by the connector, never missed."""
    while start < end:
        stop = min(start + longest, end)
        yield start, stop
        start = stop


def beijing_now() -> datetime:
    """Now as a naive Beijing wall-clock time, whatever the host's zone."""
    return datetime.now(UTC).replace(tzinfo=None) + BEIJING_OFFSET


def beijing_text(moment: datetime) -> str:
    """A naive Beijing wall-clock time as Taobao and Youzan take it: ``yyyy-MM-dd HH:mm:ss``."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def newest_by_id(records: list[Record], key: Callable[[Record], str]) -> list[Record]:
    """One record per id (the last fetched wins): ids listed in two windows are loaded once."""
    return list({key(record): record for record in records}.values())
