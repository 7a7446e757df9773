"""The weekly redemptions-by-hour rollup (rollup_week_store_hour): it is rollup_store_hour summed
to ISO weeks, and capacity by hour, by store and the capacity utilisation KPI read it for whole
weeks with the same answers as from the daily rows.

Tiny (tests/tiny.py): the redemptions of O1 and O2 (S1, Tue 2026-11-03) fall in week 2026-W45; the
rollup's rows are the daily rows of each week, summed."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from o2o_ops import analysis, db, metrics
from o2o_ops.filters import Filters
from tiny import build_tiny

WEEKLY_FROM_DAILY = """
SELECT CAST(date_trunc('week', date) AS DATE) AS date, hour, store_id, city, district, region, category,
       sum(count_redemptions) AS count_redemptions, sum(count_waits) AS count_waits,
       sum(count_sla_met) AS count_sla_met
FROM rollup_store_hour GROUP BY ALL ORDER BY date, hour, store_id"""


@pytest.fixture(scope="module")
def tiny_con(tmp_path_factory):
    path = build_tiny(tmp_path_factory.mktemp("hours") / "tiny.duckdb")
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def _weekly(con):
    return con.execute("SELECT * FROM rollup_week_store_hour ORDER BY date, hour, store_id").df()


def test_the_weekly_rollup_is_the_daily_one_summed_by_week(tiny_con):
    weekly, expected = _weekly(tiny_con), tiny_con.execute(WEEKLY_FROM_DAILY).df()
    pd.testing.assert_frame_equal(weekly, expected, check_dtype=False)
    assert (pd.to_datetime(weekly["date"]).dt.day_of_week == 0).all()   # Mondays
    daily = tiny_con.execute("SELECT sum(count_redemptions) FROM rollup_store_hour").fetchone()[0]
    assert weekly["count_redemptions"].sum() == daily > 0


def test_whole_weeks_pick_the_weekly_rollup():
    assert metrics.hour_rollup(Filters()) == "rollup_week_store_hour"
    assert metrics.hour_rollup(Filters(start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 15))) == "rollup_week_store_hour"
    assert metrics.hour_rollup(Filters(start=dt.date(2026, 11, 3))) == "rollup_store_hour"     # a Tuesday
    assert metrics.hour_rollup(Filters(end=dt.date(2026, 11, 14))) == "rollup_store_hour"      # a Saturday


@pytest.mark.parametrize("flt", [Filters(), Filters(cities=("Shanghai",)),
                                 Filters(start=dt.date(2026, 9, 7), end=dt.date(2026, 11, 1))])
def test_capacity_views_equal_from_daily_and_weekly_rows(demo_warehouse, monkeypatch, flt):
    con = db.connect(demo_warehouse, read_only=True)
    try:
        _weekly_equals_daily(con)
        assert metrics.hour_rollup(flt) == "rollup_week_store_hour"
        reads = {"by_hour": lambda: analysis.capacity_by_hour(con, flt),
                 "by_store": lambda: analysis.capacity_by_store(con, flt),
                 **{f"kpi_{g}": (lambda g=g: metrics.compute(con, flt, g, ["capacity_utilisation"]))
                    for g in ("total", "week", "store", "city")}}
        weekly = {k: read() for k, read in reads.items()}
        monkeypatch.setattr(metrics, "hour_rollup", lambda filters: "rollup_store_hour")
        for key, read in reads.items():
            pd.testing.assert_frame_equal(weekly[key], read(), obj=key)
        assert weekly["by_hour"]["count_redemptions"].sum() > 0
    finally:
        con.close()


def _weekly_equals_daily(con):
    weekly, expected = _weekly(con), con.execute(WEEKLY_FROM_DAILY).df()
    pd.testing.assert_frame_equal(weekly, expected, check_dtype=False)
