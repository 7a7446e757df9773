"""pydeck builders for the store map: pure functions ``DataFrame -> pdk.Layer`` / ``pdk.Deck``.

Each layer has a stable id (selections and reruns depend on it), colours come from one KPI colour
scale, and the tooltip is built in one place (:func:`tooltip`). Decks carry no basemap
(``map_provider=None``): the layers render offline, with no token, and nothing fails when map
tiles are unreachable. A tile basemap is optional (setting ``O2O_MAP_TILES``: an XYZ URL
template; :func:`basemap_layer`).

The map reads at two levels (:func:`level_for`): **cities** when it spans several cities (one
bubble per city, its KPI computed for the whole city, labelled with its stores and how many need
attention), **stores** when it shows one city (a city filter, or the level control): each store
with its name, district names behind them, labels thinned so they never overlap at the initial
view or closer (the busiest store keeps its label: :func:`place_labels`). Redemption density is a heatmap whose radius is
in pixels, readable at any zoom. Frames come from :func:`o2o_ops.symmetry.map_stores` (one row per store,
already aggregated in DuckDB). Stores without coordinates are left off every layer
(:func:`located` / :func:`unlocated`: the page lists them apart). The tooltip is an HTML template;
``st.pydeck_chart`` HTML-escapes each value it fills in (Streamlit 1.67's frontend), so the rows
carry names as they are (escaping here too would show "A&amp;B"). No builder queries anything or
imports streamlit.
"""

from __future__ import annotations

import html
import math
from typing import Sequence

import pandas as pd
import pydeck as pdk

from o2o_ops import i18n, metrics, text, units

STORES_LAYER = "stores"
CITIES_LAYER = "cities"
REDEMPTIONS_LAYER = "redemptions"
LABELS_LAYER = "labels"
DISTRICT_LABELS_LAYER = "district-labels"
BASEMAP_LAYER = "basemap"
LEVELS = ("auto", "cities", "stores")

#: the map's layers, in the order the page offers them
LAYERS = ("Stores", "Redemption activity", "Attention list", "Load ahead")

#: layer -> the KPI whose data it draws: redemptions glow where redeemed, and the attention rings
#: judge stores by their reviews (:mod:`o2o_ops.attention`). Where the warehouse cannot provide that
#: KPI, the layer can draw nothing (the load ahead: :func:`o2o_ops.forecast.not_provided`)
LAYER_NEEDS = {"Redemption activity": "redemption_rate", "Attention list": "avg_rating"}
ATTENTION_LAYER = "attention"
LOAD_AHEAD_LAYER = "load-ahead"
LOAD_AHEAD_RGBA = [234, 88, 12, 235]

# pydeck turns every string prop into a JS expression, so constant enum strings are quoted.
# Colour ramp for "bad -> good" (red, amber, green); reversed for lower-is-better KPIs.
RAMP: tuple[tuple[int, int, int], ...] = ((220, 38, 38), (234, 179, 8), (22, 163, 74))
NEUTRAL_RGB = (100, 116, 139)
MISSING_RGBA = [148, 163, 184, 160]
ATTENTION_RGBA = [225, 29, 72, 255]
MIN_RADIUS_PX, MAX_RADIUS_PX = 4, 22
CITY_MIN_RADIUS_PX, CITY_MAX_RADIUS_PX = 10, 36
HEAT_RADIUS_PX = 40
MAP_HEIGHT = 560
# a TextLayer draws only the characters of its atlas: "auto" builds it from the labels (Chinese too)
_AUTO_CHARACTERS = "'auto'"


def _lerp(a: Sequence[int], b: Sequence[int], t: float) -> list[int]:
    return [round(x + (y - x) * t) for x, y in zip(a, b)]


def color_for(value: float | None, vmin: float, vmax: float, *, higher_is_better: bool | None = True,
              alpha: int = 210) -> list[int]:
    """RGBA for ``value`` on the KPI scale [vmin, vmax]: red = bad, green = good (grey if missing)."""
    if units.is_missing(value):
        return list(MISSING_RGBA)
    t = 0.5 if vmax <= vmin else min(1.0, max(0.0, (float(value) - vmin) / (vmax - vmin)))
    if higher_is_better is False:
        t = 1 - t
    if higher_is_better is None:  # neutral KPI: a single-hue ramp from light to dark
        return [*_lerp((191, 219, 254), (30, 64, 175), t), alpha]
    rgb = _lerp(RAMP[0], RAMP[1], t * 2) if t <= 0.5 else _lerp(RAMP[1], RAMP[2], (t - 0.5) * 2)
    return [*rgb, alpha]


