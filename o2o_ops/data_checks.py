"""Data-quality checks on the warehouse as it stands; each returns a DataFrame (empty = clean).

These look at what is already loaded — not at a file being imported (that is ``ingest``):
orphaned references, gaps in dates, stores without usable coordinates, reviews of orders that
were never redeemed. :func:`run_all` gives one summary row per check. No streamlit here.

The checks only change when the data does, so every load (demo build, import batch) stores their
results with the rollups (``sql/rollups_data_checks.sql``, one ``quality_<check>`` table per check)
and these functions read them: the Data page answers in milliseconds instead of joining every
child table with its parent. That SQL file is the only statement of each check. A warehouse built
before those tables existed is stale: the app refreshes it on start, the command line says to run
``python -m o2o_ops refresh``.
"""

from __future__ import annotations

import pandas as pd
import duckdb

from o2o_ops import db

#: Rows of examples a check returns at most (its count in :func:`run_all` stays exact).
EXAMPLES = 1000

#: The columns of the checks that list rows of a contract table (for the scoped views too).
CHECK_COLUMNS = {
    "stores_without_coordinates": ("store_id", "name", "city", "lat", "lon"),
    "reviews_without_redemptions": ("review_id", "order_id", "rating", "posted_at", "store_id"),
}


def stored_table(con: duckdb.DuckDBPyConnection, check: str) -> str:
    """The table holding ``check``'s stored result (built with the rollups)."""
    table = f"quality_{check}"
    found = db.scalar(con, "SELECT count(*) FROM information_schema.tables "
                           "WHERE table_schema = 'main' AND table_name = $table", {"table": table})
    if not found:
        raise db.StaleWarehouse(
            f"The warehouse has no stored data-quality results ({table}); it was built by an older "
            "o2o-ops. Rebuild its derived tables (the data is kept) with `python -m o2o_ops refresh`.")
    return table


def orphans(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per foreign key of the contract whose child rows point at a missing parent:
    table, column, parent, count_orphans, example_value. The schema enforces these keys, so rows
    here mean the warehouse was written around the importer."""
    df = db.run(con, f"SELECT table_name, column_name, parent_table, count_orphans, example_value "
                     f"FROM {stored_table(con, 'orphans')} ORDER BY position")
    return df[df["count_orphans"] > 0].reset_index(drop=True)


def date_gaps(con: duckdb.DuckDBPyConnection, *, min_days: int = 1) -> pd.DataFrame:
    """Runs of days with no orders between the first and last order date (grain: one row per
    gap): gap_start, gap_end, days_missing. Gaps of fewer than ``min_days`` days are left out."""
    return db.run(con, f"""
        SELECT gap_start, gap_end, days_missing FROM {stored_table(con, 'date_gaps')}
        WHERE days_missing >= $min_days ORDER BY gap_start LIMIT $examples
    """, {"min_days": min_days, "examples": EXAMPLES})


def stores_without_coordinates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Stores whose coordinates cannot be mapped: missing, or exactly (0, 0) — the usual
    placeholder of an export that had none."""
    columns = ", ".join(CHECK_COLUMNS["stores_without_coordinates"])
    return db.run(con, f"SELECT {columns} FROM {stored_table(con, 'stores_without_coordinates')} "
                       f"ORDER BY store_id LIMIT $examples", {"examples": EXAMPLES})


def reviews_without_redemptions(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Reviews of orders that have no redemption: a customer reviewing a service the warehouse
    says was never delivered (one row per review), oldest first."""
    columns = ", ".join(CHECK_COLUMNS["reviews_without_redemptions"])
    return db.run(con, f"SELECT {columns} FROM {stored_table(con, 'reviews_without_redemptions')} "
                       f"ORDER BY posted_at, review_id LIMIT $examples", {"examples": EXAMPLES})


def discount_direction(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Campaigns whose ``discount_rate`` reads the wrong way round against their own orders (one
    row per campaign): the contract's rate is the share *taken off* (0.2 = 20 % off); a rate of
    0.8 whose orders were discounted ~20 % was written as the share paid. Flagged when the
    campaign's orders (5 at least, with a list price and a discount) were discounted closer to
    ``1 − rate`` than to the rate, and more than 0.1 away from it."""
    return db.run(con, f"SELECT campaign_id, name, discount_rate, observed_discount_share, count_orders "
                       f"FROM {stored_table(con, 'discount_direction')} ORDER BY campaign_id LIMIT $examples",
                  {"examples": EXAMPLES})


CHECKS = {
    "orphans": (orphans, "child rows whose referenced parent is missing"),
    "date_gaps": (date_gaps, "days without any order between the first and last order"),
    "stores_without_coordinates": (stores_without_coordinates, "stores with no usable lat/lon"),
    "reviews_without_redemptions": (reviews_without_redemptions, "reviews of never-redeemed orders"),
    "discount_direction": (discount_direction, "campaigns whose discount_rate looks like the share paid, not taken off"),
}


def run_all(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per check: check, description, count_problems (orphan rows, missing days, stores,
    reviews respectively), counted over every stored row (the example lists are capped)."""
    rows = []
    for name, (_, description) in CHECKS.items():
        table = stored_table(con, name)
        measure = {"orphans": "sum(count_orphans)", "date_gaps": "sum(days_missing)"}.get(name, "count(*)")
        n = int(db.scalar(con, f"SELECT coalesce({measure}, 0) FROM {table}"))
        rows.append({"check": name, "description": description, "count_problems": n})
    return pd.DataFrame(rows)
