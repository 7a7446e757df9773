"""pydeck builders (o2o_ops.maps): pure, stable layer ids, 0/1/2-row frames, no basemap (the
density, city and label layers: tests/test_map_levels.py)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from o2o_ops import maps

COLUMNS = ["store_id", "store_name", "store_city", "store_category", "lat", "lon", "symmetry_index",
           "avg_rating", "orders", "redemptions", "on_attention"]
ROWS = [
    ("S1", "Lakeside Noodles", "Hangzhou", "restaurant", 30.25, 120.13, 40.0, 3.0, 100, 80, True),
    ("S2", "Bund Hotel", "Shanghai", "hotel", 31.23, 121.47, 90.0, 4.4, 25, 20, False),
]


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(ROWS[:n], columns=COLUMNS)


def layer_json(layer) -> dict:
    return json.loads(maps.build_deck([layer], maps.view_for(frame(2))).to_json())["layers"][0]


@pytest.mark.parametrize("n", [0, 1, 2])
def test_store_points_layer(n):
    layer = maps.store_points_layer(frame(n), "symmetry_index")
    assert layer.id == maps.STORES_LAYER and layer.type == "ScatterplotLayer"
    data = layer_json(layer)
    assert data["radiusUnits"] == "pixels"          # a literal, not an expression looking up a column
    rows = data["data"]
    assert len(rows) == n
    if n == 2:
        s1, s2 = rows
        assert s1["color"] == [220, 38, 38, 210] and s2["color"] == [22, 163, 74, 210]  # worst red, best green
        assert s1["radius"] == pytest.approx(maps.MAX_RADIUS_PX)
        assert s2["radius"] == pytest.approx(maps.MIN_RADIUS_PX + (maps.MAX_RADIUS_PX - maps.MIN_RADIUS_PX) * 0.5)
        assert (s1["kpi_text"], s1["category_label"], s1["orders_text"]) == ("40", "restaurant", "100")
    if n == 1:
        assert rows[0]["color"] == maps.color_for(40.0, 40.0, 40.0)   # a single store sits mid-scale


def test_store_points_layer_rejects_unknown_kpi():
    with pytest.raises(ValueError):
        maps.store_points_layer(frame(1), "store_id; DROP TABLE stores")


@pytest.mark.parametrize("n", [0, 1, 2])
def test_attention_layer(n):
    layer = maps.attention_layer(frame(n))
    assert layer.id == maps.ATTENTION_LAYER
    rows = layer_json(layer)["data"]
    assert [r["store_id"] for r in rows] == ["S1"][: min(n, 1)]


def test_colour_scale_and_legend():
    assert maps.color_for(0, 0, 10) == [220, 38, 38, 210]
    assert maps.color_for(5, 0, 10) == [234, 179, 8, 210]
    assert maps.color_for(10, 0, 10, higher_is_better=False) == [220, 38, 38, 210]
    assert maps.color_for(float("nan"), 0, 10) == maps.MISSING_RGBA
    scale = maps.legend("avg_rating", 3.0, 5.0)
    assert scale["label"].tolist() == ["3.00 ★", "3.50 ★", "4.00 ★", "4.50 ★", "5.00 ★"]
    assert scale["css"].iloc[0] == "rgb(220,38,38)" and scale["css"].iloc[-1] == "rgb(22,163,74)"
    assert maps.legend("avg_rating", None, None).empty
    assert len(maps.legend("avg_rating", 4.0, 4.0)) == 1
    assert "Average rating" in maps.legend_html("avg_rating", 3.0, 5.0)
    assert maps.kpi_range(frame(2), "symmetry_index") == (40.0, 90.0)
    assert maps.kpi_range(frame(0), "symmetry_index") is None


def test_deck_has_no_basemap_and_one_tooltip():
    deck = maps.build_deck([maps.store_points_layer(frame(2), "avg_rating")], maps.view_for(frame(2)), "avg_rating")
    spec = json.loads(deck.to_json())
    # pydeck's "not given" marker, which Streamlit reads as no basemap (None would fetch its theme's Carto tiles)
    assert spec.get("mapStyle") == maps.NO_MAP_STYLE == "__MAP_STYLE__" and deck.map_provider is None
    assert "Average rating: <b>{kpi_text}</b>" in deck._tooltip["html"]
    assert "{store_name}" in deck._tooltip["html"] and "{category_label}" in deck._tooltip["html"]


@pytest.mark.parametrize("n", [0, 1, 2])
def test_view_and_cells(n):
    view = maps.view_for(frame(n))
    if n == 2:
        assert view.latitude == pytest.approx((30.25 + 31.23) / 2)
        assert view.longitude == pytest.approx((120.13 + 121.47) / 2)
        assert maps.cell_degrees(frame(2)) == pytest.approx(0.98 / maps.CELLS_ACROSS)
    else:
        assert 1 <= view.zoom <= 13
        assert 0.002 <= maps.cell_degrees(frame(n)) <= 1.5


def test_selected_store_ids():
    selection = {"selection": {"indices": {}, "objects": {
        "stores": [{"store_id": "S2"}, {"store_id": "S1"}], "attention": [{"store_id": "S1"}],
        "redemptions": [{"lat": 1}]}}}
    assert maps.selected_store_ids(selection) == ["S1", "S2"]
    assert maps.selected_store_ids(None) == []
    assert maps.selected_store_ids({"selection": {"objects": {}}}) == []


def test_city_labels_layer_with_0_1_2_rows():
    import pandas as pd

    from o2o_ops import maps

    empty = maps.city_labels_layer(pd.DataFrame(columns=["store_city", "lat", "lon"]))
    assert empty.id == "city-labels" and len(empty.data) == 0
    one = maps.city_labels_layer(pd.DataFrame({"store_city": ["Hangzhou"], "lat": [30.0], "lon": [120.0]}))
    assert [(r["city"], r["lat"], r["lon"]) for r in one.data] == [("Hangzhou", pytest.approx(30.0), 120.0)]
    two = maps.city_labels_layer(pd.DataFrame({"store_city": ["Hangzhou", "Hangzhou"],
                                               "lat": [30.0, 30.2], "lon": [120.0, 120.4]}))
    assert len(two.data) == 1
    assert (two.data[0]["lat"], two.data[0]["lon"]) == (pytest.approx(30.1), pytest.approx(120.2))
