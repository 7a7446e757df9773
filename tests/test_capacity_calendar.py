"""The capacity calendar's shortcuts (metrics.capacity_calendar_cte) by hand on the tiny warehouse
with opening hours: weeks cut by the filter's dates, weekday counts for the period's total.

S1 (capacity 2 an hour): Mon–Fri 11:00–15:00 (4 h), Saturday 18:00–02:00 (8 h), closed on
Sunday. S2 (capacity 1 an hour) has no opening hours: 12 hours every day. O1 and O2 are redeemed
at S1 on Tuesday 3 November 2026 (12:00 and 20:00)."""

from __future__ import annotations

import datetime as dt

import pytest

from o2o_ops import analysis, metrics
from o2o_ops.filters import Filters
# the tiny warehouse with S1's opening hours, a connection per module (the fixture of the contract tests)
from tests.test_contract_extensions import hours_con  # noqa: F401


def test_a_week_cut_by_the_dates_counts_only_its_days(hours_con):
    # Tuesday 3 → Saturday 7 November: S1 is open 4 + 4 + 4 + 4 + 8 = 24 h (48 redemptions),
    # both redemptions fall in it; S2 5 x 12 = 60 h
    tue_sat = Filters(start=dt.date(2026, 11, 3), end=dt.date(2026, 11, 7))
    stores = analysis.capacity_by_store(hours_con, tue_sat).set_index("store_id")
    assert stores.loc["S1", "peak_week_utilisation"] == pytest.approx(2 / 48)
    assert stores.loc["S1", "capacity_utilisation"] == pytest.approx(2 / 48)
    assert stores.loc["S2", "capacity_utilisation"] == 0


def test_two_cut_weeks_each_take_their_own_days(hours_con):
    # Sunday 1 → Wednesday 4 November: the week of 26 October holds only its Sunday (S1 closed:
    # no capacity, no redemption), the week of 2 November Monday to Wednesday (S1: 12 h = 24)
    params: dict = {}
    sun_wed = Filters(start=dt.date(2026, 11, 1), end=dt.date(2026, 11, 4))
    cte = metrics.capacity_calendar_cte(sun_wed, "store", params, by_store_week=True, name="week_cap")
    rows = hours_con.execute(f"WITH {cte} SELECT store_id, week_start, capacity_hours FROM week_cap "
                             "ORDER BY store_id, week_start", params).fetchall()
    assert rows == [("S1", dt.date(2026, 10, 26), 0), ("S1", dt.date(2026, 11, 2), 24),
                    ("S2", dt.date(2026, 10, 26), 12), ("S2", dt.date(2026, 11, 2), 36)]
    stores = analysis.capacity_by_store(hours_con, sun_wed).set_index("store_id")
    assert stores.loc["S1", "peak_week_utilisation"] == pytest.approx(2 / 24)


def test_the_period_total_counts_each_weekday(hours_con):
    # Monday 2 → Sunday 15 November, two whole weeks: S1 2 x 2 x 28 = 112, S2 14 x 12 = 168
    two_weeks = Filters(start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 15))
    total = metrics.compute(hours_con, two_weeks, "total", ["capacity_utilisation"])
    assert total["capacity_utilisation"].iloc[0] == pytest.approx(2 / (112 + 168))
