"""Staging SQL: a mapping's DuckDB ``SELECT`` per contract table, run in a sandbox.

A mapping may name the batch's files (``[sources] log = "coupon_log.csv"``) and give, per contract
table, a ``SELECT`` over them (``[tables.orders] sql = "SELECT ... FROM log WHERE ..."``). The
result goes through the importer's checks exactly as a file would (:mod:`o2o_ops.ingest`).

The sandbox
    One in-memory DuckDB connection per batch, of its own (it never sees the warehouse or the
    staging database). Each named source is loaded into a table of that name — a CSV read by the
    importer's own reader (its encoding, delimiter, size limit and broken rows answered as for any
    import; every column text), a Parquet file with its own types, JSON/NDJSON records with one
    text column per key — plus a column ``_row``: the row as a spreadsheet numbers it (the CSV
    header is row 1), or the record number (Parquet, JSON). Then, before any SQL of the mapping
    runs: Python replacement scans off, extension auto-install and auto-load off,
    ``SET enable_external_access = false`` (no file, URL or database can be opened any more:
    ``read_csv('/etc/passwd')``, ``ATTACH``, ``COPY ... TO``, httpfs are refused by DuckDB) and
    ``SET lock_configuration = true`` (no ``SET``/``PRAGMA`` can undo it). On top, only a single
    ``SELECT`` statement is accepted, and it runs under the query time limit
    (``O2O_QUERY_TIMEOUT_S``), interrupted past it.

Row numbers
    When the result has a ``_row`` column and its ``FROM`` starts with a source (``SELECT _row,
    ... FROM log``), problems name that source's file and row; otherwise the row of the SQL's
    result (from 1).

Errors name the mapping file, the table and the line of the SQL where DuckDB tells it or where
the name it complains about first appears.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import duckdb

from o2o_ops import config, ingest
from o2o_ops.ingest import Problem, Source

#: Rows handed from the sandbox to the staging database at a time.
BATCH_ROWS = 100_000
#: Memory the sandbox may use before it spills to its temporary folder (inside the staging one).
MEMORY_LIMIT = "2GB"
MAX_SPILL = "8GB"

_STATEMENT_WORDS = {
    "ATTACH": "ATTACH (opening another database)", "DETACH": "DETACH", "COPY": "COPY (reading or writing files)",
    "EXPORT": "EXPORT DATABASE (writing files)", "LOAD": "INSTALL/LOAD (extensions)",
    "SET": "SET (changing a setting)", "VARIABLE_SET": "SET (changing a setting)", "PRAGMA": "PRAGMA (changing a setting)",
    "INSERT": "INSERT", "UPDATE": "UPDATE", "DELETE": "DELETE", "CREATE": "CREATE", "DROP": "DROP",
    "ALTER": "ALTER", "CALL": "CALL", "EXPLAIN": "EXPLAIN", "TRANSACTION": "a transaction statement",
}


class Failed(Exception):
    """Moving the result into staging failed; ``problems`` say why."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems[0].message if problems else "failed")
        self.problems = problems


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column_names(header: Sequence[str]) -> list[str]:
    """The file's column names as SQL column names: trimmed; an empty one becomes column<i>,
    a repeated one gets _2, _3 (``_row`` is ours)."""
    seen: set[str] = {"_row"}
    out = []
    for i, name in enumerate(header):
        base = name.strip().lstrip("\ufeff").strip() or f"column{i + 1}"
        candidate, k = base, 2
        while candidate.lower() in seen:
            candidate, k = f"{base}_{k}", k + 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


