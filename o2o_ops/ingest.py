"""Import of source files into the warehouse: validate -> stage -> atomic merge -> import log.

This module owns the *import contract* (:data:`CONTRACT`: per table its columns, types, required
columns, key, foreign keys and ranges, written once as data) and the whole import path:

1. **Refuse** files larger than ``O2O_IMPORT_MAX_MB`` before reading a byte of them.
2. **Stage** each file with DuckDB (``read_csv`` with ``all_varchar``, or ``read_parquet``) into a
   staging database in a temporary folder, renaming the user's columns to the contract's.
3. **Validate** in SQL: required columns and values, types (``TRY_CAST``), dates, ranges, allowed
   values, duplicated keys inside the file, and foreign keys against the warehouse *plus* the other
   files of the same batch. Any problem -> :class:`ImportRejected`, nothing is written.
4. **Merge** inside :func:`o2o_ops.db.rebuild` (copy -> write -> atomic rename): upsert by key,
   counting rows added, rows updated (rows whose values actually differ) and rows unchanged; one
   ``import_log`` row per table. The rollups are rebuilt by ``db.rebuild``. A crash or kill at
   any point leaves the warehouse as it was.

Row numbers in messages
    CSV: numbered as a spreadsheet shows them — the header is row 1, the first data row is
    row 2 (a quoted field holding a newline still counts as one row). Parquet: the first record is
    row 1.

CSV files
    Any of ``,`` ``;`` tab ``|`` as delimiter (detected from the header line, or set in the
    mapping), fields quoted with ``"`` (``""`` inside a quoted field is a quote; quoted fields may
    hold newlines), UTF-8 with or without BOM (other encodings: ``encoding`` in the mapping),
    LF or CRLF line ends. Empty fields are missing values. Column names are matched to the
    contract ignoring case and surrounding spaces; columns the contract does not know are ignored
    (and listed in the result).

Mapping file (``--mapping FILE``; ``mapping.toml`` / ``mapping.yaml`` in an ``import-dir`` folder)
    TOML or YAML, chosen by the file's extension. Every key is optional::

        # mapping.toml
        date_format      = "%Y%m%d"            # DATE columns, e.g. 20160712 (strptime codes)
        timestamp_format = "%Y%m%d %H:%M:%S"  # TIMESTAMP columns
        delimiter        = ";"                # instead of detecting it
        encoding         = "utf-8"            # read_csv encodings: utf-8, utf-16, latin-1

        [columns]                             # the user's name = the contract's name
        User_id       = "customer_id"
        Merchant_id   = "store_id"
        Date_received = "ordered_at"

        [tables.orders]                       # optional: the same keys for one table only,
        date_format = "%d/%m/%Y"              # overriding the ones above
        [tables.orders.columns]
        id = "order_id"

    ISO 8601 values (``2016-07-12``, ``2016-07-12 10:30:00``, ``2016-07-12T10:30:00``) are always
    accepted as well; a TIMESTAMP column also accepts values in ``date_format`` (midnight).
    Booleans accept true/false, t/f, yes/no, y/n, 1/0.

Columns missing from a file (optional ones) are left as they are on rows that already exist
and are empty on new rows. Rows are never deleted by an import.

The core never imports streamlit; progress is reported through an optional
``progress(fraction, message)`` callable.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import tempfile
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping as MappingT, Sequence

import duckdb

from o2o_ops import config, db

Progress = Callable[[float, str], None]

# --------------------------------------------------------------------------------------------
# The contract, as data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str                      # VARCHAR, DOUBLE, INTEGER, DATE, TIMESTAMP, BOOLEAN
    required: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class ForeignKey:
    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class RowCheck:
    """A condition across columns that every row must meet (SQL written here, never from input)."""
    condition_sql: str
    column: str
    message: str


@dataclass(frozen=True)
class TableContract:
    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    row_checks: tuple[RowCheck, ...] = ()
    # False for costs: the key is a de-duplication key whose columns may be NULL (NULLs equal).
    key_is_primary: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _money(name: str, required: bool = False) -> Column:
    return Column(name, "DOUBLE", required, min_value=0)


CONTRACT: dict[str, TableContract] = {t.name: t for t in (
    TableContract("stores", "one row per store", (
        Column("store_id", "VARCHAR", True),
        Column("name", "VARCHAR", True),
        Column("category", "VARCHAR", True),
        Column("city", "VARCHAR", True),
        # Optional: real listings often lack them; the map lists such stores apart.
        Column("lat", "DOUBLE", False, -90, 90),
        Column("lon", "DOUBLE", False, -180, 180),
        Column("district", "VARCHAR"),
        Column("region", "VARCHAR"),
        Column("opened_on", "DATE"),
        Column("capacity_per_hour", "DOUBLE", min_value=0),
        Column("listed_rating", "DOUBLE", min_value=1, max_value=5),
        Column("listed_wait_minutes", "DOUBLE", min_value=0),
    ), key=("store_id",)),
    TableContract("campaigns", "one row per campaign", (
        Column("campaign_id", "VARCHAR", True),
        Column("name", "VARCHAR", True),
        Column("kind", "VARCHAR", True),
        Column("channel", "VARCHAR", True),
        Column("start_date", "DATE", True),
        Column("end_date", "DATE", True),
        _money("budget"),
        Column("discount_rate", "DOUBLE", min_value=0, max_value=1),
    ), key=("campaign_id",), row_checks=(
        RowCheck('"end_date" >= "start_date"', "end_date", "end_date is before start_date"),
    )),
    TableContract("customers", "one row per customer (opaque id, no personal data)", (
        Column("customer_id", "VARCHAR", True),
        Column("signup_date", "DATE", True),
        Column("city", "VARCHAR"),
        Column("tier", "VARCHAR"),
        Column("acquisition_channel", "VARCHAR"),
    ), key=("customer_id",)),
    TableContract("orders", "one row per online order / voucher", (
        Column("order_id", "VARCHAR", True),
        Column("customer_id", "VARCHAR", True),
        Column("store_id", "VARCHAR", True),
        Column("ordered_at", "TIMESTAMP", True),
        _money("list_price", True),
        _money("paid_amount", True),
        Column("campaign_id", "VARCHAR"),
        Column("channel", "VARCHAR"),
        _money("discount_amount"),
        _money("platform_fee"),
        Column("status", "VARCHAR", allowed=("paid", "refunded", "cancelled", "expired")),
        Column("valid_until", "TIMESTAMP"),
        Column("tracking_code", "VARCHAR"),
    ), key=("order_id",), foreign_keys=(
        ForeignKey("customer_id", "customers", "customer_id"),
        ForeignKey("store_id", "stores", "store_id"),
        ForeignKey("campaign_id", "campaigns", "campaign_id"),
    )),
    TableContract("redemptions", "one row per offline fulfilment of an order", (
        Column("order_id", "VARCHAR", True),
        Column("redeemed_at", "TIMESTAMP", True),
        Column("wait_minutes", "DOUBLE", min_value=0),
        Column("service_minutes", "DOUBLE", min_value=0),
        _money("extra_spend"),
    ), key=("order_id",), foreign_keys=(ForeignKey("order_id", "orders", "order_id"),)),
    TableContract("reviews", "one row per review", (
        Column("review_id", "VARCHAR", True),
        Column("order_id", "VARCHAR", True),
        Column("rating", "INTEGER", True, 1, 5),
        Column("posted_at", "TIMESTAMP", True),
        Column("as_described", "BOOLEAN"),
        Column("complaint_category", "VARCHAR"),
    ), key=("review_id",), foreign_keys=(ForeignKey("order_id", "orders", "order_id"),)),
    TableContract("refunds", "one row per refund (an order may have several)", (
        Column("order_id", "VARCHAR", True),
        Column("refunded_at", "TIMESTAMP", True),
        _money("amount", True),
        Column("reason", "VARCHAR"),
    ), key=("order_id", "refunded_at"), foreign_keys=(ForeignKey("order_id", "orders", "order_id"),)),
    TableContract("costs", "one row per store or campaign per day per cost type", (
        Column("date", "DATE", True),
        Column("cost_type", "VARCHAR", True),
        _money("amount", True),
        Column("store_id", "VARCHAR"),
        Column("campaign_id", "VARCHAR"),
        Column("staff_hours", "DOUBLE", min_value=0),
    ), key=("date", "cost_type", "store_id", "campaign_id"), key_is_primary=False, foreign_keys=(
        ForeignKey("store_id", "stores", "store_id"),
        ForeignKey("campaign_id", "campaigns", "campaign_id"),
    )),
)}

#: Dependency order: parents before children.
IMPORT_ORDER: tuple[str, ...] = tuple(CONTRACT)
assert IMPORT_ORDER == db.CONTRACT_TABLES

MONEY_COLUMNS = frozenset({"budget", "list_price", "paid_amount", "discount_amount",
                           "platform_fee", "extra_spend", "amount"})

_TYPE_WORDS = {"DOUBLE": "a number", "INTEGER": "a whole number", "BOOLEAN": "true/false",
               "DATE": "a date", "TIMESTAMP": "a date-time"}

# Identifiers that may appear in SQL: contract names and names derived from them here.
_IDENTIFIERS: frozenset[str] = frozenset(
    [*CONTRACT]
    + [c.name for t in CONTRACT.values() for c in t.columns]
    + [f"{c.name}__raw" for t in CONTRACT.values() for c in t.columns]
    + [f"{p}_{t}" for t in CONTRACT for p in ("stage", "raw", "chg", "stash")]
    + ["_row", "is_new", "fk_changed", "stg", "wh", "main"]
)


def ident(name: str) -> str:
    """Quote an identifier after checking it against the contract allowlist (the only way SQL
    gets a table or column name)."""
    if name not in _IDENTIFIERS:
        raise ValueError(f"{name!r} is not a contract identifier")
    return '"' + name + '"'


# --------------------------------------------------------------------------------------------
# Problems and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    value: str | None
    kind: str
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}"


# The kinds, in the order a report lists them.
PROBLEM_KINDS = (
    "file_too_large", "unreadable_file", "bad_mapping", "missing_column", "duplicate_column",
    "missing_value", "wrong_type", "bad_date", "negative_value", "out_of_range", "not_allowed",
    "invalid_row", "duplicate_key", "unknown_reference",
)

#: Problems kept per check (the counts stay exact): a file with a million bad rows should not
#: produce a million objects.
SAMPLE_PER_CHECK = 20


class ImportRejected(Exception):
    """The batch has problems; nothing was written. ``problems`` is a sample (up to
    SAMPLE_PER_CHECK per check); ``counts`` holds the exact number per kind."""

    def __init__(self, problems: Sequence[Problem], counts: MappingT[str, int]):
        self.problems = list(problems)
        self.counts = dict(counts)
        super().__init__(self.report())

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def by_kind(self) -> dict[str, list[Problem]]:
        grouped: dict[str, list[Problem]] = {}
        for p in sorted(self.problems, key=lambda p: (_kind_rank(p.kind), p.file, p.row or 0)):
            grouped.setdefault(p.kind, []).append(p)
        return grouped

    def report(self, first: int = 5) -> str:
        lines = [f"Import refused: {self.total:,} problem(s); nothing was written."]
        for kind, probs in self.by_kind().items():
            n = self.counts.get(kind, len(probs))
            lines.append(f"{kind} ({n:,}):")
            lines += [f"  {p}" for p in probs[:first]]
            if n > first:
                lines.append(f"  ... and {n - first:,} more")
        lines.append("CSV rows are numbered as in a spreadsheet (the header is row 1); "
                     "Parquet records from 1.")
        return "\n".join(lines)


def _kind_rank(kind: str) -> int:
    return PROBLEM_KINDS.index(kind) if kind in PROBLEM_KINDS else len(PROBLEM_KINDS)


@dataclass(frozen=True)
class TableResult:
    table: str
    source: str
    rows_read: int
    rows_added: int
    rows_updated: int
    rows_unchanged: int
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    warehouse: Path
    tables: tuple[TableResult, ...]

    def summary(self) -> str:
        lines = [f"Imported into {self.warehouse}:"]
        for r in self.tables:
            lines.append(f"  {r.table:<12} {r.rows_read:>10,} rows read: {r.rows_added:,} added, "
                         f"{r.rows_updated:,} updated, {r.rows_unchanged:,} unchanged "
                         f"({r.source})")
            if r.ignored_columns:
                lines.append(f"  {'':<12} ignored columns not in the contract: "
                             f"{', '.join(r.ignored_columns)}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Mapping files and sources
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    columns: MappingT[str, str] = field(default_factory=dict)   # user's name -> contract name
    date_format: str | None = None
    timestamp_format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None


_MAPPING_KEYS = {"columns", "date_format", "timestamp_format", "delimiter", "encoding", "tables"}


def read_mapping_file(path: str | os.PathLike) -> dict[str, Any]:
    """The raw content of a TOML or YAML mapping file; raises ImportRejected if unusable."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        elif path.suffix.lower() in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text) or {}
        else:
            raise ValueError("a mapping file must end in .toml, .yaml or .yml")
        if not isinstance(data, dict):
            raise ValueError("the file must hold a table of settings")
        unknown = set(data) - _MAPPING_KEYS
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}; allowed: {sorted(_MAPPING_KEYS)}")
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear problem
        raise ImportRejected([Problem(str(path), None, None, None, "bad_mapping",
                                      f"cannot use this mapping file: {exc}")],
                             {"bad_mapping": 1}) from exc
    return data


