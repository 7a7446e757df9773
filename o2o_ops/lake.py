"""The lake: contract tables and derived tables as Parquet files, and the way back to a serving
DuckDB warehouse.

A lake folder holds one entry per table, either ``<table>.parquet`` (one file, as
:func:`export_contract` and the DuckDB build write) or ``<table>/`` (a folder of Parquet parts, as
Spark writes). Three steps use it:

1. :func:`export_contract` writes a warehouse's contract tables (``python -m o2o_ops export
   --format parquet``), the *source* of a scaled-out build.
2. A build reads the source and writes every derived table to an *output* lake, with a manifest
   (``_o2o_build.json``: the SQL's fingerprint, the latest order time, seconds per table):
   :func:`build_duckdb` here, :func:`o2o_ops.spark.build.build` on Spark. Both run the same SQL
   (:func:`o2o_ops.portable.build_steps`).
3. :func:`assemble` makes a serving warehouse from the source's contract tables and the output's
   derived tables, each column cast to the type the DuckDB build gives it, so the app serves it
   unchanged. With ``facts="view"`` the order-level tables (orders, redemptions, reviews, refunds,
   order_facts, campaign_order_facts) stay in the lake as views over its Parquet files (DuckDB
   pushes filters down to them); the dimensions and rollups are copied in.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Callable

import duckdb

from o2o_ops import config, db, portable

MANIFEST = "_o2o_build.json"
# the order-level tables that facts="view" leaves in the lake
ORDER_LEVEL = ("orders", "redemptions", "reviews", "refunds", "order_facts", "campaign_order_facts")


class LakeError(db.WarehouseError):
    """A lake folder that cannot be used as asked; the message says what is wrong and what to do."""


def _q(path: Path) -> str:
    """A path as a SQL string literal (paths are ours or the operator's, never a web user's)."""
    return "'" + str(path).replace("'", "''") + "'"


def table_source(folder: Path, table: str) -> Path | None:
    """Where table ``table`` lies in ``folder`` (``<table>.parquet`` or ``<table>/``), or None."""
    single, parts = folder / f"{table}.parquet", folder / table
    if single.is_file():
        return single
    if parts.is_dir() and any(parts.glob("*.parquet")):
        return parts
    return None


#: The import log the coverage table reads (``sql/rollups_coverage.sql``: which tables an import
#: named). ``export`` writes it beside the contract tables; a lake from another pipeline has none,
#: and the build reads it as empty (a table with no rows then counts as not provided).
IMPORT_LOG = "import_log"
EMPTY_IMPORT_LOG = "SELECT CAST(NULL AS VARCHAR) AS table_name WHERE 1 = 0"


def import_log_select(folder: Path) -> str:
    """The SELECT that gives the lake's import log (empty when the lake has none)."""
    return (f"SELECT * FROM {read_expr(folder, IMPORT_LOG)}" if table_source(folder, IMPORT_LOG) is not None
            else EMPTY_IMPORT_LOG)


def read_expr(folder: Path, table: str) -> str:
    """``read_parquet(...)`` of table ``table`` of ``folder`` (files in name order: Spark's parts
    of a sorted result stay sorted)."""
    path = table_source(folder, table)
    if path is None:
        raise LakeError(f"The lake {folder} has no table {table} ({table}.parquet or a folder {table}/ "
                        f"of Parquet files).")
    pattern = path / "*.parquet" if path.is_dir() else path
    return f"read_parquet({_q(pattern)})"


