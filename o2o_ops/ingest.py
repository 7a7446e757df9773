"""Import of source files into the warehouse: validate -> stage -> atomic merge -> import log.

This module owns the *import contract* (:data:`CONTRACT`: per table its columns, types, required
columns, key, foreign keys and ranges, written once as data) and the whole import path:

1. **Refuse** files larger than ``O2O_IMPORT_MAX_MB`` before reading a byte of them.
2. **Read** each CSV once as a stream (:func:`_prepare_csv`): gzip undone with the same limit on
   the decompressed bytes, other formats (JSON, ZIP, PDF, binary) named, the encoding found
   (mapping, BOM, strict UTF-8, else charset-normalizer) and non-UTF-8 text transcoded to a
   UTF-8 copy chunk by chunk, an unclosed quote and blank lines found.
3. **Stage** each file with DuckDB (``read_csv`` with our own header and dialect and
   ``store_rejects``, or ``read_parquet``) into a staging database in ``o2o-import-<pid>-*`` in
   the temp folder, renaming the user's columns to the contract's; rows that do not fit the
   header (ragged, bad quoting, over MAX_ROW_BYTES) come back with their row number.
4. **Validate** in SQL: required columns and values, types (``TRY_CAST``; numbers finite),
   dates and their windows (:data:`DATE_WINDOWS`), ranges, allowed values, chronology (nothing
   of an order before it was placed), duplicated keys inside the file, and foreign keys against
   the warehouse *plus* the other files of the same batch. Any problem -> :class:`ImportRejected`,
   nothing is written.
5. **Merge** inside :func:`o2o_ops.db.rebuild` (copy -> write -> atomic rename): upsert by key,
   counting rows added, rows updated (rows whose values actually differ) and rows unchanged; one
   ``import_log`` row per table. The rollups are rebuilt by ``db.rebuild``. A crash or kill at
   any point leaves the warehouse as it was.

Row numbers in messages
    CSV: numbered as a spreadsheet shows them — the header is row 1, the first data row is
    row 2 (a quoted field holding a newline still counts as one row; blank lines, which are
    skipped, count). Parquet: the first record is row 1.

CSV files
    Any of ``,`` ``;`` tab ``|`` as delimiter (detected from the header line, or set in the
    mapping), fields quoted with ``"`` (``""`` inside a quoted field is a quote; quoted fields may
    hold newlines), optionally gzipped; UTF-8 with or without BOM, UTF-16/32 with a BOM,
    GB18030/GBK or latin-1 (detected, or ``encoding`` in the mapping); LF, CRLF or CR line ends
    (mixed too). A file with a header and no rows is a valid, empty batch for its table. Empty fields are missing values. Column names are matched to the
    contract ignoring case and surrounding spaces; columns the contract does not know are ignored
    (and listed in the result).

Mapping file (``--mapping FILE``; ``mapping.toml`` / ``mapping.yaml`` in an ``import-dir`` folder)
    TOML or YAML, chosen by the file's extension. Every key is optional::

        # mapping.toml
        date_format      = "%Y%m%d"            # DATE columns, e.g. 20160712 (strptime codes)
        timestamp_format = "%Y%m%d %H:%M:%S"  # TIMESTAMP columns
        delimiter        = ";"                # instead of detecting it
        encoding         = "gbk"              # any Python codec name; default: detected

        [columns]                             # the user's name = the contract's name
        User_id       = "customer_id"
        Merchant_id   = "store_id"
        Date_received = "ordered_at"

        [tables.orders]                       # optional: the same keys for one table only,
        date_format = "%d/%m/%Y"              # overriding the ones above
        [tables.orders.columns]
        id = "order_id"

    Beyond renaming (:mod:`o2o_ops.mapping`, reference in docs/mapping.md): ``null_values``,
    ``[values.<column>]`` maps, ``[defaults]`` / ``[constants]``, ``discount_rate_means`` /
    ``discount_rate_scale`` / ``discount_rate_x_y``, and ``[sources]`` with a staging ``sql`` per
    table, run in a sandbox (:mod:`o2o_ops.mapping_sql`).

    ISO 8601 values (``2016-07-12``, ``2016-07-12 10:30:00``, ``2016-07-12T10:30:00``) are always
    accepted as well; a TIMESTAMP column also accepts values in ``date_format`` (midnight).
    Booleans accept true/false, t/f, yes/no, y/n, 1/0.

Columns missing from a file (optional ones) are left as they are on rows that already exist
and are empty on new rows. Rows are never deleted by an import.

The core never imports streamlit; progress is reported through an optional
``progress(fraction, message)`` callable.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import fcntl
import getpass
import gzip
import hashlib
import io
import os
import re
import shutil
import tempfile
import threading
import tomllib
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping as MappingT, Sequence

import duckdb

from o2o_ops import config, db, incremental, mapping as mapping_mod
from o2o_ops.kpis.catalog import KPIS
from o2o_ops.alerts.import_failures import recorded as _record_failures  # for the failed-import alert

Progress = Callable[[float, str], None]

# --------------------------------------------------------------------------------------------
# The contract, as data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str                      # VARCHAR, DOUBLE, INTEGER, DATE, TIMESTAMP, TIME, BOOLEAN
    required: bool = False
    min_value: float | None = None
    max_value: float | None = None
    allowed: tuple[str, ...] = ()
    # DATE/TIMESTAMP only: which window of dates is sane (see DATE_WINDOWS).
    window: str | None = None
    # Text whose mere presence is counted (a complaint category makes a review a complaint):
    # what a value makes the row. Such a column refuses an empty value written as text ("none",
    # "NULL"), which would otherwise be counted; the mapping's null_values imports it as empty.
    present_means: str | None = None


#: Dates a column may hold, by kind of date (bounds are read from settings at import time):
#: ``event`` something that happened (an order, a redemption, a cost): from O2O_EARLIEST_DATE
#: to tomorrow (a day of slack for time zones); ``plan`` something scheduled (validity, campaign
#: dates): from O2O_EARLIEST_DATE to O2O_MAX_YEARS_AHEAD years ahead; ``history`` a store's
#: opening: from HISTORY_START (stores older than the platform exist) to years ahead.
DATE_WINDOWS = ("event", "plan", "history")
HISTORY_START = dt.date(1900, 1, 1)


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
class Chronology:
    """``column`` of this table must not be before ``parent_column`` of the parent row found
    through ``key`` (e.g. a redemption not before its order was placed)."""
    column: str
    key: str
    parent: str
    parent_column: str
    what: str            # the row in words: "redemption", "review", "refund"


@dataclass(frozen=True)
class ScopeReference:
    """``column`` names a store or a region, as ``kind_column`` says (e.g. a target's scope): it
    must be in the stores (warehouse or this batch). ``kinds``: kind -> stores column."""
    column: str
    kind_column: str
    kinds: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TableContract:
    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    row_checks: tuple[RowCheck, ...] = ()
    chronology: tuple[Chronology, ...] = ()
    scope_references: tuple[ScopeReference, ...] = ()
    # False for costs: the key is a de-duplication key whose columns may be NULL (NULLs equal).
    key_is_primary: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


#: Whom a target is for (table ``targets``).
TARGET_SCOPES = ("store", "region", "business")
#: KPIs whose values are shares (0..1): a target for them must be one too.
SHARE_KPIS = tuple(k.name for k in KPIS.values() if k.unit in ("percent", "ratio"))


def _money(name: str, required: bool = False) -> Column:
    return Column(name, "DOUBLE", required, min_value=0)


def _when(name: str, type_: str, window: str, required: bool = False) -> Column:
    return Column(name, type_, required, window=window)


#: The online funnel's event types (the optional table events), in funnel order where they have one.
EVENT_TYPES = ("impression", "click", "coupon_received", "shared", "favourited")


def _after_order(column: str, what: str) -> tuple[Chronology, ...]:
    return (Chronology(column, "order_id", "orders", "ordered_at", what),)


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
        _when("opened_on", "DATE", "history"),
        Column("capacity_per_hour", "DOUBLE", min_value=0),
        Column("listed_rating", "DOUBLE", min_value=1, max_value=5),
        Column("listed_wait_minutes", "DOUBLE", min_value=0),
    ), key=("store_id",)),
    TableContract("campaigns", "one row per campaign", (
        Column("campaign_id", "VARCHAR", True),
        Column("name", "VARCHAR", True),
        Column("kind", "VARCHAR", True),
        Column("channel", "VARCHAR", True),
        _when("start_date", "DATE", "plan", True),
        _when("end_date", "DATE", "plan", True),
        _money("budget"),
        Column("discount_rate", "DOUBLE", min_value=0, max_value=1),
    ), key=("campaign_id",), row_checks=(
        RowCheck('"end_date" >= "start_date"', "end_date", "end_date is before start_date"),
    )),
    TableContract("customers", "one row per customer (opaque id, no personal data)", (
        Column("customer_id", "VARCHAR", True),
        _when("signup_date", "DATE", "event", True),
        Column("city", "VARCHAR"),
        Column("tier", "VARCHAR"),
        Column("acquisition_channel", "VARCHAR"),
    ), key=("customer_id",)),
    TableContract("orders", "one row per online order / voucher", (
        Column("order_id", "VARCHAR", True),
        Column("customer_id", "VARCHAR", True),
        Column("store_id", "VARCHAR", True),
        _when("ordered_at", "TIMESTAMP", "event", True),
        _money("list_price", True),
        _money("paid_amount", True),
        Column("campaign_id", "VARCHAR"),
        Column("channel", "VARCHAR"),
        _money("discount_amount"),
        _money("platform_fee"),
        Column("status", "VARCHAR", allowed=("paid", "refunded", "cancelled", "expired")),
        _when("valid_until", "TIMESTAMP", "plan"),
        Column("tracking_code", "VARCHAR"),
        # optional (issue #16): the promise made for this order
        _when("promised_at", "TIMESTAMP", "plan"),
        Column("promised_wait_minutes", "DOUBLE", min_value=0),
    ), key=("order_id",), foreign_keys=(
        ForeignKey("customer_id", "customers", "customer_id"),
        ForeignKey("store_id", "stores", "store_id"),
        ForeignKey("campaign_id", "campaigns", "campaign_id"),
    ), row_checks=(
        RowCheck('"promised_at" >= "ordered_at"', "promised_at",
                 "promised_at is before ordered_at: a promise is for after the order"),
    )),
    TableContract("redemptions", "one row per offline fulfilment of an order", (
        Column("order_id", "VARCHAR", True),
        _when("redeemed_at", "TIMESTAMP", "event", True),
        Column("wait_minutes", "DOUBLE", min_value=0),
        Column("service_minutes", "DOUBLE", min_value=0),
        _money("extra_spend"),
    ), key=("order_id",), foreign_keys=(ForeignKey("order_id", "orders", "order_id"),),
        chronology=_after_order("redeemed_at", "redemption")),
    TableContract("reviews", "one row per review", (
        Column("review_id", "VARCHAR", True),
        Column("order_id", "VARCHAR", True),
        Column("rating", "INTEGER", True, 1, 5),
        _when("posted_at", "TIMESTAMP", "event", True),
        Column("as_described", "BOOLEAN"),
        Column("complaint_category", "VARCHAR", present_means="complaint"),
    ), key=("review_id",), foreign_keys=(ForeignKey("order_id", "orders", "order_id"),),
        chronology=_after_order("posted_at", "review")),
    TableContract("refunds", "one row per refund (an order may have several)", (
        Column("order_id", "VARCHAR", True),
        _when("refunded_at", "TIMESTAMP", "event", True),
        _money("amount", True),
        Column("reason", "VARCHAR"),
    ), key=("order_id", "refunded_at"), foreign_keys=(ForeignKey("order_id", "orders", "order_id"),),
        chronology=_after_order("refunded_at", "refund")),
    TableContract("costs", "one row per store or campaign per day per cost type", (
        _when("date", "DATE", "event", True),
        Column("cost_type", "VARCHAR", True),
        _money("amount", True),
        Column("store_id", "VARCHAR"),
        Column("campaign_id", "VARCHAR"),
        Column("staff_hours", "DOUBLE", min_value=0),
    ), key=("date", "cost_type", "store_id", "campaign_id"), key_is_primary=False, foreign_keys=(
        ForeignKey("store_id", "stores", "store_id"),
        ForeignKey("campaign_id", "campaigns", "campaign_id"),
    )),
    # Optional tables (issue #16): a warehouse without them works as before.
    TableContract("store_hours", "one row per store x ISO weekday (Monday = 1) x opening span", (
        Column("store_id", "VARCHAR", True),
        Column("iso_weekday", "INTEGER", True, 1, 7),
        Column("opens_at", "TIME", True),
        Column("closes_at", "TIME", True),
    ), key=("store_id", "iso_weekday", "opens_at"), foreign_keys=(
        ForeignKey("store_id", "stores", "store_id"),
    ), row_checks=(
        RowCheck('"closes_at" <> "opens_at"', "closes_at",
                 "closes_at equals opens_at; a day open around the clock is 00:00 to 24:00"),
    )),
    TableContract("inspections", "one row per offline inspection / audit of a store and day", (
        Column("store_id", "VARCHAR", True),
        _when("inspected_on", "DATE", "event", True),
        Column("score", "DOUBLE", min_value=0, max_value=100),
        Column("violations_critical", "INTEGER", min_value=0),
        Column("violations_major", "INTEGER", min_value=0),
        Column("violations_minor", "INTEGER", min_value=0),
        Column("passed", "BOOLEAN"),
        Column("inspection_type", "VARCHAR"),
    ), key=("store_id", "inspected_on"), foreign_keys=(
        ForeignKey("store_id", "stores", "store_id"),
    ), row_checks=(
        RowCheck('"score" IS NOT NULL OR "passed" IS NOT NULL OR "violations_critical" IS NOT NULL '
                 'OR "violations_major" IS NOT NULL OR "violations_minor" IS NOT NULL', "score",
                 "an inspection needs a result: a score, a pass, or violation counts"),
    )),
    TableContract("events", "one row per online funnel event, or a count of like events", (
        Column("event_type", "VARCHAR", True, allowed=EVENT_TYPES),
        _when("occurred_at", "TIMESTAMP", "event", True),
        Column("event_count", "INTEGER", min_value=1),
        Column("campaign_id", "VARCHAR"),
        Column("channel", "VARCHAR"),
        Column("store_id", "VARCHAR"),
        Column("customer_id", "VARCHAR"),
    ), key=("event_type", "occurred_at", "campaign_id", "channel", "store_id", "customer_id"), key_is_primary=False,
        foreign_keys=(
            ForeignKey("campaign_id", "campaigns", "campaign_id"),
            ForeignKey("store_id", "stores", "store_id"),
    )),
    TableContract("targets", "one row per KPI × scope (a store, a region or the whole business) × month", (
        Column("kpi", "VARCHAR", True, allowed=tuple(KPIS)),
        Column("scope", "VARCHAR", True, allowed=TARGET_SCOPES),
        Column("scope_id", "VARCHAR"),
        _when("month", "DATE", "plan", True),
        Column("target_value", "DOUBLE", True),
    ), key=("kpi", "scope", "scope_id", "month"), key_is_primary=False, row_checks=(
        RowCheck("(scope = 'business') = (scope_id IS NULL)", "scope_id",
                 "scope_id names the store or region of a 'store' or 'region' target and is empty for 'business'"),
        RowCheck("day(month) = 1", "month", "month is the first day of the month (e.g. 2026-11-01)"),
        RowCheck("NOT list_contains($share_kpis, kpi) OR target_value BETWEEN 0 AND 1", "target_value",
                 "a percent KPI's target is a share between 0 and 1 (0.85 for 85%)"),
    ), scope_references=(
        ScopeReference("scope_id", "scope", (("store", "store_id"), ("region", "region"))),
    )),
)}

#: Dependency order: parents before children.
IMPORT_ORDER: tuple[str, ...] = tuple(CONTRACT)
assert IMPORT_ORDER == db.CONTRACT_TABLES
assert all(c.window in DATE_WINDOWS for t in CONTRACT.values() for c in t.columns
           if c.type in ("DATE", "TIMESTAMP")), "every date column needs a window of sane dates"

MONEY_COLUMNS = frozenset({"budget", "list_price", "paid_amount", "discount_amount",
                           "platform_fee", "extra_spend", "amount"})

_TYPE_WORDS = {"DOUBLE": "a number", "INTEGER": "a whole number", "BOOLEAN": "true/false",
               "DATE": "a date", "TIMESTAMP": "a date-time", "TIME": "a time of day (HH:MM, 00:00 to 24:00)"}

# Identifiers that may appear in SQL: contract names and names derived from them here.
_IDENTIFIERS: frozenset[str] = frozenset(
    [*CONTRACT]
    + [c.name for t in CONTRACT.values() for c in t.columns]
    + [f"{c.name}__raw" for t in CONTRACT.values() for c in t.columns]
    + [f"{p}_{t}" for t in CONTRACT for p in ("stage", "raw", "chg", "found", "stash")]
    + [f"rejects_{t}" for t in CONTRACT]
    + [f"{p}_{c.name}" for t in CONTRACT.values() for c in t.columns for p in ("differs", "was")]
    + ["_row", "_rid", "is_new", "fk_changed", "stg", "wh", "main", "blank_shift"]
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
        return self.text()

    def text(self, lang: str = "en", file: str | None = None) -> str:
        """``file, row 3, column paid_amount: message`` in ``lang`` (``file``: the name the user
        knows instead of the path); the English is :attr:`message` as written here."""
        from o2o_ops.i18n import problems
        return problems.where(self, lang, file)

    def words(self, lang: str = "en") -> str:
        """:attr:`message` in ``lang``."""
        from o2o_ops.i18n import problems
        return problems.message(self.message, lang)


# The kinds, in the order a report lists them.
PROBLEM_KINDS = (
    "bad_setting", "file_too_large", "unreadable_file", "bad_mapping", "missing_column", "duplicate_column",
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

    def report(self, first: int = 5, lang: str = "en") -> str:
        """The problems by kind, the first ``first`` of each, in ``lang``."""
        from o2o_ops.i18n import problems
        return problems.report(self, lang, first)


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
    encoding: str = ""          # what a CSV was read as (UTF-8, GB18030, ...); "" for Parquet
    # optional text values that read as empty written as text, kept as written: (column, value, rows)
    kept_as_text: tuple[tuple[str, str, int], ...] = ()

    def kept_words(self) -> str:
        """The values kept as text in words: ``channel 'null' (12 rows), tier 'NA' (1 row)``."""
        return ", ".join(f"{c} '{v}' ({n:,} row{'s' if n != 1 else ''})" for c, v, n in self.kept_as_text)


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
            if r.encoding and r.encoding != "UTF-8":
                lines.append(f"  {'':<12} read as {r.encoding} text")
            if r.ignored_columns:
                lines.append(f"  {'':<12} ignored columns not in the contract: "
                             f"{', '.join(r.ignored_columns)}")
            if r.kept_as_text:
                lines.append(f"  {'':<12} kept as written: {r.kept_words()}; if they mean empty, list them "
                             f"in the mapping's null_values and import again")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Mapping files and sources
# --------------------------------------------------------------------------------------------


Mapping = mapping_mod.Mapping
SourceSpec = mapping_mod.SourceSpec


def read_mapping_file(path: str | os.PathLike) -> dict[str, Any]:
    """The raw content of a TOML or YAML mapping file, its shape checked (:mod:`o2o_ops.mapping`);
    raises ImportRejected if unusable."""
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
        mapping_mod.check_shape(data, {t: c.column_names for t, c in CONTRACT.items()})
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear problem
        raise ImportRejected([Problem(str(path), None, None, None, "bad_mapping",
                                      f"cannot use this mapping file: {_mapping_file_words(exc)}")],
                             {"bad_mapping": 1}) from exc
    data[_MAPPING_NAME] = path.name
    return data


def _mapping_file_words(exc: BaseException) -> str:
    """Why a mapping file cannot be read, on one line: where, and what to do when we can tell
    (Notepad saving GBK, a YAML file indented with tabs)."""
    if isinstance(exc, UnicodeDecodeError):
        line = exc.object[:exc.start].count(b"\n") + 1
        return (f"it is not UTF-8 text (byte {exc.object[exc.start:exc.end].hex(' ').upper()} at byte "
                f"{exc.start:,}, line {line}): save it as UTF-8")
    mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None)
    if mark is not None and problem:   # PyYAML's errors: a message over several lines
        tabs = " (YAML indents with spaces, not tabs)" if "'\\t'" in problem or "\t" in problem else ""
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}{tabs}"
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


#: Where read_mapping_file keeps the file's name in the dict it returns (for messages).
_MAPPING_NAME = "__file_name__"


def mapping_for(raw: MappingT[str, Any] | None, table: str) -> Mapping:
    """The mapping for one table: top-level settings overridden by ``[tables.<table>]``."""
    raw = dict(raw or {})
    name = str(raw.pop(_MAPPING_NAME, "mapping"))
    return mapping_mod.for_table(raw, table, name)


def _mapping_problem(label: str, exc: Exception) -> ImportRejected:
    return ImportRejected([Problem(label, None, None, None, "bad_mapping",
                                   f"cannot use this mapping file: {exc}")], {"bad_mapping": 1})


def sql_sources(raw: MappingT[str, Any] | None, files: MappingT[str, Path], *,
                label: str | None = None) -> tuple[list[Source], set[str]]:
    """The tables fed by staging SQL in mapping ``raw``, given the batch's files (file name ->
    path): one :class:`Source` per ``[tables.<table>] sql``, each able to read every named
    source of the batch; and the names of the files used as sources. A source whose file is not
    in the batch is kept out: the staging SQL reading it is told so."""
    raw = dict(raw or {})
    name = str(raw.get(_MAPPING_NAME, label or "mapping"))
    try:
        specs = mapping_mod.sources({k: v for k, v in raw.items() if k != _MAPPING_NAME})
    except mapping_mod.MappingError as exc:
        raise _mapping_problem(name, exc) from exc
    by_lower = {n.lower(): p for n, p in files.items()}
    inputs = tuple((spec, by_lower[spec.file.lower()]) for spec in specs.values()
                   if spec.file.lower() in by_lower)
    wanted = {spec.file.lower() for spec in specs.values()}
    used = {n for n in files if n.lower() in wanted}
    # Data files that are neither a source nor a table's file: when a source's file is missing,
    # one of these is likely it under another name (Yelp's yelp_academic_dataset_business.json).
    table_files = {n for names in _TABLE_FILE_NAMES.values() for n in names}
    others = tuple(sorted(n for n in files if n.lower() not in wanted and n.lower() not in table_files
                          and n.lower().endswith(_FILE_ENDINGS)))
    out = []
    for table in IMPORT_ORDER:
        m = mapping_for(raw, table)
        if m.sql:
            out.append(Source(table, Path(label or name), m, inputs=inputs,
                              missing_inputs=tuple((s.name, s.file) for s in specs.values()
                                                   if s.file.lower() not in by_lower),
                              other_files=others))
    return out, used


@dataclass(frozen=True)
class Source:
    table: str
    path: Path                  # the file; for staging SQL, the mapping file (named in messages)
    mapping: Mapping = Mapping()
    # Staging SQL only: the batch's named files it may read, and the (name, file) of those absent.
    inputs: tuple[tuple[SourceSpec, Path], ...] = ()
    missing_inputs: tuple[tuple[str, str], ...] = ()
    other_files: tuple[str, ...] = ()     # the batch's data files [sources] does not name

    @property
    def is_sql(self) -> bool:
        return bool(self.mapping.sql)

    @property
    def label(self) -> str:
        """How messages name this source: the file, or the mapping's SQL for the table."""
        return f"{self.path.name} [tables.{self.table}] sql" if self.is_sql else str(self.path)

    @cached_property
    def is_parquet(self) -> bool:
        """Named .parquet / .pq, or Parquet by content whatever the name (its first bytes)."""
        return self.path.suffix.lower() in (".parquet", ".pq") or _looks_parquet(self.path)

    @cached_property
    def is_json(self) -> bool:
        """Named .json / .ndjson / .jsonl: JSON records (an array of objects, or one per line)."""
        return _is_json_name(self.path)


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


