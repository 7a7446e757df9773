"""The map at every zoom (o2o_ops.maps, o2o_ops.symmetry's map queries): city aggregates, store
labels, the density layer, the optional basemap, and attention rings that mean "needs attention
now". Values checked by hand on the tiny warehouse (tests/tiny.py), window 2026-11-02..15:

- Hangzhou: S1 (30.25, 120.13), orders O1, O2 (both redeemed) -> 1 store, 2 orders, 2 redemptions.
- Shanghai: S2 (31.23, 121.47; O3 expired, O4 cancelled) and S3 (31.19, 121.44; O5 redeemed) ->
  2 stores centred at (31.21, 121.455), 3 orders, 1 redemption.
- S1's two reviews (4 and 2 stars, 2 and 3 Nov) against its listed 4.5 give a rating gap of 1.5:
  over the whole window it is on the attention list (review floor 1), but its latest complete
  week (9-15 Nov) has no review at all, so it needs no attention *now*; in a window ending on
  Sunday 8 Nov it does.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pandas as pd
import pydeck as pdk
import pytest

from o2o_ops import maps, metrics, symmetry
from o2o_ops.filters import Filters
from tiny import END, START, build_tiny

WINDOW = Filters(start=START, end=END)


@pytest.fixture(autouse=True)
def _tiny_review_floor(monkeypatch):
    monkeypatch.setenv("O2O_MIN_REVIEWS", "1")


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build_tiny(tmp_path_factory.mktemp("maplevels") / "tiny.duckdb")
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def deck_layer(layer) -> dict:
    return json.loads(maps.build_deck([layer], pdk_view()).to_json())["layers"][0]


def pdk_view():
    return maps.view_for(pd.DataFrame({"lat": [30.0, 31.0], "lon": [120.0, 121.0]}))


def test_attention_week_is_the_latest_complete_week(con):
    assert symmetry.attention_week(con, WINDOW) == (dt.date(2026, 11, 9), dt.date(2026, 11, 15))
    # ending on a Thursday: the week before, complete
    assert symmetry.attention_week(con, WINDOW.replace(end=dt.date(2026, 11, 12))) == (
        dt.date(2026, 11, 2), dt.date(2026, 11, 8))
    # no complete week inside the window: the week of its end
    assert symmetry.attention_week(con, Filters(start=dt.date(2026, 11, 10), end=dt.date(2026, 11, 12))) == (
        dt.date(2026, 11, 9), dt.date(2026, 11, 15))


def test_rings_mean_needs_attention_now_not_once_in_the_period(con):
    over_period = symmetry.attention_list(con, WINDOW)
    assert over_period["store_id"].tolist() == ["S1"]          # the period's gap: 4.5 listed, 3.0 given
    now = symmetry.map_stores(con, WINDOW).set_index("store_id")["on_attention"]
    assert now.to_dict() == {"S1": False, "S2": False, "S3": False}   # no review of S1 in 9-15 Nov
    earlier = symmetry.map_stores(con, WINDOW.replace(end=dt.date(2026, 11, 8))).set_index("store_id")["on_attention"]
    assert earlier[earlier].index.tolist() == ["S1"]            # 2-8 Nov holds both of S1's reviews


def test_city_aggregates_add_up_by_hand(con):
    stores = symmetry.map_stores(con, WINDOW, kpis=("redemption_rate",))
    cities = maps.city_points(stores, symmetry.map_cities(con, WINDOW, "redemption_rate"), "redemption_rate")
    by_city = cities.set_index("city")
    assert by_city.loc["Hangzhou", ["stores", "orders", "redemptions", "attention"]].tolist() == [1, 2, 2, 0]
    assert by_city.loc["Shanghai", ["stores", "orders", "redemptions", "attention"]].tolist() == [2, 3, 1, 0]
    assert by_city.loc["Shanghai", "lat"] == pytest.approx(31.21)
    assert by_city.loc["Shanghai", "lon"] == pytest.approx(121.455)
    assert cities["city"].tolist() == ["Shanghai", "Hangzhou"]   # most orders first
    # the city's KPI is the city's own, computed from its sums, not a mean of its stores' values
    whole = metrics.compute(con, WINDOW.replace(cities=("Shanghai",)), "total", ["redemption_rate"])
    assert by_city.loc["Shanghai", "kpi_value"] == pytest.approx(float(whole["redemption_rate"].iloc[0]))


def test_levels_and_districts(con):
    stores = symmetry.map_stores(con, WINDOW)
    assert maps.level_for("auto", stores) == "stores"                       # 3 stores read one by one
    assert maps.level_for("auto", stores, min_stores=2) == "cities"         # many, in two cities: aggregates
    assert maps.level_for("auto", stores, city_filter=True, min_stores=2) == "stores"   # a city picked
    assert maps.level_for("stores", stores) == "stores" and maps.level_for("cities", stores) == "cities"
    one_city = symmetry.map_stores(con, WINDOW.replace(cities=("Shanghai",)))
    assert maps.level_for("auto", one_city, min_stores=1) == "stores"      # one city: its stores
    districts = maps.district_points(stores)
    # S3 has no district: left out; S1 alone in Xihu, S2 alone in Huangpu: named in its label
    assert sorted(districts["district"]) == ["Huangpu", "Xihu"]
    assert sorted(districts["label"]) == ["Bund Hotel · Huangpu", "Lakeside Noodles · Xihu"]
    assert sorted(districts["only_store"]) == ["S1", "S2"]
    # two stores in one district: the district's name only
    two = stores.assign(store_district=["Xihu", "Xihu", "Xihu"], store_city="Hangzhou")
    together = maps.district_points(two)
    assert together[["label", "only_store"]].values.tolist() == [["Xihu", ""]]
    assert together["orders"].iloc[0] == stores["orders"].sum()
    # a lone store's label names its district too; the others keep their names
    dots = maps.with_lone_districts(maps.store_dots(stores), districts).set_index("store_id")
    assert dots["label"].to_dict() == {"S1": "Lakeside Noodles · Xihu", "S2": "Bund Hotel · Huangpu",
                                       "S3": "Xuhui Dumplings"}


@pytest.mark.parametrize("n", [0, 1, 2])
def test_city_layer_with_0_1_2_cities(n):
    cities = pd.DataFrame({"city": ["Shanghai", "Hangzhou"][:n], "lat": [31.21, 30.25][:n],
                           "lon": [121.455, 120.13][:n], "stores": [2, 1][:n], "attention": [1, 0][:n],
                           "orders": [3, 2][:n], "redemptions": [1, 2][:n], "kpi_value": [0.5, 1.0][:n]})
    layer = maps.city_layer(cities, "redemption_rate")
    assert layer.id == maps.CITIES_LAYER
    rows = deck_layer(layer)["data"]
    assert len(rows) == n
    if n == 2:
        shanghai, hangzhou = rows
        assert shanghai["store_city"] == "2 stores · 1 needs attention now"     # the tooltip's second line
        assert hangzhou["store_city"] == "1 store" and hangzhou["category_label"] == "City"
        assert shanghai["line"] == maps.ATTENTION_RGBA and hangzhou["line"][:3] == [255, 255, 255]
        assert shanghai["radius"] == pytest.approx(maps.CITY_MAX_RADIUS_PX)
        assert shanghai["color"] == [220, 38, 38, 210] and hangzhou["color"] == [22, 163, 74, 210]
    assert maps.selected_cities({"selection": {"objects": {"cities": [{"city": "Shanghai"}]}}}) == ["Shanghai"]
    assert maps.selected_cities(None) == []


@pytest.mark.parametrize("n", [0, 1, 2])
def test_labels_never_overlap(n):
    # two stores 11 m apart: at zoom 10 one label box covers the other; at zoom 20 they part
    points = pd.DataFrame({"store_name": ["Big", "Small"][:n], "lat": [31.0, 31.0001][:n],
                           "lon": [121.0, 121.0001][:n], "orders": [100, 20][:n]})
    spec = deck_layer(maps.labels_layer(points, text_column="store_name", zoom=10))
    assert spec["@@type"] == "TextLayer" and spec["id"] == maps.LABELS_LAYER
    assert spec["characterSet"] == "auto"           # Chinese names get their glyphs
    assert [r["label"] for r in spec["data"]] == ["Big"][: min(n, 1)]     # the busier store keeps its label
    close = deck_layer(maps.labels_layer(points, text_column="store_name", zoom=20))
    assert [r["label"] for r in close["data"]] == ["Big", "Small"][:n]
    # boxes are shared between layers: a label already placed blocks the next layer's
    taken: list = []
    maps.labels_layer(points.head(1), text_column="store_name", zoom=10, taken=taken)
    later = deck_layer(maps.labels_layer(points.tail(1) if n else points, text_column="store_name", zoom=10, taken=taken))
    assert later["data"] == []


def test_label_boxes_by_hand():
    # at zoom 0 the world is 512 px wide: lon 0 -> x 256; a 3-letter label at size 10 is 3*6+8 = 26 px wide
    rows = pd.DataFrame({"label": ["abc", "xyz", "far"], "lat": [0.0, 0.0, 0.0], "lon": [0.0, 18.0, 40.0],
                         "priority": [3.0, 2.0, 1.0]})
    # lon 18 -> x 281.6, 25.6 px right of "abc": the boxes (243-269, 268.6-294.6) overlap; lon 40 -> 312.9: free
    placed = maps.place_labels(rows, 0, size=10, offset=0)
    assert placed["label"].tolist() == ["abc", "far"]



def test_a_long_label_falls_back_to_its_short_text():
    # zoom 0, size 10: lon 40 -> x 312.9; "far · Xihu" is 10 * 6 + 8 = 68 px wide (278.9-346.9),
    # "far" 26 px (299.9-325.9); "xyz"'s box from the test above (268.6-294.6) is taken
    rows = pd.DataFrame({"label": ["far · Xihu"], "lat": [0.0], "lon": [40.0], "priority": [1.0], "short": ["far"]})
    assert maps.place_labels(rows, 0, size=10, offset=0)["label"].tolist() == ["far · Xihu"]   # room for it all
    placed = maps.place_labels(rows, 0, size=10, offset=0, taken=[(268.6, 242.0, 294.6, 256.0)])
    assert placed["label"].tolist() == ["far"] and "short" not in placed


def test_labels_stay_inside_the_map():
    # zoom 0, the view at 0, 0: its centre is x 256, y 256; a 100 × 60 px map spans x 206-306 (2 px
    # kept inside: 208-304). "abcdef" at lon 50 (x 327.1) is off it; "abc" at lon 0 (243-269) fits;
    # "abcdefghijklmnop" at lon 0 is 16 * 6 + 8 = 104 px wide: wider than the map, left out
    view = pdk.ViewState(latitude=0.0, longitude=0.0, zoom=0)
    walls = maps.edge_boxes(view, 100, 60)
    assert walls[0][2] == pytest.approx(208) and walls[1][0] == pytest.approx(304)
    assert walls[2][3] == pytest.approx(228) and walls[3][1] == pytest.approx(284)
    rows = pd.DataFrame({"label": ["abcdef", "abc", "abcdefghijklmnop"], "lat": [0.0] * 3, "lon": [50.0, 0.0, 0.0],
                         "priority": [3.0, 2.0, 1.0]})
    assert maps.place_labels(rows, 0, size=10, offset=0, taken=walls)["label"].tolist() == ["abc"]


def test_city_bubbles_never_overlap_at_the_initial_zoom():
    # zoom 0: the world is 512 px wide, lon 0 -> x 256, lon 18 -> x 281.6, lon 90 -> x 384 (all at lat 0)
    cities = pd.DataFrame({"city": ["A", "B", "C"], "lat": [0.0, 0.0, 0.0], "lon": [0.0, 18.0, 90.0],
                           "orders": [100, 25, 4]})
    # square-root scale between 10 and 36 px: A 36, B 10 + 26 * 0.5 = 23, C 10 + 26 * 0.2 = 15.2
    assert maps.city_radii(cities, None).tolist() == pytest.approx([36.0, 23.0, 15.2])
    # A and B are 25.6 px apart: each is capped at (25.6 - 6) / 2 = 9.8; C's nearest (B) is 102.4 px away,
    # its cap 48.2 is above its own 15.2
    radii = maps.city_radii(cities, 0)
    assert radii.tolist() == pytest.approx([9.8, 9.8, 15.2])
    assert 9.8 + 9.8 + maps.CITY_GAP_PX == pytest.approx(25.6)           # the gap left between A and B
    # one zoom step closer every distance doubles: A and B get (51.2 - 6) / 2 = 22.6 each
    assert maps.city_radii(cities, 1).tolist() == pytest.approx([22.6, 22.6, 15.2])
    layer = deck_layer(maps.city_layer(cities.assign(stores=1, attention=0, redemptions=0, kpi_value=0.5),
                                       "redemption_rate", zoom=0))
    assert [r["radius"] for r in layer["data"]] == pytest.approx([9.8, 9.8, 15.2])
    # the boxes labels must keep clear of: A's square 256 ± 9.8 around y 256
    assert maps.bubble_boxes(cities.assign(radius=radii), 0)[0] == pytest.approx((246.2, 246.2, 265.8, 265.8))


def test_a_bubble_label_goes_above_else_under_its_bubble():
    # zoom 0, size 10: "abc" is 3 * 6 + 8 = 26 px wide; A at x 256, B at x 257.4 (lon 1), both y 256, radius 10
    rows = pd.DataFrame({"label": ["abc", "xyz"], "lat": [0.0, 0.0], "lon": [0.0, 1.0], "priority": [2.0, 1.0],
                         "radius": [10.0, 10.0]})
    placed = maps.place_labels(rows, 0, size=10, offset=0, below=True)
    # A above: baseline 10 + 3 px over its centre (box y 229-243); B's place above is taken, so it goes
    # under: baseline 10 + 10 + 7 = 27 px below its centre (box y 269-283)
    assert placed["label"].tolist() == ["abc", "xyz"] and placed["offset"].tolist() == [-13.0, 27.0]
    assert maps.place_labels(rows, 0, size=10, offset=0)["label"].tolist() == ["abc"]   # above only: B has none
    # the text layer draws each label at its own offset (moved east: a store at 0, 0 counts as unplaced)
    spec = deck_layer(maps.labels_layer(rows.rename(columns={"label": "city", "priority": "orders"})
                                        .assign(lon=[36.0, 37.0]),
                                        text_column="city", size=10, zoom=0, radius_column="radius"))
    assert [(r["label"], r["pixel_offset"]) for r in spec["data"]] == [("abc", [0.0, -13.0]), ("xyz", [0.0, 27.0])]
    assert spec["getPixelOffset"] == "@@=pixel_offset"


def test_store_dots_carry_the_radius_they_are_drawn_at(con):
    stores = symmetry.map_stores(con, WINDOW)
    dots = maps.store_dots(stores).set_index("store_id")
    drawn = {r["store_id"]: r["radius"] for r in deck_layer(maps.store_points_layer(stores, "symmetry_index"))["data"]}
    # S1 2 orders (the most), S2 2 (O3, O4), S3 1: sqrt scale between 4 and 22 px
    assert dots["radius"].to_dict() == pytest.approx(drawn)
    assert dots.loc["S3", "radius"] == pytest.approx(4 + 18 * 0.5 ** 0.5)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_density_layer_radius_is_in_pixels(n):
    bins = pd.DataFrame({"lat": [30.0, 31.0][:n], "lon": [120.0, 121.0][:n], "redemptions": [4.0, 1.0][:n],
                         "cell_degrees": [1.0, 1.0][:n]})
    spec = deck_layer(maps.redemption_density_layer(bins))
    assert spec["@@type"] == "HeatmapLayer" and spec["id"] == maps.REDEMPTIONS_LAYER
    assert spec["radiusPixels"] == maps.HEAT_RADIUS_PX          # readable at any zoom, unlike metres
    assert [r["redemptions"] for r in spec["data"]] == [4.0, 1.0][:n]


def test_basemap_is_optional_and_off_by_default():
    assert maps.basemap_layer("") is None and maps.basemap_layer("  ") is None
    assert maps.basemap_credit("") == ""
    with pytest.raises(ValueError, match=r"\{x\}, \{y\} and \{z\}"):
        maps.basemap_layer("https://tiles.example.com/tile.png")
    template = "https://tiles.example.com/{z}/{x}/{y}.png"
    spec = deck_layer(maps.basemap_layer(template))
    assert spec["@@type"] == "TerrainLayer" and spec["id"] == maps.BASEMAP_LAYER
    assert spec["texture"] == template and spec["elevationData"] == template
    assert spec["elevationDecoder"] == {"rScaler": 0, "gScaler": 0, "bScaler": 0, "offset": 0}   # flat
    assert maps.basemap_credit(template) == "Map tiles: tiles.example.com"
    assert maps.basemap_credit(template, "© OpenStreetMap contributors") == "Map tiles: © OpenStreetMap contributors"


def test_a_phone_map_is_zoomed_out_to_frame_the_same_stores():
    stores = pd.DataFrame({"lat": [30.0, 31.0], "lon": [120.0, 121.0]})
    wide = maps.view_for(stores)
    # 350 px across instead of 800 or more: log2(800 / 350) = 1.19 zoom steps out, the same centre
    assert maps.view_for(stores, width_px=350).zoom == pytest.approx(wide.zoom - 1.1926, abs=1e-4)
    assert maps.view_for(stores, width_px=350).latitude == wide.latitude == 30.5
    assert maps.view_for(stores, width_px=1200).zoom == wide.zoom
