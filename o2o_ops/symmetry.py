"""Online-offline symmetry: does what a store promises online match what customers get offline?

Every number here comes from the KPI registry (:func:`o2o_ops.metrics.compute`) or reuses a
registry formula over the same pre-summed rollup columns; this module adds the cuts the
symmetry page and the store map need:

- :func:`store_table` — one row per store: listed vs actual rating, promised vs actual wait,
  as-described rate, complaint rate, symmetry index;
- :func:`deal_gap_by_store` / :func:`deal_gap_by_week` — campaign vs full-price ratings;
- :func:`campaign_phases` — a store's rating before, during and after each of its campaigns;
- :func:`attention_list` — stores that need attention under the one rule of :mod:`o2o_ops.attention`;
- :func:`store_trend` and :func:`low_rated_reviews` — the one-store drill (reviews are paged);
- :func:`map_stores` — the store map's data, one row per store (aggregated in DuckDB);
- :func:`late_vs_promise_by_store` — late against each order's own promise (optional columns
  ``orders.promised_at`` / ``promised_wait_minutes``), per store; :func:`promises_provided`;
- :func:`rating_vs_inspections` — the online rating set against the offline inspection record
  (optional table ``inspections``); :func:`inspections_provided`.

No streamlit here; the UI wraps these with ``data.cached``.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from o2o_ops import attention, config, db, metrics, units
from o2o_ops.kpis import symmetry_index
from o2o_ops.filters import Filters

# KPIs of the per-store symmetry table, in display order.
TABLE_KPIS = ("symmetry_index", "avg_rating", "rating_gap", "wait_gap_minutes", "as_described_rate",
              "complaint_rate", "deal_customer_gap", "reviews", "redemptions", "orders")
TREND_KPIS = ("symmetry_index", "avg_rating", "rating_gap", "wait_gap_minutes", "as_described_rate",
              "complaint_rate", "reviews")   # reviews: why a week's index is withheld
# KPIs the map may colour stores by (an allowlist: the page offers exactly these).
MAP_KPIS = ("symmetry_index", "avg_rating", "online_rating", "inspection_pass_rate", "redemption_rate",
            "sla_attainment", "capacity_utilisation")

ATTENTION_WEEKS = attention.WEEKS
LOW_RATING = 2                   # reviews rated this or lower are "low-rated"


# ------------------------------------------------------------------------------------------
# Per-store table and deal-customer gap
# ------------------------------------------------------------------------------------------

def store_table(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row per store with orders under ``filters``: the registry's symmetry KPIs plus the
    store's promises. ``actual_wait_minutes`` = listed wait + wait gap (the store's mean wait over
    redemptions with a recorded wait; at store grain the promise is one number, so this is exact).
    Sorted worst symmetry first."""
    df = metrics.compute(con, filters, "store", TABLE_KPIS)
    if df.empty:
        return df
    df["actual_wait_minutes"] = df["listed_wait_minutes"] + df["wait_gap_minutes"]
    return df.sort_values(["symmetry_index", "store_id"], na_position="last").reset_index(drop=True)


