"""Every KPI on the tiny warehouse (tests/tiny.py), with the value worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest

from o2o_ops import db, metrics
from o2o_ops.filters import Filters
from tiny import END, START, STORES, build_tiny, TABLE_ROWS


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")


@pytest.fixture(scope="module")
def con(tiny):
    c = db.connect(tiny)
    yield c
    c.close()


WINDOW = Filters(start=START, end=END)


@pytest.fixture(autouse=True)
def one_review_is_evidence(monkeypatch):
    """The tiny warehouse has 3 reviews: with the default floor (5) every rating KPI would be
    withheld. Its hand-computed values are checked with a floor of 1; the floor itself is tested
    in tests/test_coverage.py."""
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")

# Store S1 in the window: 2 redemptions, reviews 4 and 2 at listed 4.5, waits 8 and 15 vs 10,
# as_described yes/no, one complaint.  S3: one redemption, no promises, review 5 unanswered.
S1_INDEX = 100 * (0.35 * (1 - ((9 - 6) / 12) / 1.5) + 0.25 * (1 - (3 / 12) / 20)
                  + 0.25 * (((1 + 9) / 12 - 0.5) / 0.5) + 0.15 * (1 - ((1 + 0.6) / 22) / 0.2))
S3_INDEX = 100 * (0.25 * ((9 / 10 - 0.5) / 0.5) + 0.15 * (1 - (0.6 / 21) / 0.2)) / 0.40

EXPECTED_TOTAL = {
    "orders": 5,                      # O1..O5; O6 is before the window
    "paid_orders": 4,                 # O4 cancelled
    "revenue": 640,                   # 80 + 100 + 400 + 60
    "net_revenue": 600,               # 640 - refund 50 + extra spend 10
    "new_customers": 3,               # C2, C3, C4 (C1's first order is O6)
    "redemptions": 3,                 # O1, O2, O5
    "redemption_rate": 3 / 4,
    "time_to_redeem_hours": 10,       # median of 24, 2, 10
    "breakage_orders": 1,             # O3 expired 11-06, as of 11-10, never redeemed
    "breakage_value": 400,
    "capacity_utilisation": 2 / 504,  # S1+S2 redemptions (2) / ((2+1) cap x 12 h x 14 days); S3 has no capacity
    "reviews": 3,
    "avg_rating": 11 / 3,
    "positive_share": 2 / 3,
    "complaint_rate": 1 / 3,
    "refund_rate": 1 / 4,
    "refund_amount_share": 50 / 640,  # refund 50 of the 640 paid
    "sla_attainment": 1 / 2,          # O1 8<=10 met, O2 15>10 missed, O5 has no promise
    "repeat_rate": 1 / 4,             # C1 ordered twice; C2, C3, C4 once
    "discount_cost": 120,
    "discount_depth": 120 / 760,      # discounts 20 + 0 + 100 + 0 over list prices 100 + 100 + 500 + 60 (O1 O2 O3 O5)
    "platform_fees": 32,
    "marketing_spend": 300,
    "staff_cost": 200,
    "other_costs": 100,
    "cost_per_redemption": (120 + 32 + 300 + 200) / 3,
    "cac": 300 / 1,                   # K1 marketing / C2 (first order O3 via K1)
    "roi": (600 - 632) / 632,         # cash cost = fees 32 + marketing 300 + staff 200 + rent 100
    "rating_gap": (9 - 6) / 2,        # listed 4.5 twice minus ratings 4 + 2, over 2 reviews
    "wait_gap_minutes": (-2 + 5) / 2,
    "as_described_rate": 1 / 2,
    "deal_customer_gap": 4 - (2 + 5) / 2,
    "symmetry_index": (S1_INDEX * 2 + S3_INDEX * 1) / 3,
    # own promises (tiny.PROMISES): due O1, O2, O3 (never redeemed, time passed), O5 (wait);
    # late O2 (20:00 > 19:00), O3, O5 (12 > 10 min); O4 is cancelled
    "late_vs_promise_rate": 3 / 4,
    "promises_due": 4,
    # listed rating once per order: O1, O2 at S1 (4.5), O3, O4 at S2 (4.0); S3 lists none
    "online_rating": (4.5 * 2 + 4.0 * 2) / 4,
    # tiny.INSPECTIONS in the window: 4, passed 3 (S1's 62 fails); violations 6 + 1 + 2 over 3
    # inspections with counts, critical 1 + 0 + 0 over the same 3; scores 62 and 88
    "inspections": 4,
    "inspection_pass_rate": 3 / 4,
    "violations_per_inspection": 9 / 3,
    "critical_violations_per_inspection": 1 / 3,
    "avg_inspection_score": (62 + 88) / 2,
    # tiny.EVENTS in the window: 200 impressions, 10 clicks, 5 coupons received (C1 ordered O1 and
    # redeemed it 27 h later; C2 ordered O3, never redeemed; C3 and 2 anonymous: no K1 order after)
    "impressions": 200,
    "clicks": 10,
    "coupons_received": 5,
    "click_through_rate": 10 / 200,
    "coupon_receive_rate": 5 / 10,
    "received_to_order_rate": 2 / 5,
    "received_to_redeemed_rate": 1 / 5,
    "cost_per_click": 300 / 10,          # K1's marketing 300 over its 10 clicks
}


def test_every_kpi_has_a_hand_computed_expectation():
    assert set(EXPECTED_TOTAL) == set(metrics.KPIS)


@pytest.mark.parametrize("name", sorted(EXPECTED_TOTAL))
def test_total(con, name):
    row = metrics.compute(con, WINDOW, "total", [name]).iloc[0]
    assert row[name] == pytest.approx(EXPECTED_TOTAL[name], rel=1e-9)


def test_all_kpis_in_one_query_match_one_by_one(con):
    row = metrics.compute(con, WINDOW, "total").iloc[0]
    for name, expected in EXPECTED_TOTAL.items():
        assert row[name] == pytest.approx(expected, rel=1e-9), name


def test_store_grain(con):
    df = metrics.compute(con, WINDOW, "store").set_index("store_id")
    assert df.loc["S1", "symmetry_index"] == pytest.approx(S1_INDEX)
    assert df.loc["S3", "symmetry_index"] == pytest.approx(S3_INDEX)
    assert df.loc["S1", "rating_gap"] == pytest.approx(1.5)
    # S2 has orders but no redemption or review: undefined, never 0
    assert df["avg_rating"].isna()["S2"] and df["symmetry_index"].isna()["S2"]
    assert df.loc["S2", "redemption_rate"] == 0            # 1 paid (O3), 0 redeemed
    # a store with no listed rating has no rating gap
    assert df["rating_gap"].isna()["S3"]
    # campaign marketing (300) spread by K1's paid orders: O1 at S1, O3 at S2
    assert df.loc["S1", "marketing_spend"] == 150 and df.loc["S2", "marketing_spend"] == 150
    assert df.loc["S2", "capacity_utilisation"] == 0        # capacity 1/h, nothing redeemed
    assert df.loc["S1", "store_name"] == "Lakeside Noodles"


def test_week_grain_with_week_over_week(con):
    weekly = metrics.week_over_week(metrics.compute(con, WINDOW, "week", ["orders", "avg_rating"]),
                                    ["orders", "avg_rating"])
    assert weekly["iso_week"].tolist() == ["2026-W45", "2026-W46"]
    assert weekly["orders"].tolist() == [4, 1]
    assert weekly["orders_change"].iloc[1] == -3
    assert weekly["avg_rating_change"].iloc[1] == pytest.approx(5 - 3)


def test_campaign_and_channel_grains(con):
    camp = metrics.compute(con, WINDOW, "campaign", ["orders", "revenue", "cac", "capacity_utilisation"])
    k1 = camp[camp["campaign_id"] == "K1"].iloc[0]
    assert (k1["orders"], k1["revenue"], k1["cac"]) == (2, 480, 300)
    assert k1["campaign_name"] == "Autumn group buy"
    assert k1["capacity_utilisation"] is None or k1["capacity_utilisation"] != k1["capacity_utilisation"]
    full_price = camp[camp["campaign_id"].isna()].iloc[0]
    assert full_price["orders"] == 3
    chan = metrics.compute(con, WINDOW, "channel", ["orders", "staff_cost"]).set_index("channel")
    assert chan["orders"].to_dict() == {"app": 2, "maps": 1, "wechat": 2}
    assert chan["staff_cost"].sum() == 0        # staff cost has no channel


def test_zero_denominators_are_null_not_zero(con):
    f = Filters(start=dt.date(2026, 11, 5), end=dt.date(2026, 11, 5))    # only O4, cancelled
    row = metrics.compute(con, f, "total").iloc[0]
    assert row["orders"] == 1 and row["paid_orders"] == 0
    for name in ("redemption_rate", "refund_rate", "avg_rating", "positive_share", "sla_attainment",
                 "complaint_rate", "cost_per_redemption", "as_described_rate", "symmetry_index"):
        assert row[name] != row[name] or row[name] is None, name   # NaN / None


def test_refund_of_a_redeemed_order_counts_once(con):
    row = metrics.compute(con, Filters(start=dt.date(2026, 11, 3), end=dt.date(2026, 11, 3)), "total").iloc[0]
    # O2: redeemed, reviewed 2, refunded 50
    assert (row["redemption_rate"], row["refund_rate"], row["net_revenue"]) == (1.0, 1.0, 50)


def test_filters_narrow_results(con):
    hz = metrics.compute(con, WINDOW.replace(cities=("Hangzhou",)), "total", ["orders", "revenue"]).iloc[0]
    assert (hz["orders"], hz["revenue"]) == (2, 180)
    hostile = Filters(cities=("Hangzhou' OR '1'='1", "x\"); DROP TABLE orders; --"))
    assert metrics.compute(con, hostile, "total", ["orders"]).empty
    assert db.scalar(con, "SELECT count(*) FROM orders") == 6


def test_store_grain_sums_to_total(con):
    by_store = metrics.compute(con, WINDOW, "store")
    total = metrics.compute(con, WINDOW, "total").iloc[0]
    for name in ("orders", "paid_orders", "revenue", "redemptions", "discount_cost", "platform_fees",
                 "marketing_spend", "staff_cost", "other_costs", "breakage_value", "new_customers"):
        assert by_store[name].sum() == pytest.approx(total[name]), name


def test_unknown_grain_and_kpi_are_refused(con):
    with pytest.raises(ValueError, match="grain"):
        metrics.compute(con, WINDOW, "planet")
    with pytest.raises(ValueError, match="Unknown KPI"):
        metrics.compute(con, WINDOW, "total", ["happiness"])


@pytest.mark.parametrize("value, unit, text", [
    (0.8421, "percent", "84.2%"), (12340, "currency", "¥12,340"), (4.314, "stars", "4.31 ★"),
    (-0.2, "star_gap", "−0.20 ★"), (None, "percent", "—"), (float("nan"), "count", "—"),
    (3.0, "minutes", "+3.0 min"), (91.6, "score", "92"), (-0.05, "ratio", "−5%"), (12.5, "hours", "12.5 h"),
])
def test_format_value(value, unit, text):
    assert metrics.format_value(value, unit, "CNY") == text


def test_good_change_follows_direction():
    assert metrics.is_good_change("refund_rate", -0.01) is True
    assert metrics.is_good_change("avg_rating", -0.1) is False
    assert metrics.is_good_change("capacity_utilisation", 0.1) is None


def test_kpis_command_json(tiny):
    out = subprocess.run([sys.executable, "-m", "o2o_ops", "kpis", "--warehouse", str(tiny), "--from", "2026-11-02",
                          "--to", "2026-11-15", "--by", "city", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    rows = {r["city"]: r for r in json.loads(out)}
    assert rows["Hangzhou"]["orders"] == 2 and rows["Shanghai"]["orders"] == 3
    assert rows["Shanghai"]["avg_rating"] == 5.0
    assert rows["Shanghai"]["sla_attainment"] is None     # undefined -> null
    assert set(metrics.KPIS) <= set(rows["Hangzhou"])


def test_kpis_command_table_and_csv(tiny):
    table = subprocess.run([sys.executable, "-m", "o2o_ops", "kpis", "--warehouse", str(tiny), "--city", "Hangzhou",
                            "--kpi", "orders", "--kpi", "avg_rating"], capture_output=True, text=True, check=True).stdout
    assert "Hangzhou" in table and "3.67 ★" in table    # O1 4, O2 2, O6 5
    csv = subprocess.run([sys.executable, "-m", "o2o_ops", "kpis", "--warehouse", str(tiny), "--by", "week",
                          "--format", "csv", "--kpi", "orders"], capture_output=True, text=True, check=True).stdout
    assert csv.splitlines()[0] == "week_start,iso_week,orders"
    bad = subprocess.run([sys.executable, "-m", "o2o_ops", "kpis", "--warehouse", str(tiny), "--kpi", "nope"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown KPI" in bad.stderr


def test_rollups_equal_fact_tables(con):
    facts = db.run(con, """SELECT count(*) AS n, sum(paid_amount) FILTER (WHERE status <> 'cancelled') AS paid
                           FROM orders""").iloc[0]
    roll = db.run(con, "SELECT sum(count_orders) AS n, sum(paid_amount) AS paid FROM rollup_day_store_channel_campaign").iloc[0]
    assert (roll["n"], roll["paid"]) == (facts["n"], facts["paid"])
    assert len(TABLE_ROWS["stores"]) == len(STORES) == 3


@pytest.mark.parametrize("grain", ["total", "week", "day"])
@pytest.mark.parametrize("window", [(None, None), (dt.date(2026, 3, 4), dt.date(2026, 5, 19)),
                                    (dt.date(2026, 11, 16), dt.date(2026, 11, 22))])
def test_repeat_rate_shortcut_equals_counting_customers(ro_con, grain, window):
    """The date-only shortcut (neighbouring orders) gives exactly what grouping by customer gives."""
    filters = Filters(start=window[0], end=window[1])
    fast = metrics.compute(ro_con, filters, grain, ["repeat_rate"])
    # a filter that matches every store forces the grouping path
    stores = tuple(db.run(ro_con, "SELECT store_id FROM stores")["store_id"])
    slow = metrics.compute(ro_con, filters.replace(stores=stores), grain, ["repeat_rate"])
    assert len(fast) == len(slow) > 0
    assert fast["repeat_rate"].tolist() == pytest.approx(slow["repeat_rate"].tolist(), rel=1e-12)


def test_over_promisers_have_the_worst_symmetry_index(ro_con):
    from o2o_ops import demo

    planted = demo.planted_store_ids(ro_con)
    by_store = metrics.compute(ro_con, Filters(), "store", ["symmetry_index", "rating_gap"])
    worst = by_store.nsmallest(len(planted["over_promisers"]), "symmetry_index")["store_id"]
    assert set(worst) == set(planted["over_promisers"])
    others = by_store[~by_store["store_id"].isin(planted["over_promisers"])]
    assert others["symmetry_index"].min() > by_store.set_index("store_id").loc[planted["over_promisers"], "symmetry_index"].max() + 20
    under = by_store.set_index("store_id").loc[planted["under_promisers"], "rating_gap"]
    assert (under < -0.2).all()


def test_spike_weeks_show_falling_sla_attainment(ro_con):
    from o2o_ops import demo

    for spike in demo.PLANTED["spikes"]:
        weekly = metrics.compute(ro_con, Filters(cities=(spike["city"],)), "week", ["sla_attainment", "avg_rating"])
        weekly = weekly.set_index("iso_week")
        spike_sla = weekly.loc[spike["iso_week"], "sla_attainment"]
        usual_sla = weekly.drop(index=spike["iso_week"])["sla_attainment"].median()
        assert spike_sla < usual_sla - 0.25, spike
        assert weekly["sla_attainment"].idxmin() == spike["iso_week"], spike
        assert weekly.loc[spike["iso_week"], "avg_rating"] < weekly["avg_rating"].median() - 0.5, spike


@pytest.mark.parametrize("grain", ["total", "week", "store", "city", "campaign", "channel"])
def test_weekly_rollups_give_the_daily_answers(ro_con, grain):
    filters = Filters(start=dt.date(2026, 8, 24), end=dt.date(2026, 11, 22), categories=("restaurant", "hotel"))
    store_level = grain not in ("campaign", "channel")
    assert metrics.default_tables(filters, grain) is (metrics.STORE_WEEKLY_TABLES if store_level
                                                      else metrics.WEEKLY_TABLES)
    names = [n for n in metrics.KPIS if grain not in metrics.KPIS[n].grains_without]   # others are NULL there
    weekly = db.run(ro_con, *metrics.kpi_sql(filters, grain, names))
    daily = db.run(ro_con, *metrics.kpi_sql(filters, grain, names, tables=metrics.DAILY_TABLES))
    assert len(weekly) == len(daily) > 0
    for name in names:
        assert weekly[name].tolist() == pytest.approx(daily[name].tolist(), rel=1e-9, nan_ok=True), name
    if store_level:   # and the store-level daily rollup (channels and campaigns summed, slices
        # by campaign kept as columns: cac, the deal-customer gap) agrees too
        assert {"cac", "deal_customer_gap"} <= set(names)
        by_store = db.run(ro_con, *metrics.kpi_sql(filters, grain, names, tables=metrics.STORE_DAILY_TABLES))
        for name in names:
            assert by_store[name].tolist() == pytest.approx(daily[name].tolist(), rel=1e-9, nan_ok=True), name


def test_part_weeks_and_days_read_the_daily_rollups():
    assert metrics.default_tables(Filters(start=dt.date(2026, 8, 25)), "total") is metrics.STORE_DAILY_TABLES
    assert metrics.default_tables(Filters(end=dt.date(2026, 11, 21)), "week") is metrics.STORE_DAILY_TABLES
    assert metrics.default_tables(Filters(), "day") is metrics.STORE_DAILY_TABLES
    assert metrics.default_tables(Filters(), "store") is metrics.STORE_WEEKLY_TABLES


def test_channel_and_campaign_queries_read_the_rollups_that_keep_them_apart():
    assert metrics.default_tables(Filters(channels=("app",)), "store") is metrics.WEEKLY_TABLES
    assert metrics.default_tables(Filters(campaign_kinds=("coupon",)), "day") is metrics.DAILY_TABLES
    assert metrics.default_tables(Filters(campaigns=("C1",)), "total") is metrics.WEEKLY_TABLES
    assert metrics.default_tables(Filters(), "campaign_kind") is metrics.WEEKLY_TABLES
    assert metrics.order_rollup(Filters(cities=("Hangzhou",))) == "rollup_day_store"
    assert metrics.order_rollup(Filters(channels=("app",)), weekly=True) == "rollup_week_store_channel_campaign"


def test_store_rollups_hold_the_channel_rollups_summed(ro_con):
    """Row by row: rollup_day_store = rollup_day_store_channel_campaign summed over channel and
    campaign (the same for the weeks), every measure column."""
    for store, full in (("rollup_day_store", "rollup_day_store_channel_campaign"),
                        ("rollup_week_store", "rollup_week_store_channel_campaign")):
        cols = [c for c in ro_con.execute(f"SELECT * FROM {store} LIMIT 0").df().columns
                if c not in ("date", "store_id", "city", "district", "region", "category")]
        slices = {"deal_reviews": "sum(count_reviews) FILTER (WHERE campaign_id IS NOT NULL)",
                  "full_reviews": "sum(count_reviews) FILTER (WHERE campaign_id IS NULL)",
                  "deal_rating_sum": "sum(rating_sum) FILTER (WHERE campaign_id IS NOT NULL)",
                  "full_rating_sum": "sum(rating_sum) FILTER (WHERE campaign_id IS NULL)",
                  "count_new_campaign_customers": "sum(count_new_customers) FILTER (WHERE campaign_id IS NOT NULL)"}
        assert set(slices) <= set(cols)
        sums = ", ".join(f"{slices.get(c, f'sum({c})')} AS {c}" for c in cols)
        mine = ro_con.execute(f"SELECT * FROM {store} ORDER BY date, store_id").df()
        summed = ro_con.execute(f"SELECT date, store_id, city, district, region, category, {sums} FROM {full} "
                                "GROUP BY ALL ORDER BY date, store_id").df()
        assert len(mine) == len(summed) > 100
        assert mine[["date", "store_id", "city"]].equals(summed[["date", "store_id", "city"]])
        for c in cols:
            assert mine[c].astype(float).tolist() == pytest.approx(summed[c].astype(float).tolist(), rel=1e-12,
                                                                   nan_ok=True), (store, c)
