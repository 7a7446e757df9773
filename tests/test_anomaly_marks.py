"""Anomaly flags drawn on the weekly charts and listed with their reason: the chart builders on
hand-made frames, and the pages on the anomaly fixture (S1 alone triples its orders in 2026-W16;
every store doubles in the holiday week 2026-W13, which is not unusual)."""

from __future__ import annotations

import pandas as pd
import pytest

from o2o_ops import anomalies
from o2o_ops.charts import ANOMALY_LABEL, kpi_line
from o2o_ops.charts import overview as overview_charts
from o2o_ops.charts import quality as quality_charts
from tests.apptest_util import open_page, texts
from tests.test_anomalies import fixture_con  # noqa: F401 (the fixture)

REASON = "S1 in 2026-W16: 210 orders, 3.0× the 70 expected for this store"


def _flags(rows):
    return pd.DataFrame([{"store_id": s, "city": "Hangzhou", "category": "restaurant", "iso_week": w,
                          "week_start": pd.Timestamp(d), "kpi": k, "label": k, "value": v, "expected": e,
                          "z": z, "direction": "high" if v > e else "low", "reason": f"{s} {w} <b>odd</b>"}
                         for s, w, d, k, v, e, z in rows], columns=anomalies.FLAG_COLUMNS)


def test_week_marks_count_and_order_reasons():
    flagged = _flags([("S1", "2026-W16", "2026-04-13", "orders", 210, 70, 9.2),
                      ("S2", "2026-W16", "2026-04-13", "orders", 10, 40, -12.0),
                      ("S2", "2026-W17", "2026-04-20", "avg_rating", 2.0, 4.5, -5.0),
                      ("S3", "2026-W17", "2026-04-20", "avg_wait_minutes", 40, 10, 6.0)])
    marks = anomalies.week_marks(flagged, "orders")
    assert marks["iso_week"].tolist() == ["2026-W16"]
    row = marks.iloc[0]
    assert (row["count_flags"], row["count_high"], row["count_low"]) == (2, 1, 1)
    # the most unusual first; data is escaped for plotly's HTML hover
    assert row["hover"] == "S2 2026-W16 &lt;b&gt;odd&lt;/b&gt;<br>S1 2026-W16 &lt;b&gt;odd&lt;/b&gt;"
    assert anomalies.week_marks(flagged, "avg_rating")["iso_week"].tolist() == ["2026-W17"]
    assert anomalies.week_marks(flagged, "revenue").empty      # waits are listed, not drawn
    assert anomalies.for_page(flagged, ("avg_wait_minutes",))["store_id"].tolist() == ["S3"]


def test_more_flags_than_the_hover_holds():
    flagged = _flags([(f"S{i}", "2026-W16", "2026-04-13", "orders", 100 + i, 50, 4 + i) for i in range(5)])
    hover = anomalies.week_marks(flagged, "orders").iloc[0]["hover"].split("<br>")
    assert hover[0].startswith("S4 ") and hover[-1] == "… and 2 more unusual store-weeks" and len(hover) == 4


def _rings(fig):
    return [t for t in fig.data if t.name == ANOMALY_LABEL]


def test_rings_sit_on_the_charts_own_points():
    weekly = pd.DataFrame({"week_start": pd.to_datetime(["2026-04-06", "2026-04-13", "2026-04-20"]),
                           "iso_week": ["2026-W15", "2026-W16", "2026-W17"],
                           "orders": [140.0, 280.0, 140.0], "avg_rating": [4.5, 4.4, 3.0],
                           "positive_share": [0.9, 0.9, 0.5]})
    flagged = _flags([("S1", "2026-W16", "2026-04-13", "orders", 210, 70, 9.2),
                      ("S2", "2026-W17", "2026-04-20", "avg_rating", 2.0, 4.5, -5.0)])
    (ring,) = _rings(kpi_line(weekly, "week_start", "orders", marks=anomalies.week_marks(flagged, "orders")))
    assert list(ring.y) == [280.0] and pd.Timestamp(ring.x[0]) == pd.Timestamp("2026-04-13")
    assert ring.customdata[0][0] == 1
    (ring,) = _rings(quality_charts.rating_trend(weekly, marks=anomalies.week_marks(flagged, "avg_rating")))
    assert list(ring.y) == [3.0]
    grid = overview_charts.trend_grid(weekly, ("orders", "avg_rating"),
                                      marks={n: anomalies.week_marks(flagged, n) for n in ("orders", "avg_rating")})
    assert sorted((list(r.x), list(r.y)) for r in _rings(grid)) == [(["W16"], [280.0]), (["W17"], [3.0])]
    # no flag, no flagged week in the chart, or no marks at all: no rings
    assert not _rings(kpi_line(weekly, "week_start", "orders"))
    assert not _rings(kpi_line(weekly.head(1), "week_start", "orders", marks=anomalies.week_marks(flagged, "orders")))
    assert not _rings(kpi_line(weekly, "week_start", "orders", marks=anomalies.week_marks(flagged.head(0), "orders")))


@pytest.fixture(scope="module")
def spike_warehouse(fixture_con):  # noqa: F811
    return fixture_con.execute("PRAGMA database_list").fetchall()[0][2]


def test_efficiency_page_circles_and_lists_the_spike(spike_warehouse):
    at = open_page("pages/efficiency.py", spike_warehouse)
    assert not at.exception
    shown = texts(at)
    assert "Unusual store-weeks" in shown and REASON in shown
    # the holiday week every store shared is not listed
    assert "2026-W13" not in shown


def test_overview_lists_the_spike_and_a_city_filter_without_it_lists_nothing(spike_warehouse):
    at = open_page("pages/overview.py", spike_warehouse, query={"week": "2026-W19"})
    assert not at.exception
    assert REASON in texts(at)
    at = open_page("pages/overview.py", spike_warehouse, query={"week": "2026-W19", "store": "S2"})
    assert not at.exception
    shown = texts(at)
    assert REASON not in shown and "No store-week in this scope is unusual for its store." in shown
    # ... of those judged: orders alone; the others say why they were not (only orders imported)
    assert [c.value.replace("\\", "") for c in at.caption if c.value.startswith("Not judged")] == [
        "Not judged: average wait (no wait times imported); average rating (no reviews imported); "
        "refund rate (no refunds imported)."]


def test_quality_page_lists_no_orders_spike(spike_warehouse):
    at = open_page("pages/quality.py", spike_warehouse)
    assert not at.exception
    shown = texts(at)
    assert "Unusual store-weeks" in shown and REASON not in shown
    # it watches the waits, ratings and refunds, none of them imported: no all-clear
    assert "No store-week in this scope is unusual for its store." not in shown
    assert ("No store-week in this scope could be judged: average wait (no wait times imported); average rating "
            "(no reviews imported); refund rate (no refunds imported).") in [i.value.replace("\\", "") for i in at.info]
