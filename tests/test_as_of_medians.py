"""The as-of median read straight from order_facts (the moment's test in the median's FILTER,
metrics._as_of_medians) gives what the as-of rows give (every column replaced per row), on the
tiny warehouse at every moment its orders change: before, between and after their redemptions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from o2o_ops import db, metrics
from o2o_ops.filters import Filters
from tests.tiny import build_tiny

WINDOW = Filters(start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 8))
MOMENTS = ["2026-11-02 11:00", "2026-11-03 09:00", "2026-11-03 12:00", "2026-11-03 20:00", "2026-11-04 10:00",
           "2026-11-06 00:00", "2026-11-20 00:00"]


@pytest.fixture(scope="module")
def tiny_con(tmp_path_factory):
    con = db.connect(build_tiny(tmp_path_factory.mktemp("as-of-medians") / "tiny.duckdb"))
    yield con
    con.close()


@pytest.mark.parametrize("grain", ["total", "store", "day"])
def test_the_as_of_median_from_order_facts_equals_the_as_of_rows(tiny_con, grain, monkeypatch):
    def medians(fast: bool) -> list:
        if not fast:
            monkeypatch.setattr(metrics, "_as_of_medians", lambda kpis, filters: None)
        out = []
        for moment in MOMENTS:
            df = metrics.compute(tiny_con, WINDOW, grain, ["orders", "time_to_redeem_hours"],
                                 as_of=dt.datetime.fromisoformat(moment), honest=False)
            out.append(df)
        monkeypatch.undo()
        return out

    fast, rows = medians(True), medians(False)
    for got, expected in zip(fast, rows):
        pd.testing.assert_frame_equal(got, expected)
    assert pd.concat(fast)["time_to_redeem_hours"].notna().sum() >= 5   # moments with redemptions in


def test_the_fast_path_is_taken_for_the_time_to_redeem():
    kpis = [metrics.KPIS["time_to_redeem_hours"]]
    selects, rows = metrics._as_of_medians(kpis, WINDOW)
    assert "CASE" not in selects and "redeemed_at <= $as_of_cutoff" in selects
    assert rows.startswith("(SELECT * FROM order_facts")