def _raw_mapping(mapping: str | os.PathLike | MappingT | None) -> dict[str, Any] | None:
    """A mapping given as a file (read and checked) or as a dict (checked)."""
    if mapping is None:
        return None
    if isinstance(mapping, (str, os.PathLike)):
        return read_mapping_file(mapping)
    raw = dict(mapping)
    try:
        mapping_mod.check_shape({k: v for k, v in raw.items() if k != _MAPPING_NAME},
                                {t: c.column_names for t, c in CONTRACT.items()})
    except mapping_mod.MappingError as exc:
        raise _mapping_problem(str(raw.get(_MAPPING_NAME, "mapping")), exc) from exc
    return raw


@_record_failures
def import_file(table: str, path: str | os.PathLike, *, mapping: str | os.PathLike | MappingT | None = None,
                warehouse: str | os.PathLike | None = None, imported_by: str | None = None,
                progress: Progress | None = None) -> ImportResult:
    """Import one file into ``table``. Raises :class:`ImportRejected` if anything is wrong.

    When the mapping gives staging SQL for ``table``, the file is the batch: the SQL reads it
    under the ``[sources]`` name whose file name it has (or under the only source's name)."""
    if table not in CONTRACT:
        raise ImportRejected([Problem(str(path), None, None, table, "bad_mapping",
                                      f"unknown table '{table}'; one of {', '.join(CONTRACT)}")],
                             {"bad_mapping": 1})
    raw = _raw_mapping(mapping)
    path = Path(path)
    if mapping_for(raw, table).sql:
        specs = mapping_mod.sources({k: v for k, v in raw.items() if k != _MAPPING_NAME})
        files = {s.file: path for s in specs.values()} if len(specs) == 1 else {path.name: path}
        label = Path(mapping) if isinstance(mapping, (str, os.PathLike)) else None
        found, _ = sql_sources(raw, files, label=str(label) if label else None)
        sources = [s for s in found if s.table == table]
    else:
        sources = [Source(table, path, mapping_for(raw, table))]
    return import_batch(sources, warehouse=warehouse, imported_by=imported_by, progress=progress)


