"""The only module that opens DuckDB: where the warehouse lives, who may write it, and how.

DuckDB lets one process hold a file read-write, and while it does every other process is locked
out, read-only opens included. So the warehouse is split in two files:

- ``<name>.duckdb``, the *primary*, written only by pipeline and settlement commands, one at a time:
  ``writer()`` takes an advisory lock on ``<name>.duckdb.lock`` so a second writer waits its turn
  instead of failing on DuckDB's own lock;
- ``<name>.serving.duckdb``, the *serving snapshot*, a copy of the primary published atomically
  (copy, then ``os.replace``) after each successful writing command. The dashboard opens only this,
  read-only, so it keeps answering while a load runs; a reader with the old snapshot open keeps
  reading the old file until it reopens.

The dashboard's own writes (rule versions, audit) never touch either file: they live in the app
store (``warehouse.app_store``), so a load in progress can never block or lose them.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Any, TypeVar

import duckdb

DEFAULT_DB = Path("data/tierboard.duckdb")
LOCK_TIMEOUT_SECONDS = 600.0


class Phrase(str):
    """A fixed English phrase inside a warehouse message: translated along with it (a path or
    DuckDB's own text is a plain ``str`` and stays as it is).

    A phrase may have fields, as a message made with :func:`said` has: ``Phrase("period
    {period}", period="2026-04")`` reads "period 2026-04" and keeps its template and fields
    (which may be phrases in turn), so a page says it, or a stored copy of it, in the reader's
    language. ``Phrase.code`` is a code value (a status, a payee type) or another module's
    message of a known kind (a rule's validation problem), which pages name with the words kept
    for that kind; ``Phrase.joined`` puts several phrases in one.
    """

    template: str
    fields: dict[str, object]
    context: str | None  # the code kind of a ``Phrase.code``

    def __new__(cls, template: str, /, **fields: object) -> Phrase:
        phrase = super().__new__(cls, template.format(**fields) if fields else template)
        phrase.template, phrase.fields, phrase.context = template, fields, None
        return phrase

    @classmethod
    def code(cls, kind: str, value: str) -> Phrase:
        phrase = cls(value)
        phrase.context = kind
        return phrase

    @classmethod
    def joined(cls, parts: Sequence[object], separator: str = "; ") -> Phrase:
        """``separator.join(parts)``, each part kept as it is (a phrase stays one); the
        separator is a constant of the code (no braces)."""
        template = separator.join(f"{{p{n}}}" for n in range(len(parts)))
        return cls(template, **{f"p{n}": part for n, part in enumerate(parts)})


class WarehouseError(Exception):
    """A warehouse problem a person must act on. Its message is one line: which file, what is
    wrong, what to do. Commands print it and exit non-zero; pages show it instead of a page.

    An error made with :func:`said` also keeps its English template and fields, so a page can
    say it in the reader's language.
    """

    template: str | None = None
    fields: dict[str, object] = {}  # noqa: RUF012 - replaced per instance by ``said``


E = TypeVar("E", bound=WarehouseError)


def said(error_type: type[E], template: str, /, **fields: object) -> E:
    """``error_type(template.format(**fields))``, remembering the template and fields."""
    error = error_type(template.format(**fields))
    error.template, error.fields = template, fields
    return error


class WarehouseLocked(WarehouseError, RuntimeError):
    """Another writer has held the warehouse longer than we are willing to wait."""


class WarehouseMissing(FileNotFoundError, WarehouseError):
    """No warehouse (or no serving snapshot) at the expected path."""


class WarehouseUnreadable(WarehouseError):
    """The file exists but cannot be read as a warehouse: damaged, truncated, not DuckDB, or not
    readable by this process."""


class WarehouseTooNew(WarehouseError):
    """The file was written by a newer Tierboard: its schema has migrations this one lacks."""


class WarehouseDiskFull(WarehouseError):
    """The disk filled up while writing; the message says what was kept and what was not."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def is_disk_full(error: BaseException) -> bool:
    """ENOSPC, whether from Python's own writes or inside DuckDB (which reports it as text)."""
    # Walk the causes too: DuckDB's "cannot rollback" after a failed commit has the full disk
    # as its context.
    chain: BaseException | None = error
    seen: set[int] = set()
    while chain is not None and id(chain) not in seen:
        seen.add(id(chain))
        if isinstance(chain, OSError) and chain.errno == errno.ENOSPC:
            return True
        if "No space left on device" in str(chain):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


def disk_full(path: Path, kept: Phrase) -> WarehouseDiskFull:
    return said(
        WarehouseDiskFull,
        "{path}: the disk is full (No space left on device); {kept}. Free space on {folder} "
        "and run the command again.",
        path=str(path), kept=kept, folder=str(path.parent),
    )  # fmt: skip


def unreadable(path: Path, error: BaseException, *, snapshot: bool) -> WarehouseError:
    """The warehouse problem behind an error from opening or reading ``path``."""
    if is_disk_full(error):
        return disk_full(path, Phrase("nothing was written"))
    text = str(error)
    if "Could not set lock" in text:
        # Another process (a DuckDB shell, say) holds the file read-write: a passing state.
        return said(
            WarehouseLocked,
            "{path} is held open for writing by another process ({cause}); try again once it "
            "lets go",
            path=str(path), cause=_first_line(error),
        )  # fmt: skip
    denied = "Permission denied" in text or isinstance(error, PermissionError)
    kind = Phrase("serving snapshot") if snapshot else Phrase("warehouse file")
    if "Corrupt database file" in text:
        what = Phrase("is damaged (a block's checksum does not match)")
    elif "not a valid DuckDB database file" in text:
        what = Phrase("is not a DuckDB warehouse file")
    elif "Could not read enough bytes" in text:
        what = Phrase("is truncated")
    elif denied:
        what = Phrase("cannot be opened by this process (permission denied)")
    else:
        return said(
            WarehouseUnreadable,
            "the {kind} {path} cannot be read ({cause}): {fix}.",
            kind=kind, path=str(path),
            cause=_first_line(error), fix=_fix(snapshot),
        )  # fmt: skip
    if denied:
        return said(
            WarehouseUnreadable,
            "the {kind} {path} {what}: give the user running Tierboard access to it and to "
            "{folder}.",
            kind=kind, path=str(path),
            what=what, folder=str(path.parent),
        )  # fmt: skip
    return said(
        WarehouseUnreadable,
        "the {kind} {path} {what}: {fix}.",
        kind=kind, path=str(path),
        what=what, fix=_fix(snapshot),
    )  # fmt: skip


def _fix(snapshot: bool) -> Phrase:
    if snapshot:
        return Phrase(
            "publish a fresh snapshot from the primary with `python -m pipelines publish`"
        )
    return Phrase("restore it from a backup, or rebuild it from the feeds into a new file")


def is_damage(error: BaseException) -> bool:
    """A DuckDB error that says the file, not the query, is at fault."""
    text = str(error)
    if "Could not set lock" in text:
        return False  # held by another process, not damaged
    return isinstance(error, duckdb.IOException | duckdb.FatalException) or any(
        sign in text
        for sign in ("Corrupt database file", "not a valid DuckDB", "database has been invalidated")
    )


def warehouse_path(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """The primary warehouse: ``--db``, else ``$TIERBOARD_DB``, else ``data/tierboard.duckdb``."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get("TIERBOARD_DB")
    return Path(env) if env else DEFAULT_DB


def serving_path(primary: Path) -> Path:
    return primary.with_name(f"{primary.stem}.serving{primary.suffix or '.duckdb'}")


def lock_path(primary: Path) -> Path:
    return primary.with_name(primary.name + ".lock")


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every ``migrations/NNN_name.sql``, in version order."""
    folder = resources.files("warehouse") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:3].isdigit():
            found.append((int(entry.name[:3]), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.sql(
        "select count(*) from information_schema.tables where table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return int(con.sql("select coalesce(max(version), 0) from schema_migrations").fetchall()[0][0])


def known_schema_version() -> int:
    """The newest schema this code knows: the highest migration shipped with it."""
    return max(version for version, _, _ in migration_files())


def too_new(path: Path, found: int) -> WarehouseTooNew:
    return said(
        WarehouseTooNew,
        "the warehouse {path} has schema version {found}, newer than this Tierboard's {known}: "
        "it was written by a newer release; upgrade Tierboard before writing to it.",
        path=str(path), found=found, known=known_schema_version(),
    )  # fmt: skip


def migrate(con: duckdb.DuckDBPyConnection, path: Path | None = None) -> list[str]:
    """Apply every migration newer than the file's recorded version, each in its own transaction.

    A file from a newer release is refused before anything is written: migrating it (or writing
    it with an older idea of its tables) could lose what the newer release keeps there.
    """
    found = schema_version(con)
    if found > known_schema_version():
        raise too_new(path or Path("the warehouse"), found)
    con.execute(
        "create table if not exists schema_migrations ("
        " version integer primary key, name varchar not null,"
        " applied_at timestamp not null default (now()::timestamp))"
    )
    current = schema_version(con)
    applied = []
    for version, name, sql in migration_files():
        if version <= current:
            continue
        con.execute("begin transaction")
        try:
            con.execute(sql)
            con.execute(
                "insert into schema_migrations (version, name) values ($version, $name)",
                {"version": version, "name": name},
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        applied.append(name)
    return applied


def try_lock(handle: IO[Any], timeout: float, *, poll: float) -> bool:
    """Take ``handle``'s exclusive lock, waiting up to ``timeout`` seconds; whether it was."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)


@contextmanager
def _exclusive(lock_file: Path, timeout: float) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        if not try_lock(handle, timeout, poll=0.2):
            raise said(
                WarehouseLocked,
                "{lock}: another pipeline or settlement command is writing the "
                "warehouse; gave up after {seconds} s",
                lock=str(lock_file),
                seconds=round(timeout),
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lock_held(lock_file: Path) -> bool:
    """Whether a process holds ``lock_file``'s lock right now, asked without waiting (a hint:
    it may change at once)."""
    try:
        handle = lock_file.open("rb")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def writer_busy(primary: Path) -> bool:
    """Whether another process holds the writer lock right now."""
    return lock_held(lock_path(primary))


@contextmanager
def writer(
    primary: Path, *, timeout: float = LOCK_TIMEOUT_SECONDS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The single read-write connection, migrated to the latest schema.

    On a clean exit the file is checkpointed and a fresh serving snapshot is published; on an
    exception nothing is published, so readers keep the last good state.
    """
    primary.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(lock_path(primary), timeout):
        try:
            con = duckdb.connect(str(primary))
        except duckdb.Error as error:
            raise unreadable(primary, error, snapshot=False) from error
        try:
            try:
                # One checkpoint at the end instead of one per large commit: bulk loads commit
                # often.
                con.execute("set checkpoint_threshold = '1GB'")
                migrate(con, primary)
                yield con
            except (duckdb.Error, OSError) as error:
                known = _plainly(primary, error, Phrase("the change in progress was rolled back"))
                if known is None:
                    raise
                raise known from error
            try:
                con.execute("checkpoint")
            except duckdb.Error as error:
                known = _plainly(
                    primary,
                    error,
                    Phrase(
                        "what was committed waits in its write-ahead log for the next command, "
                        "and the dashboard keeps the previous snapshot"
                    ),
                )
                if known is None:
                    raise
                raise known from error
        finally:
            con.close()
        publish_serving_snapshot(primary)


def _plainly(primary: Path, error: BaseException, kept: Phrase) -> WarehouseError | None:
    """A full disk or a damaged file is the warehouse's state, not a bug: say so plainly."""
    if is_disk_full(error):
        return disk_full(primary, kept)
    if isinstance(error, duckdb.Error) and is_damage(error):
        return unreadable(primary, error, snapshot=False)
    return None


# The views every page reads, stored as tables in the serving snapshot (dependencies first):
# ticket_economics aggregates every settlement line, which took seconds per query on a few
# million tickets; computed once per publish, the pages read a table. The primary keeps the views.
# ticket_facts stays a view: it is the tickets with their places' and items' names, which DuckDB
# joins within a few hundredths of a second of reading a stored copy, and storing that copy of
# every ticket cost a second of each publish after a load.
MATERIALIZED = ("order_facts", "ticket_economics")

# Each view's rows are kept between publishes in the primary as ``<view>__stored``, beside a
# fingerprint of everything they were computed from (``STORED_VIEWS``). A publish recomputes only
# a view whose fingerprint changed; the file copy then carries the stored rows into the snapshot,
# where they replace the view. Copying them out of the previous snapshot instead (ATTACH, then
# ``create table as select``) re-encodes every row and costs about as much as computing them.
STORED_SUFFIX = "__stored"
STORED_VIEWS = "stored_views"
# Bumped when what a fingerprint covers changes, so a stored fingerprint of the old kind misses.
FINGERPRINT_KIND = 1


@dataclass(frozen=True)
class ViewInputs:
    """What a view's rows are a function of, read from the catalog: the base tables it reads
    (through the views it reads), and the SQL of each of those views and its own."""

    tables: tuple[str, ...]
    view_sql: tuple[tuple[str, str], ...]
    is_deterministic: bool  # no volatile function, no table function, nothing outside this file


def _catalog_views(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(
        "select view_name, sql from duckdb_views()"
        " where not internal and database_name = current_database() and schema_name = 'main'"
    ).fetchall()
    return dict(rows)


def _catalog_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_name from duckdb_tables()"
        " where database_name = current_database() and schema_name = 'main'"
    ).fetchall()
    return {name for (name,) in rows}


def _parsed(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> dict[str, Any] | None:
    """The view's query as DuckDB's parse tree, or None when it cannot be had."""
    prefix = f"CREATE VIEW {name} AS "
    if not sql.startswith(prefix):
        return None  # a quoted name or column aliases: treated as not reusable
    (serialized,) = con.execute(
        "select json_serialize_sql($query)", {"query": sql[len(prefix) :]}
    ).fetchall()[0]
    tree: dict[str, Any] = json.loads(serialized)
    return None if tree.get("error") else tree


def _references(tree: object) -> tuple[set[tuple[str, str, str]], set[str], bool]:
    """(catalog, schema, name) of every table-like reference, every function name, and whether
    the tree reads a table function."""
    tables: set[tuple[str, str, str]] = set()
    functions: set[str] = set()
    table_function = False
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE":
                tables.add(
                    (node.get("catalog_name", ""), node.get("schema_name", ""), node["table_name"])
                )
            elif node.get("type") == "TABLE_FUNCTION":
                table_function = True
            if isinstance(node.get("function_name"), str):
                functions.add(node["function_name"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return tables, functions, table_function


def view_inputs(con: duckdb.DuckDBPyConnection, view: str) -> ViewInputs:
    """The base tables ``view`` reads, found from the catalog: each view's parse tree names the
    tables and views it reads; a name that is neither is one of its CTEs (a CTE that shadows a
    table keeps the table among the inputs, which only costs a needless recompute)."""
    views, tables = _catalog_views(con), _catalog_tables(con)
    stable = {
        name
        for (name,) in con.execute(
            "select function_name from duckdb_functions()"
            " group by function_name having bool_and(coalesce(stability = 'CONSISTENT', false))"
        ).fetchall()
    }
    found: set[str] = set()
    view_sql: dict[str, str] = {}
    deterministic = True
    pending = [view]
    while pending:
        name = pending.pop()
        if name in view_sql:
            continue
        view_sql[name] = views[name]
        tree = _parsed(con, name, views[name])
        if tree is None:
            deterministic = False
            continue
        references, functions, table_function = _references(tree)
        if table_function or not functions <= stable:
            deterministic = False
        for catalog, schema, reference in references:
            if catalog or schema not in ("", "main"):
                deterministic = False
            elif reference in views:
                pending.append(reference)
            elif reference in tables:
                found.add(reference)
    return ViewInputs(tuple(sorted(found)), tuple(sorted(view_sql.items())), deterministic)


def _table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> list[object]:
    """Exact for any write: the columns and their types, the row count and the sum of every
    row's hash (a multiset hash, so it ignores the order rows are stored in)."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns()"
        " where database_name = current_database() and schema_name = 'main'"
        " and table_name = $table order by column_index",
        {"table": table},
    ).fetchall()
    rows, hashes = con.execute(
        f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from {table} as t"
    ).fetchall()[0]
    return [[list(column) for column in columns], int(rows), str(hashes)]


def _shape(con: duckdb.DuckDBPyConnection, query: str) -> list[list[str]]:
    return [
        [str(name), str(kind)] for name, kind, *_ in con.execute(f"describe {query}").fetchall()
    ]


STORED_VIEWS_COLUMNS = (
    ("view_name", "VARCHAR"),
    ("inputs_fingerprint", "VARCHAR"),  # null: not reusable (see ``ViewInputs``)
    ("is_recomputed", "BOOLEAN"),  # by the publish that stored this row
    ("stored_at", "TIMESTAMP"),
)


def _stored_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """The fingerprints the stored rows were computed under: none for a file without the
    table, None for a table of another shape (it is then replaced, and everything recomputed)."""
    if STORED_VIEWS not in _catalog_tables(con):
        return {}
    expected = [[name, kind] for name, kind in STORED_VIEWS_COLUMNS]
    if _shape(con, f"select * from {STORED_VIEWS}") != expected:
        return None
    rows = con.execute(
        f"select view_name, inputs_fingerprint from {STORED_VIEWS}"
        " where inputs_fingerprint is not null"
    ).fetchall()
    return {str(name): str(fingerprint) for name, fingerprint in rows}


def _fingerprint(
    con: duckdb.DuckDBPyConnection, view: str, tables: dict[str, list[object]]
) -> str | None:
    """What ``view``'s rows are a function of, as one digest: the schema version, DuckDB's
    version, the SQL of the view and of every view under it, and each base table it reads
    (``_table_fingerprint``, kept in ``tables`` for the next view). None when that cannot be
    said (the view is not deterministic, or its catalog entry cannot be read): recompute it."""
    try:
        inputs = view_inputs(con, view)
        if not inputs.is_deterministic:
            return None
        for table in inputs.tables:
            if table not in tables:
                tables[table] = _table_fingerprint(con, table)
        document = {
            "kind": FINGERPRINT_KIND,
            "duckdb": duckdb.__version__,
            "schema_version": schema_version(con),
            "views": inputs.view_sql,
            "tables": {table: tables[table] for table in inputs.tables},
        }
    except (duckdb.Error, LookupError, TypeError, ValueError) as error:
        if is_disk_full(error) or (isinstance(error, duckdb.Error) and is_damage(error)):
            raise
        return None
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _store_views(con: duckdb.DuckDBPyConnection) -> dict[str, bool]:
    """Bring ``<view>__stored`` up to date in the primary for every view in ``MATERIALIZED``,
    recomputing only those whose fingerprint (``_fingerprint``) changed, or whose stored table
    is missing or of another shape; whether each was recomputed. One transaction: on any
    failure the stored tables and their records stay as they were."""
    views = _catalog_views(con)
    present = [name for name in MATERIALIZED if name in views]
    stored = _stored_fingerprints(con)
    tables = _catalog_tables(con)
    table_prints: dict[str, list[object]] = {}
    fingerprints = {name: _fingerprint(con, name, table_prints) for name in present}
    recomputed: dict[str, bool] = {}
    con.execute("begin transaction")
    try:
        if stored is None:
            con.execute(f"drop table {STORED_VIEWS}")
        con.execute(
            f"create table if not exists {STORED_VIEWS} ("
            " view_name varchar primary key, inputs_fingerprint varchar,"
            " is_recomputed boolean not null, stored_at timestamp not null)"
        )
        for name in present:  # dependencies first, each computed from the views
            fingerprint, table = fingerprints[name], name + STORED_SUFFIX
            reuse = (
                fingerprint is not None
                and (stored or {}).get(name) == fingerprint
                and table in tables
                and _shape(con, f"select * from {table}") == _shape(con, f"select * from {name}")
            )
            if not reuse:
                con.execute(f"drop table if exists {table}")
                con.execute(f"create table {table} as select * from {name}")
            con.execute(
                f"insert or replace into {STORED_VIEWS} values ($name, $fingerprint, $again,"
                " now()::timestamp)",
                {"name": name, "fingerprint": fingerprint, "again": not reuse},
            )
            recomputed[name] = not reuse
        # A view no longer stored (or no longer in the file) loses its table and its record.
        for (name,) in con.execute(
            f"select view_name from {STORED_VIEWS} where view_name <> all($present)",
            {"present": present},
        ).fetchall():
            if name + STORED_SUFFIX in tables:  # a name from the catalog, quoted
                quoted = '"' + (name + STORED_SUFFIX).replace('"', '""') + '"'
                con.execute(f"drop table {quoted}")
            con.execute(f"delete from {STORED_VIEWS} where view_name = $name", {"name": name})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return recomputed


def _swap_in_stored(snapshot: Path) -> None:
    """In the snapshot, the stored rows replace the views (a rename: no row is rewritten)."""
    with closing(duckdb.connect(str(snapshot))) as con:
        views = _catalog_views(con)
        present = [name for name in MATERIALIZED if name in views]
        con.execute("begin transaction")
        for name in reversed(present):
            con.execute(f"drop view {name}")
        for name in present:
            con.execute(f"alter table {name}{STORED_SUFFIX} rename to {name}")
        con.execute("commit")
        con.execute("checkpoint")


def publish_serving_snapshot(primary: Path) -> Path:
    """Store the primary's page views (``MATERIALIZED``) beside it, recomputing only those whose
    inputs changed, copy the (closed, checkpointed) primary beside itself, let the stored rows
    replace the views in the copy, then swap it in atomically.

    The stored rows live in the primary (``<view>__stored``, ``stored_views``), written in one
    transaction with their fingerprints: a failure there leaves them as they were. A copy that
    fails (a full disk, most likely) is removed: the last good snapshot stays served and no
    partial file is left behind. The previous snapshot is never read, so a missing or damaged
    one changes nothing.
    """
    target = serving_path(primary)
    staging = target.with_name(target.name + ".tmp")
    try:
        with closing(duckdb.connect(str(primary))) as con:
            con.execute("set enable_progress_bar = false")
            _store_views(con)
            con.execute("checkpoint")
        shutil.copyfile(primary, staging)
        _swap_in_stored(staging)
        os.replace(staging, target)
    except (OSError, duckdb.Error) as error:
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
        if is_disk_full(error):
            raise said(
                WarehouseDiskFull,
                "{target}: the disk filled up while publishing the serving snapshot; the "
                "previous snapshot is still served and the warehouse {primary} holds the new "
                "data. Free space, then run `python -m pipelines publish`.",
                target=str(target),
                primary=str(primary),
            ) from error
        raise
    return target


def publish(primary: Path) -> Path:
    """Publish a fresh serving snapshot of a readable primary (repairs a damaged snapshot)."""
    if not primary.exists():
        raise said(WarehouseMissing, "no warehouse at {path}", path=str(primary))
    with writer(primary):
        pass  # the writer checks the file opens and migrates it, then publishes on exit
    return serving_path(primary)


def connect_serving(primary: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the serving snapshot; the caller closes it."""
    snapshot = serving_path(primary)
    if not snapshot.exists():
        raise said(
            WarehouseMissing,
            "no warehouse snapshot at {path}: run `python -m pipelines demo`",
            path=str(snapshot),
        )
    try:
        return duckdb.connect(str(snapshot), read_only=True)
    except duckdb.Error as error:
        raise unreadable(snapshot, error, snapshot=True) from error


def connect_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to any warehouse file (tests, benchmarks, ad-hoc inspection)."""
    if not path.exists():
        raise said(WarehouseMissing, "no warehouse at {path}", path=str(path))
    return duckdb.connect(str(path), read_only=True)
