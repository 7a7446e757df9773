"""Campaign drill-down: campaign table → one campaign (daily series, stores, time to redeem,
lift, new customers) → one store → its orders, paged; and campaigns side by side.

Every KPI comes from the registry (:func:`o2o_ops.metrics.kpi_sql` at the campaign or store
grain, with the campaign in ``Filters.campaigns``), read from the campaign-only, campaign-sorted
copies of the core tables that ``sql/rollups_campaigns.sql`` builds (``rollup_campaign_day``,
``rollup_campaign_costs``, ``campaign_order_facts``): about one order in ten carries a campaign,
so a campaign's figures need not scan the other nine. The queries here are only for cuts the
registry does not have; each states its grain. Lift lives in :mod:`o2o_ops.lift`.

All functions take ``(con, filters, ...)`` with hashable arguments so pages can wrap them in
``data.cached``. Order rows are always paged with LIMIT/OFFSET.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import duckdb
import pandas as pd

from o2o_ops import db, lift, metrics, units
from o2o_ops.filters import Filters

PAGE_SIZE = 50
RETURN_WINDOWS_DAYS = (30, 60, 90)

# KPIs of the campaign table and the comparison, in display order (all from the registry).
TABLE_KPIS = ("marketing_spend", "orders", "paid_orders", "revenue", "redemption_rate",
              "breakage_orders", "breakage_value", "time_to_redeem_hours", "refund_rate",
              "avg_rating", "new_customers", "cac", "roi")
STORE_KPIS = ("orders", "paid_orders", "revenue", "redemption_rate", "avg_rating", "refund_rate",
              "time_to_redeem_hours")
# Lift columns shown in the table and comparison: (column, label, unit for metrics.format_value)
LIFT_COLUMNS = (("lift", "Incremental lift", "ratio"), ("lift_low", "Lift, 95% low", "ratio"),
                ("lift_high", "Lift, 95% high", "ratio"), ("extra_orders", "Extra orders", "count"),
                ("extra_net_revenue", "Extra net revenue", "currency"),
                ("incremental_roi", "Incremental ROI", "ratio"), ("verdict_short", "Lift verdict", None))
DESCRIPTIVE = ("campaign_id", "campaign_name", "kind", "channel", "start_date", "end_date", "budget")

TTR_BUCKETS = ((1, "< 1 h"), (6, "1–6 h"), (24, "6–24 h"), (72, "1–3 days"), (168, "3–7 days"),
               (336, "1–2 weeks"), (720, "2–4 weeks"), (None, "4 weeks +"))


def _one_campaign(filters: Filters, campaign_id: str) -> Filters:
    return filters.replace(campaigns=(campaign_id,))


# The registry's sources and their campaign-only copies (sql/rollups_campaigns.sql). Each copy
# holds exactly the source's rows with a campaign, so the registry's SQL gives the same figures
# for every campaign group; only the group of orders without a campaign would differ.
_CAMPAIGN_TABLES = {"day": "rollup_campaign_day", "costs": "rollup_campaign_costs", "facts": "campaign_order_facts"}
_CAMPAIGN_SOURCE_KINDS = frozenset({"o", "k", "f"})


def campaign_kpi_sql(filters: Filters, grain: str, names: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """:func:`metrics.kpi_sql`, reading campaign orders from the campaign-only tables.

    Only for figures of campaign groups: the campaign grain (its no-campaign group is dropped by
    the callers) or any grain with ``filters.campaigns`` set.
    """
    sources = set().union(*(metrics.KPIS[n].sources for n in names))
    if not sources <= _CAMPAIGN_SOURCE_KINDS:
        raise ValueError(f"KPIs {', '.join(names)} read sources the campaign tables do not copy.")
    if grain != "campaign" and not filters.campaigns:
        raise ValueError("The campaign tables answer campaign groups only: pass a campaign filter.")
    return metrics.kpi_sql(filters, grain, names, tables=_CAMPAIGN_TABLES)


def _campaign_kpis(con: duckdb.DuckDBPyConnection, filters: Filters, grain: str,
                   names: Sequence[str]) -> pd.DataFrame:
    """Like :func:`metrics.compute` at the campaign or store grain, for campaign groups only
    (what the warehouse does not provide, or too few reviews rest on, withheld the same way)."""
    names = list(names)
    extra = ["reviews"] if "reviews" not in names and any(metrics.KPIS[n].evidence for n in names) else []
    df = db.run(con, *campaign_kpi_sql(filters, grain, names + extra))
    if df.empty:
        return df.drop(columns=extra)
    df = metrics.withhold(con, df, filters, grain, names).drop(columns=extra)
    if grain == "campaign":
        camps = db.run(con, "SELECT campaign_id, name AS campaign_name, kind AS campaign_kind_, channel AS campaign_channel, "
                            "start_date, end_date, budget, discount_rate FROM campaigns")
        df = df.merge(camps, on="campaign_id", how="left")
    elif grain == "store":
        stores = db.run(con, "SELECT store_id, name AS store_name, city AS store_city, category AS store_category, "
                             "listed_rating, listed_wait_minutes, lat, lon FROM stores WHERE list_contains($ids, store_id)",
                        {"ids": df["store_id"].tolist()})
        df = df.merge(stores, on="store_id", how="left")
    return df


# ------------------------------------------------------------------------------------------
# The campaign table and the comparison
# ------------------------------------------------------------------------------------------

def _table_and_lifts(con: duckdb.DuckDBPyConnection, filters: Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`campaign_table` and the full lift results of its campaigns."""
    kpis = _campaign_kpis(con, filters, "campaign", TABLE_KPIS)
    if not kpis.empty:
        kpis = kpis[kpis["campaign_id"].notna()]
    if kpis.empty:
        empty = pd.DataFrame(columns=[*DESCRIPTIVE, *TABLE_KPIS, *(c for c, _, _ in LIFT_COLUMNS), "verdict"])
        return empty, pd.DataFrame(columns=lift.RESULT_COLUMNS)
    kpis = kpis[kpis["orders"] > 0].rename(columns={"campaign_kind_": "kind", "campaign_channel": "channel"})
    lifts = lift.campaign_lift(con, filters, tuple(kpis["campaign_id"]))
    cols = ["campaign_id", *(c for c, _, _ in LIFT_COLUMNS), "verdict"]
    table = kpis.merge(lifts[cols], on="campaign_id", how="left")
    table = table[[*DESCRIPTIVE, *TABLE_KPIS, *cols[1:]]]
    return table.sort_values("campaign_id").reset_index(drop=True), lifts


