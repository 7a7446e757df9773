"""Connections to the warehouse and the one query runner everything goes through.

Writers never modify the warehouse file in place: :func:`rebuild` copies it (or starts empty),
writes the copy, and moves it over the original with an atomic rename. A reader that already has
the old file open keeps reading it; the next connection sees the new data; a crash half-way leaves
the original untouched. On a file system with copy-on-write clones (XFS with reflink, btrfs) the
copy is a clone (:func:`copy_file`): it shares the original's blocks and costs nothing whatever the
warehouse's size; only the blocks the write changes take new space.

One writer at a time: :func:`rebuild` holds the warehouse's write lock (:func:`write_lock`, an
``flock`` on ``<warehouse>.lock``) from the copy to the rename, so a second import copies the
warehouse only after the first one's batch has landed, and never renames an older copy over it.
A writer that finds the lock taken says so (:func:`notify_waits`) and waits up to
``O2O_WRITE_WAIT_S`` seconds, then gives up with :class:`WriteBusy`, having written nothing.
Readers take no lock.

Why ``fcntl.flock`` rather than the ``filelock`` package: the kernel releases the lock when the
holder dies (a killed import never leaves a stale lock), which ``filelock``'s Unix lock also
relies on; what we need on top — telling the caller once that it is waiting, a deadline from our
settings, and re-entry by the same thread (the first-start build checks and builds under one
lock) — is a few lines either way, so no dependency was added. The app runs on Linux/macOS only.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import fcntl
import hashlib
import heapq
import itertools
import os
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import duckdb
import pandas as pd

from o2o_ops import config
from o2o_ops.kpis import sql as generated_sql

SQL_DIR = Path(__file__).resolve().parent / "sql"

CONTRACT_TABLES = (
    "stores", "campaigns", "customers", "orders", "redemptions", "reviews", "refunds", "costs",
    "store_hours", "inspections", "events", "targets",
)
#: Contract tables added after the first release (issues #15, #16): optional, and a warehouse
#: built before them lacks them and is refreshed (``create_schema`` adds them, empty), not refused.
OPTIONAL_TABLES = ("store_hours", "inspections", "events", "targets")
ADDED_TABLES = OPTIONAL_TABLES


class WarehouseError(RuntimeError):
    """A problem with the warehouse file a user can act on; the message says what to do."""


class QueryTimeout(WarehouseError):
    pass


class StaleWarehouse(WarehouseError):
    """The warehouse's derived tables were built by another version of o2o-ops."""


class WriteBusy(WarehouseError):
    """Another writer held the lock for longer than ``O2O_WRITE_WAIT_S``; nothing was written."""


# ------------------------------------------------------------------------------------------
# One writer at a time
# ------------------------------------------------------------------------------------------

WAITING_MESSAGE = "waiting for another import…"
_POLL_S = 0.2
_WAIT_NOTICE: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "o2o_write_wait_notice", default=None)
_HELD = threading.local()   # lock path -> depth, for re-entry by the thread holding it


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file that guards writes to ``target`` (the warehouse or the users file)."""
    target = Path(target)
    return target.with_name(target.name + ".lock")


@contextlib.contextmanager
def notify_waits(notice: Callable[[str], None]) -> Iterator[None]:
    """Within the block, a writer that has to wait for the lock calls ``notice(message)`` once
    before it starts waiting (the command line prints it; the app shows it)."""
    token = _WAIT_NOTICE.set(notice)
    try:
        yield
    finally:
        _WAIT_NOTICE.reset(token)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.contextmanager
def write_lock(target: str | os.PathLike, *, what: str | None = None, timeout_s: float | None = None,
               on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the exclusive write lock of ``target`` for the block.

    Waits (after calling ``on_wait`` or the :func:`notify_waits` notice once) up to ``timeout_s``
    (default: the setting ``O2O_WRITE_WAIT_S``), then raises :class:`WriteBusy`. The thread that
    holds the lock may take it again (nested writes). Raises :class:`WarehouseError` when the lock
    file cannot be created (a read-only folder).
    """
    target = Path(target)
    what = what or f"the warehouse {target}"
    lock = lock_path(target)
    held: dict[str, int] = _HELD.__dict__.setdefault("depth", {})
    key = os.path.abspath(lock)
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    timeout = config.get_float("O2O_WRITE_WAIT_S") if timeout_s is None else float(timeout_s)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        # Read-only is enough for flock; 0644 lets another account that may read the folder wait too.
        fd = os.open(lock, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise WarehouseError(f"Cannot change {what}: the lock file {lock} cannot be created "
                             f"({exc.strerror}). Nothing was written; check that the folder "
                             f"{lock.parent} is writable.") from None
    try:
        if not _try_flock(fd):
            notice = on_wait or _WAIT_NOTICE.get()
            if notice is not None:
                notice(WAITING_MESSAGE)
            deadline = time.monotonic() + timeout
            while not _try_flock(fd):
                if time.monotonic() >= deadline:
                    raise WriteBusy(f"Another writer (an import, a rebuild or a user change) is still "
                                    f"changing {what} (lock {lock}); gave up after waiting {timeout:g} s "
                                    f"(setting O2O_WRITE_WAIT_S). Nothing was written, and what it writes "
                                    f"is kept: try again when it has finished.")
                time.sleep(_POLL_S)
        held[key] = 1
        try:
            yield
        finally:
            held.pop(key, None)
    finally:
        os.close(fd)   # closing the descriptor releases the flock


#: Linux ``FICLONE`` ioctl (linux/fs.h): make ``dst`` share all of ``src``'s blocks, copy-on-write
_FICLONE = 0x40049409
#: errors that mean "this file system (or pair of files) cannot clone": copy instead
_NO_CLONE = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EPERM}


