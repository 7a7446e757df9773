"""The quality / cost / efficiency query functions on the tiny warehouse, values worked out by hand.

Window 2026-11-02 → 2026-11-15 holds O1..O5 (see tests/tiny.py):
O1 S1 paid 80 (K1, discount 20, fee 4) redeemed after 24 h, review 4, extra spend 10;
O2 S1 paid 100 (fee 5) redeemed after 2 h, review 2 'long_wait', refund 50 'long wait';
O3 S2 paid 400 (K1, discount 100, fee 20) never redeemed, valid until 11-06 (expired);
O4 S2 cancelled; O5 S3 paid 60 (fee 3) redeemed after 10 h, review 5.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from o2o_ops import analysis, db, metrics
from o2o_ops.filters import Filters
from tiny import END, START, TABLE_ROWS, build_tiny

WINDOW = Filters(start=START, end=END)

# A fourth store (Hangzhou restaurant, a peer of S1) and unredeemed vouchers of every age.
# as_of (latest order) stays O5's 2026-11-10 09:00.
EXTENDED = {**TABLE_ROWS,
            "stores": TABLE_ROWS["stores"] + [
                ("S4", "Westlake Grill", "restaurant", "Hangzhou", 30.26, 120.14, "Xihu", "East",
                 "2021-01-01", 0.01, 4.2, 15)],
            "orders": TABLE_ROWS["orders"] + [
                ("O7", "C2", "S4", "2026-11-06 12:00", 80, 80, None, "app", 0, 2, "paid", "2026-11-30", "T7"),
                ("O8", "C3", "S4", "2026-11-07 10:00", 50, 50, None, "app", 0, 1, "paid", "2026-11-14", "T8"),
                ("O9", "C3", "S4", "2026-11-08 10:00", 70, 70, None, "app", 0, 1, "paid", "2026-11-25", "T9"),
                ("O10", "C4", "S1", "2026-11-09 10:00", 90, 90, None, "app", 0, 1, "paid", "2027-01-01", "T10")],
            "redemptions": TABLE_ROWS["redemptions"] + [("O7", "2026-11-06 13:00", 10, 20, 0)],
            "reviews": TABLE_ROWS["reviews"] + [("R7", "O7", 5, "2026-11-06 15:00", True, None)]}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = db.connect(build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb"))
    yield c
    c.close()


@pytest.fixture(scope="module")
def con_ext(tmp_path_factory):
    c = db.connect(build_tiny(tmp_path_factory.mktemp("tiny_ext") / "ext.duckdb", EXTENDED))
    yield c
    c.close()


def total(con, names, filters=WINDOW):
    return metrics.compute(con, filters, "total", names).iloc[0]


def test_previous_period_has_equal_length():
    prev = analysis.previous_period(WINDOW.replace(cities=("Hangzhou",)))
    assert (prev.start, prev.end) == (dt.date(2026, 10, 19), dt.date(2026, 11, 1))
    assert prev.cities == ("Hangzhou",)
    assert analysis.previous_period(Filters()) is None


# --- quality ------------------------------------------------------------------------------

def test_rating_distribution(con):
    # reviews of O1..O5: 4, 2, 5 -> one each of 2, 4, 5 stars
    df = analysis.rating_distribution(con, WINDOW)
    assert df["rating"].tolist() == [1, 2, 3, 4, 5]
    assert df["count_reviews"].tolist() == [0, 1, 0, 1, 1]
    assert df["share"].tolist() == pytest.approx([0, 1 / 3, 0, 1 / 3, 1 / 3])
    empty = analysis.rating_distribution(con, WINDOW.replace(cities=("Nowhere",)))
    assert empty["count_reviews"].tolist() == [0] * 5


def test_complaints_by_category_sum_to_complaint_rate(con):
    # one 'long_wait' complaint (R2) / 3 redemptions (O1, O2, O5)
    df = analysis.complaints_by_category(con, WINDOW)
    assert df["complaint_category"].tolist() == ["long_wait"]
    assert df["count_complaints"].tolist() == [1]
    assert df["complaint_rate"].iloc[0] == pytest.approx(1 / 3)
    assert df["complaint_rate"].sum() == pytest.approx(total(con, ["complaint_rate"])["complaint_rate"])


def test_refund_reasons(con):
    # O2 refunded 50 for 'long wait'; paid orders O1, O2, O3, O5 -> 1/4 = the refund rate
    df = analysis.refund_reasons(con, WINDOW)
    row = df.iloc[0]
    assert (row["reason"], row["count_refunds"], row["count_orders"], row["refund_amount"]) == ("long wait", 1, 1, 50)
    assert row["share_of_paid_orders"] == pytest.approx(0.25) == total(con, ["refund_rate"])["refund_rate"]


def test_sla_by_hour_weekday(con):
    # redemptions made in the window, all on Tuesdays: O1 11-03 12:00 S1 wait 8 <= 10 (met);
    # O2 11-03 20:00 S1 wait 15 > 10 (missed); O5 11-10 19:00 at S3, which promises no wait.
    df = analysis.sla_by_hour_weekday(con, WINDOW)
    assert df[["iso_dow", "weekday", "hour"]].values.tolist() == [[2, "Tue", 12], [2, "Tue", 19], [2, "Tue", 20]]
    assert df["count_waits"].tolist() == [1, 0, 1]
    assert df["count_sla_met"].tolist() == [1, 0, 0]
    assert df["sla_attainment"].iloc[0] == 1.0 and pd.isna(df["sla_attainment"].iloc[1])
    assert df["sla_attainment"].iloc[2] == 0.0
    # the met/recorded totals are the registry's SLA attainment (1 / 2)
    assert df["count_sla_met"].sum() / df["count_waits"].sum() == total(con, ["sla_attainment"])["sla_attainment"]


def test_peer_comparison_against_city_category_median(con_ext, monkeypatch):
    # the tiny stores have one or two reviews each: judged under a floor of one review (under the
    # default floor of 5 no store would be ranked; tests/test_analysis_rollups.py checks the floor)
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")
    # avg rating: S1 (4+2)/2 = 3.0; S4 5.0 (R7); S3 5.0; S2 no reviews.
    # peers: S1 & S4 are Hangzhou restaurants -> median 4.0; S3 alone in Shanghai restaurants.
    df = analysis.peer_comparison(con_ext, WINDOW, "avg_rating").set_index("store_id")
    assert df.loc["S1", "avg_rating"] == 3.0 and df.loc["S4", "avg_rating"] == 5.0
    assert df.loc["S1", "peer_median"] == 4.0 == df.loc["S4", "peer_median"]
    assert df.loc["S1", "vs_peers"] == -1.0 and df.loc["S4", "vs_peers"] == 1.0
    assert df.loc["S1", "peer_stores"] == 2 and df.loc["S3", "peer_stores"] == 1
    assert (df.loc["S3", "rank"], df.loc["S4", "rank"], df.loc["S1", "rank"]) == (1, 1, 3)
    assert pd.isna(df.loc["S2", "rank"]) and pd.isna(df.loc["S2", "avg_rating"])
    # lower is better for refund rate: S1 1/3 refunded (O2 of O2, O1, O10) ranks after the stores with 0
    refunds = analysis.peer_comparison(con_ext, WINDOW, "refund_rate").set_index("store_id")
    assert refunds.loc["S1", "refund_rate"] == pytest.approx(1 / 3) and refunds.loc["S1", "rank"] == 4


def test_peer_comparison_rejects_unknown_kpi(con):
    with pytest.raises(ValueError, match="choose one of"):
        analysis.peer_comparison(con, WINDOW, "store_id; DROP TABLE stores")


# --- cost ---------------------------------------------------------------------------------

def test_cost_breakdown_by_week(con):
    # W45 (11-02): discounts 20+100 = 120 (O4 cancelled), fees 4+5+20 = 29, marketing 300 (K1),
    # staff 200 (S1), other 100 (rent S2). W46 (11-09): O5's fee 3 and no discount; the costs
    # table ends on 11-03, so W46's marketing, staff and other are not provided (left out, not 0).
    df = analysis.cost_breakdown_by_week(con, WINDOW)
    w45 = df[df["iso_week"] == "2026-W45"].set_index("component")["amount"].to_dict()
    w46 = df[df["iso_week"] == "2026-W46"].set_index("component")["amount"].to_dict()
    assert w45 == {"Discounts": 120, "Platform fees": 29, "Marketing": 300, "Staff": 200, "Other": 100}
    assert w46 == {"Discounts": 0, "Platform fees": 3}
    assert analysis.cost_breakdown_by_week(con, WINDOW.replace(cities=("Nowhere",))).empty


def test_cost_by_channel_and_kind(con):
    # wechat: (discount 120 + fees 24 + marketing 300) / 1 redemption (O1) = 444;
    # app: fee 5 / 1 redemption (O2) = 5; maps: fee 3 / 1 (O5) = 3. Staff has no channel.
    ch = analysis.cost_by_group(con, WINDOW, "channel").set_index("channel")
    assert ch["cost_per_redemption"].to_dict() == {"app": 5.0, "maps": 3.0, "wechat": 444.0}
    # first-ever orders through K1 in the window: only O3 (C2; C1's first order is O6) -> 300 / 1
    assert ch.loc["wechat", "cac"] == 300.0
    kind = analysis.cost_by_group(con, WINDOW, "campaign_kind").set_index("campaign_kind")
    # group_buy net revenue 80 + 10 + 400 = 490, cost fees 24 + marketing 300 = 324
    assert kind.loc["group_buy", "roi"] == pytest.approx((490 - 324) / 324)
    assert "full price" in kind.index
    with pytest.raises(ValueError):
        analysis.cost_by_group(con, WINDOW, "city")


def test_store_margin(con):
    # S1: net revenue 80 + 100 − 50 + 10 = 140; cost fees 9 + marketing 150 + staff 200 = 359
    # S2: net 400; fees 20 + marketing 150 + rent 100 = 270.  S3: net 60; fees 3.
    df = analysis.store_margin(con, WINDOW).set_index("store_id")
    assert df.index.tolist() == ["S1", "S3", "S2"]  # worst margin first
    assert df["total_cost"].to_dict() == {"S1": 359.0, "S3": 3.0, "S2": 270.0}
    assert df["margin"].to_dict() == {"S1": -219.0, "S3": 57.0, "S2": 130.0}
    assert df.loc["S2", "margin_rate"] == pytest.approx(130 / 400)
    assert df.loc["S1", "roi"] == pytest.approx(-219 / 359)  # ROI = margin / total cost


# --- efficiency ---------------------------------------------------------------------------

def test_funnel(con):
    # ordered O1..O5 = 5; paid 4 (O4 cancelled); redeemed O1, O2, O5; all three reviewed
    df = analysis.funnel(con, WINDOW)
    assert df["stage"].tolist() == ["Ordered", "Paid", "Redeemed", "Reviewed"]
    assert df["count_orders"].tolist() == [5, 4, 3, 3]
    assert df["share_of_ordered"].tolist() == pytest.approx([1, 0.8, 0.6, 0.6])
    assert df["share_of_previous"].tolist()[1:] == pytest.approx([0.8, 0.75, 1.0])
    kpis = total(con, ["orders", "paid_orders", "redemption_rate"])
    assert [kpis["orders"], kpis["paid_orders"]] == [5, 4]
    assert df["count_orders"][2] / df["count_orders"][1] == kpis["redemption_rate"]


@pytest.mark.parametrize("missing, stages", [
    ((), ["Ordered", "Paid", "Redeemed", "Reviewed"]),
    (("reviews",), ["Ordered", "Paid", "Redeemed"]),
    (("redemption_rate",), ["Ordered", "Paid"]),       # reviewed counts redeemed orders: it goes too
    (("redemption_rate", "reviews", "roi"), ["Ordered", "Paid"]),
])
def test_funnel_leaves_out_the_stages_never_provided(con, missing, stages):
    df = analysis.funnel_provided(analysis.funnel(con, WINDOW), set(missing))
    assert df["stage"].tolist() == stages
    assert df["count_orders"].tolist() == [5, 4, 3, 3][:len(stages)]   # the kept stages' counts unchanged
    assert df.index.tolist() == list(range(len(stages)))


def test_time_to_redeem_histogram(con):
    # O2 2 h -> '1–3 h', O5 10 h -> '6–12 h', O1 24 h -> '1–2 days'
    df = analysis.time_to_redeem_histogram(con, WINDOW).set_index("label")
    assert len(df) == len(analysis.REDEEM_BUCKETS)
    assert df["count_orders"][df["count_orders"] > 0].to_dict() == {"1–3 h": 1, "6–12 h": 1, "1–2 days": 1}
    assert df["share"].sum() == pytest.approx(1.0)


def test_breakage_ageing(con, con_ext):
    # tiny: only O3 (400, expired 11-06 < as_of 11-10 09:00) is paid and unredeemed = the breakage KPI
    df = analysis.breakage_ageing(con, WINDOW).set_index("label")
    assert df.loc["expired", "count_orders"] == 1 == total(con, ["breakage_orders"])["breakage_orders"]
    assert df.loc["expired", "paid_amount"] == 400 == total(con, ["breakage_value"])["breakage_value"]
    # extended: O8 valid to 11-14 (4 days), O9 to 11-25 (15 days), O10 to 2027-01-01 (52 days)
    ext = analysis.breakage_ageing(con_ext, WINDOW).set_index("label")
    assert ext["count_orders"].to_dict() == {"expired": 1, "0–7 days": 1, "8–30 days": 1, "31+ days": 1, "no expiry": 0}
    assert ext["paid_amount"].to_dict() == {"expired": 400, "0–7 days": 50, "8–30 days": 70, "31+ days": 90,
                                            "no expiry": 0}


def test_capacity_by_store(con, con_ext):
    # S1: 2 redemptions / (2 per hour × 12 h × 14 days = 336); S2: 0 / 168; S3 has no capacity.
    df = analysis.capacity_by_store(con, WINDOW).set_index("store_id")
    assert df.index.tolist() == ["S1", "S2"]
    assert df.loc["S1", "capacity_utilisation"] == pytest.approx(2 / 336)
    # S1's busiest week (from 11-02): 2 redemptions / (2 × 12 × 7) = 1/84
    assert df.loc["S1", "count_redemptions"] == 2 and df.loc["S1", "peak_week_utilisation"] == pytest.approx(1 / 84)
    assert not df["is_over_capacity"].any()
    # S4 has capacity 0.01 per hour = 0.84 a week: its one redemption (11-06) puts that week over
    # capacity, though the period's utilisation is 1 / (0.01 × 12 × 14) = 59.5%
    ext = analysis.capacity_by_store(con_ext, WINDOW).set_index("store_id")
    assert ext.loc["S4", "capacity_utilisation"] == pytest.approx(1 / (0.01 * 12 * 14))
    assert ext.loc["S4", "weeks_over_capacity"] == 1 and ext.loc["S4", "peak_week_utilisation"] == pytest.approx(1 / 0.84)
    assert bool(ext.loc["S4", "is_over_capacity"]) and not bool(ext.loc["S1", "is_over_capacity"])
    assert ext.index[0] == "S4"  # highest utilisation first


def test_capacity_by_hour(con):
    # capacity stores S1 (2) + S2 (1) = 3 per hour × 14 days = 42 per hour of day;
    # redemptions at those stores: hour 12 (O1) and hour 20 (O2); O5 is at S3 (no capacity)
    df = analysis.capacity_by_hour(con, WINDOW).set_index("hour")
    assert df.index.tolist() == list(range(24))
    assert (df["capacity"] == 42).all()
    assert df["count_redemptions"][df["count_redemptions"] > 0].to_dict() == {12: 1, 20: 1}
    assert df.loc[12, "utilisation"] == pytest.approx(1 / 42)
    assert not df["is_over_capacity"].any()
    hangzhou = analysis.capacity_by_hour(con, WINDOW.replace(cities=("Hangzhou",))).set_index("hour")
    assert (hangzhou["capacity"] == 28).all()  # S1 only: 2 × 14