def _has_coordinates(df: pd.DataFrame) -> pd.Series:
    """Rows with both coordinates, and not the (0, 0) placeholder."""
    lat = pd.to_numeric(df["lat"], errors="coerce")
    lon = pd.to_numeric(df["lon"], errors="coerce")
    return lat.notna() & lon.notna() & ~((lat == 0) & (lon == 0))


def located(df: pd.DataFrame) -> pd.DataFrame:
    """The stores that can be placed on the map."""
    if "lat" not in df or "lon" not in df:
        return df.iloc[0:0]
    return df[_has_coordinates(df)].reset_index(drop=True)


def unlocated(df: pd.DataFrame) -> pd.DataFrame:
    """The stores without coordinates (missing, or (0, 0)): listed beside the map, never drawn."""
    if df.empty:
        return df
    if "lat" not in df or "lon" not in df:
        return df.reset_index(drop=True)
    return df[~_has_coordinates(df)].reset_index(drop=True)


def unlocated_note(count: int) -> str:
    """"12 stores have no coordinates …" (empty when every store has them)."""
    if not count:
        return ""
    subject = "1 store has" if count == 1 else f"{count:,} stores have"
    return (f"{subject} no coordinates (latitude/longitude missing or 0, 0), so "
            f"{'it is' if count == 1 else 'they are'} not on the map; add them to the stores file to place "
            f"{'it' if count == 1 else 'them'}.")


def kpi_range(df: pd.DataFrame, kpi: str) -> tuple[float, float] | None:
    """(min, max) of the KPI over the frame, or None when nothing is defined."""
    if df.empty or kpi not in df or df[kpi].isna().all():
        return None
    return float(df[kpi].min()), float(df[kpi].max())


def _radius(orders: pd.Series, smallest: float = MIN_RADIUS_PX, largest: float = MAX_RADIUS_PX) -> pd.Series:
    """Pixel radius by orders, square-root scaled so area tracks volume."""
    orders = orders.fillna(0).clip(lower=0).astype(float)
    top = orders.max()
    if units.is_missing(top) or not top:
        return pd.Series(smallest, index=orders.index, dtype=float)
    return smallest + (largest - smallest) * (orders / top) ** 0.5


def tooltip(kpi: str, lang: str = "en") -> dict:
    """The one tooltip of the map: store name, category, city and the colour KPI, formatted
    (every layer's rows carry ``store_name``, ``category_label`` and ``kpi_text``), in ``lang``."""
    label = i18n.kpi_label(kpi, lang)
    return {
        "html": "<b>{store_name}</b><br/>{category_label} · {store_city}<br/>"
                + i18n.t("map.tooltip_kpi", lang, label=label, value="<b>{kpi_text}</b>") + "<br/>"
                + i18n.t("map.tooltip_orders", lang, value="{orders_text}"),
        "style": {"backgroundColor": "#1f2937", "color": "white", "fontSize": "12px"},
    }


def _points(df: pd.DataFrame, kpi: str, lang: str = "en") -> pd.DataFrame:
    """The columns the browser needs, nothing more (keeps the payload small). Only stores with
    coordinates; text as it is (the tooltip escapes it), one line, missing as "—"."""
    kpi_def = metrics.KPIS[kpi]
    df = located(df)
    blank = pd.Series("", index=df.index)
    out = pd.DataFrame({
        "store_id": df["store_id"].astype(str),
        "store_name": [text.plain(v) for v in df.get("store_name", df["store_id"])],
        "store_city": [text.plain(v) for v in df.get("store_city", blank).fillna("")],
        "category_label": [text.plain(str(v).replace("_", " ") if i18n.check(lang) == "en"
                                      else i18n.value_label("category", v, lang))
                           for v in df.get("store_category", blank).fillna("")],
        "lat": df["lat"].astype(float), "lon": df["lon"].astype(float),
    }, index=df.index)
    values = df[kpi] if kpi in df else pd.Series(float("nan"), index=df.index)
    out["kpi_value"] = values.astype(float)
    out["kpi_text"] = [units.format_value(v, kpi_def.unit, lang=lang) for v in values]
    orders = df["orders"] if "orders" in df else pd.Series(0, index=df.index)
    out["orders_text"] = [units.format_value(v, "count", lang=lang) for v in orders]
    out["radius"] = _radius(orders)
    return out


def store_dots(df: pd.DataFrame) -> pd.DataFrame:
    """The placed stores with the pixel ``radius`` :func:`store_points_layer` draws them at: for
    labels placed just above their dot, and for the dots no label may cover."""
    placed = located(df)
    return placed.assign(radius=_radius(placed["orders"] if "orders" in placed else pd.Series(0, index=placed.index)))