#: File endings the importer reads: CSV (optionally gzipped), Parquet, JSON / NDJSON.
_FILE_ENDINGS = (".csv", ".txt", ".tsv", ".parquet", ".pq", ".csv.gz", ".txt.gz", ".tsv.gz",
                 ".json", ".ndjson", ".jsonl")
#: The file names ``import-dir`` takes for each table.
_TABLE_FILE_NAMES = {t: {f"{t}{ext}" for ext in _FILE_ENDINGS} for t in CONTRACT}


def _is_json_name(path: Path) -> bool:
    return path.suffix.lower() in (".json", ".ndjson", ".jsonl")


def find_sources(folder: str | os.PathLike, mapping: str | os.PathLike | MappingT | None = None) -> list[Source]:
    """The files of an import folder: ``<table>.csv`` / ``.parquet`` / ``.json`` per table, in
    dependency order, with ``mapping.toml`` / ``mapping.yaml`` if present (or the mapping given).
    Tables the mapping feeds with staging SQL read the files its ``[sources]`` names instead
    (and those files are not imported as tables of their own)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImportRejected([Problem(str(folder), None, None, None, "unreadable_file",
                                      "not a folder")], {"unreadable_file": 1})
    if mapping is None:
        found = [p for p in (folder / n for n in ("mapping.toml", "mapping.yaml", "mapping.yml"))
                 if p.exists()]
        mapping = found[0] if found else None
    raw = _raw_mapping(mapping)
    label = str(mapping) if isinstance(mapping, (str, os.PathLike)) else None
    files = {p.name: p for p in folder.iterdir() if p.is_file()}
    sql_fed, used = sql_sources(raw, files, label=label)
    by_sql = {s.table for s in sql_fed}
    sources: list[Source] = []
    problems: list[Problem] = []
    for table in IMPORT_ORDER:
        if table in by_sql:
            sources.extend(s for s in sql_fed if s.table == table)
            continue
        candidates = [p for p in files.values()
                      if p.name.lower() in _TABLE_FILE_NAMES[table] and p.name not in used]
        if len(candidates) > 1:
            problems.append(Problem(str(folder), None, None, None, "unreadable_file",
                                    f"more than one file for {table}: "
                                    f"{', '.join(sorted(p.name for p in candidates))}"))
        elif candidates:
            sources.append(Source(table, candidates[0], mapping_for(raw, table)))
    if not sources and not problems:
        problems.append(Problem(str(folder), None, None, None, "unreadable_file",
                                f"no files named after a table ({', '.join(IMPORT_ORDER)}) "
                                f"with .csv, .csv.gz, .parquet or .json"))
    if problems:
        raise ImportRejected(problems, _count(problems))
    return sources


@_record_failures
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


@_record_failures
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
        # start_empty is decided by rebuild under the write lock: a batch that landed meanwhile is kept
        with db.rebuild(wh, incremental=True) as con:
            con.execute("ATTACH $path AS stg (READ_ONLY)", {"path": str(stage_path)})
            for i, src in enumerate(sources):
                lo = 0.55 + 0.35 * i / len(sources)
                report(lo, f"writing {src.table}")
                added, updated = _merge(con, CONTRACT[src.table], infos[src.table].present)
                rows = infos[src.table].rows
                con.execute(
                    "INSERT INTO import_log VALUES ($at, $by, $source, $table, $added, $updated, 0)",
                    {"at": dt.datetime.now(), "by": user, "source": src.label,
                     "table": src.table, "added": added, "updated": updated})
                results.append(TableResult(src.table, src.label, rows, added, updated,
                                           rows - added - updated, infos[src.table].ignored,
                                           infos[src.table].encoding, infos[src.table].kept_as_text))
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
# Reading files: size, format, encoding and structure, answered in our words
# --------------------------------------------------------------------------------------------

#: Bytes read at a time when a CSV file is checked, decompressed or transcoded: memory use of
#: that step stays near this whatever the file's size.
CHUNK_BYTES = 1 << 20
#: Longest CSV row accepted (DuckDB's ``max_line_size``): a field this long is not table data.
MAX_ROW_BYTES = 2 << 20
#: Longest text value accepted in any column, CSV or Parquet (names, ids, reasons, categories).
MAX_TEXT_CHARS = 4096
#: What the encoding detector (charset-normalizer) may answer when a file is neither UTF-8 nor
#: marked by a byte-order mark: GB18030 (a superset of GBK and GB2312) or Windows-1252 (latin-1
#: with printable characters where latin-1 has control codes); latin-1 when Windows-1252 fails.
DETECTED_ENCODINGS = ("gb18030", "cp1252", "latin-1")
_UTF8 = ("utf-8", "utf-8-sig")
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
#: Formats recognised by their first bytes (after gzip is undone), as the message names them.
_MAGIC = (
    (b"PAR1", "a Parquet file compressed with gzip (Parquet is compressed already: import the "
              ".parquet file itself)"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one: save the sheet as CSV)"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or other Office document (save the sheet as CSV)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "gzip inside gzip (decompress it once)"),
    (b"\x28\xb5\x2f\xfd", "Zstandard-compressed data (decompress it, or compress it with gzip)"),
    (b"\xfd7zXZ\x00", "xz-compressed data (decompress it, or compress it with gzip)"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_STAGING_PREFIX = "o2o-import-"


@dataclass(frozen=True)
class _Text:
    """A CSV source made ready for DuckDB: UTF-8 (the original file when it already was, else a
    transcoded or decompressed copy), its header, delimiter, and blank lines (which DuckDB skips
    but counts in its line numbers)."""
    path: Path
    encoding: str
    header: tuple[str, ...]
    delimiter: str
    blank_rows: tuple[int, ...]


class _Records:
    """Follows CSV records through decoded text as it streams past, at the speed of
    ``str.split``: a ``"`` opens a quoted field only at the start of a field (as DuckDB reads
    it), ``""`` inside one is a quote, newlines inside one belong to the field. Keeps the number
    of the current record (the header is 1), the blank lines, where an open quote began, and
    how rows end (CRLF or LF)."""

    _BLANK_AFTER = re.compile(r"\n(?=\r*\n)")   # a newline followed by an empty line

    def __init__(self, delimiter: str):
        self.openers = {"", delimiter, "\n", "\r", '"'}
        self.row = 1
        self.in_quotes = False
        self.prev = ""           # last character seen; '"' only for a closing quote
        self.line_empty = True   # nothing but '\r' since the last record ended
        self.blank_rows: list[int] = []
        self.quote_row = 0
        self.line_ends = self.crlf_ends = self.cr_ends = 0

    @property
    def needs_line_ends_fixed(self) -> bool:
        """Some rows end in CRLF and others in LF, or some in a lone CR: DuckDB's strict reader
        stops at the first, and rows ending in CR would not be counted here."""
        return 0 < self.crlf_ends < self.line_ends or self.cr_ends > 0

    def feed(self, text: str, normalize: bool = False) -> str:
        """Follow ``text`` and return it — with CRLF and lone CR outside quotes turned into LF
        when ``normalize`` (the caller holds back a CR that ends a piece, so no CRLF is split)."""
        parts = text.split('"')
        for i, part in enumerate(parts):
            if i:  # a quote character between parts[i-1] and parts[i]
                self.line_empty = False
                if self.in_quotes:
                    self.in_quotes, self.prev = False, '"'
                elif self.prev in self.openers:
                    self.in_quotes, self.quote_row = True, self.row
                else:
                    self.prev = "x"   # a stray quote inside an unquoted value is just a character
            if not part:
                continue
            if self.in_quotes:
                self.prev = "x"
            else:
                if normalize and "\r" in part:
                    part = parts[i] = part.replace("\r\n", "\n").replace("\r", "\n")
                self._outside(part)
        return '"'.join(parts) if normalize else text

    def _outside(self, part: str) -> None:
        self.prev = part[-1]
        newlines = part.count("\n")
        if not newlines:
            self.cr_ends += part.count("\r")
            self.line_empty = self.line_empty and not part.strip("\r")
            return
        self.line_ends += newlines
        crlf = part.count("\r\n")
        self.crlf_ends += crlf
        self.cr_ends += part.count("\r") - crlf
        first = part.index("\n")
        if self.line_empty and not part[:first].strip("\r"):
            self.blank_rows.append(self.row)
        seen, at = 0, 0
        for m in self._BLANK_AFTER.finditer(part):
            seen += part.count("\n", at, m.start())
            at = m.start()
            self.blank_rows.append(self.row + seen + 1)
        self.row += newlines
        self.line_empty = not part[part.rindex("\n") + 1:].strip("\r")


class _BadBytes(Exception):
    """The text is not valid in the encoding it is read as."""

    def __init__(self, row: int, offset: int, bad: bytes, sample: bytes, non_ascii: bool):
        super().__init__(row, offset)
        self.row, self.offset, self.bad, self.sample = row, offset, bad, sample
        # text before it already used the encoding beyond ASCII, other than in the bad byte's
        # own run of non-ASCII characters: GBK's 圣 (CA A5) is valid UTF-8 (ʥ) before 保 fails
        self.non_ascii = non_ascii


class _TooLarge(Exception):
    pass


@contextlib.contextmanager
def _open_bytes(path: Path) -> Iterator[tuple[BinaryIO, bool]]:
    """The file's bytes as a stream, decompressed on the fly when it is gzip (told by its first
    bytes, not its name); the flag says whether it was."""
    with open(path, "rb") as fh:
        compressed = fh.read(2) == b"\x1f\x8b"
        fh.seek(0)
        if not compressed:
            yield fh, False
            return
        with gzip.GzipFile(fileobj=fh, mode="rb") as unzipped:
            yield unzipped, True


def _looks_parquet(path: Path) -> bool:
    with contextlib.suppress(OSError), open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"
    return False


def _bom_encoding(head: bytes) -> str | None:
    return next((name for bom, name in _BOMS if head.startswith(bom)), None)


#: The run of non-ASCII characters a text ends in.
_NON_ASCII_TAIL = re.compile(r"[^\x00-\x7f]+\Z")


def _mostly_utf8(sample: bytes) -> bool:
    """Whether ``sample`` reads as UTF-8 with a few damaged bytes (more characters beyond ASCII
    decode than fail), rather than as another encoding that UTF-8 cannot read: GBK's Chinese
    fails almost every character, a damaged UTF-8 file only where it was damaged."""
    text = sample.decode("utf-8", "replace")
    failed = text.count("\ufffd")
    return sum(1 for ch in text if ch > "\x7f") - failed > failed


def _detect_encoding(sample: bytes, tried: Sequence[str]) -> str | None:
    """charset-normalizer's best guess among DETECTED_ENCODINGS not yet tried (None: none fits)."""
    from charset_normalizer import from_bytes

    done = {codecs.lookup(e).name for e in tried}
    candidates = [e for e in DETECTED_ENCODINGS if codecs.lookup(e).name not in done]
    if not candidates:
        return None
    best = from_bytes(sample, cp_isolation=[e.replace("-", "_") for e in candidates]).best()
    return codecs.lookup(best.encoding).name if best is not None else None