def mapping_for(raw: MappingT[str, Any] | None, table: str) -> Mapping:
    """The mapping for one table: top-level settings overridden by ``[tables.<table>]``."""
    raw = dict(raw or {})
    section = dict((raw.get("tables") or {}).get(table) or {})
    columns = {str(k): str(v) for k, v in (raw.get("columns") or {}).items()}
    columns.update({str(k): str(v) for k, v in (section.get("columns") or {}).items()})

    def pick(key: str) -> str | None:
        value = section.get(key, raw.get(key))
        return None if value is None else str(value)

    return Mapping(columns, pick("date_format"), pick("timestamp_format"), pick("delimiter"),
                   pick("encoding"))


@dataclass(frozen=True)
class Source:
    table: str
    path: Path
    mapping: Mapping = Mapping()

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix.lower() in (".parquet", ".pq")


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def import_file(table: str, path: str | os.PathLike, *, mapping: str | os.PathLike | MappingT | None = None,
                warehouse: str | os.PathLike | None = None, imported_by: str | None = None,
                progress: Progress | None = None) -> ImportResult:
    """Import one file into ``table``. Raises :class:`ImportRejected` if anything is wrong."""
    if table not in CONTRACT:
        raise ImportRejected([Problem(str(path), None, None, table, "bad_mapping",
                                      f"unknown table '{table}'; one of {', '.join(CONTRACT)}")],
                             {"bad_mapping": 1})
    raw = read_mapping_file(mapping) if isinstance(mapping, (str, os.PathLike)) else mapping
    return import_batch([Source(table, Path(path), mapping_for(raw, table))], warehouse=warehouse,
                        imported_by=imported_by, progress=progress)


