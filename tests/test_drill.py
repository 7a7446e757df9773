"""Click to drill and Back, as AppTest sees it (the clicks themselves, and the browser's history,
are in tests/browser/test_drill_browser.py).

- A ticked row drills: campaign table -> the campaign; its stores table -> the store's orders;
  the overview's attention and best/worst tables -> the store's symmetry view of that week.
- The URL is the one source of truth: a run that starts on another URL than the last run left
  (browser Back / Forward, a link, a page switch) sets the filters and every drill widget from it.
- Each run writes the URL once (one history entry per drill step).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from apptest_util import open_link, texts
from o2o_ops import weekly
from o2o_ops.ui import frame
from tiny import build_tiny

WINDOW = {"from": "2026-11-02", "to": "2026-11-10"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("drill") / "tiny.duckdb")


@pytest.fixture(autouse=True)
def _one_review_is_evidence(monkeypatch):
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")


def tick(at, prefix: str, row: int) -> None:
    """What a tick in a single-row table (its key starts with ``prefix``) leaves in its selection state."""
    keys = [d.key for d in at.dataframe if d.key and d.key.startswith(prefix)]
    assert len(keys) == 1, (prefix, [d.key for d in at.dataframe])
    at.session_state[keys[0]] = {"selection": {"rows": [row], "columns": [], "cells": []}}


def frame_with(at, column: str) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with a {column} column"
    return frames[0]


def qp(at, key: str) -> list[str] | None:
    value = at.query_params.get(key)
    return value if isinstance(value, list) or value is None else [value]


def test_selected_row_maps_the_selection_to_the_frame_as_given():
    df = pd.DataFrame({"campaign_id": ["K1", "K2"]})
    assert frame.selected_row({"selection": {"rows": [1]}}, df) == {"campaign_id": "K2"}
    assert frame.selected_row({"selection": {"rows": []}}, df) is None
    assert frame.selected_row({"selection": {"rows": [5]}}, df) is None    # a stale pick past the end
    assert frame.selected_row(None, df) is None and frame.selected_row({}, df) is None


def test_ticked_rows_drill_campaign_then_store(tiny):
    at = open_link("pages/campaigns.py", tiny, WINDOW)
    assert not at.exception and at.selectbox(key="cmp_campaign").value is None
    table = frame_with(at, "campaign_name")
    tick(at, "pick_campaign-table_", table["campaign_id"].tolist().index("K1"))
    at.run()
    assert not at.exception
    assert at.selectbox(key="cmp_campaign").value == "K1" and qp(at, "campaign") == ["K1"]
    stores = frame_with(at, "store_name")
    assert stores["store_id"].tolist() == ["S1", "S2"]
    tick(at, "pick_stores-K1_", 1)
    at.run()
    assert not at.exception
    assert at.selectbox(key="cmp_store").value == "S2" and qp(at, "cstore") == ["S2"]
    assert frame_with(at, "tracking_code")["order_id"].tolist() == ["O3"]     # K1's order at S2


def test_picked_id_maps_a_chart_click_to_the_id_its_bar_carries():
    from o2o_ops.charts import picked_id

    def event(*points):
        return {"selection": {"points": list(points), "point_indices": [], "box": [], "lasso": []}}

    bar = {"curve_number": 0, "point_number": 1, "point_index": 1, "x": 12, "y": "K2 · Spring", "customdata": "K2"}
    assert picked_id(event(bar)) == "K2"
    assert picked_id(event(bar), allowed=["K1", "K2"]) == "K2"
    assert picked_id(event(bar), allowed=["K1"]) is None                         # not (any more) on offer
    # several values per point (the symmetry scatter's (reviews, store_id)): the id is the last
    assert picked_id(event({"customdata": [14, "S3"]})) == "S3"
    # the first point that carries an id wins; points without one (a line, a reference) are passed over
    assert picked_id(event({"x": 1, "y": 2}, {"customdata": None}, {"customdata": "S1"}, {"customdata": "S2"})) == "S1"
    assert picked_id(event()) is None and picked_id(None) is None and picked_id({}) is None
    assert picked_id({"selection": {"points": [{"customdata": float("nan")}]}}) is None


def chart_key(at, prefix: str) -> str:
    """The session key of the one pickable chart whose key starts with ``prefix``."""
    import re

    ids = [re.sub(r"^\$\$ID-[0-9a-f]+-", "", c.proto.id) for c in at.get("plotly_chart")]
    keys = [k for k in ids if k.startswith(prefix)]
    assert len(keys) == 1, (prefix, ids)
    return keys[0]


def bar_ids(at, name: str) -> list:
    """The ids the bars of the pickable chart ``name`` carry (their customdata)."""
    import json

    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if f"pick_{name}_" in c.proto.id]
    assert len(specs) == 1, name
    return list(specs[0]["data"][0]["customdata"])


def click_bar(at, prefix: str, id_: str) -> None:
    """What a click on the bar carrying ``id_`` leaves in the chart's selection state."""
    at.session_state[chart_key(at, prefix)] = {"selection": {
        "points": [{"curve_number": 0, "point_number": 0, "point_index": 0, "customdata": id_}],
        "point_indices": [0], "box": [], "lasso": []}}