def _not_csv(head: bytes, text: str) -> str | None:
    """What the file is when it is clearly not CSV text, in words (None: it may be CSV)."""
    found = next((what for magic, what in _MAGIC if head.startswith(magic)), None)
    if found:
        return found
    if head[8:12] == b"DUCK":
        return "a DuckDB database"
    first = text.lstrip("\ufeff \t\r\n")[:1]
    if first in ("{", "["):
        return f"JSON (the file starts with '{first}') — name it .json or .ndjson to import it as JSON"
    if first == "<":
        return "HTML or XML (the file starts with '<')"
    sample = text[:65536]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\r\n")
    if "\x00" in sample or controls > len(sample) / 100:
        return ("binary data, not text (if it is UTF-16 text without a byte-order mark, name the "
                "encoding in the mapping: encoding = \"utf-16-le\")")
    return None


def _decode_stream(stream: BinaryIO, first: bytes, encoding: str, records: _Records,
                   out: BinaryIO | None, limit: int, normalize: bool = False) -> int:
    """Decode ``first`` then the rest of ``stream`` chunk by chunk (strictly), feeding the text
    to ``records`` and, when ``out`` is given, writing it there as UTF-8 (CRLF outside quotes
    as LF when ``normalize``). Returns the bytes read; raises _TooLarge past ``limit`` bytes and
    _BadBytes at the first invalid byte."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    total, chunk, held, non_ascii = 0, first, "", False
    while True:
        total += len(chunk)
        if total > limit:
            raise _TooLarge()
        final = not chunk
        try:
            text = held + decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            good = exc.object[:exc.start]
            before = held + codecs.decode(good, encoding, "replace")
            records.feed(before)
            offset = total - len(exc.object) + exc.start
            raise _BadBytes(records.row, offset, exc.object[exc.start:exc.end][:8],
                            exc.object[max(0, exc.start - 32768):exc.start + 32768],
                            non_ascii or not _NON_ASCII_TAIL.sub("", before).isascii()) from None
        non_ascii = non_ascii or not text.isascii()
        held = ""
        if not final and text.endswith("\r"):
            text, held = text[:-1], "\r"   # its LF may start the next piece
        text = records.feed(text, normalize)
        if out is not None and text:
            out.write(text.encode("utf-8"))
        if final:
            return total
        chunk = stream.read(CHUNK_BYTES)


def _prepare_csv(src: Source, workdir: Path, limit_bytes: int) -> tuple[_Text | None, list[Problem]]:
    """Check a CSV source's bytes in one streaming pass, and make it readable by DuckDB as
    UTF-8: the decompressed size is capped, the format and encoding are recognised, non-UTF-8
    text is transcoded to a copy in ``workdir``, chunk by chunk."""
    file = str(src.path)
    limit_mib = limit_bytes / 2**20

    def refuse(message: str, kind: str = "unreadable_file", row: int | None = None,
               value: str | None = None) -> tuple[None, list[Problem]]:
        return None, [Problem(file, row, None, value, kind, message)]

    named = src.mapping.encoding
    if named:
        try:
            info = codecs.lookup(named)
        except LookupError:
            return refuse(f"the mapping names the encoding '{named}', which is unknown (e.g. utf-8, "
                          f"utf-16, gbk, gb18030, latin-1)", "bad_mapping", value=named)
        if not getattr(info, "_is_text_encoding", True):
            return refuse(f"'{named}' is not a text encoding", "bad_mapping", value=named)
    encoding, how = (codecs.lookup(named).name, "named in the mapping") if named else (None, "")
    tried: list[str] = []
    normalize = False
    while True:
        try:
            with _open_bytes(src.path) as (stream, compressed):
                head = stream.read(CHUNK_BYTES)
                if not head:
                    return refuse("the file is empty" + (" once decompressed" if compressed else " (0 bytes)")
                                  + ": a CSV file needs at least a header line naming the columns")
                if encoding is None:
                    encoding, how = _bom_encoding(head), "from its byte-order mark"
                if encoding is None:   # UTF-8 until a byte says otherwise (see _BadBytes below)
                    encoding, how = "utf-8", "as the text before it is"
                text = head.decode(encoding, "replace")
                found = _not_csv(head, text)
                if found:
                    return refuse(f"expected a CSV or Parquet file, found {found}")
                delimiter = src.mapping.delimiter or _sniff_delimiter_text(text)
                records = _Records(delimiter)
                copy = compressed or normalize or encoding not in _UTF8
                target = workdir / f"{src.table}.utf8.csv" if copy else src.path
                with (open(target, "wb") if copy else contextlib.nullcontext()) as out:
                    _decode_stream(stream, head, encoding, records, out, limit_bytes, normalize)
        except _TooLarge:
            return refuse(f"the file holds more than the limit of {limit_mib:g} MiB once decompressed "
                          f"(setting O2O_IMPORT_MAX_MB, which counts decompressed bytes; reading "
                          f"stopped there)", "file_too_large", value=f"> {limit_mib:g} MiB")
        except _BadBytes as exc:
            tried.append(encoding)
            # Another encoding is tried only while the text so far was plain ASCII: a UTF-8 or
            # GB18030 file with one damaged byte must not be re-read whole as Windows-1252.
            retry = None
            if how in ("as the text before it is", "detected"):
                if encoding == "cp1252":
                    retry = "latin-1"   # decodes any byte; Windows-1252 leaves five undefined
                elif not exc.non_ascii and not _mostly_utf8(exc.sample):
                    retry = _detect_encoding(exc.sample, tried)
                if retry is not None:
                    encoding, how = retry, "detected"
                    continue
            return refuse(f"the text is not valid {_encoding_name(encoding)} ({how}): byte(s) "
                          f"{exc.bad.hex(' ').upper()} at byte {exc.offset:,} of the file"
                          f"{' once decompressed' if compressed else ''}; name the file's encoding in "
                          f"the mapping (encoding = \"...\")", row=exc.row, value=exc.bad.hex(" ").upper())
        except (gzip.BadGzipFile, EOFError, zlib.error):
            return refuse("the gzip file is damaged or incomplete")
        except OSError as exc:  # unreadable file, or no room for the staging copy
            return refuse(f"reading the file failed: {exc.strerror or exc}")
        if records.needs_line_ends_fixed and not normalize:
            normalize = True   # read it again into a copy whose rows all end in LF
            continue
        break
    if records.in_quotes:
        return refuse("a quoted value that opens in this row is never closed (the file ends inside "
                      "it)", row=records.quote_row)
    if 1 in records.blank_rows:
        return refuse("row 1 is empty: the first line must name the columns", row=1)
    excel_hint = re.match(r"\s*sep=(.)\s*(\r?\n|$)", text.lstrip("\ufeff"))
    if excel_hint:   # Excel's "sep=;" line: a delimiter hint Excel hides, not a header
        return refuse(f"row 1 is 'sep={excel_hint.group(1)}', Excel's hint of the delimiter, not a header: "
                      f"delete that line so that the first line names the columns", row=1,
                      value=f"sep={excel_hint.group(1)}")
    # The header comes from the first chunk: a header line that does not end within it is not
    # one (and reading it whole could mean a gigabyte-long line in memory).
    first_chunk = _Records(delimiter)
    first_chunk.feed(text)
    if first_chunk.row == 1 and len(head) == CHUNK_BYTES:
        return refuse(f"the header (row 1) is longer than {CHUNK_BYTES / 2**20:g} MiB: this is not a "
                      f"table's header line", row=1)
    try:
        header = next(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter,
                                 quotechar='"', doublequote=True), [])
    except csv.Error:
        return refuse("the header (row 1) cannot be read: a name is over 128 KiB long", row=1)
    if not header:
        return refuse("the file has no header line naming the columns", row=1)
    return _Text(target, encoding, tuple(header), delimiter, tuple(records.blank_rows)), []


#: How the importer describes the JSON it reads.
JSON_WORDS = "JSON records: an array of objects, or one object per line (NDJSON)"


def json_reader(con: duckdb.DuckDBPyConnection, path: Path) -> str | tuple[list[str], str, dict[str, Any]]:
    """(the keys of the file's records in order of appearance, a table expression giving one
    text column per key, its parameters) — or, when the file is not JSON records, why, in words.
    Every value is read as text (``json_extract_string``: nested objects and lists as JSON text),
    so a key whose values change type from record to record is still read whole."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError as exc:
        return f"reading the file failed: {exc.strerror or exc}"
    if not head:
        return f"the file is empty (0 bytes): expected {JSON_WORDS}"
    found = next((what for magic, what in _MAGIC if head.startswith(magic)), None)
    if head.startswith(b"\x1f\x8b"):
        found = "gzip-compressed data (decompress it: JSON is read as plain text)"
    if found is None and head[8:12] == b"DUCK":
        found = "a DuckDB database"
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if found is None and text[:1] not in ("{", "["):
        start = text[:40].splitlines()[0] if text[:40].strip() else ""
        found = f"text that starts with '{start}'" + (" (a CSV file? name it .csv)" if "," in start or ";" in start else "")
    if found:
        return f"expected {JSON_WORDS}, found {found}"
    params: dict[str, Any] = {"path": str(path), "format": "array" if text[:1] == "[" else "auto"}
    objects = "read_json_objects($path, format = $format, maximum_object_size = $max_object)"
    params["max_object"] = MAX_ROW_BYTES
    try:
        bad = con.execute(f"SELECT n, left(json::VARCHAR, 60) FROM (SELECT json, row_number() OVER () AS n "
                          f"FROM {objects}) WHERE json_type(json) <> 'OBJECT' ORDER BY n LIMIT 1",
                          params).fetchall()
        if bad:
            return (f"expected {JSON_WORDS}, but record {bad[0][0]} is not an object: {bad[0][1]} "
                    f"(each record must be an object of \"column\": value pairs)")
        keys = [r[0] for r in con.execute(
            f"SELECT k FROM (SELECT unnest(json_keys(json)) AS k, n * 100000 + "
            f"generate_subscripts(json_keys(json), 1) AS pos FROM (SELECT json, row_number() OVER () AS n "
            f"FROM {objects})) GROUP BY k ORDER BY min(pos)", params).fetchall()]
    except duckdb.Error as exc:
        return _json_error(path, exc)
    select = []
    for i, key in enumerate(keys):
        params[f"key_{i}"] = '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
        select.append(f"json_extract_string(json, $key_{i}) AS c{i}")
    reader = f"(SELECT {', '.join(select) or 'NULL AS c0'} FROM {objects})"
    return keys, reader, params


def _json_error(path: Path, exc: BaseException) -> str:
    """DuckDB's complaint about a JSON file, in our words: which record or line, what is wrong."""
    text = str(exc)
    where = re.search(r"at byte (\d+) in (line|record/value) (\d+)(?::\s*([^.\n]*))?", text)
    if where:
        # DuckDB (2.0) numbers the bad record one too high, and counts only non-blank lines.
        record = max(int(where.group(3)) - 1, 1)
        unit, number = "record", record
        if where.group(2) == "line":
            unit, number = "line", _line_of_record(path, record)
        reason = f" ({where.group(4).strip()})" if where.group(4) else ""
        return (f"expected {JSON_WORDS}, but {unit} {number:,} is not valid JSON{reason}, "
                f"at byte {int(where.group(1)):,} of it")
    if "maximum_object_size" in text or "object size" in text.lower():
        return (f"a JSON record is longer than {MAX_ROW_BYTES / 2**20:g} MiB: not a table's record "
                f"(is a closing bracket or quote missing?)")
    return f"expected {JSON_WORDS}, but the file cannot be read as such{_detail(exc)}"


def _line_of_record(path: Path, record: int) -> int:
    """The line of a one-object-per-line file holding its ``record``-th object, counting blank
    lines as an editor does (DuckDB skips them). Read line by line: only on the error path."""
    seen = 0
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip(b" \t\r\n\xef\xbb\xbf"):
                seen += 1
                if seen == record:
                    return number
    return record


def _encoding_name(encoding: str) -> str:
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "utf-32": "UTF-32",
            "gb18030": "GB18030", "gbk": "GBK", "cp1252": "Windows-1252 (latin-1)",
            "latin-1": "latin-1", "iso8859-1": "latin-1"}.get(encoding, encoding)


# --------------------------------------------------------------------------------------------
# Staging and validation
# --------------------------------------------------------------------------------------------