def deal_gap_by_store(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row per store with both campaign and full-price reviews: deal-customer gap (registry),
    average rating and reviews. Most negative gap (deal customers least happy) first."""
    return deal_gap_from(metrics.compute(con, filters, "store", DEAL_KPIS))


DEAL_KPIS = ("deal_customer_gap", "avg_rating", "reviews")


def deal_gap_from(stores: pd.DataFrame) -> pd.DataFrame:
    """:func:`deal_gap_by_store` from store rows already at hand that hold :data:`DEAL_KPIS`
    (:func:`store_table`'s do: no query)."""
    if stores.empty:
        return stores
    df = stores[stores["deal_customer_gap"].notna()]
    return df.sort_values(["deal_customer_gap", "store_id"]).reset_index(drop=True)


def deal_gap_by_week(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row per ISO week: deal-customer gap and average rating (registry)."""
    return metrics.compute(con, filters, "week", ("deal_customer_gap", "avg_rating", "reviews"))


# campaign_phase_ratings: one row per campaign that sold at the store x phase (before, during,
# after). A phase is as long as the campaign: before = the same number of days ending the day
# before it starts, after = the same number of days from the day after it ends. Ratings are of
# all the store's orders (campaign and full price) placed in the phase, with the registry's
# avg_rating formula over the rollup's sums. Params: $store_id; the filters' non-date dimensions.
_PHASES_SQL = """
WITH camp AS (
    SELECT c.campaign_id, c.name AS campaign_name, c.kind AS campaign_kind, c.start_date, c.end_date,
           date_diff('day', c.start_date, c.end_date) + 1 AS n_days
    FROM campaigns c
    WHERE c.campaign_id IN (SELECT DISTINCT campaign_id FROM rollup_day_store_channel_campaign
                            WHERE store_id = $store_id AND campaign_id IS NOT NULL AND {where_dated})
),
phased AS (
    SELECT camp.campaign_id, camp.campaign_name, camp.campaign_kind, camp.start_date, camp.end_date,
           CASE WHEN r.date < camp.start_date THEN 'before'
                WHEN r.date > camp.end_date THEN 'after' ELSE 'during' END AS phase,
           r.rating_sum, r.count_reviews
    FROM camp JOIN {rollup} r
      ON r.store_id = $store_id
     AND r.date BETWEEN camp.start_date - camp.n_days * INTERVAL 1 DAY
                    AND camp.end_date + camp.n_days * INTERVAL 1 DAY
    WHERE {where_undated}
),
o AS (
    SELECT campaign_id, campaign_name, campaign_kind, start_date, end_date, phase,
           sum(rating_sum) AS rating_sum, sum(count_reviews) AS count_reviews
    FROM phased GROUP BY ALL
)
SELECT campaign_id, campaign_name, campaign_kind, start_date, end_date, phase,
       {avg_rating} AS avg_rating, count_reviews AS reviews
FROM o
ORDER BY start_date, campaign_id, CASE phase WHEN 'before' THEN 0 WHEN 'during' THEN 1 ELSE 2 END
"""
PHASES = ("before", "during", "after")


def campaign_phases(con: duckdb.DuckDBPyConnection, filters: Filters, store_id: str) -> pd.DataFrame:
    """The store's average rating before, during and after each campaign that sold there in the
    filter period: one row per campaign with ``before``/``during``/``after`` rating columns and
    their review counts. The phase windows run outside the filter dates on purpose (a campaign
    that starts on the first filtered day still has a "before")."""
    undated = filters.replace(start=None, end=None)
    sql = _PHASES_SQL.format(where_dated=filters.where_sql("rollup"),
                             where_undated=undated.where_sql("rollup", alias="r"),
                             rollup=metrics.order_rollup(undated),   # ratings of all the store's orders
                             avg_rating=metrics.KPIS["avg_rating"].sql)
    params = {**filters.params("rollup"), "store_id": store_id}
    long = db.run(con, sql, params)
    cols = ["campaign_id", "campaign_name", "campaign_kind", "start_date", "end_date"]
    if long.empty:
        return pd.DataFrame(columns=[*cols, *PHASES, *(f"reviews_{p}" for p in PHASES)])
    wide = long.set_index([*cols, "phase"])[["avg_rating", "reviews"]].unstack("phase")
    out = pd.DataFrame(index=wide.index)
    for phase in PHASES:  # unstack keeps all-NULL phases; a phase with no orders is absent
        out[phase] = wide[("avg_rating", phase)].astype(float) if ("avg_rating", phase) in wide else float("nan")
    for phase in PHASES:
        counts = wide[("reviews", phase)] if ("reviews", phase) in wide else 0
        out[f"reviews_{phase}"] = pd.Series(counts, index=out.index).fillna(0).astype(int)
    return out.reset_index().sort_values(["start_date", "campaign_id"]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# Late against the order's own promise (optional columns, issue #16)
# ------------------------------------------------------------------------------------------

PROMISE_KPIS = ("late_vs_promise_rate", "promises_due")


def promises_provided(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any order carries a promise of its own (a promised time or wait)."""
    return bool(db.scalar(con, "SELECT EXISTS (SELECT 1 FROM order_facts WHERE promised_at IS NOT NULL "
                               "OR promised_wait_minutes IS NOT NULL)"))


def late_vs_promise_by_store(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row per store with a promise due under ``filters``: late_vs_promise_rate and
    promises_due (registry), with the store's name, city and category. Latest first (highest
    late share; more promises due first among equals)."""
    df = metrics.compute(con, filters, "store", PROMISE_KPIS)
    if df.empty:
        return df
    df = df[df["promises_due"] > 0]
    return df.sort_values(["late_vs_promise_rate", "promises_due", "store_id"],
                          ascending=[False, False, True]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# The online rating against the inspection record (optional table inspections, issue #16)
# ------------------------------------------------------------------------------------------

INSPECTION_KPIS = ("online_rating", "avg_rating", "inspections", "inspection_pass_rate", "violations_per_inspection",
                   "critical_violations_per_inspection", "avg_inspection_score")


def inspections_provided(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse holds any inspection."""
    return bool(db.scalar(con, "SELECT EXISTS (SELECT 1 FROM inspection_facts)"))


def rating_vs_inspections(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """One row per store with orders and an inspection under ``filters``: its listed (online)
    rating and review rating beside its inspection record (registry KPIs :data:`INSPECTION_KPIS`),
    and ``failed_inspection`` (at least one inspection not passed). Stores that failed an
    inspection come first, the highest online rating first among them (rated high online, failing
    offline); then the others, lowest pass rate first."""
    df = metrics.compute(con, filters, "store", INSPECTION_KPIS)
    if df.empty:
        return df
    df = df[df["inspections"] > 0].copy()
    df["failed_inspection"] = df["inspection_pass_rate"] < 1
    return df.sort_values(["failed_inspection", "online_rating", "inspection_pass_rate", "store_id"],
                          ascending=[False, False, True, True], na_position="last").reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# Attention list
# ------------------------------------------------------------------------------------------

def reference_end(con: duckdb.DuckDBPyConnection, filters: Filters) -> dt.date | None:
    """The last day the attention list looks at: the filter's end, else the last order date."""
    if filters.end:
        return filters.end
    last = db.scalar(con, "SELECT max(date) FROM rollup_day_store_channel_campaign")
    return None if units.is_missing(last) else pd.Timestamp(last).date()


reason = attention.reason   # the attention rule's words (o2o_ops/attention.py)


# store_index_by_period: one row per period ('recent' = the last four weeks ending $recent_end,
# 'before' = the four weeks before) x store with orders in it, and the store's symmetry index
# there: the declared index (o2o_ops/kpis/symmetry_index.py: the same shrunk sums and score as
# metrics.kpi_sql's ``st`` and ``sym``), in one scan of both periods instead of one query per period.
# Params: $recent_start, $recent_end, $before_start; the filters' non-date dimensions.
_INDEX_BY_PERIOD_SQL = """
WITH st AS (
    SELECT CASE WHEN date >= $recent_start THEN 'recent' ELSE 'before' END AS period, store_id,
        {shrunk_sums}
    FROM {rollup}
    WHERE date >= $before_start AND date <= $recent_end AND {where_undated}
    GROUP BY ALL
),
indexed AS (
    SELECT st.period, st.store_id, st.count_redemptions, {symmetry_sql} AS idx
    FROM st JOIN stores s USING (store_id)
)
-- x * n / n, as the registry's redemption-weighted mean computes it for one store
SELECT period, store_id,
       idx * count_redemptions / NULLIF(CASE WHEN idx IS NOT NULL THEN count_redemptions END, 0) AS symmetry_index
FROM indexed
"""


def index_trend(con: duckdb.DuckDBPyConnection, filters: Filters, end: dt.date) -> pd.DataFrame:
    """One row per store with orders in the last :data:`ATTENTION_WEEKS` weeks ending ``end`` or
    the as many weeks before: ``index_recent``, ``index_before`` and ``index_drop`` (before −
    recent), each period's index equal to ``metrics.compute(..., "store", ("symmetry_index",))``
    over that period."""
    days = 7 * ATTENTION_WEEKS
    undated = filters.replace(start=None, end=None)
    sql = _INDEX_BY_PERIOD_SQL.format(where_undated=undated.where_sql("rollup"), rollup=metrics.order_rollup(undated),
                                      shrunk_sums=symmetry_index.shrunk_sums_sql(),
                                      symmetry_sql=symmetry_index.evidenced_score_sql())
    params = {**undated.params("rollup"), "recent_end": end, "min_reviews": config.get_int("O2O_MIN_REVIEWS"),
              "recent_start": end - dt.timedelta(days=days - 1),
              "before_start": end - dt.timedelta(days=2 * days - 1)}
    long = db.run(con, sql, params)
    trend = (long.pivot(index="store_id", columns="period", values="symmetry_index")
             .reindex(columns=["recent", "before"]).astype("float64")
             .rename(columns={"recent": "index_recent", "before": "index_before"})
             .rename_axis(columns=None).reset_index())
    trend["index_drop"] = trend["index_before"] - trend["index_recent"]
    return trend


_TREND_COLUMNS = ("index_before", "index_recent", "index_drop")


def attention_trend(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame | None:
    """:func:`index_trend` at :func:`reference_end` (None when there is no order): the part of the
    attention list that :func:`store_table` does not hold, so that a page that already has the
    store table computes only this (:func:`attention_from`)."""
    end = reference_end(con, filters)
    return None if end is None else index_trend(con, filters, end)


def _with_trend(period: pd.DataFrame, trend: pd.DataFrame | None) -> pd.DataFrame:
    """``period`` (one row per store) joined to an :func:`attention_trend` frame."""
    if trend is None:
        return period.assign(**{c: float("nan") for c in _TREND_COLUMNS})
    return period.merge(trend, on="store_id", how="left")


ATTENTION_COLUMNS = ["store_id", "store_name", "store_city", "store_category", "listed_rating", "avg_rating",
                     "rating_gap", "listed_wait_minutes", "wait_gap_minutes", "as_described_rate",
                     "symmetry_index", "reviews", "index_before", "index_recent", "index_drop", "is_over_promising",
                     "is_slow", "is_falling", "reason", "lat", "lon"]


def attention_from(period: pd.DataFrame, trend: pd.DataFrame | None, rule: attention.Rule, limit: int = 50, *,
                   lang: str = "en") -> pd.DataFrame:
    """:func:`attention_list` from the :func:`store_table` and :func:`attention_trend` frames
    already at hand (no query)."""
    if period.empty:
        return pd.DataFrame(columns=ATTENTION_COLUMNS)
    df = attention.attention_rows(_with_trend(period, trend), rule, lang)
    if df.empty:
        return pd.DataFrame(columns=ATTENTION_COLUMNS)
    return df[ATTENTION_COLUMNS].head(limit).reset_index(drop=True)


def attention_list(con: duckdb.DuckDBPyConnection, filters: Filters,
                   gap_threshold: float | None = None, min_drop: float | None = None, limit: int = 50, *,
                   rule: attention.Rule | None = None, lang: str = "en") -> pd.DataFrame:
    """Stores that need attention under the one attention rule (:mod:`o2o_ops.attention`, its
    thresholds from the settings; ``gap_threshold`` / ``min_drop`` replace the rating-gap and
    index-drop thresholds), most urgent first, each with a ``reason`` in words. The rating and
    wait gaps are over the filter period; the index fall compares the last four weeks (ending at
    the filter's end, else the last order date) with the four before.
    """
    rule = rule or attention.Rule.from_settings(rating_gap=gap_threshold, index_drop=min_drop)
    period = store_table(con, filters)
    if period.empty:
        return pd.DataFrame(columns=ATTENTION_COLUMNS)
    return attention_from(period, attention_trend(con, filters), rule, limit, lang=lang)


# ------------------------------------------------------------------------------------------
# One store's drill
# ------------------------------------------------------------------------------------------

def store_trend(con: duckdb.DuckDBPyConnection, filters: Filters, store_id: str) -> pd.DataFrame:
    """One row per ISO week: the store's symmetry KPIs (registry, filtered to that store)."""
    return metrics.compute(con, filters.replace(stores=(store_id,)), "week", TREND_KPIS)


# low_rated_reviews: one row per review rated <= $max_rating of an order at $store_id placed
# under the filters, newest first, with the order and its campaign, and the count of all of them
# (n_matching, before the page is cut). Paged: $limit / $offset.
_LOW_REVIEWS_SQL = """
SELECT v.posted_at, v.rating, v.as_described, v.complaint_category,
       f.order_id, f.ordered_at, f.status, f.paid_amount, f.redeemed_at, f.wait_minutes,
       f.listed_wait_minutes, f.campaign_id, c.name AS campaign_name, f.channel,
       count(*) OVER () AS n_matching
FROM reviews v
JOIN order_facts f USING (order_id)
LEFT JOIN campaigns c ON c.campaign_id = f.campaign_id
WHERE f.store_id = $store_id AND v.rating <= $max_rating AND {where}
ORDER BY v.posted_at DESC, v.review_id
LIMIT $limit OFFSET $offset
"""
_LOW_REVIEWS_COUNT_SQL = """
SELECT count(*) AS n
FROM reviews v JOIN order_facts f USING (order_id)
WHERE f.store_id = $store_id AND v.rating <= $max_rating AND {where}
"""


def low_rated_reviews(con: duckdb.DuckDBPyConnection, filters: Filters, store_id: str, *,
                      max_rating: int = LOW_RATING, page_size: int = 20, page_no: int = 1) -> tuple[pd.DataFrame, int]:
    """(one page of the store's low-rated reviews with their orders and campaigns, total count)."""
    page_size = max(1, min(int(page_size), 200))
    page_no = max(1, int(page_no))
    where = filters.where_sql("facts", alias="f")
    params = {**filters.params("facts"), "store_id": store_id, "max_rating": int(max_rating)}
    offset = (page_no - 1) * page_size
    rows = db.run(con, _LOW_REVIEWS_SQL.format(where=where), {**params, "limit": page_size, "offset": offset})
    # the page's rows carry the count of all matching reviews (one scan); a page past the end has
    # no row to carry it, so only then is it counted on its own
    if not rows.empty:
        total = int(rows["n_matching"].iloc[0])
    elif offset == 0:
        total = 0
    else:
        total = int(db.scalar(con, _LOW_REVIEWS_COUNT_SQL.format(where=where), params) or 0)
    return rows.drop(columns=["n_matching"]), total


# ------------------------------------------------------------------------------------------
# Map data
# ------------------------------------------------------------------------------------------

# redemption_bins: one row per lat/lon cell of side $cell degrees (cell centre), with the
# registry's redemptions KPI (orders placed under the filters that were redeemed) summed over
# the cell's stores. The map's activity layer; hundreds of rows whatever the order count.
_BINS_SQL = """
WITH o AS (
    SELECT r.store_id, sum(r.count_redemptions) AS count_redemptions
    FROM {rollup} r WHERE {where} GROUP BY ALL
),
cells AS (  -- stores without coordinates (missing, or exactly (0, 0)) are not placed
    SELECT round(s.lat / $cell) * $cell AS lat, round(s.lon / $cell) * $cell AS lon, o.count_redemptions
    FROM o JOIN stores s USING (store_id)
    WHERE s.lat IS NOT NULL AND s.lon IS NOT NULL AND NOT (s.lat = 0 AND s.lon = 0)
)
SELECT lat, lon, sum(count_redemptions) AS redemptions, count(*) AS stores, $cell AS cell_degrees
FROM cells
GROUP BY lat, lon
HAVING sum(count_redemptions) > 0
ORDER BY lat, lon
"""


def redemption_bins(con: duckdb.DuckDBPyConnection, filters: Filters, cell_degrees: float) -> pd.DataFrame:
    """Redemptions summed into square lat/lon cells of ``cell_degrees`` (see the SQL's header)."""
    cell = float(cell_degrees)
    if not 0 < cell <= 10:
        raise ValueError(f"A map cell must be between 0 and 10 degrees, not {cell_degrees}.")
    sql = _BINS_SQL.format(where=filters.where_sql("rollup", alias="r"), rollup=metrics.order_rollup(filters))
    return db.run(con, sql, {**filters.params("rollup"), "cell": cell})


def attention_week(con: duckdb.DuckDBPyConnection, filters: Filters) -> tuple[dt.date, dt.date] | None:
    """(Monday, Sunday) of the week the map's attention rings judge: the latest complete ISO week
    ending on or before the filter's end (else the last order date), as the weekly overview's
    default week; the week of that end when the period holds no complete week. None: no orders."""
    end = reference_end(con, filters)
    if end is None:
        return None
    sunday = end - dt.timedelta(days=end.isoweekday() % 7)          # ``end`` itself when a Sunday
    if filters.start and sunday - dt.timedelta(days=6) < filters.start:
        sunday = end + dt.timedelta(days=7 - end.isoweekday())        # no complete week: end's own week
    return sunday - dt.timedelta(days=6), sunday


def needs_attention_now(con: duckdb.DuckDBPyConnection, filters: Filters,
                        rule: attention.Rule | None = None) -> pd.DataFrame:
    """The stores under ``filters`` the attention rule flags over :func:`attention_week`: one row
    per store with orders that week (``store_id``, its ``reviews``, the rule's flags,
    ``needs_attention``). The
    week's rating and wait gaps, and the index fall over the four weeks ending its Sunday: the
    weekly overview's attention list for that week, so a ring means "needs attention now", not
    "had one bad week" somewhere in a long period."""
    week = attention_week(con, filters)
    columns = ["store_id", "reviews", *attention.FLAGS, "needs_attention"]
    if week is None:
        return pd.DataFrame(columns=columns)
    monday, sunday = week
    recent = metrics.compute(con, filters.replace(start=monday, end=sunday), "store",
                             ["reviews", "rating_gap", "wait_gap_minutes"])
    if recent.empty:
        return pd.DataFrame(columns=columns)
    recent = recent[["store_id", "reviews", "rating_gap", "wait_gap_minutes"]].merge(
        index_trend(con, filters, sunday), on="store_id", how="left")
    return attention.flag(recent, rule or attention.Rule.from_settings())[columns].reset_index(drop=True)


def map_stores(con: duckdb.DuckDBPyConnection, filters: Filters,
               gap_threshold: float | None = None,
               kpis: tuple[str, ...] = MAP_KPIS) -> pd.DataFrame:
    """One row per store with orders under ``filters``: position, name, category, district, the
    map KPIs ``kpis`` (from :data:`MAP_KPIS`; the page asks only for the one it colours by),
    orders and redemptions over the period, ``on_attention``: the attention rule flags it for
    the latest complete week of the period (:func:`needs_attention_now`), and ``judged``: it had
    the reviews the rule needs to judge it that week. This is all the map
    sends to the browser: thousands of rows at most, whatever the order count. Stores without
    coordinates (missing, or exactly (0, 0), a placeholder many exports use) are kept with
    ``lat``/``lon`` empty and ``has_coordinates`` false: the map lists them apart."""
    df = metrics.compute(con, filters, "store", _map_columns(kpis))
    if df.empty:
        return df
    rule = attention.Rule.from_settings(rating_gap=gap_threshold)
    now = needs_attention_now(con, filters, rule)
    df["on_attention"] = df["store_id"].isin(set(now.loc[now["needs_attention"].astype(bool), "store_id"]))
    df["judged"] = df["store_id"].isin(set(now.loc[attention.judged(now, rule), "store_id"]))
    districts = db.run(con, "SELECT store_id, coalesce(district, '') AS store_district FROM stores")
    return _with_coordinates(df.merge(districts, on="store_id", how="left"))


def map_stores_before_orders(con: duckdb.DuckDBPyConnection, filters: Filters,
                             kpis: tuple[str, ...] = MAP_KPIS) -> pd.DataFrame:
    """The filters' stores as :func:`map_stores` gives them, for a warehouse that holds stores but
    no orders yet (imported first): every KPI empty, no orders, none on the attention list. The map
    draws them grey where their coordinates put them, so an operator can check the positions
    before the first orders arrive. Only the store filters apply (city, district, region,
    category, store, the user's scope): without orders there is no period or campaign."""
    columns = _map_columns(kpis)
    flt = filters.stores_only()
    df = db.run(con, f"""
        SELECT store_id, name AS store_name, city AS store_city, category AS store_category,
               CAST(listed_rating AS DOUBLE) AS listed_rating,
               CAST(listed_wait_minutes AS DOUBLE) AS listed_wait_minutes,
               CAST(lat AS DOUBLE) AS lat, CAST(lon AS DOUBLE) AS lon,
               coalesce(district, '') AS store_district
        FROM stores WHERE {flt.where_sql("stores")} ORDER BY store_id""", flt.params("stores"))
    for name in columns:
        df[name] = 0.0 if name in _MAP_COUNTS else float("nan")
    df["on_attention"] = False
    df["judged"] = False
    return _with_coordinates(df)


#: the counts every map row carries beside its KPIs
_MAP_COUNTS = ("orders", "redemptions", "reviews")


def _map_columns(kpis: tuple[str, ...]) -> list[str]:
    """The map KPIs ``kpis`` (refused unless of :data:`MAP_KPIS`) and the counts, once each."""
    unknown = [k for k in kpis if k not in MAP_KPIS]
    if unknown:
        raise ValueError(f"Not a map KPI: {', '.join(unknown)}; choose from {', '.join(MAP_KPIS)}.")
    return list(dict.fromkeys((*kpis, *_MAP_COUNTS)))


def _with_coordinates(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the (0, 0) placeholder many exports use read as no position, and
    ``has_coordinates``."""
    placeholder = (df["lat"] == 0) & (df["lon"] == 0)
    df.loc[placeholder, ["lat", "lon"]] = float("nan")
    df["has_coordinates"] = df["lat"].notna() & df["lon"].notna()
    return df.reset_index(drop=True)


def map_cities(con: duckdb.DuckDBPyConnection, filters: Filters, kpi: str) -> pd.DataFrame:
    """One row per city with orders under ``filters``: ``city``, the KPI ``kpi`` computed for the
    city as a whole (its sums, not an average of its stores' values), orders and redemptions."""
    if kpi not in MAP_KPIS:
        raise ValueError(f"Not a map KPI: {kpi}; choose from {', '.join(MAP_KPIS)}.")
    return metrics.compute(con, filters, "city", list(dict.fromkeys((kpi, "orders", "redemptions"))))
