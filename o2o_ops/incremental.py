"""Incremental maintenance of the derived tables after an import batch (issue #17).

The full build (:func:`o2o_ops.db.rebuild_rollups`) recomputes every derived table from every
contract row: its cost grows with the warehouse. After an import batch, this module recomputes
only the rows the batch can have changed, from the same SQL (``o2o_ops/sql/*.sql``): each build
step carries ``{{ where_touched KIND: key expressions }}`` restrictions, rendered as nothing for
the full build and as tests over temp tables of touched keys here (o2o_ops/kpis/sql.py
``TOUCHED_TESTS``). For every keyed table (:data:`KEYED`) the rows of the touched keys are
DELETEd and the restricted query's rows INSERTed; the small global tables (:data:`WHOLE`:
coverage, data checks, opening hours, inspections) are rebuilt whole, lift's store-days and cells
per touched store (and weekday, when the last day moved: :data:`KEYED_LIFT`), and the tables
computed in Python from what changed (:func:`_python_derived`: anomaly scores kept unless a judged
store-week changed, campaign lift for the campaigns whose inputs changed, the load ahead whole).

How the touched keys are found
    1. While merging, the importer notes (:func:`note_changes`, before it writes) the orders it
       writes and the orders whose redemptions, reviews or refunds it writes (the old and the new
       order of a moved row), the dates of costs and events written (old and new), and whether a
       store or campaign that existed was changed.
    2. Orders whose facts may change with the "as of" time (the latest order): when it moves,
       orders whose validity or promise falls between the old and the new time.
    3. The customers of those orders, and of their other orders those whose previous / next order
       date no longer matches (the neighbours of an order added, moved or re-timed in the
       customer's history). The facts of all these are recomputed; the orders whose recomputed
       facts differ from the stored ones, plus the orders of step 1, are the changed orders.
    4. From the changed orders' old and new facts: their store x order date and store x
       redemption date (day rollups), store x ISO week (week rollups; plus every store's weeks
       between the old and the new first / last order date, whose days-in-data changes), campaign
       (campaign copies) and customer (campaign orders, coupon events); the store x order dates of
       unredeemed orders whose ageing bucket moves with the "as of" date (funnel / ageing). In two
       sets: every changed order's keys, for the steps that read the "as of" flags
       (:data:`AS_OF_FLAGS`: the order rollup and what is summed from its flags), and the keys of the
       changed orders but those of which only those flags changed, for every other step.

When it does not apply (:func:`full_rebuild_reason`) the full build runs instead: a new or empty
warehouse, a warehouse whose derived tables are stale or missing, a changed store or campaign
(their attributes are copied into most rows), or a batch that touches more than the share
``O2O_INCREMENTAL_MAX_SHARE`` of the orders. ``refresh`` is always the full build.

DuckDB only: the Spark build renders the same files with the restrictions left out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any, Sequence

import duckdb

from o2o_ops import config
from o2o_ops.kpis.sql import AS_OF_FLAGS as AS_OF_FACTS

#: derived table -> (kind of touched keys, its key columns): rows DELETEd and re-INSERTed
KEYED: dict[str, tuple[str, tuple[str, ...]]] = {
    "order_facts": ("orders", ("order_id",)),
    "rollup_day_store_channel_campaign": ("store_days", ("store_id", "date")),
    "rollup_store_hour": ("store_days", ("store_id", "date")),
    "rollup_costs": ("cost_days", ("campaign_id", "date")),
    "rollup_week_store_channel_campaign": ("store_weeks", ("store_id", "date")),
    "rollup_costs_week": ("cost_weeks", ("campaign_id", "date")),
    "rollup_day_store": ("store_days", ("store_id", "date")),
    "rollup_week_store": ("store_weeks", ("store_id", "date")),
    "rollup_week_store_hour": ("store_weeks", ("store_id", "date")),
    "rollup_campaign_day": ("store_days", ("store_id", "date")),
    "campaign_order_facts": ("customers", ("customer_id",)),
    "rollup_campaign_store": ("campaigns", ("campaign_id",)),
    "rollup_store_day_totals": ("store_days", ("store_id", "date")),
    "rollup_campaign_costs": ("cost_days", ("campaign_id", "date")),
    "rollup_order_stage_day": ("stage_store_days", ("store_id", "date")),
    "rollup_anomaly_store_week": ("store_weeks", ("store_id", "week_start")),
    "rollup_review_rating_day": ("store_days", ("store_id", "date")),
    "rollup_complaint_day": ("store_days", ("store_id", "date")),
    "rollup_refund_reason_day": ("store_days", ("store_id", "date")),
    "event_facts": ("events", ("date", "customer_id")),
    "quality_reviews_without_redemptions": ("orders", ("order_id",)),
    "rollup_lift_store_day": ("lift_store_days", ("store_id", "date")),
    "rollup_lift_store_level": ("store_levels", ("store_id", "wd")),
    "rollup_lift_cell_day": ("cell_weekdays", ("city", "category", "date")),
}

#: lift's store-days, levels and cells (:func:`_lift_mode`): a store's row of a day holds that
#: day's totals and campaigns, its level of a weekday the mean of its clean days of that weekday up
#: to the last day of data. So a changed store-day of ``rollup_store_day_totals`` touches that
#: store-day and its store's weekday; a store whose campaigns or first day changed, all its days and
#: weekdays; the last day moving, the days it moved over for every store (a new day for every
#: store, a zero for one without orders) and every store's weekdays of those days. A cell x weekday
#: is touched with any of its stores'. Rebuilt whole when the last day moved a week or more
KEYED_LIFT = ("rollup_lift_store_day", "rollup_lift_store_level", "rollup_lift_cell_day")

#: ... and rebuilt whole when more than this share of the store x weekday pairs are touched:
#: replacing (and comparing) most of the table costs more than rebuilding it (1,000 corrections
#: spread over the 1M bench warehouse's history touched 198 of its 200 stores, all their days: 1.2
#: s against 0.4 s whole)
LIFT_PER_STORE_MAX_SHARE = 0.25

#: keyed tables whose replaced rows are compared with the rows written (the temp table
#: ``o2o_diff_<table>``: the rows only one side has), because the tables computed in Python read
#: them: ``anomaly_scores`` is recomputed only when a judged store-week changed, ``campaign_lift``
#: only for the campaigns whose inputs changed (:func:`_python_derived`)
COMPARED = ("rollup_anomaly_store_week", "rollup_campaign_store", "rollup_campaign_costs",
            "rollup_store_day_totals", "rollup_lift_store_day", "rollup_lift_store_level", "rollup_lift_cell_day")

# the group keys of the order-grain rollups and of the store hours
_ORDER_KEYS = ("date", "store_id", "city", "district", "region", "category", "channel", "campaign_id",
               "campaign_kind")
_HOUR_KEYS = ("date", "hour", "store_id", "city", "district", "region", "category")

#: keyed tables kept by deltas: table -> (the one table its query sums, the column counting the
#: summed rows, its group keys). Each such query is sums and counts of one table's rows grouped by
#: its keys, so it is linear in those rows: a key's row after the batch is its row before, plus the
#: query over the changed source rows as they are, minus the query over them as they were
#: (:func:`_merge_deltas`). That reads the changed rows alone, where the restricted query reads
#: every row of the touched keys (100,000 new orders into 10 million: the day rollup recomputed
#: 131,060 store-days from order_facts in 4.4 s; by deltas 2.8-3.0 s), and rewrites only the keys a
#: changed row reaches. The source rows as they were and as they are: for order_facts, the changed
#: orders' old and new facts; for a table kept here, the rows it changed, before and after
#: (``o2o_was_<table>`` / ``o2o_now_<table>``). A sum is NULL when no row gives it a value: when a
#: key's sum had a value, and the changed rows as they were gave it one but as they are give none,
#: whether the rows left give it one cannot be told from the sums, and that key's store-day (or
#: week) is recomputed by the restricted query over the source table itself. The store-level day
#: and week rollups are not kept so: their source is pre-summed, and recomputing a store-day from
#: it cost less than its deltas (1.1 against 2.8 s, 0.6 against 2.0 s for 100,000 new orders)
ADDITIVE: dict[str, tuple[str, str | None, tuple[str, ...]]] = {
    "rollup_day_store_channel_campaign": ("order_facts", "count_orders", _ORDER_KEYS),
    "rollup_store_hour": ("order_facts", "count_redemptions", _HOUR_KEYS),
    "rollup_week_store_channel_campaign": ("rollup_day_store_channel_campaign", "count_orders", _ORDER_KEYS),
    "rollup_week_store_hour": ("rollup_store_hour", "count_redemptions", _HOUR_KEYS),
    # no column counts its rows (a row per group with an order): see AGED
    "rollup_order_stage_day": ("order_facts", None, _ORDER_KEYS),
}

#: tables of :data:`ADDITIVE` whose query also reads the "as of" time (``{{ touched_as_of order_facts
#: }}``, o2o_ops/kpis/sql.py): the order stages' breakage ageing buckets paid, unredeemed orders by
#: the days their validity has left as of the latest order. Their deltas read the changed orders and,
#: besides, the other orders whose bucket may move with the "as of" time (``o2o_ageing_orders``, found
#: by :func:`_key_tables`: on both sides, so those whose bucket stays cancel out); the side as they
#: were with the time before the batch, the side as they are with the time after it. Only the keys
#: whose row then differs are rewritten. Each sum is named with the count of the rows it sums: a
#: sum whose count falls to 0 is NULL, and one whose changed rows gave a value and give none is
#: known to keep one when the rows left sum to more than rounding (else its store-day is recomputed,
#: as for any table here). Measured 2026-12-04, 1,000 new orders into 10 million (the "as of" moving
#: a day), nine rounds alternating with the code before, which recomputed whole from order_facts the
#: store-days of the orders near a bound: rows rewritten 70,158 -> 6,980, the import's WAL 41.8 ->
#: 25.9 MB, the store-day slice (that held those store-days for this step alone) 163,380 -> 1,000
#: rows; the step itself no cheaper (0.19-0.26 against 0.21-0.27 s), the import 6.94 -> 6.78 s
#: (medians; 8 of 9 pairs faster). A correction batch, the "as of" unchanged, pays 0.05-0.16 s more
#: for the step (the rows before of keys spread over the history). Rewriting the changed keys by an
#: UPDATE of their changed columns instead wrote less WAL (0.6 against 1.8 MB) but its checkpoint
#: rewrote those columns of every row group touched: 0.53-0.66 against 0.46-0.58 s
AGED: dict[str, dict[str, str]] = {
    "rollup_order_stage_day": {f"paid_amount_ageing_{i}": f"count_ageing_{i}" for i in range(5)},
}

#: the store's and campaign's attributes the rollups copy: set by a key's store and campaign (a
#: batch that changes them takes the full build), so the deltas are joined on the other keys
_ATTRIBUTES = ("city", "district", "region", "category", "campaign_kind")

#: the slices an import gathers once, before the steps that read them (``{{ touched_slice TABLE: NAME
#: }}`` in the SQL files, o2o_ops/kpis/sql.py): (TABLE, NAME) -> the restrictions (kind of touched
#: keys, key expressions) the steps apply to it; the slice holds every row any of them selects. At
#: 10 million orders the steps that read order_facts by touched store-day each tested every row
#: (0.15-0.5 s a read) where the slice of a day's 1,000 new orders holds 240,756 (gathered in about
#: 1 s: six steps went from 2.2 to 0.8 s; two of them, the day rollup and store hours, are now kept
#: by deltas, :data:`ADDITIVE`). A slice by touched customer for the campaign orders' four reads
#: cost more than the reads (1.0 against 0.65 s): the steps read order_facts itself
SLICES: dict[tuple[str, str], tuple[tuple[str, tuple[str, ...]], ...]] = {
    # (the order stages, kept by deltas since (AGED), no longer read it: their store-days of orders
    # crossing an ageing bound were most of its rows)
    ("order_facts", "store_days"): (("store_days", ("store_id", "order_date")),),
    # the touched customers' orders, gathered by the orders step itself (:data:`EARLY_SLICES`) from
    # their stored facts and the batch's orders (:func:`_gather_customer_slice`): its neighbour check
    # and order_facts.sql read them (the orders it recomputes are orders of touched customers:
    # order_facts.sql joins each to its customer's sequence). Each of those three reads tested all
    # 10 million orders' customer or order id
    ("orders", "customers"): (("customers", ("customer_id",)),),
    # the noted orders as orders holds them now, for order_facts.sql's main SELECT, read by row id
    # (:func:`_gather_order_rows`): by order id, DuckDB tested the 10 million order ids (0.40 s for
    # 1,000 corrections spread over them, 0.11 s by row id)
    ("orders", "order_rows"): (("orders", ("order_id",)),),
    # their redemptions, reviews and refunds, for order_facts.sql: a new order's among the rows the
    # batch appended, by row id (:func:`_gather_children`); by order id, DuckDB tested the 8 million
    # redemptions' and 3.7 million reviews' order ids when the batch's ids fall among the stored
    # ones (random ids: 0.25 and 0.12 s for 1,000 new orders)
    **{(child, "orders"): (("orders", ("order_id",)),) for child in ("redemptions", "reviews", "refunds")},
}

#: the reviews and refunds of the orders of the touched store-days, for their rollups (which join them
#: to ``{{ touched_slice order_facts: store_days }}`` by order id, tests/test_incremental.py checks):
#: the touched orders' own slice (:func:`_gather_children`) when every order of those store-days is
#: a touched order (a day's feed: its new day holds its new orders alone), else the table itself
#: (:func:`_gather_store_day_children`). With random ids, DuckDB tested every stored review's order
#: id against the store-days' orders: 0.11 s (ratings), 0.08 s (complaints), 0.03 s (refund reasons)
STORE_DAY_CHILDREN = ("reviews", "refunds")

#: the slices :func:`_orders_step` gathers (the others are gathered after the touched keys are known)
EARLY_SLICES = (("orders", "customers"), ("orders", "order_rows"),
                ("redemptions", "orders"), ("reviews", "orders"), ("refunds", "orders"))

#: the columns of a slice, where its readers name more columns than they read of it: order_facts.sql
#: reads the touched customers' orders for their sequence alone (its customer_sequence), and every
#: column of the noted orders from ``orders`` itself (for new orders, the last row groups). Taking
#: every column of the 7,551 orders of 1,000 new orders' customers, spread over the 10 million, took
#: 0.34 s. tests/test_incremental.py checks that the slice's readers read no other column of it
SLICE_COLUMNS = {("orders", "customers"): ("customer_id", "order_id", "ordered_at")}

#: No checkpoint before db.rebuild's at the end: the steps keep row ids of ``order_facts`` from the
#: orders step to the campaign orders (``customer_facts`` in kpis/sql.py), and a checkpoint may move
#: them (it vacuums row groups with deleted rows: the property tests fail with one part-way). The
#: part-way checkpoints there were (after the week rollups and the data checks, to bound memory)
#: made no difference by 2026-12-04 at 10 million orders: 1,000 new orders 7.80-7.89 s and 913 MiB
#: without them against 7.82-7.98 s and 903 MiB with them, alternating in child processes

#: derived tables kept as they are while they hold no problem: the importer refuses a row whose key
#: has no parent (in the warehouse or the batch) and never deletes a row, so a batch cannot add an
#: orphan; once there are orphans (a warehouse loaded otherwise), a batch may resolve them and the
#: table is rebuilt whole
KEPT_WHILE_CLEAN = {"quality_orphans": "SELECT coalesce(sum(count_orphans), 0) = 0 FROM quality_orphans"}

#: derived tables rebuilt whole: global, and small or cheap whatever the batch (bench: import)
WHOLE = (
    "coverage", "quality_discount_direction", "quality_date_gaps", "quality_stores_without_coordinates",
    "inspection_facts", "store_hour_open", "store_weekday_hours",
)

_NOTES = {
    "o2o_note_orders": "order_id VARCHAR",
    "o2o_note_cost_dates": "date DATE",
    "o2o_note_event_dates": "date DATE",
    "o2o_note_campaigns": "campaign_id VARCHAR",
    "o2o_note_changed_dimensions": "table_name VARCHAR",
    # each contract table the batch wrote: its last row id before the write, and whether its rows
    # were only appended (the coverage step reads only the appended rows of such a table)
    "o2o_note_written": "table_name VARCHAR, last_rowid BIGINT, only_appended BOOLEAN",
    # the columns of each contract table the merge UPDATEd in some stored row ("*": every column,
    # rows deleted and put back): coverage keeps its spans of the others
    "o2o_note_updated_columns": "table_name VARCHAR, column_name VARCHAR",
    # the customers the orders the batch's orders file updated had before (the orders step reads
    # the stored facts of the batch's orders among their customers' rows)
    "o2o_note_old_customers": "customer_id VARCHAR",
}
_ORDER_CHILDREN = ("redemptions", "reviews", "refunds")
#: the columns of a changed row as it was stored that :func:`note_changes` reads ("*": every column),
#: besides the batch's values: the importer's merge reads them with the row's other stored columns,
#: by row id, and hands them over as ``was_<column>`` (read again by row id after the merge, the
#: rows of 1,000 orders corrected all over the two years took 0.27 s, their customers 0.10 s)
STORED_NOTED: dict[str, str | tuple[str, ...]] = {
    "orders": "*", "redemptions": ("order_id",), "reviews": ("order_id",), "refunds": ("order_id",),
    "costs": ("date",), "events": ("occurred_at",)}


def _ensure_notes(con: duckdb.DuckDBPyConnection) -> None:
    for name, columns in _NOTES.items():
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns})")
    # the rows the batch's orders file writes, as the merge leaves them (every column of orders, and
    # the stored row's id; NULL for a row it appends): the orders it names, their customers now
    # (their old ones are in order_facts) and the row ids of those it updated
    con.execute("CREATE TEMP TABLE IF NOT EXISTS o2o_note_order_values AS "
                "SELECT CAST(NULL AS BIGINT) AS o2o_rid, * FROM orders LIMIT 0")


def appended_orders(con: duckdb.DuckDBPyConnection) -> str | None:
    """SQL of the order ids this batch's merge appended to ``orders`` (after its last row id before
    the write), when no stored row of an order's child names an order the warehouse lacked
    (:func:`_orphans_of_orders`): then no stored redemption or refund can be of such an order, and
    the merge of a child keyed by its order id need not look those keys up among millions. None
    when the batch appended no order, or orphans were counted. Called by the importer's merge,
    after the orders'."""
    _ensure_notes(con)
    last = _last_rowid_before(con, "orders")
    if last is None or _orphans_of_orders(con):
        return None
    return f"SELECT order_id FROM orders WHERE rowid > {int(last)}"


