"""The load ahead (o2o_ops.forecast) on a fixture computed by hand, the map layer, the command,
and the page.

Fixture: one restaurant S1 (capacity 0.1 an hour: 1.2 a day over 12 open hours) and a quiet S2
without a capacity. From CUT − 160 days to CUT, S1 sells two vouchers a day: A at 10:00, redeemed
the same day at 12:00 (delay 0), B at 11:00, redeemed the next day at 12:00 (delay 1); so the
category's delay is p(0) = p(1) = ½, and every weekday's level is 2 orders. At the cut, CUT's B
(campaign K) is the only open voucher: of age 0, it redeems on CUT + 1 with P(delay = 1 | delay
> 0) = ½ / ½ = 1. A voucher refunded before the cut and one past its validity are not open.

Expected redemptions: day 1 = 1 (the book) + 2 × p(0) = 2; days 2..14 = 2 × p(0) + 2 × p(1) = 2.
Every 7-day window: 14 against 7 × 1.2 = 8.4 → 167 % of capacity: at risk. All redemptions at
12:00 → the busiest hour is 12:00 with 2 / 0.1 = 2000 %."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest

from o2o_ops import forecast, maps
from o2o_ops.filters import Filters
from tests.apptest_util import open_page, texts
from test_lift import _build

CUT = dt.date(2026, 6, 14)             # a Sunday; no public holiday in the 4 weeks before it
FIRST = CUT - dt.timedelta(days=160)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("ahead") / "ahead.duckdb"
    orders, redemptions, customers = [], [], [("C1", "2025-01-01", "Hangzhou", None, None)]
    day = FIRST
    while day <= CUT:
        valid = f"{day + dt.timedelta(days=30)} 23:59"
        orders.append((f"A{day}", "C1", "S1", f"{day} 10:00", 50, 50, None, "app", 0, 0, "paid", valid, None))
        redemptions.append((f"A{day}", f"{day} 12:00", 5, 30, 0))
        campaign = "K" if day == CUT else None
        orders.append((f"B{day}", "C1", "S1", f"{day} 11:00", 50, 50, campaign, "app", 0, 0, "paid", valid, None))
        if day < CUT:
            redemptions.append((f"B{day}", f"{day + dt.timedelta(days=1)} 12:00", 5, 30, 0))
        day += dt.timedelta(days=1)
    # not open at the cut (and outside the weeks the level and the delays are read from): refunded
    # the day before it; expired before it; and S2's quiet order
    orders.append(("R1", "C1", "S1", f"{CUT - dt.timedelta(days=40)} 09:00", 50, 50, None, "app", 0, 0, "refunded",
                   f"{CUT + dt.timedelta(days=20)} 23:59", None))
    orders.append(("E1", "C1", "S1", f"{CUT - dt.timedelta(days=50)} 09:00", 50, 50, None, "app", 0, 0, "expired",
                   f"{CUT - dt.timedelta(days=2)} 23:59", None))
    orders.append(("Q1", "C1", "S2", f"{CUT} 09:00", 50, 50, None, "app", 0, 0, "paid", None, None))
    return _build(path, {
        "stores": [("S1", "Lake Noodles", "restaurant", "Hangzhou", 30.2, 120.1, None, "East", None, 0.1, None, None),
                   ("S2", "Quiet Bar", "restaurant", "Hangzhou", 30.3, 120.2, None, "East", None, None, None, None)],
        "campaigns": [("K", "June deal", "coupon", "app", str(CUT - dt.timedelta(days=5)), str(CUT + dt.timedelta(days=5)),
                       100, 0.1)],
        "customers": customers, "orders": orders, "redemptions": redemptions,
        "refunds": [("R1", f"{CUT - dt.timedelta(days=1)} 09:00", 50, "changed mind")],
    })


@pytest.fixture
def con(warehouse):
    c = duckdb.connect(str(warehouse), read_only=True)
    yield c
    c.close()


def test_delay_distribution_by_hand(con):
    p = forecast.delay_distribution(con, CUT).set_index("delay_days")["share"]
    assert p.to_dict() == {0: pytest.approx(0.5), 1: pytest.approx(0.5)}


def test_daily_forecast_by_hand(con):
    days = forecast.daily_forecast(con, Filters(), CUT)
    s1 = days[days["store_id"] == "S1"].reset_index(drop=True)
    assert len(s1) == forecast.HORIZON_DAYS and s1["day"].iloc[0].date() == CUT + dt.timedelta(days=1)
    assert s1["from_book"].tolist() == pytest.approx([1.0] + [0.0] * 13)
    assert s1["from_new_sales"].tolist() == pytest.approx([1.0] + [2.0] * 13)
    assert s1["expected"].tolist() == pytest.approx([2.0] * 14)


def test_risk_and_campaigns_by_hand(con):
    ahead = forecast.load_ahead(con, Filters(), CUT)
    stores = ahead["stores"]
    assert stores["store_id"].tolist() == ["S1"]          # S2 has no capacity: nothing to compare with
    s1 = stores.iloc[0]
    assert s1["capacity_per_day"] == pytest.approx(1.2)
    assert s1["peak_window_utilisation"] == pytest.approx(14 / 8.4)
    assert bool(s1["at_risk"]) and s1["expected_14d"] == pytest.approx(28.0)
    assert (s1["peak_hour"], s1["peak_hour_utilisation"]) == (12, pytest.approx(20.0))
    assert ahead["campaigns"].to_dict("records") == [{"campaign_id": "K", "open_vouchers": 1, "stores_at_risk": 1}]


def test_a_cut_with_more_capacity_is_not_at_risk(con):
    # the same forecast against the store's capacity: the window utilisation scales with 1 / capacity
    ahead = forecast.load_ahead(con, Filters(stores=("S2",)), CUT)
    assert ahead["stores"].empty and ahead["campaigns"].empty


def test_evaluate_against_what_happened(con):
    # cut 14 days before the end: the horizon is all known; each day had 2 redemptions (A and the
    # day before's B), the forecast says 2 a day -> no error
    result = forecast.evaluate(con, CUT - dt.timedelta(days=14))
    assert result["wape_store_days_outside_spike"] == pytest.approx(0.0, abs=1e-9)
    assert result["stores_flagged"] == 1 and result["over_capacity_stores_flagged"] == 1


def test_sales_booked_ahead_are_projected_by_lead_time():
    """The weekday level of the sales still to come, split by the days they were booked ahead
    (lead): 4 weeks to the Sunday CUT; Monday 8 June sold 3 vouchers booked 2 days ahead and 12
    booked 20 days ahead (a presale), Tuesday 9 June 2 booked for the same day: per Monday 3 / 4
    at lead 2 and 12 / 4 at lead 20, per Tuesday 2 / 4 at lead 0."""
    level = pd.DataFrame({"store_id": ["S1"] * 3, "order_date": [dt.date(2026, 6, 8)] * 2 + [dt.date(2026, 6, 9)],
                          "lead_days": [2, 20, 0], "count_orders": [3, 12, 2]})
    assert forecast._weekday_level(level, CUT, by=("lead_days",)).to_dict() == {
        ("S1", 1, 2): 0.75, ("S1", 1, 20): 3.0, ("S1", 2, 0): 0.5}
    # a sale booked 20 days ahead lands after the 14-day horizon: it adds nothing to it; one
    # booked 2 days ahead, on Mondays from CUT + 1, lands on the Wednesdays (CUT + 3, CUT + 10)


@pytest.fixture(scope="module")
def booked_warehouse(tmp_path_factory):
    """S1 sells one voucher a day booked for the next day (12:00), redeemed then; three days
    before the cut (a Thursday) it also sells 10 vouchers booked for CUT + 10, a presale, open
    at the cut. Two bookings were missed: M1 (sold CUT − 35 for CUT − 9, never redeemed, still
    valid: open at the cut) and M2 (sold CUT − 50 for CUT − 45, redeemed late on CUT − 30). In
    the delays' window (CUT − 151 .. CUT − 61) S1 also sells one voucher a day without a booking,
    redeemed 40 days later."""
    path = tmp_path_factory.mktemp("booked") / "booked.duckdb"
    orders, redemptions = [], []
    day = FIRST
    while day <= CUT:
        slot = f"{day + dt.timedelta(days=1)} 12:00"
        orders.append((f"B{day}", "C1", "S1", f"{day} 11:00", 50, 50, None, "app", 0, 0, "paid",
                       f"{day + dt.timedelta(days=30)} 23:59", None, slot))
        if day < CUT:
            redemptions.append((f"B{day}", slot, 5, 30, 0))
        if CUT - dt.timedelta(days=151) <= day <= CUT - dt.timedelta(days=61):
            orders.append((f"U{day}", "C1", "S1", f"{day} 10:00", 50, 50, None, "app", 0, 0, "paid",
                           f"{day + dt.timedelta(days=50)} 23:59", None, None))
            redemptions.append((f"U{day}", f"{day + dt.timedelta(days=40)} 12:00", 5, 30, 0))
        day += dt.timedelta(days=1)
    for name, sold, slot in (("M1", 35, 9), ("M2", 50, 45)):
        orders.append((name, "C1", "S1", f"{CUT - dt.timedelta(days=sold)} 10:00", 50, 50, None, "app", 0, 0, "paid",
                       f"{CUT + dt.timedelta(days=30)} 23:59", None, f"{CUT - dt.timedelta(days=slot)} 12:00"))
    redemptions.append(("M2", f"{CUT - dt.timedelta(days=30)} 12:00", 5, 30, 0))
    presale = CUT - dt.timedelta(days=3)
    orders += [(f"P{i}", "C1", "S1", f"{presale} 10:00", 50, 50, None, "app", 0, 0, "paid",
                f"{CUT + dt.timedelta(days=30)} 23:59", None, f"{CUT + dt.timedelta(days=10)} 18:00")
               for i in range(10)]
    return _build(path, {
        "stores": [("S1", "Lake Noodles", "restaurant", "Hangzhou", 30.2, 120.1, None, "East", None, 1.0, None, None)],
        "customers": [("C1", "2025-01-01", "Hangzhou", None, None)], "orders": orders, "redemptions": redemptions})


def test_a_presale_is_not_counted_twice(booked_warehouse):
    """By hand. Bookings for CUT − 92 .. CUT − 2: 91 of the daily ones, all kept, and M1, M2
    missed: kept 91 / 93; of the 2 missed, 1 came later: late rate ½. Delays (without a
    booking): p(1) = p(40) = ½. The book: CUT's voucher on CUT + 1 and the 10 presold on CUT + 10,
    each × 91 / 93; M1, missed, of age 35: as an open voucher of that age it would come on
    CUT + 5 (delay 40: p(40) / P(delay > 35) = 1), as a missed booking at the late rate: ½.
    Sales still to come: 1 a day booked a day ahead, so 0 on CUT + 1 and 91 / 93 on every later
    day. The presale, sold 13 days ahead of its slot, is in the last 4 weeks' sales, but a sale
    after the cut booked 13 days ahead lands after the horizon: nothing of it is projected again
    (at the Thursday level it would add 10 / 4 on CUT + 5 and CUT + 12)."""
    con = duckdb.connect(str(booked_warehouse), read_only=True)
    try:
        assert forecast.show_rate(con, CUT) == pytest.approx(91 / 93)
        assert forecast.late_rate(con, CUT) == pytest.approx(0.5)
        days = forecast.daily_forecast(con, Filters(), CUT)
    finally:
        con.close()
    kept = 91 / 93
    assert days["from_book"].tolist() == pytest.approx([kept] + [0.0] * 3 + [0.5] + [0.0] * 4 + [10 * kept] + [0.0] * 4)
    assert days["from_new_sales"].tolist() == pytest.approx([0.0] + [kept] * 13)


def test_load_ahead_layer_zero_one_two():
    stores = pd.DataFrame({"store_id": ["S1", "S2"], "store_name": ["A", "B"], "store_city": ["X", "X"],
                           "store_category": ["restaurant", "hotel"], "lat": [30.0, 30.1], "lon": [120.0, 120.1],
                           "orders": [10, 20], "symmetry_index": [50.0, 60.0], "on_attention": [False, False]})
    assert len(maps.load_ahead_layer(stores, []).data) == 0
    assert [r["store_id"] for r in maps.load_ahead_layer(stores, ["S2"]).data] == ["S2"]
    layer = maps.load_ahead_layer(stores, ["S1", "S2"])
    assert layer.id == maps.LOAD_AHEAD_LAYER and len(layer.data) == 2
    assert len(maps.load_ahead_layer(stores.iloc[0:0], ["S1"]).data) == 0


def test_command(warehouse):
    done = subprocess.run([sys.executable, "-m", "o2o_ops", "forecast", "--warehouse", str(warehouse),
                           "--cut", str(CUT)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1 of 1 stores at risk" in done.stdout and "campaign K: 1 open vouchers" in done.stdout
    for bad, message in (("2026-02-30", "--cut must be a date"), ("2020-01-01", "is before the data"),
                         ("2030-01-01", "is after the data (its last order is on")):
        done = subprocess.run([sys.executable, "-m", "o2o_ops", "forecast", "--warehouse", str(warehouse),
                               "--cut", bad], capture_output=True, text=True, timeout=300)
        assert done.returncode == 2 and message in done.stdout and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "o2o_ops", "forecast", "--warehouse", str(warehouse)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "O2O_HOLIDAY_COUNTRY": "XX"})
    assert done.returncode == 2 and "O2O_HOLIDAY_COUNTRY=XX" in done.stdout and "Traceback" not in done.stderr


def test_efficiency_page_shows_the_load_ahead(warehouse):
    at = open_page("pages/efficiency.py", warehouse)
    assert not at.exception
    shown = texts(at)
    assert "The load ahead: next 14 days" in shown and "1 of 1 stores at risk" in shown
    assert "Campaigns with open vouchers at stores at risk" in shown


def test_map_rings_the_store_at_risk(warehouse):
    at = open_page("pages/map.py", warehouse)
    assert not at.exception
    assert "1 forecast over capacity in the next 14 days (orange ring)" in texts(at)


# --- on the demo: the planted spikes, the data cut a week before each -------------------------

@pytest.fixture(scope="module")
def demo_checked(demo_warehouse):
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        return forecast.evaluate_demo(con)
    finally:
        con.close()


def test_demo_spikes_are_seen_a_week_ahead(demo_checked):
    """The demo sells each spike's extra demand 21..8 days before its Monday, booked for its week:
    cut on the Sunday 8 days before, the forecast flags the spike city's stores for that week and
    few other stores. Measured on this demo (60,000 orders, seed 7, 2026-12-02, sales still to come
    projected by booking lead time, missed bookings at the late rate): recall 7 of 7, 5 of 5 and
    10 of 10 stores, 7, 4 and 10 of them for the spike's week; false alarms 3.0 %, 0 % and 3.3 % of
    the other stores (1 of 33, 0 of 35, 1 of 30), every one of which did go over capacity in those
    14 days (a campaign's lift). Bounds with a margin: recall at least 80 %, false alarms at most
    20 %, at most one store flagged per cut that did not go over capacity."""
    assert [r["spike"] for r in demo_checked] == ["Hangzhou from 2026-06-29", "Chengdu from 2026-08-31",
                                                  "Shanghai from 2026-10-26"]
    for r in demo_checked:
        assert r["spike_city_stores"] > 0
        assert r["recall"] >= 0.8, r
        assert r["spike_stores_flagged_for_the_spike_week"] >= 0.8 * r["spike_city_stores"], r
        assert r["false_alarm_share"] <= 0.2, r
        assert r["flagged_not_over_capacity"] <= 1, r


def test_demo_forecast_error_is_measured(demo_checked):
    """Forecast error of each store's 14-day redemptions against what came. Measured on this demo:
    WAPE 9.1 / 10.5 / 10.5 % (off by 3.4 / 3.3 / 3.6 of 37 / 32 / 34 redemptions a store on
    average), bias outside the spike +1.3 / −3.9 / +7.7 %, the spike's redemptions forecast at
    86 / 98 / 94 %. At the spike city's stores in the week before the spike the forecast is off by
    −6.1 / −8.7 / +0.4 % (+18.6 / +21.1 / +28.3 % when the sales still to come were projected at
    the last 4 weeks' level, which holds the vouchers sold ahead, already in the book: issue #15).
    Bounds with a margin: WAPE at most 25 %, bias within 25 %, the spike forecast 70-150 %, the
    bias before the spike within 20 %."""
    for r in demo_checked:
        assert r["wape_store_14d_totals"] <= 0.25, r
        assert abs(r["bias_outside_spike"]) <= 0.25, r
        assert 0.7 <= r["spike_redemptions_forecast_share"] <= 1.5, r
        assert abs(r["bias_before_spike"]) <= 0.2, r
        assert r["mae_store_14d_totals"] == pytest.approx(r["wape_store_14d_totals"] * r["mean_store_14d_redemptions"])


# --- the build's tables (issues #13/#15): the default cut read, not computed, per view ---------

def _same(stored: pd.DataFrame, live: pd.DataFrame) -> None:
    """Same columns, rows in the same order, equal values (doubles to 1e-9: a voucher group's
    share summed in another order differs in its last bits)."""
    assert list(stored.columns) == list(live.columns)
    assert len(stored) == len(live)
    for column in live.columns:
        a, b = stored[column].reset_index(drop=True), live[column].reset_index(drop=True)
        if pd.api.types.is_float_dtype(b):
            assert pd.api.types.is_float_dtype(a), column
            assert ((a - b).abs() <= 1e-9 * b.abs().clip(lower=1) + 0).where(b.notna(), a.isna()).all(), column
        else:
            assert a.dtype == b.dtype, (column, a.dtype, b.dtype)
            assert a.isna().tolist() == b.isna().tolist(), column
            assert a[b.notna()].tolist() == b[b.notna()].tolist(), column


def test_first_peak_takes_the_earliest_of_near_ties():
    """Per row, the first position at the row's highest, values within a billionth of it counting
    as equal (the stored and the live forecast sum in other orders); -1 for a row of NaN."""
    near = 3.0 * (1 - 1e-12)
    values = np.array([[1.0, 3.0, near, 2.0],       # the highest first
                       [1.0, near, 3.0, np.nan],    # a near tie before the highest: the near tie
                       [np.nan] * 4,                # no value
                       [0.0] * 4,                   # nothing expected: the first
                       [1.0, 2.0 * (1 - 1e-8), 2.0, 1.0]])   # a hundred-millionth lower is lower
    assert forecast._first_peak(values).tolist() == [1, 1, -1, 0, 2]
    assert forecast._first_peak(np.zeros((0, 4))).tolist() == []

def test_the_stored_load_ahead_equals_the_live_one(ro_con, monkeypatch):
    stores = ro_con.execute("SELECT store_id, city, category, region FROM stores ORDER BY store_id").df()
    cut = forecast.default_cut(ro_con)
    assert ro_con.execute("SELECT cut FROM forecast_meta").fetchone()[0] == cut
    some = tuple(stores["store_id"].iloc[::7])
    region = stores["region"].dropna().iloc[0]
    cases = [Filters(), Filters(cities=("Hangzhou",)), Filters(categories=("restaurant", "hotel")),
             Filters(regions=(region,)), Filters(stores=some),
             Filters(scope_stores=some[:3], scope_regions=(region,)), Filters(scope_stores=()),
             Filters(cities=("Chengdu",), channels=("app",), campaign_kinds=("coupon",)),
             Filters(start=cut - dt.timedelta(days=30), end=cut, campaigns=("no such campaign",))]
    results = {}
    for flt in cases:
        live = forecast.load_ahead(ro_con, flt, stored=False)
        results[flt] = stored = forecast.load_ahead(ro_con, flt)
        assert stored["cut"] == live["cut"] == cut
        for part in ("days", "stores", "campaigns"):
            _same(stored[part], live[part])
        _same(forecast.store_risk(ro_con, flt), live["stores"])
    everything = results[Filters()]
    # the cases cover a store at risk (no campaign has open vouchers at it at this cut: the hand
    # fixture's test below has one), and the store filters choose among the stores
    assert everything["stores"]["at_risk"].any()
    assert len(everything["days"]) == len(everything["stores"]) * forecast.HORIZON_DAYS
    hangzhou = set(stores.loc[stores["city"] == "Hangzhou", "store_id"])
    assert set(results[Filters(cities=("Hangzhou",))]["stores"]["store_id"]) == hangzhou & set(everything["stores"]["store_id"])
    assert results[Filters(scope_stores=())]["stores"].empty
    # the default cut is read, not computed: no forecast query runs
    monkeypatch.setattr(forecast, "_live", lambda *a: pytest.fail("computed live"))
    assert len(forecast.load_ahead(ro_con, Filters(cities=("Hangzhou",)))["stores"]) == len(
        results[Filters(cities=("Hangzhou",))]["stores"])


def test_another_cut_or_other_settings_are_computed_live(ro_con, monkeypatch):
    cut = forecast.default_cut(ro_con) - dt.timedelta(days=10)
    _same(forecast.load_ahead(ro_con, Filters(), cut)["stores"], forecast.load_ahead(ro_con, Filters(), cut, stored=False)["stores"])
    stored = forecast.load_ahead(ro_con, Filters())["stores"].set_index("store_id")
    # half the open hours: a store without opening hours has half the capacity, so twice the load
    monkeypatch.setenv("O2O_OPEN_HOURS_PER_DAY", "6")
    halved = forecast.load_ahead(ro_con, Filters())["stores"].set_index("store_id")
    plain = ro_con.execute("SELECT store_id FROM stores WHERE store_id NOT IN (SELECT store_id FROM store_hours)").df()
    for store_id in set(plain["store_id"]) & set(stored.index):
        assert halved.at[store_id, "capacity_per_day"] == pytest.approx(stored.at[store_id, "capacity_per_day"] / 2)
    assert len(set(plain["store_id"]) & set(stored.index)) > 0


def test_the_stored_campaigns_at_risk_equal_the_live_ones(con):
    # the hand fixture's data end at CUT: its tables hold S1 at risk with campaign K's open voucher
    stored = forecast.load_ahead(con, Filters())
    assert stored["cut"] == CUT and con.execute("SELECT count(*) FROM forecast_campaigns").fetchone()[0] == 1
    assert stored["campaigns"].to_dict("records") == [{"campaign_id": "K", "open_vouchers": 1, "stores_at_risk": 1}]
    for flt in (Filters(), Filters(stores=("S1",)), Filters(stores=("S2",)), Filters(campaigns=("K",))):
        live = forecast.load_ahead(con, flt, CUT, stored=False)
        for part in ("days", "stores", "campaigns"):
            _same(forecast.load_ahead(con, flt)[part], live[part])
