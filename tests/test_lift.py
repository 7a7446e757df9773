"""Incremental lift on warehouses built so the answer is known (see o2o_ops.lift for the method)."""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd
import pytest

from o2o_ops import lift
from o2o_ops.filters import Filters
from tiny import build_tiny

CAMPAIGN_START = dt.date(2026, 3, 2)   # a Monday
CAMPAIGN_DAYS = 14


def _tables(first_day: dt.date, daily_orders, campaign_start=CAMPAIGN_START, campaign_days=CAMPAIGN_DAYS,
            campaign_share=3, spend=1000.0):
    """One store; ``daily_orders(day) -> n`` orders of 100 each; during the campaign every
    ``campaign_share``-th order carries the campaign id (the rest are full-price traffic)."""
    end = campaign_start + dt.timedelta(days=campaign_days - 1)
    orders, customers = [], []
    day, n = first_day, 0
    while day <= end:
        for i in range(daily_orders(day)):
            n += 1
            in_campaign = day >= campaign_start
            customers.append((f"C{n}", "2026-01-01", "Hangzhou", None, None))
            orders.append((f"O{n:05d}", f"C{n}", "S1", f"{day} {8 + i % 12:02d}:00", 100, 100,
                           "K" if in_campaign and i % campaign_share == 0 else None, "app", 0, 0, "paid",
                           None, f"T{n}"))
        day += dt.timedelta(days=1)
    return {
        "stores": [("S1", "Lake", "restaurant", "Hangzhou", 30.2, 120.1, None, None, None, None, None, None)],
        "campaigns": [("K", "Spring", "coupon", "app", str(campaign_start), str(end), 2000, 0.1)],
        "customers": customers, "orders": orders,
        "costs": [(str(campaign_start), "marketing", spend, None, "K", None)],
    }