def stored_columns_noted(table: str, columns: Sequence[str]) -> list[str]:
    """The columns of ``table`` (``columns``: its contract's) whose stored values the importer's
    merge hands to :func:`note_changes` as ``was_<column>`` (:data:`STORED_NOTED`)."""
    noted = STORED_NOTED.get(table, ())
    return list(columns) if noted == "*" else list(noted)


def note_changes(con: duckdb.DuckDBPyConnection, table: str, chg: str, columns: Sequence[str],
                 noted: Sequence[str]) -> None:
    """Note what the rows of ``chg`` (the rows of ``table`` about to be written: new or changed,
    with the flag ``is_new``, the batch's ``columns`` and, for a changed one, ``_rid``: the row id of
    its stored row, and ``was_<column>``: its stored values of the ``noted`` columns,
    :func:`stored_columns_noted`) touch, before they are written. Called by the importer's merge."""
    _ensure_notes(con)
    con.execute(f"INSERT INTO o2o_note_written SELECT $t, (SELECT coalesce(max(rowid), -1) FROM {table}), "
                f"NOT EXISTS (SELECT 1 FROM {chg} WHERE NOT is_new)", {"t": table})
    old = f"{chg} WHERE NOT is_new"      # the stored rows the batch changes: their was_ columns
    if table == "orders":
        con.execute(f"INSERT INTO o2o_note_orders SELECT order_id FROM {chg}")
        con.execute(f"INSERT INTO o2o_note_old_customers SELECT was_customer_id FROM {old}")
        # each row as the merge leaves it: the batch's value of a column the file gives, else the
        # stored one (NULL in a row it appends: orders' columns have no default); cast to the
        # column's type by the INSERT, as the merge's own INSERT and UPDATE cast them
        given = set(columns)
        names = ", ".join(f'"{c}"' for c in noted)
        values = ", ".join(f'"{c}"' if c in given else f'"was_{c}"' for c in noted)
        con.execute(f"INSERT INTO o2o_note_order_values (o2o_rid, {names}) "
                    f"SELECT CASE WHEN is_new THEN NULL ELSE _rid END, {values} FROM {chg}")
    elif table in _ORDER_CHILDREN:
        con.execute(f"INSERT INTO o2o_note_orders SELECT order_id FROM {chg} "
                    f"UNION ALL SELECT was_order_id FROM {old}")
    elif table == "costs":
        con.execute(f"INSERT INTO o2o_note_cost_dates SELECT date FROM {chg} UNION ALL SELECT was_date FROM {old}")
    elif table == "events":
        con.execute(f"INSERT INTO o2o_note_event_dates SELECT CAST(occurred_at AS DATE) FROM {chg} "
                    f"UNION ALL SELECT CAST(was_occurred_at AS DATE) FROM {old}")
    elif table in ("stores", "campaigns"):
        if con.execute(f"SELECT count(*) FROM {chg} WHERE NOT is_new").fetchone()[0]:
            con.execute("INSERT INTO o2o_note_changed_dimensions VALUES ($t)", {"t": table})
        if table == "campaigns":
            con.execute(f"INSERT INTO o2o_note_campaigns SELECT campaign_id FROM {chg}")
    # customers, store_hours, inspections, targets: read only by the tables rebuilt whole


