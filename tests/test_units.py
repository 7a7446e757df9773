"""One formatter per unit; every kind of missing value reads as "—"."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from o2o_ops import metrics, units

MISSING_VALUES = [None, float("nan"), np.nan, pd.NA, pd.NaT, float("inf"), float("-inf"), np.float64("nan")]


@pytest.mark.parametrize("value", MISSING_VALUES, ids=repr)
def test_missing_values_are_missing(value):
    assert units.is_missing(value)


@pytest.mark.parametrize("value", [0, 0.0, -1.5, 3, np.int64(2), "text", "", False, pd.Timestamp("2026-01-05")], ids=repr)
def test_present_values_are_not_missing(value):
    assert not units.is_missing(value)


@pytest.mark.parametrize("unit", list(units.UNITS))
@pytest.mark.parametrize("value", MISSING_VALUES, ids=repr)
def test_every_unit_shows_missing_as_a_dash(unit, value):
    assert units.format_value(value, unit, "CNY") == "—"
    assert units.format_change(value, unit, "CNY") == "—"


@pytest.mark.parametrize("value", MISSING_VALUES, ids=repr)
def test_shares_and_relative_changes_never_read_nan(value):
    assert units.format_relative(value) == "—"    # was "+nan%"
    assert units.format_share(value) == "—"
    assert units.format_number(value) == "—"


@pytest.mark.parametrize("value, unit, text", [
    (0.031, "percent", "+3.1 pp"), (-1200, "currency", "-¥1,200"), (0.25, "stars", "+0.25 ★"),
    (12, "count", "+12"), (-2.5, "minutes", "-2.5 min"), (1.5, "score", "+1.5"), (0.1, "ratio", "+10.0 pp"),
])
def test_changes_in_their_unit(value, unit, text):
    assert units.format_change(value, unit, "CNY") == text


def test_relative_and_share():
    assert units.format_relative(0.031) == "+3.1%" and units.format_relative(-0.2) == "-20.0%"
    assert units.format_share(0.42) == "42%"


def test_metrics_formats_are_the_units_formats():
    for kpi in metrics.KPI_LIST:
        assert kpi.format(1.25) == units.format_value(1.25, kpi.unit)
        assert metrics.format_change(kpi.name, 0.5) == units.format_change(0.5, kpi.unit)
        assert kpi.format(math.inf) == "—"


def test_every_unit_has_an_axis_and_a_column_format():
    for name, unit in units.UNITS.items():
        assert units.axis_format(name) == unit.axis != ""
        assert units.column_format(name, "CNY")
    # named formats, which group thousands in the table (¥221,499, 1,225)
    assert units.column_format("currency", "CNY") == "yen"
    assert units.column_format("currency", "USD") == "dollar"
    assert units.column_format("currency", "GBP") == "localized"
    assert units.column_format("count") == "localized"
    assert units.format_tick(1_250_000, "currency") == "1.2M" and units.format_tick(0.42, "percent") == "42%"
