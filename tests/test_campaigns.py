"""Campaign drill-down on the tiny warehouse (tests/tiny.py), every value worked out by hand.

Campaign K1 in the window 2026-11-02 .. 2026-11-15: O1 (S1, paid 80, discount 20, fee 4, redeemed
24 h later with 10 extra spend, review 4) and O3 (S2, paid 400, discount 100, fee 20, expired
unredeemed = breakage, first order of C2). Marketing 300 on 2026-11-02, booked to K1.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from o2o_ops import campaigns
from o2o_ops.charts import campaigns as charts
from o2o_ops.filters import Filters
from tiny import END, START, build_tiny

WINDOW = Filters(start=START, end=END)


@pytest.fixture(autouse=True)
def review_floor_of_one(monkeypatch):
    """The tiny warehouse's campaigns have one or two reviews each: rate them (default floor 5)."""
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = duckdb.connect(str(build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")), read_only=True)
    yield c
    c.close()


def test_campaign_table_kpis_by_hand(con):
    table = campaigns.campaign_table(con, WINDOW)
    assert table["campaign_id"].tolist() == ["K1"]
    k1 = table.iloc[0]
    assert (k1["campaign_name"], k1["kind"], k1["channel"]) == ("Autumn group buy", "group_buy", "wechat")
    assert k1["budget"] == 1000
    assert k1["marketing_spend"] == 300
    assert k1["orders"] == 2 and k1["paid_orders"] == 2
    assert k1["revenue"] == 480
    assert k1["redemption_rate"] == 0.5               # O1 redeemed, O3 not
    assert k1["breakage_orders"] == 1 and k1["breakage_value"] == 400
    assert k1["time_to_redeem_hours"] == 24
    assert k1["refund_rate"] == 0
    assert k1["avg_rating"] == 4
    assert k1["new_customers"] == 1                   # O3 is C2's first order; C1 ordered before (O6)
    assert k1["cac"] == 300                           # 300 / 1
    # net revenue 480 + 10 extra spend = 490; cost = fees 24 + marketing 300 = 324
    assert k1["roi"] == pytest.approx((490 - 324) / 324)
    assert k1["verdict_short"] == "Too thin to judge"   # 13 days of data before it


def test_table_is_empty_when_no_campaign_orders(con):
    assert campaigns.campaign_table(con, WINDOW.replace(cities=("Nowhere",))).empty


def test_daily_orders_and_redemptions(con):
    daily = campaigns.campaign_daily(con, WINDOW, "K1")
    assert daily.assign(day=daily["day"].astype(str)).values.tolist() == [
        ["2026-11-02", 1, 0], ["2026-11-03", 0, 1], ["2026-11-04", 1, 0]]


def test_stores_ranked_with_their_own_kpis(con):
    stores = campaigns.campaign_stores(con, WINDOW, "K1")
    assert stores["store_id"].tolist() == ["S1", "S2"]   # one order each; ties by store id
    assert stores["rank"].tolist() == [1, 2]
    s1, s2 = stores.iloc[0], stores.iloc[1]
    assert (s1["redemption_rate"], s1["avg_rating"], s1["revenue"]) == (1.0, 4.0, 80)
    assert s2["redemption_rate"] == 0 and pd.isna(s2["avg_rating"])


def test_time_to_redeem_buckets(con):
    buckets = campaigns.time_to_redeem_buckets(con, WINDOW, "K1")
    assert len(buckets) == len(campaigns.TTR_BUCKETS)
    assert buckets["redemptions"].tolist() == [0, 0, 0, 1, 0, 0, 0, 0]   # 24 h -> "1–3 days"
    assert buckets.loc[3, "bucket"] == "1–3 days" and buckets.loc[3, "share"] == 1.0


def test_new_customer_return(con):
    ret = campaigns.new_customer_return(con, WINDOW, "K1")
    assert ret["window_days"].tolist() == [30, 60, 90]
    assert ret["new_customers"].tolist() == [1, 1, 1]
    # C2's first order 2026-11-04; the data ends 2026-11-10: no window has passed yet
    assert ret["observed"].tolist() == [0, 0, 0] and ret["return_rate"].isna().all()


def test_new_customer_return_counts_a_later_order(tmp_path):
    import tiny
    tables = {k: list(v) for k, v in tiny.TABLE_ROWS.items()}
    # C2 orders again 20 days after the campaign order; the data then runs to 2027-03-01
    tables["orders"] += [("O7", "C2", "S3", "2026-11-24 10:00", 60, 60, None, "app", 0, 0, "paid", None, "T7"),
                         ("O8", "C4", "S3", "2027-03-01 10:00", 60, 60, None, "app", 0, 0, "paid", None, "T8")]
    con = duckdb.connect(str(build_tiny(tmp_path / "ret.duckdb", tables)), read_only=True)
    ret = campaigns.new_customer_return(con, WINDOW, "K1")
    assert ret["observed"].tolist() == [1, 1, 1] and ret["returned"].tolist() == [1, 1, 1]
    assert ret["return_rate"].tolist() == [1.0, 1.0, 1.0]
    con.close()


def test_orders_of_one_campaign_at_one_store(con):
    assert campaigns.count_campaign_orders(con, WINDOW, "K1", "S1") == 1
    page = campaigns.campaign_orders_page(con, WINDOW, "K1", "S1")
    assert list(page.columns) == list(campaigns.ORDER_COLUMNS)
    row = page.iloc[0]
    assert (row["order_id"], row["tracking_code"], row["paid_amount"], row["discount_amount"],
            row["refund_amount"], row["review_rating"]) == ("O1", "T1", 80, 20, 0, 4)
    assert str(row["ordered_at"]) == "2026-11-02 12:00:00" and str(row["redeemed_at"]) == "2026-11-03 12:00:00"
    assert campaigns.campaign_orders_page(con, WINDOW, "K1", "S3").empty
    assert campaigns.campaign_orders_page(con, WINDOW, "K1", "S1", page_no=2).empty


def test_orders_page_shows_review_and_complaints(tmp_path):
    import tiny
    tables = {k: list(v) for k, v in tiny.TABLE_ROWS.items()}
    tables["reviews"] += [("R1b", "O1", 1, "2026-11-04 10:00", False, "rude_staff"),
                          ("R1c", "O1", 1, "2026-11-04 11:00", False, "dirty")]
    con = duckdb.connect(str(build_tiny(tmp_path / "rev.duckdb", tables)), read_only=True)
    row = campaigns.campaign_orders_page(con, WINDOW, "K1", "S1").iloc[0]
    assert row["review_rating"] == pytest.approx(2.0)     # (4 + 1 + 1) / 3
    assert row["complaint"] == "dirty, rude_staff"
    con.close()


def test_page_count():
    assert campaigns.page_count(0) == 1 and campaigns.page_count(50) == 1 and campaigns.page_count(51) == 2


def test_compare_side_by_side(con):
    side = campaigns.compare_campaigns(con, WINDOW, ("K1", "K9"))
    values = side.set_index("kpi")
    assert values.at["orders", "K1"] == 2 and values.at["cac", "K1"] == 300
    assert values["K9"].isna().all()
    text = campaigns.format_compare(side).set_index("KPI")
    assert text.at["Redemption rate", "K1"] == "50.0%" and text.at["Orders", "K9"] == "—"
    assert text.at["Lift verdict", "K1"] == "Too thin to judge"


def test_drilldown_queries_returns_every_panel(con):
    out = campaigns.drilldown_queries(con, WINDOW, "K1", "S1")
    assert out["order_count"] == 1 and out["orders"]["order_id"].tolist() == ["O1"]
    assert out["summary"]["orders"] == 2 and out["summary"]["lift_detail"]["is_thin"]


# --- chart builders: 0, 1 and 2 rows -----------------------------------------------------------

def _daily(n):
    return pd.DataFrame({"day": pd.date_range("2026-11-02", periods=n), "orders": range(n), "redemptions": range(n)})


@pytest.mark.parametrize("n", [0, 1, 2])
def test_daily_chart(n):
    fig = charts.daily_orders_redemptions(_daily(n))
    assert len(fig.data) == (0 if n == 0 else 2)
    if n:
        assert list(fig.data[0].y) == list(range(n))


@pytest.mark.parametrize("n", [0, 1, 2])
def test_time_to_redeem_chart(n):
    df = pd.DataFrame({"bucket": ["< 1 h", "1–6 h"][:n], "redemptions": [3, 1][:n], "share": [0.75, 0.25][:n]})
    fig = charts.time_to_redeem_distribution(df)
    assert len(fig.data) == (0 if n == 0 else 1)
    if n:
        assert list(fig.data[0].x) == ["< 1 h", "1–6 h"][:n]


@pytest.mark.parametrize("n", [0, 1, 2])
def test_lift_intervals_chart(n):
    df = pd.DataFrame({"campaign_id": ["A", "B"][:n], "lift": [0.3, -0.1][:n],
                       "lift_low": [0.1, -0.3][:n], "lift_high": [0.5, 0.1][:n]})
    fig = charts.lift_intervals(df)
    assert len(fig.data) == (0 if n == 0 else 1)
    if n == 2:
        assert list(fig.data[0].error_x.array) == pytest.approx([0.2, 0.2])
        assert fig.data[0].marker.color == ("#16a34a", "#64748b")


def test_core_does_not_import_streamlit():
    import sys
    import subprocess
    code = "import o2o_ops.campaigns, o2o_ops.lift, o2o_ops.charts.campaigns, sys; print('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


# ------------------------------------------------------------------------------------------
# The campaign tables (sql/rollups_campaigns.sql) give the fact-table answers
# ------------------------------------------------------------------------------------------

# The drill-down's queries as they were written on order_facts / rollup_day_store_channel_campaign: the
# reference the campaign-only tables must reproduce.
_FACT_TTR = """
SELECT CASE WHEN hours_to_redeem < 1 THEN 0 WHEN hours_to_redeem < 6 THEN 1 WHEN hours_to_redeem < 24 THEN 2
            WHEN hours_to_redeem < 72 THEN 3 WHEN hours_to_redeem < 168 THEN 4 WHEN hours_to_redeem < 336 THEN 5
            WHEN hours_to_redeem < 720 THEN 6 ELSE 7 END AS bucket_no, count(*) AS redemptions
FROM order_facts WHERE campaign_id = $campaign AND is_paid AND is_redeemed AND {where} GROUP BY ALL"""
_FACT_DAILY = """
WITH placed AS (SELECT date AS day, sum(count_orders) AS orders FROM rollup_day_store_channel_campaign
                WHERE campaign_id = $campaign AND {where_r} GROUP BY ALL),
redeemed AS (SELECT CAST(redeemed_at AS DATE) AS day, count(*) AS redemptions FROM order_facts
             WHERE campaign_id = $campaign AND is_redeemed AND {where_f} GROUP BY ALL)
SELECT day, coalesce(orders, 0) AS orders, coalesce(redemptions, 0) AS redemptions
FROM placed FULL JOIN redeemed USING (day) ORDER BY day"""
_FACT_RETURN = """
WITH firsts AS (SELECT customer_id, order_id, ordered_at FROM order_facts
                WHERE is_first_order AND campaign_id = $campaign AND {where}),
nxt AS (SELECT f.customer_id, f.ordered_at, min(o.ordered_at) AS next_ordered_at
        FROM firsts f LEFT JOIN order_facts o
             ON o.customer_id = f.customer_id AND o.order_id <> f.order_id AND o.ordered_at >= f.ordered_at
        GROUP BY ALL),
as_of AS (SELECT max(ordered_at) AS as_of FROM order_facts)
SELECT w.window_days, count(n.customer_id) AS new_customers,
       count(n.customer_id) FILTER (WHERE n.ordered_at + to_days(w.window_days) <= a.as_of) AS observed,
       count(n.customer_id) FILTER (WHERE n.ordered_at + to_days(w.window_days) <= a.as_of
                                      AND n.next_ordered_at <= n.ordered_at + to_days(w.window_days)) AS returned
FROM (SELECT unnest([30, 60, 90]) AS window_days) w CROSS JOIN as_of a LEFT JOIN nxt n ON TRUE
GROUP BY ALL ORDER BY w.window_days"""
_FACT_ORDERS = """
WITH page AS (
    SELECT order_id, tracking_code, ordered_at, redeemed_at, status, paid_amount, discount_amount,
           refund_amount, CASE WHEN count_reviews > 0 THEN rating_sum / count_reviews END AS review_rating
    FROM order_facts WHERE campaign_id = $campaign AND store_id = $store AND {where}),
complaints AS (
    SELECT order_id, string_agg(DISTINCT complaint_category, ', ' ORDER BY complaint_category) AS complaint
    FROM reviews WHERE order_id IN (SELECT order_id FROM page) AND complaint_category IS NOT NULL
      AND complaint_category <> '' GROUP BY order_id)
SELECT p.*, c.complaint FROM page p LEFT JOIN complaints c USING (order_id) ORDER BY p.ordered_at, p.order_id"""


def _demo_filter_sets(con) -> list[Filters]:
    last = con.execute("SELECT max(order_date) FROM order_facts").fetchone()[0]
    city, category = con.execute("SELECT city, category FROM order_facts WHERE campaign_id IS NOT NULL "
                                 "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").fetchone()
    return [Filters(), Filters(start=last - dt.timedelta(days=91), end=last),
            Filters(start=last - dt.timedelta(days=91), end=last, cities=(city,), categories=(category,))]


def _busiest(con, filters: Filters) -> tuple[str, str]:
    return con.execute(f"SELECT campaign_id, store_id FROM order_facts WHERE campaign_id IS NOT NULL AND "
                       f"{filters.where_sql('facts')} GROUP BY ALL ORDER BY count(*) DESC, campaign_id, store_id "
                       f"LIMIT 1", filters.params("facts")).fetchone()


def _same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal values (missing as missing, whatever pandas spells it), floats to 1e-9."""
    def norm(df: pd.DataFrame) -> pd.DataFrame:
        df = df.reset_index(drop=True)
        text = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])
                and not pd.api.types.is_datetime64_any_dtype(df[c])]
        df[text] = df[text].astype(object).where(df[text].notna(), None)
        return df
    pd.testing.assert_frame_equal(norm(got), norm(want), check_dtype=False, check_exact=False, rtol=1e-9)


def test_campaign_kpis_equal_the_registry_on_the_fact_tables(ro_con):
    from o2o_ops import metrics

    for filters in _demo_filter_sets(ro_con):
        got = campaigns._campaign_kpis(ro_con, filters, "campaign", campaigns.TABLE_KPIS)
        want = metrics.compute(ro_con, filters, "campaign", campaigns.TABLE_KPIS)
        want = want[want["campaign_id"].notna()]
        assert len(want) > 0
        _same_frame(got[got["campaign_id"].notna()][list(want.columns)], want)

        campaign_id, _ = _busiest(ro_con, filters)
        one = filters.replace(campaigns=(campaign_id,))
        got = campaigns._campaign_kpis(ro_con, one, "store", campaigns.STORE_KPIS)
        want = metrics.compute(ro_con, one, "store", campaigns.STORE_KPIS)
        assert len(want) > 0
        _same_frame(got[list(want.columns)], want)


def test_campaign_kpi_sql_reads_the_campaign_tables():
    sql, _ = campaigns.campaign_kpi_sql(Filters(), "campaign", campaigns.TABLE_KPIS)
    for table in ("rollup_campaign_day", "rollup_campaign_costs", "campaign_order_facts"):
        assert f"FROM {table} WHERE" in sql
    for table in ("rollup_day_store_channel_campaign", "rollup_costs", "order_facts"):
        assert f"FROM {table} WHERE" not in sql
    with pytest.raises(ValueError):
        campaigns.campaign_kpi_sql(Filters(), "store", campaigns.STORE_KPIS)   # no campaign filter


def test_drilldown_panels_equal_the_fact_table_queries(ro_con):
    for filters in _demo_filter_sets(ro_con):
        campaign_id, store_id = _busiest(ro_con, filters)
        pf, pr = filters.params("facts"), filters.params("rollup")
        wf, wr = filters.where_sql("facts"), filters.where_sql("rollup")

        want = ro_con.execute(_FACT_DAILY.format(where_r=wr, where_f=wf), {"campaign": campaign_id, **pr, **pf}).df()
        assert len(want) > 0
        _same_frame(campaigns.campaign_daily(ro_con, filters, campaign_id), want)

        want = ro_con.execute(_FACT_TTR.format(where=wf), {"campaign": campaign_id, **pf}).df()
        got = campaigns.time_to_redeem_buckets(ro_con, filters, campaign_id)
        assert dict(zip(want["bucket_no"], want["redemptions"])) == \
            {b: n for b, n in zip(got["bucket_no"], got["redemptions"]) if n}

        want = ro_con.execute(_FACT_RETURN.format(where=wf), {"campaign": campaign_id, **pf}).df()
        got = campaigns.new_customer_return(ro_con, filters, campaign_id)
        assert want["new_customers"].iloc[0] > 0
        _same_frame(got[list(want.columns)], want)

        want = ro_con.execute(_FACT_ORDERS.format(where=wf), {"campaign": campaign_id, "store": store_id, **pf}).df()
        assert campaigns.count_campaign_orders(ro_con, filters, campaign_id, store_id) == len(want)
        pages = [campaigns.campaign_orders_page(ro_con, filters, campaign_id, store_id, p, page_size=7)
                 for p in range(1, campaigns.page_count(len(want), 7) + 1)]
        _same_frame(pd.concat(pages), want[list(campaigns.ORDER_COLUMNS)])


def test_next_order_of_each_campaign_first_order(ro_con):
    """next_ordered_at is each first order's customer's next order anywhere (the earliest other)."""
    mismatches = ro_con.execute("""
        SELECT count(*) FROM campaign_order_facts c
        LEFT JOIN (SELECT customer_id, min(ordered_at) FILTER (WHERE NOT is_first_order) AS next_at
                   FROM order_facts GROUP BY ALL) o USING (customer_id)
        WHERE c.is_first_order AND c.next_ordered_at IS DISTINCT FROM o.next_at
           OR NOT c.is_first_order AND c.next_ordered_at IS NOT NULL""").fetchone()[0]
    assert mismatches == 0
    assert ro_con.execute("SELECT count(*) FROM campaign_order_facts WHERE next_ordered_at IS NOT NULL").fetchone()[0] > 0
