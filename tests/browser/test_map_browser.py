"""The store map in headless Chromium: the deck.gl canvas renders with no basemap and no error box,
and clicking a store puts it into the shared store filter (and the URL)."""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import parse_qs, urlparse

import duckdb

from browser_util import error_boxes, screenshot, wait_for_app
from o2o_ops import maps, symmetry
from o2o_ops.filters import Filters


def _pixel(lat: float, lon: float, view, width: float, height: float) -> tuple[float, float]:
    """Web-Mercator projection of (lat, lon) into the deck's canvas (deck.gl: 512 px world at zoom 0)."""
    size = 512 * 2 ** view.zoom

    def world(la: float, lo: float) -> tuple[float, float]:
        x = (lo + 180) / 360 * size
        y = (1 - math.log(math.tan(math.pi / 4 + math.radians(la) / 2)) / math.pi) / 2 * size
        return x, y

    x, y = world(lat, lon)
    cx, cy = world(view.latitude, view.longitude)
    return width / 2 + x - cx, height / 2 + y - cy


def test_map_renders_and_selection_filters(app_url, page, demo_warehouse):
    page.goto(app_url)                       # the router first, so /map runs inside dashboard.py
    wait_for_app(page)
    page.goto(f"{app_url}/map")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text().strip() == "Store map"
    chart = page.locator('[data-testid="stDeckGlJsonChart"]')
    chart.wait_for(timeout=60_000)
    canvas = chart.locator("canvas").first
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 300
    assert error_boxes(page) == []
    assert page.get_by_text("Symmetry index").first.is_visible()          # the legend
    shot = screenshot(page, "map")
    assert shot.exists() and shot.stat().st_size > 10_000

    # click the store with the most orders (the largest dot) where the page's view puts it
    query = parse_qs(urlparse(page.url).query)          # the sidebar writes its dates into the URL
    filters = Filters(start=dt.date.fromisoformat(query["from"][0]), end=dt.date.fromisoformat(query["to"][0]))
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        stores = symmetry.map_stores(con, filters)
    target = stores.sort_values("orders", ascending=False).iloc[0]
    x, y = _pixel(target["lat"], target["lon"], maps.view_for(stores), box["width"], box["height"])
    page.mouse.click(box["x"] + x, box["y"] + y)
    # stores of one city overlap at this zoom, so the pick may be a neighbour: any store will do
    page.wait_for_function("() => window.location.search.includes('store=')", timeout=60_000)
    wait_for_app(page)
    picked = parse_qs(urlparse(page.url).query)["store"]
    assert len(picked) == 1 and picked[0] in set(stores["store_id"])
    assert f"({picked[0]})" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert error_boxes(page) == []
    screenshot(page, "map-selected")