class Sandbox:
    """The batch's named files loaded into a locked, file-less DuckDB connection."""

    def __init__(self, workdir: Path, sources: Sequence[Source]):
        self.workdir = workdir
        self.inputs: dict[str, tuple[ingest.SourceSpec, Path]] = {}
        self.missing: dict[str, str] = {}     # a source named in [sources] -> its absent file
        self.others: tuple[str, ...] = sources[0].other_files if sources else ()
        self.nulls: tuple[str, ...] = tuple(sorted({v for s in sources for v in s.mapping.null_values}))
        self.mapping_name = sources[0].path.name if sources else "mapping"
        for s in sources:
            for spec, path in s.inputs:
                self.inputs.setdefault(spec.name, (spec, path))
            for name, file in s.missing_inputs:
                self.missing[name] = file
        self.files: dict[str, Path] = {}
        self.con = duckdb.connect(":memory:")

    # -- loading ----------------------------------------------------------------------------

    def load(self, report: ingest.Progress) -> list[Problem]:
        """Load every named source, then lock the connection. Returns problems (none: ready)."""
        con = self.con
        spill = self.workdir / "sandbox-spill"
        spill.mkdir(exist_ok=True)
        for setting, value in (("python_enable_replacements", False), ("autoinstall_known_extensions", False),
                               ("autoload_known_extensions", False),
                               ("memory_limit", MEMORY_LIMIT), ("max_temp_directory_size", MAX_SPILL),
                               ("temp_directory", str(spill))):
            con.execute(f"SET GLOBAL {setting} = $v", {"v": value})
        problems: list[Problem] = []
        for i, (name, (spec, path)) in enumerate(self.inputs.items()):
            report(i / max(len(self.inputs), 1), f"reading {path.name}")
            problems += self._load_one(spec, path)
        # From here on nothing outside this connection can be read or written, and no setting
        # can be changed back: the mapping's SQL runs only after this.
        con.execute("SET GLOBAL enable_external_access = false")
        con.execute("SET GLOBAL lock_configuration = true")
        report(1.0, "sources read")
        return problems

    def _load_one(self, spec: ingest.SourceSpec, path: Path) -> list[Problem]:
        con, file, table = self.con, str(path), _quote(spec.name)
        nulls = list(spec.null_values if spec.null_values is not None else self.nulls)
        tmp = _quote(f"load_{spec.name}")

        def unreadable(message: str, row: int | None = None) -> list[Problem]:
            return [Problem(file, row, None, None, "unreadable_file", message)]

        offset, shift, blank = 1, "", []
        if ingest._is_json_name(path):
            opened = ingest.json_reader(con, path)
            if isinstance(opened, str):
                return unreadable(opened)
            header, reader, params = opened
            text_columns = True
        elif ingest.Source(spec.name, path).is_parquet:
            reader, params = "read_parquet($path)", {"path": file}
            try:
                header = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", params).fetchall()]
                unpacked = int(con.execute("SELECT coalesce(sum(total_uncompressed_size), 0) "
                                           "FROM parquet_metadata($path)", params).fetchall()[0][0])
            except duckdb.Error:
                return unreadable("expected a Parquet file, but it cannot be read as one: it is "
                                  "damaged, incomplete or another format")
            if unpacked > ingest._limit_bytes():
                return [Problem(file, None, None, f"{unpacked / 2**20:,.1f} MiB", "file_too_large",
                                f"its data is {unpacked / 2**20:,.1f} MiB once decompressed, more than "
                                f"the limit of {ingest._limit_bytes() / 2**20:g} MiB (setting O2O_IMPORT_MAX_MB)")]
            text_columns = False
        else:
            src = ingest.Source(f"src_{spec.name}", path, ingest.Mapping(delimiter=spec.delimiter,
                                                                        encoding=spec.encoding))
            text, found = ingest._prepare_csv(src, self.workdir, ingest._limit_bytes())
            if text is None:
                return found
            header = list(text.header)
            reader, params = ingest._csv_reader(text, f"src_{spec.name}")
            offset, text_columns = 2, True
            if text.blank_rows:   # DuckDB skips blank lines; a spreadsheet counts them (as in ingest)
                blank = [b - 2 - j for j, b in enumerate(text.blank_rows)]
                shift = " + (SELECT count(*) FROM (SELECT unnest($blank) AS d) b WHERE b.d <= rowid)"
        names = _column_names(header)
        try:
            con.execute(f"CREATE TABLE {tmp} AS SELECT * FROM {reader}", params)
        except duckdb.Error as exc:
            if ingest._is_json_name(path):
                return unreadable(ingest._json_error(path, exc))
            return unreadable(f"the file cannot be read{ingest._detail(exc)}")
        if offset == 2:
            found, _ = ingest._rejected_rows(con, f"src_{spec.name}", file, text,
                                             rejects=_quote(f"rejects_src_{spec.name}"))
            if found:
                return found
        actual = [r[0] for r in con.execute(f"DESCRIBE {tmp}").fetchall()]
        cols = []
        for stored, name in zip(actual, names):
            ref = _quote(stored)
            if text_columns:
                ref = f"NULLIF(trim({ref}), '')"
                if nulls:
                    ref = f"CASE WHEN list_contains($nulls, {ref}) THEN NULL ELSE {ref} END"
            cols.append(f"{ref} AS {_quote(name)}")
        select = ", ".join([f"rowid + {offset}{shift} AS _row", *cols])
        final: dict[str, Any] = {}
        if nulls and text_columns:
            final["nulls"] = [n.strip() for n in nulls]
        if shift:
            final["blank"] = blank
        con.execute(f"CREATE TABLE {table} AS SELECT {select} FROM {tmp}", final)
        con.execute(f"DROP TABLE {tmp}")
        self.files[spec.name.lower()] = path
        return []

    # -- running a table's SQL ----------------------------------------------------------------

    def run(self, src: Source) -> tuple["Result | None", list[Problem]]:
        """The result of ``src``'s staging SQL (not yet fetched), or the problems it has."""
        sql = src.mapping.sql or ""
        label = src.label

        def refuse(message: str, line: int | None = None) -> tuple[None, list[Problem]]:
            where = f"line {line}: " if line else ""
            shown = _line_text(sql, line)
            return None, [Problem(label, None, None, shown, "bad_mapping",
                                  f"{where}{message}" + (f" — in: {shown}" if shown else ""))]

        cursor = self.con.cursor()   # one per table: a streamed result never blocks the next
        try:
            statements = cursor.extract_statements(sql)
        except duckdb.Error as exc:
            return refuse(_words(exc), _line_of(sql, exc))
        if len(statements) != 1:
            return refuse(f"staging SQL must be one SELECT statement; found {len(statements)} "
                          f"(a ';' ends a statement: write a single SELECT, WITH clauses are fine)")
        kind = statements[0].type.name
        if kind != "SELECT":
            word = _STATEMENT_WORDS.get(kind, kind)
            return refuse(f"staging SQL must be a SELECT; found {word}. It may only read the "
                          f"batch's sources ({self._names()}): opening files or databases, "
                          f"changing settings, loading extensions and writing are not allowed")
        query = statements[0].query
        try:
            relation = cursor.sql(query)
            columns = list(relation.columns)
        except duckdb.Error as exc:
            cursor.close()
            return refuse(self._explain(exc, src.table), _line_of(query, exc))
        row_file = None
        if "_row" in columns:
            first = _first_source(self.con, query)
            if first is not None and first.lower() in self.files:
                row_file = str(self.files[first.lower()])
        return Result(self, src, cursor, relation, columns, row_file), []

    def _names(self) -> str:
        return ", ".join(spec.name for spec, _ in self.inputs.values()) or "none"

    def _explain(self, exc: BaseException, table: str) -> str:
        text = _words(exc)
        if isinstance(exc, duckdb.PermissionException) or "disabled by configuration" in str(exc) \
                or "configuration has been locked" in str(exc):
            return (f"staging SQL may read only the batch's sources ({self._names()}): opening files, "
                    f"URLs or databases and changing settings are not allowed ({text})")
        missing = re.search(r"Table with name (\S+) does not exist", str(exc))
        if missing:
            name = missing.group(1).strip('"')
            if name in self.missing:
                others = (f" (files [sources] does not name: {', '.join(self.others)})"
                          if self.others else "")
                return (f"the SQL reads the source '{name}', whose file {self.missing[name]} is not in "
                        f"this batch{others}: add that file, or take the source out of [tables.{table}] "
                        f"(without that section, the table is not imported)")
            return f"'{name}' is not a source of this batch (the sources are: {self._names()})"
        return text

    def close(self) -> None:
        self.con.close()


