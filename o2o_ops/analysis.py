"""Query functions behind the Service quality, Cost and Operational efficiency pages.

Each query function takes a connection and a :class:`~o2o_ops.filters.Filters` and returns a
small, already-aggregated DataFrame; all aggregation happens in DuckDB. A function's header comment
states its purpose, grain and parameters. Breakdowns the registry's rollups cannot answer
(ratings, complaint categories, refund reasons, funnel, redemption speed, voucher ageing) read
rollups pre-counted at the same order-day grain when the warehouse is loaded
(``sql/rollups_reviews.sql``, ``sql/rollups_efficiency.sql``), never the fact tables; the tests
check them against the same questions asked of the fact tables. :func:`peer_view` and
:func:`store_quality_table` shape :func:`quality_by_store`'s frame without a query, so one store
query serves both store panels of the Service quality page. Where a function shows a registry KPI at a cut the
registry does not offer (hour of day, complaint category, expiry bucket), it uses the registry's
formula on the same rows, so the parts add up to the KPI card above them:

- complaints by complaint category sum to ``complaint_rate``;
- the funnel's first three stages are ``orders``, ``paid_orders`` and the numerator of
  ``redemption_rate``;
- the "expired" ageing bucket is ``breakage_orders`` / ``breakage_value``;
- the time-to-redeem histogram covers exactly the orders whose median is ``time_to_redeem_hours``;
- store tables and peer comparisons wrap the registry's own SQL (:func:`metrics.kpi_sql`).

No streamlit here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import duckdb
import pandas as pd

from o2o_ops import config, db, metrics
from o2o_ops.filters import Filters

# ------------------------------------------------------------------------------------------
# Periods
# ------------------------------------------------------------------------------------------


def previous_period(filters: Filters) -> Filters | None:
    """The same filters over the period of equal length just before (None without both dates).

    2026-11-02 → 2026-11-15 (14 days) gives 2026-10-19 → 2026-11-01.
    """
    if not (filters.start and filters.end):
        return None
    days = (filters.end - filters.start).days + 1
    return filters.replace(start=filters.start - dt.timedelta(days=days),
                           end=filters.start - dt.timedelta(days=1))


def _registry(filters: Filters, grain: str, names: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The registry's own SQL for ``names`` at ``grain``, to be used as a subquery."""
    return metrics.kpi_sql(filters, grain, names)


# ------------------------------------------------------------------------------------------
# Service quality
# ------------------------------------------------------------------------------------------