def note_rewritten(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Note that the merge deleted and put back rows of ``table`` (rows referencing an order that
    moved to another store): not only appended."""
    _ensure_notes(con)
    con.execute("INSERT INTO o2o_note_written VALUES ($t, -1, false)", {"t": table})
    note_updated_columns(con, table, ["*"])


def note_updated_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str]) -> None:
    """Note the columns of ``table`` the merge is about to UPDATE in stored rows (``*``: all)."""
    _ensure_notes(con)
    if columns:
        con.executemany("INSERT INTO o2o_note_updated_columns VALUES ($1, $2)", [[table, c.lower()] for c in columns])


def full_rebuild_reason(con: duckdb.DuckDBPyConnection, *, existed: bool) -> str | None:
    """Why this batch needs the full build (None: the incremental path applies). ``con`` is the
    write copy after the batch was written; ``existed`` whether it was copied from a warehouse."""
    from o2o_ops import db
    if not existed:
        return "a new warehouse"
    tables = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    missing = [t for t in (*KEYED, *WHOLE, *KEPT_WHILE_CLEAN, *PYTHON_DERIVED) if t not in tables]
    if missing or "warehouse_meta" not in tables:
        return "derived tables missing"
    built = con.execute("SELECT value FROM warehouse_meta WHERE key = 'rollups_version'").fetchone()
    if not built or built[0] != db.rollups_version():
        return "derived tables of another version"
    _ensure_notes(con)
    changed = [r[0] for r in con.execute(
        "SELECT DISTINCT table_name FROM o2o_note_changed_dimensions ORDER BY 1").fetchall()]
    if changed:
        return f"existing {' and '.join(changed)} changed"
    total = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    if not total:
        return "no orders"
    noted = con.execute("SELECT count(DISTINCT order_id) FROM o2o_note_orders").fetchone()[0]
    share = config.get_float("O2O_INCREMENTAL_MAX_SHARE")
    if noted > share * total:
        return f"the batch touches {noted:,} of {total:,} orders (more than O2O_INCREMENTAL_MAX_SHARE = {share:g})"
    return None


def _steps(touched: bool, variant: str = "") -> list[tuple[str, str]]:
    from o2o_ops import db
    return [(table, query) for _, table, query in db.build_queries(touched=touched, variant=variant)]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [name for name, _ in _column_types(con, table)]


def _column_types(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, data type) of ``table``'s columns, in order."""
    return [tuple(r) for r in con.execute(   # (half the time information_schema.columns takes)
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t AND schema_name = 'main' "
        "AND database_name = current_database() ORDER BY column_index", {"t": table}).fetchall()]


def _as_of(con: duckdb.DuckDBPyConnection, table: str) -> dt.datetime | None:
    return con.execute(f"SELECT max(ordered_at) FROM {table}").fetchone()[0]


class TooWide(Exception):
    """The incremental path does not apply after all: the touched orders, once their customers'
    histories are added, exceed the share (nothing derived was changed yet), or a step needed more
    memory than ``O2O_INCREMENTAL_MEMORY_MB`` (and could not run again without it). The full build
    runs instead; on a fresh connection when :attr:`spoilt` (the connection keeps a catalog entry
    it cannot write again, see :meth:`_Capped.run_within_cap`)."""

    def __init__(self, message: str, *, spoilt: bool = False) -> None:
        super().__init__(message)
        self.spoilt = spoilt


def _bounds(*values):
    present = [v for v in values if v is not None]
    return min(present), max(present)


def _orders_step(con: duckdb.DuckDBPyConnection, restricted: dict[str, str], old_as_of: dt.datetime | None,
                 new_as_of: dt.datetime | None, slices: dict[str, int | str]) -> int:
    """Recompute ``order_facts`` for the touched customers' orders; leaves the changed orders' old
    and new key columns in ``o2o_changed_keys`` and notes the slices it gathered in ``slices``.
    Returns how many orders changed."""
    query = restricted["order_facts"]
    # 1: the orders noted by the importer, and their customers (old and new): of those customers'
    # other orders, the ones whose previous / next order date no longer matches the stored facts
    # (the neighbours of an order added, moved or re-timed) are found below from the customers'
    # order times alone. A batch of new orders names few customers, and their ids lie in the last
    # row groups, the only ones DuckDB's join filters then read.
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_seed_orders AS SELECT DISTINCT order_id FROM o2o_note_orders")
    # the stored facts (row, customer) of the orders named only by a redemption, review or refund,
    # by order id; those of the orders the batch's orders file names are found below among their
    # customers' rows, which are read anyway (by order id, a pass over 10 million order ids: 0.34 s
    # for 1,000 corrections spread over them)
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_noted_facts (rid BIGINT, order_id VARCHAR, customer_id VARCHAR)")
    child_named = "SELECT order_id FROM o2o_seed_orders WHERE order_id NOT IN (SELECT order_id FROM o2o_note_order_values)"
    if con.execute(f"SELECT count(*) FROM ({child_named})").fetchone()[0]:
        con.execute(f"INSERT INTO o2o_noted_facts SELECT rowid, order_id, customer_id FROM order_facts "
                    f"WHERE order_id IN ({child_named})")
    # their customers now and before: as the batch's orders file gives them and as the orders it
    # updated had them, else as the stored facts have them (a redemption, review or refund does not
    # move its order); only an order neither names is looked up in orders
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_noted_customers AS
        SELECT customer_id FROM o2o_note_order_values UNION SELECT customer_id FROM o2o_note_old_customers
        UNION SELECT customer_id FROM o2o_noted_facts""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_unplaced_seeds AS
        SELECT order_id FROM o2o_seed_orders
        WHERE order_id NOT IN (SELECT order_id FROM o2o_note_order_values)
          AND order_id NOT IN (SELECT order_id FROM o2o_noted_facts)""")
    if con.execute("SELECT count(*) FROM o2o_unplaced_seeds").fetchone()[0]:
        con.execute("""
            INSERT INTO o2o_noted_customers
            SELECT customer_id FROM orders WHERE order_id IN (SELECT order_id FROM o2o_unplaced_seeds)""")
    # 2: orders whose facts move with the "as of" time: unredeemed, not cancelled, with a validity
    # or a promise between the old and the new time (order_facts.sql reads the "as of" time for
    # is_breakage, is_promise_due and is_late_vs_promise only then; an order the batch redeems,
    # cancels or re-times is noted above). Their customers' histories do not change, so those
    # customers' other orders need no neighbour check.
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_as_of_movers (rid BIGINT, order_id VARCHAR, customer_id VARCHAR)")
    if old_as_of != new_as_of:
        lo, hi = _bounds(old_as_of, new_as_of)
        con.execute("""
            INSERT INTO o2o_as_of_movers
            SELECT rowid, order_id, customer_id FROM order_facts
            WHERE NOT is_redeemed AND is_paid
              AND (valid_until BETWEEN $lo AND $hi OR promised_at BETWEEN $lo AND $hi)""", {"lo": lo, "hi": hi})
    # the customers whose orders are read: those of the noted orders. The customers of the others of
    # step 2 are not: those orders' sequence is unchanged unless their customer is noted (nine in
    # ten of a day's feed's changed orders: 9,135 of 10,131 for 1,000 new orders into 10 million)
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_touched_customers AS SELECT customer_id FROM o2o_noted_customers")
    # the touched customers' stored orders, by row id: read once here, for their sequence now
    # (_gather_customer_slice), the neighbour check below and, kept up to date, for the steps
    # restricted to the customers touched in the end (`customer_facts` in kpis/sql.py, :func:`_key_tables`)
    # in two reads: the row ids by the customer ids alone, then those rows by row id. In one, the
    # join decoded the order ids and times of all 10 million rows (0.28 against 0.17 s for 1,000
    # corrections, the customer ids stored uncompressed: db.UNCOMPRESSED_COLUMNS)
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_customer_rids AS SELECT rowid AS rid FROM order_facts "
                "WHERE customer_id IN (SELECT customer_id FROM o2o_touched_customers)")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_customer_rows AS
        SELECT rowid AS rid, customer_id, order_id, ordered_at FROM order_facts
        WHERE rowid IN (SELECT rid FROM o2o_customer_rids)""")
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_touched_customer_facts AS SELECT rid, customer_id FROM o2o_customer_rows")
    _noted_facts_of_named_orders(con)
    gathered = _gather_customer_slice(con)
    # (an empty slice is a slice: 0 rows, not "gather it again")
    slices["orders: customers"] = (gathered if gathered is not None
                                   else _gather_slice(con, "orders", "customers", restricted))
    # the noted customers' stored orders, narrow: row id and neighbours (the check below needs no
    # more; their other columns are read only for the orders it touches)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_customer_facts AS
        SELECT rowid AS rid, order_id, prev_customer_order_date, next_customer_order_date FROM order_facts
        WHERE rowid IN (SELECT rid FROM o2o_touched_customer_facts
                        WHERE customer_id IN (SELECT customer_id FROM o2o_noted_customers))""")
    # 3: each noted customer's orders' neighbours now
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_sequence AS
        SELECT order_id,
               CAST(lag(ordered_at) OVER w AS DATE)  AS prev_date,
               CAST(lead(ordered_at) OVER w AS DATE) AS next_date
        FROM o2o_slice_orders_customers WHERE customer_id IN (SELECT customer_id FROM o2o_noted_customers)
        WINDOW w AS (PARTITION BY customer_id ORDER BY ordered_at, order_id)""")
    # the noted orders' facts are recomputed by order_facts.sql; those of the other orders whose facts
    # move (with the "as of" time, or with a neighbour: an order of a noted customer whose previous /
    # next order date no longer matches) are their stored facts restated (:func:`_restated_facts`):
    # their order, its redemption, reviews and refunds, its store and campaign are as they were. (The
    # noted orders alone keep order_facts.sql's reads of the redemptions, reviews and refunds to the
    # batch's own orders: for new orders, the last row groups)
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_touched_orders AS SELECT order_id FROM o2o_seed_orders")
    slices["orders: order_rows"] = _gather_order_rows(con)
    _new_touched_orders(con)
    for child in _ORDER_CHILDREN:
        slices[f"{child}: orders"] = _gather_children(con, child)
    # the latest order's time now, for order_facts.sql's "as of" ({{ touched_as_of orders }}): read
    # already, not again from the 10 million order times
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_as_of_orders AS SELECT CAST($t AS TIMESTAMP) AS ordered_at",
                {"t": new_as_of})
    # of the noted customers' other orders whose neighbours moved, those of which nothing else moves
    # (not noted, not moving with the "as of" time, still the customer's first order or still not):
    # only facts no derived table reads change (UNREAD), and they are written where they are from
    # their neighbours and row ids alone (:func:`_write_quiet_neighbours`). Their other facts are not
    # read: a returning customer's previous orders lie anywhere in the two years, and reading every
    # column of the 1,000 or so of a day's feed decoded a vector of each of 47 columns per order
    # (0.25 s warm, 0.63 s from disk, against 0.03 s for a few columns)
    # (the noted customers' orders whose neighbours moved, with or without stored facts; not noted)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_neighbour_moves AS
        SELECT f.rid, q.order_id, q.prev_date, q.next_date,
               f.prev_customer_order_date AS was_prev_date, f.next_customer_order_date AS was_next_date,
               f.order_id IS NOT NULL AND (q.prev_date IS NULL) = (f.prev_customer_order_date IS NULL)
               AND q.order_id NOT IN (SELECT order_id FROM o2o_as_of_movers) AS quiet
        FROM o2o_sequence q LEFT JOIN o2o_customer_facts f USING (order_id)
        WHERE (f.order_id IS NULL OR q.prev_date IS DISTINCT FROM f.prev_customer_order_date
               OR q.next_date IS DISTINCT FROM f.next_customer_order_date)
          AND q.order_id NOT IN (SELECT order_id FROM o2o_seed_orders)""")
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_quiet_neighbours AS SELECT * EXCLUDE (quiet) "
                "FROM o2o_neighbour_moves WHERE quiet")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_restated_orders AS
        SELECT order_id FROM o2o_as_of_movers WHERE order_id NOT IN (SELECT order_id FROM o2o_seed_orders)
        UNION
        SELECT order_id FROM o2o_neighbour_moves WHERE NOT quiet""")
    total = con.execute("SELECT count(*) FROM orders").fetchone()[0]
    wide = con.execute("SELECT (SELECT count(*) FROM o2o_touched_orders) + "
                       "(SELECT count(*) FROM o2o_restated_orders) + "
                       "(SELECT count(*) FROM o2o_quiet_neighbours)").fetchone()[0]
    share = config.get_float("O2O_INCREMENTAL_MAX_SHARE")
    if wide > share * total:
        raise TooWide(f"the batch and its customers' neighbouring orders are {wide:,} of {total:,} orders "
                      f"(more than O2O_INCREMENTAL_MAX_SHARE = {share:g})")
    # the stored facts of the touched orders: every column of their rows alone, by row id (by
    # order id, DuckDB read every column of every row group a touched order lies in, which is all of
    # them; by row id it decodes only the vectors holding one. 100,000 new orders into 10 million:
    # 3.3 s when the customers' other orders were read too). Row ids hold until the writes of
    # _write_facts: nothing else writes order_facts before them.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_stored_facts AS
        SELECT rowid AS o2o_rid, * FROM order_facts WHERE rowid IN (
            SELECT rid FROM o2o_noted_facts UNION SELECT rid FROM o2o_as_of_movers
            UNION SELECT rid FROM o2o_customer_facts WHERE order_id IN (SELECT order_id FROM o2o_restated_orders))""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE o2o_new_facts AS {query}")
    _restated_facts(con, new_as_of)
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_old_facts AS SELECT * EXCLUDE (o2o_rid) FROM o2o_stored_facts")
    cols = _columns(con, "order_facts")
    _compare(con, cols)
    # changed: an order whose facts differ, that is new or gone, or that the batch named
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_changed_orders AS
        SELECT order_id FROM o2o_compared WHERE NOT (keeps_row AND unchanged)
        UNION
        SELECT order_id FROM o2o_new_facts WHERE order_id NOT IN (SELECT order_id FROM o2o_compared)
        UNION
        SELECT order_id FROM o2o_old_facts WHERE order_id NOT IN (SELECT order_id FROM o2o_compared)
        UNION
        SELECT order_id FROM o2o_note_orders""")
    # orders the batch did not name of which only facts no derived table reads changed (a returning
    # customer's previous order, whose next order date the new order sets): written, but they touch
    # no key. Their customers are touched by the named order that moved them. (A named order always
    # touches its keys: a review's complaint category can change while its order's facts stay the
    # same.)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_quiet_orders AS
        SELECT order_id FROM o2o_compared
        WHERE keeps_row AND NOT unchanged AND {" AND ".join(f"o2o_same_{c}" for c in IN_PLACE if c not in UNREAD)}
          AND order_id NOT IN (SELECT order_id FROM o2o_note_orders)""")
    # of the others, those of which only the "as of" flags changed besides (AS_OF_FLAGS): they touch
    # the keys of the steps that read those flags alone
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_as_of_only_orders AS
        SELECT order_id FROM o2o_compared
        WHERE keeps_row AND NOT unchanged
          AND {" AND ".join(f"o2o_same_{c}" for c in IN_PLACE if c not in UNREAD and c not in AS_OF_FLAGS)}
          AND order_id NOT IN (SELECT order_id FROM o2o_note_orders)
          AND order_id NOT IN (SELECT order_id FROM o2o_quiet_orders)""")
    keyed = ("order_id IN (SELECT order_id FROM o2o_changed_orders) "
             "AND order_id NOT IN (SELECT order_id FROM o2o_quiet_orders)")
    keys = ("order_id, store_id, order_date, CAST(redeemed_at AS DATE) AS redeem_date, campaign_id, customer_id, "
            "order_id IN (SELECT order_id FROM o2o_as_of_only_orders) AS as_of_only")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_changed_keys AS
        SELECT {keys} FROM o2o_old_facts WHERE {keyed}
        UNION ALL
        SELECT {keys} FROM o2o_new_facts WHERE {keyed}""")
    # the changed orders' facts as they were and as they are: the source rows of the tables kept by
    # deltas (ADDITIVE)
    for name, facts in (("o2o_was_order_facts", "o2o_old_facts"), ("o2o_now_order_facts", "o2o_new_facts")):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {facts} WHERE {keyed}")
    last_row = con.execute("SELECT coalesce(max(rowid), -1) FROM order_facts").fetchone()[0]
    _write_quiet_neighbours(con)
    _write_facts(con, cols)
    # the rows it appended (at the end: row ids after every row before) are orders of touched
    # customers; an updated row keeps its row id, a deleted one is no longer read by it
    con.execute("INSERT INTO o2o_touched_customer_facts SELECT rowid, customer_id FROM order_facts "
                "WHERE rowid > $last", {"last": last_row})
    return con.execute("SELECT (SELECT count(*) FROM o2o_changed_orders) "
                       "+ (SELECT count(*) FROM o2o_quiet_neighbours)").fetchone()[0]


def _write_quiet_neighbours(con: duckdb.DuckDBPyConnection) -> None:
    """Write the previous / next order dates of ``o2o_quiet_neighbours`` where they changed, one
    column at a time (as :func:`_write_facts`: a checkpoint rewrites an updated column of each row
    group holding an updated row). Before _write_facts's delete and append: by row id, as read."""
    for column, now, was in (("prev_customer_order_date", "prev_date", "was_prev_date"),
                             ("next_customer_order_date", "next_date", "was_next_date")):
        con.execute(f"""
            UPDATE order_facts SET {column} = u.{now} FROM o2o_quiet_neighbours u
            WHERE order_facts.rowid = u.rid AND u.{now} IS DISTINCT FROM u.{was}""")


def _noted_facts_of_named_orders(con: duckdb.DuckDBPyConnection) -> None:
    """Add to ``o2o_noted_facts`` the stored facts of the orders the batch's orders file names:
    among their customers' rows (``o2o_customer_rows``: the customers those orders had before the
    batch are noted). A new order has none; each order the merge updated has one. When another
    number is found (a write the notes miss: those customers' rows were not all read), the full
    build runs instead (:class:`TooWide`; nothing derived was changed yet)."""
    con.execute("""
        INSERT INTO o2o_noted_facts
        SELECT rid, order_id, customer_id FROM o2o_customer_rows
        WHERE order_id IN (SELECT order_id FROM o2o_note_order_values)""")
    found, updated = con.execute(
        "SELECT (SELECT count(*) FROM o2o_noted_facts WHERE order_id IN (SELECT order_id FROM o2o_note_order_values)), "
        "(SELECT count(DISTINCT o2o_rid) FROM o2o_note_order_values)").fetchone()
    if found != updated:
        raise TooWide(f"the stored facts of the batch's {updated:,} updated orders were not all among their "
                      f"customers' orders ({found:,} found)")


def _gather_customer_slice(con: duckdb.DuckDBPyConnection) -> int | str | None:
    """The slice of the touched customers' orders (:data:`SLICE_COLUMNS`: customer, order id and
    time, as ``orders`` holds them now) from what the orders step holds anyway: their stored facts
    (``o2o_customer_rows``), where every order the batch's orders file does not name is as it was,
    and the orders it names as the merge wrote them (``o2o_note_order_values``). A pass over the
    customer ids of the 10 million orders, 0.21 s warm and 0.29 s from disk, and the read of the
    slice's 7,551 orders spread over them, 0.14-0.20 s, are spared. None (the slice is then gathered
    from ``orders``) when a noted order has no stored facts and the file does not name it
    (``o2o_unplaced_seeds``: its row is in neither)."""
    if con.execute("SELECT count(*) FROM o2o_unplaced_seeds").fetchone()[0]:
        return None
    slice_name = "o2o_slice_orders_customers"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {slice_name} AS
        SELECT customer_id, order_id, ordered_at FROM o2o_customer_rows
        WHERE order_id NOT IN (SELECT order_id FROM o2o_note_order_values)
        UNION ALL
        SELECT customer_id, order_id, ordered_at FROM o2o_note_order_values""")
    return _kept_or_whole(con, slice_name, "orders")


def _gather_order_rows(con: duckdb.DuckDBPyConnection) -> int | str:
    """The slice ``o2o_slice_orders_order_rows``: the rows of ``orders`` of ``o2o_touched_orders``
    (the orders order_facts.sql recomputes). The batch's orders file's rows as the merge wrote them
    (``o2o_note_order_values``); an order named only by a redemption, review or refund is looked up
    by its id (for a day's feed, mostly recent orders: the last row groups). Returns its rows, or
    "whole" (the table itself) past :data:`SLICE_MAX_SHARE`."""
    slice_name = "o2o_slice_orders_order_rows"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {slice_name} AS SELECT * EXCLUDE (o2o_rid) FROM o2o_note_order_values "
                "WHERE order_id IN (SELECT order_id FROM o2o_touched_orders)")
    lookup = ("SELECT order_id FROM o2o_touched_orders "
              "WHERE order_id NOT IN (SELECT order_id FROM o2o_note_order_values)")
    if con.execute(f"SELECT count(*) FROM ({lookup})").fetchone()[0]:
        con.execute(f"INSERT INTO {slice_name} SELECT * FROM orders WHERE order_id IN ({lookup})")
    return _kept_or_whole(con, slice_name, "orders")


def _last_rowid_before(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    """``table``'s last row id before the batch wrote it (``o2o_note_written``); None when the batch
    did not write it."""
    return con.execute("SELECT min(last_rowid) FROM o2o_note_written WHERE table_name = $t",
                       {"t": table}).fetchone()[0]


def _new_touched_orders(con: duckdb.DuckDBPyConnection) -> None:
    """``o2o_new_touched_orders``: the touched orders the batch appended to ``orders``, whose
    children (redemptions, reviews, refunds) can only be rows the batch appended to those, unless
    the warehouse held children of orders it lacked (``quality_orphans``: a new order adopts them).
    Empty when that cannot be relied on."""
    appended = "o2o_rid IS NULL" if not _orphans_of_orders(con) else "FALSE"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_new_touched_orders AS
        SELECT order_id FROM o2o_note_order_values
        WHERE {appended} AND order_id IN (SELECT order_id FROM o2o_touched_orders)""")


