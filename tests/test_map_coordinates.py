"""Stores without coordinates (allowed by the contract) are listed beside the map, never drawn
at (0, 0); the redemption density cells skip them. Checked by hand on the ``no_coordinates`` shape
(tests/partial_shapes.py: s2 and s4 have empty lat/lon) against counts taken from its CSV rows."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import duckdb
import pandas as pd
import pytest

from apptest_util import leaks, open_link, shown
from o2o_ops import db, ingest, maps, symmetry
from o2o_ops.filters import Filters
from partial_shapes import NO_COORDINATES, SHAPES, Shape, build_shape, shape_rows

WINDOW = Filters(start=dt.date(2026, 10, 5), end=dt.date(2026, 11, 1))


@pytest.fixture(scope="module")
def con(partial_warehouse):
    c = db.connect(partial_warehouse("no_coordinates"))
    yield c
    c.close()


def redemptions_by_store() -> Counter:
    """Redeemed orders per store, counted from the shape's CSV rows (not through the app)."""
    rows = shape_rows(SHAPES["no_coordinates"])
    redeemed = {r["order_id"] for r in rows["redemptions"][1]}
    return Counter(o["store_id"] for o in rows["orders"][1] if o["order_id"] in redeemed and o["status"] != "cancelled")


def test_map_stores_keeps_stores_without_coordinates_and_says_which(con):
    stores = symmetry.map_stores(con, WINDOW).set_index("store_id")
    assert sorted(stores.index) == ["s1", "s2", "s3", "s4", "s5"]
    assert stores["has_coordinates"].to_dict() == {"s1": True, "s2": False, "s3": True, "s4": False, "s5": True}
    assert stores.loc[list(NO_COORDINATES), ["lat", "lon"]].isna().all().all()
    assert maps.unlocated(stores.reset_index())["store_id"].tolist() == ["s2", "s4"]
    assert maps.located(stores.reset_index())["store_id"].tolist() == ["s1", "s3", "s5"]


def test_density_cells_skip_stores_without_coordinates(con):
    counts = redemptions_by_store()
    bins = symmetry.redemption_bins(con, WINDOW, 1.0)
    # s1 (30.25, 120.16) -> cell (30, 120); s3 (31.23, 121.47) -> (31, 121); s5 (31.21, 121.50) -> (31, 122)
    assert bins[["lat", "lon", "redemptions"]].values.tolist() == [
        [30.0, 120.0, counts["s1"]], [31.0, 121.0, counts["s3"]], [31.0, 122.0, counts["s5"]]]
    assert counts["s2"] > 0 and counts["s4"] > 0  # they had redemptions: left out, not lost by accident


def test_layers_and_view_place_only_located_stores(con):
    stores = symmetry.map_stores(con, WINDOW)
    points = maps.store_points_layer(stores, "redemption_rate").data
    assert sorted(p["store_id"] for p in points) == ["s1", "s3", "s5"]
    assert all(p["lat"] != 0 and p["lon"] != 0 for p in points)
    view = maps.view_for(stores)
    assert view.latitude == pytest.approx((30.25 + 31.23) / 2) and view.longitude == pytest.approx((120.16 + 121.50) / 2)
    assert {r["city"] for r in maps.city_labels_layer(stores).data} == {"Hangzhou", "Shanghai"}


def test_a_zero_zero_placeholder_counts_as_no_coordinates():
    df = pd.DataFrame({"store_id": ["a", "b", "c"], "lat": [0.0, 30.0, None], "lon": [0.0, 120.0, 121.0],
                       "orders": [1, 2, 3], "on_attention": [True, True, True], "store_name": ["A", "B", "C"]})
    assert maps.unlocated(df)["store_id"].tolist() == ["a", "c"]
    assert [p["store_id"] for p in maps.attention_layer(df).data] == ["b"]
    assert maps.unlocated_note(0) == ""
    assert maps.unlocated_note(1).startswith("1 store has no coordinates")
    assert maps.unlocated_note(12).startswith("12 stores have no coordinates (latitude/longitude missing or 0, 0)")


def test_map_page_lists_them_apart(partial_warehouse):
    at = open_link("pages/map.py", partial_warehouse("no_coordinates"))
    assert not at.exception and not at.error
    assert any(shown(w.value).startswith("2 stores have no coordinates") for w in at.warning)
    assert [e.label for e in at.expander] == ["Stores without coordinates (2)"]
    listed = at.dataframe[0].value
    assert listed["store_id"].tolist() == ["s2", "s4"] and listed["store_name"].tolist() == ["Lake Hotel", "Dumpling Bar"]
    deck = json.loads(at.get("deck_gl_json_chart")[0].proto.json)
    placed = next(layer for layer in deck["layers"] if layer["id"] == "stores")["data"]
    assert sorted(p["store_id"] for p in placed) == ["s1", "s3", "s5"]
    assert any(c.value.startswith("3 stores · ") for c in at.caption)


def test_map_page_when_no_store_has_coordinates(tmp_path):
    everyone = ("s1", "s2", "s3", "s4", "s5")
    shape = Shape("none_placed", ("stores", "customers", "orders"), drop={"orders": ("campaign_id",)},
                  blank={"stores": {"lat": everyone, "lon": everyone}})
    wh = build_shape(shape, tmp_path / "files", tmp_path / "none.duckdb")
    at = open_link("pages/map.py", wh)
    assert not at.exception and not at.error
    # not "None of the 5 stores …": a sentence opening on None reads as a leaked None to the checks
    assert any("No store of the 5 with orders under these filters has coordinates" in shown(i.value) for i in at.info)
    assert not leaks(at), leaks(at)
    assert not at.get("deck_gl_json_chart")
    assert at.dataframe[0].value["store_id"].tolist() == list(everyone)


def test_a_warehouse_made_when_coordinates_were_required_still_requires_them(tmp_path):
    """DuckDB cannot drop NOT NULL from a table other tables reference, so a warehouse created
    before coordinates became optional keeps asking for them, in words, instead of failing."""
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(db.load_sql("schema").replace("lat                 DOUBLE  CHECK", "lat DOUBLE NOT NULL CHECK"))
    con.close()
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "stores.csv").write_text("store_id,name,category,city,lat,lon\ns9,New,spa,Ningbo,,\n")
    with pytest.raises(ingest.ImportRejected) as caught:
        ingest.import_dir(tmp_path / "in", warehouse=old)
    assert [(p.row, p.column, p.message) for p in caught.value.problems] == [(2, "lat", "lat is required but empty")]
    fresh = tmp_path / "new.duckdb"
    ingest.import_dir(tmp_path / "in", warehouse=fresh)
    con = duckdb.connect(str(fresh), read_only=True)
    assert con.execute("SELECT store_id, lat, lon FROM stores").fetchall() == [("s9", None, None)]
    con.close()
