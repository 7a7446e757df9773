"""AppTests for the symmetry page and the store map on the tiny warehouse (see tests/tiny.py).

With from=2026-11-02 the window holds O1..O5 (the link's `to` is clamped to the last order date).
S1 Lakeside Noodles over-promises: listed 4.5, customers give 3.0; 50% as described.
"""

from __future__ import annotations

import json

import duckdb
import pytest

from apptest_util import open_page, texts
from o2o_ops import metrics
from o2o_ops.filters import Filters
from tiny import START, build_tiny

WINDOW = {"from": "2026-11-02", "to": "2026-11-15"}


@pytest.fixture(autouse=True)
def _tiny_review_floor(monkeypatch):
    """The tiny warehouse has at most two reviews a store: judge stores from one review."""
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("sympages") / "tiny.duckdb")


def registry(warehouse, filters, names):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return metrics.compute(con, filters, "total", names).iloc[0]


def metric_values(at) -> dict[str, str]:
    values: dict[str, str] = {}
    for m in at.metric:
        values.setdefault(m.label, m.value)   # first card of each label: the page's KPI row
    return values


def test_symmetry_page_shows_registry_values(warehouse):
    at = open_page("pages/symmetry.py", warehouse, query=WINDOW)
    assert not at.exception
    shown = metric_values(at)
    filters = Filters(start=START, end=__import__("datetime").date(2026, 11, 10))
    expected = registry(warehouse, filters, ("symmetry_index", "rating_gap", "wait_gap_minutes", "deal_customer_gap"))
    for name in ("symmetry_index", "rating_gap", "wait_gap_minutes", "deal_customer_gap"):
        kpi = metrics.KPIS[name]
        assert shown[kpi.label] == kpi.format(expected[name])
    assert shown["Deal-customer gap"] == "+0.50 ★"   # deal O1 rated 4; full price O2 2 and O5 5 -> 3.5
    body = texts(at)
    assert "(S1, Hangzhou) — listed 4.5, customers give 3.0; only 50% say it was as described" in body
    table = at.dataframe[0].value.set_index("store_id")
    assert table.loc["S1", "actual_wait_minutes"] == pytest.approx(11.5)


def test_symmetry_page_link_opens_store_drill(warehouse):
    at = open_page("pages/symmetry.py", warehouse, query={**WINDOW, "store": "S1"})
    assert not at.exception
    assert at.selectbox(key="sym_drill_store").value == "S1"
    assert "Lakeside Noodles · Hangzhou · restaurant" in [h.value for h in at.subheader]
    shown = [(m.label, m.value) for m in at.metric]
    assert ("Symmetry index", "80") in shown and ("Average rating", "3.00 ★") in shown   # hand-computed, see test_symmetry
    reviews = at.dataframe[-1].value
    assert reviews["order_id"].tolist() == ["O2"] and reviews["rating"].tolist() == [2]


def test_symmetry_filter_change_and_threshold(warehouse):
    at = open_page("pages/symmetry.py", warehouse, query={**WINDOW, "city": "Shanghai"})
    assert not at.exception
    assert "Lakeside Noodles" not in texts(at)
    assert any("No store over-promises" in s.value for s in at.success)
    at = open_page("pages/symmetry.py", warehouse, query=WINDOW)
    at.slider(key="sym_gap_threshold").set_value(1.6).run()
    assert not at.exception
    assert any("No store over-promises" in s.value for s in at.success)


def test_symmetry_empty_filter(warehouse):
    at = open_page("pages/symmetry.py", warehouse, query={"from": "2026-10-25", "to": "2026-10-26"})
    assert not at.exception
    assert any("No orders match these filters" in i.value for i in at.info)