def copy_file(src: str | os.PathLike, dst: str | os.PathLike) -> str:
    """Copy ``src`` to ``dst`` (created or replaced, with ``src``'s permission bits); ``"clone"``
    when the file system cloned it (XFS with reflink, btrfs: no data is copied, the two files
    share blocks until one of them is written), ``"copy"`` when the bytes were copied.

    Why a clone and not a table format: the warehouse stays one DuckDB file, written by DuckDB's
    own transactions on a private version, so every guarantee of :func:`rebuild` holds unchanged;
    the clone only removes the cost of making that version (docs/incremental.md: 5-20 s for the
    10-million-order warehouse on ext4, which cannot clone)."""
    src, dst = Path(src), Path(dst)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        try:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
            method = "clone"
        except OSError as exc:
            if exc.errno not in _NO_CLONE:
                raise
            method = "copy"
    if method == "copy":
        shutil.copyfile(src, dst)
    shutil.copymode(src, dst)
    return method


def _read_only(path: Path) -> bool:
    """No write permission for us, or no write bit for anyone: a file or folder marked read-only
    is respected even by root (who could write it anyway)."""
    return not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222


def _check_writable(wh: Path) -> None:
    """Refuse, in words, to write a warehouse whose file or folder is read-only.

    Writers replace the file through a copy beside it, so the folder must be writable; a
    read-only file is respected (a rename would otherwise replace it silently).
    """
    folder = wh.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WarehouseError(f"Cannot create the folder {folder} for the warehouse ({exc.strerror}). "
                             f"Nothing was written.") from None
    if _read_only(folder):
        raise WarehouseError(f"The folder {folder} is not writable, so the warehouse {wh.name} cannot be "
                             f"changed (a write goes through a copy beside it). Nothing was written; make "
                             f"the folder writable or use --warehouse with a writable path.")
    if wh.exists() and _read_only(wh):
        raise WarehouseError(f"The warehouse {wh} is read-only. Nothing was written; make it writable "
                             f"(chmod u+w) if it should be changed.")


def _rollup_files() -> list[Path]:
    return [SQL_DIR / "order_facts.sql", SQL_DIR / "rollups.sql", *sorted(SQL_DIR.glob("rollups_*.sql"))]


def rollups_version() -> str:
    """A fingerprint of the SQL that builds the derived tables (as generated from the KPI layer's
    declarations); stored in the warehouse."""
    from o2o_ops import anomalies, forecast, lift   # derived tables computed in Python
    digest = hashlib.sha256()
    for path in _rollup_files():
        digest.update(path.name.encode() + b"\0" + _read_sql(path).encode())
    digest.update(b"anomaly_scores\0" + anomalies.SCORES_VERSION.encode())
    digest.update(b"campaign_lift\0" + lift.TABLE_VERSION.encode())
    digest.update(b"forecast\0" + forecast.TABLE_VERSION.encode())
    return digest.hexdigest()[:16]


def _read_sql(path: Path, *, touched: bool = False, variant: str = "") -> str:
    """A SQL file with its ``{{ placeholders }}`` filled from the KPI layer (o2o_ops/kpis/sql.py);
    with ``touched``, its ``{{ where_touched ... }}`` restrictions too (o2o_ops/incremental.py),
    over the key tables of ``variant``."""
    return generated_sql.render_template(path.read_text(encoding="utf-8"), touched=touched, variant=variant)


