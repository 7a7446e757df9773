"""What the Data page needs from the core: table guesses, previews, batch checks with exact
counts, the problem report as tables, the import log, the warehouse summary and the rows of one
quality check.

The import itself is :mod:`o2o_ops.ingest`; this module only shapes its inputs and answers for a
page. Files are read by DuckDB (a preview reads the first rows only); nothing here loads a whole
file or a fact table into pandas. No streamlit here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping as MappingT, Sequence

import duckdb
import pandas as pd

from o2o_ops import data_checks as quality, db, ingest

#: Rows a preview shows.
PREVIEW_ROWS = 10
#: Examples the page lists per kind of problem (the counts stay exact).
EXAMPLES_PER_KIND = 5
#: Import-log rows the page shows (newest first).
LOG_ROWS = 500

PROBLEM_LABELS = {
    "file_too_large": "File too large",
    "unreadable_file": "File cannot be read",
    "bad_mapping": "Mapping problem",
    "missing_column": "Missing required column",
    "duplicate_column": "Two columns map to one",
    "missing_value": "Required value empty",
    "wrong_type": "Wrong type",
    "bad_date": "Date does not parse",
    "negative_value": "Negative value",
    "out_of_range": "Out of range",
    "not_allowed": "Value not allowed",
    "invalid_row": "Inconsistent row",
    "duplicate_key": "Duplicated key in the file",
    "unknown_reference": "Key points at nothing",
}


class PreviewError(ValueError):
    """A file cannot be previewed; the message says why, in words for the user."""


# ------------------------------------------------------------------------------------------
# Choosing the table
# ------------------------------------------------------------------------------------------

def guess_table(file_name: str) -> str | None:
    """The contract table a file is probably for, from its name: ``orders.csv`` and
    ``2024_Orders_export.csv`` -> orders, ``store-list.parquet`` -> stores; None when no word of
    the name is a table (or its singular). The first matching word wins."""
    stem = Path(file_name).stem.lower()
    words = [w for w in re.split(r"[^a-z]+", stem) if w]
    by_word = {t: t for t in ingest.CONTRACT}
    by_word.update({t[:-1]: t for t in ingest.CONTRACT})  # singulars: order, store, cost, ...
    for word in words:
        if word in by_word:
            return by_word[word]
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
            ignored.append(clean)
        else:
            positions[target] = i
    return positions, ignored


def preview(source: ingest.Source, rows: int = PREVIEW_ROWS) -> Preview:
    """The first ``rows`` rows of ``source`` with its columns renamed to the contract's (in the
    contract's order), read by DuckDB with ``LIMIT``. Raises :class:`PreviewError` when the file
    cannot be read."""
    if source.table not in ingest.CONTRACT:
        raise PreviewError(f"unknown table '{source.table}'")
    contract = ingest.CONTRACT[source.table]
    con = duckdb.connect()
    try:
        try:
            reader, params = ingest._reader(source)  # the importer's own reader: same dialect rules
            header = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", params).fetchall()]
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
    try:
        with ingest._staged(ordered, warehouse, progress) as (_, problems, counts, infos):
            problems, counts = list(problems), dict(counts)
            rows = {t: info.rows for t, info in infos.items()}
    except ingest.ImportRejected as exc:
        return BatchCheck(exc, rows)
    except (duckdb.Error, OSError, UnicodeError) as exc:
        # A file DuckDB chokes on in a way the importer did not foresee: still a user's problem.
        problems = [ingest.Problem(", ".join(str(s.path) for s in ordered), None, None, None,
                                   "unreadable_file", f"cannot read the batch: {_first_line(exc)}")]
        counts = {"unreadable_file": 1}
    if not problems:
        return BatchCheck(None, rows)
    return BatchCheck(ingest.ImportRejected(problems, counts), rows)


def problem_summary(rejected: ingest.ImportRejected) -> pd.DataFrame:
    """One row per kind of problem, in the importer's order: kind, label, count_problems (exact)."""
    grouped = rejected.by_kind()
    kinds = sorted(set(grouped) | set(rejected.counts), key=ingest._kind_rank)
    return pd.DataFrame({
        "kind": kinds,
        "label": [PROBLEM_LABELS.get(k, k) for k in kinds],
        "count_problems": [int(rejected.counts.get(k, len(grouped.get(k, [])))) for k in kinds],
    }, columns=["kind", "label", "count_problems"])