def deck(at) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def test_map_page(warehouse):
    at = open_page("pages/map.py", warehouse, query=WINDOW)
    assert not at.exception
    spec = deck(at)
    layers = {layer["id"]: layer for layer in spec["layers"]}
    # three stores read one by one (the city level is for many stores in several cities)
    assert set(layers) == {"stores", "redemptions", "attention", "load-ahead", "district-labels", "city-labels",
                           "labels"}
    assert {r["label"] for r in layers["city-labels"]["data"]} == {"Hangzhou", "Shanghai"}
    assert [r["store_id"] for r in layers["stores"]["data"]] == ["S1", "S2", "S3"]
    # S1 and S2 are each alone in their district (Xihu, Huangpu): no district label of their own
    # (at the store's spot it hid the store's name); the store's label names the district. S2's
    # label, above or under it, would cover S3's bubble 5 km away (so would its name alone): S2 is
    # named in its tooltip; S3, in no district, keeps its name
    assert sorted(r["label"] for r in layers["labels"]["data"]) == ["Lakeside Noodles · Xihu", "Xuhui Dumplings"]
    assert layers["district-labels"]["data"] == []
    # the dates end with the data (10 Nov): the rings judge its latest complete week, 2-8 Nov, when
    # S1 over-promised (listed 4.5, reviews 4 and 2)
    assert [r["store_id"] for r in layers["attention"]["data"]] == ["S1"]
    s1 = layers["stores"]["data"][0]
    assert s1["kpi_text"] == "80"                                    # S1's symmetry index, default colour KPI
    assert "3 stores · 1 need attention now (red ring: the attention rule in 2 Nov – 8 Nov 2026)" in texts(at)
    at.segmented_control(key="map_level").set_value("cities").run()
    assert not at.exception
    layers = {layer["id"]: layer for layer in deck(at)["layers"]}
    assert set(layers) == {"redemptions", "cities", "labels"}
    assert [(r["store_name"], r["store_city"]) for r in layers["cities"]["data"]] == [
        ("Shanghai", "2 stores"), ("Hangzhou", "1 store · 1 needs attention now")]
    at.segmented_control(key="map_level").set_value("stores").run()
    # colour by another KPI from the allowlist
    at.selectbox(key="map_kpi").set_value("avg_rating").run()
    s1 = next(r for r in deck(at)["layers"] if r["id"] == "stores")["data"][0]
    assert s1["kpi_text"] == "3.00 ★"
    assert any("Average rating" in h.value for h in at.html)
    # switch a layer off
    at.pills(key="map_layers").set_value(["Stores"]).run()
    assert [layer["id"] for layer in deck(at)["layers"]] == ["stores", "district-labels", "city-labels", "labels"]
    # at city level the Stores pill switches the city bubbles (its stores, summed) off too
    at.segmented_control(key="map_level").set_value("cities").run()
    assert [layer["id"] for layer in deck(at)["layers"]] == ["cities", "labels"]
    at.pills(key="map_layers").set_value(["Redemption activity"]).run()
    assert [layer["id"] for layer in deck(at)["layers"]] == ["redemptions"]
    assert "Switch on at least one layer above." not in [i.value for i in at.info]
    # every layer off: the map says how to get them back
    at.pills(key="map_layers").set_value([]).run()
    assert not at.exception and deck(at)["layers"] == []
    assert "Switch on at least one layer above." in [i.value for i in at.info]


def test_map_page_filters_and_empty(warehouse):
    at = open_page("pages/map.py", warehouse, query={**WINDOW, "city": "Shanghai"})
    assert not at.exception
    # the week judged (9-15 Nov) holds no review of a Shanghai store: not "0 need attention now"
    assert "2 stores · no store judged for attention (no store had a review) · 0 forecast over capacity" in texts(at)
    at = open_page("pages/map.py", warehouse, query={"from": "2026-10-25", "to": "2026-10-26"})
    assert not at.exception
    assert any("No orders match these filters" in i.value for i in at.info)
    assert not at.get("deck_gl_json_chart")


def test_store_filter_from_url_reaches_the_pages(warehouse):
    """A map selection lands in the shared store filter (``flt_store`` / URL ``store``); that
    filter narrows the symmetry page and keeps every store on the map to pick from."""
    at = open_page("pages/symmetry.py", warehouse, query={**WINDOW, "store": "S2"})
    assert not at.exception and list(at.session_state["flt_store"]) == ["S2"]
    assert at.dataframe[0].value["store_id"].tolist() == ["S2"]
    at = open_page("pages/map.py", warehouse, query={**WINDOW, "store": "S2"})
    assert not at.exception
    assert len(next(r for r in deck(at)["layers"] if r["id"] == "stores")["data"]) == 3
    assert "Selected: Bund Hotel (S2)" in texts(at).replace("**", "")


def first_cards(at) -> dict:
    cards: dict = {}
    for m in at.metric:
        cards.setdefault(m.label, m)    # the page's KPI row comes first
    return cards


def test_symmetry_cards_compare_with_the_period_before_like_every_page(warehouse, demo_warehouse):
    at = open_page("pages/symmetry.py", warehouse, query=WINDOW)
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    # the range ends with the data (2026-11-10): the period before is the nine days before it
    assert "Changes compare 2026-11-02 → 2026-11-10 against 2026-10-24 → 2026-11-01" in captions
    # the tiny period before holds one order and no review: no change shown, never a change against 0
    cards = first_cards(at)
    assert cards["Symmetry index"].delta in (None, "")
    # on the demo the 13 weeks before have reviews: the index and the gaps carry their change
    at = open_page("pages/symmetry.py", demo_warehouse)
    assert not at.exception
    cards = first_cards(at)
    assert cards["Symmetry index"].delta and cards["Rating gap"].delta
    assert any("Changes compare" in c.value for c in at.caption)
