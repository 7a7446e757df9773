"""Mapping files: what a user's export needs to fit the warehouse contract, written as data.

A mapping file (TOML or YAML; the full reference with worked examples is docs/mapping.md) may

* rename columns and give date formats (``columns``, ``date_format``, ``timestamp_format``,
  ``delimiter``, ``encoding``);
* declare null markers (``null_values = ["null", "NULL", "-"]``: such a value is an empty value
  in every column, text columns included);
* recode values per column (``[values.status]`` ``"used" = "paid"``), give defaults (fill empty
  values and missing columns) and constants (replace every value) per column;
* say which way ``discount_rate`` runs (``discount_rate_means = "share_paid"`` converts 0.95 "pay
  95 %" into 0.05 taken off), whether it is written in percent, and what to do with a rate written
  ``x:y`` ("spend x, get y off");
* name the batch's files (``[sources]``) and give, per contract table, a DuckDB ``SELECT`` over
  them (``[tables.<table>] sql = "..."``), run in a sandbox (:mod:`o2o_ops.mapping_sql`).

Every key may sit at the top level (all tables) or under ``[tables.<table>]`` (that table only,
overriding the top level; ``values``, ``defaults`` and ``constants`` are merged per column).
This module only reads and checks the file's shape; :mod:`o2o_ops.ingest` applies it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping as MappingT

#: Keys a mapping file may hold at the top level.
TOP_KEYS = frozenset({"columns", "date_format", "timestamp_format", "delimiter", "encoding", "tables",
                      "null_values", "values", "defaults", "constants", "discount_rate_means",
                      "discount_rate_scale", "discount_rate_x_y", "sources"})
#: Keys a ``[tables.<table>]`` section may hold.
TABLE_KEYS = frozenset({"columns", "date_format", "timestamp_format", "delimiter", "encoding",
                        "null_values", "values", "defaults", "constants", "discount_rate_means",
                        "discount_rate_scale", "discount_rate_x_y", "sql"})
#: Keys of a source given as a table (``log = { file = "log.csv", delimiter = ";" }``).
SOURCE_KEYS = frozenset({"file", "delimiter", "encoding", "null_values"})

DISCOUNT_MEANS = ("share_off", "share_paid")
DISCOUNT_SCALES = ("share", "percent")
DISCOUNT_X_Y = ("refuse", "spend_off")

#: A source's name in staging SQL: a plain SQL identifier that is not one of ours.
SOURCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
#: A source's file: a plain file name of the batch (no folder, no glob, no URL).
_FILE_NAME_BAD = re.compile(r"[/\\*?\[\]{}]|^\.|://|^~")


class MappingError(ValueError):
    """The mapping file cannot be used; the message says why, in words for the user."""


@dataclass(frozen=True)
class Mapping:
    """The mapping of one table (top level merged with its ``[tables.<table>]`` section)."""
    columns: MappingT[str, str] = field(default_factory=dict)   # user's name -> contract name
    date_format: str | None = None
    timestamp_format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    null_values: tuple[str, ...] = ()
    values: MappingT[str, MappingT[str, str]] = field(default_factory=dict)  # column -> {from: to}
    defaults: MappingT[str, str] = field(default_factory=dict)
    constants: MappingT[str, str] = field(default_factory=dict)
    discount_rate_means: str = "share_off"
    discount_rate_scale: str = "share"
    discount_rate_x_y: str = "refuse"
    sql: str | None = None
    name: str = "mapping"        # the mapping file's name, for messages

    @property
    def converts_discount(self) -> bool:
        return (self.discount_rate_means, self.discount_rate_scale, self.discount_rate_x_y) != \
            ("share_off", "share", "refuse")


@dataclass(frozen=True)
class SourceSpec:
    """One named file of a batch, as ``[sources]`` gives it."""
    name: str
    file: str
    delimiter: str | None = None
    encoding: str | None = None
    null_values: tuple[str, ...] | None = None


def check_shape(data: MappingT[str, Any], tables: MappingT[str, tuple[str, ...]]) -> None:
    """Raise :class:`MappingError` when the file's shape is wrong: unknown keys, tables or
    columns, values of the wrong kind. ``tables`` maps each contract table to its columns."""
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise MappingError(f"unknown keys {sorted(unknown)}; allowed: {sorted(TOP_KEYS)}")
    all_columns = {c for cols in tables.values() for c in cols}
    _check_section(data, "the top level", all_columns)
    sections = data.get("tables") or {}
    if not isinstance(sections, dict):
        raise MappingError("'tables' must be a table of [tables.<table>] sections")
    for table, section in sections.items():
        if table not in tables:
            raise MappingError(f"[tables.{table}]: '{table}' is not a contract table "
                               f"(one of {', '.join(tables)})")
        if not isinstance(section, dict):
            raise MappingError(f"[tables.{table}] must be a table of settings")
        bad = set(section) - TABLE_KEYS
        if bad:
            raise MappingError(f"[tables.{table}]: unknown keys {sorted(bad)}; allowed: {sorted(TABLE_KEYS)}")
        _check_section(section, f"[tables.{table}]", set(tables[table]))
        sql = section.get("sql")
        if sql is not None and (not isinstance(sql, str) or not sql.strip()):
            raise MappingError(f"[tables.{table}] sql must be a SELECT statement written as text")
    sources(data)   # raises on a bad [sources] table
    if any((s or {}).get("sql") for s in sections.values()) and not data.get("sources"):
        raise MappingError("staging SQL reads the batch's files by name: add a [sources] table "
                           "(e.g. log = \"coupon_log.csv\")")


def _check_section(section: MappingT[str, Any], where: str, columns: set[str]) -> None:
    for key in ("date_format", "timestamp_format", "delimiter", "encoding"):
        if key in section and not isinstance(section[key], str):
            raise MappingError(f"{where}: {key} must be text")
    if "columns" in section and not isinstance(section["columns"], dict):
        raise MappingError(f"{where}: columns must be a table of your name = the contract's name")
    nulls = section.get("null_values")
    if nulls is not None and (not isinstance(nulls, list) or not all(isinstance(v, str) for v in nulls)):
        raise MappingError(f"{where}: null_values must be a list of texts, e.g. [\"null\", \"-\"]")
    for key in ("values", "defaults", "constants"):
        got = section.get(key)
        if got is None:
            continue
        if not isinstance(got, dict):
            raise MappingError(f"{where}: {key} must be a table keyed by contract column")
        for column, value in got.items():
            if column not in columns:
                raise MappingError(f"{where}: {key}.{column}: '{column}' is not a contract column"
                                   + (" of this table" if where.startswith("[tables.") else ""))
            if key == "values":
                if not isinstance(value, dict) or not value:
                    raise MappingError(f"{where}: values.{column} must be a table of "
                                       f"\"the export's value\" = \"the contract's value\"")
                if not all(isinstance(v, (str, int, float, bool)) for v in value.values()):
                    raise MappingError(f"{where}: values.{column}: every new value must be text or a number")
            elif not isinstance(value, (str, int, float, bool)):
                raise MappingError(f"{where}: {key}.{column} must be text or a number")
    for key, allowed in (("discount_rate_means", DISCOUNT_MEANS), ("discount_rate_scale", DISCOUNT_SCALES),
                         ("discount_rate_x_y", DISCOUNT_X_Y)):
        if key in section and section[key] not in allowed:
            raise MappingError(f"{where}: {key} must be one of {', '.join(allowed)}, "
                               f"got {section[key]!r}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def for_table(raw: MappingT[str, Any] | None, table: str, name: str = "mapping") -> Mapping:
    """The mapping for one table: top-level settings overridden by ``[tables.<table>]``."""
    raw = dict(raw or {})
    section = dict((raw.get("tables") or {}).get(table) or {})
    columns = {str(k): str(v) for k, v in (raw.get("columns") or {}).items()}
    columns.update({str(k): str(v) for k, v in (section.get("columns") or {}).items()})

    def pick(key: str) -> Any:
        return section.get(key, raw.get(key))

    def merged(key: str) -> dict[str, Any]:
        out = dict(raw.get(key) or {})
        out.update(section.get(key) or {})
        return out

    values = {}
    for column, pairs in merged("values").items():
        values[column] = {_text(k): _text(v) for k, v in pairs.items()}
    text = lambda key: None if pick(key) is None else str(pick(key))  # noqa: E731
    return Mapping(
        columns=columns, date_format=text("date_format"), timestamp_format=text("timestamp_format"),
        delimiter=text("delimiter"), encoding=text("encoding"),
        null_values=tuple(str(v) for v in (pick("null_values") or ())),
        values=values,
        defaults={c: _text(v) for c, v in merged("defaults").items()},
        constants={c: _text(v) for c, v in merged("constants").items()},
        discount_rate_means=pick("discount_rate_means") or "share_off",
        discount_rate_scale=pick("discount_rate_scale") or "share",
        discount_rate_x_y=pick("discount_rate_x_y") or "refuse",
        sql=section.get("sql"), name=name)


def sources(raw: MappingT[str, Any] | None) -> dict[str, SourceSpec]:
    """The named files of ``[sources]`` (name -> spec); MappingError when one is unusable."""
    given = (raw or {}).get("sources") or {}
    if not isinstance(given, dict):
        raise MappingError("[sources] must be a table of name = \"file name\"")
    out: dict[str, SourceSpec] = {}
    for name, spec in given.items():
        if not SOURCE_NAME.fullmatch(str(name)) or str(name).lower().startswith(("duckdb", "pg_", "sqlite")) \
                or str(name).lower() in _RESERVED_SOURCE_NAMES:
            raise MappingError(f"[sources] {name!r}: a source name is a letter followed by letters, "
                               f"digits or _ (at most 63), and not a word SQL uses")
        if isinstance(spec, str):
            spec = {"file": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("file"), str):
            raise MappingError(f"[sources] {name}: give the file's name, e.g. {name} = \"{name}.csv\"")
        bad = set(spec) - SOURCE_KEYS
        if bad:
            raise MappingError(f"[sources] {name}: unknown keys {sorted(bad)}; allowed: {sorted(SOURCE_KEYS)}")
        file = spec["file"].strip()
        if not file or _FILE_NAME_BAD.search(file):
            raise MappingError(f"[sources] {name}: '{file}' is not a plain file name of the batch "
                               f"(no folders, wildcards or URLs: a mapping reads only the files it "
                               f"is imported with)")
        nulls = spec.get("null_values")
        if nulls is not None and (not isinstance(nulls, list) or not all(isinstance(v, str) for v in nulls)):
            raise MappingError(f"[sources] {name}: null_values must be a list of texts")
        out[str(name)] = SourceSpec(str(name), file, spec.get("delimiter"), spec.get("encoding"),
                                    tuple(nulls) if nulls is not None else None)
    return out


#: Names a source may not take (SQL words and the names staging itself uses).
_RESERVED_SOURCE_NAMES = frozenset({
    "select", "from", "where", "group", "order", "by", "join", "on", "union", "with", "as", "table",
    "values", "information_schema", "main", "temp", "system", "memory", "staged", "_row",
})
