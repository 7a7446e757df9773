"""What the Data page needs from the core: table guesses, previews, batch checks with exact
counts, the problem report as tables, the import itself for those who may write, the import log,
the warehouse summary and the quality checks — the last two narrowed to a user's scope.

Who may import is :func:`o2o_ops.auth.can_write`; :func:`import_batch` checks it again whatever
the page showed. A user scoped to stores or regions sees only findings about their stores: the
checks are re-asked within the scope (bound parameters), never filtered after the fact.

The import itself is :mod:`o2o_ops.ingest`; this module only shapes its inputs and answers for a
page. Files are read by DuckDB (a preview reads the first rows only); nothing here loads a whole
file or a fact table into pandas. No streamlit here.
"""

from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping as MappingT, Sequence

import duckdb
import pandas as pd

from o2o_ops import auth, data_checks as quality, db, i18n, ingest
from o2o_ops.filters import Filters
from o2o_ops.i18n import problems as problem_words

#: Rows a preview shows.
PREVIEW_ROWS = 10
#: Examples the page lists per kind of problem (the counts stay exact).
EXAMPLES_PER_KIND = 5
#: Import-log rows the page shows (newest first).
LOG_ROWS = 500

#: The kinds of problem in words (English; :func:`o2o_ops.i18n.problems.kind_label` for a language).
PROBLEM_LABELS = {kind: problem_words.kind_label(kind) for kind in ingest.PROBLEM_KINDS}


class PreviewError(ValueError):
    """A file cannot be previewed; the message says why, in words for the user."""


class NotAllowed(PermissionError):
    """The user may not change the warehouse; the message says who may."""


# ------------------------------------------------------------------------------------------
# Choosing the table
# ------------------------------------------------------------------------------------------

def guess_table(file_name: str, taken: Iterable[str] = ()) -> str | None:
    """The contract table a file is probably for, from its name: ``orders.csv`` and
    ``2024_Orders_export.csv`` -> orders, ``store-list.parquet`` -> stores; None when no word of
    the name is a table (or its singular). The first matching word wins. A table in ``taken``
    (filled by the mapping's staging SQL) is never guessed: a second download of an export's
    file, ``olist_orders_dataset (1).csv``, is not the orders table; the user says what it is."""
    stem = Path(file_name).stem.lower()
    words = [w for w in re.split(r"[^a-z]+", stem) if w]
    by_word = {t: t for t in ingest.CONTRACT}
    by_word.update({t[:-1]: t for t in ingest.CONTRACT})  # singulars: order, store, cost, ...
    for word in words:
        if word in by_word:
            return None if by_word[word] in set(taken) else by_word[word]
    return None


# ------------------------------------------------------------------------------------------
# Preview with the mapped column names
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Preview:
    rows: pd.DataFrame                    # first rows; columns renamed to the contract's
    renamed: dict[str, str]               # the file's column -> the contract's, where they differ
    ignored: tuple[str, ...]              # the file's columns the table does not use
    missing_required: tuple[str, ...]     # required contract columns the file lacks


def resolve_columns(header: Sequence[str], table: str, mapping: ingest.Mapping) -> tuple[dict[str, int], list[str]]:
    """(contract column -> position in the file, ignored file columns), matching names the way
    the importer does: the mapping first (exact, then ignoring case), then the contract's own
    names ignoring case and surrounding spaces. A second file column mapping to the same
    contract column is ignored here (the check reports it)."""
    contract = ingest.CONTRACT[table]
    by_lower = {c.lower(): c for c in contract.column_names}
    user_map = {k.strip(): v for k, v in mapping.columns.items()}
    user_map_lower = {k.lower(): v for k, v in user_map.items()}
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for i, name in enumerate(header):
        clean = name.strip().lstrip("\ufeff").strip()
        target = user_map.get(clean) or user_map_lower.get(clean.lower())
        if target is not None and target not in contract.column_names:
            target = None
        else:
            target = target or by_lower.get(clean.lower())
        if target is None or target in positions:
            if clean:   # a spreadsheet's trailing unnamed columns: nothing to name
                ignored.append(clean)
        else:
            positions[target] = i
    return positions, ignored