@dataclass
class _StageInfo:
    present: tuple[str, ...]          # contract columns the file has
    rows: int = 0
    ignored: tuple[str, ...] = ()
    encoding: str = ""                # what a CSV was read as ("" for Parquet)
    file: str = ""                    # what messages name as the rows' file
    kept_as_text: tuple[tuple[str, str, int], ...] = ()   # (column, value, rows): see _kept_as_text


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
    windows = date_bounds()
    sweep_staging()
    # Named with our pid, so that the next run can tell a killed import's leftovers from a live one.
    with tempfile.TemporaryDirectory(prefix=f"{_STAGING_PREFIX}{os.getpid()}-") as tmp, \
            _staging_lock(Path(tmp)):
        stage_path = Path(tmp) / "stage.duckdb"
        infos: dict[str, _StageInfo] = {}
        if problems:
            yield stage_path, problems, counts, infos
            return
        con = duckdb.connect(str(stage_path))
        sandbox = None
        try:
            if any(s.is_sql for s in sources):
                from o2o_ops.mapping_sql import Sandbox   # imports this module: loaded on use
                sandbox = Sandbox(Path(tmp), [s for s in sources if s.is_sql])
                found = sandbox.load(_scaled(report, 0.0, 0.1))
                add(found)
                if found:
                    yield stage_path, problems, counts, infos
                    return
            # Progress is reported through `progress` (query_progress needs the bar on), never
            # drawn by DuckDB on the terminal under the CLI's own bar.
            con.execute("SET enable_progress_bar_print = false")
            if wh.exists():
                con.execute("ATTACH $path AS wh (READ_ONLY)", {"path": str(wh)})
            sizes = [max(sum(p.stat().st_size for _, p in s.inputs) if s.is_sql else s.path.stat().st_size, 1)
                     for s in sources]
            done = 0
            for src, size in zip(sources, sizes):
                lo, hi = done / sum(sizes), (done + size) / sum(sizes)
                done += size
                info, found, exact = _stage_one(con, src, Path(tmp), _scaled(report, lo * 0.8, hi * 0.8),
                                                sandbox)
                problems.extend(found)
                for kind, n in exact.items():
                    counts[kind] = counts.get(kind, 0) + n
                if info is not None:
                    infos[src.table] = info
            report(0.8, "checking values and keys")
            # A table whose file could not be read, or lacks a required column, has no rows to
            # check against: its own problem refuses the batch, and its children's references to
            # it are not checked (every one would read "not in stores", a false second problem).
            broken = {src.table for src in sources if src.table not in infos or any(
                p.file == src.label and p.kind in ("missing_column", "duplicate_column", "bad_mapping")
                for p in problems)}
            for src in sources:
                if src.table not in broken:
                    for found, total, kind in _check_table(con, src, infos[src.table], windows=windows,
                                                           staged=set(infos) - broken, broken=broken,
                                                           has_wh=wh.exists()):
                        add(found, total, kind)
            con.execute("CHECKPOINT")
        finally:
            if sandbox is not None:
                sandbox.close()
            con.close()
        report(1.0, "checked")
        yield stage_path, problems, counts, infos


def _size_problems(sources: Sequence[Source]) -> list[Problem]:
    limit_mb = config.get_float("O2O_IMPORT_MAX_MB")
    out = []
    files = [s for s in sources if not s.is_sql]
    seen = set()
    for s in sources:   # staging SQL: the batch's files it reads, each once
        for spec, path in s.inputs:
            if path not in seen:
                seen.add(path)
                files.append(Source(s.table, path))
    for s in files:
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


def sweep_staging(folder: str | os.PathLike | None = None) -> list[Path]:
    """Remove the staging folders (``o2o-import-<pid>-*`` in the temp folder) of imports whose
    process is gone — killed or crashed before they could clean up — and return them. Folders of
    live processes (this one included: the app runs imports in threads) or whose lock is still
    held, of other users, and anything not named like ours are left alone."""
    folder = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    try:
        candidates = sorted(folder.glob(f"{_STAGING_PREFIX}*"))
    except OSError:
        return []
    removed = []
    for path in candidates:
        named = re.fullmatch(rf"{_STAGING_PREFIX}(\d+)-[A-Za-z0-9_]+", path.name)
        if not named or _process_alive(int(named.group(1))) or _staging_locked(path):
            continue
        try:
            st = path.lstat()
            if not path.is_dir() or path.is_symlink() or st.st_uid != os.getuid():
                continue
            shutil.rmtree(path)
        except OSError:
            continue   # another run is sweeping it, or it is not ours to remove
        removed.append(path)
    return removed


@contextlib.contextmanager
def _staging_lock(folder: Path) -> Iterator[None]:
    """Hold a lock on ``folder/.lock`` while staging. The kernel drops it when the process dies,
    so the sweep can tell a live import from a dead one even where the pid says nothing (a
    process in another pid namespace sharing the temp folder)."""
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield


def _staging_locked(folder: Path) -> bool:
    try:
        with open(folder / ".lock") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:      # no lock file: killed before taking it; the pid decides
        return False
    return False


def _process_alive(pid: int) -> bool:
    if pid <= 0 or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:    # e.g. PermissionError: it exists, as another user
        return True
    return True


def _today() -> dt.date:
    """Today's local date (a function of its own so tests can pin it)."""
    return dt.date.today()


def date_bounds(today: dt.date | None = None) -> dict[str, tuple[dt.date, dt.date]]:
    """The (earliest, latest) date per window of :data:`DATE_WINDOWS`, from the settings
    O2O_EARLIEST_DATE and O2O_MAX_YEARS_AHEAD; ImportRejected if a setting is unusable."""
    today = today or _today()
    try:
        earliest = dt.date.fromisoformat(config.get("O2O_EARLIEST_DATE").strip())
        years = int(config.get("O2O_MAX_YEARS_AHEAD").strip())
        if years < 0:
            raise ValueError("negative")
    except ValueError:
        problem = Problem("settings", None, None, f"O2O_EARLIEST_DATE={config.get('O2O_EARLIEST_DATE')}, "
                                                  f"O2O_MAX_YEARS_AHEAD={config.get('O2O_MAX_YEARS_AHEAD')}",
                          "bad_setting", "O2O_EARLIEST_DATE must be a date like 2000-01-01 and "
                                         "O2O_MAX_YEARS_AHEAD a whole number of years, 0 or more")
        raise ImportRejected([problem], {"bad_setting": 1}) from None
    try:
        ahead = today.replace(year=today.year + years)
    except ValueError:  # 29 February
        ahead = today.replace(year=today.year + years, day=28)
    tomorrow = today + dt.timedelta(days=1)
    return {"event": (earliest, tomorrow), "plan": (earliest, ahead),
            "history": (min(HISTORY_START, earliest), ahead)}


def sniff_delimiter(path: Path, encoding: str | None = None) -> str:
    """The delimiter of a CSV file, from its header line (see :func:`_sniff_delimiter_text`)."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    return _sniff_delimiter_text(head.decode(encoding or "utf-8-sig", errors="replace"))


def _sniff_delimiter_text(text: str) -> str:
    """The most frequent of , ; tab | outside quotes in the first line of ``text`` (comma when
    none appears)."""
    text = text.lstrip("\ufeff")
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
    """The table function the Data page's preview reads ``src`` with (DuckDB's sniffer, first
    rows only; SQL text is fixed, path and options are bound). A CSV that is not plain UTF-8
    (GBK, latin-1, UTF-16, gzipped) is previewed from a UTF-8 copy of its first rows
    (:func:`_preview_sample`). The import itself reads through :func:`_prepare_csv`."""
    if src.is_parquet:
        return "read_parquet($path)", {"path": str(src.path)}
    path, text = _preview_sample(src)
    delim = src.mapping.delimiter or _sniff_delimiter_text(text)
    params: dict[str, Any] = {"path": str(path), "delim": delim}
    return ("read_csv($path, delim = $delim, header = true, all_varchar = true, quote = '\"', "
            "escape = '\"')"), params


#: Preview samples kept per process (each at most CHUNK_BYTES), oldest removed first.
_PREVIEW_SAMPLES_KEPT = 32


def _preview_sample(src: Source) -> tuple[Path, str]:
    """The file to preview ``src`` from, and the text of its first chunk: the file itself when it
    is plain UTF-8, else a UTF-8 copy of its first complete rows in ``o2o-import-<pid>-preview``
    in the temp folder (kept for the life of the process, then swept like staging)."""
    try:
        with _open_bytes(src.path) as (stream, compressed):
            head = stream.read(CHUNK_BYTES)
            whole = not stream.read(1)
    except (OSError, EOFError, zlib.error):
        return src.path, ""        # DuckDB will say it cannot read it
    encoding = src.mapping.encoding or _bom_encoding(head)
    if encoding is None:
        try:
            codecs.getincrementaldecoder("utf-8")("strict").decode(head, whole)
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = _detect_encoding(head, ["utf-8"]) or "latin-1"
    try:
        text = head.decode(encoding, "replace")
    except LookupError:
        return src.path, ""
    if not compressed and codecs.lookup(encoding).name in _UTF8:
        return src.path, text
    if not whole:  # end the sample after the last row that is complete (no quote left open)
        end = text.rfind("\n")
        while end > 0 and text.count('"', 0, end) % 2:
            end = text.rfind("\n", 0, end)
        text = text[:end + 1] if end > 0 else text
    folder = Path(tempfile.gettempdir()) / f"{_STAGING_PREFIX}{os.getpid()}-preview"
    folder.mkdir(mode=0o700, exist_ok=True)
    st = src.path.stat()
    key = hashlib.sha256(f"{src.path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{encoding}".encode()).hexdigest()
    sample = folder / f"{key[:24]}.csv"
    if not sample.exists():
        sample.write_text(text.lstrip("\ufeff"), encoding="utf-8", newline="")
        kept = sorted(folder.glob("*.csv"), key=lambda p: p.stat().st_mtime_ns)
        for old in kept[:-_PREVIEW_SAMPLES_KEPT]:
            old.unlink(missing_ok=True)
    return sample, text


def _stage_one(con: duckdb.DuckDBPyConnection, src: Source, workdir: Path,
               report: Progress, sandbox: Any = None) -> tuple[_StageInfo | None, list[Problem], dict[str, int]]:
    """Read one file — or the result of the mapping's staging SQL, run in ``sandbox`` (a
    :class:`o2o_ops.mapping_sql.Sandbox`) — into ``stage_<table>``: ``_row``, then per present
    contract column its typed value and its raw text (``<col>__raw``, trimmed, null markers and
    empty -> NULL, values recoded, defaults and constants applied). Returns what was staged
    (None: nothing usable), a sample of the problems and their exact counts by kind."""
    table = CONTRACT[src.table]
    file = src.label
    limit = _limit_bytes()
    report(0.0, f"reading {src.path.name}")

    def unreadable(message: str) -> tuple[None, list[Problem], dict[str, int]]:
        found = [Problem(file, None, None, None, "unreadable_file", message)]
        return None, found, _count(found)

    text: _Text | None = None
    result = None          # staging SQL: the sandbox's answer
    if src.is_sql:
        if sandbox is None:
            return unreadable("staging SQL needs the batch's sources")
        result, found = sandbox.run(src)
        if result is None:
            return None, found, _count(found)
        header = list(result.columns)
        reader, params = "", {}
    elif src.is_parquet:
        reader, params = "read_parquet($path)", {"path": file}
        try:
            header = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", params).fetchall()]
            unpacked = int(con.execute("SELECT coalesce(sum(total_uncompressed_size), 0) "
                                       "FROM parquet_metadata($path)", params).fetchone()[0])
        except duckdb.Error as exc:
            return unreadable("expected a Parquet file, but it cannot be read as one: it is damaged, "
                              "incomplete or another format")
        if unpacked > limit:
            found = [Problem(file, None, None, f"{unpacked / 2**20:,.1f} MiB", "file_too_large",
                             f"its data is {unpacked / 2**20:,.1f} MiB once decompressed, more than the "
                             f"limit of {limit / 2**20:g} MiB (setting O2O_IMPORT_MAX_MB)")]
            return None, found, _count(found)
    elif src.is_json:
        opened = json_reader(con, src.path)
        if isinstance(opened, str):
            return unreadable(opened)
        header, reader, params = opened
    else:
        text, found = _prepare_csv(src, workdir, limit)
        if text is None:
            return None, found, _count(found)
        header = list(text.header)
        reader, params = _csv_reader(text, src.table)
    if not header:
        return unreadable("the file has no columns")

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
        if result is not None and clean == "_row":
            continue       # the source row a result row comes from (see mapping_sql)
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
            if clean:   # a spreadsheet's trailing unnamed columns (",,"): nothing to name
                ignored.append(clean)
        elif target in positions:
            problems.append(Problem(file, None, target, clean, "duplicate_column",
                                    f"two columns of the file map to '{target}' "
                                    f"('{header[positions[target]].strip()}' and '{clean}')"))
        else:
            positions[target] = i
    filled = set(src.mapping.defaults) | set(src.mapping.constants)
    for col in table.columns:
        if col.required and col.name not in positions and col.name not in filled:
            what = "the SQL's result" if result is not None else "the file"
            problems.append(Problem(file, 1 if not (src.is_parquet or src.is_json or result is not None) else None,
                                    col.name, None, "missing_column",
                                    f"required column '{col.name}' is missing ({what} has: "
                                    f"{', '.join(h.strip() for h in header if h != '_row')})"))
    if any(p.kind in ("missing_column", "duplicate_column", "bad_mapping") for p in problems):
        if result is not None:
            result.close()
        return _StageInfo(tuple(positions)), problems, _count(problems)

    # Raw text in file order (CREATE TABLE AS keeps insertion order, so rowid = file order).
    raw_t, stage_t = ident(f"raw_{table.name}"), ident(f"stage_{table.name}")
    fmt_params: dict[str, Any] = {"offset": 1 if (src.is_parquet or src.is_json) else 2}
    row_sql = "r.rowid + $offset"
    if result is not None:
        try:
            result.into(con, raw_t, {c: header[i] for c, i in positions.items()})
        except result.Failed as exc:
            return None, exc.problems, _count(exc.problems)
        if result.row_file is not None:   # rows traced back to one source file
            file, row_sql = result.row_file, f"r.{ident('_row')}"
            del fmt_params["offset"]
        else:
            fmt_params["offset"] = 1
    else:
        select = ", ".join(f"{'CAST(' if src.is_parquet else ''}#{i + 1}"
                           f"{' AS VARCHAR)' if src.is_parquet else ''} AS {ident(c + '__raw')}"
                           for c, i in positions.items()) or "NULL AS x"
        try:
            _execute_with_progress(con, f"CREATE OR REPLACE TABLE {raw_t} AS SELECT {select} FROM {reader}",
                                   params, lambda f: report(0.8 * f, f"reading {src.path.name}"))
        except duckdb.Error as exc:
            if src.is_json:
                return unreadable(_json_error(src.path, exc))
            return unreadable(f"the file cannot be read{_detail(exc)}")
    if text is not None:
        found, total = _rejected_rows(con, src.table, file, text)
        if found:
            con.execute(f"DROP TABLE {raw_t}")
            return None, found, {"unreadable_file": total}
    report(0.8, f"typing {src.path.name}")
    if text is not None and text.blank_rows:
        # DuckDB skips blank lines; a spreadsheet counts them. Blank line j (0-based) comes after
        # (its row - 2 - j) data rows: every data row from there on is one row further down.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ident('blank_shift')} AS SELECT unnest($d) AS d",
                    {"d": [b - 2 - j for j, b in enumerate(text.blank_rows)]})
        row_sql += f" + (SELECT count(*) FROM {ident('blank_shift')} b WHERE b.d <= r.rowid)"
    typed = []
    present = []
    for n, col in enumerate(table.columns):
        given = col.name in positions
        if given or col.name in filled:
            raw_col = f"r.{ident(col.name + '__raw')}" if given else "CAST(NULL AS VARCHAR)"
            raw_ref = _raw_sql(col, n, raw_col, src.mapping, fmt_params)
            typed.append(f"{raw_ref} AS {ident(col.name + '__raw')}")
            typed.append(f"{_typed_sql(col, raw_ref, src.mapping, fmt_params)} AS {ident(col.name)}")
            present.append(col.name)
        else:
            typed.append(f"CAST(NULL AS VARCHAR) AS {ident(col.name + '__raw')}")
            typed.append(f"CAST(NULL AS {col.type}) AS {ident(col.name)}")
    con.execute(f"CREATE OR REPLACE TABLE {stage_t} AS SELECT {row_sql} AS {ident('_row')}, "
                f"{', '.join(typed)} FROM {raw_t} r", fmt_params)
    con.execute(f"DROP TABLE {raw_t}")
    rows = int(con.execute(f"SELECT count(*) FROM {stage_t}").fetchone()[0])
    report(1.0, f"read {rows:,} rows from {src.path.name}")
    info = _StageInfo(tuple(present), rows, tuple(ignored),
                      _encoding_name(text.encoding) if text is not None else "", file,
                      _kept_as_text(con, stage_t, table, present))
    return info, problems, _count(problems)


def _kept_as_text(con: duckdb.DuckDBPyConnection, stage_t: str, table: TableContract,
                  present: Sequence[str]) -> tuple[tuple[str, str, int], ...]:
    """(column, value, rows) of the optional text columns' values that read as an empty value
    written as text ("null", "NA"), most frequent first. They are kept as written (a region may be
    called NA), and the import's result names them, so that a user who meant "empty" lists them in
    the mapping's null_values. (A column whose presence is counted refuses them instead.)"""
    columns = [c.name for c in table.columns if c.name in present and c.type == "VARCHAR"
               and not c.required and c.present_means is None]
    if not columns:
        return ()
    parts = " UNION ALL ".join(
        f"SELECT $c{i} AS column_name, {ident(c + '__raw')} AS value FROM {stage_t} "
        f"WHERE list_contains($null_words, lower({ident(c + '__raw')}))" for i, c in enumerate(columns))
    found = con.execute(f"SELECT column_name, value, count(*) AS n FROM ({parts}) GROUP BY ALL "
                        f"ORDER BY n DESC, column_name, value",
                        {"null_words": list(NULL_WORDS)} | {f"c{i}": c for i, c in enumerate(columns)}).fetchall()
    return tuple((c, v, int(n)) for c, v, n in found)