@dataclass
class Result:
    """A staging SQL's result, not yet fetched: its column names, and the file its ``_row``
    numbers point into (None: rows are numbered by the result)."""
    sandbox: Sandbox
    src: Source
    cursor: duckdb.DuckDBPyConnection
    relation: Any
    columns: list[str]
    row_file: str | None

    Failed = Failed

    def into(self, con: duckdb.DuckDBPyConnection, raw_table: str, picked: dict[str, str]) -> None:
        """Create ``raw_table`` in the staging database ``con``: one text column ``<c>__raw`` per
        contract column ``c`` taken from result column ``picked[c]`` (and ``_row``), streamed
        across in batches, under the query time limit."""
        exprs = [f"CAST({_quote(user)} AS VARCHAR) AS {ingest.ident(c + '__raw')}" for c, user in picked.items()]
        if self.row_file is not None:
            exprs.insert(0, f"TRY_CAST({_quote('_row')} AS BIGINT) AS {ingest.ident('_row')}")
        if not exprs:
            exprs = ["NULL AS x"]
        limit = config.get_float("O2O_QUERY_TIMEOUT_S")
        timer = threading.Timer(limit, self.cursor.interrupt)
        timer.start()
        query = self.relation.sql_query() if hasattr(self.relation, "sql_query") else ""
        try:
            reader = self.relation.project(", ".join(exprs)).to_arrow_reader(BATCH_ROWS)
            staging = con.cursor()   # the view of the stream is this cursor's alone
            try:
                staging.register("sandbox_result", reader)
                staging.execute(f"CREATE OR REPLACE TABLE {raw_table} AS SELECT * FROM sandbox_result")
            finally:
                staging.close()
                reader.close()
        except (duckdb.Error, OSError, ValueError) as exc:
            fired = not timer.is_alive() or isinstance(exc, duckdb.InterruptException) or "nterrupt" in str(exc)
            if fired:
                message = (f"the staging SQL ran longer than the limit of {limit:g} s (setting "
                           f"O2O_QUERY_TIMEOUT_S) and was stopped")
            else:
                message = f"the staging SQL failed while running: {_words(exc)}"
            line = _line_of(self.src.mapping.sql or query, exc) if not fired else None
            raise Failed([Problem(self.src.label, None, None, _line_text(self.src.mapping.sql or "", line),
                                  "bad_mapping", (f"line {line}: " if line else "") + message)]) from exc
        finally:
            timer.cancel()
            self.close()
        if self.row_file is not None:
            bad = con.execute(f"SELECT count(*) FROM {raw_table} WHERE {ingest.ident('_row')} IS NULL").fetchall()[0][0]
            if bad:
                con.execute(f"UPDATE {raw_table} SET {ingest.ident('_row')} = NULL")
                self.row_file = None

    def close(self) -> None:
        self.relation = None
        self.cursor.close()