def find_sources(folder: str | os.PathLike, mapping: str | os.PathLike | MappingT | None = None) -> list[Source]:
    """The files of an import folder: ``<table>.csv`` / ``.parquet`` per table, in dependency
    order, with ``mapping.toml`` / ``mapping.yaml`` if present (or the mapping given)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImportRejected([Problem(str(folder), None, None, None, "unreadable_file",
                                      "not a folder")], {"unreadable_file": 1})
    if mapping is None:
        found = [p for p in (folder / n for n in ("mapping.toml", "mapping.yaml", "mapping.yml"))
                 if p.exists()]
        mapping = found[0] if found else None
    raw = read_mapping_file(mapping) if isinstance(mapping, (str, os.PathLike)) else mapping
    sources: list[Source] = []
    problems: list[Problem] = []
    for table in IMPORT_ORDER:
        files = [p for p in folder.iterdir()
                 if p.is_file() and p.stem.lower() == table
                 and p.suffix.lower() in (".csv", ".txt", ".tsv", ".parquet", ".pq")]
        if len(files) > 1:
            problems.append(Problem(str(folder), None, None, None, "unreadable_file",
                                    f"more than one file for {table}: "
                                    f"{', '.join(sorted(p.name for p in files))}"))
        elif files:
            sources.append(Source(table, files[0], mapping_for(raw, table)))
    if not sources and not problems:
        problems.append(Problem(str(folder), None, None, None, "unreadable_file",
                                f"no files named after a table ({', '.join(IMPORT_ORDER)}) "
                                f"with .csv or .parquet"))
    if problems:
        raise ImportRejected(problems, _count(problems))
    return sources


def import_dir(folder: str | os.PathLike, *, mapping: str | os.PathLike | MappingT | None = None,
               warehouse: str | os.PathLike | None = None, imported_by: str | None = None,
               progress: Progress | None = None) -> ImportResult:
    """Import every table file in ``folder`` as one batch (all or nothing)."""
    return import_batch(find_sources(folder, mapping), warehouse=warehouse,
                        imported_by=imported_by, progress=progress)


def validate(sources: Sequence[Source], *, warehouse: str | os.PathLike | None = None,
             progress: Progress | None = None) -> list[Problem]:
    """Check a batch without writing anything; returns a sample of the problems (empty = OK)."""
    with _staged(sources, warehouse, progress) as (_, problems, _counts, _infos):
        return problems


def import_batch(sources: Sequence[Source], *, warehouse: str | os.PathLike | None = None,
                 imported_by: str | None = None, progress: Progress | None = None) -> ImportResult:
    """Validate then merge a batch of files in one :func:`db.rebuild` (all or nothing)."""
    report = progress or (lambda fraction, message: None)
    wh = config.warehouse_path(warehouse)
    user = imported_by or _current_user()
    sources = sorted(sources, key=lambda s: IMPORT_ORDER.index(s.table))
    with _staged(sources, wh, _scaled(report, 0.0, 0.5)) as (stage_path, problems, counts, infos):
        if problems:
            raise ImportRejected(problems, counts)
        report(0.5, f"copying the warehouse {wh.name}")
        results = []
        with db.rebuild(wh, start_empty=not wh.exists()) as con:
            con.execute("ATTACH $path AS stg (READ_ONLY)", {"path": str(stage_path)})
            for i, src in enumerate(sources):
                lo = 0.55 + 0.35 * i / len(sources)
                report(lo, f"writing {src.table}")
                added, updated = _merge(con, CONTRACT[src.table], infos[src.table].present)
                rows = infos[src.table].rows
                con.execute(
                    "INSERT INTO import_log VALUES ($at, $by, $source, $table, $added, $updated, 0)",
                    {"at": dt.datetime.now(), "by": user, "source": str(src.path),
                     "table": src.table, "added": added, "updated": updated})
                results.append(TableResult(src.table, str(src.path), rows, added, updated,
                                           rows - added - updated, infos[src.table].ignored))
            con.execute("DETACH stg")
            report(0.9, "rebuilding rollups")
    report(1.0, "done")
    return ImportResult(wh, tuple(results))


def export_tables(con: duckdb.DuckDBPyConnection, folder: str | os.PathLike) -> list[Path]:
    """Write every contract table to ``folder/<table>.csv`` (header, ISO dates), sorted by key,
    in the format :func:`import_dir` reads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in CONTRACT.items():
        cols = ", ".join(ident(c) for c in table.column_names)
        order = ", ".join(ident(c) for c in table.key)
        out = folder / f"{name}.csv"
        con.sql(f"SELECT {cols} FROM {ident(name)} ORDER BY {order}").write_csv(str(out), header=True)
        written.append(out)
    return written


