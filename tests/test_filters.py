"""Filters -> SQL fragment and parameters; hostile values stay data."""

from __future__ import annotations

import datetime as dt

import pytest

from o2o_ops.filters import Filters


@pytest.mark.parametrize("filters, target, sql, params", [
    (Filters(), "rollup", "TRUE", {}),
    (Filters(start=dt.date(2026, 1, 5)), "rollup", "date >= $f_start", {"f_start": dt.date(2026, 1, 5)}),
    (Filters(end=dt.date(2026, 2, 1)), "facts", "order_date <= $f_end", {"f_end": dt.date(2026, 2, 1)}),
    (Filters(cities=("Shanghai", "Beijing")), "rollup", "list_contains($f_cities, city)",
     {"f_cities": ["Beijing", "Shanghai"]}),
    (Filters(channels=("app",)), "hours", "TRUE", {}),                 # no channel on capacity tables
    (Filters(channels=("app",), categories=("hotel",)), "rollup",
     "list_contains($f_categories, category) AND list_contains($f_channels, channel)",
     {"f_categories": ["hotel"], "f_channels": ["app"]}),
    (Filters(stores=("S1",), scope_stores=("S1", "S2")), "stores",
     "list_contains($f_stores, store_id) AND (list_contains($f_scope_stores, store_id))",
     {"f_stores": ["S1"], "f_scope_stores": ["S1", "S2"]}),
])
def test_where_sql_and_params(filters, target, sql, params):
    assert filters.where_sql(target) == sql
    assert filters.params(target) == params


def test_alias_prefixes_columns():
    assert Filters(cities=("X",)).where_sql("rollup", alias="r") == "list_contains($f_cities, r.city)"


def test_hostile_values_never_reach_sql_text():
    evil = "x'); DROP TABLE orders; --"
    f = Filters(cities=(evil,), campaigns=('"; SELECT 1',))
    assert evil not in f.where_sql() and "SELECT 1" not in f.where_sql()
    assert f.params()["f_cities"] == [evil]


def test_describe_and_slug():
    f = Filters(start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 28), cities=("Hangzhou",), categories=("hotel",))
    assert f.describe() == "Hangzhou · hotel · 2026-10-01 → 2026-10-28"
    assert f.slug() == "Hangzhou_hotel_2026-10-01_2026-10-28"
    assert Filters().describe() == "All data"
    assert Filters(stores=tuple(f"S{i}" for i in range(5))).describe() == "5 stores"


def test_values_are_normalised_so_equal_filters_hash_equal():
    assert Filters(cities=["B", "A", "A"]) == Filters(cities=("A", "B"))
    assert hash(Filters(cities=["B", "A"])) == hash(Filters(cities=("A", "B")))
    assert Filters(cities="Shanghai").cities == ("Shanghai",)


def test_backwards_dates_are_refused():
    with pytest.raises(ValueError, match="after the end"):
        Filters(start=dt.date(2026, 2, 1), end=dt.date(2026, 1, 1))


def test_describe_states_the_scope():
    assert Filters(cities=("Hangzhou",), scope_stores=("S1",)).describe() == "Hangzhou · within S1"
    assert Filters(scope_regions=("East",), scope_stores=()).describe() == "within region East"
    assert Filters(scope_stores=tuple(f"S{i}" for i in range(5))).describe() == "within 5 stores or regions"


def test_scope_can_only_narrow():
    f = Filters(scope_regions=("East",))
    assert "list_contains($f_scope_regions, region)" in f.where_sql("rollup")
    widened = f.replace(cities=("Beijing",))
    assert "f_scope_regions" in widened.params()