def _raw_sql(col: Column, n: int, raw_col: str, mapping: Mapping, params: dict[str, Any]) -> str:
    """SQL for a column's text as the checks see it: trimmed; empty or a null marker -> NULL;
    recoded by the mapping's value map; a constant or default applied. Values are bound
    parameters (``n`` is the column's position, keeping their names apart)."""
    ref = f"NULLIF(trim({raw_col}), '')"
    if mapping.null_values:
        params["null_values"] = [v.strip() for v in mapping.null_values]
        ref = f"CASE WHEN list_contains($null_values, {ref}) THEN NULL ELSE {ref} END"
    recode = mapping.values.get(col.name)
    if recode:
        params[f"from_{n}"], params[f"to_{n}"] = list(recode), list(recode.values())
        ref = (f"CASE WHEN list_contains($from_{n}, {ref}) "
               f"THEN NULLIF(trim($to_{n}[list_position($from_{n}, {ref})]), '') ELSE {ref} END")
    if col.name in mapping.constants:
        params[f"const_{n}"] = mapping.constants[col.name]
        ref = f"CAST($const_{n} AS VARCHAR)"
    elif col.name in mapping.defaults:
        params[f"default_{n}"] = mapping.defaults[col.name]
        ref = f"coalesce({ref}, CAST($default_{n} AS VARCHAR))"
    return ref


def _csv_reader(text: _Text, table: str) -> tuple[str, dict[str, Any]]:
    """DuckDB's reader for a prepared CSV: no sniffing (the dialect and header are ours, so a
    broken row cannot derail detection), every column text, rows that do not fit kept aside in
    ``rejects_<table>`` with their line number, instead of an error in DuckDB's words."""
    params = {"path": str(text.path), "delim": text.delimiter, "max_line_size": MAX_ROW_BYTES,
              "columns": {f"c{i}": "VARCHAR" for i in range(len(text.header))},
              "rejects_table": f"rejects_{table}", "rejects_scan": f"rejects_scan_{table}"}
    return ("read_csv($path, header = true, auto_detect = false, columns = $columns, delim = $delim, "
            "quote = '\"', escape = '\"', compression = 'none', max_line_size = $max_line_size, "
            "store_rejects = true, rejects_table = $rejects_table, rejects_scan = $rejects_scan)"), params


def _rejected_rows(con: duckdb.DuckDBPyConnection, table: str, file: str,
                   text: _Text, rejects: str | None = None) -> tuple[list[Problem], int]:
    """The rows DuckDB could not fit to the header, in our words (a sample and the exact count).
    ``rejects``: the quoted name of the rejects table when it is not ``rejects_<table>``."""
    rejects = rejects or ident(f"rejects_{table}")
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = $t",
                         {"t": f"rejects_{table}"}).fetchone()[0]
    if not exists:
        return [], 0
    # DuckDB reports a row missing three fields three times: one problem per row and kind.
    found = con.execute(f"SELECT line, arg_min(column_name, coalesce(column_idx, 0)), error_type, "
                        f"arg_min(error_message, coalesce(column_idx, 0)), count(*) OVER () FROM {rejects} "
                        f"GROUP BY line, error_type ORDER BY line LIMIT {SAMPLE_PER_CHECK}").fetchall()
    names = {f"c{i}": h.strip() for i, h in enumerate(text.header)}
    width, delim = len(text.header), _delimiter_word(text.delimiter)
    out = []
    for line, column, error, detail, _ in found:
        detail = detail or ""
        number = re.search(r"(?:Found|Actual Size):\s*(\d+)", detail)
        n = int(number.group(1)) if number else None
        value = None
        if error == "MISSING COLUMNS":
            message = (f"the row has {n if n is not None else 'fewer'} field(s) but the header has "
                       f"{width}: a value or a delimiter ({delim}) is missing"
                       + (f"; the row ends before column {names[column]}" if column in names else ""))
        elif error == "TOO MANY COLUMNS":
            column = None
            message = (f"the row has {n if n is not None else 'more'} fields but the header has "
                       f"{width}: is a value holding the delimiter ({delim}) not in quotes?")
        elif error == "UNQUOTED VALUE":
            message = ("a quoted value in this row is not closed where it should be (a quote "
                       "inside a quoted value is written \"\")")
        elif error == "LINE SIZE OVER MAXIMUM":
            column = None
            size = f"{n / 2**20:,.1f} MiB" if n else "too"
            value = size if n else None
            message = (f"the row is {size} long, more than the {MAX_ROW_BYTES / 2**20:g} MiB a row may "
                       f"have: a field this long is not table data (is a closing quote missing?)")
        elif error == "INVALID ENCODING":
            message = "the row is not valid UTF-8 text"
        else:
            message = f"the row cannot be read ({str(error).lower()})"
        out.append(Problem(file, int(line), names.get(column), value, "unreadable_file", message))
    return out, (int(found[0][4]) if found else 0)


def _delimiter_word(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}.get(delimiter, repr(delimiter))