# --------------------------------------------------------------------------------------------
# Staging and validation
# --------------------------------------------------------------------------------------------


@dataclass
class _StageInfo:
    present: tuple[str, ...]          # contract columns the file has
    rows: int = 0
    ignored: tuple[str, ...] = ()


@contextlib.contextmanager
def _staged(sources: Sequence[Source], warehouse: str | os.PathLike | None,
            progress: Progress | None) -> Iterator[tuple[Path, list[Problem], dict[str, int], dict[str, _StageInfo]]]:
    """Stage and validate ``sources`` into a temporary DuckDB file; yields its path, the problems
    (a sample), their exact counts per kind, and what was staged per table."""
    report = progress or (lambda fraction, message: None)
    wh = config.warehouse_path(warehouse)
    tables = [s.table for s in sources]
    problems: list[Problem] = []
    counts: dict[str, int] = {}

    def add(found: Iterable[Problem], total: int | None = None, kind: str | None = None) -> None:
        found = list(found)
        problems.extend(found)
        if kind is None:
            for p in found:
                counts[p.kind] = counts.get(p.kind, 0) + 1
        elif total:
            counts[kind] = counts.get(kind, 0) + total

    dupes = {t for t in tables if tables.count(t) > 1}
    add(Problem(str(s.path), None, None, None, "unreadable_file",
                f"{s.table} is given more than once in this batch") for s in sources if s.table in dupes)
    add(_size_problems(sources))
    with tempfile.TemporaryDirectory(prefix="o2o-import-") as tmp:
        stage_path = Path(tmp) / "stage.duckdb"
        infos: dict[str, _StageInfo] = {}
        if problems:
            yield stage_path, problems, counts, infos
            return
        con = duckdb.connect(str(stage_path))
        try:
            if wh.exists():
                con.execute("ATTACH $path AS wh (READ_ONLY)", {"path": str(wh)})
            sizes = [max(s.path.stat().st_size, 1) for s in sources]
            done = 0
            for src, size in zip(sources, sizes):
                lo, hi = done / sum(sizes), (done + size) / sum(sizes)
                done += size
                info, found = _stage_one(con, src, _scaled(report, lo * 0.8, hi * 0.8))
                add(found)
                if info is not None:
                    infos[src.table] = info
            report(0.8, "checking values and keys")
            for src in sources:
                if src.table in infos and not any(p.file == str(src.path) and p.kind in (
                        "missing_column", "duplicate_column") for p in problems):
                    for found, total, kind in _check_table(con, src, infos[src.table],
                                                           staged=set(infos), has_wh=wh.exists()):
                        add(found, total, kind)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        report(1.0, "checked")
        yield stage_path, problems, counts, infos


