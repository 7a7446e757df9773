"""pydeck builders for the store map: pure functions ``DataFrame -> pdk.Layer`` / ``pdk.Deck``.

Each layer has a stable id (selections and reruns depend on it), colours come from one KPI colour
scale, and the tooltip is built in one place (:func:`tooltip`). Decks carry no basemap
(``map_provider=None``): the layers render offline, with no token, and nothing fails when map
tiles are unreachable. Frames come from :func:`o2o_ops.symmetry.map_stores` (one row per store,
already aggregated in DuckDB). Stores without coordinates are left off every layer
(:func:`located` / :func:`unlocated`: the page lists them apart). The tooltip is an HTML template;
``st.pydeck_chart`` HTML-escapes each value it fills in (Streamlit 1.67's frontend), so the rows
carry names as they are (escaping here too would show "A&amp;B"). No builder queries anything or
imports streamlit.
"""

from __future__ import annotations

import math
from typing import Sequence

import pandas as pd
import pydeck as pdk

from o2o_ops import metrics, text, units

STORES_LAYER = "stores"
REDEMPTIONS_LAYER = "redemptions"
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
MAP_HEIGHT = 560


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


def _radius(orders: pd.Series) -> pd.Series:
    """Pixel radius by orders, square-root scaled so area tracks volume."""
    orders = orders.fillna(0).clip(lower=0).astype(float)
    top = orders.max()
    if units.is_missing(top) or not top:
        return pd.Series(MIN_RADIUS_PX, index=orders.index, dtype=float)
    return MIN_RADIUS_PX + (MAX_RADIUS_PX - MIN_RADIUS_PX) * (orders / top) ** 0.5


def tooltip(kpi: str) -> dict:
    """The one tooltip of the map: store name, category, city and the colour KPI, formatted
    (every layer's rows carry ``store_name``, ``category_label`` and ``kpi_text``)."""
    label = metrics.KPIS[kpi].label
    return {
        "html": "<b>{store_name}</b><br/>{category_label} · {store_city}<br/>"
                f"{label}: <b>{{kpi_text}}</b><br/>Orders: {{orders_text}}",
        "style": {"backgroundColor": "#1f2937", "color": "white", "fontSize": "12px"},
    }


def _points(df: pd.DataFrame, kpi: str) -> pd.DataFrame:
    """The columns the browser needs, nothing more (keeps the payload small). Only stores with
    coordinates; text as it is (the tooltip escapes it), one line, missing as "—"."""
    kpi_def = metrics.KPIS[kpi]
    df = located(df)
    blank = pd.Series("", index=df.index)
    out = pd.DataFrame({
        "store_id": df["store_id"].astype(str),
        "store_name": [text.plain(v) for v in df.get("store_name", df["store_id"])],
        "store_city": [text.plain(v) for v in df.get("store_city", blank).fillna("")],
        "category_label": [text.plain(str(v).replace("_", " ")) for v in df.get("store_category", blank).fillna("")],
        "lat": df["lat"].astype(float), "lon": df["lon"].astype(float),
    }, index=df.index)
    values = df[kpi] if kpi in df else pd.Series(float("nan"), index=df.index)
    out["kpi_value"] = values.astype(float)
    out["kpi_text"] = [kpi_def.format(v) for v in values]
    orders = df["orders"] if "orders" in df else pd.Series(0, index=df.index)
    out["orders_text"] = [metrics.format_value(v, "count") for v in orders]
    out["radius"] = _radius(orders)
    return out