def campaign_table(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row per campaign with orders under ``filters``: descriptive columns, the registry's
    :data:`TABLE_KPIS` at campaign grain, and incremental lift (see :mod:`o2o_ops.lift`)."""
    return _table_and_lifts(con, filters)[0]


def campaign_summary(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str) -> dict[str, Any]:
    """The campaign table's row for one campaign plus its full lift result; {} if no orders."""
    # Lift ignores the campaign filter (lift.lift_filters), so the table's lift for the one
    # campaign is its full lift result: computed once.
    table, lifts = _table_and_lifts(con, _one_campaign(filters, campaign_id))
    if table.empty:
        return {}
    row = table.iloc[0].to_dict()
    full = lifts[lifts["campaign_id"] == campaign_id]
    if not full.empty:
        row["lift_detail"] = full.iloc[0].to_dict()
    return row


def compare_campaigns(con: duckdb.DuckDBPyConnection, filters: Filters,
                      campaign_ids: Sequence[str]) -> pd.DataFrame:
    """Campaigns side by side: one row per KPI (registry KPIs, then lift), one column per campaign
    (in the order given), numeric. Columns: ``kpi``, ``label``, ``unit``, then campaign ids."""
    ids = [c for c in dict.fromkeys(campaign_ids)]
    table = campaign_table(con, filters.replace(campaigns=tuple(ids)))
    rows = [(k, metrics.KPIS[k].label, metrics.KPIS[k].unit) for k in TABLE_KPIS]
    rows += [(c, label, unit) for c, label, unit in LIFT_COLUMNS]
    out = pd.DataFrame(rows, columns=["kpi", "label", "unit"])
    by_id = table.set_index("campaign_id")
    for cid in ids:
        out[cid] = [by_id.at[cid, k] if cid in by_id.index else None for k in out["kpi"]]
    return out


def format_compare(compare: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_campaigns` as text, each value in its KPI's unit (for display)."""
    ids = [c for c in compare.columns if c not in ("kpi", "label", "unit")]
    out = pd.DataFrame({"KPI": compare["label"]})
    for cid in ids:
        out[cid] = [(v if isinstance(v, str) else units.MISSING) if not isinstance(unit, str)
                    else units.format_value(v, unit)
                    for v, unit in zip(compare[cid], compare["unit"])]
    return out


# ------------------------------------------------------------------------------------------
# One campaign
# ------------------------------------------------------------------------------------------

# campaign_daily -- one row per day: the campaign's orders placed that day (by ordered_at) and
# its orders redeemed that day (by redeemed_at; orders placed under the filters, as the
# registry's "redemptions"). Source: campaign_order_facts. Parameters: $campaign + filter
# parameters.
_DAILY_SQL = """
WITH campaign_orders AS (
    SELECT order_date, redeemed_at, is_redeemed FROM campaign_order_facts
    WHERE campaign_id = $campaign AND {where_f}
),
placed AS (
    SELECT order_date AS day, count(*) AS orders FROM campaign_orders GROUP BY ALL
),
redeemed AS (
    SELECT CAST(redeemed_at AS DATE) AS day, count(*) AS redemptions FROM campaign_orders
    WHERE is_redeemed GROUP BY ALL
)
SELECT day, coalesce(orders, 0) AS orders, coalesce(redemptions, 0) AS redemptions
FROM placed FULL JOIN redeemed USING (day)
ORDER BY day
"""


def campaign_daily(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str) -> pd.DataFrame:
    """Daily orders placed and redemptions made for one campaign (columns day, orders, redemptions)."""
    params = {"campaign": campaign_id, **filters.params("facts")}
    sql = _DAILY_SQL.format(where_f=filters.where_sql("facts"))
    return db.run(con, sql, params)


def campaign_stores(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str) -> pd.DataFrame:
    """The campaign's stores ranked by its orders, each with its own :data:`STORE_KPIS`."""
    df = _campaign_kpis(con, _one_campaign(filters, campaign_id), "store", STORE_KPIS)
    if df.empty:
        return df
    df = df[df["orders"] > 0].sort_values(["orders", "store_id"], ascending=[False, True]).reset_index(drop=True)
    df.insert(0, "rank", range(1, len(df) + 1))
    return df[["rank", "store_id", "store_name", "store_city", *STORE_KPIS]]


# time_to_redeem_buckets -- one row per bucket of hours from ordered_at to redeemed_at, over the
# campaign's redeemed paid orders (the population of the registry's time_to_redeem_hours).
# Source: campaign_order_facts.
def time_to_redeem_buckets(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str) -> pd.DataFrame:
    """Columns bucket_no, bucket, redemptions, share; every bucket present (zero-filled)."""
    cases, labels = [], []
    for i, (upper, label) in enumerate(TTR_BUCKETS):
        labels.append(f"({i}, '{label}')")  # our constants, not user input
        if upper is not None:
            cases.append(f"WHEN hours_to_redeem < {float(upper)!r} THEN {i}")
    sql = f"""
WITH counted AS (
    SELECT CASE {' '.join(cases)} ELSE {len(TTR_BUCKETS) - 1} END AS bucket_no, count(*) AS redemptions
    FROM campaign_order_facts
    WHERE campaign_id = $campaign AND is_paid AND is_redeemed AND {filters.where_sql('facts')}
    GROUP BY ALL
)
SELECT b.bucket_no, b.bucket, coalesce(c.redemptions, 0) AS redemptions,
       coalesce(c.redemptions, 0) / NULLIF(sum(coalesce(c.redemptions, 0)) OVER (), 0) AS share
FROM (VALUES {', '.join(labels)}) b(bucket_no, bucket)
LEFT JOIN counted c USING (bucket_no)
ORDER BY b.bucket_no
"""
    return db.run(con, sql, {"campaign": campaign_id, **filters.params("facts")})


# new_customer_return -- one row per window (30/60/90 days): customers whose first-ever order came
# through the campaign (under the filters) and how many ordered again, anywhere, within the
# window. Only customers whose window has fully passed (first order + window <= as_of) are
# "observed"; the return rate is returned / observed. Source: campaign_order_facts, whose
# next_ordered_at is each first order's customer's next order, anywhere.
_RETURN_SQL = """
WITH nxt AS (
    SELECT customer_id, ordered_at, next_ordered_at FROM campaign_order_facts
    WHERE is_first_order AND campaign_id = $campaign AND {where}
),
as_of AS (SELECT max(ordered_at) AS as_of FROM order_facts)
SELECT w.window_days, count(n.customer_id) AS new_customers,
       count(n.customer_id) FILTER (WHERE n.ordered_at + to_days(w.window_days) <= a.as_of) AS observed,
       count(n.customer_id) FILTER (WHERE n.ordered_at + to_days(w.window_days) <= a.as_of
                                      AND n.next_ordered_at <= n.ordered_at + to_days(w.window_days)) AS returned
FROM (SELECT unnest($windows) AS window_days) w
CROSS JOIN as_of a
LEFT JOIN nxt n ON TRUE
GROUP BY ALL
ORDER BY w.window_days
"""


def new_customer_return(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str) -> pd.DataFrame:
    """Columns window_days, new_customers, observed, returned, return_rate (NULL when none observed)."""
    sql = _RETURN_SQL.format(where=filters.where_sql("facts"))
    df = db.run(con, sql, {"campaign": campaign_id, "windows": list(RETURN_WINDOWS_DAYS), **filters.params("facts")})
    df["return_rate"] = [r / o if o else None for r, o in zip(df["returned"], df["observed"])]
    return df


# ------------------------------------------------------------------------------------------
# One campaign at one store: its orders, paged
# ------------------------------------------------------------------------------------------

# campaign_store_orders -- one row per order of the campaign at the store (under the filters),
# ordered by ordered_at, order_id; one page via LIMIT/OFFSET. Source: campaign_order_facts
# (sorted by campaign, store, time, so the filter on both reads one short stretch; its complaint
# column holds the order's review complaints).
_ORDERS_SQL = """
SELECT order_id, tracking_code, ordered_at, redeemed_at, status, paid_amount, discount_amount,
       refund_amount, CASE WHEN count_reviews > 0 THEN rating_sum / count_reviews END AS review_rating,
       complaint
FROM campaign_order_facts
WHERE campaign_id = $campaign AND store_id = $store AND {where}
ORDER BY ordered_at, order_id
LIMIT $limit OFFSET $offset
"""

ORDER_COLUMNS = ("order_id", "tracking_code", "ordered_at", "redeemed_at", "status", "paid_amount",
                 "discount_amount", "refund_amount", "review_rating", "complaint")


def count_campaign_orders(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str, store_id: str) -> int:
    """How many orders of the campaign at the store match the filters."""
    sql = (f"SELECT count(*) FROM campaign_order_facts WHERE campaign_id = $campaign AND store_id = $store "
           f"AND {filters.where_sql('facts')}")
    return int(db.scalar(con, sql, {"campaign": campaign_id, "store": store_id, **filters.params("facts")}) or 0)


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(total / page_size))


def campaign_orders_page(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str, store_id: str,
                         page_no: int = 1, page_size: int = PAGE_SIZE) -> pd.DataFrame:
    """Page ``page_no`` (1-based) of the campaign's orders at the store: :data:`ORDER_COLUMNS`."""
    page_no = max(1, int(page_no))
    params = {"campaign": campaign_id, "store": store_id, "limit": int(page_size),
              "offset": (page_no - 1) * int(page_size), **filters.params("facts")}
    df = db.run(con, _ORDERS_SQL.format(where=filters.where_sql("facts")), params, max_rows=int(page_size))
    return df[list(ORDER_COLUMNS)]


# ------------------------------------------------------------------------------------------
# For the benchmark
# ------------------------------------------------------------------------------------------

def drilldown_queries(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str, store_id: str,
                      page_no: int = 1) -> dict[str, Any]:
    """Every query of a campaign → store → orders drill-down, as the page runs them (uncached).

    For the benchmark to time; returns the results keyed by panel.
    """
    return {
        "table": campaign_table(con, filters),
        "summary": campaign_summary(con, filters, campaign_id),
        "daily": campaign_daily(con, filters, campaign_id),
        "stores": campaign_stores(con, filters, campaign_id),
        "time_to_redeem": time_to_redeem_buckets(con, filters, campaign_id),
        "new_customers": new_customer_return(con, filters, campaign_id),
        "order_count": count_campaign_orders(con, filters, campaign_id, store_id),
        "orders": campaign_orders_page(con, filters, campaign_id, store_id, page_no),
    }


# ------------------------------------------------------------------------------------------
# The whole funnel: online (events, optional) then offline (orders), issue #16
# ------------------------------------------------------------------------------------------

#: The campaign funnel's stages: (registry KPI, stage label); the first three are online events.
FUNNEL_STAGES = (("impressions", "Impression"), ("clicks", "Click"), ("coupons_received", "Coupon received"),
                 ("orders", "Order"), ("redemptions", "Redeemed"), ("reviews", "Reviewed"))
ONLINE_STAGES = ("impressions", "clicks", "coupons_received")


def events_provided(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse holds any online funnel event."""
    return bool(db.scalar(con, "SELECT EXISTS (SELECT 1 FROM event_facts)"))


def campaign_funnel(con: duckdb.DuckDBPyConnection, filters: Filters, campaign_id: str) -> pd.DataFrame:
    """One campaign's funnel from the first impression to the offline visit: one row per stage of
    :data:`FUNNEL_STAGES` (stage, label, count, share_of_previous = count / the previous stage's
    count), every count a registry KPI at campaign grain under ``filters`` (events by the day they
    occurred, orders by the day they were placed, with their redemptions and reviews). The online
    stages are NaN ("not provided") when the warehouse holds no events."""
    names = [k for k, _ in FUNNEL_STAGES]
    row = metrics.compute(con, _one_campaign(filters, campaign_id), "campaign", names)
    row = row[row["campaign_id"] == campaign_id]
    provided = events_provided(con)
    counts = [float("nan") if (not provided and k in ONLINE_STAGES) or row.empty else float(row.iloc[0][k])
              for k, _ in FUNNEL_STAGES]
    out = pd.DataFrame({"stage": names, "label": [label for _, label in FUNNEL_STAGES], "count": counts})
    previous = out["count"].shift(1)
    out["share_of_previous"] = out["count"] / previous.where(previous > 0)
    return out