def _size_problems(sources: Sequence[Source]) -> list[Problem]:
    limit_mb = config.get_float("O2O_IMPORT_MAX_MB")
    out = []
    for s in sources:
        if not s.path.is_file():
            out.append(Problem(str(s.path), None, None, None, "unreadable_file", "file not found"))
            continue
        size = s.path.stat().st_size
        if size > limit_mb * 1024 * 1024:
            out.append(Problem(str(s.path), None, None, f"{size / 2**20:,.1f} MiB", "file_too_large",
                               f"the file is {size / 2**20:,.1f} MiB, more than the limit of "
                               f"{limit_mb:g} MiB (setting O2O_IMPORT_MAX_MB); split it or raise "
                               f"the limit"))
    return out


def sniff_delimiter(path: Path, encoding: str | None = None) -> str:
    """The delimiter of a CSV file, from its header line: the most frequent of , ; tab | outside
    quotes (comma when none appears)."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    text = head.decode(encoding or "utf-8-sig", errors="replace").lstrip("\ufeff")
    line, in_quotes = [], False
    for ch in text:
        if ch == '"':
            in_quotes = not in_quotes
        elif ch in "\r\n" and not in_quotes:
            break
        elif not in_quotes:
            line.append(ch)
    counts = {d: line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _reader(src: Source) -> tuple[str, dict[str, Any]]:
    """The table function that reads ``src`` (SQL text is fixed; path and options are bound)."""
    if src.is_parquet:
        return "read_parquet($path)", {"path": str(src.path)}
    delim = src.mapping.delimiter or sniff_delimiter(src.path, src.mapping.encoding)
    params: dict[str, Any] = {"path": str(src.path), "delim": delim}
    sql = ("read_csv($path, delim = $delim, header = true, all_varchar = true, quote = '\"', "
           "escape = '\"'")
    if src.mapping.encoding:
        sql += ", encoding = $encoding"
        params["encoding"] = src.mapping.encoding
    return sql + ")", params


def _stage_one(con: duckdb.DuckDBPyConnection, src: Source, report: Progress) -> tuple[_StageInfo | None, list[Problem]]:
    """Read one file into ``stage_<table>``: ``_row``, then per present contract column its
    typed value and its raw text (``<col>__raw``, trimmed, empty -> NULL)."""
    table = CONTRACT[src.table]
    file = str(src.path)
    report(0.0, f"reading {src.path.name}")
    try:
        reader, params = _reader(src)
        header = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", params).fetchall()]
    except duckdb.Error as exc:
        return None, [Problem(file, None, None, None, "unreadable_file", f"cannot read the file: {exc}")]
    if not header:
        return None, [Problem(file, None, None, None, "unreadable_file", "the file has no header")]

    # Resolve the user's column names to contract names.
    problems: list[Problem] = []
    by_lower = {c.lower(): c for c in table.column_names}
    user_map = {k.strip(): v for k, v in src.mapping.columns.items()}
    user_map_lower = {k.lower(): v for k, v in user_map.items()}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    all_columns = {c.name for t in CONTRACT.values() for c in t.columns}
    for i, name in enumerate(header):
        clean = name.strip().lstrip("\ufeff").strip()
        target = user_map.get(clean) or user_map_lower.get(clean.lower())
        if target is not None and target not in table.column_names:
            if target not in all_columns:
                problems.append(Problem(file, None, clean, target, "bad_mapping",
                                        f"the mapping renames '{clean}' to '{target}', which is "
                                        f"not a column of any contract table"))
            ignored.append(clean)
            continue
        target = target or by_lower.get(clean.lower())
        if target is None:
            ignored.append(clean)
        elif target in positions:
            problems.append(Problem(file, None, target, clean, "duplicate_column",
                                    f"two columns of the file map to '{target}' "
                                    f"('{header[positions[target]].strip()}' and '{clean}')"))
        else:
            positions[target] = i
    for col in table.columns:
        if col.required and col.name not in positions:
            problems.append(Problem(file, 1 if not src.is_parquet else None, col.name, None,
                                    "missing_column",
                                    f"required column '{col.name}' is missing (the file has: "
                                    f"{', '.join(h.strip() for h in header)})"))
    if any(p.kind in ("missing_column", "duplicate_column", "bad_mapping") for p in problems):
        return _StageInfo(tuple(positions)), problems

    # Raw text in file order (CREATE TABLE AS keeps insertion order, so rowid = file order).
    select = ", ".join(f"{'CAST(' if src.is_parquet else ''}#{i + 1}"
                       f"{' AS VARCHAR)' if src.is_parquet else ''} AS {ident(c + '__raw')}"
                       for c, i in positions.items())
    raw_t, stage_t = ident(f"raw_{table.name}"), ident(f"stage_{table.name}")
    try:
        _execute_with_progress(con, f"CREATE OR REPLACE TABLE {raw_t} AS SELECT {select} FROM {reader}",
                               params, lambda f: report(0.8 * f, f"reading {src.path.name}"))
    except duckdb.Error as exc:
        return None, [Problem(file, None, None, None, "unreadable_file", f"cannot read the file: {exc}")]
    report(0.8, f"typing {src.path.name}")
    offset = 1 if src.is_parquet else 2
    fmt_params: dict[str, Any] = {"offset": offset}
    typed = []
    for col in table.columns:
        if col.name in positions:
            raw_ref = f"NULLIF(trim({ident(col.name + '__raw')}), '')"
            typed.append(f"{raw_ref} AS {ident(col.name + '__raw')}")
            typed.append(f"{_typed_sql(col, raw_ref, src.mapping, fmt_params)} AS {ident(col.name)}")
        else:
            typed.append(f"CAST(NULL AS VARCHAR) AS {ident(col.name + '__raw')}")
            typed.append(f"CAST(NULL AS {col.type}) AS {ident(col.name)}")
    con.execute(f"CREATE OR REPLACE TABLE {stage_t} AS SELECT rowid + $offset AS {ident('_row')}, "
                f"{', '.join(typed)} FROM {raw_t}", fmt_params)
    con.execute(f"DROP TABLE {raw_t}")
    rows = int(con.execute(f"SELECT count(*) FROM {stage_t}").fetchone()[0])
    report(1.0, f"read {rows:,} rows from {src.path.name}")
    return _StageInfo(tuple(c for c in table.column_names if c in positions), rows, tuple(ignored)), problems


def _typed_sql(col: Column, raw: str, mapping: Mapping, params: dict[str, Any]) -> str:
    """SQL turning trimmed text ``raw`` into ``col.type``; NULL when it does not convert."""
    if col.type == "VARCHAR":
        return raw
    if col.type == "DOUBLE":
        return f"TRY_CAST({raw} AS DOUBLE)"
    if col.type == "INTEGER":  # TRY_CAST('4.5' AS INTEGER) rounds; insist on a whole number
        return (f"CASE WHEN TRY_CAST({raw} AS DOUBLE) = round(TRY_CAST({raw} AS DOUBLE)) "
                f"THEN TRY_CAST(TRY_CAST({raw} AS DOUBLE) AS INTEGER) END")
    if col.type == "BOOLEAN":
        return (f"CASE WHEN lower({raw}) IN ('true', 't', 'yes', 'y', '1') THEN true "
                f"WHEN lower({raw}) IN ('false', 'f', 'no', 'n', '0') THEN false END")
    tries = []
    if col.type == "TIMESTAMP" and mapping.timestamp_format:
        params["timestamp_format"] = mapping.timestamp_format
        tries.append(f"try_strptime({raw}, $timestamp_format)")
    if mapping.date_format:
        params["date_format"] = mapping.date_format
        tries.append(f"CAST(try_strptime({raw}, $date_format) AS {col.type})")
    tries.append(f"TRY_CAST({raw} AS {col.type})")
    return f"CAST(coalesce({', '.join(tries)}) AS {col.type})"


def _check_table(con: duckdb.DuckDBPyConnection, src: Source, info: _StageInfo, *, staged: set[str],
                 has_wh: bool) -> Iterator[tuple[list[Problem], int, str]]:
    """Run every check on ``stage_<table>``; yields (sample, exact count, kind) per check."""
    table = CONTRACT[src.table]
    stage_t = ident(f"stage_{table.name}")
    file = str(src.path)
    row = ident("_row")

    def check(kind: str, column: str, where: str, value_sql: str, message: Callable[[str, Any], str],
              params: MappingT[str, Any] | None = None, extra_sql: str = "NULL") -> tuple[list[Problem], int, str]:
        sql = (f"SELECT {row}, CAST({value_sql} AS VARCHAR), {extra_sql}, count(*) OVER () "
               f"FROM {stage_t} s WHERE {where} ORDER BY {row} LIMIT {SAMPLE_PER_CHECK}")
        found = con.execute(sql, dict(params or {})).fetchall()
        sample = [Problem(file, r[0], column, r[1], kind, message(r[1], r[2])) for r in found]
        return sample, (found[0][3] if found else 0), kind

    # A warehouse created when a column was still required keeps its NOT NULL (DuckDB cannot
    # drop it from a table others reference), so such a column stays required for it.
    not_null = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'wh' "
        "AND table_name = $t AND is_nullable = 'NO'", {"t": table.name}).fetchall()} if has_wh else set()
    for col in table.columns:
        if col.name not in info.present:
            continue
        c, raw = ident(col.name), ident(col.name + "__raw")
        if col.required or col.name in not_null:
            yield check("missing_value", col.name, f"{raw} IS NULL", "NULL",
                        lambda v, _, n=col.name: f"{n} is required but empty")
        if col.type != "VARCHAR":
            kind = "bad_date" if col.type in ("DATE", "TIMESTAMP") else "wrong_type"
            expect = _TYPE_WORDS[col.type]
            if kind == "bad_date":
                fmt = src.mapping.timestamp_format if col.type == "TIMESTAMP" else None
                fmt = fmt or src.mapping.date_format
                expect += f" (ISO 8601 like 2016-07-12{' or ' + fmt if fmt else ''})"
            yield check(kind, col.name, f"{raw} IS NOT NULL AND {c} IS NULL", raw,
                        lambda v, _, e=expect, n=col.name: f"{n}: '{v}' is not {e}")
        if col.min_value is not None or col.max_value is not None:
            conds, params = [], {}
            if col.min_value is not None:
                conds.append(f"{c} < $lo")
                params["lo"] = col.min_value
            if col.max_value is not None:
                conds.append(f"{c} > $hi")
                params["hi"] = col.max_value
            if col.min_value == 0 and col.max_value is None:
                what = "money" if col.name in MONEY_COLUMNS else "a quantity"
                yield check("negative_value", col.name, " OR ".join(conds), c,
                            lambda v, _, n=col.name, w=what: f"{n} must not be negative ({w}), got {v}",
                            params)
            else:
                bounds = (f"between {col.min_value:g} and {col.max_value:g}"
                          if col.min_value is not None and col.max_value is not None
                          else f">= {col.min_value:g}" if col.min_value is not None
                          else f"<= {col.max_value:g}")
                yield check("out_of_range", col.name, " OR ".join(conds), c,
                            lambda v, _, n=col.name, b=bounds: f"{n} must be {b}, got {v}", params)
        if col.allowed:
            yield check("not_allowed", col.name, f"{c} IS NOT NULL AND NOT list_contains($allowed, {c})",
                        c, lambda v, _, n=col.name, a=col.allowed: f"{n} must be one of {', '.join(a)}, got '{v}'",
                        {"allowed": list(col.allowed)})
    for rc in table.row_checks:
        yield check("invalid_row", rc.column, f"NOT ({rc.condition_sql})", ident(rc.column),
                    lambda v, _, m=rc.message: m)

    # Duplicated keys inside the file (NULL key parts equal each other, as for costs).
    keys = ", ".join(ident(k) for k in table.key)
    required_keys = [ident(k) for k in table.key if table.column(k).required]
    key_value = " || ' / ' || ".join(f"coalesce(CAST({ident(k)} AS VARCHAR), '(empty)')" for k in table.key)
    key_name = " + ".join(table.key)
    dup_sql = (f"(SELECT {row}, {key_value} AS key_value, "
               f"min({row}) OVER (PARTITION BY {keys}) AS first_row FROM {stage_t} "
               f"WHERE {' AND '.join(k + ' IS NOT NULL' for k in required_keys)})")
    found = con.execute(f"SELECT {row}, key_value, first_row, count(*) OVER () FROM {dup_sql} "
                        f"WHERE {row} > first_row ORDER BY {row} LIMIT {SAMPLE_PER_CHECK}").fetchall()
    yield ([Problem(file, r[0], key_name, r[1], "duplicate_key",
                    f"{key_name} '{r[1]}' appears again (first on row {r[2]})") for r in found],
           found[0][3] if found else 0, "duplicate_key")

    # Foreign keys: the parent row must be in the warehouse or in this batch.
    for fk in table.foreign_keys:
        c, pc = ident(fk.column), ident(fk.parent_column)
        if fk.column not in info.present:
            continue
        lookups = []
        if has_wh:
            lookups.append(f"NOT EXISTS (SELECT 1 FROM wh.{ident(fk.parent)} p WHERE p.{pc} = s.{c})")
        if fk.parent in staged:
            lookups.append(f"NOT EXISTS (SELECT 1 FROM {ident('stage_' + fk.parent)} p WHERE p.{pc} = s.{c})")
        yield check("unknown_reference", fk.column, " AND ".join([f"s.{c} IS NOT NULL", *lookups]),
                    f"s.{c}", lambda v, _, fk=fk: f"{fk.column} '{v}' is not in {fk.parent} (neither in "
                                                  f"the warehouse nor in this batch)")


# --------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------


def _merge(con: duckdb.DuckDBPyConnection, table: TableContract, present: Sequence[str]) -> tuple[int, int]:
    """Upsert ``stg.stage_<table>`` into ``table``; returns (rows added, rows updated).

    Only rows that are new or whose values differ are written. DuckDB (2.0.1) cannot DELETE a row
    that a foreign key references, and turns an UPDATE of an indexed column (a key or a foreign
    key column) into delete + insert — so ``INSERT OR REPLACE`` of an order that has a
    redemption fails. Hence: new rows are INSERTed; changed rows get an UPDATE of their plain
    columns; a change of a foreign-key column of a referenced row (an order moved to another
    store) moves the referencing rows aside, updates, and puts them back.
    """
    t, stage, chg = ident(table.name), f"stg.{ident('stage_' + table.name)}", ident(f"chg_{table.name}")
    cols = [c for c in table.column_names if c in present]
    key = list(table.key)
    plain = [c for c in cols if c not in key]
    fk_cols = [fk.column for fk in table.foreign_keys if fk.column in plain]
    row = ident("_row")
    select_s = ", ".join(f"s.{ident(c)}" for c in cols)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {chg} AS
        SELECT {select_s},
               m.{row} IS NULL AS {ident('is_new')},
               m.{row} IS NOT NULL AND NOT ({_same("m", "s", fk_cols)}) AS {ident('fk_changed')}
        FROM {stage} s
        LEFT JOIN (SELECT t.*, s.{row} FROM {t} t JOIN {stage} s ON {_key_match(table, "t", "s")}) m
               ON m.{row} = s.{row}
        WHERE m.{row} IS NULL OR NOT ({_same("m", "s", plain)})
    """)
    added, updated = con.execute(
        f"SELECT count(*) FILTER (WHERE {ident('is_new')}), count(*) FILTER (WHERE NOT {ident('is_new')}) "
        f"FROM {chg}").fetchone()
    col_list = ", ".join(ident(c) for c in cols)
    if added:
        con.execute(f"INSERT INTO {t} ({col_list}) SELECT {col_list} FROM {chg} WHERE {ident('is_new')}")
    if updated:
        match = _key_match(table, "t", chg)
        simple = [c for c in plain if c not in fk_cols]
        if simple:
            sets = ", ".join(f"{ident(c)} = {chg}.{ident(c)}" for c in simple)
            con.execute(f"UPDATE {t} AS t SET {sets} FROM {chg} "
                        f"WHERE NOT {chg}.{ident('is_new')} AND {match}")
        moved = con.execute(f"SELECT count(*) FROM {chg} WHERE {ident('fk_changed')}").fetchone()[0]
        if moved:
            _update_referenced(con, table, chg, fk_cols, match)
    con.execute(f"DROP TABLE {chg}")
    return int(added), int(updated)


