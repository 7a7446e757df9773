"""Data-quality checks on the warehouse as it stands; each returns a DataFrame (empty = clean).

These look at what is already loaded — not at a file being imported (that is ``ingest``):
orphaned references, gaps in dates, stores without usable coordinates, reviews of orders that
were never redeemed. :func:`run_all` gives one summary row per check. No streamlit here.

The checks only change when the data does, so every load (demo build, import batch) stores their
results with the rollups (``sql/rollups_data_checks.sql``, one ``quality_<check>`` table per check)
and these functions read them: the Data page answers in milliseconds instead of joining every
child table with its parent. A warehouse built before those tables existed, or ``live=True``, runs
the queries on the tables as they stand; both give the same rows.
"""

from __future__ import annotations

import pandas as pd
import duckdb

from o2o_ops import db
from o2o_ops.ingest import CONTRACT, ident

#: Rows of examples a check returns at most (its count in :func:`run_all` stays exact).
EXAMPLES = 1000


def _stored(con: duckdb.DuckDBPyConnection, check: str, live: bool) -> str | None:
    """The table holding ``check``'s stored result, or None to run the check live."""
    if live:
        return None
    table = f"quality_{check}"
    found = db.scalar(con, "SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = 'main' AND table_name = $table", {"table": table})
    return table if found else None


def orphans(con: duckdb.DuckDBPyConnection, *, live: bool = False) -> pd.DataFrame:
    """One row per foreign key of the contract whose child rows point at a missing parent:
    table, column, parent, count_orphans, example_value. The schema enforces these keys, so rows
    here mean the warehouse was written around the importer."""
    if stored := _stored(con, "orphans", live):
        df = db.run(con, f"SELECT table_name, column_name, parent_table, count_orphans, example_value "
                         f"FROM {stored} ORDER BY position")
        return df[df["count_orphans"] > 0].reset_index(drop=True)
    parts = []
    for table in CONTRACT.values():
        for fk in table.foreign_keys:
            c, p, pc = ident(fk.column), ident(fk.parent), ident(fk.parent_column)
            parts.append(
                f"SELECT '{table.name}' AS table_name, '{fk.column}' AS column_name, "
                f"'{fk.parent}' AS parent_table, count(*) AS count_orphans, "
                f"min(x.{c}) AS example_value FROM {ident(table.name)} x "
                f"WHERE x.{c} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {p} y WHERE y.{pc} = x.{c})")
    df = db.run(con, " UNION ALL ".join(parts))
    return df[df["count_orphans"] > 0].reset_index(drop=True)


def date_gaps(con: duckdb.DuckDBPyConnection, *, min_days: int = 1, live: bool = False) -> pd.DataFrame:
    """Runs of days with no orders between the first and last order date (grain: one row per
    gap): gap_start, gap_end, days_missing. Gaps of fewer than ``min_days`` days are left out."""
    if stored := _stored(con, "date_gaps", live):
        return db.run(con, f"""
            SELECT gap_start, gap_end, days_missing FROM {stored}
            WHERE days_missing >= $min_days ORDER BY gap_start LIMIT $examples
        """, {"min_days": min_days, "examples": EXAMPLES})
    return db.run(con, """
        WITH days AS (
            SELECT DISTINCT CAST(ordered_at AS DATE) AS order_date FROM orders
        ),
        steps AS (
            SELECT order_date, lead(order_date) OVER (ORDER BY order_date) AS next_date FROM days
        )
        SELECT order_date + 1 AS gap_start, next_date - 1 AS gap_end,
               date_diff('day', order_date, next_date) - 1 AS days_missing
        FROM steps
        WHERE date_diff('day', order_date, next_date) - 1 >= $min_days
        ORDER BY gap_start
        LIMIT $examples
    """, {"min_days": min_days, "examples": EXAMPLES})


def stores_without_coordinates(con: duckdb.DuckDBPyConnection, *, live: bool = False) -> pd.DataFrame:
    """Stores whose coordinates cannot be mapped: missing, or exactly (0, 0) — the usual
    placeholder of an export that had none."""
    if stored := _stored(con, "stores_without_coordinates", live):
        return db.run(con, f"SELECT store_id, name, city, lat, lon FROM {stored} ORDER BY store_id LIMIT $examples",
                      {"examples": EXAMPLES})
    return db.run(con, """
        SELECT store_id, name, city, lat, lon
        FROM stores
        WHERE lat IS NULL OR lon IS NULL OR (lat = 0 AND lon = 0)
        ORDER BY store_id
        LIMIT $examples
    """, {"examples": EXAMPLES})


def reviews_without_redemptions(con: duckdb.DuckDBPyConnection, *, live: bool = False) -> pd.DataFrame:
    """Reviews of orders that have no redemption: a customer reviewing a service the warehouse
    says was never delivered (one row per review)."""
    if stored := _stored(con, "reviews_without_redemptions", live):
        # the first EXAMPLES in posted_at order, ties by review_id: an order of real columns (not
        # rowid), so a warehouse assembled from a Spark build lists the same reviews
        return db.run(con, f"SELECT review_id, order_id, rating, posted_at, store_id FROM {stored} "
                           f"ORDER BY posted_at, review_id LIMIT $examples", {"examples": EXAMPLES})
    return db.run(con, """
        SELECT v.review_id, v.order_id, v.rating, v.posted_at, o.store_id
        FROM reviews v
        JOIN orders o USING (order_id)
        WHERE NOT EXISTS (SELECT 1 FROM redemptions r WHERE r.order_id = v.order_id)
        ORDER BY v.posted_at, v.review_id
        LIMIT $examples
    """, {"examples": EXAMPLES})


_COUNT_LIVE = {
    "stores_without_coordinates": "SELECT count(*) FROM stores WHERE lat IS NULL OR lon IS NULL OR (lat = 0 AND lon = 0)",
    "reviews_without_redemptions": """SELECT count(*) FROM reviews v JOIN orders o USING (order_id)
        WHERE NOT EXISTS (SELECT 1 FROM redemptions r WHERE r.order_id = v.order_id)""",
}


def _count_all(con: duckdb.DuckDBPyConnection, check: str, live: bool) -> int:
    """The exact number of problems of a check whose example rows are capped at EXAMPLES."""
    stored = _stored(con, check, live)
    return int(db.scalar(con, f"SELECT count(*) FROM {stored}" if stored else _COUNT_LIVE[check]))


CHECKS = {
    "orphans": (orphans, "child rows whose referenced parent is missing"),
    "date_gaps": (date_gaps, "days without any order between the first and last order"),
    "stores_without_coordinates": (stores_without_coordinates, "stores with no usable lat/lon"),
    "reviews_without_redemptions": (reviews_without_redemptions, "reviews of never-redeemed orders"),
}


def run_all(con: duckdb.DuckDBPyConnection, *, live: bool = False) -> pd.DataFrame:
    """One row per check: check, description, count_problems (orphan rows, missing days, stores,
    reviews respectively)."""
    rows = []
    for name, (func, description) in CHECKS.items():
        df = func(con, live=live)
        if name == "orphans":
            n = int(df["count_orphans"].sum()) if not df.empty else 0
        elif name == "date_gaps":
            n = int(df["days_missing"].sum()) if not df.empty else 0
        elif len(df) < EXAMPLES:
            n = len(df)
        else:  # the examples are capped; count them all
            n = _count_all(con, name, live)
        rows.append({"check": name, "description": description, "count_problems": n})
    return pd.DataFrame(rows)
