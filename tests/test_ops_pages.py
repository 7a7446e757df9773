"""AppTests of the Service quality, Cost and Operational efficiency pages on the tiny warehouse.

Each page: no exception; the KPI cards show what the registry computes for the same filters (and
the change against the previous period of equal length); the link's ``city=`` changes them; a
filter matching nothing shows the empty state; query parameters set the filters.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest
from streamlit.testing.v1 import AppTest

from o2o_ops import analysis, db, metrics, units
from o2o_ops.filters import Filters
import tiny
from apptest_util import ROOT, shown, texts
from tiny import build_tiny

# 15 days: O1..O5 (the data ends 11-10); the previous 15 days (10-12 → 10-26) hold O6.
LINK = {"from": "2026-10-27", "to": "2026-11-10"}
WINDOW = Filters(start=dt.date(2026, 10, 27), end=dt.date(2026, 11, 10))

PAGES = {
    "pages/quality.py": ("Service quality", ("avg_rating", "positive_share", "complaint_rate", "refund_rate",
                                             "sla_attainment", "repeat_rate")),
    "pages/cost.py": ("Cost", ("discount_cost", "platform_fees", "marketing_spend", "staff_cost",
                               "cost_per_redemption", "cac", "roi", "other_costs")),
    "pages/efficiency.py": ("Operational efficiency", ("redemption_rate", "time_to_redeem_hours", "breakage_orders",
                                                       "breakage_value", "capacity_utilisation", "paid_orders")),
}


@pytest.fixture(autouse=True)
def one_review_is_evidence(monkeypatch):
    """The tiny warehouse has 1-3 reviews per period: its ratings are checked with a review floor
    of 1 (the floor itself: tests/test_coverage.py)."""
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("pages") / "tiny.duckdb")


@pytest.fixture(scope="module")
def con(warehouse):
    c = db.connect(warehouse)
    yield c
    c.close()


def open_page(page: str, warehouse, query: dict) -> AppTest:
    """Open ``page`` from a shared link (query parameters set before the first run).

    As apptest_util.open_page, except that it switches to ``page`` whatever the landing page
    did on the first run, so these tests do not depend on the overview page.
    """
    os.environ["O2O_WAREHOUSE"] = str(warehouse)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page)
    at.run()
    return at


def expected_cards(con, filters, names):
    now = metrics.compute(con, filters, "total", names).iloc[0]
    prev_df = metrics.compute(con, analysis.previous_period(filters), "total", names)
    prev = prev_df.iloc[0] if not prev_df.empty else None
    out = {}
    for name in names:
        kpi = metrics.KPIS[name]
        change = None
        if prev is not None and not _na(now[name]) and not _na(prev[name]):
            change = units.metric_delta(float(now[name]) - float(prev[name]), kpi.unit)   # st.metric's "-"
        out[kpi.label] = (kpi.format(now[name]), change)
    return out


def _na(value):
    import pandas as pd
    return value is None or pd.isna(value)


def shown_cards(at):
    return {m.label: (m.value, m.delta or None) for m in at.metric}


@pytest.mark.parametrize("page", PAGES)
def test_cards_equal_registry_and_change_with_city(page, warehouse, con):
    title, names = PAGES[page]
    at = open_page(page, warehouse, LINK)
    assert not at.exception
    assert at.title[0].value == title
    assert "2026-10-27 → 2026-11-10" in texts(at)  # the link's dates set the filters
    shown = shown_cards(at)
    assert shown == expected_cards(con, WINDOW, names)
    assert len(at.get("download_button")) >= 1

    hz = open_page(page, warehouse, {**LINK, "city": "Hangzhou"})
    assert not hz.exception
    assert "Hangzhou" in hz.caption[0].value
    shown_hz = shown_cards(hz)
    assert shown_hz == expected_cards(con, WINDOW.replace(cities=("Hangzhou",)), names)
    assert shown_hz != shown


def test_quality_values_by_hand(warehouse):
    # window O1..O5: ratings 4, 2, 5 -> 3.67; Hangzhou (S1 only): 4, 2 -> 3.00; previous period (O6: 5)
    at = open_page("pages/quality.py", warehouse, LINK)
    assert shown_cards(at)["Average rating"] == ("3.67 ★", "-1.33 ★")
    hz = open_page("pages/quality.py", warehouse, {**LINK, "city": "Hangzhou"})
    assert shown_cards(hz)["Average rating"] == ("3.00 ★", "-2.00 ★")


def test_efficiency_values_by_hand(warehouse):
    # paid O1, O2, O3, O5; redeemed O1, O2, O5 -> 75%; breakage O3 (¥400)
    cards = shown_cards(open_page("pages/efficiency.py", warehouse, LINK))
    assert cards["Redemption rate"][0] == "75.0%"
    assert cards["Breakage (value)"][0] == "¥400"


@pytest.mark.parametrize("page", PAGES)
def test_filter_matching_nothing_shows_empty_state(page, warehouse):
    at = open_page(page, warehouse, {**LINK, "city": "Hangzhou", "category": "hotel"})
    assert not at.exception
    assert not at.metric
    assert any("No orders match these filters" in i.value for i in at.info)


def test_quality_peer_selector_reranks(warehouse, con):
    at = open_page("pages/quality.py", warehouse, LINK)
    at.selectbox(key="quality_peer_kpi").set_value("refund_rate").run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "peer_median" in df.value.columns)
    assert "refund_rate" in table.columns
    # S1 refunded 1 of 2 paid orders; S2 and S3 none -> S1 ranks last
    assert table.set_index("store_id").loc["S1", "refund_rate"] == 0.5
    assert table["store_id"].tolist()[-1] == "S1"


def test_cost_group_switch_and_margin_table(warehouse):
    at = open_page("pages/cost.py", warehouse, LINK)
    tables = [df.value for df in at.dataframe]
    by_kind = next(t for t in tables if "campaign_kind" in t.columns)
    assert set(by_kind["campaign_kind"]) == {"Group buy", "Full price"}      # coded values in words on screen
    margin = next(t for t in tables if "margin" in t.columns).set_index("store_id")
    assert margin.loc["S1", "margin"] == -219.0  # 140 net revenue − 359 cost
    at.segmented_control(key="cost_group").set_value("channel").run()
    assert not at.exception
    by_channel = next(df.value for df in at.dataframe if "channel" in df.value.columns)
    assert by_channel.set_index("channel")["cost_per_redemption"].to_dict() == {"App": 5.0, "Maps": 3.0,
                                                                               "WeChat": 444.0}
    # the charts' bars are labelled in words too, not with the codes (app, wechat)
    roi = next(json.loads(c.proto.spec) for c in at.get("plotly_chart") if "cost_group_roi" in c.proto.id)
    assert sorted(roi["data"][0]["x"]) == ["App", "Maps", "WeChat"]


def test_efficiency_over_capacity_toggle(warehouse):
    at = open_page("pages/efficiency.py", warehouse, LINK)
    stores = next(df.value for df in at.dataframe if "is_over_capacity" in df.value.columns)
    assert stores["store_id"].tolist() == ["S1", "S2"]
    at.toggle(key="efficiency_only_over").set_value(True).run()
    assert not at.exception
    stores = next(df.value for df in at.dataframe if "is_over_capacity" in df.value.columns)
    assert stores.empty  # nobody is over capacity in the tiny warehouse


# Costs as at 10 million orders: S2's rent ¥269,394,118.52 in the window (11-03), ¥257,048,440.52
# in the previous 15 days (10-20): "Other costs" (rent and other) rose by ¥12,345,678.00.
BIG_RENT = 269_394_118.52, 257_048_440.52


@pytest.fixture(scope="module")
def big_costs(tmp_path_factory):
    costs = [row for row in tiny.COSTS if row[1] != "rent"] + [
        ("2026-11-03", "rent", BIG_RENT[0], "S2", None, None), ("2026-10-20", "rent", BIG_RENT[1], "S2", None, None)]
    return build_tiny(tmp_path_factory.mktemp("big") / "big.duckdb", {**tiny.TABLE_ROWS, "costs": costs})


@pytest.mark.parametrize("lang, value, delta, exact", [
    ("en", "¥269.4M", "+¥12.3M", "Exact value: ¥269,394,118.52; change +¥12,345,678.00."),
    ("zh", "¥2.69亿", "+¥1235万", "精确值：¥269,394,118.52；变化 +¥12,345,678.00。"),
])
def test_cost_card_shows_a_large_amount_short_and_its_digits_in_the_help(big_costs, lang, value, delta, exact):
    at = open_page("pages/cost.py", big_costs, {**LINK, "lang": lang})
    assert not at.exception
    card = next(m for m in at.metric if m.label.replace("\u200b", "") in ("Other costs", "其他成本"))
    assert (card.value, card.delta) == (value, delta)   # ¥269,394,119 would be cut to "¥269,394,…"
    assert shown(card.help).startswith(exact)
    # the tables keep every digit: S2's cost in the margin table is the exact sum (rent only)
    margin = next(df.value for df in at.dataframe if "margin" in df.value.columns).set_index("store_id")
    assert margin.loc["S2", "margin"] == pytest.approx(400 - BIG_RENT[0] - 20)   # ¥400 paid (O3), ¥20 fee


@pytest.mark.parametrize("lang, weekly, margin", [
    ("en", ["0", "50M", "100M", "150M", "200M", "250M"], ["−250M", "−200M", "−150M", "−100M", "−50M", "0"]),
    ("zh", ["0", "5000万", "1亿", "1.5亿", "2亿", "2.5亿"], ["−2.5亿", "−2亿", "−1.5亿", "−1亿", "−5000万", "0"]),
])
def test_cost_charts_value_axes_read_short(big_costs, lang, weekly, margin):
    """S2's rent of ¥269,394,118.52 (week of 11-02) in the weekly costs and in its margin: round
    ticks 50M apart (at most seven steps over 0..296.3M, 10 % more than the values), written short
    (plotly wrote "250,000,000"); the hover keeps every digit."""
    at = open_page("pages/cost.py", big_costs, {**LINK, "lang": lang})
    assert not at.exception
    specs = {key: json.loads(c.proto.spec) for c in at.get("plotly_chart")
             for key in ("cost_breakdown", "cost_store_margin") if c.proto.id.endswith(key)}
    axis = specs["cost_breakdown"]["layout"]["yaxis"]
    assert axis["tickvals"] == [0, 50_000_000, 100_000_000, 150_000_000, 200_000_000, 250_000_000]
    assert axis["ticktext"] == weekly and axis["tickformat"] == ",.0f"
    assert all(":,.0f}" in trace["hovertemplate"] for trace in specs["cost_breakdown"]["data"])
    assert specs["cost_store_margin"]["layout"]["xaxis"]["ticktext"] == margin
