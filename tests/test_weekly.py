"""weekly.py on the tiny warehouse (tests/tiny.py), values computed by hand.

Tiny weeks: 2026-W43 (Oct 19-25) holds O6; W45 (Nov 2-8) holds O1-O4; W46 (Nov 9-15) holds O5;
the data ends on Tue 2026-11-10, so the last complete week is W45.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from o2o_ops import db, i18n, metrics, weekly
from o2o_ops.charts import overview as charts
from o2o_ops.filters import Filters
from o2o_ops.weekly import Week
from tests.tiny import build_tiny

W43, W44, W45, W46 = (Week.parse(f"2026-W{n}") for n in (43, 44, 45, 46))


@pytest.fixture(autouse=True)
def one_review_is_evidence(monkeypatch):
    """The tiny weeks have 1-3 reviews; their ratings are checked with a review floor of 1 (the
    default floor is tested in tests/test_coverage.py)."""
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build_tiny(tmp_path_factory.mktemp("weekly") / "tiny.duckdb")
    connection = db.connect(path)
    yield connection
    connection.close()


def test_week_parsing_and_labels():
    assert Week.parse("2026-W47").start == dt.date(2026, 11, 16)
    assert Week.parse("2026w47") == Week.parse("2026-W47")
    assert Week.parse("2026-W47").end == dt.date(2026, 11, 22)
    assert Week.parse("2026-W47").label == "2026-W47 (16 Nov – 22 Nov 2026)"
    assert Week.parse("2026-W01").previous.iso == "2025-W52"
    assert Week.of(dt.date(2026, 11, 22)).iso == "2026-W47"  # a Sunday belongs to its Monday's week
    for bad in ("2026-W54", "W47", "2026-47", "", "2026-W47; DROP TABLE orders"):
        with pytest.raises(ValueError):
            Week.parse(bad)


def test_weeks_in_data_and_last_complete_week(con):
    assert [w.iso for w in weekly.weeks_in_data(con)] == ["2026-W46", "2026-W45", "2026-W44", "2026-W43"]
    assert weekly.default_week(con) == W45  # data ends Tuesday 2026-11-10
    # a data set ending on a Sunday: that week is complete
    assert weekly.last_complete_week(dt.date(2026, 11, 2), dt.date(2026, 11, 15)) == W46
    # less than one week of data: the only week there is
    assert weekly.last_complete_week(dt.date(2026, 11, 10), dt.date(2026, 11, 12)) == W46
    assert weekly.last_complete_week(None, None) is None


def test_resolve_week_falls_back_with_a_notice():
    weeks = [W46, W45, W44, W43]
    assert weekly.resolve_week("2026-W46", weeks, W45) == (W46, None)
    assert weekly.resolve_week(None, weeks, W45) == (W45, None)
    week, notice = weekly.resolve_week("2026-W99", weeks, W45)
    assert week == W45 and "not an ISO week" in notice and "2026-W45" in notice
    week, notice = weekly.resolve_week("2025-W10", weeks, W45)
    assert week == W45 and "outside the data (2026-W43 → 2026-W46)" in notice


def test_weekly_series_has_13_weeks_and_equals_the_registry(con):
    series = weekly.weekly_series(con, Filters(), W46)
    assert len(series) == 13
    assert series["iso_week"].iloc[0] == "2026-W34" and series["iso_week"].iloc[-1] == "2026-W46"
    assert series["orders"].tolist()[-4:] == [1.0, pytest.approx(float("nan"), nan_ok=True), 4.0, 1.0]
    assert series.set_index("iso_week").at["2026-W45", "revenue"] == 580.0  # O1 80 + O2 100 + O3 400
    for week in (W45, W46):
        total = metrics.compute(con, week.filters(Filters()), "total", metrics.HEADLINE).iloc[0]
        row = series.set_index("iso_week").loc[week.iso]
        for name in metrics.HEADLINE:
            assert row[name] == pytest.approx(total[name], nan_ok=True), name


def test_headline_cards_week_over_week(con):
    cards = weekly.headline_cards(weekly.weekly_series(con, Filters(), W46))
    assert cards.at["orders", "value"] == 1 and cards.at["orders", "previous"] == 4
    assert cards.at["orders", "change"] == -3 and cards.at["orders", "change_pct"] == pytest.approx(-0.75)
    assert cards.at["orders", "is_good"] == False  # noqa: E712 - a numpy bool in the frame
    assert cards.at["revenue", "change_text"] == "\u2212¥520"   # a sentence's minus sign, not "-¥520"
    assert cards.at["avg_rating", "value"] == 5.0 and cards.at["avg_rating", "previous"] == 3.0  # (4 + 2) / 2
    assert cards.at["avg_rating", "is_good"] == True  # noqa: E712
    assert cards.at["refund_rate", "previous"] == pytest.approx(1 / 3)  # O2 refunded of O1, O2, O3 paid
    assert cards.at["orders", "spark"] == [1.0, 4.0, 1.0]  # W43, W45, W46: weeks without orders left out


def _stores(rows):
    return pd.DataFrame(rows, columns=["store_id", "store_name", "store_city", "store_category",
                                       "symmetry_index", "avg_rating", "reviews", "listed_rating",
                                       "rating_gap", "wait_gap_minutes", "as_described_rate"])


STORES = _stores([
    ("A", "Alpha", "X", "hotel", 90.0, 4.5, 10, 4.6, 0.1, 0.0, 0.9),
    ("B", "Beta", "X", "hotel", 40.0, 3.0, 8, 4.8, 1.8, 12.0, 0.5),
    ("C", "Gamma", "Y", "hotel", 70.0, 4.0, 5, 4.0, 0.0, 11.0, 0.9),
    ("D", "Delta", "Y", "hotel", 70.0, 4.9, 2, 3.0, -1.9, 0.0, 1.0),  # too few reviews
])


def test_ranked_stores_split_small_pools_and_exclude_thin_stores():
    best, worst = weekly.ranked_stores(STORES, "symmetry_index", min_reviews=5)
    assert best["store_id"].tolist() == ["A", "C"] and worst["store_id"].tolist() == ["B"]
    assert best["view"].tolist() == ["./symmetry?store=A", "./symmetry?store=C"]
    best, worst = weekly.ranked_stores(STORES, "avg_rating", min_reviews=1, size=1)
    assert best["store_id"].tolist() == ["D"] and worst["store_id"].tolist() == ["B"]
    best, worst = weekly.ranked_stores(STORES.head(0), "avg_rating")
    assert best.empty and worst.empty


def test_attention_list_flags_over_promise():
    attention = weekly.attention_list(STORES, min_reviews=5)
    assert attention["store_id"].tolist() == ["B", "C"]  # B: 1.8 ★ gap, C: 11 min wait gap
    # the one attention rule's words (o2o_ops/attention.py); no promised wait in these rows
    assert attention.at[0, "reason"] == ("listed 4.8, customers give 3.0; waits 12 min over the promise; "
                                         "only 50% say it was as described")
    assert attention.at[1, "reason"] == "listed 4.0, customers give 4.0; waits 11 min over the promise"
    assert weekly.attention_list(STORES, min_reviews=50).empty


def test_build_equals_registry_under_filters(con):
    flt = Filters(cities=("Shanghai",), start=dt.date(2020, 1, 1), end=dt.date(2020, 1, 2))  # dates ignored
    ov = weekly.build(con, flt, W45)
    assert ov.filters.start is None and ov.has_data
    total = metrics.compute(con, W45.filters(Filters(cities=("Shanghai",))), "total", metrics.HEADLINE).iloc[0]
    for name in metrics.HEADLINE:
        assert ov.cards.at[name, "value"] == pytest.approx(total[name], nan_ok=True), name
    assert ov.cards.at["orders", "value"] == 2  # O3, O4 at S2


def test_written_summary_numbers_and_no_data(con):
    sentences = weekly.written_summary(con, Filters(), W46, min_reviews=1)
    text = " ".join(sentences)
    assert sentences[0] == ("In 2026-W46 (9 Nov – 15 Nov 2026) there were 1 orders (\u221275.0% on 2026-W45) "
                            "and ¥60.00 revenue (\u221289.7%).")   # relative changes with the minus sign
    # W46 has no costs (they end on 3 Nov): its ROI and cost per redemption are not provided, so the
    # old "ROI -14% → +1900%" (costs never recorded for W46) is gone. The maturing KPIs compare with
    # W45 as it stood on 3 Nov 09:00 (the newest order, O5 on 10 Nov 09:00, minus 7 days): only O1 was
    # placed, not yet redeemed or reviewed: redemption rate 0, no rating. Relative changes (too few
    # weeks for a typical swing): revenue (580 → 60, -89.7%) moved most, then orders (-75%).
    # changes with the minus sign too: "(-¥520)" read as a hyphen before
    assert ("The biggest move against its usual week-to-week swing was revenue: ¥580 → ¥60.00 (\u2212¥520), "
            "a deterioration. It moved most by city, Shanghai (\u2212¥340, 65% of the change), by category, hotel "
            "(\u2212¥400, 77% of the change) and by store, Bund Hotel (S2, Shanghai) (\u2212¥400, 77% of the "
            "change).") in text
    assert "Also worse than 2026-W45: orders (\u22123)." in text
    assert not re.search(r"(?<!\d)-[¥\d]", text)   # no hyphen as a sign left (2026-11-10 is a date)
    assert ("2026-W46 is provisional: the data ends on Tue 10 Nov 2026, before its Sunday, so some of its vouchers "
            "are not used or reviewed yet; redemption rate, average rating, refund rate and symmetry index are "
            "compared with 2026-W45 as it stood at the same age (equal age)") in text   # not ROI: not provided
    cards = weekly.build(con, Filters(), W46).cards
    assert cards.at["roi", "value_text"] == "—"
    assert cards.at["roi", "note"] == "not provided: costs cover 20 Oct 2026 – 3 Nov 2026 only"
    assert cards.at["roi", "previous"] == pytest.approx((80 - (4 + 300 + 200 + 100)) / (4 + 300 + 200 + 100))
    assert cards.at["redemption_rate", "previous"] == 0 and cards.at["redemption_rate", "equal_age"]
    assert cards["provisional"].sum() == 6 and not cards.at["orders", "provisional"]
    assert weekly.written_summary(con, Filters(), W44)[0].startswith("No orders in 2026-W44")
    ov = weekly.build(con, Filters(), W44)
    assert not ov.has_data and ov.any_data


def test_summary_changes_read_with_the_minus_sign_in_chinese(con):
    """The same week in Chinese: its falls with the minus sign (U+2212), as its values; "（-¥520）"
    read as a hyphen before."""
    text = " ".join(weekly.written_summary(con, Filters(), W46, min_reviews=1, lang="zh"))
    assert ("相对平时的周波动，变化最大的是营收：¥580 → ¥60.00（\u2212¥520），属于恶化。变化最大的是：城市 "
            "Shanghai（\u2212¥340，占变化的 65%）、品类 酒店（\u2212¥400，占变化的 77%）和门店 Bund Hotel "
            "(S2, Shanghai)（\u2212¥400，占变化的 77%）。") in text
    assert "比 2026-W45 变差的还有：订单数（\u22123）。" in text
    assert "共有 1 笔订单（较 2026-W45 \u221275.0%），营收 ¥60.00（\u221289.7%）。" in text
    assert not re.search(r"(?<!\d)-[¥\d]", text)


def test_chinese_sentences_run_on_without_a_space_after_the_full_stop(con):
    """A Chinese sentence made of two (the stores needing attention, then those too new to judge)
    read "…门店。 门店…" with an English space after "。"."""
    sentences = weekly.written_summary(con, Filters(), W46, min_reviews=1, lang="zh")
    assert sentences and not [s for s in sentences if "。 " in s]
    assert i18n.sentences(["甲。", "", "乙。"], "zh") == "甲。乙。"
    assert i18n.sentences(["One.", None, "Two."], "en") == "One. Two."


def test_summary_names_the_driver(con):
    # W45 vs W43 is not adjacent; W46 vs W45 by city: revenue fell 520 — Shanghai −340 (400 → 60),
    # Hangzhou −180 (80 + 100 → 0): Shanghai drove 65% of it.
    groups = weekly.group_changes(con, Filters(), W46, "revenue", "city").set_index("group")
    assert groups.at["Shanghai", "change"] == -340 and groups.at["Hangzhou", "change"] == -180
    phrases = weekly._drivers(con, Filters(), W46, "revenue", -520.0, 1)
    assert phrases[0] == "by city, Shanghai (\u2212¥340, 65% of the change)"
    # every driver grain from one stacked query per week: the same rows as one query per grain
    both = weekly.group_changes_by(con, Filters(), W46, "revenue", ["city", "store"])
    pd.testing.assert_frame_equal(both["city"].set_index("group").sort_index(), groups.sort_index(), check_like=True)
    assert both["city"].set_index("group").at["Shanghai", "change"] == -340


@pytest.mark.parametrize("group, lang, words", [
    ("car_rental", "en", "car rental"), ("hotel", "en", "hotel"), ("car_rental", "zh", "租车"),
])
def test_a_driving_category_reads_in_words(group, lang, words):
    """The summary names a category as the filters do: "by category, car rental" ("car_rental",
    the stored code, before; Chinese read 租车 already)."""
    assert weekly._group_name(pd.Series({"group": group}), "category", lang) == words


def _by_group(df):
    return df.sort_values("group", na_position="last").reset_index(drop=True)


@pytest.mark.parametrize("flt", [Filters(), Filters(cities=("Shanghai",)), Filters(channels=("app",))])
def test_stacked_drivers_equal_one_query_per_grain(demo_warehouse, flt):
    """group_changes_by (two stacked queries: the week, the week before at equal age) gives every
    headline KPI's city, category and store rows exactly as group_changes' queries per grain,
    costs (head-office costs: a group of no city), the symmetry index and equal age included."""
    con = db.connect(demo_warehouse, read_only=True)
    try:
        week = weekly.default_week(con)
        cutoff = weekly.latest_order(con) - dt.timedelta(days=9)   # W-1 not yet mature then
        grains = ["city", "category", "store"]
        for name in metrics.HEADLINE:
            stacked = weekly.group_changes_by(con, flt, week, name, grains, previous_as_of=cutoff)
            for grain in grains:
                fresh = weekly.group_changes(con, flt, week, name, grain, previous_as_of=cutoff)
                pd.testing.assert_frame_equal(_by_group(stacked[grain]), _by_group(fresh), check_like=True,
                                              obj=f"{name} by {grain}")
    finally:
        con.close()


def test_stacked_kpis_refuse_what_they_cannot_stack():
    assert metrics.stackable(["revenue", "cost_per_redemption", "symmetry_index"], ["city", "store"])
    assert not metrics.stackable(["time_to_redeem_hours"], ["city"])   # a median: order_facts
    with pytest.raises(ValueError, match="stack"):
        metrics.compute_stacked(None, Filters(), ["channel"], ["revenue"])


@pytest.mark.parametrize("weeks", [0, 1, 2])
def test_trend_grid_builder(weeks):
    series = pd.DataFrame({"iso_week": [f"2026-W4{i}" for i in range(weeks)],
                           **{n: [float(i + 1) for i in range(weeks)] for n in metrics.HEADLINE}})
    fig = charts.trend_grid(series, metrics.HEADLINE, week_iso="2026-W41" if weeks == 2 else None)
    if weeks == 0:
        assert fig.layout.annotations[0].text.startswith("No orders")
    else:
        lines = [t for t in fig.data if t.mode == "lines+markers"]
        assert len(lines) == len(metrics.HEADLINE) and list(lines[0].y) == [float(i + 1) for i in range(weeks)]
    if weeks == 2:
        marker = [t for t in fig.data if t.mode == "markers"][1]  # orders went 1 → 2: good news
        assert marker.marker.color == "#16a34a"


def test_trend_grid_says_why_a_kpi_blank_in_every_week_is_blank():
    """Reviews never imported: the rating's chart says so where its card does (wrapped to the
    chart's width), its made-up value axis hidden; a KPI with values, or blank with no note, gets no
    text; a note of a KPI with values is not drawn."""
    series = pd.DataFrame({"iso_week": ["2026-W40", "2026-W41"], "orders": [3.0, 4.0],
                           "avg_rating": [None, None], "refund_rate": [None, None]})
    notes = {"avg_rating": "not provided: no reviews imported", "orders": "never drawn"}
    fig = charts.trend_grid(series, ("orders", "avg_rating", "refund_rate"), columns=2, notes=notes)
    added = [a for a in fig.layout.annotations if a.text not in ("Orders", "Average rating", "Refund rate")]
    assert [(a.text, a.xref, a.yref, a.x, a.y) for a in added] == [
        ("Not provided: no<br>reviews imported", "x2 domain", "y2 domain", 0.5, 0.5)]   # 143 px: a phone's column
    assert fig.layout.yaxis.showticklabels is None                         # orders: its scale
    assert fig.layout.yaxis2.showticklabels is False and fig.layout.yaxis2.showgrid is False
    assert fig.layout.yaxis3.showticklabels is False                       # blank, no note: no scale either


@pytest.mark.parametrize("columns, gap_px", [(2, 350), (4, 1000)])
def test_trend_grid_leaves_its_columns_room_for_value_labels(columns, gap_px):
    """The gap between two columns holds the right one's value labels: 48 px of the phone's 350
    (it was 6 % of the figure, 21 px, and "3.80" lay on the chart to its left), and of the
    desktop grid's 1,000 (60 px before)."""
    series = pd.DataFrame({"iso_week": ["2026-W40", "2026-W41"], **{n: [1.0, 2.0] for n in metrics.HEADLINE}})
    fig = charts.trend_grid(series, metrics.HEADLINE, columns=columns)
    gap = fig.layout.xaxis2.domain[0] - fig.layout.xaxis.domain[1]
    assert gap * gap_px == pytest.approx(48)


@pytest.mark.parametrize("flt", [Filters(), Filters(cities=("Shanghai",))])
def test_build_reuses_store_rows_with_the_same_answers(demo_warehouse, flt):
    """build() feeds the week's store rows to the summary's store drivers and skips a driver
    dimension one filter value pins; group changes and sentences equal the fresh queries'."""
    con = db.connect(demo_warehouse, read_only=True)
    try:
        week = weekly.default_week(con)
        ov = weekly.build(con, flt, week)
        assert set(weekly.DRIVER_STORE_KPIS) <= set(ov.stores.columns)
        for name in metrics.HEADLINE:
            fresh = weekly.group_changes(con, flt, week, name, "store")
            reused = weekly.group_changes(con, flt, week, name, "store", ov.stores)
            key = ["group"]
            pd.testing.assert_frame_equal(reused.sort_values(key).reset_index(drop=True),
                                          fresh.sort_values(key).reset_index(drop=True), check_like=True)
        assert ov.summary == weekly.written_summary(con, flt, week)
    finally:
        con.close()