@pytest.fixture(scope="module")
def tiny_con(tmp_path_factory):
    con = duckdb.connect(str(build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def known_lift(tmp_path_factory):
    """Baseline 10 orders/day for 28 days, then 15/day for the 14 campaign days: +50%."""
    path = tmp_path_factory.mktemp("lift") / "lift.duckdb"
    first = CAMPAIGN_START - dt.timedelta(days=28)
    build_tiny(path, _tables(first, lambda d: 15 if d >= CAMPAIGN_START else 10))
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def test_lift_on_known_fixture_is_exact(known_lift):
    row = lift.campaign_lift(known_lift, Filters()).set_index("campaign_id").loc["K"]
    assert row["stores"] == 1
    assert row["baseline_days"] == 28 and row["baseline_orders"] == 280
    assert row["actual_orders"] == 210 and row["expected_orders"] == 140
    assert row["extra_orders"] == 70
    assert row["lift"] == pytest.approx(0.5)
    # s² = max(residual 0, Poisson floor 10/day); Var = s² (14 days + Σ_w 2²/4 over 7 weekdays) = 10 · 21
    half = lift.Z95 * math.sqrt(10 * 21)
    assert row["extra_orders_low"] == pytest.approx(70 - half)
    assert row["lift_high"] == pytest.approx((70 + half) / 140)
    assert row["extra_net_revenue"] == pytest.approx(7000)
    half_r = lift.Z95 * math.sqrt(10 * 100 ** 2 * 21)
    assert row["extra_net_revenue_high"] == pytest.approx(7000 + half_r)
    assert row["marketing_spend"] == pytest.approx(1000)
    assert row["incremental_roi"] == pytest.approx(6.0)   # (7000 − 1000) / 1000
    assert row["incremental_roi_low"] == pytest.approx((7000 - half_r - 1000) / 1000)
    assert not row["is_thin"]
    assert row["verdict_short"] == "lift"
    assert row["verdict"].startswith("Real lift") and "+50%" in row["verdict"] and "70 extra orders" in row["verdict"]


def test_store_filter_outside_the_campaign_leaves_no_stores(known_lift):
    df = lift.campaign_lift(known_lift, Filters(cities=("Shanghai",)))
    row = df.set_index("campaign_id").loc["K"]
    assert row["stores"] == 0 and row["verdict_short"] == "no data"


def test_date_filter_does_not_move_the_baseline(known_lift):
    narrowed = Filters(start=CAMPAIGN_START, end=CAMPAIGN_START + dt.timedelta(days=3))
    assert lift.campaign_lift(known_lift, narrowed).iloc[0]["lift"] == pytest.approx(0.5)


def test_weekday_mix_is_adjusted(tmp_path):
    """Weekends carry 20 orders, weekdays 10. A 10-day campaign starting on a Wednesday has four
    weekend days of ten; with ×1.5 everywhere the weekday-adjusted lift is still exactly +50%."""
    start = dt.date(2026, 3, 4)  # Wednesday
    base = lambda d: 20 if d.isoweekday() >= 6 else 10  # noqa: E731
    path = build_tiny(tmp_path / "wd.duckdb", _tables(
        start - dt.timedelta(days=28), lambda d: int(base(d) * (1.5 if d >= start else 1)),
        campaign_start=start, campaign_days=10))
    con = duckdb.connect(str(path), read_only=True)
    row = lift.campaign_lift(con, Filters()).iloc[0]
    # campaign days: Wed..Fri (3×10), Sat, Sun (2×20), Mon..Fri (5×10) = 80 + 40 = 120 expected
    assert row["expected_orders"] == pytest.approx(120)
    assert row["actual_orders"] == 180
    assert row["lift"] == pytest.approx(0.5)
    con.close()


def test_thin_baseline_says_too_thin(tmp_path):
    """Data starts five days before the campaign: too few baseline days to judge."""
    path = build_tiny(tmp_path / "thin.duckdb", _tables(
        CAMPAIGN_START - dt.timedelta(days=5), lambda d: 15 if d >= CAMPAIGN_START else 10))
    con = duckdb.connect(str(path), read_only=True)
    row = lift.campaign_lift(con, Filters()).iloc[0]
    assert row["baseline_days"] == 5 and row["is_thin"]
    assert row["verdict_short"] == "too thin"
    assert row["verdict"].startswith("Baseline too thin to judge")
    con.close()


def test_tiny_campaign_is_too_thin(tiny_con):
    row = lift.campaign_lift(tiny_con, Filters()).set_index("campaign_id").loc["K1"]
    # the tiny data starts 2026-10-20: 13 baseline days before 2026-11-02, one order (O6)
    assert row["baseline_days"] == 13 and row["baseline_orders"] == 1
    assert row["verdict_short"] == "too thin"


def test_other_campaigns_are_kept_out_of_the_baseline(tmp_path):
    tables = _tables(CAMPAIGN_START - dt.timedelta(days=28), lambda d: 15 if d >= CAMPAIGN_START else 10)
    # an earlier campaign on the same store in the first baseline week: those 7 days are dropped
    early_end = CAMPAIGN_START - dt.timedelta(days=22)
    tables["campaigns"].append(("E", "Early", "coupon", "app", str(CAMPAIGN_START - dt.timedelta(days=28)),
                                str(early_end), 100, 0.1))
    first = tables["orders"][0]
    tables["orders"][0] = (*first[:6], "E", *first[7:])
    con = duckdb.connect(str(build_tiny(tmp_path / "busy.duckdb", tables)), read_only=True)
    row = lift.campaign_lift(con, Filters()).set_index("campaign_id").loc["K"]
    assert row["baseline_days"] == 21 and row["expected_orders"] == 140
    con.close()


# The lift inputs as first written, on rollup_store_day / rollup_costs: the reference the
# campaign tables (rollup_campaign_store, rollup_store_day_totals, rollup_campaign_costs) must
# reproduce.
_FACT_CTES = {
    ("cstores AS (", "cal AS ("): """cstores AS (
    SELECT DISTINCT campaign_id, store_id FROM rollup_store_day
    WHERE campaign_id IS NOT NULL AND {where} AND campaign_id IN (SELECT campaign_id FROM camp)
),
busy AS (
    SELECT DISTINCT r.store_id, k.campaign_id, k.start_date, k.end_date
    FROM (SELECT DISTINCT campaign_id, store_id FROM rollup_store_day WHERE campaign_id IS NOT NULL) r
    JOIN campaigns k USING (campaign_id)
),
""",
    ("sd AS (", "daily AS ("): """sd AS (
    SELECT store_id, date, sum(count_orders) AS n_orders,
           sum(coalesce(paid_amount, 0) - coalesce(refund_amount, 0) + coalesce(extra_spend, 0)) AS net_revenue
    FROM rollup_store_day WHERE {where} AND store_id IN (SELECT store_id FROM cstores) GROUP BY ALL
),
""",
}


def _fact_lift_inputs(con, filters: Filters):
    sql = lift._LIFT_SQL
    for (begin, end), cte in _FACT_CTES.items():
        sql = sql[:sql.index(begin)] + cte + sql[sql.index(end):]
    sql = sql.replace("FROM rollup_campaign_costs", "FROM rollup_costs")
    assert "rollup_campaign" not in sql and "rollup_store_day_totals" not in sql
    flt = lift.lift_filters(filters)
    first, last = con.execute("SELECT min(date), max(date) FROM rollup_store_day").fetchone()
    params = {**flt.params("rollup"), "first": first, "last": last, "base_min": lift.BASELINE_MIN_DAYS}
    return con.execute(sql.format(where=flt.where_sql("rollup"), ids_clause=""), params).df()


def test_lift_inputs_equal_the_fact_table_answer(ro_con):
    city, category = ro_con.execute("SELECT city, category FROM order_facts WHERE campaign_id IS NOT NULL "
                                    "GROUP BY ALL ORDER BY count(*) DESC LIMIT 1").fetchone()
    for filters in (Filters(), Filters(cities=(city,), categories=(category,))):
        want = _fact_lift_inputs(ro_con, filters)
        got = lift.lift_inputs(ro_con, filters)
        assert len(want) > 0 and want["stores"].sum() > 0
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_exact=False, rtol=1e-9)
