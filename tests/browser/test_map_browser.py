"""The store map in headless Chromium: the deck.gl canvas renders with no basemap, no error box
and no request beyond the app itself; zoomed out it shows cities, and clicking one narrows to
its stores (city filter in the URL), where clicking a store puts it into the shared store filter
(and the URL). With O2O_MAP_TILES set, the tiles come from that server (started here, locally)
and the attribution is shown."""

from __future__ import annotations

import datetime as dt
import http.server
import math
import struct
import threading
import zlib
from urllib.parse import parse_qs, urlparse

import duckdb

from browser_util import error_boxes, running_app, screenshot, wait_for_app
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


def _canvas_box(page) -> dict:
    chart = page.locator('[data-testid="stDeckGlJsonChart"]')
    chart.wait_for(timeout=60_000)
    canvas = chart.locator("canvas").first
    canvas.wait_for(timeout=60_000)
    box = canvas.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 300
    return box


def _filters(page, **extra) -> Filters:
    # the run writes the sidebar's dates into the URL as it ends
    page.wait_for_function("() => new URLSearchParams(location.search).has('from')", timeout=90_000)
    query = parse_qs(urlparse(page.url).query)
    return Filters(start=dt.date.fromisoformat(query["from"][0]), end=dt.date.fromisoformat(query["to"][0]), **extra)


def test_map_renders_offline_cities_then_stores(app_url, page, demo_warehouse):
    outside: list[str] = []
    page.on("request", lambda req: outside.append(req.url)
            if not req.url.startswith((app_url, "data:", "blob:")) else None)
    page.goto(app_url)                       # the router first, so /map runs inside dashboard.py
    wait_for_app(page)
    page.goto(f"{app_url}/map")
    wait_for_app(page)
    assert page.locator("h1").first.inner_text().strip() == "Store map"
    box = _canvas_box(page)
    page.wait_for_timeout(1500)
    assert error_boxes(page) == []
    assert page.get_by_text("Symmetry index").first.is_visible()          # the legend
    assert "click a city for its stores" in page.locator('[data-testid="stMain"]').inner_text()
    shot = screenshot(page, "map")
    assert shot.exists() and shot.stat().st_size > 10_000

    # zoomed out: one bubble per city; click the busiest city where the page's view puts it
    filters = _filters(page)
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        stores = symmetry.map_stores(con, filters)
        cities = maps.city_points(stores, symmetry.map_cities(con, filters, "symmetry_index"), "symmetry_index")
    target = cities.iloc[0]                                 # most orders, the largest bubble
    x, y = _pixel(target["lat"], target["lon"], maps.view_for(stores), box["width"], box["height"])
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function("() => window.location.search.includes('city=')", timeout=60_000)
    wait_for_app(page)
    picked_city = parse_qs(urlparse(page.url).query)["city"]
    assert picked_city == [target["city"]]
    assert "click a store" in page.locator('[data-testid="stMain"]').inner_text()   # the store level
    screenshot(page, "map-city")

    # within the city: stores; click the one with the most orders
    box = _canvas_box(page)
    page.wait_for_timeout(1500)
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        city_stores = symmetry.map_stores(con, _filters(page, cities=tuple(picked_city)))
    store = city_stores.sort_values("orders", ascending=False).iloc[0]
    x, y = _pixel(store["lat"], store["lon"], maps.view_for(city_stores), box["width"], box["height"])
    page.mouse.click(box["x"] + x, box["y"] + y)
    # stores of one district may overlap: the pick may be a neighbour, any store of the city will do
    page.wait_for_function("() => window.location.search.includes('store=')", timeout=60_000)
    wait_for_app(page)
    picked = parse_qs(urlparse(page.url).query)["store"]
    assert len(picked) == 1 and picked[0] in set(city_stores["store_id"])
    assert f"({picked[0]})" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert error_boxes(page) == []
    screenshot(page, "map-selected")
    # no basemap: no style, tile or glyph request anywhere (Streamlit itself asks Google's font
    # server for the page's Material icon, e.g. the favicon: not the map's, and harmless offline)
    assert [u for u in outside if not u.startswith("https://fonts.gstatic.com/s/i/")] == [], outside