def _update_referenced(con: duckdb.DuckDBPyConnection, table: TableContract, chg: str,
                       fk_cols: Sequence[str], match: str) -> None:
    """UPDATE foreign-key columns of rows other tables may reference: set the referencing rows
    aside, update, put them back. One level suffices for this contract: the referencing tables
    of a table with foreign keys (redemptions, reviews, refunds of orders) are themselves
    referenced by nothing."""
    t = ident(table.name)
    children = [(child, fk) for child in CONTRACT.values() for fk in child.foreign_keys
                if fk.parent == table.name]
    assert all(not any(fk.parent == child.name for c in CONTRACT.values() for fk in c.foreign_keys)
               for child, _ in children), "referencing tables must not be referenced themselves"
    moved_keys = f"(SELECT {ident(table.key[0])} FROM {chg} WHERE {ident('fk_changed')})"
    stashes = []
    for child, fk in children:
        stash = ident(f"stash_{child.name}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {stash} AS SELECT * FROM {ident(child.name)} "
                    f"WHERE {ident(fk.column)} IN {moved_keys}")
        con.execute(f"DELETE FROM {ident(child.name)} WHERE {ident(fk.column)} IN {moved_keys}")
        stashes.append((child, stash))
    sets = ", ".join(f"{ident(c)} = {chg}.{ident(c)}" for c in fk_cols)
    con.execute(f"UPDATE {t} AS t SET {sets} FROM {chg} WHERE {chg}.{ident('fk_changed')} AND {match}")
    for child, stash in stashes:
        con.execute(f"INSERT INTO {ident(child.name)} SELECT * FROM {stash}")
        con.execute(f"DROP TABLE {stash}")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _key_match(table: TableContract, left: str, right: str) -> str:
    """SQL matching rows of aliases ``left`` and ``right`` on the table's key (NULLs equal when
    the key is a de-duplication key, as for costs)."""
    op = "=" if table.key_is_primary else "IS NOT DISTINCT FROM"
    return " AND ".join(f"{left}.{ident(k)} {op} {right}.{ident(k)}" for k in table.key)


def _same(left: str, right: str, columns: Sequence[str]) -> str:
    """SQL true when the two rows agree on every one of ``columns`` (NULLs equal)."""
    return " AND ".join(f"{left}.{ident(c)} IS NOT DISTINCT FROM {right}.{ident(c)}"
                        for c in columns) or "true"


def _count(problems: Iterable[Problem]) -> dict[str, int]:
    out: dict[str, int] = {}
    for p in problems:
        out[p.kind] = out.get(p.kind, 0) + 1
    return out


def _current_user() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name is not a reason to fail an import
        return "unknown"


def _scaled(report: Progress, lo: float, hi: float) -> Progress:
    return lambda fraction, message: report(lo + (hi - lo) * min(max(fraction, 0.0), 1.0), message)


def _execute_with_progress(con: duckdb.DuckDBPyConnection, sql: str, params: MappingT[str, Any],
                           on_fraction: Callable[[float], None]) -> None:
    """Run one long statement, reporting DuckDB's own query progress from a watcher thread."""
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.25):
            with contextlib.suppress(Exception):
                pct = con.query_progress()
                if pct >= 0:
                    on_fraction(pct / 100.0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        con.execute(sql, dict(params))
    finally:
        finished.set()
        watcher.join()