def check_source(folder: str | os.PathLike) -> Path:
    """The source folder, after checking it holds every contract table."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LakeError(f"No source folder {folder}. Write one from a warehouse with "
                        f"`python -m o2o_ops export --format parquet --out {folder}`.")
    missing = [t for t in db.CONTRACT_TABLES if table_source(folder, t) is None]
    if missing:
        raise LakeError(f"The source {folder} lacks the contract table(s) {', '.join(missing)} (each as "
                        f"<table>.parquet or a folder <table>/ of Parquet files). Nothing was built. Write "
                        f"them with `python -m o2o_ops export --format parquet --out {folder}`.")
    return folder


def _prepare_out(out: str | os.PathLike, source: Path) -> Path:
    out = Path(out)
    if out.resolve() == source.resolve():
        raise LakeError(f"The output folder {out} is the source folder; give the derived tables a folder of their own.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LakeError(f"Cannot create the output folder {out} ({exc.strerror}).") from None
    if not os.access(out, os.W_OK):
        raise LakeError(f"The output folder {out} is not writable.")
    (out / MANIFEST).unlink(missing_ok=True)   # a build that stops half-way leaves no manifest
    return out


def write_manifest(out: Path, manifest: dict) -> None:
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, out / MANIFEST)


def read_manifest(folder: str | os.PathLike) -> dict:
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.is_file():
        raise LakeError(f"{folder} holds no finished build (no {MANIFEST}). Build it with "
                        f"`python -m o2o_ops build --engine spark --source SOURCE --out {folder}`.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LakeError(f"The build manifest {path} cannot be read ({exc}); build again.") from None


# ------------------------------------------------------------------------------------------
# 1. Export
# ------------------------------------------------------------------------------------------

def export_contract(warehouse: str | os.PathLike | None, out: str | os.PathLike) -> dict[str, int]:
    """Write the contract tables of ``warehouse`` to ``out/<table>.parquet``; rows per table."""
    con = db.connect(warehouse)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        con.close()
        raise LakeError(f"Cannot create the folder {out} ({exc.strerror}).") from None
    counts = {}
    try:
        for table in (*db.CONTRACT_TABLES, IMPORT_LOG):
            tmp, final = out / f".{table}.parquet.tmp", out / f"{table}.parquet"
            # Spark has no TIME type: times of day go to the lake as text 'HH:MM:SS' (the build SQL
            # reads them from text on both engines; assemble casts them back)
            columns = con.execute(f"SELECT column_name, data_type FROM information_schema.columns "
                                  f"WHERE table_name = '{table}' ORDER BY ordinal_position").fetchall()
            select = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" if t == "TIME" else c for c, t in columns)
            con.execute(f"COPY (SELECT {select} FROM {table}) TO {_q(tmp)} (FORMAT parquet)")
            os.replace(tmp, final)
            counts[table] = int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        con.close()
    return counts


# ------------------------------------------------------------------------------------------
# 2. The DuckDB build to Parquet (the reference the Spark build is compared with)
# ------------------------------------------------------------------------------------------

def build_duckdb(source: str | os.PathLike, out: str | os.PathLike,
                 progress: Callable[[str, float], None] | None = None) -> dict:
    """Build every derived table from the source lake with DuckDB (in memory), the same SQL as
    the Spark build, and write them as ``out/<table>.parquet``; returns the manifest."""
    source = check_source(source)
    out = _prepare_out(out, source)
    start = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        for table in db.CONTRACT_TABLES:
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM {read_expr(source, table)}")
        con.execute(f"CREATE VIEW {IMPORT_LOG} AS {import_log_select(source)}")
        as_of = con.execute("SELECT CAST(max(ordered_at) AS VARCHAR) FROM orders").fetchone()[0]
        seconds = {}
        for step in portable.build_steps():
            t0 = time.perf_counter()
            con.execute(f"CREATE TABLE {step.table} AS {step.query}")
            con.execute(f"COPY {step.table} TO {_q(out / (step.table + '.parquet'))} (FORMAT parquet)")
            seconds[step.table] = round(time.perf_counter() - t0, 3)
            if progress:
                progress(step.table, seconds[step.table])
    finally:
        con.close()
    manifest = {"engine": "duckdb", "rollups_version": db.rollups_version(), "as_of": as_of,
                "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                "source": str(source), "seconds": seconds,
                "total_seconds": round(time.perf_counter() - start, 3)}
    write_manifest(out, manifest)
    return manifest


# ------------------------------------------------------------------------------------------
# 3. Assemble a serving warehouse
# ------------------------------------------------------------------------------------------

def reference_types() -> dict[str, list[tuple[str, str]]]:
    """Each derived table's columns and DuckDB types, as the DuckDB build makes them (the build
    steps run over empty contract tables)."""
    con = duckdb.connect()
    try:
        db.create_schema(con)
        out = {}
        for step in portable.build_steps():
            con.execute(f"CREATE TABLE {step.table} AS {step.query}")
            out[step.table] = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {step.table}").fetchall()]
        return out
    finally:
        con.close()


def _typed_select(source: str, columns: list[tuple[str, str]], present: set[str], table: str, lake: Path) -> str:
    missing = [c for c, _ in columns if c not in present]
    if missing:
        raise LakeError(f"The table {table} in {lake} lacks the column(s) {', '.join(missing)}: it was built by "
                        f"another version of o2o-ops. Build again.")
    return "SELECT " + ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in columns) + f" FROM {source}"


def assemble(source: str | os.PathLike, lake: str | os.PathLike, warehouse: str | os.PathLike | None = None,
             *, facts: str = "copy") -> dict:
    """Write a serving warehouse from the source's contract tables and the lake's derived tables.

    ``facts="copy"`` copies everything in; ``facts="view"`` leaves the order-level tables
    (:data:`ORDER_LEVEL`) as views over the Parquet files (absolute paths: keep the lake where it
    is). Atomic and under the warehouse's write lock, like every write. Returns a summary.
    """
    if facts not in ("copy", "view"):
        raise LakeError(f"facts must be 'copy' or 'view', not {facts!r}.")
    source = check_source(source)
    lake = Path(lake)
    manifest = read_manifest(lake)
    if manifest.get("rollups_version") != db.rollups_version():
        raise LakeError(f"The derived tables in {lake} were built by another version of o2o-ops (SQL "
                        f"{manifest.get('rollups_version')}, this one {db.rollups_version()}). Build them again.")
    types = reference_types()
    missing = [t for t in types if table_source(lake, t) is None]
    if missing:
        raise LakeError(f"The lake {lake} lacks the derived table(s) {', '.join(missing)}. Build it again.")
    wh = config.warehouse_path(warehouse)
    db._check_writable(wh)
    start = time.perf_counter()
    with db.write_lock(wh):
        db._sweep_abandoned_copies(wh)
        tmp = wh.with_name(f".{wh.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        con = None
        try:
            con = duckdb.connect(str(tmp))
            con.execute("SET enable_progress_bar = false")
            if facts == "copy":
                db.create_schema(con)   # keys and checks as every warehouse has them
                for table in db.CONTRACT_TABLES:
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {read_expr(source, table)}")
                check_order_level_keys(con, source)
            else:
                # a serving copy of the lake: order-level tables are views over its files, the
                # others plain copies (a foreign key cannot point at a view); only the bookkeeping
                # tables come from the schema. Load new data by building the lake again.
                for statement in portable._split_statements(db.load_sql("schema")):
                    if any(f"EXISTS {t} " in statement for t in ("import_log", "warehouse_meta")):
                        con.execute(statement)
                for table in db.CONTRACT_TABLES:
                    if table in ORDER_LEVEL:
                        con.execute(f"CREATE VIEW {table} AS SELECT * FROM {_absolute_read(source, table)}")
                    else:
                        con.execute(f"CREATE TABLE {table} AS SELECT * FROM {read_expr(source, table)}")
            for table, columns in types.items():
                src = _absolute_read(lake, table) if facts == "view" and table in ORDER_LEVEL else read_expr(lake, table)
                present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
                select = _typed_select(src, columns, present, table, lake)
                kind = "VIEW" if facts == "view" and table in ORDER_LEVEL else "TABLE"
                con.execute(f"CREATE {kind} {table} AS {select}")
            db.build_python_derived(con)
            db.write_build_meta(con, as_of=manifest.get("as_of"), engine=str(manifest.get("engine", "spark")))
            con.execute("INSERT INTO import_log VALUES (now()::TIMESTAMP, 'assemble', $src, 'all', NULL, NULL, NULL)",
                        {"src": f"{source} + {lake} ({manifest.get('engine')} build)"})
            counts = db.table_counts(con)
            con.execute("CHECKPOINT")
            con.close()
            con = None
            os.replace(tmp, wh)
        except BaseException as exc:
            db.discard_copy(con, tmp)
            if isinstance(exc, duckdb.Error):
                raise LakeError(f"Assembling {wh} from {source} and {lake} failed: {str(exc).splitlines()[0]}. "
                                f"The warehouse is unchanged.") from exc
            raise
    return {"path": wh, "counts": counts, "derived": len(types), "facts": facts,
            "seconds": round(time.perf_counter() - start, 3)}


#: the tables whose keys and parents no index enforces (o2o_ops/sql/schema.sql)
KEYED_BY_WRITERS = ("orders", "redemptions", "reviews", "refunds")


def check_order_level_keys(con: duckdb.DuckDBPyConnection, source: Path) -> None:
    """Refuse a source whose order-level rows repeat a key or name a parent it lacks (what the
    importer refuses in a batch, and no index of the warehouse catches): the first such row, in
    words. Run on the copied rows, before anything is written. Orphans are found by the data
    checks' one statement of them (``quality_orphans``, sql/rollups_data_checks.sql)."""
    from o2o_ops.ingest import CONTRACT   # the contract's keys, declared once
    for name in KEYED_BY_WRITERS:
        table = CONTRACT[name]
        keys = ", ".join(table.key)
        twice = con.execute(f"SELECT {keys}, count(*) FROM {name} GROUP BY ALL HAVING count(*) > 1 "
                            f"ORDER BY ALL LIMIT 1").fetchone()
        if twice:
            key = ", ".join(f"{k} {v}" for k, v in zip(table.key, twice))
            raise LakeError(f"The source {source} holds {twice[-1]} rows of {name} with the same key ({key}). "
                            f"Nothing was assembled; the warehouse is unchanged.")
    orphans = next(query for _, derived, query in db.build_queries() if derived == "quality_orphans")
    orphan = con.execute(f"SELECT table_name, column_name, example_value, parent_table FROM ({orphans}) "
                         f"WHERE count_orphans > 0 AND list_contains($tables, table_name) "
                         f"ORDER BY position LIMIT 1", {"tables": list(KEYED_BY_WRITERS)}).fetchone()
    if orphan:
        name, column, value, parent = orphan
        raise LakeError(f"The source {source} holds {name} whose {column} {value} is not in {parent}. "
                        f"Nothing was assembled; the warehouse is unchanged.")


def _absolute_read(folder: Path, table: str) -> str:
    return read_expr(folder.resolve(), table)