def _detail(exc: BaseException) -> str:
    """The first line of an unforeseen error, as a hint after our own words."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f" ({first[:160]})"


def _limit_bytes() -> int:
    return int(config.get_float("O2O_IMPORT_MAX_MB") * 2**20)


def _typed_sql(col: Column, raw: str, mapping: Mapping, params: dict[str, Any]) -> str:
    """SQL turning trimmed text ``raw`` into ``col.type``; NULL when it does not convert."""
    if col.type == "VARCHAR":
        return raw
    if col.name == "discount_rate":
        return _discount_sql(raw, mapping)
    if col.type == "DOUBLE":  # NaN and ±infinity parse as numbers but are not values
        return f"CASE WHEN isfinite(TRY_CAST({raw} AS DOUBLE)) THEN TRY_CAST({raw} AS DOUBLE) END"
    if col.type == "INTEGER":  # TRY_CAST('4.5' AS INTEGER) rounds; insist on a whole number
        return (f"CASE WHEN TRY_CAST({raw} AS DOUBLE) = round(TRY_CAST({raw} AS DOUBLE)) "
                f"THEN TRY_CAST(TRY_CAST({raw} AS DOUBLE) AS INTEGER) END")
    if col.type == "TIME":  # a clock time; date formats do not apply (20160712 is no time)
        return f"TRY_CAST({raw} AS TIME)"
    if col.type == "BOOLEAN":
        return (f"CASE WHEN lower({raw}) IN ('true', 't', 'yes', 'y', '1') THEN true "
                f"WHEN lower({raw}) IN ('false', 'f', 'no', 'n', '0') THEN false END")
    tries = []
    if col.type == "TIMESTAMP" and mapping.timestamp_format:
        params["timestamp_format"] = mapping.timestamp_format
        tries.append(f"try_strptime({raw}, $timestamp_format)")
    if mapping.date_format:
        params["date_format"] = mapping.date_format
        if "." not in mapping.date_format:   # 20160528.0: yyyymmdd as pandas re-saves a float column
            tries.append(f"CAST(try_strptime(regexp_extract({raw}, '{_DATE_AS_FLOAT}', 1), $date_format) "
                         f"AS {col.type})")
        tries.append(f"CAST(try_strptime({raw}, $date_format) AS {col.type})")
    tries.append(f"TRY_CAST({raw} AS {col.type})")
    return f"CAST(coalesce({', '.join(tries)}) AS {col.type})"


#: "x:y" as a coupon platform writes a discount: spend x, get y off (both numbers, x > 0).
X_Y_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*:\s*[0-9]+(\.[0-9]+)?\s*$"
#: A number a spreadsheet turned into a clock time or duration (500:50 -> 500:50:00).
CLOCK_PATTERN = re.compile(r"\s*\d{1,6}:\d{2}:\d{2}(\.\d+)?\s*")
#: A share written as a percent, with its sign ("20%", "12.5 %").
PERCENT_PATTERN = r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"
#: A whole number as pandas writes a float column (20160528.0); group 1 is the number.
_DATE_AS_FLOAT = r"^\s*([0-9]+)\.0+\s*$"
#: Numbers as spreadsheets format them for reading, not for export.
_THOUSANDS = re.compile(r"\s*[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?\s*")
_DECIMAL_COMMA = re.compile(r"\s*[-+]?[0-9]{1,3}(\.[0-9]{3})*,[0-9]+\s*")
_CURRENCY = re.compile(r"\s*[-+]?\s*[¥￥$€£R]\$?\s*[0-9][0-9,.]*\s*|\s*[-+]?[0-9][0-9,.]*\s*(元|€|RMB|CNY|USD|BRL)\s*")
_SPREADSHEET_DATE = re.compile(r"\s*([0-9]{1,2})[/.]([0-9]{1,2})[/.]([0-9]{4})(\s+[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?)?\s*")
#: Texts an export writes for an empty value (compared lower-cased, after trimming). Only the
#: words: a typed column holding one is said to be empty rather than "not a number"; it is still
#: refused (a required value is missing; an optional one becomes empty only through the mapping's
#: ``null_values``, so nothing is read as empty behind the user's back).
NULL_WORDS = ("null", "none", "na", "n/a", "nil")
_NULL_WORD_HINT = (" — it looks like an empty value written as text; to import it as empty, list it in the "
                   "mapping's null_values")


def _discount_sql(raw: str, mapping: Mapping) -> str:
    """``discount_rate`` as the contract means it (the share taken off, 0-1) from the mapping's
    way of writing it: a share paid is turned round, a percent divided by 100 (a value written
    with its percent sign, "20%", always is), and "x:y" (spend x, get y off) becomes y / x when
    the mapping says so (else it stays unconverted: refused)."""
    number = f"CASE WHEN isfinite(TRY_CAST({raw} AS DOUBLE)) THEN TRY_CAST({raw} AS DOUBLE) END"
    if mapping.discount_rate_scale == "percent":
        number = f"({number}) / CAST(100 AS DOUBLE)"
    number = (f"CASE WHEN regexp_full_match({raw}, '{PERCENT_PATTERN}') "
              f"THEN TRY_CAST(trim(rtrim(trim({raw}), '%')) AS DOUBLE) / CAST(100 AS DOUBLE) ELSE {number} END")
    if mapping.discount_rate_means == "share_paid":
        number = f"CAST(1 AS DOUBLE) - ({number})"
    if mapping.discount_rate_x_y != "spend_off":
        return number
    spend = f"TRY_CAST(trim(split_part({raw}, ':', 1)) AS DOUBLE)"
    off = f"TRY_CAST(trim(split_part({raw}, ':', 2)) AS DOUBLE)"
    return (f"CASE WHEN regexp_full_match({raw}, '{X_Y_PATTERN}') "
            f"THEN CASE WHEN {spend} > 0 THEN {off} / {spend} END ELSE {number} END")


def _number_hint(column: str, value: str, mapping: Mapping) -> str:
    """Why a value is not a number, when we can tell: an empty value written as text, a
    spreadsheet's clock time, or "x:y"."""
    if (value or "").strip().lower() in (*NULL_WORDS, "nan"):   # NaN: how pandas writes "nothing"
        return _NULL_WORD_HINT
    if CLOCK_PATTERN.fullmatch(value or ""):
        return (" — it looks like a number a spreadsheet turned into a clock time (\"500:50\" "
                "becomes 500:50:00); format the column as text in the spreadsheet and export again")
    if re.fullmatch(X_Y_PATTERN, value or ""):
        if column == "discount_rate":
            return (" — it is written x:y (spend x, get y off); to convert it to the share taken off "
                    "(y / x), set discount_rate_x_y = \"spend_off\" in the mapping")
        return " — it is written x:y, not as one number"
    if re.fullmatch(PERCENT_PATTERN, value or ""):
        return " — it is written as a percent, not as one number"
    if _THOUSANDS.fullmatch(value or ""):
        return (" — it looks like a number written with thousands separators (1,234.50); export the "
                "column as plain numbers, without separators")
    if _DECIMAL_COMMA.fullmatch(value or ""):
        return (" — it looks like a number written with a decimal comma (12,5 for 12.5); export the "
                "column with a decimal point")
    if _CURRENCY.fullmatch(value or ""):
        return " — it carries a currency sign; export the column as plain numbers, without the sign"
    return ""


def _date_hint(value: str, mapping: Mapping) -> str:
    """Why a value is not a date, when we can tell: a yyyymmdd number, or a spreadsheet's
    day/month/year whose order the mapping must name (2/3/2024 reads either way)."""
    value = value or ""
    if re.fullmatch(r"\s*(19|20)[0-9]{6}(\.0+)?\s*", value) and not mapping.date_format:
        return " — it looks like a date written yyyymmdd; set date_format = \"%Y%m%d\" in the mapping"
    found = _SPREADSHEET_DATE.fullmatch(value)
    if found is None or mapping.date_format or mapping.timestamp_format:
        return ""
    first, second = int(found.group(1)), int(found.group(2))
    if first > 12 >= second:
        return (" — a spreadsheet's date, day first; set date_format = \"%d/%m/%Y\" in the mapping "
                "(and timestamp_format = \"%d/%m/%Y %H:%M\" for date-times)")
    if second > 12 >= first:
        return (" — a spreadsheet's date, month first; set date_format = \"%m/%d/%Y\" in the mapping "
                "(and timestamp_format = \"%m/%d/%Y %H:%M\" for date-times)")
    return (" — a spreadsheet's date, day first or month first; name its order in the mapping: "
            "date_format = \"%d/%m/%Y\" or \"%m/%d/%Y\" (and timestamp_format for date-times)")


def _check_table(con: duckdb.DuckDBPyConnection, src: Source, info: _StageInfo, *,
                 windows: MappingT[str, tuple[dt.date, dt.date]], staged: set[str],
                 has_wh: bool, broken: set[str] = frozenset()) -> Iterator[tuple[list[Problem], int, str]]:
    """Run every check on ``stage_<table>``; yields (sample, exact count, kind) per check.
    ``staged``: the batch's tables with rows to check against; ``broken``: the batch's tables
    that could not be read (references to them are not checked)."""
    table = CONTRACT[src.table]
    stage_t = ident(f"stage_{table.name}")
    file = info.file or src.label
    row = ident("_row")
    subsets: dict[tuple[str, str, str], str] = {}
    parent_tables = {fk.parent for fk in table.foreign_keys} | {ch.parent for ch in table.chronology}

    def warehouse_rows(source: str, key: str, stage_key: str) -> str:
        # once per (table, key): a child's reference check and its chronology check both read
        # the parent orders of the batch's order ids. Both look in the batch first, so of a
        # parent table only the keys the batch does not hold are read from the warehouse (a
        # child table's rows are read for every key: the batch may replace only some of them)
        if (source, key, stage_key) not in subsets:
            subsets[source, key, stage_key] = _warehouse_rows(
                con, source, key, stage_t, stage_key,
                staged_parent=ident("stage_" + source) if source in parent_tables and source in staged else None)
        return subsets[source, key, stage_key]

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
        required = col.required or col.name in not_null
        # a typed column's "NULL" / "n/a": an empty value written as text, said so (with the text)
        null_word = (f"({c} IS NULL AND list_contains($null_words, lower({raw})))"
                     if col.type != "VARCHAR" else "FALSE")
        if required:
            yield check("missing_value", col.name, f"{raw} IS NULL OR {null_word}", raw,
                        lambda v, _, n=col.name: f"{n} is required but empty"
                        + (f": '{v}' is an empty value written as text" if v is not None else ""),
                        {"null_words": list(NULL_WORDS)} if col.type != "VARCHAR" else None)
        if col.type != "VARCHAR":
            typed_wrong = f"{raw} IS NOT NULL AND {c} IS NULL" + (f" AND NOT {null_word}" if required else "")
            words = {"null_words": list(NULL_WORDS)} if required else None
            kind = "bad_date" if col.type in ("DATE", "TIMESTAMP") else "wrong_type"
            expect = _TYPE_WORDS[col.type]
            if kind == "bad_date":
                fmt = src.mapping.timestamp_format if col.type == "TIMESTAMP" else None
                fmt = fmt or src.mapping.date_format
                expect += f" (ISO 8601 like 2016-07-12{' or ' + fmt if fmt else ''})"
            if col.type == "DOUBLE":  # parses, yet is not finite: NaN, inf, -Infinity, ...
                yield check(kind, col.name, typed_wrong, raw,
                            lambda v, non_finite, n=col.name: f"{n}: '{v}' is not "
                            + ("a finite number (NaN and infinity are refused)" if non_finite else "a number")
                            + _number_hint(n, v, src.mapping),
                            words, extra_sql=f"TRY_CAST({raw} AS DOUBLE) IS NOT NULL")
            else:
                yield check(kind, col.name, typed_wrong, raw,
                            lambda v, _, e=expect, n=col.name, k=kind: f"{n}: '{v}' is not {e}"
                            + (_number_hint(n, v, src.mapping) if k == "wrong_type" else
                               _date_hint(v, src.mapping) if k == "bad_date" else ""), words)
        if col.present_means is not None:   # "none" or "-" here would be counted as a complaint
            yield check("not_allowed", col.name, f"list_contains($null_words, lower(trim({raw}))) "
                        f"OR NOT regexp_matches({raw}, '[\\p{{L}}\\p{{N}}]')", raw,
                        lambda v, _, n=col.name, what=col.present_means: f"{n}: '{v}' would count as a {what}"
                        + _NULL_WORD_HINT, {"null_words": list(NULL_WORDS)})
        if col.window is not None:
            yield _window_check(check, col, windows[col.window])
        if col.type == "VARCHAR":  # Parquet has no row size limit; a CSV field can be long too
            yield check("out_of_range", col.name, f"length({raw}) > $max_chars",
                        f"left({raw}, 40) || '…'",
                        lambda v, n_chars, n=col.name: f"{n} is {n_chars:,} characters long; a text "
                                                       f"value may have at most {MAX_TEXT_CHARS:,}",
                        {"max_chars": MAX_TEXT_CHARS}, extra_sql=f"length({raw})")
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
                    lambda v, _, m=rc.message: m, {"share_kpis": list(SHARE_KPIS)} if "$share_kpis" in rc.condition_sql else None)

    # A scope naming a store or a region: in the stores of the warehouse or of this batch.
    for sr in table.scope_references:
        if sr.column not in info.present or sr.kind_column not in info.present or "stores" in broken:
            continue
        c, k = ident(sr.column), ident(sr.kind_column)
        for kind, parent_column in sr.kinds:
            pc = ident(parent_column)
            lookups = []
            if has_wh:
                lookups.append(f"NOT EXISTS (SELECT 1 FROM wh.{ident('stores')} p WHERE p.{pc} = s.{c})")
            if "stores" in staged:
                lookups.append(f"NOT EXISTS (SELECT 1 FROM {ident('stage_stores')} p WHERE p.{pc} = s.{c})")
            yield check("unknown_reference", sr.column,
                        " AND ".join([f"s.{k} = $kind", f"s.{c} IS NOT NULL", *lookups]), f"s.{c}",
                        lambda v, _, kind=kind, pc=parent_column, n=sr.column: (
                            f"{n} '{v}' names no {kind}: no store has {pc} '{v}' (neither in the "
                            f"warehouse nor in this batch)"),
                        {"kind": kind})

    # Chronology: a redemption, review or refund not before its order was placed — the order as
    # this batch gives it, else as the warehouse has it.
    for ch in table.chronology:
        if ch.column not in info.present or not (has_wh or ch.parent in staged) or ch.parent in broken:
            continue
        parent_rows = warehouse_rows(ch.parent, ch.key, ch.key) if has_wh else None
        parent_time = _parent_value(ch, "s", staged, parent_rows)
        yield check("invalid_row", ch.column, f"s.{ident(ch.column)} < {parent_time}", f"s.{ident(ch.column)}",
                    lambda v, placed, ch=ch: f"{ch.column} {v} is before its order was placed "
                                             f"({ch.parent_column} {placed}): a {ch.what} cannot "
                                             f"come before the order",
                    extra_sql=f"CAST({parent_time} AS VARCHAR)")
    # ... and the other way round: an order of this batch placed after a redemption, review or
    # refund the warehouse already holds for it (unless this batch replaces that row as well).
    if has_wh:
        for child in CONTRACT.values():
            for ch in child.chronology:
                if ch.parent != table.name or ch.parent_column not in info.present or child.name in broken:
                    continue
                child_rows = warehouse_rows(child.name, ch.key, ch.key)
                earliest = _earliest_child_sql(child, ch, "s", staged, child_rows)
                yield check("invalid_row", ch.parent_column, f"s.{ident(ch.parent_column)} > {earliest}",
                            f"s.{ident(ch.parent_column)}",
                            lambda v, at, ch=ch: f"{ch.parent_column} {v} is after this order's "
                                                 f"{ch.what} in the warehouse ({ch.column} {at}): "
                                                 f"an order cannot be placed after its {ch.what}",
                            extra_sql=f"CAST({earliest} AS VARCHAR)")

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
        if fk.column not in info.present or fk.parent in broken:
            continue
        lookups = []
        if has_wh:
            parents = warehouse_rows(fk.parent, fk.parent_column, fk.column)
            lookups.append(f"NOT EXISTS (SELECT 1 FROM {parents} p WHERE p.{pc} = s.{c})")
        if fk.parent in staged:
            lookups.append(f"NOT EXISTS (SELECT 1 FROM {ident('stage_' + fk.parent)} p WHERE p.{pc} = s.{c})")
        yield check("unknown_reference", fk.column, " AND ".join([f"s.{c} IS NOT NULL", *lookups]),
                    f"s.{c}", lambda v, _, fk=fk: f"{fk.column} '{v}' is not in {fk.parent} (neither in "
                                                  f"the warehouse nor in this batch)")


