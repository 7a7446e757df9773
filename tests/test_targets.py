"""Targets (o2o_ops.targets, contract table ``targets``): goals and attainment computed by hand on
the tiny warehouse, the import's checks in words, the editor's save (all or nothing, only for
writers), and the pages showing attainment and goal lines."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from o2o_ops import db, ingest, targets, weekly
from o2o_ops.charts import GOAL_LABEL, kpi_line
from o2o_ops.filters import Filters
from tests.apptest_util import open_page, texts
from tests.tiny import build_tiny

NOV, OCT = dt.date(2026, 11, 1), dt.date(2026, 10, 1)
ROWS = pd.DataFrame([
    ("orders", "business", None, NOV, 30.0),        # 30 in November: 1 a day
    ("orders", "business", None, OCT, 62.0),        # 62 in October: 2 a day
    ("refund_rate", "business", None, NOV, 0.2),
    ("refund_rate", "business", None, OCT, 0.5),
    ("avg_rating", "store", "S1", NOV, 4.0),
    ("revenue", "region", "East", NOV, 3000.0),
], columns=targets.COLUMNS)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = build_tiny(tmp_path_factory.mktemp("targets") / "tiny.duckdb")
    assert targets.save(ROWS, allowed=True, warehouse=path) == 6
    return path


@pytest.fixture
def con(warehouse):
    c = db.connect(warehouse)
    yield c
    c.close()


def test_goals_by_hand(con):
    tg = targets.load(con, targets.Scope("business"))
    assert targets.goal(tg, "orders", dt.date(2026, 11, 2), dt.date(2026, 11, 8)) == pytest.approx(7.0)
    # 2026-W44: Mon 26 Oct .. Sun 1 Nov = 6 October days at 2 + 1 November day at 1
    assert targets.goal(tg, "orders", dt.date(2026, 10, 26), dt.date(2026, 11, 1)) == pytest.approx(13.0)
    # a rate: the day-weighted mean (6 × 0.5 + 1 × 0.2) / 7
    assert targets.goal(tg, "refund_rate", dt.date(2026, 10, 26), dt.date(2026, 11, 1)) == pytest.approx(3.2 / 7)
    # a day in a month without a target: no goal at all
    assert targets.goal(tg, "orders", dt.date(2026, 11, 30), dt.date(2026, 12, 6)) is None
    assert targets.goal(tg, "revenue", dt.date(2026, 11, 2), dt.date(2026, 11, 8)) is None


def test_attainment_by_hand():
    assert targets.attainment("orders", 5, 7) == (pytest.approx(5 / 7), False)
    assert targets.attainment("refund_rate", 0.1, 0.2) == (pytest.approx(2.0), True)    # lower is better
    assert targets.attainment("refund_rate", 0.0, 0.2) == (None, True)
    assert targets.attainment("orders", None, 7) == (None, None)
    assert targets.words("orders", 5, 7) == "71% of the 7 target (missed)"
    # lower is better: a ceiling, said as one whatever the value (a zero refund rate included)
    assert targets.words("refund_rate", 0.0, 0.2) == "target ≤ 20.0% (met)"
    assert targets.words("refund_rate", 0.1, 0.2) == "target ≤ 20.0% (met)"
    assert targets.words("refund_rate", 0.3, 0.2) == "target ≤ 20.0% (missed)"


@pytest.mark.parametrize("flt, scope", [
    (Filters(), targets.Scope("business")),
    (Filters(stores=("S1",)), targets.Scope("store", "S1")),
    (Filters(regions=("East",)), targets.Scope("region", "East")),
    (Filters(scope_regions=("East",)), targets.Scope("region", "East")),
    (Filters(stores=("S1",), scope_stores=("S1",)), targets.Scope("store", "S1")),
    (Filters(stores=("S1", "S2")), None),
    (Filters(cities=("Hangzhou",)), None),
    (Filters(channels=("app",)), None),
])
def test_which_target_applies(flt, scope):
    assert targets.scope_of(flt) == scope


def test_week_attainment_in_the_summary_and_report(con):
    week = weekly.Week.parse("2026-W45")      # Mon 2 Nov .. Sun 8 Nov: O1..O4, one refunded of 3 paid
    ov = weekly.build(con, Filters(), week)
    t = ov.targets.set_index("kpi")
    assert t.at["orders", "target"] == pytest.approx(7.0) and t.at["orders", "value"] == 4
    assert t.at["refund_rate", "target"] == pytest.approx(0.2)
    assert t.at["refund_rate", "met"] is False or t.at["refund_rate", "met"] == False  # noqa: E712
    sentence = [s for s in ov.summary if s.startswith("Targets for the whole business in 2026-W45")]
    assert sentence == ["Targets for the whole business in 2026-W45: 0 of 2 met — orders 57% of the 7 target "
                        "(missed); refund rate target ≤ 20.0% (missed)."]
    from o2o_ops import report
    assert "57% of the 7 target (missed)" in report.build_html(con, Filters(), week)


def test_weekly_goals_for_charts(con):
    starts = [dt.date(2026, 10, 26), dt.date(2026, 11, 2), dt.date(2026, 11, 30)]
    goals = targets.weekly_goals(con, Filters(), ("orders", "revenue"), starts)
    assert list(goals) == ["orders"] and goals["orders"][:2] == [pytest.approx(13.0), pytest.approx(7.0)]
    assert goals["orders"][2] is None
    df = pd.DataFrame({"week_start": pd.to_datetime(starts[::-1]), "orders": [1.0, 4.0, 3.0]})
    fig = kpi_line(df, "week_start", "orders", goals=goals["orders"][::-1])
    (line,) = [t for t in fig.data if t.name == GOAL_LABEL]
    assert list(line.y)[:2] == [pytest.approx(13.0), pytest.approx(7.0)]   # sorted with the weeks


@pytest.mark.parametrize("row, message", [
    (("nonsense", "business", None, NOV, 1.0), "kpi must be one of"),
    (("orders", "planet", None, NOV, 1.0), "scope must be one of store, region, business"),
    (("orders", "store", "S9", NOV, 1.0), "scope_id 'S9' names no store"),
    (("orders", "region", "Atlantis", NOV, 1.0), "scope_id 'Atlantis' names no region"),
    (("orders", "store", None, NOV, 1.0), "scope_id names the store or region"),
    (("orders", "business", "S1", NOV, 1.0), "scope_id names the store or region"),
    (("orders", "business", None, dt.date(2026, 11, 5), 1.0), "month is the first day of the month"),
    (("refund_rate", "business", None, NOV, 12.0), "a percent KPI's target is a share between 0 and 1"),
    (("orders", "business", None, NOV, "lots"), "target_value: 'lots' is not a number"),
    (("orders", "business", None, NOV, None), "target_value is required but empty"),
])
def test_bad_targets_are_refused_in_words_and_nothing_changes(warehouse, con, row, message):
    before = targets.load(con)
    bad = pd.concat([ROWS, pd.DataFrame([row], columns=targets.COLUMNS)], ignore_index=True)
    with pytest.raises(ingest.ImportRejected) as caught:
        targets.save(bad, allowed=True, warehouse=warehouse)
    report = caught.value.report()
    assert message in report and "targets, row 8" in report     # the 7th target is CSV row 8
    after = db.connect(warehouse)
    try:
        pd.testing.assert_frame_equal(targets.load(after), before)
    finally:
        after.close()


def test_duplicate_target_and_reader_refused(warehouse):
    with pytest.raises(ingest.ImportRejected, match="appears again"):
        targets.save(pd.concat([ROWS, ROWS.head(1)]), allowed=True, warehouse=warehouse)
    with pytest.raises(targets.NotAllowed):
        targets.save(ROWS.head(0), allowed=False, warehouse=warehouse)


def test_targets_import_from_a_file(tmp_path):
    path = build_tiny(tmp_path / "t.duckdb")
    csv = tmp_path / "targets.csv"
    csv.write_text("kpi,scope,scope_id,month,target_value\norders,store,S2,2026-11-01,12\n")
    result = ingest.import_file("targets", csv, warehouse=path)
    assert result.tables[0].rows_added == 1
    c = db.connect(path)
    try:
        assert targets.load(c)[["kpi", "scope", "scope_id", "target_value"]].values.tolist() == [["orders", "store", "S2", 12.0]]
    finally:
        c.close()


def test_scoped_reader_sees_their_targets_only(con):
    seen = targets.visible(con, Filters(scope_stores=("S2",)))
    assert sorted(seen["scope"].unique()) == ["business"]
    seen = targets.visible(con, Filters(scope_regions=("East",)))
    assert {("store", "S1"), ("region", "East")} <= set(zip(seen["scope"], seen["scope_id"]))


def test_overview_cards_show_attainment(warehouse):
    at = open_page("pages/overview.py", warehouse, query={"week": "2026-W45"})
    assert not at.exception
    shown = texts(at)
    assert "57% of the 7 target (missed)" in shown
    assert "Targets for the whole business in 2026-W45: 0 of 2 met" in shown


def test_quality_cards_show_store_attainment(warehouse, monkeypatch):
    query = {"from": "2026-11-02", "to": "2026-11-08", "store": "S1"}
    # two reviews are under the default evidence floor (O2O_MIN_REVIEWS = 5), which would leave no
    # rating and so no attainment: lower the floor to 2
    monkeypatch.setenv("O2O_MIN_REVIEWS", "2")
    at = open_page("pages/quality.py", warehouse, query=query)
    assert not at.exception
    # S1's reviews in the week: 4 and 2 -> 3.0 against the 4.0 target
    assert "75% of the 4.00 ★ target (missed)" in texts(at)


def test_data_page_lists_targets(warehouse):
    at = open_page("pages/data.py", warehouse)
    assert not at.exception
    assert "Targets" in texts(at)
