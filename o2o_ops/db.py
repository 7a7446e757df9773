"""Connections to the warehouse and the one query runner everything goes through.

Writers never modify the warehouse file in place: :func:`rebuild` copies it (or starts empty),
writes the copy, and moves it over the original with an atomic rename. A reader that already has
the old file open keeps reading it; the next connection sees the new data; a crash half-way leaves
the original untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator, Mapping

import duckdb
import pandas as pd

from o2o_ops import config
from o2o_ops.kpis import sql as generated_sql

SQL_DIR = Path(__file__).resolve().parent / "sql"

CONTRACT_TABLES = (
    "stores", "campaigns", "customers", "orders", "redemptions", "reviews", "refunds", "costs",
)


class WarehouseError(RuntimeError):
    """A problem with the warehouse file a user can act on; the message says what to do."""


class QueryTimeout(WarehouseError):
    pass


class StaleWarehouse(WarehouseError):
    """The warehouse's derived tables were built by another version of o2o-ops."""


def _rollup_files() -> list[Path]:
    return [SQL_DIR / "order_facts.sql", SQL_DIR / "rollups.sql", *sorted(SQL_DIR.glob("rollups_*.sql"))]


def rollups_version() -> str:
    """A fingerprint of the SQL that builds the derived tables (as generated from the KPI layer's
    declarations); stored in the warehouse."""
    digest = hashlib.sha256()
    for path in _rollup_files():
        digest.update(path.name.encode() + b"\0" + _read_sql(path).encode())
    return digest.hexdigest()[:16]


def _read_sql(path: Path) -> str:
    """A SQL file with its ``{{ placeholders }}`` filled from the KPI layer (o2o_ops/kpis/sql.py)."""
    return generated_sql.render_template(path.read_text(encoding="utf-8"))


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
        missing = [t for t in (*CONTRACT_TABLES, "order_facts", "rollup_store_day") if t not in tables]
        if missing:
            con.close()
            raise WarehouseError(
                f"The file {wh} is not an o2o-ops warehouse (missing tables: {', '.join(missing)}). "
                f"Build one with `python -m o2o_ops demo --warehouse {wh}`."
            )
        built = con.execute("SELECT value FROM warehouse_meta WHERE key = 'rollups_version'").fetchone()
        if not built or built[0] != rollups_version():
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

    ``sql/order_facts.sql`` (sorted by time when its stored order would defeat date pruning),
    then ``sql/rollups.sql`` (the core rollups), then every
    ``sql/rollups_<area>.sql`` in name order; those may read what rollups.sql built.
    """
    con.execute(load_sql("order_facts"))
    if not clustered_by_time(con, "order_facts", "ordered_at"):
        con.execute("CREATE OR REPLACE TABLE order_facts AS SELECT * FROM order_facts ORDER BY ordered_at")
    for path in _rollup_files()[1:]:
        con.execute(_read_sql(path))
    con.execute("INSERT OR REPLACE INTO warehouse_meta VALUES ('rollups_version', $v)", {"v": rollups_version()})


def clustered_by_time(con: duckdb.DuckDBPyConnection, table: str, column: str, max_span_days: int = 14) -> bool:
    """Whether most stored row groups of ``table`` cover a narrow span of ``column``.

    Date filters skip a row group by its min/max, so what matters is that each group holds a
    short span of time, not that the whole table is monotonic. Sorting 10 million wide rows costs
    more than the rest of the rollups, so it is done only when the stored order defeats pruning.
    ``table`` and ``column`` are ours (never user input).
    """
    spans = con.execute(f"""
        SELECT median(date_diff('second', min_at, max_at)) / 86400.0 FROM (
            SELECT min({column}) AS min_at, max({column}) AS max_at
            FROM {table} GROUP BY rowid // 122880)""").fetchone()[0]
    return spans is None or spans <= max_span_days


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
    timer = threading.Timer(timeout_s, cur.interrupt)
    timer.start()
    try:
        capped = f"SELECT * FROM (\n{sql.strip().rstrip(';')}\n) LIMIT {int(max_rows) + 1}"
        df = cur.execute(capped, dict(params or {})).df()
    except duckdb.InterruptException as exc:
        raise QueryTimeout(f"The query took longer than {timeout_s:g} s; narrow the filters.") from exc
    finally:
        timer.cancel()
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


@contextlib.contextmanager
def rebuild(path: str | os.PathLike | None = None, *, start_empty: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Write a new version of the warehouse atomically.

    Yields a read-write connection to a copy (or, with ``start_empty``, a fresh file with the
    schema). On normal exit the rollups are rebuilt, the copy is checkpointed and renamed over the
    warehouse. On an exception, or if the process dies, the warehouse is unchanged.
    """
    wh = config.warehouse_path(path)
    wh.parent.mkdir(parents=True, exist_ok=True)
    _sweep_abandoned_copies(wh)
    tmp = wh.with_name(f".{wh.name}.{os.getpid()}.tmp")
    for stale in (tmp, Path(str(tmp) + ".wal")):
        stale.unlink(missing_ok=True)
    if wh.exists() and not start_empty:
        shutil.copyfile(wh, tmp)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET enable_progress_bar = false")  # callers show their own progress
        create_schema(con)
        yield con
        rebuild_rollups(con)
        con.execute("CHECKPOINT")
        con.close()
        os.replace(tmp, wh)
    except BaseException:
        with contextlib.suppress(Exception):
            con.close()
        tmp.unlink(missing_ok=True)
        Path(str(tmp) + ".wal").unlink(missing_ok=True)
        raise


def _pid_alive(pid: int) -> bool:
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
        if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
            leftover.unlink(missing_ok=True)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: int(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in CONTRACT_TABLES}
