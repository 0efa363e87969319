"""A closed period's PDF statements as one zip, built in the background and kept for everyone.

Building a zip takes a while (tens of milliseconds a payee, thousands of payees a month), so the
dashboard never builds it in a script run: it starts ``python -m warehouse.statement_jobs``, a
process of its own that outlives the page, and polls what it reports. The zip, its status and
its lock live in ``<warehouse>.statements/`` beside the warehouse, named by period, payee type
(or ``all``) and a key of everything the statements depend on (the period's close, its lines as
printed, the rule versions they name, the layout, the font and the words). A second click, or a
second analyst, finds the ready file; a period whose lines changed (a re-close after a
correction) has another key, so an old zip is never offered for it.

Files of one build (``<period>_<scope>_<key>``):
- ``.zip``: written to a temporary name and renamed, so it is whole whenever it exists;
- ``.json``: its status (queued, building with counts, failed with a reason), replaced atomically;
- ``.lock``: held (``flock``) by the process building it, released when it ends however it ends,
  so a build that died is told from one still running.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from statements.files import write_pdf_zip
from statements.fonts import cjk_font
from statements.words import Words
from warehouse.db import lock_held, try_lock
from warehouse.statements import Fingerprint, read_for_build

ROOT = Path(__file__).resolve().parents[1]
LAYOUT = "1"  # bump when what a statement prints changes: every kept zip is rebuilt then
PROGRESS_EVERY = 0.5  # seconds between two progress reports
STARTING_GRACE = 60.0  # seconds a queued build may take to take its lock before it counts as lost
STALE_AFTER = 3600.0  # seconds after which a superseded zip (another key) is removed
WORDS = Words("zh")  # statements are written in Chinese whatever the page's language
WORKERS_SETTING = "TIERBOARD_STATEMENT_WORKERS"

State = Literal["absent", "starting", "building", "ready", "failed"]


def workers() -> int:
    """Processes writing one zip's PDFs: ``$TIERBOARD_STATEMENT_WORKERS``, else half the
    cores (the other half keeps serving the pages), at least one."""
    configured = os.environ.get(WORKERS_SETTING, "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return max(1, (os.cpu_count() or 1) // 2)


def cache_dir(primary: Path) -> Path:
    return primary.with_name(f"{primary.stem}.statements")


@cache
def _catalog_digest() -> str:
    entries = sorted((c or "", m, t) for (c, m), t in WORDS.catalog().items())
    return hashlib.sha256(repr(entries).encode("utf-8")).hexdigest()


def salt() -> str:
    """What the zip depends on besides the warehouse: the layout, the font file, the words."""
    font = cjk_font()
    found = font.path.stat()
    stamp = f"{found.st_size}|{found.st_mtime_ns}"
    return f"{LAYOUT}|{font.path}#{font.index}|{stamp}|{_catalog_digest()}"


@dataclass(frozen=True)
class Build:
    """One zip: a period's statements, of one payee type or of all (None)."""

    primary: Path
    period: str
    payee_type: str | None
    key: str

    @classmethod
    def of(cls, primary: Path, fingerprint: Fingerprint, payee_type: str | None) -> Build:
        key = fingerprint.key(payee_type, salt())
        return cls(primary.resolve(), fingerprint.period, payee_type, key)

    @property
    def prefix(self) -> str:
        return f"{self.period}_{self.payee_type or 'all'}_"

    def _file(self, suffix: str) -> Path:
        return cache_dir(self.primary) / f"{self.prefix}{self.key[:24]}{suffix}"

    @property
    def zip_path(self) -> Path:
        return self._file(".zip")

    @property
    def status_path(self) -> Path:
        return self._file(".json")

    @property
    def lock_path(self) -> Path:
        return self._file(".lock")


@dataclass(frozen=True)
class BuildState:
    state: State
    done: int = 0
    total: int = 0
    reason: str = ""


def _write_status(build: Build, **status: Any) -> None:
    """Replace the status file at once: a reader sees the old status or the new, never half."""
    target = build.status_path
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    written = {**status, "at": time.time(), "pid": os.getpid()}
    temporary.write_text(json.dumps(written), encoding="utf-8")
    os.replace(temporary, target)