def _gather_children(con: duckdb.DuckDBPyConnection, child: str) -> int | str:
    """The slice ``o2o_slice_<child>_orders``: the rows of ``child`` (one of the order's children:
    redemptions, reviews, refunds) of ``o2o_touched_orders``. A new order's
    (``o2o_new_touched_orders``) are read by row id among the rows the batch appended to ``child``,
    after its last row id before the write. Not so when the merge updated a row's order id in place
    (a review moved to another order keeps its row): then, as for the orders stored before, by order
    id. Returns its rows, or "whole" (the table itself: past :data:`SLICE_MAX_SHARE`, or when no
    touched order is new)."""
    slice_name = f"o2o_slice_{child}_orders"
    moved = con.execute("SELECT count(*) FROM o2o_note_updated_columns "
                        "WHERE table_name = $child AND column_name IN ('order_id', '*')",
                        {"child": child}).fetchone()[0]
    if moved or not con.execute("SELECT count(*) FROM o2o_new_touched_orders").fetchone()[0]:
        # a row moved in place, or every touched order was stored before (a batch of corrections):
        # order_facts.sql reads the table itself by order id, in its one statement (as a slice, the
        # three reads came one after another: 2.14-2.21 against 2.20-2.56 s for the order facts of
        # 1,000 spread corrections)
        con.execute(f"CREATE OR REPLACE TEMP VIEW {slice_name} AS SELECT * FROM {child}")
        return "whole"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {slice_name} AS SELECT * FROM {child} LIMIT 0")
    last_child = _last_rowid_before(con, child)
    if last_child is not None:
        # (the child was written: else a new order has none)
        con.execute(f"INSERT INTO {slice_name} SELECT * FROM {child} WHERE rowid > $last "
                    "AND order_id IN (SELECT order_id FROM o2o_new_touched_orders)", {"last": last_child})
    by_id = ("SELECT order_id FROM o2o_touched_orders "
             "WHERE order_id NOT IN (SELECT order_id FROM o2o_new_touched_orders)")
    if con.execute(f"SELECT count(*) FROM ({by_id})").fetchone()[0]:
        con.execute(f"INSERT INTO {slice_name} SELECT * FROM {child} WHERE order_id IN ({by_id})")
    return _kept_or_whole(con, slice_name, child)


def _orphans_of_orders(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse held rows naming an order it lacked, as its data checks counted them
    before the batch (``quality_orphans``; True when it has no such table)."""
    try:
        return bool(con.execute("SELECT coalesce(sum(count_orphans), 0) > 0 FROM quality_orphans "
                                "WHERE parent_table = 'orders'").fetchone()[0])
    except duckdb.CatalogException:
        return True


def _kept_or_whole(con: duckdb.DuckDBPyConnection, slice_name: str, table: str) -> int | str:
    """The rows of the slice ``slice_name`` just gathered; past :data:`SLICE_MAX_SHARE` of ``table``
    it becomes ``table`` itself (as in :func:`_gather_slice`: reading that many rows by id costs
    more than testing every row in each step) and "whole" is returned."""
    rows, total = con.execute(f"SELECT (SELECT count(*) FROM {slice_name}), (SELECT count(*) FROM {table})").fetchone()
    if rows > SLICE_MAX_SHARE * total:
        con.execute(f"DROP TABLE {slice_name}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {slice_name} AS SELECT * FROM {table}")
        return "whole"
    return int(rows)


def _restated_facts(con: duckdb.DuckDBPyConnection, as_of: dt.datetime | None) -> None:
    """Add to ``o2o_new_facts`` the facts of ``o2o_restated_orders``: their stored facts with the
    customer's sequence facts (previous / next order date, first order) from ``o2o_sequence`` where
    their customer's orders were read, and the "as of" facts recomputed at ``as_of`` (the latest
    order's time, as order_facts.sql reads it) by the formulas order_facts.sql uses
    (o2o_ops/kpis/sql.py ``AS_OF_FLAGS``)."""
    from o2o_ops.kpis.sql import AS_OF_INPUTS_OF_FACTS, as_of_flag
    prev, nxt = ("CASE WHEN q.order_id IS NULL THEN f.prev_customer_order_date ELSE q.prev_date END",
                 "CASE WHEN q.order_id IS NULL THEN f.next_customer_order_date ELSE q.next_date END")
    replaced = [f"{prev} AS prev_customer_order_date", f"{nxt} AS next_customer_order_date",
                f"({prev}) IS NULL AS is_first_order",
                *(f"{as_of_flag(name, AS_OF_INPUTS_OF_FACTS)} AS {name}" for name in AS_OF_FLAGS)]
    con.execute(f"""
        INSERT INTO o2o_new_facts BY NAME
        SELECT f.* EXCLUDE (o2o_rid) REPLACE ({", ".join(replaced)})
        FROM o2o_stored_facts f LEFT JOIN o2o_sequence q USING (order_id)
        WHERE f.order_id IN (SELECT order_id FROM o2o_restated_orders)""", {"as_of": as_of})


#: the facts that move with the "as of" time or with a customer's neighbouring orders alone: an order
#: whose other facts are unchanged (an unredeemed voucher expiring, a returning customer's previous
#: order, by far most of a day's feed's changed orders) gets these written where it is
IN_PLACE = ("is_breakage", "is_promise_due", "is_late_vs_promise", "is_first_order",
            "prev_customer_order_date", "next_customer_order_date")


#: facts of order_facts that no derived table reads (the pages' repeat rate reads them from
#: order_facts): an order of which only these changed touches no derived row
#: (tests/test_incremental.py checks that no build step names them)
UNREAD = ("prev_customer_order_date", "next_customer_order_date")

#: the facts that move with the "as of" time alone (order_facts.sql reads it for these only): an
#: order of which only these changed (an unredeemed voucher whose validity the new time passes, a
#: promise that falls due; nine in ten of a day's feed's changed orders) touches only the keys of
#: the steps that read them (:func:`_as_of_readers`); the others read the key tables
#: ``o2o_touched_<kind>_no_as_of`` (o2o_ops/kpis/sql.py ``key_table``), which leave those orders out
AS_OF_FLAGS = tuple(AS_OF_FACTS)


def _compare(con: duckdb.DuckDBPyConnection, cols: list[str]) -> None:
    """``o2o_compared``: each touched order stored before and recomputed, its row id, whether its
    facts outside :data:`IN_PLACE` are the same (``keeps_row``) and those inside (``unchanged``),
    and for each of :data:`IN_PLACE` whether it is the same (``o2o_same_<column>``) and its new
    value. (Every fact is compared once, here: the changed orders are read from it.)"""
    same = lambda names: " AND ".join(f"f.{c} IS NOT DISTINCT FROM n.{c}" for c in names) or "TRUE"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_compared AS
        SELECT n.order_id, f.o2o_rid, {same([c for c in cols if c not in IN_PLACE])} AS keeps_row,
               {same(IN_PLACE)} AS unchanged,
               {", ".join(f"n.{c}, {same([c])} AS o2o_same_{c}" for c in IN_PLACE)}
        FROM o2o_new_facts n JOIN o2o_stored_facts f USING (order_id)""")


def _write_facts(con: duckdb.DuckDBPyConnection, cols: list[str]) -> None:
    """Write the changed orders' new facts into ``order_facts`` (:func:`_compare` first).
    An order of which only :data:`IN_PLACE` facts changed has those columns updated in its row; any
    other is deleted and appended (an order the batch left as it was is not written at either).
    Why: an appended row lands at the end of the table, in a row group whose date span then covers
    its old date too, so date filters prune less until `refresh` sorts the table again; and at a
    checkpoint an update rewrites a narrow column of the row groups it touches, a delete and an
    append all 47 of the appended rows."""
    # one column at a time, in the rows where it changed: a checkpoint rewrites an updated column of
    # every row group holding an updated row (a day's feed changes the next order date of about as
    # many old orders as it adds, its flags of a few thousand)
    for c in IN_PLACE:
        con.execute(f"""
            UPDATE order_facts SET {c} = u.{c} FROM o2o_compared u
            WHERE order_facts.rowid = u.o2o_rid AND u.keeps_row AND NOT u.o2o_same_{c}""")
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_moved_orders AS SELECT order_id FROM o2o_changed_orders "
                "EXCEPT SELECT order_id FROM o2o_compared WHERE keeps_row")
    # by row id: every stored row of a changed order was read into o2o_stored_facts (the deltas
    # take its old facts from there); by order id, DuckDB tests all 10 million ids wherever the
    # batch's ids fall among the stored ones (0.15 s)
    con.execute("DELETE FROM order_facts WHERE rowid IN (SELECT o2o_rid FROM o2o_stored_facts "
                "WHERE order_id IN (SELECT order_id FROM o2o_moved_orders))")
    con.execute(f"INSERT INTO order_facts ({', '.join(cols)}) SELECT {', '.join(cols)} FROM o2o_new_facts "
                "WHERE order_id IN (SELECT order_id FROM o2o_moved_orders)")


#: the ageing buckets' bounds in days after the "as of" date (sql/rollups_efficiency.sql: expired
#: before the "as of" time, then 0-7, 8-30 and 31+ days left: at most 7 or 30 days from the "as of"
#: date to the expiry date)
_AGEING_BOUNDS_DAYS = (7, 30)


def _ageing_moves_sql() -> str:
    """The test that an order's ageing bucket differs between the "as of" times ``$lo`` and ``$hi``
    (``$lo`` <= ``$hi``), given that it is paid and unredeemed: one of the bucket CASE's tests
    answers differently (expired: before the time; 0-7 and 8-30 days left: an expiry date at most
    7 or 30 days after the time's date). tests/test_incremental.py checks it against the CASE of
    sql/rollups_efficiency.sql."""
    return " OR ".join(["(valid_until >= $lo AND valid_until < $hi)", *(
        f"(CAST(valid_until AS DATE) > CAST($lo AS DATE) + {days} "
        f"AND CAST(valid_until AS DATE) <= CAST($hi AS DATE) + {days})" for days in _AGEING_BOUNDS_DAYS)])


def _key_tables(con: duckdb.DuckDBPyConnection, old_as_of: dt.datetime | None, new_as_of: dt.datetime | None,
                old_span: tuple, new_span: tuple) -> None:
    """Step 4: the temp tables of touched keys the restricted build steps read, in two sets
    (o2o_ops/kpis/sql.py ``key_table``): every changed order's keys, and those of the changed
    orders but the ones of which only the "as of" flags changed (:data:`AS_OF_FLAGS`)."""
    from o2o_ops.kpis.sql import NO_AS_OF, key_table
    # the "as of" time after and before the batch, for the steps that read it ({{ touched_as_of
    # order_facts }}: after; the deltas of AGED read the changed rows as they were with before's)
    for name, as_of in (("o2o_as_of_order_facts", new_as_of), ("o2o_was_as_of_order_facts", old_as_of)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT CAST($t AS TIMESTAMP) AS ordered_at", {"t": as_of})
    # found once, added to both sets: what moves with the "as of" time or the span, not with an order
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_ageing_orders (rid BIGINT, store_id VARCHAR, order_date DATE)")
    if old_as_of != new_as_of:
        # paid, unredeemed orders whose ageing bucket (expired, 0-7, 8-30, 31+ days left) moves:
        # exactly those (:func:`_ageing_moves_sql`), as the order stages' deltas read them on both
        # sides (AGED). A day's margin each side of each bound, as when their store-days were
        # recomputed whole, held 36,856 orders for a day's feed at 10 million, against 7,533. The
        # funnel reads the expiry against the "as of" time itself, not the flags: both sets. By
        # row id: nothing writes order_facts after the orders step
        lo, hi = _bounds(old_as_of, new_as_of)
        con.execute(f"""
            INSERT INTO o2o_ageing_orders
            SELECT rowid, store_id, order_date FROM order_facts
            WHERE is_paid AND NOT is_redeemed AND valid_until IS NOT NULL AND ({_ageing_moves_sql()})""",
                    {"lo": lo, "hi": hi})
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_crossing_store_days AS "
                "SELECT DISTINCT store_id AS t_store_id, order_date AS t_date FROM o2o_ageing_orders")
    # the first / last order date bound every store's days in data of the weeks between
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_span_store_weeks (t_store_id VARCHAR, t_date DATE)")
    for old, new in zip(old_span, new_span):
        if old != new:
            ends = [d for d in (old, new) if d is not None]
            con.execute("""
                INSERT INTO o2o_span_store_weeks
                SELECT s.store_id, CAST(w.week AS DATE)
                FROM (SELECT DISTINCT store_id FROM order_facts) s
                CROSS JOIN (SELECT unnest(generate_series(CAST(date_trunc('week', CAST($lo AS DATE)) AS TIMESTAMP),
                                                          CAST(date_trunc('week', CAST($hi AS DATE)) AS TIMESTAMP),
                                                          INTERVAL 7 DAY)) AS week) w""",
                        {"lo": min(ends), "hi": max(ends)})
    for variant, orders in (("", "TRUE"), (NO_AS_OF, "NOT as_of_only")):
        t = lambda kind: key_table(kind, variant)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {t("store_days")} AS
            SELECT store_id AS t_store_id, order_date AS t_date FROM o2o_changed_keys WHERE {orders}
            UNION SELECT store_id, redeem_date FROM o2o_changed_keys WHERE redeem_date IS NOT NULL AND {orders}""")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {t('stage_store_days')} AS "
                    f"SELECT * FROM {t('store_days')} UNION ALL SELECT * FROM o2o_crossing_store_days")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {t("store_weeks")} AS
            SELECT DISTINCT t_store_id, CAST(date_trunc('week', t_date) AS DATE) AS t_date FROM {t("store_days")}
            UNION ALL SELECT * FROM o2o_span_store_weeks""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {t("campaigns")} AS
            SELECT campaign_id FROM o2o_changed_keys WHERE campaign_id IS NOT NULL AND {orders}
            UNION SELECT campaign_id FROM o2o_note_campaigns""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {t("customers")} AS
            SELECT DISTINCT customer_id FROM o2o_changed_keys WHERE {orders}""")
    # their rows of order_facts: the customers' the orders step read (all but those of the orders
    # whose "as of" facts alone it recomputed: no step that reads those facts reads these rows,
    # apply() checks)
    con.execute("DELETE FROM o2o_touched_customer_facts "
                "WHERE customer_id NOT IN (SELECT customer_id FROM o2o_touched_customers)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {key_table("customer_facts", NO_AS_OF)} AS
        SELECT * FROM o2o_touched_customer_facts
        WHERE customer_id IN (SELECT customer_id FROM {key_table("customers", NO_AS_OF)})""")
    # of those, the rows of the customers whose first order has a campaign (by the customer ids
    # read with the row ids: 0.01 s, against 0.26 s for campaign_order_facts to test the customer
    # id of every row in the row groups its touched rows lie in)
    for variant in ("", NO_AS_OF):
        facts = key_table("customer_facts", variant)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {key_table("campaign_first_facts", variant)} AS
            SELECT rid FROM {facts} WHERE customer_id IN (
                SELECT customer_id FROM order_facts WHERE campaign_id IS NOT NULL AND is_first_order
                AND rowid IN (SELECT rid FROM {facts}))""")
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_touched_cost_dates AS SELECT DISTINCT date FROM o2o_note_cost_dates")
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_touched_event_dates AS SELECT DISTINCT date FROM o2o_note_event_dates")


