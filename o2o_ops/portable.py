"""One SQL source for two engines: the build steps of the derived tables, their Spark rendering,
and the portability lint.

The SQL that builds ``order_facts`` and every derived table (``o2o_ops/sql/*.sql``) and the KPI
SQL (:func:`o2o_ops.metrics.kpi_sql`) is written once, in DuckDB's dialect, in a subset that
sqlglot renders faithfully for Spark SQL. DuckDB runs the text as it is (:func:`o2o_ops.db.rebuild_rollups`);
the Spark build (:mod:`o2o_ops.spark`) runs :func:`build_steps` rendered by :func:`to_spark`.

What keeps the subset honest is :func:`lint`: it renders every statement the project runs on
both engines (every build step; every KPI at every grain under filters that use every filter
field) and fails on constructs known not to port (:data:`RULES`), on anything sqlglot cannot
render for Spark, and on Spark text Spark's own grammar (as sqlglot reads it) rejects. Each rule
says what to write instead, so a failure message is the fix. ``tests/test_sql_portability.py``
runs it without Java.

A build file is a sequence of ``CREATE OR REPLACE TABLE <name> AS <query>;`` statements: the
wrapper is DuckDB's and stays (it is how a step names its table); only the query is shared. The
Spark build writes the query's result as ``<name>`` instead.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from o2o_ops import db


@dataclass(frozen=True)
class BuildStep:
    """One derived table: the file it is declared in, its name, and the query that builds it
    (DuckDB dialect, placeholders filled)."""
    file: str
    table: str
    query: str


class PortabilityError(ValueError):
    """A statement would not run, or not give the same answer, on Spark; the message says how to fix it."""


# ------------------------------------------------------------------------------------------
# Build steps
# ------------------------------------------------------------------------------------------

# the build files' statement splitter lives in db (the import path uses it without sqlglot)
from o2o_ops.db import _WRAPPER, _split_statements, strip_comments  # noqa: E402,F401


def build_steps(*, touched: bool = False) -> list[BuildStep]:
    """Every derived table in build order (``order_facts.sql``, ``rollups.sql``, then
    ``rollups_<area>.sql`` in name order, as :func:`o2o_ops.db.rebuild_rollups` runs them).
    With ``touched``, each query restricted to the keys an import batch touched (DuckDB only:
    o2o_ops/incremental.py)."""
    steps: list[BuildStep] = []
    for file, table, body in db.build_queries(touched=touched):
        if table is None:
            first = body.strip().splitlines()[0]
            raise PortabilityError(
                f"{file}: a build file may only hold `CREATE OR REPLACE TABLE <name> AS <query>;` "
                f"statements, found `{first[:80]}`. Put bookkeeping (warehouse_meta) in "
                f"o2o_ops/db.py's write_build_meta, and give each derived table its own statement.")
        steps.append(BuildStep(file, table, body))
    return steps


def derived_tables() -> list[str]:
    """The names of the derived tables, in build order."""
    return [s.table for s in build_steps()]


# ------------------------------------------------------------------------------------------
# Rendering for Spark
# ------------------------------------------------------------------------------------------

def _literal(value: Any) -> exp.Expression:
    """A bound parameter's value as a typed SQL literal (Spark gets values, never text to parse)."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        # a bare 12.5 is DECIMAL on Spark; the value is a DOUBLE on DuckDB
        return exp.cast(exp.Literal.number(repr(value)), "DOUBLE")
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[_literal(v) for v in value])
    return exp.Literal.string(str(value))


def _bind(tree: exp.Expression, params: Mapping[str, Any]) -> exp.Expression:
    def swap(node: exp.Expression) -> exp.Expression:
        if isinstance(node, (exp.Parameter, exp.Placeholder)):
            name = node.name
            if name not in params:
                raise PortabilityError(f"The parameter ${name} has no value.")
            return _literal(params[name])
        return node
    return tree.transform(swap)