def store_points_layer(df: pd.DataFrame, kpi: str, lang: str = "en") -> pdk.Layer:
    """Stores as points: colour by ``kpi`` (one of the registry's KPIs), size by orders."""
    if kpi not in metrics.KPIS:
        raise ValueError(f"Unknown KPI {kpi!r}.")
    points = _points(df, kpi, lang) if not located(df).empty else pd.DataFrame(
        columns=["store_id", "store_name", "store_city", "category_label", "lat", "lon", "kpi_value",
                 "kpi_text", "orders_text", "radius", "color"])
    if not points.empty:
        rng = kpi_range(points.rename(columns={"kpi_value": kpi}), kpi) or (0.0, 1.0)
        better = metrics.KPIS[kpi].higher_is_better
        points["color"] = [color_for(v, rng[0], rng[1], higher_is_better=better) for v in points["kpi_value"]]
    return pdk.Layer(
        "ScatterplotLayer", data=points, id=STORES_LAYER, get_position=["lon", "lat"],
        get_fill_color="color", get_radius="radius", radius_units="'pixels'",
        stroked=True, get_line_color=[255, 255, 255, 200], line_width_min_pixels=1,
        pickable=True, auto_highlight=True,
    )


def _span_degrees(df: pd.DataFrame) -> float:
    lat, lon = df["lat"].astype(float), df["lon"].astype(float)
    return max(lat.max() - lat.min(), (lon.max() - lon.min()) * 0.7, 0.02)


CELLS_ACROSS = 48


def cell_degrees(df: pd.DataFrame) -> float:
    """The side of a redemption bin, in degrees: 1/:data:`CELLS_ACROSS` of the stores' span (a
    few streets when they are in one city, part of a city when they span a country). The heatmap
    blurs the cells together at any zoom, so fine cells cost nothing in legibility."""
    df = located(df)
    if df.empty:
        return 0.02
    return float(min(1.5, max(0.002, _span_degrees(df) / CELLS_ACROSS)))


REDEMPTION_RAMP = ((254, 215, 170), (194, 65, 12))
# the heatmap's colours, low to high density (deck.gl spreads them over the weights it sees)
HEAT_COLORS = [[254, 237, 222], [253, 208, 162], [253, 174, 107], [253, 141, 60], [230, 85, 13], [166, 54, 3]]


def redemption_density_layer(df: pd.DataFrame) -> pdk.Layer:
    """Redemption activity as a heatmap over cells already summed in DuckDB
    (:func:`o2o_ops.symmetry.redemption_bins`: columns lat, lon, redemptions), so the browser gets
    hundreds of weighted points, never millions. Its radius is in pixels: zoomed into a district
    it stays a glow around the busy streets instead of one cell covering the map."""
    cols = ["lon", "lat", "redemptions"]
    cells = pd.DataFrame(columns=cols) if df.empty else df[cols].astype(float).reset_index(drop=True)
    return pdk.Layer(
        "HeatmapLayer", data=cells, id=REDEMPTIONS_LAYER, get_position=["lon", "lat"],
        get_weight="redemptions", radius_pixels=HEAT_RADIUS_PX, intensity=1, threshold=0.05,
        color_range=HEAT_COLORS, aggregation="'SUM'", opacity=0.55, pickable=False,
    )


def attention_layer(df: pd.DataFrame, kpi: str = "symmetry_index", lang: str = "en") -> pdk.Layer:
    """A ring around each store on the attention list (rows with ``on_attention`` true)."""
    df = located(df)
    flagged = df[df["on_attention"].fillna(False).astype(bool)] if not df.empty and "on_attention" in df else df.iloc[0:0]
    points = _points(flagged, kpi, lang) if not flagged.empty else pd.DataFrame(
        columns=["store_id", "store_name", "store_city", "category_label", "lat", "lon", "kpi_text",
                 "orders_text", "radius"])
    if not points.empty:
        points["radius"] = points["radius"] + 6
    return pdk.Layer(
        "ScatterplotLayer", data=points, id=ATTENTION_LAYER, get_position=["lon", "lat"],
        get_radius="radius", radius_units="'pixels'", filled=False, stroked=True,
        get_line_color=ATTENTION_RGBA, line_width_min_pixels=3, pickable=True,
    )


def load_ahead_layer(df: pd.DataFrame, at_risk: Sequence[str], kpi: str = "symmetry_index",
                     lang: str = "en") -> pdk.Layer:
    """An orange ring, outside the attention ring, around each store whose next 14 days are
    forecast over capacity (``at_risk``: store ids from :func:`o2o_ops.forecast.load_ahead`)."""
    df = located(df)
    flagged = df[df["store_id"].isin(set(at_risk))] if not df.empty else df
    points = _points(flagged, kpi, lang) if not flagged.empty else pd.DataFrame(
        columns=["store_id", "store_name", "store_city", "category_label", "lat", "lon", "kpi_text",
                 "orders_text", "radius"])
    if not points.empty:
        points["radius"] = points["radius"] + 11
    return pdk.Layer(
        "ScatterplotLayer", data=points, id=LOAD_AHEAD_LAYER, get_position=["lon", "lat"],
        get_radius="radius", radius_units="'pixels'", filled=False, stroked=True,
        get_line_color=LOAD_AHEAD_RGBA, line_width_min_pixels=3, pickable=True,
    )