#: the kinds of touched keys (o2o_ops/kpis/sql.py ``key_table``) whose tests read ``x IN (SELECT
#: column FROM key table)`` and that nothing writes after step 4 (:func:`_key_tables`)
_PLAIN_KEYS = ("orders", "customers", "customer_facts", "campaign_first_facts", "campaigns", "cost_dates",
               "event_dates")


def _empty_key_tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The key tables of :data:`_PLAIN_KEYS` (both variants) that hold no key: a day's feed of
    orders touches no cost date and no event date."""
    from o2o_ops.kpis.sql import NO_AS_OF, key_table
    names = sorted({key_table(kind, variant) for kind in _PLAIN_KEYS for variant in ("", NO_AS_OF)})
    counts = con.execute(" UNION ALL ".join(
        f"SELECT '{name}', (SELECT count(*) FROM {name})" for name in names)).fetchall()
    return frozenset(name for name, n in counts if n == 0)


def _without_empty_tests(sql: str, empty: frozenset[str]) -> str:
    """``sql`` with each test ``column IN (SELECT key FROM t)`` (or ``CAST(column AS type) IN``) of
    a key table ``t`` of ``empty`` written ``FALSE`` (what it is for every row, a null column
    included). DuckDB does not take an OR of two such tests into a table scan: with one of them
    false, the other is a semi join it filters the scan with. Batches of orders alone:
    ``rollup_costs``' insert 0.11-0.18 → 0.05 s and its delete 0.05 → 0.01 s at 10 million orders
    (4.1 million cost rows)."""
    if not empty:
        return sql
    tables = "|".join(re.escape(name) for name in sorted(empty))
    column = r"(?!NOT\b)(?:\w+\.)?\w+"
    return re.sub(rf"(?<=[(\s])(?:{column}|CAST\({column} AS \w+\)) IN \(SELECT \w+ FROM (?:{tables})\)", "FALSE", sql)


def _as_of_readers(con: duckdb.DuckDBPyConnection, whole: dict[str, str]) -> set[str]:
    """The derived tables whose rows the "as of" flags (:data:`AS_OF_FLAGS`) can change: a table
    that holds one (``order_facts``), and a step that reads one, or reads a column of such a
    table that a flag feeds (column-level lineage, :func:`o2o_ops.lineage.readers`: the order
    rollup's breakage and promise counts, not its orders or revenue). ``whole``: the build's
    queries in build order. Read from :data:`READERS_FILE` when it was found from this build SQL."""
    holding = {r[0] for r in con.execute(
        "SELECT DISTINCT table_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND list_contains($flags, column_name)", {"flags": list(AS_OF_FLAGS)}).fetchall()}
    stored = _load_found(READERS_FILE, _readers_key(holding))
    if stored is not None:
        return set(stored)
    from o2o_ops import lineage
    return set(lineage.readers(whole, {t: frozenset(AS_OF_FLAGS) for t in sorted(holding)}))


#: the "as of" readers (:func:`_as_of_readers`) found from the build SQL of this version: parsing
#: it takes 0.25 s of every import. A test checks it against the SQL; after a change of the SQL,
#: :func:`write_readers_file` writes it again (until then, imports find them from the SQL).
READERS_FILE = Path(__file__).parent / "sql" / "as_of_readers.json"


def _readers_key(holding: set[str]) -> str:
    from o2o_ops import db
    return f"{db.rollups_version()} {','.join(AS_OF_FLAGS)} {','.join(sorted(holding))}"


def write_readers_file() -> list[str]:
    """Find the "as of" readers from the build SQL and write :data:`READERS_FILE` (the tables that
    hold the flags: ``order_facts``, as the build makes it). Returns them."""
    from o2o_ops import lineage
    holding = {"order_facts"}
    found = sorted(lineage.readers(dict(_steps(touched=False)), {t: frozenset(AS_OF_FLAGS) for t in holding}))
    _save_found(READERS_FILE, _readers_key(holding), found)
    return found


def _save_found(path: Path, key: str, found: list[str] | dict[str, Any]) -> None:
    """Store what was found from the build SQL (:data:`READERS_FILE`, :data:`STEP_READS_FILE`,
    :data:`COVERAGE_FILE`) in ``path`` under ``key``, a fingerprint of what it was found from."""
    path.write_text(json.dumps({"key": key, "found": found}, indent=1) + "\n")


def _load_found(path: Path, key: str) -> list[str] | dict[str, Any] | None:
    """What :func:`_save_found` stored in ``path`` under ``key``, or None when the file holds
    another key (or none): it was found from another SQL."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored.get("found") if stored.get("key") == key else None


#: each keyed step's inputs, column by column (:func:`find_step_reads`), found from the build SQL of
#: this version: finding them parses it once and walks it once per column (a second or two). A test
#: checks the file against the SQL; after a change of the SQL, :func:`write_step_reads_file` writes
#: it again (until then, imports find them from the SQL)
STEP_READS_FILE = Path(__file__).parent / "sql" / "step_reads.json"


def find_step_reads(whole: dict[str, str], contract: dict[str, Sequence[str]]) -> dict[str, list[str]]:
    """For each step of ``whole`` (table -> its SELECT, build order) but order_facts: the columns
    (``table.column``) of order_facts and of the ``contract`` tables (table -> its columns) whose
    change can change its rows (column-level lineage, :func:`o2o_ops.lineage.readers`; a contract
    column is followed past order_facts, which the orders step compares itself). And under
    ``"order_facts copies"``: the columns of orders order_facts passes on as they are. Found one
    column at a time: a step reads a set of changing columns exactly when it reads one of them
    (the lineage's tests are each "any": tests/test_lineage.py checks it on the build SQL). A row
    that comes or goes changes what a step counts without naming a column: :func:`_steps_to_run`
    follows those by table."""
    from o2o_ops import lineage
    import sqlglot
    facts = [c.lower() for c in sqlglot.parse_one(whole["order_facts"], read="duckdb").named_selects]
    reads: dict[str, set[str]] = {t: set() for t in whole if t != "order_facts"}

    def add(holding: dict[str, frozenset[str]], label: str) -> None:
        for table, columns in lineage.readers(whole, holding).items():
            if table in reads and columns:
                reads[table].add(label)
    for column in facts:
        add({"order_facts": frozenset([column])}, f"order_facts.{column}")
    for table, columns in contract.items():
        for column in columns:
            add({table: frozenset([column.lower()]), "order_facts": frozenset()}, f"{table}.{column.lower()}")
    found = {table: sorted(labels) for table, labels in reads.items()}
    found["order_facts copies"] = sorted(lineage.copied_columns(whole["order_facts"], "orders"))
    return found


def _contract_columns() -> dict[str, list[str]]:
    from o2o_ops import db
    con = duckdb.connect()
    try:
        db.create_schema(con)
        return {t: [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $t ORDER BY ordinal_position",
            {"t": t}).fetchall()] for t in db.CONTRACT_TABLES}
    finally:
        con.close()


def _step_reads(whole: dict[str, str]) -> dict[str, list[str]]:
    """:func:`find_step_reads` of this build SQL: from :data:`STEP_READS_FILE` when it was found
    from it."""
    from o2o_ops import db
    stored = _load_found(STEP_READS_FILE, db.rollups_version())
    return stored if stored is not None else find_step_reads(whole, _contract_columns())


def write_step_reads_file() -> dict[str, list[str]]:
    """Find each step's inputs from the build SQL and write :data:`STEP_READS_FILE`."""
    from o2o_ops import db
    found = find_step_reads(dict(_steps(touched=False)), _contract_columns())
    _save_found(STEP_READS_FILE, db.rollups_version(), found)
    return found


def _steps_to_run(con: duckdb.DuckDBPyConnection, whole: dict[str, str]) -> tuple[set[str], list[str]]:
    """The keyed steps whose rows the batch can change (and what changed: ``table.column``, or a
    table whose rows came or went, or which the batch wrote). After the orders step (its stored
    and recomputed facts of every touched order, ``o2o_stored_facts`` / ``o2o_new_facts``): a
    column of order_facts changed when one order's differs; a column of orders when order_facts
    copies it and its copy changed, or when it does not and the batch wrote orders; every column of
    the other tables the batch wrote, and their rows. A step is run when it reads one of those
    columns (:func:`find_step_reads`), or reads (its SQL names, or a step's it reads names) a table
    whose rows came or went. A batch of corrections of the amounts paid leaves the steps of waits,
    reviews, complaints, costs and events as they were."""
    reads = _step_reads(whole)
    copies = set(reads.get("order_facts copies", ()))
    written = {r[0] for r in con.execute("SELECT DISTINCT table_name FROM o2o_note_written").fetchall()}
    cols = _columns(con, "order_facts")
    new_or_gone = con.execute(
        "SELECT (SELECT count(*) FROM o2o_new_facts WHERE order_id NOT IN (SELECT order_id FROM o2o_stored_facts)) "
        "+ (SELECT count(*) FROM o2o_stored_facts WHERE order_id NOT IN (SELECT order_id FROM o2o_new_facts))"
    ).fetchone()[0]
    rows_changed = {t for t in written if t != "orders"}
    if new_or_gone:
        rows_changed |= {"order_facts", "orders"}
        facts_changed = {c.lower() for c in cols}
    else:
        differs = con.execute(
            "SELECT " + ", ".join(f"coalesce(bool_or(n.{c} IS DISTINCT FROM f.{c}), false)" for c in cols)
            + " FROM o2o_new_facts n JOIN o2o_stored_facts f USING (order_id)").fetchone()
        facts_changed = {c.lower() for c, d in zip(cols, differs) if d}
    changed = {f"order_facts.{c}" for c in facts_changed}
    if "orders" in written:
        changed |= {f"orders.{c.lower()}" for c in _columns(con, "orders")
                    if c.lower() not in copies or c.lower() in facts_changed}
    names = _names(whole)
    touched_by_rows: set[str] = set(rows_changed)
    for table in whole:                     # build order: a step comes after the steps it reads
        # (not through order_facts: its rows came or went when its recomputed facts say so)
        if table != "order_facts" and names[table] & touched_by_rows:
            touched_by_rows.add(table)
    runs = {table for table in whole if table != "order_facts"
            and (table in touched_by_rows
                 or any(label in changed or label.split(".")[0] in rows_changed for label in reads[table]))}
    return runs, sorted(changed | {f"{t}.*" for t in rows_changed})


#: the share of a table's rows above which a slice is not gathered (the steps read the table itself):
#: at 10 million orders, 1,000 new orders touch a slice of 2.4 % of order_facts (gathered, the
#: six steps' reads 2.2 -> 0.8 + 1 s), 100,000 new orders about 10 % (gathered, the import took 38.4 s
#: against 34.5 s without)
SLICE_MAX_SHARE = 0.05


def _gather_slices(con: duckdb.DuckDBPyConnection, restricted: dict[str, str],
                   variants: dict[str, str]) -> dict[str, int | str]:
    """The slices of :data:`SLICES` but :data:`EARLY_SLICES`, after the touched keys are known and
    order_facts is up to date (:func:`_gather_slice`). Returns each slice's rows (or "whole")."""
    return {f"{table}: {name}": _gather_slice(con, table, name, restricted, variants)
            for table, name in SLICES if (table, name) not in EARLY_SLICES
            and any(f"o2o_slice_{table}_{name}" in query for query in restricted.values())}


def _gather_store_day_children(con: duckdb.DuckDBPyConnection, restricted: dict[str, str],
                               slices: dict[str, int | str]) -> dict[str, int | str]:
    """The slices ``o2o_slice_<child>_store_days`` of :data:`STORE_DAY_CHILDREN` that a step reads,
    after ``o2o_slice_order_facts_store_days``: the child's slice of the touched orders when that
    slice and the store-days' one were gathered (``slices``: their rows, not "whole") and every
    order of the store-days is touched; else the child table. Returns each one's rows (or "whole")."""
    out: dict[str, int | str] = {}
    for child in STORE_DAY_CHILDREN:
        slice_name = f"o2o_slice_{child}_store_days"
        if not any(slice_name in query for query in restricted.values()):
            continue
        days, touched = slices.get("order_facts: store_days"), slices.get(f"{child}: orders")
        if isinstance(days, int) and isinstance(touched, int) and not con.execute(
                "SELECT count(*) FROM o2o_slice_order_facts_store_days "
                "WHERE order_id NOT IN (SELECT order_id FROM o2o_touched_orders)").fetchone()[0]:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {slice_name} AS SELECT * FROM o2o_slice_{child}_orders")
            out[f"{child}: store_days"] = touched
        else:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {slice_name} AS SELECT * FROM {child}")
            out[f"{child}: store_days"] = "whole"
    return out


def _gather_slice(con: duckdb.DuckDBPyConnection, table: str, name: str, restricted: dict[str, str],
                  variants: dict[str, str] | None = None) -> int | str:
    """The temp table ``o2o_slice_<table>_<name>`` of :data:`SLICES`: the row ids by the keys'
    columns first, then those rows' columns that the steps reading the slice name (``restricted``:
    the import's queries; and :data:`_OWN_READS`). Every column is taken when a step reads ``*`` of
    a table. (Every column of 67,650 orders spread over the 10 million took 0.65-1.0 s, twelve of
    them 0.24 s.) The keys are those of the steps reading it (``variants``: each step's set of key
    tables; every changed order's when they differ). When the rows are more than
    :data:`SLICE_MAX_SHARE` of the table, the slice is the table itself. Returns its rows (or "whole")."""
    from o2o_ops.kpis.sql import touched_test
    slice_name = f"o2o_slice_{table}_{name}"
    used = {(variants or {}).get(t, "") for t, q in restricted.items() if slice_name in q}
    variant = used.pop() if len(used) == 1 else ""
    tests = " OR ".join(touched_test(kind, *keys, variant=variant) for kind, keys in SLICES[(table, name)])
    con.execute(f"CREATE OR REPLACE TEMP TABLE o2o_slice_rows AS SELECT rowid AS rid FROM {table} WHERE {tests}")
    rows, total = con.execute(f"SELECT (SELECT count(*) FROM o2o_slice_rows), (SELECT count(*) FROM {table})").fetchone()
    if rows > SLICE_MAX_SHARE * total:
        # a large batch: reading its rows by id costs more than testing every row in each step
        con.execute(f"CREATE OR REPLACE TEMP VIEW {slice_name} AS SELECT * FROM {table}")
        return "whole"
    readers = [q for q in restricted.values() if slice_name in q] + [_OWN_READS.get(slice_name, "")]
    words = set().union(*map(_words, readers))
    star = any(re.search(r"(?:\.|\bSELECT\s+)\*", q, re.I) for q in readers)
    columns = (list(SLICE_COLUMNS.get((table, name), ()))
               or [c for c in _columns(con, table) if star or c.lower() in words])
    con.execute(f"CREATE OR REPLACE TEMP TABLE {slice_name} AS SELECT {', '.join(columns)} FROM {table} "
                "WHERE rowid IN (SELECT rid FROM o2o_slice_rows)")
    return int(rows)