def test_clicked_bars_drill_campaign_then_store_as_ticked_rows_do(tiny):
    at = open_link("pages/campaigns.py", tiny, {**WINDOW, "channel": "wechat"})
    assert not at.exception and at.selectbox(key="cmp_campaign").value is None
    # the campaigns chart: one bar per campaign, its id as the bar's customdata
    assert bar_ids(at, "cmp_campaign_bars") == ["K1"]
    click_bar(at, "pick_cmp_campaign_bars_", "K1")
    at.run()
    assert not at.exception
    assert at.selectbox(key="cmp_campaign").value == "K1" and qp(at, "campaign") == ["K1"]
    assert qp(at, "channel") == ["wechat"] and qp(at, "from") == [WINDOW["from"]]   # the filters stay
    # the campaign's stores chart: S1 and S2, a click on S2's bar opens its orders
    assert bar_ids(at, "cmp_store_bars-K1") == ["S1", "S2"]
    click_bar(at, "pick_cmp_store_bars-K1_", "S2")
    at.run()
    assert not at.exception
    assert at.selectbox(key="cmp_store").value == "S2" and qp(at, "cstore") == ["S2"]
    assert frame_with(at, "tracking_code")["order_id"].tolist() == ["O3"]     # K1's order at S2
    # a click on a store the campaign does not have (a stale chart) changes nothing
    click_bar(at, "pick_cmp_store_bars-K1_", "S9")
    at.run()
    assert not at.exception and at.selectbox(key="cmp_store").value == "S2" and qp(at, "cstore") == ["S2"]


def test_back_and_forward_reread_the_drill_and_the_filters_from_the_url(tiny):
    at = open_link("pages/campaigns.py", tiny, {**WINDOW, "campaign": "K1", "cstore": "S1"})
    assert not at.exception and at.selectbox(key="cmp_store").value == "S1"
    # Back: the URL of the entry before (campaign, no store)
    at.query_params.pop("cstore")
    at.run()
    assert not at.exception
    assert at.selectbox(key="cmp_campaign").value == "K1" and at.selectbox(key="cmp_store").value is None
    assert not [d for d in at.dataframe if "tracking_code" in d.value.columns]
    # Back again: nothing drilled
    at.query_params.pop("campaign")
    at.run()
    assert not at.exception and at.selectbox(key="cmp_campaign").value is None
    assert "Its stores" not in texts(at)
    # Forward, with a city the sidebar had not: the filters follow the URL too
    at.query_params["campaign"] = "K1"
    at.query_params["city"] = ["Hangzhou"]
    at.run()
    assert not at.exception
    assert at.selectbox(key="cmp_campaign").value == "K1"
    assert at.multiselect(key="flt_city").value == ["Hangzhou"]
    assert frame_with(at, "store_name")["store_id"].tolist() == ["S1"]     # K1's store in Hangzhou