NARROW_MAP_PX = 800     # a map narrower than this (a phone's) is zoomed out to frame the same area


def view_for(df: pd.DataFrame, width_px: float | None = None) -> pdk.ViewState:
    """A view that frames every placed store (a default over eastern China when there are none).
    ``width_px``: the map's width when it is narrower than :data:`NARROW_MAP_PX` (a phone's):
    the zoom drops by ``log2(NARROW_MAP_PX / width_px)`` so the same stores fit across it."""
    df = located(df)
    if df.empty:
        return pdk.ViewState(latitude=31.2, longitude=117.0, zoom=4)
    lat, lon = df["lat"].astype(float), df["lon"].astype(float)
    span = _span_degrees(df)
    zoom = math.log2(360 / span) - 0.6
    if width_px and width_px < NARROW_MAP_PX:
        zoom -= math.log2(NARROW_MAP_PX / width_px)
    zoom = max(1.0, min(13.0, zoom))
    return pdk.ViewState(latitude=float((lat.max() + lat.min()) / 2),
                         longitude=float((lon.max() + lon.min()) / 2), zoom=zoom, pitch=0)


def city_labels_layer(df: pd.DataFrame) -> pdk.Layer:
    """City names at the centre of their stores: without a basemap, the reader's bearings."""
    if df.empty or "store_city" not in df:
        labels = pd.DataFrame({"city": pd.Series(dtype=str), "lat": pd.Series(dtype=float),
                               "lon": pd.Series(dtype=float)})
    else:
        labels = (located(df).groupby("store_city", as_index=False)[["lat", "lon"]].mean()
                  .rename(columns={"store_city": "city"}))
    return pdk.Layer(
        "TextLayer", labels, id="city-labels", get_position=["lon", "lat"], get_text="city",
        get_size=16, get_color=[15, 23, 42, 255], get_alignment_baseline="'bottom'",
        get_pixel_offset=[0, -26], background=True, get_background_color=[255, 255, 255, 230],
        background_padding=[4, 2], pickable=False, character_set=_AUTO_CHARACTERS,
    )


CITY_LEVEL_MIN_STORES = 30


def level_for(choice: str, stores: pd.DataFrame, *, city_filter: bool = False,
              min_stores: int = CITY_LEVEL_MIN_STORES) -> str:
    """``"cities"`` or ``"stores"``: what the map draws. ``choice`` is the level control
    (:data:`LEVELS`); ``"auto"`` shows cities when more than ``min_stores`` placed stores lie in
    several cities and no city is filtered (a country of overlapping dots reads as blobs), and
    stores otherwise (a handful of stores reads fine one by one)."""
    if choice in ("cities", "stores"):
        return choice
    placed = located(stores)
    one_city = "store_city" not in placed or placed["store_city"].nunique() <= 1
    return "stores" if city_filter or one_city or len(placed) <= min_stores else "cities"