def _words(sql: str) -> set[str]:
    """The names ``sql`` uses (tables, columns, keywords), lower-cased."""
    return {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql)}


def _names(whole: dict[str, str]) -> dict[str, set[str]]:
    """Each step's names (:func:`_words`) but its own: the tables it reads are among them."""
    return {table: _words(query) - {table} for table, query in whole.items()}


#: the columns of a slice this module's own statements read (the orders step's neighbour check)
_OWN_READS = {"o2o_slice_orders_customers": "customer_id order_id ordered_at"}


def _last_day(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    return con.execute("SELECT max(date) FROM rollup_store_day_totals").fetchone()[0]


def _lift_mode(con: duckdb.DuckDBPyConnection, old_last_day: dt.date | None) -> str:
    """How lift's store-days, levels and cells are brought up to date (:data:`KEYED_LIFT`):
    ``whole``, ``held`` (per store-day and store x weekday; the last day held) or ``moved`` (the
    same; it moved by less than a week). Leaves the touched store-days in ``o2o_touched_lift_stores``
    (every day of those), ``o2o_touched_lift_days`` (those days of every store) and
    ``o2o_touched_lift_store_days``, the touched pairs in ``o2o_touched_store_weekdays`` and
    ``o2o_touched_cell_weekdays``. Runs after ``rollup_store_day_totals`` and
    ``rollup_campaign_store`` (whose changed rows it reads) were brought up to date."""
    from o2o_ops.kpis.sql import weekday_sql
    new_last_day = _last_day(con)
    moved: list[dt.date] = []
    if new_last_day != old_last_day:
        if old_last_day is None or new_last_day is None or abs((new_last_day - old_last_day).days) >= 7:
            return "whole"
        # the days after the earlier last day up to the later one: added to (or dropped from) every grid
        lo, hi = sorted((old_last_day, new_last_day))
        moved = [lo + dt.timedelta(days=k) for k in range(1, (hi - lo).days + 1)]
    con.execute("CREATE OR REPLACE TEMP TABLE o2o_touched_lift_days (t_date DATE)")
    if moved:
        con.executemany("INSERT INTO o2o_touched_lift_days VALUES ($1)", [[day] for day in moved])
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_touched_lift_store_days AS
        SELECT DISTINCT store_id AS t_store_id, date AS t_date FROM o2o_diff_rollup_store_day_totals""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_touched_lift_stores AS
        WITH firsts AS (
            SELECT store_id, min(date) AS first FROM rollup_lift_store_day
            WHERE store_id IN (SELECT t_store_id FROM o2o_touched_lift_store_days) GROUP BY store_id
        )
        -- campaigns changed, or a day at or before the first one (the grid moves)
        SELECT store_id AS t_store_id FROM o2o_diff_rollup_campaign_store
        UNION SELECT c.t_store_id FROM o2o_touched_lift_store_days c LEFT JOIN firsts f ON f.store_id = c.t_store_id
        WHERE f.first IS NULL OR c.t_date <= f.first""")
    weekday = weekday_sql("t_date")   # the touched test's own expression: the hashes must match
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_touched_store_weekdays AS
        SELECT t_store_id, {weekday} AS t_wd FROM o2o_touched_lift_store_days
        UNION SELECT t_store_id, CAST(wd AS INTEGER) FROM o2o_touched_lift_stores CROSS JOIN range(1, 8) w(wd)
        UNION SELECT store_id, {weekday} FROM (SELECT DISTINCT store_id FROM rollup_store_day_totals)
                                       CROSS JOIN o2o_touched_lift_days""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE o2o_touched_cell_weekdays AS
        SELECT DISTINCT s.city AS t_city, s.category AS t_category, t.t_wd
        FROM o2o_touched_store_weekdays t JOIN stores s ON s.store_id = t.t_store_id""")
    touched, stores = con.execute("SELECT (SELECT count(*) FROM o2o_touched_store_weekdays), "
                                  "(SELECT count(DISTINCT store_id) FROM rollup_store_day_totals)").fetchall()[0]
    if touched > LIFT_PER_STORE_MAX_SHARE * 7 * stores:
        return "whole"
    return "moved" if moved else "held"


def _replace_touched_rows(con: duckdb.DuckDBPyConnection, table: str, query: str, *, compare: bool,
                          variant: str = "", empty: frozenset[str] = frozenset()) -> tuple[int, int] | None:
    """DELETE the rows of ``table``'s touched keys and INSERT the restricted ``query``'s (for a
    table of :data:`ADDITIVE`, only the rows the deltas change, each its row before plus its
    delta); with ``compare``, leave the rows only one side has in ``o2o_diff_<table>``. ``variant``:
    the set of key tables ``query`` is restricted by (o2o_ops/kpis/sql.py ``key_table``); ``empty``:
    those found empty (:func:`_without_empty_tests`). Returns,
    for a table kept by deltas, how many of its store-days (or -weeks) the query recomputed and
    how many rows were written."""
    from o2o_ops.kpis.sql import touched_test
    columns = _column_types(con, table)
    cols = ", ".join(name for name, _ in columns)
    recomputed = None
    if table in ADDITIVE:
        old, new = f"o2o_was_{table}", f"o2o_now_{table}"   # kept: the source rows of the next tables
        recomputed = _merge_deltas(con, table, query, columns, variant)
        test = f"rowid IN (SELECT o2o_rid FROM {old})"   # nothing wrote the table since
    else:
        kind, keys = KEYED[table]
        test = _without_empty_tests(touched_test(kind, *keys, variant=variant), empty)
        if not compare:
            con.execute(f"DELETE FROM {table} WHERE {test}")
            con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ({query}) AS q")
            return None
        old, new = "o2o_old_rows", "o2o_new_rows"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {old} AS SELECT {cols} FROM {table} WHERE {test}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {new} AS SELECT {cols} FROM ({query}) AS q")
    con.execute(f"DELETE FROM {table} WHERE {test}")
    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {new}")
    if compare:
        same = " AND ".join(_same_value(name, dtype) for name, dtype in columns)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE o2o_diff_{table} AS
            SELECT * FROM {old} a WHERE NOT EXISTS (SELECT 1 FROM {new} b WHERE {same})
            UNION ALL
            SELECT * FROM {new} a WHERE NOT EXISTS (SELECT 1 FROM {old} b WHERE {same})""")
    return recomputed


def _leave_as_it_was(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A keyed step none of whose inputs the batch changed (:func:`_steps_to_run`): its rows stay;
    what later steps read of its changes is empty (its rows before and after for a table kept by
    deltas from it, its compared rows for lift and the anomaly scores)."""
    if table in ADDITIVE:
        con.execute(f"CREATE OR REPLACE TEMP TABLE o2o_was_{table} AS SELECT rowid AS o2o_rid, * FROM {table} LIMIT 0")
        con.execute(f"CREATE OR REPLACE TEMP TABLE o2o_now_{table} AS SELECT * FROM {table} LIMIT 0")
    if table in COMPARED:
        con.execute(f"CREATE OR REPLACE TEMP TABLE o2o_diff_{table} AS SELECT * FROM {table} LIMIT 0")


def _reading(query: str, source: str, instead: str) -> str:
    """The restricted ``query`` reading ``instead`` where it reads ``source`` (or its slice)."""
    return re.sub(rf"\b(?:o2o_slice_{source}_[a-z_]+|{source})\b", instead, query)


