"""The load ahead's vouchers not sold yet (o2o_ops.forecast._weekday_level, _from_new_sales),
computed with arrays, against values worked out by hand and against a straightforward reference:
the loops the forecast used before (one dictionary look-up per store, horizon day and sale day).

Fixture (no warehouse): the cut is Sunday 2026-10-11, so the level's 4 weeks are 2026-09-14 ..
10-11 and the horizon runs Monday 10-12 (day 0) .. Sunday 10-25 (day 13). China's holidays in
those weeks include Mid-Autumn (Friday 09-25) and National Day (10-01 .. 10-07), so 3 of the 4
Mondays (10-05 left out), 3 Wednesdays (10-07 left out) and 2 Fridays (09-25, 10-02 left out)
are ordinary. Restaurants redeem on the day of the sale with p(0) = ½ and the next day with
p(1) = ¼; hotels have no delays measured; bookings are kept with a share of ½.

- S1, a restaurant: unbooked sales of 3 and 6 on two ordinary Mondays (level 9 / 3 = 3) and 30
  on Monday 10-05, 50 on Tuesday 10-06 (holidays: left out); on Wednesdays, bookings 0 days
  ahead (3, and 3 booked for the day before the sale, counted as 0 days: level 6 / 3 = 2), 2
  days ahead (6: level 2), 13 days ahead (9: level 3) and 20 days ahead (12: level 4).
  So from the Mondays (days 0 and 7): 3 × ½ on the day, 3 × ¼ the next; from the Wednesdays
  (days 2 and 9): 2 × ½ on the day and 2 × ½ two days later; a Wednesday's sale booked 13 or
  20 days ahead lands after the horizon (day 15 at the earliest).
- S2, a hotel (no delays measured): unbooked sales on a Monday (level 2) come to nothing; 4
  sold on Friday 10-09 booked a day ahead (level 4 / 2 = 2): 2 × ½ on the Saturdays (5, 12).
- S3, a restaurant without sales: nothing. S9 is not among the stores (a filter left it out).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from o2o_ops import comparisons, forecast

CUT = dt.date(2026, 10, 11)
KEPT = 0.5
P = {"restaurant": np.array([0.5, 0.25] + [0.0] * (forecast.MAX_DELAY_DAYS - 1))}
STORES = pd.DataFrame({"store_id": ["S1", "S2", "S3"], "category": ["restaurant", "hotel", "restaurant"]})
LEVEL = pd.DataFrame.from_records([
    ("S1", "2026-09-14", None, 3), ("S1", "2026-09-28", None, 6), ("S1", "2026-10-05", None, 30),
    ("S1", "2026-10-06", None, 50),
    ("S1", "2026-09-16", 0, 3), ("S1", "2026-09-16", -1, 3), ("S1", "2026-09-30", 2, 6),
    ("S1", "2026-09-23", 13, 9), ("S1", "2026-09-23", 20, 12),
    ("S2", "2026-09-21", None, 6), ("S2", "2026-10-09", 1, 4),
    ("S9", "2026-09-14", None, 100),
], columns=["store_id", "order_date", "lead_days", "count_orders"]).astype({"lead_days": "Float64"})
LEVEL["order_date"] = pd.to_datetime(LEVEL["order_date"]).dt.date


@pytest.fixture(autouse=True)
def china(monkeypatch):
    monkeypatch.setenv("O2O_HOLIDAY_COUNTRY", "CN")
    holidays = comparisons.holiday_days(CUT - dt.timedelta(days=27), CUT)
    # the fixture's assumptions: these days are holidays, these are not
    assert {dt.date(2026, 9, 25), dt.date(2026, 10, 2), dt.date(2026, 10, 5), dt.date(2026, 10, 6),
            dt.date(2026, 10, 7)} <= holidays
    assert not {dt.date(2026, 9, d) for d in (14, 16, 18, 21, 23, 28, 30)} & holidays
    assert dt.date(2026, 10, 9) not in holidays


# --- the reference: the loops the forecast used before 2026-12-03 ---------------------------

def _reference_weekday_level(level: pd.DataFrame, cut: dt.date, by: tuple[str, ...] = ()) -> dict[tuple, float]:
    first = cut - dt.timedelta(days=7 * forecast.LEVEL_WEEKS - 1)
    window = [first + dt.timedelta(days=i) for i in range(7 * forecast.LEVEL_WEEKS)]
    holidays = comparisons.holiday_days(first, cut)
    ordinary = [d for d in window if d not in holidays]
    days_per_weekday = {w: sum(1 for d in ordinary if d.isoweekday() == w) for w in range(1, 8)}
    level = level.assign(order_date=pd.to_datetime(level["order_date"]).dt.date)
    level = level[~level["order_date"].isin(holidays)]
    level = level.assign(weekday=[d.isoweekday() for d in level["order_date"]])
    sums = level.groupby(["store_id", "weekday", *by])["count_orders"].sum()
    return {(s, int(w), *(int(v) for v in rest)): n / days_per_weekday[w]
            for (s, w, *rest), n in sums.items() if days_per_weekday[w]}


def _reference_new_sales(level: pd.DataFrame, stores: pd.DataFrame, p: dict, cut: dt.date, kept: float) -> np.ndarray:
    days = [cut + dt.timedelta(days=i + 1) for i in range(forecast.HORIZON_DAYS)]
    unbooked = level[level["lead_days"].isna()]
    booked = level[level["lead_days"].notna()]
    per_weekday = _reference_weekday_level(unbooked, cut)
    per_lead = _reference_weekday_level(booked.assign(lead_days=booked["lead_days"].astype(int).clip(lower=0)),
                                        cut, by=("lead_days",))
    out = np.zeros((len(stores), len(days)))
    for k, (store_id, category) in enumerate(zip(stores["store_id"], stores["category"])):
        dist = p.get(category)
        for j, d in enumerate(days):
            for order_day in days[: j + 1]:
                weekday, lead = order_day.isoweekday(), (d - order_day).days
                if dist is not None:
                    out[k, j] += per_weekday.get((store_id, weekday), 0.0) * dist[lead]
                out[k, j] += per_lead.get((store_id, weekday, lead), 0.0) * kept
    return out


def _new_sales(level: pd.DataFrame, stores: pd.DataFrame, p: dict, cut: dt.date, kept: float) -> np.ndarray:
    """forecast._from_new_sales with the delays laid out as _daily lays them out."""
    no_delays = np.zeros(forecast.MAX_DELAY_DAYS + 1)
    delays = np.array([p.get(c, no_delays) for c in stores["category"]]).reshape(len(stores), forecast.MAX_DELAY_DAYS + 1)
    return forecast._from_new_sales(level, pd.Index(stores["store_id"]), delays, cut, kept)


# --- by hand ----------------------------------------------------------------------------------

def test_weekday_levels_by_hand():
    unbooked = LEVEL[LEVEL["lead_days"].isna()]
    assert forecast._weekday_level(unbooked, CUT).to_dict() == {("S1", 1): 3.0, ("S2", 1): 2.0, ("S9", 1): 100 / 3}
    booked = LEVEL[LEVEL["lead_days"].notna()]
    booked = booked.assign(lead_days=booked["lead_days"].astype(int).clip(lower=0))
    assert forecast._weekday_level(booked, CUT, by=("lead_days",)).to_dict() == {
        ("S1", 3, 0): 2.0, ("S1", 3, 2): 2.0, ("S1", 3, 13): 3.0, ("S1", 3, 20): 4.0, ("S2", 5, 1): 2.0}


def test_new_sales_by_hand():
    got = _new_sales(LEVEL, STORES, P, CUT, KEPT)
    assert got[0].tolist() == pytest.approx([1.5, 0.75, 1.0, 0, 1.0, 0, 0, 1.5, 0.75, 1.0, 0, 1.0, 0, 0])
    assert got[1].tolist() == pytest.approx([0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 0, 0, 1.0, 0])
    assert got[2].tolist() == [0.0] * forecast.HORIZON_DAYS
    np.testing.assert_allclose(got, _reference_new_sales(LEVEL, STORES, P, CUT, KEPT), rtol=1e-12, atol=0)


def test_no_stores_or_no_sales():
    assert _new_sales(LEVEL, STORES.iloc[0:0], P, CUT, KEPT).shape == (0, forecast.HORIZON_DAYS)
    assert not _new_sales(LEVEL.iloc[0:0], STORES, P, CUT, KEPT).any()
    assert not _new_sales(LEVEL, STORES, {}, CUT, 0.0).any()       # no delays measured, no booking kept


# --- against the reference, on random sales ---------------------------------------------------

@pytest.mark.parametrize("cut", [CUT, dt.date(2026, 6, 14), dt.date(2026, 6, 17)], ids=str)
@pytest.mark.parametrize("seed", [1, 2])
def test_new_sales_equal_the_reference(cut, seed):
    """Random sales of 12 stores over the level's weeks (a week before and after them too), a
    quarter unbooked, the rest booked -2..25 days ahead; categories with and without delays; a
    cut with holidays in its weeks (CUT), a Sunday without (06-14) and a Wednesday (06-17)."""
    rng = np.random.default_rng(seed)
    rows = 400
    level = pd.DataFrame({
        "store_id": rng.choice([f"S{i}" for i in range(14)], rows),
        "order_date": [cut - dt.timedelta(days=int(d)) for d in rng.integers(-3, 7 * forecast.LEVEL_WEEKS + 7, rows)],
        "lead_days": pd.array(np.where(rng.random(rows) < 0.25, np.nan, rng.integers(-2, 26, rows)), dtype="Float64"),
        "count_orders": rng.integers(1, 20, rows),
    }).drop_duplicates(["store_id", "order_date", "lead_days"])
    stores = pd.DataFrame({"store_id": [f"S{i}" for i in range(12)],
                           "category": rng.choice(["restaurant", "hotel", "spa"], 12)})
    p = {"restaurant": rng.dirichlet(np.ones(forecast.MAX_DELAY_DAYS + 2))[:-1],
         "spa": rng.dirichlet(np.ones(forecast.MAX_DELAY_DAYS + 2))[:-1]}
    got = _new_sales(level, stores, p, cut, 0.8)
    np.testing.assert_allclose(got, _reference_new_sales(level, stores, p, cut, 0.8), rtol=1e-12, atol=1e-15)
    assert got.sum() > 0
    for by in ((), ("lead_days",)):
        part = level[level["lead_days"].notna()] if by else level[level["lead_days"].isna()]
        if by:
            part = part.assign(lead_days=part["lead_days"].astype(int).clip(lower=0))
        assert forecast._weekday_level(part, cut, by).to_dict() == pytest.approx(_reference_weekday_level(part, cut, by))


# --- a break's weekend days are left out of the level ------------------------------------------

@pytest.mark.parametrize("cut, days", [
    # National Day 2026 (1-7 Oct) and Mid-Autumn (25-27 Sep): Sundays 09-13 and 09-20 ordinary
    # (09-20 a worked Sunday), 09-27 and 10-04 in a break
    (dt.date(2026, 10, 10), {"2026-09-13": 10, "2026-09-20": 10, "2026-09-27": 30, "2026-10-04": 30}),
    # Spring Festival 2026 (15-23 Feb): Sundays 02-01 and 02-08 ordinary, 02-15 and 02-22 in the break
    (dt.date(2026, 2, 28), {"2026-02-01": 10, "2026-02-08": 10, "2026-02-15": 30, "2026-02-22": 30}),
], ids=["national_day", "spring_festival"])
def test_a_holiday_sunday_is_not_an_ordinary_sunday(cut, days):
    """10 orders on each ordinary Sunday, 30 on each Sunday of a break: the Sunday level is
    20 / 2 = 10 (counting the break's Sundays as ordinary, as before: 80 / 4 = 20)."""
    level = pd.DataFrame({"store_id": "S1", "order_date": [dt.date.fromisoformat(d) for d in days],
                          "count_orders": list(days.values())})
    assert forecast._weekday_level(level, cut).to_dict() == {("S1", 7): 10.0}