_WRAPPER = re.compile(r"^\s*CREATE\s+OR\s+REPLACE\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+AS\s+", re.I)


def _split_statements(text: str) -> list[str]:
    """The statements of a SQL file (split on ``;`` outside strings and comments), comments kept."""
    out, current, i, n = [], [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            current.append(text[i:j])
            i = j
            continue
        if ch == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and text.startswith("''", j):
                    j += 2
                    continue
                if text[j] == "'":
                    break
                j += 1
            current.append(text[i:j + 1])
            i = j + 1
            continue
        if ch == ";":
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    out.append("".join(current))
    return [s for s in out if strip_comments(s).strip()]


def strip_comments(sql: str) -> str:
    """``sql`` without ``--`` comments (strings kept), so that a comment naming a construct is not
    read as using it."""
    return re.sub(r"('(?:[^']|'')*')|--[^\n]*", lambda m: m.group(1) or "", sql)


def build_queries(*, touched: bool = False, variant: str = "") -> list[tuple[str, str | None, str]]:
    """(file, table, query) of every statement of the build files in build order, comments
    stripped; ``table`` is None (and ``query`` the whole statement) for a statement that is not
    ``CREATE OR REPLACE TABLE <name> AS <query>``. With ``touched``, the restrictions of
    o2o_ops/incremental.py rendered (over the key tables of ``variant``,
    :func:`o2o_ops.kpis.sql.key_table`). (:func:`o2o_ops.portable.build_steps` checks the shape.)"""
    out: list[tuple[str, str | None, str]] = []
    for path in _rollup_files():
        for statement in _split_statements(_read_sql(path, touched=touched, variant=variant)):
            body = strip_comments(statement)
            match = _WRAPPER.match(body)
            out.append((path.name, match.group(1), body[match.end():].strip()) if match
                       else (path.name, None, body))
    return out


def load_sql(name: str) -> str:
    """The text of ``o2o_ops/sql/<name>.sql``, placeholders filled."""
    return _read_sql(SQL_DIR / f"{name}.sql")


def connect(path: str | os.PathLike | None = None, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Raises :class:`WarehouseError` with the fix when it is missing or bad."""
    wh = config.warehouse_path(path)
    if read_only and not wh.exists():
        raise WarehouseError(
            f"No warehouse at {wh}. Build the demo with `python -m o2o_ops demo` "
            f"or import your data with `python -m o2o_ops import-dir FOLDER`."
        )
    try:
        con = duckdb.connect(str(wh), read_only=read_only)
    except duckdb.Error as exc:
        raise WarehouseError(
            f"Cannot open the warehouse at {wh}: {exc}. If the file is damaged, rebuild it with "
            f"`python -m o2o_ops demo --warehouse {wh}`."
        ) from exc
    if read_only:
        tables = {r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        core = [t for t in CONTRACT_TABLES if t not in OPTIONAL_TABLES]
        missing = [t for t in (*core, "order_facts", "rollup_day_store_channel_campaign") if t not in tables]
        if missing:
            con.close()
            raise WarehouseError(
                f"The file {wh} is not an o2o-ops warehouse (missing tables: {', '.join(missing)}). "
                f"Build one with `python -m o2o_ops demo --warehouse {wh}`."
            )
        built = None
        if "warehouse_meta" in tables:   # a warehouse from before it existed is simply stale
            built = con.execute("SELECT value FROM warehouse_meta WHERE key = 'rollups_version'").fetchone()
        if not built or built[0] != rollups_version() or not tables.issuperset(OPTIONAL_TABLES):
            con.close()
            raise StaleWarehouse(
                f"The warehouse at {wh} was prepared by another version of o2o-ops. Refresh its derived "
                f"tables (your data is kept) with `python -m o2o_ops refresh --warehouse {wh}`."
            )
    return con


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(load_sql("schema"))


def rebuild_rollups(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute every derived table from the contract tables.

    ``sql/order_facts.sql`` (written in time order), then ``sql/rollups.sql`` (the core rollups),
    then every ``sql/rollups_<area>.sql`` in name order; those may read what rollups.sql built.
    """
    for path in _rollup_files():      # order_facts.sql first
        _run_build_file(con, _read_sql(path))
    build_python_derived(con)
    write_build_meta(con, as_of=con.execute("SELECT CAST(max(ordered_at) AS VARCHAR) FROM orders").fetchone()[0])
    from o2o_ops import coverage   # what was read of the old coverage table is stale now
    coverage.forget()


#: derived columns stored uncompressed (DuckDB's ``USING COMPRESSION``). DuckDB stores a customer
#: id, text that repeats little and in no order, as DICT_FSST, which is slow to read in a few rows
#: spread over the table: at 10 million orders, the customer ids of 1,000 orders spread over two
#: years took 0.12 s by row id, against 0.015 s uncompressed (their other 47 facts 0.08 s); the
#: pass over all 10 million for a day's feed's customers 0.22 against 0.14 s, a page's count of
#: repeat customers in a city 0.27 against 0.13 s. The file grows by 60 MB (2.2 GB).
UNCOMPRESSED_COLUMNS: dict[str, tuple[str, ...]] = {"order_facts": ("customer_id",)}


def _run_build_file(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run a build file's statements; a ``CREATE OR REPLACE TABLE <name> AS <query>`` of a table
    with :data:`UNCOMPRESSED_COLUMNS` creates the table with its columns declared, as the query
    types them, then fills it in the query's order (a CREATE TABLE AS cannot set a column's
    compression). The file stays as another engine reads it (o2o_ops/portable.py)."""
    for statement in _split_statements(sql):
        body = strip_comments(statement)
        match = _WRAPPER.match(body)
        if match is None or match.group(1) not in UNCOMPRESSED_COLUMNS:
            con.execute(statement)
            continue
        name, query = match.group(1), body[match.end():].strip()
        plain = UNCOMPRESSED_COLUMNS[name]
        columns = con.execute(f"DESCRIBE {query}").fetchall()
        defs = ", ".join(f'"{column}" {type_}' + (" USING COMPRESSION uncompressed" if column in plain else "")
                         for column, type_, *_ in columns)
        con.execute(f"CREATE OR REPLACE TABLE {name} ({defs})")
        con.execute(f"INSERT INTO {name} {query}")


def build_python_derived(con: duckdb.DuckDBPyConnection) -> None:
    """The derived tables computed in Python from the SQL-built ones, after the SQL build on
    either engine (:func:`rebuild_rollups`, and ``lake.assemble`` for a Spark build): the anomaly
    scores (rolling medians per store), every campaign's lift (a fitted two-way model) and the load
    ahead at the data's last day (every store's 14-day forecast, from the derived tables above)."""
    from o2o_ops import anomalies, forecast, lift
    anomalies.build_scores(con)
    lift.build_table(con)
    forecast.build_table(con)


def write_build_meta(con: duckdb.DuckDBPyConnection, *, as_of: str | None, engine: str = "duckdb") -> None:
    """Record in ``warehouse_meta`` what the derived tables were built from and by: the latest
    order time (``as_of``), when, the SQL's fingerprint and the engine (the Spark build's
    assembled warehouse says ``spark``). Bookkeeping of the serving DuckDB file, so it lives here
    rather than in the portable build SQL."""
    rows = [("as_of", as_of), ("rollups_version", rollups_version()), ("rollups_engine", engine)]
    con.execute("DELETE FROM warehouse_meta WHERE list_contains($keys, key)",
                {"keys": [k for k, _ in rows] + ["rollups_built_at"]})
    con.executemany("INSERT INTO warehouse_meta VALUES ($1, $2)", rows)
    con.execute("INSERT INTO warehouse_meta VALUES ('rollups_built_at', CAST(now()::TIMESTAMP AS VARCHAR))")


class _Watchdog:
    """One thread for the whole process that interrupts each query past its time limit.

    A ``threading.Timer`` per query cost a thread start per query: ``start()`` waits until the
    new thread runs, which on a busy 2-core machine took 2-3 ms of every :func:`run` (a page makes
    15-25 queries). Here a query only registers its deadline (a heap push under a lock) and
    removes it when done; the watcher sleeps until the earliest deadline, and is woken only when
    a new query's deadline comes before the one it sleeps towards (a shorter time limit).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadlines: list[tuple[float, int]] = []          # (monotonic deadline, token), a heap
        self._watched: dict[int, duckdb.DuckDBPyConnection] = {}  # token -> cursor still running
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, cursor: duckdb.DuckDBPyConnection, timeout_s: float) -> int:
        """Interrupt ``cursor`` in ``timeout_s`` seconds unless :meth:`release` comes first."""
        with self._cond:
            token = next(self._tokens)
            self._watched[token] = cursor
            heapq.heappush(self._deadlines, (time.monotonic() + timeout_s, token))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch_forever, name="o2o-query-limit", daemon=True)
                self._thread.start()
            elif self._deadlines[0][1] == token:
                self._cond.notify()
        return token

    def release(self, token: int) -> None:
        with self._cond:
            self._watched.pop(token, None)

    def _watch_forever(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._deadlines and (self._deadlines[0][0] <= now or self._deadlines[0][1] not in self._watched):
                    _, token = heapq.heappop(self._deadlines)
                    cursor = self._watched.pop(token, None)
                    if cursor is not None:
                        cursor.interrupt()
                self._cond.wait(self._deadlines[0][0] - now if self._deadlines else None)


_WATCHDOG = _Watchdog()


def run(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    max_rows: int | None = None,
    timeout_s: float | None = None,
) -> pd.DataFrame:
    """Run one query with bound parameters, a time limit and a row cap.

    Uses its own cursor, so one cached connection can serve several threads (Streamlit reruns).
    Raises :class:`QueryTimeout` when the limit is hit and :class:`WarehouseError` when the result
    would exceed the row cap, rather than silently truncating.
    """
    max_rows = config.get_int("O2O_MAX_ROWS") if max_rows is None else max_rows
    timeout_s = config.get_float("O2O_QUERY_TIMEOUT_S") if timeout_s is None else timeout_s
    cur = con.cursor()
    watched = _WATCHDOG.watch(cur, timeout_s)
    try:
        capped = f"SELECT * FROM (\n{sql.strip().rstrip(';')}\n) LIMIT {int(max_rows) + 1}"
        df = cur.execute(capped, dict(params or {})).df()
    except duckdb.InterruptException as exc:
        raise QueryTimeout(f"The query took longer than {timeout_s:g} s; narrow the filters.") from exc
    finally:
        _WATCHDOG.release(watched)
        cur.close()
    if len(df) > max_rows:
        raise WarehouseError(
            f"The query returned {len(df):,} rows, more than the limit of {max_rows:,}; "
            f"narrow the filters."
        )
    return df


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | None = None) -> Any:
    df = run(con, sql, params)
    return None if df.empty else df.iat[0, 0]