def city_points(stores: pd.DataFrame, cities: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """One row per city with placed stores, for the city level: ``city``, its centre (the mean
    of its placed stores' coordinates), ``stores`` (placed), ``attention`` (of them, on the
    attention list now), ``orders`` and ``redemptions`` (sums over its stores, placed or not),
    ``kpi_value`` from ``cities`` (:func:`o2o_ops.symmetry.map_cities`: the KPI of the city as a
    whole, never an average of its stores' values), and the tooltip's columns."""
    cols = ["city", "lat", "lon", "stores", "attention", "orders", "redemptions", "kpi_value"]
    placed = located(stores)
    if placed.empty or "store_city" not in placed:
        return pd.DataFrame(columns=cols)
    flags = placed["on_attention"].fillna(False).astype(bool) if "on_attention" in placed else False
    grouped = (placed.assign(_flag=flags).groupby("store_city", as_index=False)
               .agg(lat=("lat", "mean"), lon=("lon", "mean"), stores=("store_id", "count"), attention=("_flag", "sum"))
               .rename(columns={"store_city": "city"}))
    sums = (stores.assign(orders=stores.get("orders", 0), redemptions=stores.get("redemptions", 0))
            .groupby("store_city", as_index=False)[["orders", "redemptions"]].sum()
            .rename(columns={"store_city": "city"}))
    out = grouped.merge(sums, on="city", how="left")
    values = cities.set_index("city")[kpi] if not cities.empty and kpi in cities else pd.Series(dtype=float)
    out["kpi_value"] = out["city"].map(values).astype(float)
    out["attention"] = out["attention"].astype(int)
    return out[cols].sort_values("orders", ascending=False, kind="mergesort").reset_index(drop=True)


def city_caption(row: pd.Series | dict, lang: str = "en") -> str:
    """``"18 stores · 3 need attention now"`` (the city bubble's tooltip and label line), in ``lang``."""
    stores, flagged = int(row["stores"]), int(row["attention"])
    return (i18n.t("map.city_store" if stores == 1 else "map.city_stores", lang, count=f"{stores:,}")
            + (i18n.t("map.city_need" if flagged == 1 else "map.city_needs", lang, count=f"{flagged:,}")
               if flagged else ""))


CITY_GAP_PX = 6          # the least white between two city bubbles at the initial zoom


def city_radii(cities: pd.DataFrame, zoom: float | None, *, gap: float = CITY_GAP_PX) -> pd.Series:
    """Each city bubble's pixel radius: square-root scaled by orders (:func:`_radius`, area tracks
    volume), capped at half the distance to its nearest neighbour at ``zoom`` less ``gap`` / 2, so
    no two bubbles overlap at the initial view (for any two cities ``r_a + r_b <= (d_a + d_b) / 2
    - gap <= d_ab - gap``, as each nearest distance is at most ``d_ab``); zooming in only moves them
    apart. A capped bubble understates its city: the tooltip has the count. No zoom: uncapped."""
    radius = _radius(cities["orders"], CITY_MIN_RADIUS_PX, CITY_MAX_RADIUS_PX)
    if zoom is None or len(cities) < 2:
        return radius
    xy = [_pixel_xy(float(a), float(b), zoom) for a, b in zip(cities["lat"], cities["lon"])]
    capped = []
    for i, (x, y) in enumerate(xy):
        nearest = min(math.hypot(x - u, y - v) for j, (u, v) in enumerate(xy) if j != i)
        capped.append(min(float(radius.iloc[i]), max((nearest - gap) / 2, 1.0)))
    return pd.Series(capped, index=cities.index, dtype=float)


def bubble_boxes(points: pd.DataFrame, zoom: float) -> list[tuple[float, float, float, float]]:
    """The square around each bubble (``lat``, ``lon``, ``radius`` in pixels) at ``zoom``: what a
    label must not cover (:func:`place_labels`' ``taken``)."""
    boxes = []
    for lat, lon, r in zip(points["lat"], points["lon"], points["radius"]):
        x, y = _pixel_xy(float(lat), float(lon), zoom)
        boxes.append((x - float(r), y - float(r), x + float(r), y + float(r)))
    return boxes


def city_layer(cities: pd.DataFrame, kpi: str, lang: str = "en", *, zoom: float | None = None) -> pdk.Layer:
    """Cities as bubbles (:func:`city_points`): colour by ``kpi`` across cities, size by orders
    (capped so none overlaps another at ``zoom``: :func:`city_radii`), a red outline where any
    store needs attention now. Clicking one narrows the map to that city."""
    if kpi not in metrics.KPIS:
        raise ValueError(f"Unknown KPI {kpi!r}.")
    kpi_def = metrics.KPIS[kpi]
    cols = ["city", "lat", "lon", "store_name", "store_city", "category_label", "kpi_text", "orders_text",
            "radius", "color", "line"]
    if cities.empty:
        points = pd.DataFrame(columns=cols)
    else:
        points = cities.copy()
        rng = (float(points["kpi_value"].min()), float(points["kpi_value"].max())) \
            if points["kpi_value"].notna().any() else (0.0, 1.0)
        points["color"] = [color_for(v, *rng, higher_is_better=kpi_def.higher_is_better) for v in points["kpi_value"]]
        points["radius"] = city_radii(points, zoom)
        points["store_name"] = [text.plain(c) for c in points["city"]]      # the tooltip's title line
        points["category_label"] = i18n.t("map.city", lang)                  # tooltip: "City · 18 stores · …"
        points["store_city"] = [city_caption(r, lang) for r in points.to_dict("records")]
        points["kpi_text"] = [units.format_value(v, kpi_def.unit, lang=lang) for v in points["kpi_value"]]
        points["orders_text"] = [units.format_value(v, "count", lang=lang) for v in points["orders"]]
        points["line"] = [list(ATTENTION_RGBA) if a else [255, 255, 255, 220] for a in points["attention"]]
        points = points[cols]
    return pdk.Layer(
        "ScatterplotLayer", data=points, id=CITIES_LAYER, get_position=["lon", "lat"],
        get_fill_color="color", get_radius="radius", radius_units="'pixels'", stroked=True,
        get_line_color="line", line_width_min_pixels=3, pickable=True, auto_highlight=True,
    )


def _pixel_xy(lat: float, lon: float, zoom: float) -> tuple[float, float]:
    """Web-Mercator pixel position at ``zoom`` (deck.gl: a 512-pixel world at zoom 0)."""
    size = 512 * 2 ** zoom
    lat = max(-85.0, min(85.0, lat))
    return ((lon + 180) / 360 * size,
            (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2 * size)


def edge_boxes(view: pdk.ViewState, width_px: float, height_px: float = MAP_HEIGHT,
               margin: float = 2.0) -> list[tuple[float, float, float, float]]:
    """Four boxes just outside a map ``width_px`` × ``height_px`` showing ``view``, in the pixels
    :func:`place_labels` works in: given as taken, no label runs off the map's edges (on a
    phone a long name ran off the right edge). ``margin`` keeps labels that far inside."""
    cx, cy = _pixel_xy(view.latitude, view.longitude, view.zoom)
    left, right = cx - width_px / 2 + margin, cx + width_px / 2 - margin
    top, bottom = cy - height_px / 2 + margin, cy + height_px / 2 - margin
    far = 1e9
    return [(-far, -far, left, far), (right, -far, far, far), (-far, -far, far, top), (-far, bottom, far, far)]


def place_labels(rows: pd.DataFrame, zoom: float, *, size: int, offset: int,
                 taken: list[tuple[float, float, float, float]] | None = None,
                 below: bool = False) -> pd.DataFrame:
    """The rows of ``rows`` (``label``, ``lat``, ``lon``, ``priority``) whose labels fit without
    overlapping, highest priority first, at ``zoom``: each label's box (about 0.6 × size per
    character, plus padding) must not touch a box already placed (``taken``, shared between label
    layers and extended here). With a ``radius`` column the label sits just above its bubble
    (``offset`` is then ignored), and with ``below`` it may go just under it when above is
    taken; the row's ``offset`` column says where it went. Zooming in only moves labels apart,
    so the placed ones never collide at the initial zoom or closer; the rest show in the tooltip
    and at the store level.
    (deck.gl's CollisionFilterExtension does this on the GPU, but drew nothing reliably in a
    software-rendered browser, where the tests and many remote desktops run.)"""
    taken = [] if taken is None else taken
    keep, offsets, texts = [], [], []
    for idx, row in rows.sort_values("priority", ascending=False, kind="mergesort").iterrows():
        x, y = _pixel_xy(float(row["lat"]), float(row["lon"]), zoom)
        if "radius" in row and not units.is_missing(row["radius"]):
            r = float(row["radius"])
            candidates = [-(r + 3)] + ([r + size + 7] if below else [])
        else:
            candidates = [offset]
        # a row with a ``short`` text (a lone store's plain name) falls back to it when its label
        # has no room
        words = [str(row["label"])] + ([str(row["short"])] if "short" in row and isinstance(row["short"], str)
                                       and row["short"] and row["short"] != row["label"] else [])
        placed = None
        for word in words:
            half = (len(word) * size * 0.6 + 8) / 2
            for dy in candidates:
                box = (x - half, y + dy - size - 4, x + half, y + dy)
                if not any(box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken):
                    placed = (box, dy, word)
                    break
            if placed:
                break
        if placed:
            taken.append(placed[0])
            keep.append(idx)
            offsets.append(placed[1])
            texts.append(placed[2])
    return rows.loc[keep].assign(offset=offsets, label=texts).drop(columns=["short"], errors="ignore")


def labels_layer(points: pd.DataFrame, *, text_column: str, priority_column: str = "orders",
                 layer_id: str = LABELS_LAYER, size: int = 13, offset: int = -18,
                 color: Sequence[int] = (31, 41, 55, 255), zoom: float | None = None,
                 taken: list | None = None, radius_column: str | None = None) -> pdk.Layer:
    """Text labels that do not overlap: at ``zoom`` (the map's initial view) only the labels
    :func:`place_labels` fits are drawn, the busiest (``priority_column``) first. ``points``:
    ``lat``, ``lon``, ``text_column`` and ``priority_column``; with ``radius_column`` (a bubble's
    pixel radius) each label sits just above its bubble, or just under it when above is taken."""
    if points.empty:
        rows = pd.DataFrame({"label": pd.Series(dtype=str), "lat": pd.Series(dtype=float),
                             "lon": pd.Series(dtype=float), "priority": pd.Series(dtype=float)})
    else:
        placed = located(points)
        rows = pd.DataFrame({"label": [text.plain(v) for v in placed[text_column].fillna("")],
                             "lat": placed["lat"].astype(float), "lon": placed["lon"].astype(float),
                             "priority": pd.to_numeric(placed.get(priority_column, 0), errors="coerce").fillna(0)
                             .astype(float)})
        if radius_column:
            rows["radius"] = placed[radius_column].astype(float)
        if "short" in placed:
            rows["short"] = [text.plain(v) for v in placed["short"].fillna("")]
        rows = rows[rows["label"] != ""]
        if zoom is not None:
            rows = place_labels(rows, zoom, size=size, offset=offset, taken=taken, below=radius_column is not None)
    rows = rows.assign(offset=rows["offset"] if "offset" in rows else float(offset))
    rows = rows.assign(pixel_offset=[[0.0, float(dy)] for dy in rows["offset"]]).drop(columns=["radius", "short"],
                                                                                       errors="ignore")
    return pdk.Layer(
        "TextLayer", rows.reset_index(drop=True), id=layer_id, get_position=["lon", "lat"], get_text="label",
        get_size=size, get_color=list(color), get_alignment_baseline="'bottom'", get_pixel_offset="pixel_offset",
        background=True, get_background_color=[255, 255, 255, 215], background_padding=[4, 2],
        pickable=False, character_set=_AUTO_CHARACTERS,
    )


def district_points(stores: pd.DataFrame) -> pd.DataFrame:
    """One row per (city, district) with placed stores: the district's name at the mean of its
    stores' coordinates, ``orders`` summed (its label's priority). Stores without a district are
    left out. ``label``: the district's name, or for a district of one store that store's name
    and the district's (``Bund Hotel · Huangpu``), drawn as the store's label (see
    :func:`with_lone_districts`); ``only_store``: that store's id, else empty."""
    columns = ["district", "label", "only_store", "lat", "lon", "orders"]
    placed = located(stores)
    if placed.empty or "store_district" not in placed:
        return pd.DataFrame(columns=columns)
    placed = placed[placed["store_district"].fillna("").astype(str).str.strip() != ""]
    if placed.empty:
        return pd.DataFrame(columns=columns)
    placed = placed.assign(orders=placed.get("orders", 0),
                           store_name=placed.get("store_name", placed["store_id"]).fillna(placed["store_id"]))
    out = (placed.groupby(["store_city", "store_district"], as_index=False)
           .agg(lat=("lat", "mean"), lon=("lon", "mean"), orders=("orders", "sum"), stores=("store_id", "size"),
                first_id=("store_id", "first"), first_name=("store_name", "first"))
           .rename(columns={"store_district": "district"}))
    alone = out["stores"] == 1
    out["label"] = out["district"].astype(str).where(
        ~alone, out["first_name"].astype(str) + " · " + out["district"].astype(str))
    out["only_store"] = out["first_id"].astype(str).where(alone, "")
    return out[columns]


def with_lone_districts(dots: pd.DataFrame, districts: pd.DataFrame) -> pd.DataFrame:
    """``dots`` (:func:`store_dots`) with a ``label`` column: the store's name, and for a store
    alone in its district (``districts``: :func:`district_points`) ``name · district``. That
    district gets no label of its own: placed first, at its one store, it hid the store's name
    (and a long label there covered neighbouring stores); here it is placed as store names are,
    clear of every bubble, falling back to the name alone (``short``) where it has no room."""
    lone = {str(r.only_store): str(r.label) for r in districts.itertuples() if r.only_store}
    names = dots.get("store_name", dots["store_id"]).fillna(dots["store_id"]).astype(str)
    return dots.assign(label=[lone.get(str(i), n) for i, n in zip(dots["store_id"], names)], short=names)


def basemap_layer(template: str) -> pdk.Layer | None:
    """A raster tile basemap from an XYZ URL template (``https://tiles.example.com/{z}/{x}/{y}.png``),
    or None when no template is set (the default: no basemap, nothing fetched).

    Streamlit's deck.gl takes layers as JSON, where a TileLayer cannot be told to draw its tiles
    as bitmaps (that needs a JavaScript ``renderSubLayers`` function). deck.gl's TerrainLayer
    takes an XYZ template for its texture and is itself tiled, so it draws the tiles; given the
    same template as elevation and an elevation decoder that scales every channel by 0, it lies
    flat. The tile server must allow cross-origin reads (CORS), as public tile servers do."""
    template = (template or "").strip()
    if not template:
        return None
    if not all(part in template for part in ("{x}", "{y}", "{z}")):
        raise ValueError(f"The map tile template {template!r} needs {{x}}, {{y}} and {{z}} "
                         f"(e.g. https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png).")
    return pdk.Layer(
        # pdk.types.String: passed as it is (pydeck would read a bare string as an expression or an image)
        "TerrainLayer", id=BASEMAP_LAYER, elevation_data=pdk.types.String(template),
        texture=pdk.types.String(template),
        elevation_decoder={"rScaler": 0, "gScaler": 0, "bScaler": 0, "offset": 0},
        mesh_max_error=50, min_zoom=0, max_zoom=19, pickable=False,
        # drawn first and writing no depth, so the layers above it never fight it at z = 0
        parameters={"depthWriteEnabled": False, "depthCompare": "always"},
    )


def basemap_credit(template: str, attribution: str = "") -> str:
    """The line under a map drawn on tiles: the attribution, else the tile server's host."""
    if not (template or "").strip():
        return ""
    import urllib.parse

    return f"Map tiles: {(attribution or '').strip() or urllib.parse.urlparse(template.strip()).netloc or template.strip()}"


# pydeck's "map style not given" marker. Streamlit 1.67 reads it as "no basemap", whereas
# map_style=None asks it for its theme's basemap (Carto's vector tiles, fetched from the internet).
NO_MAP_STYLE = "__MAP_STYLE__"


def build_deck(layers: Sequence[pdk.Layer], view: pdk.ViewState, kpi: str = "symmetry_index",
               lang: str = "en") -> pdk.Deck:
    """The map: given layers, no basemap of Streamlit's (nothing fetched, works offline, needs no
    token; a tile basemap is a layer: :func:`basemap_layer`), the shared tooltip."""
    return pdk.Deck(layers=list(layers), initial_view_state=view, map_provider=None, map_style=NO_MAP_STYLE,
                    tooltip=tooltip(kpi, lang))


def legend(kpi: str, vmin: float | None, vmax: float | None, steps: int = 5, lang: str = "en") -> pd.DataFrame:
    """The colour scale as rows (value text, CSS colour), low to high; empty when undefined."""
    if units.is_missing(vmin) or units.is_missing(vmax):
        return pd.DataFrame(columns=["value", "label", "css"])
    kpi_def = metrics.KPIS[kpi]
    values = [vmin] if vmax <= vmin else [vmin + (vmax - vmin) * i / (steps - 1) for i in range(steps)]
    rows = []
    for v in values:
        r, g, b, _ = color_for(v, vmin, vmax, higher_is_better=kpi_def.higher_is_better)
        rows.append({"value": v, "label": units.format_value(v, kpi_def.unit, lang=lang), "css": f"rgb({r},{g},{b})"})
    return pd.DataFrame(rows)


def legend_html(kpi: str, vmin: float | None, vmax: float | None, lang: str = "en", why: str | None = None) -> str:
    """The legend as a small HTML strip (for ``st.html``/``st.markdown``), in ``lang``; with no
    value to colour by, ``why`` (the KPI's "not provided: ..." note) says why, where it said "no
    values for these filters"."""
    scale = legend(kpi, vmin, vmax, lang=lang)
    label = html.escape(i18n.kpi_label(kpi, lang))
    if scale.empty:
        if why:
            return f"<div>{i18n.t('map.legend_why', lang, label=f'<b>{label}</b>', why=html.escape(why))}</div>"
        return f"<div>{i18n.t('map.legend_empty', lang, label=f'<b>{label}</b>')}</div>"
    swatches = "".join(
        f"<span style='display:inline-flex;align-items:center;margin-right:14px'>"
        f"<span style='width:14px;height:14px;border-radius:50%;background:{row.css};display:inline-block;"
        f"margin-right:5px'></span>{row.label}</span>" for row in scale.itertuples())
    return (f"<div style='font-size:13px'>{i18n.t('map.legend_colour', lang, label=f'<b>{label}</b>')} &nbsp; "
            f"{swatches}<span style='color:#64748b'>{i18n.t('map.legend_key', lang)}</span></div>")


def selected_store_ids(selection: dict | None) -> list[str]:
    """Store ids in a ``st.pydeck_chart`` selection (``{"objects": {layer_id: [rows]}}``), sorted."""
    if not selection:
        return []
    objects = (selection.get("selection") or selection).get("objects") or {}
    ids = {str(obj["store_id"]) for layer in (STORES_LAYER, ATTENTION_LAYER, LOAD_AHEAD_LAYER)
           for obj in objects.get(layer, []) or [] if isinstance(obj, dict) and obj.get("store_id")}
    return sorted(ids)


def selected_cities(selection: dict | None) -> list[str]:
    """City names in a ``st.pydeck_chart`` selection of the city bubbles, sorted."""
    if not selection:
        return []
    objects = (selection.get("selection") or selection).get("objects") or {}
    return sorted({str(obj["city"]) for obj in objects.get(CITIES_LAYER, []) or []
                   if isinstance(obj, dict) and obj.get("city")})
