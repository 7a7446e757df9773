"""The rollup-backed query functions of o2o_ops/analysis.py (sql/rollups_reviews.sql,
sql/rollups_efficiency.sql) give exactly the answers of the same question asked of the fact
tables (reviews / refunds / order_facts), on the demo warehouse
(60,000 orders) under several filter sets: default-like window, narrow city x category, a
campaign kind, a user's store scope, and no filter at all.

The reference queries below are the fact-table definitions the rollups replace; keep them as
the plain statement of what each function means.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from o2o_ops import analysis, config, db, metrics
from o2o_ops.filters import Filters


@pytest.fixture(scope="module")
def con(demo_warehouse):
    c = db.connect(demo_warehouse)
    yield c
    c.close()


def filter_sets(con) -> list[Filters]:
    last = db.scalar(con, "SELECT max(date) FROM rollup_day_store_channel_campaign")
    city, category = db.run(con, "SELECT city, category FROM stores ORDER BY store_id LIMIT 1").iloc[0]
    region = db.scalar(con, "SELECT min(region) FROM stores WHERE region IS NOT NULL")
    stores = db.run(con, "SELECT store_id FROM stores ORDER BY store_id LIMIT 3")["store_id"].tolist()
    window = Filters(start=last - dt.timedelta(days=90), end=last)
    return [
        Filters(),
        window,
        window.replace(cities=(city,), categories=(category,)),
        window.replace(campaign_kinds=("flash_sale", "coupon")),
        window.replace(channels=("app",)),
        window.replace(scope_stores=tuple(stores), scope_regions=(region,) if region else None),
        Filters(start=last + dt.timedelta(days=1), end=last + dt.timedelta(days=7)),  # no data
    ]


# --- the fact-table definitions ------------------------------------------------------------------

def rating_distribution_facts(con, filters: Filters) -> pd.DataFrame:
    return db.run(con, f"""
    WITH r AS (
        SELECT v.rating, count(*) AS count_reviews
        FROM reviews v JOIN order_facts f USING (order_id)
        WHERE {filters.where_sql('facts', 'f')}
        GROUP BY v.rating
    )
    SELECT s.rating, coalesce(r.count_reviews, 0) AS count_reviews,
           CAST(coalesce(r.count_reviews, 0) AS DOUBLE) / NULLIF(sum(r.count_reviews) OVER (), 0) AS share
    FROM (SELECT unnest(range(1, 6)) AS rating) s LEFT JOIN r USING (rating)
    ORDER BY s.rating""", filters.params("facts"))


def complaints_by_category_facts(con, filters: Filters) -> pd.DataFrame:
    return db.run(con, f"""
    WITH c AS (
        SELECT v.complaint_category, count(*) AS count_complaints
        FROM reviews v JOIN order_facts f USING (order_id)
        WHERE {filters.where_sql('facts', 'f')}
          AND v.complaint_category IS NOT NULL AND v.complaint_category <> ''
        GROUP BY v.complaint_category
    ),
    d AS (SELECT sum(count_redemptions) AS count_redemptions FROM rollup_day_store_channel_campaign
          WHERE {filters.where_sql('rollup')})
    SELECT c.complaint_category, c.count_complaints,
           CAST(c.count_complaints AS DOUBLE) / NULLIF(d.count_redemptions, 0) AS complaint_rate
    FROM c CROSS JOIN d
    ORDER BY c.count_complaints DESC, c.complaint_category""", filters.params("facts") | filters.params("rollup"))


def refund_reasons_facts(con, filters: Filters) -> pd.DataFrame:
    return db.run(con, f"""
    WITH r AS (
        SELECT coalesce(nullif(trim(x.reason), ''), 'not given') AS reason,
               count(*) AS count_refunds, count(DISTINCT x.order_id) AS count_orders,
               sum(x.amount) AS refund_amount
        FROM refunds x JOIN order_facts f USING (order_id)
        WHERE f.is_paid AND {filters.where_sql('facts', 'f')}
        GROUP BY ALL
    ),
    d AS (SELECT sum(count_paid) AS count_paid FROM rollup_day_store_channel_campaign WHERE {filters.where_sql('rollup')})
    SELECT r.reason, r.count_refunds, r.count_orders, r.refund_amount,
           CAST(r.count_orders AS DOUBLE) / NULLIF(d.count_paid, 0) AS share_of_paid_orders
    FROM r CROSS JOIN d
    ORDER BY r.count_orders DESC, r.reason""", filters.params("facts") | filters.params("rollup"))


def funnel_facts(con, filters: Filters) -> pd.DataFrame:
    sql = f"""
    SELECT count(*) AS ordered,
           count(*) FILTER (WHERE is_paid) AS paid,
           count(*) FILTER (WHERE is_paid AND is_redeemed) AS redeemed,
           count(*) FILTER (WHERE is_paid AND is_redeemed AND count_reviews > 0) AS reviewed
    FROM order_facts WHERE {filters.where_sql('facts')}"""
    row = db.run(con, sql, filters.params("facts")).iloc[0]
    counts = [int(row[s.lower()]) for s in analysis.FUNNEL_STAGES]
    first = counts[0]
    return pd.DataFrame({
        "stage": list(analysis.FUNNEL_STAGES),
        "count_orders": counts,
        "share_of_ordered": [c / first if first else None for c in counts],
        "share_of_previous": [None] + [(c / p if p else None) for p, c in zip(counts, counts[1:])],
    })


def time_to_redeem_histogram_facts(con, filters: Filters) -> pd.DataFrame:
    case = " ".join(
        f"WHEN hours_to_redeem < {hi} THEN {i}" for i, (_, _, hi) in enumerate(analysis.REDEEM_BUCKETS) if hi is not None)
    sql = f"""
    SELECT CASE {case} ELSE {len(analysis.REDEEM_BUCKETS) - 1} END AS bucket, count(*) AS count_orders
    FROM order_facts
    WHERE is_paid AND is_redeemed AND hours_to_redeem IS NOT NULL AND {filters.where_sql('facts')}
    GROUP BY ALL"""
    counts = db.run(con, sql, filters.params("facts")).set_index("bucket")["count_orders"]
    out = pd.DataFrame([{"bucket": i, "label": label, "lower_hours": lo, "upper_hours": hi}
                        for i, (label, lo, hi) in enumerate(analysis.REDEEM_BUCKETS)])
    out["count_orders"] = [int(counts.get(i, 0)) for i in out["bucket"]]
    total = out["count_orders"].sum()
    out["share"] = out["count_orders"] / total if total else None
    return out


def breakage_ageing_facts(con, filters: Filters) -> pd.DataFrame:
    sql = f"""
    WITH a AS (SELECT max(ordered_at) AS as_of FROM order_facts),
    o AS (
        SELECT CASE
                 WHEN f.valid_until IS NULL THEN 4
                 WHEN f.valid_until < a.as_of THEN 0
                 WHEN date_diff('day', CAST(a.as_of AS DATE), CAST(f.valid_until AS DATE)) <= 7 THEN 1
                 WHEN date_diff('day', CAST(a.as_of AS DATE), CAST(f.valid_until AS DATE)) <= 30 THEN 2
                 ELSE 3 END AS bucket,
               f.paid_amount
        FROM order_facts f CROSS JOIN a
        WHERE f.is_paid AND NOT f.is_redeemed AND {filters.where_sql('facts', 'f')}
    )
    SELECT bucket, count(*) AS count_orders, sum(paid_amount) AS paid_amount FROM o GROUP BY ALL"""
    got = db.run(con, sql, filters.params("facts")).set_index("bucket")
    out = pd.DataFrame({"bucket": range(len(analysis.AGEING_BUCKETS)), "label": list(analysis.AGEING_BUCKETS)})
    out["count_orders"] = [int(got["count_orders"].get(i, 0)) for i in out["bucket"]]
    out["paid_amount"] = [float(got["paid_amount"].get(i, 0.0) or 0.0) for i in out["bucket"]]
    return out


# function name -> (fact-table definition, the count column that shows the data exercised it)
REFERENCES = {
    "rating_distribution": (rating_distribution_facts, "count_reviews"),
    "complaints_by_category": (complaints_by_category_facts, "count_complaints"),
    "refund_reasons": (refund_reasons_facts, "count_refunds"),
    "funnel": (funnel_facts, "count_orders"),
    "time_to_redeem_histogram": (time_to_redeem_histogram_facts, "count_orders"),
    "breakage_ageing": (breakage_ageing_facts, "count_orders"),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_rollup_answer_equals_fact_table_answer(con, name):
    function, (reference, count_column) = getattr(analysis, name), REFERENCES[name]
    counted = 0
    for filters in filter_sets(con):
        got, want = function(con, filters), reference(con, filters)
        # money sums may differ in the last bits only (two-stage sums); counts are exact
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, obj=f"{name} {filters.describe()}")
        counted += int(want[count_column].sum())
    assert counted > 0, "the demo data should exercise this function"


def test_demo_fills_the_buckets_whose_bounds_the_rollup_repeats(con):
    """The bucket bounds live twice (analysis.py and rollups_efficiency.sql); the equality test
    above only checks them where the demo has orders, so it must have orders in every bucket."""
    assert (analysis.time_to_redeem_histogram(con, Filters())["count_orders"] > 0).all()
    ageing = analysis.breakage_ageing(con, Filters()).set_index("label")["count_orders"]
    assert (ageing.drop("no expiry") > 0).all()  # the demo sells no voucher without an expiry


# --- one store query for two panels of the Service quality page ---------------------------------

def peer_comparison_alone(con, filters: Filters, kpi: str) -> pd.DataFrame:
    """The peer ranking as its own query (what quality_by_store + peer_view replace)."""
    base, params = metrics.kpi_sql(filters, "store", tuple(dict.fromkeys(("reviews", "redemptions", *analysis.PEER_KPIS))))
    direction = "DESC" if metrics.KPIS[kpi].higher_is_better else "ASC"
    floor = config.get_int("O2O_MIN_REVIEWS")   # too few reviews: not ranked (the evidence floor)
    value = f"CASE WHEN k.reviews >= {floor} THEN k.{kpi} END" if metrics.KPIS[kpi].evidence else f"k.{kpi}"
    return db.run(con, f"""
    WITH k AS ({base}),
    s AS (SELECT k.store_id, k.reviews, k.redemptions, {value} AS {kpi}, st.name AS store_name, st.city, st.category
          FROM k JOIN stores st USING (store_id))
    SELECT CASE WHEN {kpi} IS NOT NULL THEN rank() OVER (ORDER BY {kpi} {direction} NULLS LAST) END AS rank,
           store_id, store_name, city, category, reviews, redemptions, {kpi},
           median({kpi}) OVER peers AS peer_median,
           count({kpi}) OVER peers AS peer_stores,
           {kpi} - median({kpi}) OVER peers AS vs_peers
    FROM s
    WINDOW peers AS (PARTITION BY city, category)
    ORDER BY rank NULLS LAST, store_id""", params)


def test_one_store_query_serves_the_peer_ranking_and_the_store_table(con):
    for filters in filter_sets(con):
        by_store = analysis.quality_by_store(con, filters)
        for kpi in analysis.PEER_KPIS:
            pd.testing.assert_frame_equal(analysis.peer_view(by_store, kpi), peer_comparison_alone(con, filters, kpi),
                                          check_exact=True, obj=f"{kpi} {filters.describe()}")
        want = metrics.compute(con, filters, "store", analysis.STORE_QUALITY_KPIS)
        if not want.empty:
            want = want[["store_id", "store_name", "store_city", "store_category", *analysis.STORE_QUALITY_KPIS]]
        got = analysis.store_quality_table(by_store)
        assert len(got) == len(want)
        if len(want):
            pd.testing.assert_frame_equal(got, want, check_exact=True, obj=f"store table {filters.describe()}")
    with pytest.raises(ValueError, match="choose one of"):
        analysis.peer_view(by_store, "store_id")
