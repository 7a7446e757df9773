"""Comparisons (o2o_ops.comparisons): the periods chosen, by hand, and the numbers they give on a
hand-made two-year fixture, and year-over-year on the two-year demo.

Fixture: S1 takes 2 orders a day in 2025 and 3 a day in 2026, S2 1 a day throughout; the first
three days of Spring Festival (2025-01-29..31, 2026-02-17..19) triple both stores' orders."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from o2o_ops import comparisons, db
from o2o_ops.filters import Filters
from tests.apptest_util import open_link, open_page, texts
from test_lift import _build

FIRST, LAST = dt.date(2025, 1, 6), dt.date(2026, 3, 29)        # Monday 2025-W02 .. Sunday 2026-W13
FESTIVAL = {dt.date(2025, 1, 29) + dt.timedelta(days=i) for i in range(3)} | \
           {dt.date(2026, 2, 17) + dt.timedelta(days=i) for i in range(3)}
D = dt.date


def daily(store: str, day: dt.date) -> int:
    base = (2 if day.year == 2025 else 3) if store == "S1" else 1
    return base * (3 if day in FESTIVAL else 1)


@pytest.fixture(scope="module")
def two_years(tmp_path_factory):
    path = tmp_path_factory.mktemp("yoy") / "yoy.duckdb"
    orders, customers, n = [], [], 0
    day = FIRST
    while day <= LAST:
        for store in ("S1", "S2"):
            for _ in range(daily(store, day)):
                n += 1
                customers.append((f"C{n}", "2025-01-01", "Hangzhou", None, None))
                orders.append((f"O{n:05d}", f"C{n}", store, f"{day} 12:00", 50, 50, None, "app", 0, 0, "paid",
                               None, f"T{n}"))
        day += dt.timedelta(days=1)
    return _build(path, {
        "stores": [(s, f"Store {s}", "restaurant", "Hangzhou", 30.2, 120.1, None, "East", None, None, None, None)
                   for s in ("S1", "S2")],
        "customers": customers, "orders": orders,
    })


@pytest.fixture
def con(two_years):
    c = db.connect(two_years)
    yield c
    c.close()


@pytest.mark.parametrize("mode, start, end, previous", [
    ("previous", D(2026, 3, 2), D(2026, 3, 15), (D(2026, 2, 16), D(2026, 3, 1))),
    ("previous", D(2026, 2, 1), D(2026, 2, 28), (D(2026, 1, 1), D(2026, 1, 31))),      # whole months
    ("previous", D(2026, 1, 1), D(2026, 2, 28), (D(2025, 11, 1), D(2025, 12, 31))),
    ("yoy", D(2026, 3, 2), D(2026, 3, 8), (D(2025, 3, 3), D(2025, 3, 9))),             # 2026-W10 -> 2025-W10
    ("yoy", D(2027, 1, 1), D(2027, 1, 3), (D(2025, 12, 26), D(2025, 12, 28))),         # Fri of 2026-W53 -> 2025-W52
    ("holiday", D(2026, 2, 16), D(2026, 2, 22), (D(2025, 1, 28), D(2025, 2, 3))),     # Spring Festival
    ("holiday", D(2026, 10, 1), D(2026, 10, 7), (D(2025, 10, 1), D(2025, 10, 7))),    # National Day
    ("holiday", D(2026, 3, 2), D(2026, 3, 8), (D(2025, 3, 3), D(2025, 3, 9))),        # none: as yoy
])
def test_periods_by_hand(mode, start, end, previous):
    cmp = comparisons.compare(mode, start, end, country="CN")
    assert cmp.current == (start, end) and cmp.previous == previous


def test_period_to_date():
    cmp = comparisons.compare("ptd", D(2026, 2, 10), D(2026, 3, 22))
    assert cmp.current == (D(2026, 3, 1), D(2026, 3, 22)) and cmp.previous == (D(2026, 2, 1), D(2026, 2, 22))
    cmp = comparisons.compare("ptd", D(2026, 3, 1), D(2026, 3, 31))      # February is shorter: cut at its end
    assert cmp.previous == (D(2026, 2, 1), D(2026, 2, 28))
    cmp = comparisons.compare("ptd", D(2026, 3, 1), D(2026, 3, 11), grain="week")   # Wednesday of 2026-W11
    assert cmp.current == (D(2026, 3, 9), D(2026, 3, 11)) and cmp.previous == (D(2026, 3, 2), D(2026, 3, 4))


def test_holiday_words_and_other_countries():
    cmp = comparisons.compare("holiday", D(2026, 2, 16), D(2026, 2, 22), country="CN")
    assert "Spring Festival" in cmp.note and "17 Feb 2026" in cmp.note and "29 Jan 2025" in cmp.note
    us = comparisons.compare("holiday", D(2026, 11, 23), D(2026, 11, 29), country="US")   # Thanksgiving
    assert us.previous == (D(2025, 11, 24), D(2025, 11, 30)) and "Thanksgiving" in us.note
    with pytest.raises(comparisons.UnknownCountry, match="O2O_HOLIDAY_COUNTRY=XX"):
        comparisons.compare("holiday", D(2026, 2, 16), D(2026, 2, 22), country="XX")


@pytest.mark.parametrize("raw, mode, warned", [
    (None, "previous", False), ("yoy", "yoy", False), ("YOY'--", "previous", True), ("", "previous", False)])
def test_link_values(raw, mode, warned):
    got, notice = comparisons.parse_mode(raw)
    assert got == mode and (notice is not None) == warned


def test_year_over_year_numbers_on_two_years(con):
    cmp, now, before = comparisons.period_values(con, Filters(), "yoy", D(2026, 3, 2), D(2026, 3, 8), ("orders",))
    assert cmp.previous == (D(2025, 3, 3), D(2025, 3, 9))
    assert now["orders"] == 7 * (3 + 1) and before["orders"] == 7 * (2 + 1)
    _, now, before = comparisons.period_values(con, Filters(stores=("S1",)), "yoy", D(2026, 3, 2), D(2026, 3, 8),
                                               ("orders",))
    assert (now["orders"], before["orders"]) == (21, 14)


def test_holiday_aligned_numbers_on_two_years(con):
    # 2026-02-16..22 holds the festival's three days; so does 2025-01-28..02-03, the ISO week a year
    # before (2025-02-17..23) does not.
    _, now, aligned = comparisons.period_values(con, Filters(), "holiday", D(2026, 2, 16), D(2026, 2, 22), ("orders",),
                                                country="CN")
    _, _, iso = comparisons.period_values(con, Filters(), "yoy", D(2026, 2, 16), D(2026, 2, 22), ("orders",))
    assert now["orders"] == 4 * 4 + 3 * 12               # 4 plain days of 3+1, 3 festival days of 9+3
    assert aligned["orders"] == 4 * 3 + 3 * 9            # 4 plain days of 2+1, 3 festival days of 6+3
    assert iso["orders"] == 7 * 3


def test_comparison_before_the_data_is_missing_not_zero(con):
    _, now, before = comparisons.period_values(con, Filters(), "yoy", D(2025, 3, 3), D(2025, 3, 9), ("orders",))
    assert now["orders"] == 21 and pd.isna(before["orders"])


def test_weekly_overlay_lands_on_this_years_weeks(con):
    flt = Filters(start=D(2026, 3, 2), end=D(2026, 3, 15))
    overlay = comparisons.weekly_overlay(con, flt, ("orders",), "yoy")
    assert overlay["week_start"].dt.date.tolist() == [D(2026, 3, 2), D(2026, 3, 9)]
    assert overlay["orders"].tolist() == [21, 21]
    festival = comparisons.weekly_overlay(con, Filters(start=D(2026, 2, 16), end=D(2026, 2, 22)), ("orders",),
                                          "holiday", country="CN")
    # 2025's festival week (Mon 27 Jan, 3 festival days of 9 plus 2 plain days... of 3) lands on 16 Feb 2026
    assert D(2026, 2, 16) in festival["week_start"].dt.date.tolist()
    assert comparisons.weekly_overlay(con, flt, ("orders",), "ptd").empty


def test_page_compares_with_last_year_from_the_link(two_years):
    at = open_page("pages/efficiency.py", two_years, query={"from": "2026-03-02", "to": "2026-03-08", "compare": "yoy"})
    assert not at.exception
    assert at.selectbox(key="flt_compare").value == "yoy"
    shown = texts(at)
    assert "2026-03-02 → 2026-03-08 against 2025-03-03 → 2025-03-09 (the same ISO weeks and weekdays last year)" in shown
    paid = [m for m in at.metric if m.label == "Paid orders"][0]
    assert paid.value == "28" and paid.delta == "+7"
    assert at.query_params["compare"] in ("yoy", ["yoy"])


def test_page_refuses_an_unknown_comparison_in_words(two_years):
    at = open_link("pages/quality.py", two_years, query={"compare": "<script>"})
    assert not at.exception
    assert "is not a comparison o2o-ops knows" in texts(at)
    assert at.selectbox(key="flt_compare").value == "previous"


def test_overview_compares_the_week_with_the_same_iso_week_last_year(two_years):
    at = open_page("pages/overview.py", two_years, query={"week": "2026-W10", "compare": "yoy"})
    assert not at.exception
    orders = [m for m in at.metric if m.label == "Orders"][0]
    assert orders.value == "28" and orders.delta == "+7"
    assert "against 2025-03-03 → 2025-03-09" in texts(at)


def test_an_unknown_holiday_country_is_said_in_words(two_years, monkeypatch):
    monkeypatch.setenv("O2O_HOLIDAY_COUNTRY", "XX")
    at = open_page("pages/quality.py", two_years, query={"from": "2026-02-16", "to": "2026-02-22", "compare": "holiday"})
    assert not at.exception
    assert any("O2O_HOLIDAY_COUNTRY=XX is not a country the holiday calendar knows" in e.value for e in at.error)


def test_overview_of_the_demo_shows_the_same_iso_week_of_2025(demo_warehouse):
    """The demo spans two years: ``?compare=yoy`` on the overview compares 2026-W10 with 2025-W10,
    and both numbers are the orders placed in those ISO weeks, counted straight from the facts."""
    import duckdb

    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        now, before = (con.execute("SELECT count(*) FROM orders WHERE strftime(ordered_at, '%G-W%V') = $w",
                                   {"w": week}).fetchone()[0] for week in ("2026-W10", "2025-W10"))
    finally:
        con.close()
    assert before > 0 and now > 0
    at = open_page("pages/overview.py", demo_warehouse, query={"week": "2026-W10", "compare": "yoy"})
    assert not at.exception
    orders = [m for m in at.metric if m.label == "Orders"][0]
    assert orders.value == f"{now:,}" and orders.delta == f"{now - before:+,}"
    assert "2026-03-02 → 2026-03-08 against 2025-03-03 → 2025-03-09" in texts(at)


def test_a_break_holds_its_weekend_days():
    """The holidays package lists China's weekdays off (National Day 2026: 1-3 and 5-7 October;
    Spring Festival: 16-20 and 23 February); the official breaks are 1-7 October (Sunday 20
    September and Saturday 10 October worked) and 15-23 February (Saturdays 14 and 28 February
    worked). A break's weekend days are holidays; a worked weekend day is not."""
    national_day = comparisons.holiday_days(D(2026, 9, 28), D(2026, 10, 11), country="CN")
    assert national_day == {D(2026, 10, d) for d in range(1, 8)}
    spring_festival = comparisons.holiday_days(D(2026, 2, 9), D(2026, 3, 1), country="CN")
    assert spring_festival == {D(2026, 2, d) for d in range(15, 24)}
    assert D(2026, 9, 20) not in comparisons.holiday_days(D(2026, 9, 19), D(2026, 9, 21), country="CN")
    # a calendar without swapped working days keeps its days: Columbus Day 2026 (Monday 12 Oct), no
    # long weekend added
    assert comparisons.holiday_days(D(2026, 10, 9), D(2026, 10, 13), country="US") == {D(2026, 10, 12)}