def _png(width: int = 256, height: int = 256, rgb: tuple[int, int, int] = (200, 220, 240)) -> bytes:
    """A plain PNG tile, written by hand (no imaging library needed)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class _Tiles(http.server.BaseHTTPRequestHandler):
    served: list[str] = []
    tile = _png()

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).served.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Access-Control-Allow-Origin", "*")      # tile servers allow cross-origin reads
        self.send_header("Content-Length", str(len(self.tile)))
        self.end_headers()
        self.wfile.write(self.tile)

    def log_message(self, *args):
        pass


def test_tile_basemap_from_the_setting(browser, demo_warehouse):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    template = f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    try:
        with running_app(demo_warehouse, {"O2O_MAP_TILES": template,
                                          "O2O_MAP_TILES_ATTRIBUTION": "© Test tiles"}) as app:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            page = context.new_page()
            page.goto(app.url)
            wait_for_app(page)
            page.goto(f"{app.url}/map")
            wait_for_app(page)
            _canvas_box(page)
            for _ in range(60):                      # the tiles load after the canvas
                if _Tiles.served:
                    break
                page.wait_for_timeout(500)
            assert error_boxes(page) == []
            assert page.get_by_text("Map tiles: © Test tiles").first.is_visible()
            screenshot(page, "map-tiles")
            context.close()
    finally:
        server.shutdown()
    tiles = [p for p in _Tiles.served if p.endswith(".png")]
    assert tiles, "no tile was requested"
    z, x, y = (int(v) for v in tiles[0].strip("/").removesuffix(".png").split("/"))
    assert 0 <= x < 2 ** z and 0 <= y < 2 ** z


def _hover_something_near(page, x: float, y: float) -> bool:
    """Move the pointer around (x, y), nearest first, until the map shows a tooltip."""
    offsets = sorted(((dx, dy) for dx in range(-60, 61, 6) for dy in range(-30, 31, 6)),
                     key=lambda d: d[0] ** 2 + d[1] ** 2)
    for dx, dy in offsets:
        page.mouse.move(x + dx, y + dy)
        page.wait_for_timeout(40)
        if page.evaluate("() => [...document.querySelectorAll('.deck-tooltip')].some(e => e.style.display === 'block')"):
            return True
    return False


def test_tooltips_stay_inside_the_map_at_its_edges(app_url, page, demo_warehouse):
    """deck.gl puts a tooltip's top-left corner at the pointer: over a bubble near the map's bottom
    (or right) edge it ran out of the map and was cut off. Drag the busiest city's bubble to each
    edge, hover it: the whole tooltip is inside the map, above (left of) the pointer."""
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/map")
    wait_for_app(page)
    box = _canvas_box(page)
    page.wait_for_timeout(1500)
    filters = _filters(page)
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        stores = symmetry.map_stores(con, filters)
        cities = maps.city_points(stores, symmetry.map_cities(con, filters, "symmetry_index"), "symmetry_index")
    x, y = _pixel(cities.iloc[0]["lat"], cities.iloc[0]["lon"], maps.view_for(stores), box["width"], box["height"])
    start = (box["x"] + 40, box["y"] + 40)                   # an empty corner to drag the map by
    for edge, (dx, dy) in {"bottom": (0, box["height"] - 14 - y), "right": (box["width"] - 14 - x, 0)}.items():
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(start[0] + dx, start[1] + dy, steps=12)
        page.mouse.up()
        page.wait_for_timeout(600)
        assert _hover_something_near(page, box["x"] + x + dx, box["y"] + y + dy), edge
        page.wait_for_timeout(300)
        tip = page.evaluate("""() => { const e = [...document.querySelectorAll('.deck-tooltip')]
                                        .find(e => e.style.display === 'block');
                                      return {tip: e.getBoundingClientRect().toJSON(),
                                              map: e.parentElement.getBoundingClientRect().toJSON(),
                                              text: e.innerText}; }""")
        inside, outer = tip["tip"], tip["map"]
        assert "Symmetry index" in tip["text"], tip
        assert outer["left"] <= inside["left"] and inside["right"] <= outer["right"] + 0.5, (edge, tip)
        assert outer["top"] <= inside["top"] and inside["bottom"] <= outer["bottom"] + 0.5, (edge, tip)
        if edge == "bottom":
            screenshot(page, "map-tooltip-bottom")
        page.mouse.move(start[0] + dx, start[1] + dy)        # the map back where it was
        page.mouse.down()
        page.mouse.move(*start, steps=12)
        page.mouse.up()
        page.wait_for_timeout(400)
    assert error_boxes(page) == []