def _merge_deltas(con: duckdb.DuckDBPyConnection, table: str, query: str, columns: list[tuple[str, str]],
                  variant: str = "") -> tuple[int, int]:
    """The rows of ``table`` that the batch changes, before (``o2o_was_<table>``, with their row
    ids) and after (``o2o_now_<table>``): the keys the restricted ``query`` gives over its source's
    changed rows as they were or as they are (:data:`ADDITIVE`; and for a table of :data:`AGED`, the
    orders whose ageing bucket may move), each its row before plus the difference. Rows of the
    touched keys that no changed row reaches are left as they are (the rows before are found by a
    join on the delta keys alone: 0.59 -> 0.42 s for the day rollup of 1,000 new orders into 10
    million, against a test of the touched store-days first). Returns how many store-days (-weeks)
    were recomputed by ``query`` itself, over the whole source (a sum that may have lost its last
    value), and how many rows are written."""
    source, count_column, keys = ADDITIVE[table]
    kind, (store, date) = KEYED[table]
    measures = [name for name, _ in columns if name not in keys]
    cols = ", ".join(name for name, _ in columns)
    key_list = ", ".join(keys)
    was_rows, now_rows = f"o2o_was_{source}", f"o2o_now_{source}"
    was_query = query
    aged = AGED.get(table, {})
    if table in AGED:
        # the orders whose bucket may move but that did not change (the changed ones are on both
        # sides already), with the source's columns the query reads: on both sides, each side
        # bucketed with its own "as of" time
        read = ", ".join(c for c in _columns(con, source) if c.lower() in _words(query))
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE o2o_ageing_{source} AS
            SELECT {read} FROM {source} WHERE rowid IN (SELECT rid FROM o2o_ageing_orders)
              AND order_id NOT IN (SELECT order_id FROM {was_rows} UNION ALL SELECT order_id FROM {now_rows})""")
        was_rows, now_rows = (f"(SELECT {read} FROM {rows} UNION ALL SELECT * FROM o2o_ageing_{source})"
                              for rows in (was_rows, now_rows))
        was_query = re.sub(rf"\bo2o_as_of_{source}\b", f"o2o_was_as_of_{source}", query)
    con.execute(f"CREATE OR REPLACE TEMP TABLE o2o_part_was AS {_reading(was_query, source, was_rows)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE o2o_part_now AS {_reading(query, source, now_rows)}")
    # a NULL key equals a NULL key (full price has no campaign)
    on = lambda a, b: " AND ".join(f"{a}.{k} IS NOT DISTINCT FROM {b}.{k}" for k in keys if k not in _ATTRIBUTES)
    con.execute(f"CREATE OR REPLACE TEMP TABLE o2o_delta_keys AS "
                f"SELECT {key_list} FROM o2o_part_was UNION SELECT {key_list} FROM o2o_part_now")
    # their row ids by the key columns alone, then those rows' every column (the join over every
    # column read them all from every row: 0.17-0.2 against 0.11 s for 1,200 keys spread over the
    # 5 million rows of the order stages)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_was_{table} AS
        SELECT rowid AS o2o_rid, {cols} FROM {table} WHERE rowid IN (
            SELECT t.rowid FROM {table} t SEMI JOIN o2o_delta_keys k ON {on("t", "k")})""")
    # before + (as they are - as they were), each key at most once in each: the difference first,
    # so that an unchanged sum is its sum to the bit; NULL when it had none and gains none (or, for
    # a sum of AGED, when its count falls to 0). (One GROUP BY over the three with 90 sums took
    # 1.5-4.6 s of thread time over 74,453 rows.)
    after = lambda m: f"coalesce(o.{m}, 0) + (coalesce(n.{m}, 0) - coalesce(w.{m}, 0))"
    merged = ", ".join(f"CASE {f'WHEN {after(aged[m])} = 0 THEN NULL ' if m in aged else ''}"
                       f"WHEN o.{m} IS NULL AND n.{m} IS NULL THEN NULL ELSE {after(m)} END AS {m}"
                       for m in measures)
    # a key left with rows, one of whose sums had a value that the changed rows as they were gave
    # and as they are do not: whether the rows left give it one cannot be told from the sums. (A
    # count is never NULL, but an order moved off a key makes its counts look so too: that key is
    # recomputed, correct if not needed.) A sum of AGED can: none when its count falls to 0, one
    # when the rows left sum to more than rounding (a sum of a few thousand doubles in another
    # order is within 1e-12 of their sum)
    known = lambda m: (f" AND {after(aged[m])} > 0 AND abs(o.{m} - w.{m}) <= 1e-9 * greatest(abs(o.{m}), abs(w.{m}))"
                       if m in aged else "")
    unsure = " OR ".join(f"(o.{m} IS NOT NULL AND w.{m} IS NOT NULL AND n.{m} IS NULL{known(m)})" for m in measures)
    present = f"{count_column} > 0" if count_column else "TRUE"   # no count: a row is kept while its key has one
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_merged AS
        WITH m AS (
            SELECT {", ".join(f"k.{c}" for c in keys)}, {merged}, {unsure} AS o2o_unsure, o.o2o_rid
            FROM o2o_delta_keys k LEFT JOIN o2o_was_{table} o ON {on("o", "k")}
            LEFT JOIN o2o_part_was w ON {on("w", "k")} LEFT JOIN o2o_part_now n ON {on("n", "k")}
        )
        SELECT * REPLACE (o2o_unsure AND {present} AS o2o_unsure) FROM m""")
    if table in AGED:
        # the keys whose row stays the same (their orders' buckets did not move, or moved both ways)
        # are not rewritten: before, each as it was
        same = " AND ".join(_same_value(name, dtype) for name, dtype in columns if name in measures)
        con.execute(f"""
            DELETE FROM o2o_merged WHERE o2o_rid IN (
                SELECT a.o2o_rid FROM o2o_merged a JOIN o2o_was_{table} b USING (o2o_rid)
                WHERE NOT a.o2o_unsure AND {same})""")
        con.execute(f"DELETE FROM o2o_was_{table} WHERE o2o_rid NOT IN "
                    "(SELECT o2o_rid FROM o2o_merged WHERE o2o_rid IS NOT NULL)")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_unsure_keys AS
        SELECT DISTINCT {store} AS t_store_id, {date} AS t_date FROM o2o_merged WHERE o2o_unsure""")
    recomputed = con.execute("SELECT count(*) FROM o2o_unsure_keys").fetchone()[0]
    unsure_test = f"hash(CAST({store} AS VARCHAR), CAST({date} AS DATE)) IN " \
                  "(SELECT hash(CAST(t_store_id AS VARCHAR), CAST(t_date AS DATE)) FROM o2o_unsure_keys)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE o2o_now_{table} AS
        SELECT {cols} FROM o2o_merged WHERE {present} AND NOT ({unsure_test})""")
    if recomputed:
        # those store-days (-weeks) whole: every row before, and the query's rows over the source
        # itself (a slice holds the touched keys' rows a step reads, not necessarily these)
        con.execute(f"""
            INSERT INTO o2o_was_{table}
            SELECT rowid, {cols} FROM {table}
            WHERE {unsure_test} AND rowid NOT IN (SELECT o2o_rid FROM o2o_was_{table})""")
        from o2o_ops.kpis.sql import key_table
        by_query = re.sub(rf"\b{key_table(kind, variant)}\b", "o2o_unsure_keys", _reading(query, source, source))
        con.execute(f"INSERT INTO o2o_now_{table} SELECT {cols} FROM ({by_query}) AS q")
    written = con.execute(f"SELECT count(*) FROM o2o_now_{table}").fetchone()[0]
    return int(recomputed), int(written)


#: the relative difference under which two doubles of a compared table count as the same: sums of a
#: few thousand doubles in another order differ by about 1e-13 of their size; a real change of a
#: wait, a rating or an amount is many orders above 1e-12 (and values below 1,000 are compared at
#: 1e-9 absolute, the tests' own rounding)
_ROUNDING = 1e-12


def _same_value(column: str, dtype: str) -> str:
    """The test that rows ``a`` and ``b`` hold the same ``column`` (of data type ``dtype``): a
    double within its rounding (a sum of doubles taken in another order differs in its last bits,
    and counting that as a change would recompute what did not change), anything else equal or
    both NULL."""
    exact = f"a.{column} IS NOT DISTINCT FROM b.{column}"
    if dtype not in ("DOUBLE", "FLOAT", "REAL"):
        return exact
    return (f"({exact} OR abs(a.{column} - b.{column}) <= "
            f"{_ROUNDING} * greatest(abs(a.{column}), abs(b.{column}), 1e3))")


def _lift_campaigns(con: duckdb.DuckDBPyConnection, lift_mode: str) -> list[str] | None:
    """The campaigns whose lift inputs the batch changed (None: every campaign's may have): its
    stores (``rollup_campaign_store``), its marketing spend, or a row of its stores' days or of any
    city x category cell within the days its estimate reads (:func:`o2o_ops.lift.input_days_sql`;
    the fit of each 7-day block reads every cell of the block). A new last day of data moves every
    window that runs to it and every store's levels of some weekdays, hence every cell on them:
    then every campaign is."""
    from o2o_ops import lift
    if lift_mode != "held":
        return None
    rows = con.execute(f"""
        WITH reads AS ({lift.input_days_sql()})
        SELECT r.campaign_id FROM reads r
        WHERE EXISTS (SELECT 1 FROM o2o_diff_rollup_lift_cell_day d WHERE d.date BETWEEN r.first_day AND r.last_day)
           OR EXISTS (SELECT 1 FROM o2o_diff_rollup_lift_store_day d JOIN rollup_campaign_store m USING (store_id)
                      WHERE m.campaign_id = r.campaign_id AND d.date BETWEEN r.first_day AND r.last_day)
           -- a store's level of a weekday: read on that weekday of every window
           OR EXISTS (SELECT 1 FROM o2o_diff_rollup_lift_store_level d JOIN rollup_campaign_store m USING (store_id)
                      WHERE m.campaign_id = r.campaign_id)
        UNION SELECT campaign_id FROM o2o_diff_rollup_campaign_store
        UNION SELECT campaign_id FROM o2o_diff_rollup_campaign_costs WHERE cost_type = 'marketing'
        UNION SELECT campaign_id FROM o2o_note_campaigns
        ORDER BY 1""", {"base_min": lift.BASELINE_MIN_DAYS}).fetchall()
    return [r[0] for r in rows]


def _python_derived(con: duckdb.DuckDBPyConnection, beside: "_Beside", seconds: dict, counts: dict) -> None:
    """The tables computed in Python (db.build_python_derived), each from what changed:
    ``anomaly_scores`` kept unless a judged store-week (:data:`o2o_ops.anomalies.JUDGED_DAYS` days
    in data) changed, else rebuilt whole (a store's week effect is a median over its category's
    stores, the noise of waits and ratings one spread pooled over every store: a store's change
    reaches every store of its category and, for those two, every store); ``campaign_lift`` for
    the campaigns whose inputs changed (:func:`_lift_campaigns`); the load ahead whole (its cut is
    the last day, its delays and hour profiles read over every store). The last two were computed
    beside the SQL steps (``beside``); here they are written."""
    from o2o_ops import anomalies, forecast, lift
    clock = time.perf_counter()
    judged = con.execute("SELECT count(*) FROM o2o_diff_rollup_anomaly_store_week WHERE days_in_data >= $d",
                         {"d": anomalies.JUDGED_DAYS}).fetchall()[0][0]
    if judged:
        anomalies.build_scores(con)
    counts["anomaly_scores"] = "whole" if judged else "kept"
    seconds["anomaly_scores"] = time.perf_counter() - clock
    campaigns = beside.args("campaign_lift")[0]
    clock = time.perf_counter()
    lift.write_table(con, campaigns, beside.result("campaign_lift"))
    counts["lift_campaigns"] = "whole" if campaigns is None else len(campaigns)
    seconds["campaign_lift"] = beside.seconds("campaign_lift") + time.perf_counter() - clock
    clock = time.perf_counter()
    forecast.write_table(con, beside.result("forecast"))
    seconds["forecast"] = beside.seconds("forecast") + time.perf_counter() - clock
    # the main thread's wait for them after its last step (their own seconds overlap the steps')
    counts["beside_wait_s"], counts["beside_again"] = round(beside.waited, 3), beside.again


class _Beside:
    """The tables computed in Python, computed on a second connection (a cursor of the write copy's)
    in one worker thread while the main thread runs the SQL steps: they read only tables that are
    up to date by then (``forecast.DERIVED_READS``, ``lift.DERIVED_READS``: :func:`_schedule` runs
    those first) and write nothing; :func:`_python_derived` writes their results. The SQL steps
    leave one of the two cores idle much of the time (DuckDB's small statements run on one), and
    the Python half of these computations holds the interpreter, not DuckDB. A computation that
    runs out of memory under the cap is done again on the main connection (:meth:`result`).

    A statement of the steps that runs out of memory runs again only once the worker is idle
    (:meth:`wait`): its memory is then free, and DuckDB cannot create again what a statement that
    failed had begun to create while another connection's transaction that began before the failure
    is still open ("Catalog write-write conflict on create", seen under a 16 MB cap)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, capped: "_Capped") -> None:
        from concurrent.futures import ThreadPoolExecutor
        self._con, self._capped = con, capped
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="o2o-beside")
        self._jobs: dict[str, tuple] = {}       # name -> (future, cursor, compute, args)
        self._done: dict[str, tuple] = {}       # name -> (result, seconds)
        self.waited = 0.0
        self.again: list[str] = []              # computed again here: the worker ran out of memory
        capped.before_retry = self.wait

    def __contains__(self, name: str) -> bool:
        return name in self._jobs

    def start(self, name: str, compute, *args) -> None:
        cursor = self._con.cursor()    # made here: a connection is not shared between threads

        def run():
            clock = time.perf_counter()
            return compute(cursor, *args), time.perf_counter() - clock
        self._jobs[name] = (self._pool.submit(run), cursor, compute, args)

    def wait(self) -> None:
        """Until every computation started so far has finished (its result or error kept)."""
        from concurrent.futures import wait
        wait([future for future, *_ in self._jobs.values()])

    def args(self, name: str) -> tuple:
        return self._jobs[name][3]

    def result(self, name: str):
        """``name``'s result: waits for the worker; computes it here, under the cap (and again
        without it), when the worker ran out of memory."""
        if name not in self._done:
            future, _, compute, args = self._jobs[name]
            clock = time.perf_counter()
            try:
                self._done[name] = future.result()
            except duckdb.OutOfMemoryException:
                self.again.append(name)
                self._done[name] = (self._capped.run_within_cap(lambda: compute(self._con, *args), name), 0.0)
            finally:
                self.waited += time.perf_counter() - clock
        return self._done[name][0]

    def seconds(self, name: str) -> float:
        return self._done[name][1]

    def close(self) -> None:
        """Stop the worker (interrupting a computation still running: the import failed) and close
        its cursors."""
        for name, (future, cursor, _, _) in self._jobs.items():
            if name not in self._done and not future.done():
                cursor.interrupt()
        self._pool.shutdown(wait=True)
        for future, cursor, _, _ in self._jobs.values():
            cursor.close()


def _start_beside(con: "_Capped", beside: _Beside, done: set[str], lift_mode: str | None) -> None:
    """Start each table computed in Python whose inputs are all up to date (``done``)."""
    from o2o_ops import forecast, lift
    if "forecast" not in beside and done.issuperset(forecast.DERIVED_READS):
        beside.start("forecast", forecast.compute_table)
    if "campaign_lift" not in beside and done.issuperset(lift.DERIVED_READS):
        # the campaigns are chosen here, from this connection's temp tables of what changed
        beside.start("campaign_lift", lift.compute_table, _lift_campaigns(con, lift_mode))


def _coverage_query(con: duckdb.DuckDBPyConnection, query: str) -> str:
    """``coverage``'s query (sql/rollups_coverage.sql) reading only what the batch wrote. Each span
    (a branch of the ``spans`` union, over one contract table) is: the stored row when the batch did
    not write its table, or updated none of the columns the span reads (``o2o_note_updated_columns``)
    and appended no row to it; when the batch only appended rows to it, or appended some and updated
    none of those columns, and the span is made of counts, mins, maxes and constants, the stored row
    combined with the span of the appended rows (counts add, the first and last dates widen); else
    the span computed again over the whole table. A day's feed thus reads its few thousand new
    orders, not the 10 million before them (0.25 s warm, 0.34 s with nothing in the page cache, at
    10 million orders), and a batch of corrections of the amounts paid none (0.30 s in the bench).
    The query's spans come parsed (:func:`_coverage_spans`)."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary "
                       "AND table_name = 'o2o_note_written'").fetchone()[0]:
        return query
    written = {table: (last, appended) for table, last, appended in con.execute(
        "SELECT table_name, min(last_rowid), bool_and(only_appended) FROM o2o_note_written GROUP BY 1").fetchall()}
    updated: dict[str, set[str]] = {}
    for table, column in con.execute("SELECT table_name, column_name FROM o2o_note_updated_columns").fetchall():
        updated.setdefault(table, set()).add(column)
    # the tables the batch appended rows to (after the last row id before the write)
    grew = {table for table, (last, _) in written.items() if last is None or con.execute(
        f"SELECT coalesce(max(rowid), -1) > $last FROM {table}", {"last": last}).fetchone()[0]}
    stored_inputs = {r[0] for r in con.execute("SELECT input FROM coverage").fetchall()}
    parsed = _coverage_spans(query)
    columns = "input, table_name, n_rows, first_date, last_date"
    parts = []
    for span in parsed["spans"]:
        table = span["table"]
        if table is None or span["input"] not in stored_inputs:   # (a stored row missing: computed again)
            parts.append(span["sql"])
            continue
        stored = f"SELECT {columns} FROM coverage WHERE input = {span['input_sql']}"
        # the batch updated none of the columns the span reads (a correction of the amounts paid:
        # the spans of the orders' discounts, fees, validity and promises are as they were)
        untouched = "*" not in updated.get(table, ()) and not set(span["columns"]) & updated.get(table, set())
        if table not in written or (untouched and table not in grew):
            parts.append(stored)
        elif (written[table][1] or untouched) and span["combinable"]:
            appended = span["appended_sql"].replace(_LAST_ROWID, str(int(written[table][0])))
            parts.append(f"SELECT o.input, o.table_name, o.n_rows + a.n_rows AS n_rows, "
                         f"least(o.first_date, a.first_date) AS first_date, "
                         f"greatest(o.last_date, a.last_date) AS last_date "
                         f"FROM ({stored}) o CROSS JOIN ({appended}) a({columns})")
        else:
            parts.append(span["sql"])
    return parsed["template"].replace(_SPANS, " UNION ALL ".join(parts))


#: stand-ins in :func:`find_coverage_spans`'s SQL: for the union of the spans, and for the last row id
#: of a table before the write
_SPANS, _LAST_ROWID = "o2o_spans_here", "o2o_last_rowid"

#: the coverage query's spans, parsed (:func:`find_coverage_spans`): parsing it with sqlglot took
#: 0.2 s of every import (sqlglot's own import included). Stored under the query's fingerprint; a
#: test checks the file against the SQL; after a change of the SQL, :func:`write_coverage_file`
#: writes it again (until then, imports parse the query)
COVERAGE_FILE = Path(__file__).parent / "sql" / "coverage_spans.json"


def find_coverage_spans(query: str) -> dict[str, Any]:
    """``query`` (coverage's) taken apart for :func:`_coverage_query`: ``template``, the query with
    :data:`_SPANS` for the union of the ``spans`` CTE; ``spans``, one per branch of that union, in
    order: its ``sql``; the contract ``table`` it reads when it is a simple span (one table, no
    join, filter or grouping, its input named by a constant; else None), that ``input`` and its SQL
    (``input_sql``), the ``columns`` it reads, whether its columns are ``combinable``
    (:func:`_combinable`) and the span of the appended rows (``appended_sql``: rows after
    :data:`_LAST_ROWID`)."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(query, read="duckdb")
    cte = next(cte for cte in tree.find_all(exp.CTE) if cte.alias == "spans")
    branches, union = [], cte.this
    while isinstance(union, exp.Union):
        branches.insert(0, union.expression)
        union = union.this
    branches.insert(0, union)
    spans = []
    for branch in branches:
        source = branch.args.get("from_")
        table = source.this.name if source is not None and isinstance(source.this, exp.Table) else None
        name = branch.expressions[0].unalias()
        simple = (table is not None and isinstance(name, exp.Literal) and not branch.args.get("joins")
                  and not branch.args.get("where") and not branch.args.get("group"))
        spans.append({
            "sql": branch.sql(dialect="duckdb"), "table": table if simple else None,
            "input": name.this if simple else None, "input_sql": name.sql(dialect="duckdb") if simple else None,
            "columns": sorted({c.name.lower() for c in branch.find_all(exp.Column)}),
            "combinable": all(_combinable(e.unalias()) for e in branch.expressions),
            "appended_sql": branch.copy().where(f"rowid > {_LAST_ROWID}").sql(dialect="duckdb") if simple else None})
    cte.set("this", sqlglot.parse_one(f"SELECT 1 AS {_SPANS}", read="duckdb"))
    template = tree.sql(dialect="duckdb")
    assert template.count(f"SELECT 1 AS {_SPANS}") == 1, template
    return {"template": template.replace(f"SELECT 1 AS {_SPANS}", _SPANS), "spans": spans}


def _coverage_key(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def _coverage_spans(query: str) -> dict[str, Any]:
    """:func:`find_coverage_spans` of ``query``: from :data:`COVERAGE_FILE` when it was found from it."""
    stored = _load_found(COVERAGE_FILE, _coverage_key(query))
    return stored if stored is not None else find_coverage_spans(query)


def write_coverage_file() -> dict[str, Any]:
    """Take the build's coverage query apart and write :data:`COVERAGE_FILE`."""
    query = dict(_steps(touched=False))["coverage"]
    found = find_coverage_spans(query)
    _save_found(COVERAGE_FILE, _coverage_key(query), found)
    return found


def _combinable(expression) -> bool:
    """Whether a span's column over old rows and over appended rows combines into the column over
    all rows: a count (added), a min or max (widened), or a constant."""
    from sqlglot import exp
    while isinstance(expression, exp.Cast):
        expression = expression.this
    return isinstance(expression, (exp.Count, exp.Min, exp.Max, exp.Literal, exp.Null))


def _schedule(whole: dict[str, str]) -> list[str]:
    """The SQL steps in the order an import runs them: first the tables the load ahead reads
    (``forecast.DERIVED_READS``) and every table those read, then lift's (``lift.DERIVED_READS``),
    then the rest, each group in build order (a table comes after every table its SQL names, so it
    does within each group too), so that :class:`_Beside` can start them early."""
    from o2o_ops import forecast, lift
    reads = {table: names & set(whole) for table, names in _names(whole).items()}

    def closure(tables: Sequence[str], into: set[str]) -> set[str]:
        todo = [t for t in tables if t in whole]
        while todo:
            table = todo.pop()
            if table not in into:
                into.add(table)
                todo.extend(reads[table])
        return into
    first = closure(forecast.DERIVED_READS, set())
    both = closure(lift.DERIVED_READS, set(first))
    return ([t for t in whole if t in first] + [t for t in whole if t in both and t not in first]
            + [t for t in whole if t not in both])


def _span(con: duckdb.DuckDBPyConnection) -> tuple:
    return tuple(con.execute("SELECT min(order_date), max(order_date) FROM order_facts").fetchone())


def apply(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Bring every derived table of the write copy ``con`` up to date with the batch written into
    it (after :func:`full_rebuild_reason` said None). Returns what was recomputed: the changed
    orders, the touched store-days, store-weeks, campaigns and customers, and the seconds each
    derived table took (``seconds``; order_facts includes finding the touched keys)."""
    from o2o_ops.kpis.sql import NO_AS_OF
    _ensure_notes(con)
    whole = dict(_steps(touched=False))
    readers = _as_of_readers(con, whole)
    # each step restricted by the keys of the changed orders it reads: every one's when it reads
    # the "as of" flags, else those of the orders of which more changed (AS_OF_FLAGS)
    variants = {table: "" if table in readers else NO_AS_OF for table in whole}
    restricted = {table: query for variant in ("", NO_AS_OF)
                  for table, query in _steps(touched=True, variant=variant) if variants.get(table) == variant}
    unknown = set(whole) - set(KEYED) - set(WHOLE) - set(KEPT_WHILE_CLEAN)
    if unknown:
        raise RuntimeError(f"derived tables without an incremental rule: {sorted(unknown)}")
    # the orders step reads the stored rows of the noted orders' customers, not of the customers of
    # the orders whose "as of" facts alone move (_restated_facts)
    incomplete = [t for t in readers
                  if re.search(r"\bo2o_touched_(?:customer_facts|campaign_first_facts)\b", restricted[t])]
    if incomplete:
        raise RuntimeError(f"steps that read the 'as of' facts restricted by customer rows: {incomplete}")
    seconds: dict[str, float] = {}
    # one checkpoint, db.rebuild's at the end: by default DuckDB checkpoints whenever the WAL passes
    # 16 MB, which every large DELETE / INSERT below did (3.5 s each at 10 million orders)
    con.execute("SET checkpoint_threshold = '1TB'")
    memory_mb = config.get_int("O2O_INCREMENTAL_MEMORY_MB")
    # the default (80 % of the machine) lets the buffer pool hold most of a 6 GB warehouse the
    # steps scan: 4.2 GB peak for 1,000 orders into 10 million
    if memory_mb > 0 and not _set_cap(con, memory_mb):
        memory_mb = 0    # the merge already holds more than the cap: DuckDB's own limit, as before the cap
    try:
        return _apply(con, restricted, whole, variants, memory_mb, seconds)
    except duckdb.OutOfMemoryException as exc:
        if memory_mb <= 0:
            raise                # DuckDB's own limit: the full build would run out as well
        # a read outside the capped connection (db.run's cursors) ran out under the cap, or a
        # statement ran out again without it: the contract tables are complete, so the full build
        # below recomputes every derived table, whatever this path had done
        con.execute("RESET memory_limit")
        con.execute("RESET checkpoint_threshold")
        raise TooWide(f"the incremental path needed more memory than O2O_INCREMENTAL_MEMORY_MB={memory_mb} "
                      f"({str(exc).splitlines()[0][:200]})") from exc
    except TooWide as exc:
        if not exc.spoilt:                     # (a fresh connection has them)
            con.execute("RESET memory_limit")   # the full build that runs instead needs DuckDB's defaults
            con.execute("RESET checkpoint_threshold")
        raise


def _apply(con: duckdb.DuckDBPyConnection, restricted: dict[str, str], whole: dict[str, str],
           variants: dict[str, str], memory_mb: int, seconds: dict[str, float]) -> dict[str, int]:
    raw, con = con, _Capped(con, memory_mb)
    beside = _Beside(raw, con)
    try:
        return _run_steps(con, raw, beside, restricted, whole, variants, seconds)
    finally:
        beside.close()


def _run_steps(con: "_Capped", raw: duckdb.DuckDBPyConnection, beside: "_Beside", restricted: dict[str, str],
               whole: dict[str, str], variants: dict[str, str], seconds: dict[str, float]) -> dict[str, int]:
    from o2o_ops import db
    clock = time.perf_counter()
    old_as_of = _as_of(con, "order_facts")   # still the facts before the batch
    new_as_of = _as_of(con, "orders")
    old_span = _span(con)
    slices: dict[str, int | str] = {}
    changed = _orders_step(con, restricted, old_as_of, new_as_of, slices)
    _key_tables(con, old_as_of, new_as_of, old_span, _span(con))
    empty = _empty_key_tables(con)
    restricted = {table: _without_empty_tests(query, empty) for table, query in restricted.items()}
    runs, inputs_changed = _steps_to_run(con, whole)
    slices.update(_gather_slices(con, {t: q for t, q in restricted.items() if t in runs}, variants))
    slices.update(_gather_store_day_children(con, {t: q for t, q in restricted.items() if t in runs}, slices))
    seconds["order_facts"] = time.perf_counter() - clock
    old_last_day = _last_day(con)
    lift_mode = None
    deltas: dict[str, int] = {}   # table kept by deltas -> its store-days (-weeks) recomputed
    written: dict[str, int] = {}  # ... -> the rows it wrote (each a key whose row changed, or recomputed)
    done = {"order_facts"}
    _start_beside(con, beside, done, lift_mode)
    for table in _schedule(whole):
        if table == "order_facts":
            continue
        clock = time.perf_counter()
        if table in KEYED_LIFT and lift_mode is None:
            lift_mode = _lift_mode(con, old_last_day)   # after rollup_store_day_totals, before both
        if table in KEYED and table not in runs:
            _leave_as_it_was(con, table)
        elif table in KEPT_WHILE_CLEAN and con.execute(KEPT_WHILE_CLEAN[table]).fetchone()[0]:
            pass
        elif table == "coverage":
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {_coverage_query(con, whole[table])}")
        elif table in WHOLE or table in KEPT_WHILE_CLEAN or (table in KEYED_LIFT and lift_mode == "whole"):
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {whole[table]}")
        else:
            # lift's rows are compared only when per store: else every campaign is recomputed anyway
            compare = table in COMPARED and (table not in KEYED_LIFT or lift_mode == "held")
            recomputed = _replace_touched_rows(con, table, restricted[table], compare=compare,
                                               variant=variants[table], empty=empty)
            if recomputed is not None:
                deltas[table], written[table] = recomputed
        seconds[table] = time.perf_counter() - clock
        done.add(table)
        _start_beside(con, beside, done, lift_mode)
    # statements that ran again without O2O_INCREMENTAL_MEMORY_MB ("INSERT INTO rollup_costs"): the
    # bench shows them; many mean the cap is too low to help
    in_place, rewritten, quiet = con.execute(
        "SELECT (SELECT count(*) FROM o2o_compared WHERE keeps_row AND NOT unchanged), "
        "(SELECT count(*) FROM o2o_moved_orders), (SELECT count(*) FROM o2o_quiet_orders)").fetchone()
    # (the quiet neighbours, written in place, are orders touching no key)
    neighbours = con.execute("SELECT count(*) FROM o2o_quiet_neighbours").fetchone()[0]
    counts: dict = {"changed_orders": int(changed), "facts_in_place": int(in_place + neighbours),
                    "facts_rewritten": int(rewritten), "orders_touching_no_key": int(quiet + neighbours),
                    "seconds": seconds, "over_cap": con.retried, "slices": slices,
                    "inputs_changed": inputs_changed,
                    "steps_left_as_they_were": sorted(t for t in KEYED if t != "order_facts" and t not in runs),
                   "recomputed_by_query": deltas, "delta_rows": written}
    # on the connection itself (they register frames), again without the cap if they run out under
    # it: each table is replaced whole, or per campaign by a DELETE then an INSERT, so building again is safe
    con.run_within_cap(lambda: _python_derived(raw, beside, seconds, counts), "python_derived")
    # the steps wrote no contract table: the latest order is still new_as_of (rendered by DuckDB, as
    # rebuild_rollups renders it, without reading the 10 million order times again)
    db.write_build_meta(con, as_of=con.execute("SELECT CAST(CAST($t AS TIMESTAMP) AS VARCHAR)",
                                               {"t": new_as_of}).fetchone()[0])
    for name in ("store_days", "store_weeks", "campaigns", "customers"):
        counts[name] = con.execute(f"SELECT count(*) FROM o2o_touched_{name}").fetchone()[0]
        # the keys of the steps that do not read the "as of" flags (AS_OF_FLAGS)
        counts[f"{name}_no_as_of"] = con.execute(f"SELECT count(*) FROM o2o_touched_{name}_no_as_of").fetchone()[0]
    counts["as_of_only_orders"] = con.execute("SELECT count(*) FROM o2o_as_of_only_orders").fetchone()[0]
    # the touched orders the batch did not name: their stored facts restated (_restated_facts)
    counts["restated_orders"] = con.execute("SELECT count(*) FROM o2o_restated_orders").fetchone()[0] + neighbours
    counts["as_of_readers"] = sorted(t for t, v in variants.items() if not v)
    counts["lift_store_weekdays"] = "whole" if lift_mode == "whole" else con.execute(
        "SELECT count(*) FROM o2o_touched_store_weekdays").fetchall()[0][0]
    for (name,) in con.execute("SELECT view_name FROM duckdb_views() "
                               "WHERE temporary AND starts_with(view_name, 'o2o_')").fetchall():
        con.execute(f"DROP VIEW IF EXISTS {name}")
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() "
                               "WHERE temporary AND starts_with(table_name, 'o2o_')").fetchall():
        con.execute(f"DROP TABLE IF EXISTS {name}")
    from o2o_ops import coverage
    coverage.forget()
    return counts


class _Capped:
    """``con`` whose ``execute`` runs each statement under the memory cap this module set: one that
    needs more runs again with DuckDB's own limit (a failed statement changed nothing: each runs in
    its own transaction), and the cap comes back before the next statement (not at once: setting it
    would replace the result the caller is about to fetch). So the cap can slow an import but never
    fail it (measured at 10 million orders: caps of 512 and 768 MB ran out in several steps).
    Everything else is the connection's own."""

    def __init__(self, con: duckdb.DuckDBPyConnection, memory_mb: int) -> None:
        self._con, self._memory_mb, self._lifted = con, memory_mb, False
        self.retried: list[str] = []
        #: called before a statement runs again (:class:`_Beside` waits for its worker there)
        self.before_retry = lambda: None

    def execute(self, sql: str, params=None):
        return self.run_within_cap(lambda: self._con.execute(sql, params), " ".join(sql.split()[:3]))

    def run_within_cap(self, step, what: str):
        """``step()`` under the cap; once more without it if it runs out (``what`` noted in
        :attr:`retried`). ``step`` must be safe to run again after failing part-way."""
        if self._lifted:
            _set_cap(self._con, self._memory_mb)
            self._lifted = False
        try:
            return step()
        except duckdb.OutOfMemoryException:
            if self._memory_mb <= 0:
                raise
            self.before_retry()
            self._con.execute("RESET memory_limit")
            self._lifted = True
            self.retried.append(what)
            for attempt in range(_CONFLICT_RETRIES):
                try:
                    return step()
                except duckdb.TransactionException as exc:
                    # what the failed statement had begun to create can outlive it a moment
                    # ("Catalog write-write conflict on create"; seen 1 in about 10 runs of the
                    # 16 MB cap test, with the worker beside the steps idle): it changed nothing,
                    # so it runs again once DuckDB has let go of it
                    if "write-write conflict" not in str(exc):
                        raise
                    if attempt == _CONFLICT_RETRIES - 1:
                        # and now and then it never lets go (5 tries over 0.75 s: once in a run of
                        # every test), on a temp table or a derived one ("coverage"), which the full
                        # build writes too: db.rebuild closes this connection (its open transaction
                        # rolls back; every step before committed) and runs the full build on a
                        # fresh one, where the entry is gone
                        raise TooWide(f"a statement that ran out of memory under O2O_INCREMENTAL_MEMORY_MB="
                                      f"{self._memory_mb} could not run again ({str(exc).splitlines()[0][:200]})",
                                      spoilt=True) from exc
                    self.before_retry()
                    time.sleep(0.05 * (attempt + 1))

    def __getattr__(self, name: str):
        return getattr(self._con, name)


#: how often a statement run again without the cap is tried when DuckDB reports a catalog
#: write-write conflict left by its failed first run (:meth:`_Capped.run_within_cap`)
_CONFLICT_RETRIES = 5


def _set_cap(con: duckdb.DuckDBPyConnection, memory_mb: int) -> bool:
    """Cap DuckDB's memory at ``memory_mb``; False (limit unchanged) when it holds more than that
    and cannot free it."""
    try:
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
    except duckdb.OutOfMemoryException:
        return False
    return True


def discard_notes(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the notes (the full build ran instead)."""
    for name in (*_NOTES, "o2o_note_order_values"):
        con.execute(f"DROP TABLE IF EXISTS {name}")


#: derived tables computed in Python after the SQL ones (db.build_python_derived): rebuilt whole
PYTHON_DERIVED = ("anomaly_scores", "campaign_lift", "forecast_meta", "forecast_days", "forecast_stores",
                  "forecast_campaigns")


def table_names() -> Sequence[str]:
    """Every derived table of the SQL build with its rule (keyed, whole or kept while clean), for the tests."""
    return (*KEYED, *WHOLE, *KEPT_WHILE_CLEAN)