def _unnamed_blank(header: list[str], text: str, delimiter: str) -> list[str]:
    """DuckDB's names for a CSV's columns with the ones it made up for unnamed columns
    ("column5" for a spreadsheet's trailing ",,") blank again, as the file has them."""
    try:
        first = next(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter), [])
    except csv.Error:
        return header
    if len(first) != len(header):
        return header
    return [name if raw.strip() else "" for name, raw in zip(header, first)]


def preview(source: ingest.Source, rows: int = PREVIEW_ROWS) -> Preview:
    """The first ``rows`` rows of ``source`` with its columns renamed to the contract's (in the
    contract's order), read by DuckDB with ``LIMIT``. Raises :class:`PreviewError` when the file
    cannot be read."""
    if source.table not in ingest.CONTRACT:
        raise PreviewError(f"unknown table '{source.table}'")
    contract = ingest.CONTRACT[source.table]
    con = duckdb.connect()
    try:
        if source.is_json:   # the importer's JSON reader: one text column per key
            opened = ingest.json_reader(con, source.path)
            if isinstance(opened, str):
                raise PreviewError(f"{source.path.name} cannot be read: {opened}")
            header, reader, params = opened
        else:
            try:
                reader, params = ingest._reader(source)  # the importer's own reader: same dialect rules
                header = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", params).fetchall()]
                if not source.is_parquet:
                    header = _unnamed_blank(header, ingest._preview_sample(source)[1], params["delim"])
            except (duckdb.Error, OSError, UnicodeError) as exc:
                raise PreviewError(f"{source.path.name} cannot be read as "
                                   f"{'Parquet' if source.is_parquet else 'CSV'}: {_first_line(exc)}") from exc
        positions, ignored = resolve_columns(header, source.table, source.mapping)
        if not positions:
            frame = pd.DataFrame()
        else:
            # Positions (#n) rather than the file's own names: no user text ever reaches SQL.
            select = ", ".join(f"#{positions[c] + 1} AS {ingest.ident(c)}"
                               for c in contract.column_names if c in positions)
            try:
                frame = db.run(con, f"SELECT {select} FROM {reader} LIMIT $preview_rows",
                               {**params, "preview_rows": int(rows)})
            except (duckdb.Error, OSError, UnicodeError) as exc:
                raise PreviewError(f"{source.path.name} cannot be read: {_first_line(exc)}") from exc
    finally:
        con.close()
    renamed = {header[i].strip().lstrip("\ufeff").strip(): c for c, i in positions.items()}
    renamed = {k: v for k, v in renamed.items() if k != v}
    missing = tuple(c.name for c in contract.columns if c.required and c.name not in positions)
    return Preview(frame, renamed, tuple(ignored), missing)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ------------------------------------------------------------------------------------------