def _read_status(build: Build) -> dict[str, Any] | None:
    try:
        found = json.loads(build.status_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


@contextmanager
def _locked(lock: Path, wait: float = 2.0) -> Iterator[bool]:
    """Hold ``lock`` for the build, or yield False when another process holds it. The short
    wait covers a page asking ``lock_held`` at that very moment."""
    with lock.open("ab") as handle:
        if not try_lock(handle, wait, poll=0.05):
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def state_of(build: Build) -> BuildState:
    """Where a build stands, as any page (of any user) sees it."""
    if build.zip_path.is_file():
        return BuildState("ready")
    status = _read_status(build) or {}
    done, total = int(status.get("done", 0)), int(status.get("total", 0))
    if lock_held(build.lock_path):
        running = status.get("state") == "building"
        return BuildState("building" if running else "starting", done, total)
    if status.get("state") == "failed":
        return BuildState("failed", done, total, str(status.get("reason", "")))
    if status.get("state") == "queued" and time.time() - status.get("at", 0) < STARTING_GRACE:
        return BuildState("starting")
    if status.get("state") in ("queued", "building"):
        return BuildState("failed", done, total, "the build stopped before it finished")
    return BuildState("absent")


def start(build: Build) -> None:
    """Build the zip in a process of its own, unless it is ready or being built."""
    if state_of(build).state in ("ready", "starting", "building"):
        return
    folder = cache_dir(build.primary)
    folder.mkdir(parents=True, exist_ok=True)
    _write_status(build, state="queued")
    command = [sys.executable, "-m", "warehouse.statement_jobs", build.period,
               "--db", str(build.primary), "--key", build.key]  # fmt: skip
    if build.payee_type:
        command += ["--payee-type", build.payee_type]
    with (folder / "builds.log").open("ab") as log:
        subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives the page and the server's restarts
        )


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _prune(build: Build) -> None:
    """Remove superseded zips (another key) of the same period and scope, once nobody can
    still be downloading them."""
    now = time.time()
    for old in cache_dir(build.primary).glob(f"{build.prefix}*.zip"):
        if old != build.zip_path and now - old.stat().st_mtime > STALE_AFTER:
            old.unlink(missing_ok=True)
            old.with_suffix(".json").unlink(missing_ok=True)
    # What a killed build left (it had no chance to remove it), once surely not being written.
    for part in cache_dir(build.primary).glob("*.part"):
        if now - part.stat().st_mtime > STALE_AFTER:
            part.unlink(missing_ok=True)


def run(build: Build, processes: int | None = None) -> Path:
    """Build the zip here and now (what the background process does); returns its path.

    Raises what stops it (an open period, a font that cannot be read, lines that changed
    since the key was taken), after recording it as the build's failure."""
    folder = cache_dir(build.primary)
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(build.lock_path) as mine:
        if not mine or build.zip_path.is_file():
            return build.zip_path  # built, or being built, by another process
        partial = build.zip_path.with_name(f"{build.zip_path.name}.{os.getpid()}.part")
        try:
            fingerprint, data = read_for_build(build.primary, build.period)
            if fingerprint.key(build.payee_type, salt()) != build.key:
                raise RuntimeError(
                    "the period's statements changed since this build was asked for:"
                    " reload the page and build again"
                )
            data = data.of_type(build.payee_type)
            reported = [0.0]

            def progress(done: int, total: int) -> None:
                if done == total or time.monotonic() - reported[0] >= PROGRESS_EVERY:
                    _write_status(build, state="building", done=done, total=total)
                    reported[0] = time.monotonic()

            with partial.open("wb") as target:
                write_pdf_zip(data, target, WORDS, progress, processes or workers())
                target.flush()
                os.fsync(target.fileno())
            os.replace(partial, build.zip_path)
        except BaseException as error:  # a stop (SIGTERM) too: no half-written file stays
            partial.unlink(missing_ok=True)
            reason = _one_line(error) if isinstance(error, Exception) else "the build was stopped"
            _write_status(build, state="failed", reason=reason)
            raise
        build.status_path.unlink(missing_ok=True)
        _prune(build)
        return build.zip_path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m warehouse.statement_jobs",
        description="build a closed period's PDF statements as one zip (the dashboard starts it)",
    )
    parser.add_argument("period")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--key", required=True, help="the key the page asked for")
    parser.add_argument("--payee-type", help="only the payees of this type")
    args = parser.parse_args(argv)
    with suppress(OSError):
        os.nice(5)  # a page's own work comes first on a busy machine
    # A stop (the service restarting, an operator) ends the build through its clean-up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    build = Build(args.db.resolve(), args.period, args.payee_type, args.key)
    try:
        path = run(build)
    except Exception as error:  # recorded in the status for the page; one line here too
        print(f"{build.period} {build.payee_type or 'all'}: {_one_line(error)}", file=sys.stderr)
        return 1
    print(f"{build.period} {build.payee_type or 'all'}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
