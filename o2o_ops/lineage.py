"""Column-level lineage of the build SQL: which output columns of a step can change when given
columns of the tables it reads change.

An import finds which derived tables the "as of" flags reach (o2o_ops/incremental.py,
``AS_OF_FLAGS``): the order rollup sums them into a few columns (``count_breakage``,
``breakage_amount``, ...), and a table that reads only the rollup's other columns (the day totals
lift compares stores on) keeps its rows when only those flags change. Reading table names alone,
every table summed from the rollup looked as if it read them.

The analysis walks each statement's scopes bottom-up with sqlglot (already the Spark build's
parser, o2o_ops/portable.py) and is conservative: a changing column named anywhere outside a
scope's select list (a filter, a join, a grouping, a window's or a subquery's, a DISTINCT) makes
every column of that scope change (:data:`EVERY`), as does a ``*`` over a source of which every
column may change; a select item that names a changing column anywhere in its expression
changes. Names are matched without their table qualifier, so a column of one source with the
name of another source's changing column counts as changing too. A statement sqlglot cannot
read changes everywhere.
"""

from __future__ import annotations

import functools
from typing import Mapping

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

#: every column of the step may change (its rows may come, go or regroup)
EVERY = "*"

Changing = frozenset[str] | str    # column names, or EVERY

_ROW_PARTS = ("where", "group", "having", "qualify", "joins", "laterals", "pivots", "connect", "prewhere")


def changing_columns(query: str, changing: Mapping[str, Changing]) -> Changing:
    """The output columns of the SELECT ``query`` that can change when the columns ``changing``
    (table name -> its changing column names, or :data:`EVERY`) of the tables it reads change."""
    scopes = _scopes(query)
    if scopes is None:
        return EVERY
    out: dict[int, Changing] = {}
    for scope in scopes:             # bottom-up: a scope's sources and subqueries come before it
        out[id(scope)] = _scope_changing(scope, out, changing)
    return _normalise(out[id(scopes[-1])]) if scopes else EVERY


@functools.lru_cache(maxsize=128)
def _scopes(query: str) -> tuple[Scope, ...] | None:
    """The scopes of ``query``, bottom-up (None: sqlglot cannot read it). Kept: the analysis only
    reads them, and finding each step's readers column by column parses the build SQL once, not
    once per column (:func:`o2o_ops.incremental.find_step_reads`)."""
    try:
        return tuple(traverse_scope(sqlglot.parse_one(query, read="duckdb")))
    except SqlglotError:
        return None


def copied_columns(query: str, table: str) -> frozenset[str]:
    """The columns of ``table`` that the SELECT ``query``'s outermost select list passes on as they
    are, under their own names (``o.paid_amount``, not ``coalesce(o.channel, ...) AS channel``):
    such an output column differs between two rows exactly when the input column does."""
    scopes = _scopes(query)
    if not scopes or not isinstance(scopes[-1].expression, exp.Select):
        return frozenset()
    scope = scopes[-1]
    aliases = {alias for alias, source in scope.sources.items()
               if isinstance(source, exp.Table) and source.name.lower() == table}
    return frozenset(item.name.lower() for item in scope.expression.expressions
                     if isinstance(item, exp.Column) and item.table in aliases
                     and not isinstance(item.this, exp.Star))


def _scope_changing(scope: Scope, out: Mapping[int, Changing], changing: Mapping[str, Changing]) -> Changing:
    expression = scope.expression
    if isinstance(expression, exp.SetOperation):
        # the branches' columns by position: any changing column of a branch, every column
        branches = [out.get(id(s), EVERY) for s in scope.set_operation_scopes] or [EVERY]
        return EVERY if any(branches) else frozenset()
    names: set[str] = set()
    every_source = False              # a source of which every column may change
    for source in scope.sources.values():
        if isinstance(source, Scope):
            columns = out.get(id(source), EVERY)
        elif isinstance(source, exp.Table):
            columns = changing.get(source.name.lower(), frozenset())
        else:
            columns = EVERY
        if columns == EVERY:
            every_source = True
        else:
            names |= set(columns)
    if not names and not every_source and not any(out.get(id(s)) for s in scope.subquery_scopes):
        return frozenset()
    if not isinstance(expression, exp.Select):
        return EVERY
    if any(out.get(id(s), EVERY) for s in scope.subquery_scopes):
        return EVERY                  # a subquery's changing result: where it lands is not followed

    def names_changing(node: exp.Expression) -> bool:
        # a column, or a bare name (USING keys); a star inside an expression is count(*)'s, which
        # counts rows: they change only through the parts checked as rows
        return any(every_source or name.name.lower() in names for name in node.find_all(exp.Column, exp.Identifier))

    for part in _ROW_PARTS:
        value = expression.args.get(part)
        if value and any(names_changing(v) for v in (value if isinstance(value, list) else [value])):
            return EVERY
    if expression.args.get("limit") or expression.args.get("offset"):
        order = expression.args.get("order")
        if order is not None and names_changing(order):
            return EVERY
    result: set[str] = set()
    for item in expression.expressions:
        star = isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star))
        if star:
            if every_source:
                return EVERY
            result |= names                 # passed through under their own names
        elif names_changing(item):
            result.add(item.alias_or_name.lower())
    if result and expression.args.get("distinct"):
        return EVERY
    return frozenset(result)


def _normalise(columns: Changing) -> Changing:
    return EVERY if columns == EVERY else frozenset(columns)


def readers(steps: Mapping[str, str], holding: Mapping[str, frozenset[str]]) -> dict[str, Changing]:
    """Of the build's ``steps`` (table -> its SELECT, in build order), those whose rows can change
    when the columns ``holding`` (table -> columns) change, each with its changing columns; the
    tables of ``holding`` are among them with their own."""
    changing: dict[str, Changing] = {t: frozenset(c) for t, c in holding.items()}
    found: dict[str, Changing] = {}
    for table, query in steps.items():
        if table in holding:
            found[table] = changing[table]
            continue
        columns = changing_columns(query, changing)
        if columns:
            changing[table] = found[table] = columns
    return found