def _words(exc: BaseException) -> str:
    """DuckDB's message about the user's SQL: its first line (the error class kept: it says
    whether the SQL could not be parsed, named something unknown or failed on a value)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _line_of(sql: str, exc: BaseException) -> int | None:
    """The line of ``sql`` an error is about: DuckDB's ``LINE n:``, else the first line holding
    the first quoted name in the message."""
    text = str(exc)
    said = re.search(r"LINE (\d+):", text)
    if said:
        return int(said.group(1))
    first_line = text.splitlines()[0] if text else ""
    for name in re.findall(r'"([^"]+)"', first_line) + re.findall(r"with name (\S+)", first_line):
        word = re.compile(rf"(?<![\w.]){re.escape(name)}(?!\w)", re.IGNORECASE)   # the name itself
        for i, line in enumerate(sql.splitlines(), 1):
            if word.search(line.split("--")[0]):
                return i
    return None


def _line_text(sql: str, line: int | None) -> str | None:
    if not line:
        return None
    lines = sql.splitlines()
    return lines[line - 1].strip()[:200] if 0 < line <= len(lines) else None


def _first_source(con: duckdb.DuckDBPyConnection, query: str) -> str | None:
    """The first table named in the query's top-level FROM (following joins leftwards)."""
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql($q)", {"q": query}).fetchall()[0][0])
        node = tree["statements"][0]["node"].get("from_table")
    except (duckdb.Error, KeyError, IndexError, TypeError, ValueError):
        return None
    while isinstance(node, dict):
        if node.get("type") == "BASE_TABLE":
            return node.get("table_name")
        node = node.get("left")
    return None