def rating_distribution(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Reviews by star rating.

    Grain: one row per rating 1..5 (always five rows; zero when none).
    Rows: reviews of orders placed in the filtered period (same rows as ``avg_rating``), from
    ``rollup_review_rating_day``.
    Columns: rating, count_reviews, share (of all reviews; NULL when there are none).
    """
    sql = f"""
    WITH t AS (
        SELECT sum(count_rating_1) AS c1, sum(count_rating_2) AS c2, sum(count_rating_3) AS c3,
               sum(count_rating_4) AS c4, sum(count_rating_5) AS c5
        FROM rollup_review_rating_day
        WHERE {filters.where_sql('rollup')}
    ),
    r AS (
        SELECT unnest(range(1, 6)) AS rating,
               CAST(coalesce(unnest([c1, c2, c3, c4, c5]), 0) AS BIGINT) AS count_reviews
        FROM t
    )
    SELECT rating, count_reviews,
           CAST(count_reviews AS DOUBLE) / NULLIF(sum(count_reviews) OVER (), 0) AS share
    FROM r
    ORDER BY rating"""
    return db.run(con, sql, filters.params("rollup"))


def complaints_by_category(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Complaints split by the review's complaint category.

    Grain: one row per complaint category, most frequent first.
    Rows: reviews with a complaint, of orders placed in the filtered period (from
    ``rollup_complaint_day``).
    Columns: complaint_category, count_complaints, complaint_rate = complaints of this category /
    redemptions of the period (the registry's denominator, so the rows sum to ``complaint_rate``).
    """
    sql = f"""
    WITH c AS (
        SELECT complaint_category, CAST(sum(count_complaints) AS BIGINT) AS count_complaints
        FROM rollup_complaint_day
        WHERE {filters.where_sql('rollup')}
        GROUP BY complaint_category
    ),
    d AS (SELECT sum(count_redemptions) AS count_redemptions FROM {metrics.order_rollup(filters)}
          WHERE {filters.where_sql('rollup')})
    SELECT c.complaint_category, c.count_complaints,
           CAST(c.count_complaints AS DOUBLE) / NULLIF(d.count_redemptions, 0) AS complaint_rate
    FROM c CROSS JOIN d
    ORDER BY c.count_complaints DESC, c.complaint_category"""
    return db.run(con, sql, filters.params("rollup"))


def refund_reasons(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Refunds by stated reason.

    Grain: one row per refund reason (missing reason = 'not given'), most orders first.
    Rows: refunds of paid orders placed in the filtered period (the rows of ``refund_rate``), from
    ``rollup_refund_reason_day``.
    Columns: reason, count_refunds, count_orders (distinct orders), refund_amount,
    share_of_paid_orders = count_orders / paid orders of the period. An order refunded twice for
    different reasons counts under both, so the shares may sum to slightly more than the
    refund rate.
    """
    sql = f"""
    WITH r AS (
        SELECT reason, CAST(sum(count_refunds) AS BIGINT) AS count_refunds,
               CAST(sum(count_orders) AS BIGINT) AS count_orders, sum(refund_amount) AS refund_amount
        FROM rollup_refund_reason_day
        WHERE {filters.where_sql('rollup')}
        GROUP BY reason
    ),
    d AS (SELECT sum(count_paid) AS count_paid FROM {metrics.order_rollup(filters)} WHERE {filters.where_sql('rollup')})
    SELECT r.reason, r.count_refunds, r.count_orders, r.refund_amount,
           CAST(r.count_orders AS DOUBLE) / NULLIF(d.count_paid, 0) AS share_of_paid_orders
    FROM r CROSS JOIN d
    ORDER BY r.count_orders DESC, r.reason"""
    return db.run(con, sql, filters.params("rollup"))


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def sla_by_hour_weekday(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """SLA attainment by ISO day of week x hour of day of the redemption (for a heatmap).

    Grain: one row per (day of week, hour) that had a redemption; from ``rollup_store_hour``.
    Rows: redemptions *made* in the filtered dates (by redeemed_at, as capacity use counts them),
    at the filtered stores; channel / campaign filters do not apply to this table.
    Columns: iso_dow (1 = Monday), weekday ('Mon'..), hour (0-23), count_redemptions, count_waits,
    count_sla_met, sla_attainment = count_sla_met / count_waits (the registry's formula; NULL
    when no wait was recorded against a promise).
    """
    sql = f"""
    SELECT isodow(date) AS iso_dow, hour,
           sum(count_redemptions) AS count_redemptions, sum(count_waits) AS count_waits,
           sum(count_sla_met) AS count_sla_met,
           CAST(sum(count_sla_met) AS DOUBLE) / NULLIF(sum(count_waits), 0) AS sla_attainment
    FROM rollup_store_hour
    WHERE {filters.where_sql('hours')}
    GROUP BY ALL ORDER BY iso_dow, hour"""
    df = db.run(con, sql, filters.params("hours"))
    df.insert(1, "weekday", [WEEKDAYS[int(d) - 1] for d in df["iso_dow"]])
    return df


PEER_KPIS = ("avg_rating", "positive_share", "complaint_rate", "refund_rate", "sla_attainment")
#: The registry KPIs of the "Quality by store" table, in its column order.
STORE_QUALITY_KPIS = ("reviews", "avg_rating", "positive_share", "complaint_rate", "refund_rate",
                      "sla_attainment", "redemptions")
_PEER_COLUMNS = ("rank", "peer_median", "peer_stores", "vs_peers")


def quality_by_store(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Every store's quality KPIs and, for each KPI of :data:`PEER_KPIS`, its standing among its
    city x category peers — one query serving both the peer ranking (whichever KPI is chosen, see
    :func:`peer_view`) and the store table (:func:`store_quality_table`).

    Grain: one row per store with orders in the filtered period, by store_id.
    Columns: store_id, store_name, city, category, the registry KPIs of
    :data:`STORE_QUALITY_KPIS` at store grain, and per KPI k of :data:`PEER_KPIS`:
    rank_k (1 = best; NULL when the store has no value), peer_median_k (median over the stores of
    the same city and category, the store included, ignoring stores without a value),
    peer_stores_k (stores with a value in that group), vs_peers_k = k − peer_median_k (sign as the
    KPI: for complaint and refund rates, positive is worse).
    """
    names = tuple(dict.fromkeys((*STORE_QUALITY_KPIS, *PEER_KPIS)))
    base, params = _registry(filters, "store", names)
    standings = []
    for kpi in PEER_KPIS:  # names from our own allowlist, so safe as identifiers
        direction = "DESC" if metrics.KPIS[kpi].higher_is_better else "ASC"
        standings += [
            f"CASE WHEN {kpi} IS NOT NULL THEN rank() OVER (ORDER BY {kpi} {direction} NULLS LAST) END AS rank_{kpi}",
            f"median({kpi}) OVER peers AS peer_median_{kpi}",
            f"count({kpi}) OVER peers AS peer_stores_{kpi}",
            f"{kpi} - median({kpi}) OVER peers AS vs_peers_{kpi}",
        ]
    # a rating- or review-based KPI of a store with fewer reviews than the floor is no standing
    # (as metrics.compute withholds it): it is neither ranked nor part of its peers' median
    params = {**params, "min_reviews": config.get_int("O2O_MIN_REVIEWS")}
    judged = ", ".join(f"CASE WHEN k.reviews >= $min_reviews THEN k.{n} END AS {n}" if metrics.KPIS[n].evidence
                       else f"k.{n}" for n in names)
    sql = f"""
    WITH k AS ({base}),
    s AS (SELECT k.store_id, {judged}, st.name AS store_name, st.city, st.category
          FROM k JOIN stores st USING (store_id))
    SELECT store_id, store_name, city, category, {', '.join(names)},
           {', '.join(standings)}
    FROM s
    WINDOW peers AS (PARTITION BY city, category)
    ORDER BY store_id"""
    # and a KPI whose inputs were never provided over the period is blank, never a number
    return metrics.withhold(con, db.run(con, sql, params), filters, "store", names)


def peer_view(by_store: pd.DataFrame, kpi: str = "avg_rating") -> pd.DataFrame:
    """Stores ranked on one quality KPI against the median of their city x category peers, from
    :func:`quality_by_store`'s frame (no query).

    Grain: one row per store, best first (stores without a value last, then by store_id).
    Parameters: ``kpi`` — one of :data:`PEER_KPIS` (checked).
    Columns: rank, store_id, store_name, city, category, reviews, redemptions, the KPI,
    peer_median, peer_stores, vs_peers (as described in :func:`quality_by_store`).
    """
    if kpi not in PEER_KPIS:
        raise ValueError(f"Cannot compare stores on {kpi!r}; choose one of {', '.join(PEER_KPIS)}.")
    view = by_store.rename(columns={f"{c}_{kpi}": c for c in _PEER_COLUMNS})
    view = view[["rank", "store_id", "store_name", "city", "category", "reviews", "redemptions", kpi,
                 *_PEER_COLUMNS[1:]]]
    return view.sort_values(["rank", "store_id"], na_position="last", kind="stable").reset_index(drop=True)


def peer_comparison(con: duckdb.DuckDBPyConnection, filters: Filters, kpi: str = "avg_rating") -> pd.DataFrame:
    """Stores ranked on a quality KPI against the median of their city x category peers:
    :func:`peer_view` of :func:`quality_by_store`.

    Grain: one row per store with orders in the filtered period.
    Parameters: ``kpi`` — one of :data:`PEER_KPIS` (checked; it names a registry column).
    Columns: rank (1 = best; NULL when the store has no value), store_id, store_name, city,
    category, reviews, redemptions, the KPI (registry value at store grain), peer_median (median
    over the stores of the same city and category, the store included, ignoring stores without a
    value), peer_stores (stores with a value in that group), vs_peers = KPI − peer_median (sign as
    the KPI: for complaint and refund rates, positive is worse).
    """
    if kpi not in PEER_KPIS:
        raise ValueError(f"Cannot compare stores on {kpi!r}; choose one of {', '.join(PEER_KPIS)}.")
    return peer_view(quality_by_store(con, filters), kpi)


def store_quality_table(by_store: pd.DataFrame) -> pd.DataFrame:
    """The "Quality by store" table from :func:`quality_by_store`'s frame: store_id, store_name,
    store_city, store_category and the KPIs of :data:`STORE_QUALITY_KPIS` (as
    ``metrics.compute(..., "store", STORE_QUALITY_KPIS)`` names them), by store_id."""
    table = by_store.rename(columns={"city": "store_city", "category": "store_category"})
    return table[["store_id", "store_name", "store_city", "store_category", *STORE_QUALITY_KPIS]]


# ------------------------------------------------------------------------------------------
# Cost
# ------------------------------------------------------------------------------------------

COST_COMPONENTS = (
    ("discount_cost", "Discounts"), ("platform_fees", "Platform fees"),
    ("marketing_spend", "Marketing"), ("staff_cost", "Staff"), ("other_costs", "Other"),
)


def cost_breakdown_by_week(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Cost by component and ISO week (long format, for a stacked chart).

    Grain: one row per week x component (Discounts, Platform fees, Marketing, Staff, Other).
    Rows: the registry's cost KPIs at week grain (orders by ordered_at, costs by their date).
    Columns: week_start, iso_week, component, kpi (registry name), amount.
    """
    names = tuple(n for n, _ in COST_COMPONENTS)
    weekly = metrics.compute(con, filters, "week", names)
    if weekly.empty:
        return pd.DataFrame(columns=["week_start", "iso_week", "component", "kpi", "amount"])
    long = weekly.melt(id_vars=["week_start", "iso_week"], value_vars=list(names), var_name="kpi",
                       value_name="amount")
    long.insert(2, "component", long["kpi"].map(dict(COST_COMPONENTS)))
    order = {n: i for i, n in enumerate(names)}
    # a component the warehouse does not provide (no costs imported) is left out, never drawn as 0
    long = long.dropna(subset=["amount"])
    long["amount"] = long["amount"].astype(float)
    return (long.sort_values(["week_start", "kpi"], key=lambda s: s.map(order) if s.name == "kpi" else s)
            .reset_index(drop=True))


COST_GROUPS = ("channel", "campaign_kind")
COST_GROUP_KPIS = ("paid_orders", "redemptions", "new_customers", "discount_cost", "platform_fees",
                   "marketing_spend", "net_revenue", "cost_per_redemption", "cac", "roi")


def cost_by_group(con: duckdb.DuckDBPyConnection, filters: Filters, by: str = "channel") -> pd.DataFrame:
    """Cost per redemption, CAC and ROI by channel or by campaign kind (the registry at that grain).

    Grain: one row per channel / campaign kind (full-price orders have no kind: ``campaign_kind``
    NULL is shown as 'full price').
    Parameters: ``by`` — 'channel' or 'campaign_kind' (checked). Store-level costs (staff, rent)
    carry no channel, so they drop out here, as the registry documents.
    """
    if by not in COST_GROUPS:
        raise ValueError(f"Cannot break costs down by {by!r}; choose one of {', '.join(COST_GROUPS)}.")
    df = metrics.compute(con, filters, by, COST_GROUP_KPIS)
    if by == "campaign_kind" and not df.empty:
        df["campaign_kind"] = df["campaign_kind"].fillna("full price")
    return df


STORE_MARGIN_KPIS = ("revenue", "net_revenue", "platform_fees", "marketing_spend", "staff_cost",
                     "other_costs", "redemptions", "cost_per_redemption", "roi")


def store_margin(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Revenue, cost and margin per store, worst margin first.

    Grain: one row per store with orders or costs in the filtered period (head-office costs with
    no store are not in this table).
    Columns: store_id, store_name, city, category, the registry KPIs in :data:`STORE_MARGIN_KPIS`,
    total_cost = platform fees + marketing + staff + other (the ROI's cost), margin = net revenue −
    total_cost, margin_rate = margin / net revenue. So roi = margin / total_cost.
    """
    base, params = _registry(filters, "store", STORE_MARGIN_KPIS)
    sql = f"""
    WITH k AS ({base}),
    c AS (SELECT k.*, platform_fees + marketing_spend + staff_cost + other_costs AS total_cost FROM k)
    SELECT c.store_id, st.name AS store_name, st.city, st.category,
           {', '.join(f'c.{n}' for n in STORE_MARGIN_KPIS)}, c.total_cost,
           c.net_revenue - c.total_cost AS margin,
           (c.net_revenue - c.total_cost) / NULLIF(c.net_revenue, 0) AS margin_rate
    FROM c JOIN stores st USING (store_id)
    ORDER BY margin, c.store_id"""
    df = metrics.withhold(con, db.run(con, sql, params), filters, "store", STORE_MARGIN_KPIS)
    # a cost or revenue part not provided leaves the total cost and the margin unknown, never partial
    unknown = df[["net_revenue", "platform_fees", "marketing_spend", "staff_cost", "other_costs"]].isna().any(axis=1)
    df.loc[unknown, ["total_cost", "margin", "margin_rate"]] = float("nan")
    return df


# ------------------------------------------------------------------------------------------
# Operational efficiency
# ------------------------------------------------------------------------------------------

FUNNEL_STAGES = ("Ordered", "Paid", "Redeemed", "Reviewed")


def funnel(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """The order funnel ordered → paid → redeemed → reviewed.

    Grain: one row per stage, in funnel order.
    Rows: orders placed in the filtered period. Ordered = all orders (``orders``); paid = status
    not cancelled (``paid_orders``); redeemed = paid and redeemed (numerator of
    ``redemption_rate``); reviewed = redeemed paid orders with at least one review.
    Columns: stage, count_orders, share_of_ordered, share_of_previous (step conversion).
    The first three stages are the registry's sums from the order rollup (``metrics.order_rollup``); reviewed comes from
    ``rollup_order_stage_day``.
    """
    return order_stages(con, filters)["funnel"]


def _funnel_from(row: pd.Series) -> pd.DataFrame:
    counts = [int(row[s.lower()]) for s in FUNNEL_STAGES]
    first = counts[0]
    return pd.DataFrame({
        "stage": list(FUNNEL_STAGES),
        "count_orders": counts,
        "share_of_ordered": [c / first if first else None for c in counts],
        "share_of_previous": [None] + [(c / p if p else None) for p, c in zip(counts, counts[1:])],
    })


def funnel_provided(funnel: pd.DataFrame, missing: Collection[str]) -> pd.DataFrame:
    """:func:`funnel` without the stages the warehouse cannot provide (``missing``: KPI names whose
    data was never given, :func:`o2o_ops.metrics.notes`): redeemed, and reviewed with it (it counts
    redeemed orders), when ``redemption_rate`` is missing; reviewed when ``reviews`` is. Drawn, they
    would read 0 redeemed or 0 reviewed for data that was never imported."""
    gone = set()
    if "redemption_rate" in missing:
        gone |= {"Redeemed", "Reviewed"}
    if "reviews" in missing:
        gone.add("Reviewed")
    return funnel[~funnel["stage"].isin(gone)].reset_index(drop=True)


# (label, lower bound in hours inclusive, upper bound exclusive; None = open)
REDEEM_BUCKETS = (
    ("< 1 h", 0, 1), ("1–3 h", 1, 3), ("3–6 h", 3, 6), ("6–12 h", 6, 12), ("12–24 h", 12, 24),
    ("1–2 days", 24, 48), ("2–3 days", 48, 72), ("3–7 days", 72, 168), ("1–2 weeks", 168, 336),
    ("2+ weeks", 336, None),
)


def time_to_redeem_histogram(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Distribution of hours from order to redemption, bucketed in DuckDB.

    Grain: one row per bucket of :data:`REDEEM_BUCKETS` (always all of them, zero when empty).
    Rows: paid, redeemed orders placed in the filtered period (the rows of
    ``time_to_redeem_hours``). A negative duration (redeemed before ordered: bad data) falls
    in the first bucket.
    Columns: bucket (0-based order), label, lower_hours, upper_hours, count_orders, share.
    Counted per bucket at load time in ``rollup_order_stage_day`` (count_redeem_bucket_<i>).
    """
    return order_stages(con, filters)["time_to_redeem"]


def _histogram_from(row: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame([{"bucket": i, "label": label, "lower_hours": lo, "upper_hours": hi}
                        for i, (label, lo, hi) in enumerate(REDEEM_BUCKETS)])
    out["count_orders"] = [int(row[f"b{i}"]) for i in out["bucket"]]
    total = out["count_orders"].sum()
    out["share"] = out["count_orders"] / total if total else None
    return out


AGEING_BUCKETS = ("expired", "0–7 days", "8–30 days", "31+ days", "no expiry")


def breakage_ageing(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Outstanding (paid, never redeemed) vouchers by time to expiry, as of the data's freshness.

    Grain: one row per bucket of :data:`AGEING_BUCKETS` (all of them; zero when empty).
    Rows: paid, unredeemed orders placed in the filtered period. The as-of moment is the latest
    order in the warehouse (as for ``breakage_orders``). 'expired' = valid_until before it — exactly
    the registry's breakage; otherwise days left = calendar days from the as-of date to the
    valid_until date: 0–7, 8–30, 31+; 'no expiry' = no valid_until.
    Columns: bucket (0-based order), label, count_orders, paid_amount.
    Counted per bucket at load time in ``rollup_order_stage_day`` (count_ageing_<i>,
    paid_amount_ageing_<i>): the as-of moment only changes when data is loaded.
    """
    return order_stages(con, filters)["ageing"]


def _ageing_from(row: pd.Series) -> pd.DataFrame:
    out = pd.DataFrame({"bucket": range(len(AGEING_BUCKETS)), "label": list(AGEING_BUCKETS)})
    out["count_orders"] = [int(row[f"c{i}"]) for i in out["bucket"]]
    out["paid_amount"] = [float(row[f"a{i}"]) for i in out["bucket"]]
    return out


def order_stages(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict[str, pd.DataFrame]:
    """:func:`funnel`, :func:`time_to_redeem_histogram` and :func:`breakage_ageing` from one scan of
    ``rollup_order_stage_day`` (and the order rollup's three funnel sums): ``{"funnel",
    "time_to_redeem", "ageing"}``, each the frame its function documents. The efficiency page shows
    all three; one statement instead of three (at 10 million orders the stage rollup's rows of 13
    weeks number about 650,000)."""
    buckets = ", ".join(f"coalesce(sum(count_redeem_bucket_{i}), 0) AS b{i}" for i in range(len(REDEEM_BUCKETS)))
    ageing = ", ".join(f"coalesce(sum(count_ageing_{i}), 0) AS c{i}, coalesce(sum(paid_amount_ageing_{i}), 0) AS a{i}"
                       for i in range(len(AGEING_BUCKETS)))
    sql = f"""
    WITH s AS (
        SELECT coalesce(sum(count_orders), 0) AS ordered, coalesce(sum(count_paid), 0) AS paid,
               coalesce(sum(count_paid_redeemed), 0) AS redeemed
        FROM {metrics.order_rollup(filters, weekly=metrics.whole_weeks(filters))} WHERE {filters.where_sql('rollup')}
    ),
    r AS (SELECT coalesce(sum(count_reviewed), 0) AS reviewed, {buckets}, {ageing}
          FROM rollup_order_stage_day WHERE {filters.where_sql('rollup')})
    SELECT * FROM s CROSS JOIN r"""
    row = db.run(con, sql, filters.params("rollup")).iloc[0]
    return {"funnel": _funnel_from(row), "time_to_redeem": _histogram_from(row), "ageing": _ageing_from(row)}


def capacity_by_store(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Capacity utilisation per store, with over-capacity stores flagged.

    Grain: one row per store with a capacity_per_hour and orders in the filtered period.
    Columns: store_id, store_name, city, category, capacity_per_hour, count_redemptions (made in
    the period, by redeemed_at: the utilisation's numerator), capacity_utilisation (registry),
    peak_week_utilisation (busiest ISO week's redemptions / the week's capacity on the registry's
    capacity calendar: capacity_per_hour × the store's open hours on each day of the week in the
    period — its opening hours where store_hours gives them, else O2O_OPEN_HOURS_PER_DAY),
    weeks_over_capacity (weeks above 100% on that measure), is_over_capacity (over 100% for the
    period or in any week). Weeks, not hours or days: with a capacity of a few customers an hour,
    one busy hour or Saturday is ordinary; a week over capacity is a rush the store could not
    absorb. :func:`capacity_by_hour` shows hours. Highest utilisation first.
    """
    base, params = _registry(filters, "store", ("capacity_utilisation",))
    params |= filters.params("hours")
    week_cap = metrics.capacity_calendar_cte(filters, "store", params, name="week_cap", by_store_week=True)
    sql = f"""
    WITH k AS ({base}),
    {week_cap},
    week_redemptions AS (
        SELECT r.store_id, CAST(date_trunc('week', r.date) AS DATE) AS week_start,
               sum(r.count_redemptions) AS count_redemptions
        FROM {metrics.hour_rollup(filters)} r JOIN stores s USING (store_id)
        WHERE s.capacity_per_hour > 0 AND {filters.where_sql('hours', 'r')}
        GROUP BY r.store_id, CAST(date_trunc('week', r.date) AS DATE)
    ),
    weeks AS (
        SELECT r.store_id, r.week_start, r.count_redemptions,
               CAST(r.count_redemptions AS DOUBLE) / NULLIF(c.capacity_hours, 0) AS week_util
        FROM week_redemptions r
        LEFT JOIN week_cap c ON c.store_id = r.store_id AND c.week_start = r.week_start
    ),
    per_store AS (
        SELECT store_id, sum(count_redemptions) AS count_redemptions, max(week_util) AS peak_week_utilisation,
               count(*) FILTER (WHERE week_util > 1) AS weeks_over_capacity
        FROM weeks GROUP BY store_id
    )
    SELECT k.store_id, st.name AS store_name, st.city, st.category, st.capacity_per_hour,
           coalesce(p.count_redemptions, 0) AS count_redemptions,
           k.capacity_utilisation,
           p.peak_week_utilisation,
           coalesce(p.weeks_over_capacity, 0) AS weeks_over_capacity,
           coalesce(k.capacity_utilisation > 1 OR p.weeks_over_capacity > 0, FALSE) AS is_over_capacity
    FROM k JOIN stores st USING (store_id) LEFT JOIN per_store p USING (store_id)
    WHERE st.capacity_per_hour IS NOT NULL
    ORDER BY k.capacity_utilisation DESC NULLS LAST, k.store_id"""
    return db.run(con, sql, params)


def capacity_by_hour(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """Capacity utilisation by hour of day across the filtered stores.

    Grain: one row per hour 0-23 (all of them).
    Rows: redemptions made (by redeemed_at) in the filtered dates at filtered stores that have a
    capacity_per_hour. Capacity of an hour of day = sum of capacity_per_hour × the days in the
    period on which the store is open in that hour (the registry's own capacity calendar,
    :func:`metrics.capacity_calendar_cte` by hour: every day for a store without opening hours).
    Columns: hour, count_redemptions, capacity, utilisation = count_redemptions / capacity,
    is_over_capacity (utilisation above 100%).
    """
    params = filters.params("hours")
    cap = metrics.capacity_calendar_cte(filters, "total", params, by_hour=True)
    sql = f"""
    WITH {cap},
    r AS (
        SELECT hour, sum(count_redemptions) AS count_redemptions
        FROM {metrics.hour_rollup(filters)}
        WHERE {filters.where_sql('hours')}
          AND store_id IN (SELECT store_id FROM stores WHERE capacity_per_hour IS NOT NULL)
        GROUP BY hour
    )
    SELECT h.hour, coalesce(r.count_redemptions, 0) AS count_redemptions, cap.capacity_hours AS capacity,
           coalesce(r.count_redemptions, 0) / NULLIF(cap.capacity_hours, 0) AS utilisation,
           coalesce(coalesce(r.count_redemptions, 0) / NULLIF(cap.capacity_hours, 0) > 1, FALSE) AS is_over_capacity
    FROM (SELECT unnest(range(0, 24)) AS hour) h LEFT JOIN cap USING (hour) LEFT JOIN r USING (hour)
    ORDER BY h.hour"""
    return db.run(con, sql, params)


open_hours_per_day = metrics.open_hours_per_day