# Checking a batch (nothing is written)
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BatchCheck:
    rejected: ingest.ImportRejected | None   # None: the batch can be imported
    rows: dict[str, int]                     # rows read per table (tables that were read)
    # per table, optional text values that read as empty written as text: (column, value, rows)
    kept: dict[str, tuple[tuple[str, str, int], ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.rejected is None


def check_batch(sources: Sequence[ingest.Source], *, warehouse: str | os.PathLike | None = None,
                progress: ingest.Progress | None = None) -> BatchCheck:
    """Validate ``sources`` as one batch against the warehouse, exactly as an import would,
    without writing: the problems (sample + exact counts per kind, or None) and the rows read.

    Uses the importer's staging step (``ingest._staged``) because :func:`ingest.validate` returns
    only the sample, and the page shows exact counts.
    """
    ordered = sorted(sources, key=lambda s: ingest.IMPORT_ORDER.index(s.table))
    rows: dict[str, int] = {}
    kept: dict[str, tuple[tuple[str, str, int], ...]] = {}
    try:
        with ingest._staged(ordered, warehouse, progress) as (_, problems, counts, infos):
            problems, counts = list(problems), dict(counts)
            rows = {t: info.rows for t, info in infos.items()}
            kept = {t: info.kept_as_text for t, info in infos.items() if info.kept_as_text}
    except ingest.ImportRejected as exc:
        return BatchCheck(exc, rows)
    except (duckdb.Error, OSError, UnicodeError) as exc:
        # A file DuckDB chokes on in a way the importer did not foresee: still a user's problem.
        problems = [ingest.Problem(", ".join(str(s.path) for s in ordered), None, None, None,
                                   "unreadable_file", f"cannot read the batch: {_first_line(exc)}")]
        counts = {"unreadable_file": 1}
    if not problems:
        return BatchCheck(None, rows, kept)
    return BatchCheck(ingest.ImportRejected(problems, counts), rows)


def problem_summary(rejected: ingest.ImportRejected, lang: str = "en") -> pd.DataFrame:
    """One row per kind of problem, in the importer's order: kind, label (in ``lang``),
    count_problems (exact)."""
    grouped = rejected.by_kind()
    kinds = sorted(set(grouped) | set(rejected.counts), key=ingest._kind_rank)
    return pd.DataFrame({
        "kind": kinds,
        "label": [problem_words.kind_label(k, lang) for k in kinds],
        "count_problems": [int(rejected.counts.get(k, len(grouped.get(k, [])))) for k in kinds],
    }, columns=["kind", "label", "count_problems"])


def problem_examples(rejected: ingest.ImportRejected, kind: str, *, first: int = EXAMPLES_PER_KIND,
                     file_names: MappingT[str, str] | None = None, lang: str = "en") -> pd.DataFrame:
    """The first ``first`` problems of ``kind`` (by file and row): file, row, column, value,
    message (in ``lang``). ``file_names`` maps the importer's paths to the names the user knows (the upload's
    name instead of a temporary path)."""
    names = dict(file_names or {})
    found = rejected.by_kind().get(kind, [])[:first]
    frame = pd.DataFrame({
        "file": [names.get(p.file, Path(p.file).name) for p in found],
        "row": pd.array([p.row for p in found], dtype="Int64"),
        "column": [p.column for p in found],
        "value": [p.value for p in found],
        "message": [p.words(lang) for p in found],
    }, columns=["file", "row", "column", "value", "message"])
    return frame


def table_words(table: str, lang: str) -> str:
    """A contract table as the Data page names it: by its file name in English, in words in Chinese."""
    return table if i18n.check(lang) == "en" else i18n.t(f"data.table_{table}", lang)


def result_table(result: ingest.ImportResult, file_names: MappingT[str, str] | None = None,
                 lang: str = "en") -> pd.DataFrame:
    """One row per imported table: table (named in ``lang``), file, rows_read, rows_added,
    rows_updated, rows_unchanged."""
    names = dict(file_names or {})
    return pd.DataFrame([{
        "table": table_words(r.table, lang), "file": names.get(r.source, Path(r.source).name),
        "rows_read": r.rows_read,
        "rows_added": r.rows_added, "rows_updated": r.rows_updated, "rows_unchanged": r.rows_unchanged,
    } for r in result.tables], columns=["table", "file", "rows_read", "rows_added", "rows_updated",
                                        "rows_unchanged"])


def kept_notes(kept: MappingT[str, Sequence[tuple[str, str, int]]], lang: str) -> list[str]:
    """One line per table that keeps optional text values reading as empty written as text ("null",
    "NA"; ``BatchCheck.kept``, ``TableResult.kept_as_text``): which, how many rows, and how to
    import them as empty."""
    separator = i18n.t("data.list_separator", lang)
    return [i18n.t("data.kept_as_text", lang, table=table_words(table, lang), values=separator.join(
                i18n.t("data.kept_value", lang, column=c, value=v, rows=f"{n:,}") for c, v, n in values))
            for table, values in kept.items() if values]


# ------------------------------------------------------------------------------------------
# Importing (only for those who may write)
# ------------------------------------------------------------------------------------------

def import_batch(sources: Sequence[ingest.Source], *, user: auth.User | None, open_app: bool,
                 warehouse: str | os.PathLike | None = None,
                 progress: ingest.Progress | None = None) -> ingest.ImportResult:
    """:func:`o2o_ops.ingest.import_batch` for the app, after checking that ``user`` may write.

    ``open_app`` is True only when the app runs without sign-in (the open demo), where anyone may
    import. Otherwise ``user`` must be signed in with a role :func:`auth.can_write` allows. The
    check is here, in the call itself, so a page that showed an Import button to the wrong person
    (a role taken away mid-session, a crafted session state) still writes nothing.
    """
    if not open_app and (user is None or not auth.can_write(user)):
        who = f"{user.name} ({user.role.replace('_', ' ')})" if user else "Nobody signed in"
        raise NotAllowed(f"{who} may not import data: only admins and analysts change the warehouse. "
                         f"Nothing was written.")
    return ingest.import_batch(sources, warehouse=warehouse, imported_by=user.name if user else "app",
                               progress=progress)


# ------------------------------------------------------------------------------------------
# The warehouse as it stands
# ------------------------------------------------------------------------------------------

Scope = tuple[tuple[str, ...] | None, tuple[str, ...] | None]   # (stores, regions); None = no limit


def _scope_filters(scope_stores: tuple[str, ...] | None, scope_regions: tuple[str, ...] | None) -> Filters | None:
    if scope_stores is None and scope_regions is None:
        return None
    return Filters(scope_stores=scope_stores, scope_regions=scope_regions)


def import_log(con: duckdb.DuckDBPyConnection, limit: int = LOG_ROWS) -> pd.DataFrame:
    """The latest imports, newest first (grain: one row per table per import): imported_at,
    imported_by, file (the name only: the server's folders are nobody's business), table_name,
    rows_added, rows_updated, rows_rejected."""
    return db.run(con, """
        SELECT imported_at, imported_by,
               regexp_extract(source, '[^/\\\\]+$') AS file,
               table_name, rows_added, rows_updated, rows_rejected
        FROM import_log
        ORDER BY imported_at DESC, table_name
        LIMIT $limit
    """, {"limit": int(limit)})


#: Tables whose rows belong to a store (directly or through their order), so they can be counted
#: within a scope; campaigns and customers span stores and are left out of a scoped summary.
STORE_TABLES = ("stores", "orders", "redemptions", "reviews", "refunds", "costs")


def warehouse_summary(con: duckdb.DuckDBPyConnection, scope_stores: tuple[str, ...] | None = None,
                      scope_regions: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Rows per contract table, in import order (grain: one row per table): table_name,
    count_rows. Within a scope: only ``STORE_TABLES``, counting the rows of the scope's stores."""
    flt = _scope_filters(scope_stores, scope_regions)
    if flt is None:
        parts = " UNION ALL ".join(
            f"SELECT {i} AS position, '{t}' AS table_name, count(*) AS count_rows FROM {ingest.ident(t)}"
            for i, t in enumerate(ingest.IMPORT_ORDER))
        return db.run(con, f"SELECT table_name, count_rows FROM ({parts}) ORDER BY position")
    return db.run(con, f"""
        WITH mine AS (SELECT store_id FROM stores WHERE {flt.where_sql("stores")}),
        my_orders AS (SELECT order_id FROM orders WHERE store_id IN (SELECT store_id FROM mine))
        SELECT 'stores' AS table_name, (SELECT count(*) FROM mine) AS count_rows
        UNION ALL SELECT 'orders', (SELECT count(*) FROM my_orders)
        UNION ALL SELECT 'redemptions', (SELECT count(*) FROM redemptions WHERE order_id IN (SELECT order_id FROM my_orders))
        UNION ALL SELECT 'reviews', (SELECT count(*) FROM reviews WHERE order_id IN (SELECT order_id FROM my_orders))
        UNION ALL SELECT 'refunds', (SELECT count(*) FROM refunds WHERE order_id IN (SELECT order_id FROM my_orders))
        UNION ALL SELECT 'costs', (SELECT count(*) FROM costs WHERE store_id IN (SELECT store_id FROM mine))
    """, flt.params("stores"))


#: The checks that can be asked within a scope. ``orphans`` cannot: its rows point at stores and
#: orders that do not exist, which belong to nobody's scope.
SCOPED_CHECKS = ("date_gaps", "stores_without_coordinates", "reviews_without_redemptions")


def _scoped_check_sql(con: duckdb.DuckDBPyConnection, check: str, flt: Filters) -> tuple[str, str]:
    """(rows SQL, order) of ``check`` within ``flt``'s scope; parameters ``flt.params("stores")``.

    Grain as in :mod:`o2o_ops.data_checks`. Date gaps are the days without an order *at the scope's
    stores* between their first and last order.
    """
    where = flt.where_sql("stores", "s")
    if check in ("stores_without_coordinates", "reviews_without_redemptions"):
        # the stored rows (sql/rollups_data_checks.sql), narrowed to the scope's stores
        columns = quality.CHECK_COLUMNS[check]
        order = "store_id" if check == "stores_without_coordinates" else "posted_at, review_id"
        return (f"SELECT {', '.join('q.' + c for c in columns)} FROM {quality.stored_table(con, check)} q "
                f"JOIN stores s USING (store_id) WHERE {where}", order)
    if check == "date_gaps":
        return (f"""WITH days AS (
                SELECT DISTINCT r.date AS order_date FROM rollup_day_store_channel_campaign r
                JOIN stores s USING (store_id) WHERE {where}),
            steps AS (SELECT order_date, lead(order_date) OVER (ORDER BY order_date) AS next_date FROM days)
            SELECT order_date + 1 AS gap_start, next_date - 1 AS gap_end,
                   date_diff('day', order_date, next_date) - 1 AS days_missing
            FROM steps WHERE date_diff('day', order_date, next_date) - 1 >= 1""", "gap_start")
    raise ValueError(f"the check '{check}' cannot be narrowed to a scope")


def quality_checks(con: duckdb.DuckDBPyConnection, scope_stores: tuple[str, ...] | None = None,
                   scope_regions: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One row per check with its exact problem count: check, description, count_problems
    (:func:`o2o_ops.data_checks.run_all`). Within a scope, only ``SCOPED_CHECKS``, counted there."""
    flt = _scope_filters(scope_stores, scope_regions)
    if flt is None:
        return quality.run_all(con)
    rows = []
    for check in SCOPED_CHECKS:
        sql, _ = _scoped_check_sql(con, check, flt)
        measure = "sum(days_missing)" if check == "date_gaps" else "count(*)"
        count = db.scalar(con, f"SELECT coalesce({measure}, 0) FROM ({sql})", flt.params("stores"))
        rows.append({"check": check, "description": quality.CHECKS[check][1], "count_problems": int(count)})
    return pd.DataFrame(rows, columns=["check", "description", "count_problems"])


def quality_check_rows(con: duckdb.DuckDBPyConnection, check: str, scope_stores: tuple[str, ...] | None = None,
                       scope_regions: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The rows of one quality check (``check`` must be a name in ``quality.CHECKS``; within a
    scope, in ``SCOPED_CHECKS``), at most ``quality.EXAMPLES`` of them."""
    if check not in quality.CHECKS:
        raise ValueError(f"unknown quality check '{check}'; one of {', '.join(quality.CHECKS)}")
    flt = _scope_filters(scope_stores, scope_regions)
    if flt is None:
        return quality.CHECKS[check][0](con)
    if check not in SCOPED_CHECKS:
        raise ValueError(f"the check '{check}' is not shown within a scope; one of {', '.join(SCOPED_CHECKS)}")
    sql, order = _scoped_check_sql(con, check, flt)
    return db.run(con, f"SELECT * FROM ({sql}) ORDER BY {order} LIMIT $examples",
                  {**flt.params("stores"), "examples": quality.EXAMPLES})


def uploaded_by(user: Any) -> str:
    """The name recorded in the import log: the signed-in user's, else 'app'."""
    name = user.get("name") if isinstance(user, dict) else None
    return str(name) if name else "app"