def store_points_layer(df: pd.DataFrame, kpi: str) -> pdk.Layer:
    """Stores as points: colour by ``kpi`` (one of the registry's KPIs), size by orders."""
    if kpi not in metrics.KPIS:
        raise ValueError(f"Unknown KPI {kpi!r}.")
    points = _points(df, kpi) if not located(df).empty else pd.DataFrame(
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


def cell_degrees(df: pd.DataFrame) -> float:
    """The side of a redemption bin, in degrees, visible at the map's initial zoom: 1/12 of the
    stores' span (a district when they are in one city, a whole city when they span a country)."""
    df = located(df)
    if df.empty:
        return 0.02
    return float(min(1.5, max(0.003, _span_degrees(df) / 12)))


REDEMPTION_RAMP = ((254, 215, 170), (194, 65, 12))


def redemption_hex_layer(df: pd.DataFrame) -> pdk.Layer:
    """Redemption activity as hexagons, one per lat/lon bin already summed in DuckDB
    (:func:`o2o_ops.symmetry.redemption_bins`: columns lat, lon, redemptions, cell_degrees), so
    the browser draws hundreds of cells, never millions of points. Drawn as flat six-sided
    columns rather than deck.gl's HexagonLayer, whose GPU aggregation does not render without a
    GPU (headless, remote desktops)."""
    cols = ["lon", "lat", "redemptions", "radius_m", "color"]
    if df.empty:
        cells = pd.DataFrame(columns=cols)
    else:
        cells = df[["lon", "lat", "redemptions"]].astype(float).copy()
        side = float(df["cell_degrees"].iloc[0]) if "cell_degrees" in df else 0.02
        cells["radius_m"] = side * 111_000 * 0.55
        top = cells["redemptions"].max() or 1.0
        cells["color"] = [[*_lerp(*REDEMPTION_RAMP, (v / top) ** 0.5), 150] for v in cells["redemptions"]]
    return pdk.Layer(
        "ColumnLayer", data=cells, id=REDEMPTIONS_LAYER, get_position=["lon", "lat"], disk_resolution=6,
        radius=1000.0 if cells.empty else float(cells["radius_m"].iloc[0]), extruded=False,
        get_fill_color="color", pickable=False, angle=90,
    )


def attention_layer(df: pd.DataFrame, kpi: str = "symmetry_index") -> pdk.Layer:
    """A ring around each store on the attention list (rows with ``on_attention`` true)."""
    df = located(df)
    flagged = df[df["on_attention"].fillna(False).astype(bool)] if not df.empty and "on_attention" in df else df.iloc[0:0]
    points = _points(flagged, kpi) if not flagged.empty else pd.DataFrame(
        columns=["store_id", "store_name", "store_city", "category_label", "lat", "lon", "kpi_text",
                 "orders_text", "radius"])
    if not points.empty:
        points["radius"] = points["radius"] + 6
    return pdk.Layer(
        "ScatterplotLayer", data=points, id=ATTENTION_LAYER, get_position=["lon", "lat"],
        get_radius="radius", radius_units="'pixels'", filled=False, stroked=True,
        get_line_color=ATTENTION_RGBA, line_width_min_pixels=3, pickable=True,
    )


def load_ahead_layer(df: pd.DataFrame, at_risk: Sequence[str], kpi: str = "symmetry_index") -> pdk.Layer:
    """An orange ring, outside the attention ring, around each store whose next 14 days are
    forecast over capacity (``at_risk``: store ids from :func:`o2o_ops.forecast.load_ahead`)."""
    df = located(df)
    flagged = df[df["store_id"].isin(set(at_risk))] if not df.empty else df
    points = _points(flagged, kpi) if not flagged.empty else pd.DataFrame(
        columns=["store_id", "store_name", "store_city", "category_label", "lat", "lon", "kpi_text",
                 "orders_text", "radius"])
    if not points.empty:
        points["radius"] = points["radius"] + 11
    return pdk.Layer(
        "ScatterplotLayer", data=points, id=LOAD_AHEAD_LAYER, get_position=["lon", "lat"],
        get_radius="radius", radius_units="'pixels'", filled=False, stroked=True,
        get_line_color=LOAD_AHEAD_RGBA, line_width_min_pixels=3, pickable=True,
    )


def view_for(df: pd.DataFrame) -> pdk.ViewState:
    """A view that frames every placed store (a default over eastern China when there are none)."""
    df = located(df)
    if df.empty:
        return pdk.ViewState(latitude=31.2, longitude=117.0, zoom=4)
    lat, lon = df["lat"].astype(float), df["lon"].astype(float)
    span = _span_degrees(df)
    zoom = max(1.0, min(13.0, math.log2(360 / span) - 0.6))
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
        get_size=14, get_color=[31, 41, 55, 255], get_alignment_baseline="'bottom'",
        get_pixel_offset=[0, -26], background=True, get_background_color=[255, 255, 255, 215],
        background_padding=[4, 2], pickable=False,
    )


def build_deck(layers: Sequence[pdk.Layer], view: pdk.ViewState, kpi: str = "symmetry_index") -> pdk.Deck:
    """The map: given layers, no basemap (works offline, needs no token), the shared tooltip."""
    return pdk.Deck(layers=list(layers), initial_view_state=view, map_provider=None, map_style=None,
                    tooltip=tooltip(kpi))


def legend(kpi: str, vmin: float | None, vmax: float | None, steps: int = 5) -> pd.DataFrame:
    """The colour scale as rows (value text, CSS colour), low to high; empty when undefined."""
    if units.is_missing(vmin) or units.is_missing(vmax):
        return pd.DataFrame(columns=["value", "label", "css"])
    kpi_def = metrics.KPIS[kpi]
    values = [vmin] if vmax <= vmin else [vmin + (vmax - vmin) * i / (steps - 1) for i in range(steps)]
    rows = []
    for v in values:
        r, g, b, _ = color_for(v, vmin, vmax, higher_is_better=kpi_def.higher_is_better)
        rows.append({"value": v, "label": kpi_def.format(v), "css": f"rgb({r},{g},{b})"})
    return pd.DataFrame(rows)


def legend_html(kpi: str, vmin: float | None, vmax: float | None) -> str:
    """The legend as a small HTML strip (for ``st.html``/``st.markdown``)."""
    scale = legend(kpi, vmin, vmax)
    label = metrics.KPIS[kpi].label
    if scale.empty:
        return f"<div><b>{label}</b>: no values for these filters</div>"
    swatches = "".join(
        f"<span style='display:inline-flex;align-items:center;margin-right:14px'>"
        f"<span style='width:14px;height:14px;border-radius:50%;background:{row.css};display:inline-block;"
        f"margin-right:5px'></span>{row.label}</span>" for row in scale.itertuples())
    return (f"<div style='font-size:13px'><b>{label}</b> (colour) &nbsp; {swatches}"
            f"<span style='color:#64748b'>· size = orders · grey = no value</span></div>")


def selected_store_ids(selection: dict | None) -> list[str]:
    """Store ids in a ``st.pydeck_chart`` selection (``{"objects": {layer_id: [rows]}}``), sorted."""
    if not selection:
        return []
    objects = (selection.get("selection") or selection).get("objects") or {}
    ids = {str(obj["store_id"]) for layer in (STORES_LAYER, ATTENTION_LAYER, LOAD_AHEAD_LAYER)
           for obj in objects.get(layer, []) or [] if isinstance(obj, dict) and obj.get("store_id")}
    return sorted(ids)