def problem_examples(rejected: ingest.ImportRejected, kind: str, *, first: int = EXAMPLES_PER_KIND,
                     file_names: MappingT[str, str] | None = None) -> pd.DataFrame:
    """The first ``first`` problems of ``kind`` (by file and row): file, row, column, value,
    message. ``file_names`` maps the importer's paths to the names the user knows (the upload's
    name instead of a temporary path)."""
    names = dict(file_names or {})
    found = rejected.by_kind().get(kind, [])[:first]
    frame = pd.DataFrame({
        "file": [names.get(p.file, Path(p.file).name) for p in found],
        "row": pd.array([p.row for p in found], dtype="Int64"),
        "column": [p.column for p in found],
        "value": [p.value for p in found],
        "message": [p.message for p in found],
    }, columns=["file", "row", "column", "value", "message"])
    return frame


def result_table(result: ingest.ImportResult, file_names: MappingT[str, str] | None = None) -> pd.DataFrame:
    """One row per imported table: table, file, rows_read, rows_added, rows_updated, rows_unchanged."""
    names = dict(file_names or {})
    return pd.DataFrame([{
        "table": r.table, "file": names.get(r.source, Path(r.source).name), "rows_read": r.rows_read,
        "rows_added": r.rows_added, "rows_updated": r.rows_updated, "rows_unchanged": r.rows_unchanged,
    } for r in result.tables], columns=["table", "file", "rows_read", "rows_added", "rows_updated",
                                        "rows_unchanged"])


# ------------------------------------------------------------------------------------------
# The warehouse as it stands
# ------------------------------------------------------------------------------------------

def import_log(con: duckdb.DuckDBPyConnection, limit: int = LOG_ROWS) -> pd.DataFrame:
    """The latest imports, newest first (grain: one row per table per import):
    imported_at, imported_by, file (name only), table_name, rows_added, rows_updated,
    rows_rejected, source (the full path the importer read)."""
    return db.run(con, """
        SELECT imported_at, imported_by,
               regexp_extract(source, '[^/\\\\]+$') AS file,
               table_name, rows_added, rows_updated, rows_rejected, source
        FROM import_log
        ORDER BY imported_at DESC, table_name
        LIMIT $limit
    """, {"limit": int(limit)})


def warehouse_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows per contract table, in import order (grain: one row per table): table_name, count_rows."""
    parts = " UNION ALL ".join(
        f"SELECT {i} AS position, '{t}' AS table_name, count(*) AS count_rows FROM {ingest.ident(t)}"
        for i, t in enumerate(ingest.IMPORT_ORDER))
    return db.run(con, f"SELECT table_name, count_rows FROM ({parts}) ORDER BY position")


def quality_checks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """:func:`o2o_ops.quality.run_all`: one row per check with its exact problem count."""
    return quality.run_all(con)


def quality_check_rows(con: duckdb.DuckDBPyConnection, check: str) -> pd.DataFrame:
    """The rows of one quality check (``check`` must be a name in ``quality.CHECKS``)."""
    if check not in quality.CHECKS:
        raise ValueError(f"unknown quality check '{check}'; one of {', '.join(quality.CHECKS)}")
    return quality.CHECKS[check][0](con)


def uploaded_by(user: Any) -> str:
    """The name recorded in the import log: the signed-in user's, else 'app'."""
    name = user.get("name") if isinstance(user, dict) else None
    return str(name) if name else "app"
