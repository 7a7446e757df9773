"""A warehouse small enough to compute every KPI by hand (see tests/test_metrics.py).

Three stores, one campaign, six orders. Filter window 2026-11-02 .. 2026-11-15 holds O1..O5;
O6 (2026-10-20) lies outside it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from o2o_ops import db

START, END = dt.date(2026, 11, 2), dt.date(2026, 11, 15)

STORES = [
    # store_id, name, category, city, lat, lon, district, region, opened_on, capacity, listed_rating, listed_wait
    ("S1", "Lakeside Noodles", "restaurant", "Hangzhou", 30.25, 120.13, "Xihu", "East", "2020-01-01", 2, 4.5, 10),
    ("S2", "Bund Hotel", "hotel", "Shanghai", 31.23, 121.47, "Huangpu", "East", "2019-05-01", 1, 4.0, 5),
    ("S3", "Xuhui Dumplings", "restaurant", "Shanghai", 31.19, 121.44, None, None, None, None, None, None),
]
CAMPAIGNS = [("K1", "Autumn group buy", "group_buy", "wechat", "2026-11-02", "2026-11-15", 1000, 0.2)]
CUSTOMERS = [(c, "2026-01-01", "Shanghai", "silver", "app") for c in ("C1", "C2", "C3", "C4")]
ORDERS = [
    # order_id, customer, store, ordered_at, list, paid, campaign, channel, discount, fee, status, valid_until, tracking
    ("O1", "C1", "S1", "2026-11-02 12:00", 100, 80, "K1", "wechat", 20, 4, "paid", "2026-11-30", "T1"),
    ("O2", "C1", "S1", "2026-11-03 18:00", 100, 100, None, "app", 0, 5, "refunded", "2026-11-30", "T2"),
    ("O3", "C2", "S2", "2026-11-04 10:00", 500, 400, "K1", "wechat", 100, 20, "expired", "2026-11-06", "T3"),
    ("O4", "C3", "S2", "2026-11-05 09:00", 500, 500, None, "app", 0, 0, "cancelled", "2026-11-30", "T4"),
    ("O5", "C4", "S3", "2026-11-10 09:00", 60, 60, None, "maps", 0, 3, "paid", "2026-12-10", "T5"),
    ("O6", "C1", "S1", "2026-10-20 12:00", 100, 100, None, "app", 0, 5, "paid", "2026-11-19", "T6"),
]
REDEMPTIONS = [
    ("O1", "2026-11-03 12:00", 8, 30, 10),
    ("O2", "2026-11-03 20:00", 15, 30, 0),
    ("O5", "2026-11-10 19:00", 12, 20, 0),
    ("O6", "2026-10-20 13:00", 5, 30, 0),
]
REVIEWS = [
    ("R1", "O1", 4, "2026-11-03 14:00", True, None),
    ("R2", "O2", 2, "2026-11-03 22:00", False, "long_wait"),
    ("R5", "O5", 5, "2026-11-10 21:00", None, None),
    ("R6", "O6", 5, "2026-10-20 15:00", True, None),
]
REFUNDS = [("O2", "2026-11-04 09:00", 50, "long wait")]
COSTS = [
    ("2026-11-02", "marketing", 300, None, "K1", None),
    ("2026-11-02", "staff", 200, "S1", None, 10),
    ("2026-11-03", "rent", 100, "S2", None, None),
    ("2026-10-20", "staff", 50, "S1", None, 3),
]

# The orders' own promises (optional columns orders.promised_at / promised_wait_minutes), set
# after the insert. As of the latest order (O5, 11-10 09:00): O1 met its time (redeemed 12:00 <
# 18:00), O2 missed it (20:00 > 19:00), O3 was never redeemed and its time passed, O4 is
# cancelled, O5 waited 12 min against 10 promised; O6 (outside the window) waited 5 against 10.
PROMISES = [
    # order_id, promised_at, promised_wait_minutes
    ("O1", "2026-11-03 18:00", None),
    ("O2", "2026-11-03 19:00", None),
    ("O3", "2026-11-05 12:00", None),
    ("O4", "2026-11-06 12:00", None),
    ("O5", None, 10),
    ("O6", None, 10),
]

# Offline inspections. In the window: S1 on 11-04 scored 62 with 1 critical, 2 major and 3 minor
# violations (fails: below the pass score 70), S1 on 11-12 scored 88 with 1 major (passes), S2 on
# 11-05 passed (no score, no counts), S3 on 11-06 had 2 minor violations and no score (passes: no
# critical one). S1 on 10-20 (outside the window) failed.
INSPECTIONS = [
    # store_id, inspected_on, score, critical, major, minor, passed, inspection_type
    ("S1", "2026-11-04", 62, 1, 2, 3, None, "routine"),
    ("S1", "2026-11-12", 88, 0, 1, 0, None, "follow-up"),
    ("S2", "2026-11-05", None, None, None, None, True, "routine"),
    ("S3", "2026-11-06", None, 0, 0, 2, None, "routine"),
    ("S1", "2026-10-20", None, None, None, None, False, "routine"),
]

# The online funnel of K1 (wechat). In the window: 200 impressions, 10 clicks, coupons received by
# C1 (09:00 11-02, then ordered O1 with K1, redeemed 27 h later), C2 (ordered O3 with K1, never
# redeemed), C3 (no K1 order after it) and 2 anonymous ones; C1 shared it 3 times. The 50
# impressions of 10-20 fall outside the window.
EVENTS = [
    # event_type, occurred_at, event_count, campaign_id, channel, store_id, customer_id
    ("impression", "2026-11-02 08:00", 200, "K1", "wechat", None, None),
    ("click", "2026-11-02 08:00", 10, "K1", "wechat", None, None),
    ("coupon_received", "2026-11-02 09:00", 1, "K1", "wechat", "S1", "C1"),
    ("coupon_received", "2026-11-04 08:00", 1, "K1", "wechat", "S2", "C2"),
    ("coupon_received", "2026-11-05 08:00", 1, "K1", "wechat", None, "C3"),
    ("coupon_received", "2026-11-06 08:00", 2, "K1", "wechat", None, None),
    ("shared", "2026-11-03 10:00", 3, "K1", "wechat", None, "C1"),
    ("impression", "2026-10-20 08:00", 50, "K1", "wechat", None, None),
]

TABLE_ROWS = {
    "stores": STORES, "campaigns": CAMPAIGNS, "customers": CUSTOMERS, "orders": ORDERS,
    "redemptions": REDEMPTIONS, "reviews": REVIEWS, "refunds": REFUNDS, "costs": COSTS,
    "order_promises": PROMISES, "inspections": INSPECTIONS, "events": EVENTS,
}


def build_tiny(path: Path, tables: dict[str, list[tuple]] | None = None) -> Path:
    """Write the tiny warehouse (or ``tables`` in its place) to ``path`` and build rollups."""
    tables = tables or TABLE_ROWS
    with db.rebuild(path, start_empty=True) as con:
        for table in db.CONTRACT_TABLES:
            rows = tables.get(table, [])
            if rows:
                insert_rows(con, table, rows)
        promises = [(at, wait, order_id) for order_id, at, wait in tables.get("order_promises", [])]
        if promises:
            con.executemany("UPDATE orders SET promised_at = ?, promised_wait_minutes = ? WHERE order_id = ?", promises)
    return path


def insert_rows(con, table: str, rows: list[tuple]) -> None:
    """Insert ``rows`` into the table's first ``len(row)`` columns (optional columns added to
    the contract later, at the end of a table, stay empty)."""
    columns = [r[1] for r in con.execute(f"PRAGMA table_info('{table}')").fetchall()][:len(rows[0])]
    marks = ", ".join("?" for _ in rows[0])
    con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