def _window_check(check: Callable[..., tuple[list[Problem], int, str]], col: Column,
                  bounds: tuple[dt.date, dt.date]) -> tuple[list[Problem], int, str]:
    """Dates outside the column's window (``out_of_range``), e.g. an order in year 0001 or 9999."""
    c = ident(col.name)
    day = f"CAST({c} AS DATE)" if col.type == "TIMESTAMP" else c
    lo, hi = bounds

    def message(value: str, too_early: bool) -> str:
        if too_early:
            setting = "" if col.window == "history" and lo == HISTORY_START else \
                " (setting O2O_EARLIEST_DATE)"
            return f"{col.name} {value} is before {lo.isoformat()}{setting}"
        if col.window == "event":
            return (f"{col.name} {value} is after tomorrow ({hi.isoformat()}): it cannot have "
                    f"happened yet")
        return (f"{col.name} {value} is too far ahead: after {hi.isoformat()} "
                f"(setting O2O_MAX_YEARS_AHEAD)")

    return check("out_of_range", col.name, f"{c} IS NOT NULL AND ({day} < $lo OR {day} > $hi)", c,
                 message, {"lo": lo, "hi": hi}, extra_sql=f"{day} < $lo")


def _warehouse_rows(con: duckdb.DuckDBPyConnection, table: str, key: str, stage_t: str, stage_key: str,
                    staged_parent: str | None = None) -> str:
    """The warehouse's ``table`` rows whose ``key`` is among the values of ``stage_key`` in the
    batch's ``stage_t``, as a temp table; returns its name. The checks' correlated lookups read it
    rather than the whole warehouse table: DuckDB turns a lookup into ``wh.orders`` into an
    aggregate over every stored order (23 s of a 1,000-row batch's checks at 10 million orders),
    where this is one semi-join on the key. With ``staged_parent`` (the batch's own rows of
    ``table``, which the lookups read first), only the values it does not hold: a day's feed's
    redemptions of its own new orders then read no stored order (0.22 s when those order ids fall
    among the stored ones). ``table`` and the keys come from the contract."""
    source, k, sk = ident(table), ident(key), ident(stage_key)   # checked against the contract
    name = '"wh_' + f"{table}_{key}_of_{stage_t.strip(chr(34))}" + '"'
    columns = ", ".join(ident(c) for c in _checked_columns(table, key))
    outside = f" WHERE {sk} NOT IN (SELECT {k} FROM {staged_parent} WHERE {k} IS NOT NULL)" if staged_parent else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {columns} FROM wh.{source} "
                f"WHERE {k} IN (SELECT {sk} FROM {stage_t}{outside})")
    return name


def _checked_columns(table: str, key: str) -> list[str]:
    """The columns of ``table`` the checks read from :func:`_warehouse_rows`: its key and the
    looked-up ``key``, and the times its chronology compares (a redemption's, review's or refund's
    own time; an order's time when it is the parent). Only these: the rows of a batch of
    corrections lie all over the history, and reading every column of them (``SELECT *``) took
    0.44 s of the checks of 1,000 corrected orders at 10 million orders."""
    contract = CONTRACT[table]
    wanted = [*contract.key, key, *(ch.column for ch in contract.chronology),
              *(ch.parent_column for child in CONTRACT.values() for ch in child.chronology if ch.parent == table)]
    return list(dict.fromkeys(wanted))


def _parent_value(ch: Chronology, alias: str, staged: set[str], parent_rows: str | None) -> str:
    """SQL for the parent row's ``parent_column`` of row ``alias``: this batch's, else the
    warehouse's, read from ``parent_rows`` (:func:`_warehouse_rows`; None: no warehouse). max()
    only guards against a key repeated in the batch, a problem of its own."""
    key, value = ident(ch.key), ident(ch.parent_column)
    lookups = []
    if ch.parent in staged:
        lookups.append(f"(SELECT max(p.{value}) FROM {ident('stage_' + ch.parent)} p "
                       f"WHERE p.{key} = {alias}.{key})")
    if parent_rows is not None:
        lookups.append(f"(SELECT max(p.{value}) FROM {parent_rows} p WHERE p.{key} = {alias}.{key})")
    return f"coalesce({', '.join(lookups)})"


def _earliest_child_sql(child: TableContract, ch: Chronology, alias: str, staged: set[str], child_rows: str) -> str:
    """SQL for the earliest ``ch.column`` among the warehouse's ``child`` rows of order ``alias``
    (read from ``child_rows``, :func:`_warehouse_rows`), leaving out rows this batch replaces
    (those are checked as the batch gives them)."""
    key, at = ident(ch.key), ident(ch.column)
    replaced = ""
    if child.name in staged:
        replaced = (f" AND NOT EXISTS (SELECT 1 FROM {ident('stage_' + child.name)} x "
                    f"WHERE {_key_match(child, 'x', 'c')})")
    return f"(SELECT min(c.{at}) FROM {child_rows} c WHERE c.{key} = {alias}.{key}{replaced})"


# --------------------------------------------------------------------------------------------
# Merge
# --------------------------------------------------------------------------------------------


def _merge(con: duckdb.DuckDBPyConnection, table: TableContract, present: Sequence[str]) -> tuple[int, int]:
    """Upsert ``stg.stage_<table>`` into ``table``; returns (rows added, rows updated).

    Only rows that are new or whose values differ are written. DuckDB (2.0.1) cannot DELETE a row
    that a foreign key references, and turns an UPDATE of an indexed column (a key or a foreign
    key column) into delete + insert — so ``INSERT OR REPLACE`` of an order that has a
    redemption fails. (The order-level tables hold no DuckDB key since schema.sql dropped them,
    but a warehouse created before keeps them, and the dimension tables have theirs.) Hence: new
    rows are INSERTed; changed rows get an UPDATE of the plain columns that differ; a change of a
    foreign-key column of a referenced row (an order moved to another store) moves the
    referencing rows aside, updates, and puts them back.
    """
    t, stage, chg = ident(table.name), f"stg.{ident('stage_' + table.name)}", ident(f"chg_{table.name}")
    cols = [c for c in table.column_names if c in present]
    key = list(table.key)
    plain = [c for c in cols if c not in key]
    fk_cols = [fk.column for fk in table.foreign_keys if fk.column in plain]
    row, rid = ident("_row"), ident("_rid")
    select_s = ", ".join(f"s.{ident(c)}" for c in cols)
    # the stored rows of the batch's keys, with their row ids: the batch's columns, and those the
    # import's notes read (incremental.STORED_NOTED: every column of a stored order, which the
    # orders step then need not read again). A batch of corrections lies all over the history, and
    # the UPDATE by row id of only the columns that differ took 0.12-0.14 s against 0.29 s by order
    # id of every column (1,000 orders corrected at 10 million)
    noted = incremental.stored_columns_noted(table.name, table.column_names)
    stored = ", ".join(f"t.{ident(c)}" for c in dict.fromkeys([*cols, *noted]))
    was = "".join(f", m.{ident(c)} AS {ident('was_' + c)}" for c in noted)
    differs = "".join(f", NOT ({_same('m', 's', [c])}) AS {ident('differs_' + c)}" for c in plain)
    # in two reads: the row ids by the key's columns alone, then those rows' columns by row id.
    # Joined in one, DuckDB decoded every column of every stored row when the batch's keys fall
    # among the stored ones (random order ids: 1,000 new orders and their redemptions, 0.8 s)
    found = ident(f"found_{table.name}")
    looked_up = stage
    appended = incremental.appended_orders(con) if "order_id" in key and table.name != "orders" else None
    if appended is not None:
        # a redemption or refund of an order the batch added is new: 1,000 of them, of orders with
        # random ids, were looked up among 8 million redemptions in 0.16 s
        looked_up = f"(SELECT * FROM {stage} WHERE {ident('order_id')} NOT IN ({appended}))"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {found} AS SELECT t.rowid AS {rid}, s.{row} FROM {t} t "
                f"JOIN {looked_up} s ON {_key_match(table, 't', 's')}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {chg} AS
        SELECT {select_s},
               m.{row} IS NULL AS {ident('is_new')},
               m.{row} IS NOT NULL AND NOT ({_same("m", "s", fk_cols)}) AS {ident('fk_changed')},
               m.{rid}{differs}{was}
        FROM {stage} s
        LEFT JOIN (SELECT {stored}, k.{rid}, k.{row} FROM {t} t JOIN {found} k ON t.rowid = k.{rid}) m
               ON m.{row} = s.{row}
        WHERE m.{row} IS NULL OR NOT ({_same("m", "s", plain)})
    """)
    con.execute(f"DROP TABLE {found}")
    added, updated = con.execute(
        f"SELECT count(*) FILTER (WHERE {ident('is_new')}), count(*) FILTER (WHERE NOT {ident('is_new')}) "
        f"FROM {chg}").fetchone()
    incremental.note_changes(con, table.name, chg, cols, noted)
    col_list = ", ".join(ident(c) for c in cols)
    if updated:   # before the INSERT: nothing has written the table since the row ids were read
        simple = [c for c in plain if c not in fk_cols]
        # only the columns that differ in some row: a checkpoint rewrites an updated column in
        # every row group an updated row lies in
        any_differs = ", ".join(f"bool_or({ident('differs_' + c)})" for c in simple)
        flags = con.execute(f"SELECT {any_differs} FROM {chg} WHERE NOT {ident('is_new')}").fetchone() if simple else ()
        changed = [c for c, flag in zip(simple, flags) if flag]
        moved = con.execute(f"SELECT count(*) FROM {chg} WHERE {ident('fk_changed')}").fetchone()[0]
        # the columns the UPDATEs below write (coverage keeps its spans of the others)
        incremental.note_updated_columns(con, table.name, [*changed, *(fk_cols if moved else [])])
        if changed:
            sets = ", ".join(f"{ident(c)} = {chg}.{ident(c)}" for c in changed)
            con.execute(f"UPDATE {t} AS t SET {sets} FROM {chg} "
                        f"WHERE NOT {chg}.{ident('is_new')} AND t.rowid = {chg}.{rid}")
        if moved:
            _update_referenced(con, table, chg, fk_cols, _key_match(table, "t", chg))
    if added:
        con.execute(f"INSERT INTO {t} ({col_list}) SELECT {col_list} FROM {chg} WHERE {ident('is_new')}")
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
        incremental.note_rewritten(con, child.name)
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