#: how the last write of this thread brought the derived tables up to date: {"mode": "full" or
#: "incremental", "reason": why full, "counts": what the incremental path recomputed}
LAST_BUILD = threading.local()
#: how this thread's last :func:`rebuild` made its private version: ``{"method": "clone" | "copy" |
#: None (started empty), "seconds": …}`` (the bench reports it)
LAST_COPY = threading.local()


@contextlib.contextmanager
def rebuild(path: str | os.PathLike | None = None, *, start_empty: bool = False,
            on_wait: Callable[[str], None] | None = None,
            incremental: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Write a new version of the warehouse atomically, holding its write lock throughout.

    Yields a read-write connection to a copy (or, with ``start_empty``, a fresh file with the
    schema; a missing warehouse also starts empty). The copy is taken after the lock, so it holds
    every batch that landed before. On normal exit the rollups are rebuilt, the copy is
    checkpointed and renamed over the warehouse. On an exception, or if the process dies, the
    warehouse is unchanged. Raises :class:`WriteBusy` when another writer holds the lock past
    ``O2O_WRITE_WAIT_S`` and :class:`WarehouseError` for a read-only file or folder.

    With ``incremental`` (the importer, whose merge notes what it writes), only the derived rows
    the batch touched are recomputed when that applies (o2o_ops/incremental.py; setting
    ``O2O_INCREMENTAL_IMPORTS``); else every derived table is rebuilt. :data:`LAST_BUILD` says which.
    """
    wh = config.warehouse_path(path)
    _check_writable(wh)
    with write_lock(wh, on_wait=on_wait):
        _sweep_abandoned_copies(wh)
        tmp = wh.with_name(f".{wh.name}.{os.getpid()}.tmp")
        for stale in (tmp, Path(str(tmp) + ".wal")):
            stale.unlink(missing_ok=True)
        con = None
        try:
            existed = wh.exists() and not start_empty
            started = time.perf_counter()
            LAST_COPY.info = {"method": copy_file(wh, tmp) if existed else None,
                              "seconds": time.perf_counter() - started}
            con = _open_copy(tmp)
            if existed and incremental:
                # decided before create_schema, which adds the tables a warehouse of an older version lacks
                existed = {r[0] for r in con.execute(
                    "SELECT table_name FROM information_schema.tables").fetchall()}.issuperset(CONTRACT_TABLES)
            create_schema(con)
            yield con
            full_reason, spoilt = _incremental_build(con, existed=existed, incremental=incremental)
            if spoilt:
                con.close()   # its open transaction rolls back; every step before it committed
                con = _open_copy(tmp)
            if full_reason is not None:
                _full_build(con, full_reason, incremental=incremental)
            con.execute("CHECKPOINT")
            con.close()
            os.replace(tmp, wh)
        except BaseException as exc:
            discard_copy(con, tmp)
            if isinstance(exc, OSError):
                raise WarehouseError(f"Writing the warehouse {wh} failed ({exc.strerror or exc}); it is "
                                     f"unchanged. Check the free space and permissions of {wh.parent}.") from exc
            raise


def _open_copy(tmp: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp))
    con.execute("SET enable_progress_bar = false")  # callers show their own progress
    return con


def _incremental_build(con: duckdb.DuckDBPyConnection, *, existed: bool, incremental: bool) -> tuple[str | None, bool]:
    """Bring the derived tables up to date incrementally when that applies. Returns why the full
    build must run instead (None: it need not) and whether ``con`` is spoilt for it (a statement
    left a catalog entry it cannot write again: the full build needs a fresh connection)."""
    from o2o_ops import incremental as incr
    reason = "not an import"
    if incremental:
        reason = ("the setting O2O_INCREMENTAL_IMPORTS is off" if config.get("O2O_INCREMENTAL_IMPORTS") != "1"
                  else incr.full_rebuild_reason(con, existed=existed))
    if reason is None:
        try:
            LAST_BUILD.info = {"mode": "incremental", "reason": None, "counts": incr.apply(con)}
            return None, False
        except incr.TooWide as exc:
            return str(exc), exc.spoilt
    return reason, False


def _full_build(con: duckdb.DuckDBPyConnection, reason: str, *, incremental: bool) -> None:
    from o2o_ops import incremental as incr
    if incremental:
        incr.discard_notes(con)
    rebuild_rollups(con)
    LAST_BUILD.info = {"mode": "full", "reason": reason, "counts": None}


def last_build() -> dict[str, Any] | None:
    """How this thread's last write brought the derived tables up to date (see :data:`LAST_BUILD`)."""
    return getattr(LAST_BUILD, "info", None)


def last_copy() -> dict[str, Any] | None:
    """How this thread's last write made its copy of the warehouse (see :data:`LAST_COPY`)."""
    return getattr(LAST_COPY, "info", None)


def discard_copy(con: duckdb.DuckDBPyConnection | None, tmp: Path) -> None:
    """Close ``con`` (if open) and delete the unfinished copy ``tmp`` and its WAL: what a writer
    does when anything goes wrong before the copy replaces the warehouse."""
    if con is not None:
        with contextlib.suppress(Exception):
            con.close()
    tmp.unlink(missing_ok=True)
    Path(str(tmp) + ".wal").unlink(missing_ok=True)


def is_stale(path: str | os.PathLike | None = None) -> bool:
    """Whether the warehouse exists but its derived tables are from another version."""
    try:
        connect(path).close()
    except StaleWarehouse:
        return True
    except WarehouseError:
        return False
    return False


def refresh(path: str | os.PathLike | None = None, *, only_if_stale: bool = False) -> bool:
    """Rebuild the derived tables (data kept), under the write lock. With ``only_if_stale``,
    decided after taking the lock, so a second session does not redo what the first just did.
    Returns whether it rebuilt."""
    wh = config.warehouse_path(path)
    if not wh.exists():
        raise WarehouseError(f"No warehouse at {wh}. Build the demo with `python -m o2o_ops demo`.")
    _check_writable(wh)
    with write_lock(wh):
        if only_if_stale and not is_stale(wh):
            return False
        with rebuild(wh):
            pass
    return True


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (one we may not signal counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_abandoned_copies(wh: Path) -> None:
    """Delete work copies left by a writer that was killed (its process no longer exists)."""
    for leftover in wh.parent.glob(f".{wh.name}.*.tmp*"):
        pid_text = leftover.name[len(wh.name) + 2:].split(".", 1)[0]
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not pid_alive(int(pid_text)):
            leftover.unlink(missing_ok=True)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: int(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in CONTRACT_TABLES}