def test_an_interaction_keeps_what_the_widgets_say(tiny):
    """A normal rerun (the URL is the one the last run left) never resets the widgets."""
    at = open_link("pages/campaigns.py", tiny, WINDOW)
    at.selectbox(key="cmp_campaign").select("K1").run()
    assert qp(at, "campaign") == ["K1"]
    at.selectbox(key="cmp_store").select("S1").run()
    assert not at.exception and at.selectbox(key="cmp_campaign").value == "K1"
    assert qp(at, "campaign") == ["K1"] and qp(at, "cstore") == ["S1"]


def test_the_store_view_of_a_week_opens_on_that_week(tiny):
    """Where a ticked overview row (or its Open link) lands: the store's view over the week's
    Monday..Sunday, on the Store drill (the tick itself: tests/browser/test_drill_browser.py)."""
    at = open_link("pages/overview.py", tiny, {"week": "2026-W45"})
    assert not at.exception
    attention = frame_with(at, "reason")
    assert attention["store_id"].tolist() == ["S1"]          # listed 4.5, customers gave 3.0 in W45
    assert attention["view"].tolist() == ["./symmetry?store=S1&from=2026-11-02&to=2026-11-08&week=2026-W45"]
    at = open_link("pages/symmetry.py", tiny, weekly.store_view_params("S1", weekly.Week(dt.date(2026, 11, 2))))
    assert not at.exception
    assert at.title[0].value == "Online-offline symmetry"
    assert at.multiselect(key="flt_store").value == ["S1"]
    assert at.date_input(key="flt_dates").value == (dt.date(2026, 11, 2), dt.date(2026, 11, 8))
    assert at.session_state["sym_tabs"] == "Store drill"                 # the stateful tabs open on it


def test_open_links_keep_the_week():
    week = weekly.Week(dt.date(2026, 11, 16))
    assert weekly.store_view_url("S 1", week) == "./symmetry?store=S+1&from=2026-11-16&to=2026-11-22&week=2026-W47"
    assert weekly.store_view_url("S1") == "./symmetry?store=S1"


def test_the_page_menu_keeps_the_filters(tiny):
    """A click in the page menu starts on a URL without our parameters: not a move; the filters
    stay and are written back into the URL."""
    at = open_link("pages/campaigns.py", tiny, {**WINDOW, "city": "Hangzhou"})
    assert not at.exception and at.multiselect(key="flt_city").value == ["Hangzhou"]
    at.query_params.clear()
    at.switch_page("pages/quality.py")
    at.run()
    assert not at.exception
    assert at.multiselect(key="flt_city").value == ["Hangzhou"]
    assert qp(at, "city") == ["Hangzhou"] and qp(at, "from") == ["2026-11-02"]


def test_a_store_bar_on_the_efficiency_page_opens_the_store_view(tiny):
    at = open_link("pages/efficiency.py", tiny, {**WINDOW, "channel": "wechat"})
    assert not at.exception
    # capacity by store: each bar carries (weeks over capacity, busiest week, store id), the id last;
    # S3 has no capacity, so no bar
    ids = [data[-1] for data in bar_ids(at, "eff_capacity_stores")]
    assert sorted(ids) == ["S1", "S2"]
    key = chart_key(at, "pick_eff_capacity_stores_")
    at.session_state[key] = {"selection": {"points": [{"customdata": [0, 0.5, "S2"]}], "point_indices": [0],
                                           "box": [], "lasso": []}}
    at.run()
    assert not at.exception
    page, query = drill_link(at)        # followed by the browser (tests/browser/test_drill_browser.py)
    assert page == "symmetry"
    assert query["store"] == ["S2"] and query["channel"] == ["wechat"] and query["from"] == [WINDOW["from"]]
    at = open_link("pages/symmetry.py", tiny, {k: v[0] for k, v in query.items()})
    assert not at.exception
    assert at.title[0].value == "Online-offline symmetry"
    assert at.multiselect(key="flt_store").value == ["S2"]


def drill_link(at) -> tuple[str, dict[str, list[str]]]:
    """Where the run's drill goes: the page and query parameters of the one link frame.drill_to
    shows (and the browser follows at once: one history entry for the page and its parameters)."""
    from urllib.parse import parse_qs

    links = [el.proto for el in at.get("page_link")]
    assert len(links) == 1, links
    return links[0].page, parse_qs(links[0].query_string)
