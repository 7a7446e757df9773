"""The load ahead's days summed over the stores (forecast.load_ahead(..., by_store=False), what
the efficiency page's chart draws): the per-store days summed per day, read from the build's
table or computed live, on the demo warehouse; and by hand on an empty selection."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from o2o_ops import forecast
from o2o_ops.filters import Filters

CASES = [Filters(), Filters(cities=("Hangzhou",)), Filters(categories=("restaurant", "hotel")),
         Filters(cities=("Chengdu",), channels=("app",), campaign_kinds=("coupon",)), Filters(scope_stores=())]


def _summed(days: pd.DataFrame) -> pd.DataFrame:
    return (days.groupby("day", as_index=False)[forecast.DAY_TOTAL_COLUMNS[1:]].sum()
            .sort_values("day").reset_index(drop=True))


@pytest.mark.parametrize("flt", CASES, ids=lambda f: f.describe())
def test_the_days_summed_are_the_store_days_summed(ro_con, flt):
    per_store = forecast.load_ahead(ro_con, flt)
    for stored in (True, False):
        by_day = forecast.load_ahead(ro_con, flt, stored=stored, by_store=False)
        assert list(by_day["days"].columns) == forecast.DAY_TOTAL_COLUMNS
        expected = _summed(per_store["days"])
        assert len(by_day["days"]) == len(expected)
        if len(expected):
            assert by_day["days"]["day"].tolist() == expected["day"].tolist()
            for column in forecast.DAY_TOTAL_COLUMNS[1:]:
                assert by_day["days"][column].to_numpy() == pytest.approx(expected[column].to_numpy(), rel=1e-12)
        # the stores and campaigns are the same either way
        pd.testing.assert_frame_equal(by_day["stores"], per_store["stores"])
        pd.testing.assert_frame_equal(by_day["campaigns"], per_store["campaigns"])


def test_a_full_horizon_of_days(ro_con):
    days = forecast.load_ahead(ro_con, Filters(), by_store=False)["days"]
    assert len(days) == forecast.HORIZON_DAYS
    assert (days["day"].diff().dropna() == pd.Timedelta(days=1)).all()
    assert forecast.load_ahead(ro_con, Filters(scope_stores=()), by_store=False)["days"].empty