def to_spark(sql: str, params: Mapping[str, Any] | None = None) -> str:
    """``sql`` (DuckDB dialect) as Spark SQL, parameters (``$name``) bound as literals.

    Raises :class:`PortabilityError` when sqlglot cannot render something for Spark."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        if params is not None:
            tree = _bind(tree, params)
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise PortabilityError(f"sqlglot cannot render this for Spark: {exc}") from None


# ------------------------------------------------------------------------------------------
# The lint
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    pattern: str
    what: str
    instead: str


RULES: tuple[Rule, ...] = (
    Rule(r"\*\s*REPLACE\s*\(", "`* REPLACE (...)`",
         "select the columns by name and write the replaced one in place, e.g. "
         "`coalesce(district, '') AS district`"),
    Rule(r"\*\s*(EXCLUDE|EXCEPT)\s*\(", "`* EXCLUDE (...)`",
         "name the columns; for the order rollup's measures use the placeholder "
         "`{{ order_measure_names:ALIAS }}` (o2o_ops/kpis/sql.py)"),
    Rule(r"\bCOLUMNS\s*\(", "`COLUMNS(...)`",
         "write one aggregate per column; for the order rollup's measures use `{{ order_measure_sums }}`"),
    Rule(r"\bGROUP\s+BY\s+ALL\b", "`GROUP BY ALL` (Trino, Doris and StarRocks lack it)",
         "GROUP BY the key expressions themselves (generated SQL: metrics._group_by)"),
    Rule(r"\bINSERT\s+OR\s+REPLACE\b", "`INSERT OR REPLACE`",
         "DELETE the keys, then INSERT; warehouse bookkeeping belongs in db.write_build_meta, not in build SQL"),
    Rule(r"\bON\s+CONFLICT\b", "`ON CONFLICT`", "DELETE the keys, then INSERT"),
    Rule(r"\browid\b", "`rowid` (DuckDB's physical row number)",
         "ORDER BY real columns (e.g. `ORDER BY posted_at, review_id`)"),
    Rule(r"\b(isodow|dayofweek|weekday|dow)\s*\(", "a weekday function (numbering differs: isodow() becomes Monday = 3 on Spark)",
         "spell out Monday = 1: `date_diff('day', date_trunc('week', d), d) + 1`"),
    Rule(r"\bstrftime\s*\(|\bstrptime\s*\(", "`strftime`/`strptime` (format letters differ between engines)",
         "spell the text out, e.g. the ISO week `CAST(year(w + 3) AS VARCHAR) || '-W' || "
         "lpad(CAST(weekofyear(w) AS VARCHAR), 2, '0')` for a Monday w"),
    Rule(r"\bCAST\s*\(\s*unnest\s*\(", "`CAST(unnest(...) AS ...)` (Spark's explode() cannot sit inside an expression)",
         "put `unnest(generate_series(a, b, INTERVAL 1 DAY)) AS day` alone in a subquery's select list and "
         "CAST(day AS DATE) outside it"),
    Rule(r"\b(FROM|JOIN)\s+(generate_series|range|unnest)\s*\(", "a table function in FROM/JOIN",
         "put `unnest(generate_series(a, b, INTERVAL 1 DAY)) AS day` alone in a subquery's select list "
         "(and filter out spans with a > b first: Spark's sequence() fails on them)"),
    Rule(r"\bCREATE\b|\bINSERT\b|\bUPDATE\b|\bDELETE\b|\bDROP\b|\bALTER\b",
         "a statement other than a query inside a build step or KPI query",
         "a build file holds `CREATE OR REPLACE TABLE <name> AS <query>;` statements only"),
    Rule(r"\blist_(sort|distinct|aggregate|transform|filter|value)\s*\(|\[\s*\d+\s*\]",
         "DuckDB list functions or list indexing", "use aggregates and joins instead"),
)


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


_ARITHMETIC = (exp.Div, exp.Mul, exp.Add, exp.Sub, exp.Paren)


def _cast_to_double(node: exp.Expression) -> bool:
    """Whether the arithmetic ``node`` takes part in is cast to DOUBLE as a whole (``CAST(2 * 0.5 AS DOUBLE)``)."""
    parent = node.parent
    while isinstance(parent, _ARITHMETIC):
        parent = parent.parent
    return isinstance(parent, exp.Cast) and parent.to.is_type(exp.DataType.Type.DOUBLE)


def lint(name: str, sql: str, params: Mapping[str, Any] | None = None) -> list[str]:
    """The problems that keep statement ``name`` (DuckDB dialect; ``$params`` allowed) from
    running the same on Spark, each with what to write instead. Empty when it ports."""
    problems: list[str] = []
    body = strip_comments(sql)
    for rule in RULES:
        for match in re.finditer(rule.pattern, body, re.I):
            line = _line_of(body, match.start())
            snippet = body.splitlines()[line - 1].strip()
            problems.append(f"{name}, line {line}: {rule.what} in `{snippet[:100]}`. Instead: {rule.instead}.")
    if problems:
        return problems
    try:
        tree = sqlglot.parse_one(body, read="duckdb")
    except SqlglotError as exc:
        return [f"{name}: sqlglot cannot read it as DuckDB SQL ({str(exc).splitlines()[0]}). "
                f"Write it in the dialect the other build steps use."]
    if not isinstance(tree, (exp.Select, exp.SetOperation, exp.Subquery)):
        return [f"{name}: not a query (found {type(tree).__name__}). Instead: a build step's body and a KPI "
                f"statement are one SELECT (CTEs allowed)."]
    for literal in tree.find_all(exp.Literal):
        if literal.is_number and "." in literal.this and "e" not in literal.this.lower() \
                and isinstance(literal.parent, (exp.Div, exp.Mul, exp.Add, exp.Sub)) and not _cast_to_double(literal):
            problems.append(
                f"{name}: the decimal literal {literal.this} in `{literal.parent.sql(dialect='duckdb')[:100]}` is "
                f"DECIMAL on Spark (DOUBLE arithmetic on DuckDB), so results drift (`/ 3600.0` by 4e-7 h). "
                f"Instead: make the arithmetic DOUBLE, e.g. `CAST(x AS DOUBLE) / 3600` or `CAST({literal.this} AS DOUBLE)`.")
    unknown = sorted({f.name for f in tree.find_all(exp.Anonymous)})
    if unknown:
        problems.append(f"{name}: function(s) {', '.join(unknown)} unknown to sqlglot, so they reach Spark "
                        f"untranslated. Instead: use a function sqlglot maps (see sqlglot's DuckDB and Spark "
                        f"dialects) or spell it out with portable ones.")
    try:
        bound = _bind(tree, params) if params is not None else tree
        spark_sql = bound.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE)
        sqlglot.parse_one(spark_sql, read="spark")
    except (PortabilityError, SqlglotError) as exc:
        problems.append(f"{name}: {str(exc).splitlines()[0]}. Instead: rewrite it with the constructs the "
                        f"other build steps use.")
    return problems


def lint_all(statements: Iterable[tuple[str, str, Mapping[str, Any] | None]]) -> list[str]:
    """Every problem of every ``(name, sql, params)``."""
    return [p for name, sql, params in statements for p in lint(name, sql, params)]


# Filter sets the KPI statements are rendered under: none; dates that are whole ISO weeks (the
# weekly rollups); and every filter field at once with dates that are not (the daily rollups,
# the per-customer repeat path, the scope clauses).
def lint_filter_sets():
    from o2o_ops.filters import Filters
    return {
        "no filters": Filters(),
        "whole weeks": Filters(start=dt.date(2026, 3, 2), end=dt.date(2026, 3, 29)),
        "every filter": Filters(start=dt.date(2026, 3, 3), end=dt.date(2026, 5, 5), cities=("Hangzhou",),
                                districts=("Xihu",), regions=("East",), categories=("hotel",), stores=("S0001",),
                                channels=("app",), campaign_kinds=("coupon",), campaigns=("C001",),
                                scope_stores=("S0001",), scope_regions=("East",)),
    }


def kpi_statements() -> list[tuple[str, str, dict[str, Any]]]:
    """The KPI SQL as ``(name, sql, params)``: each KPI alone at every grain under every filter
    field (a statement holds only the parts its KPIs need), and all KPIs together at every grain
    under each of :func:`lint_filter_sets` (the filter sets pick the daily or weekly rollups and
    the repeat-customer path)."""
    from o2o_ops import metrics
    out = []
    sets = lint_filter_sets()
    for grain in metrics.GRAINS:
        for name in metrics.KPIS:
            sql, params = metrics.kpi_sql(sets["every filter"], grain, [name])
            out.append((f"metrics.kpi_sql(KPI {name!r}, grain {grain!r}, every filter)", sql, params))
        for label, filters in sets.items():
            sql, params = metrics.kpi_sql(filters, grain, list(metrics.KPIS))
            out.append((f"metrics.kpi_sql(all KPIs, grain {grain!r}, {label})", sql, params))
    return out


def project_statements() -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every statement the project runs on both engines: the build steps, then the KPI SQL."""
    steps = [(f"{s.file} (table {s.table})", s.query, None) for s in build_steps()]
    return [*steps, *kpi_statements()]
