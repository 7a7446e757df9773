"""Store activity map: stores coloured by a KPI, redemption activity, the attention list.

Selecting stores on the map (click, or shift-drag for a box) puts them into the shared store
filter, so every other page, and the URL, narrows to them. The map itself ignores the store
filter, so the rest of the stores stay there to change the selection. Stores without
coordinates are listed under the map, not drawn.
"""

import streamlit as st

from o2o_ops import forecast, maps, metrics, symmetry, text
from o2o_ops.ui import warehouse, frame

map_stores = warehouse.cached(symmetry.map_stores)
redemption_bins = warehouse.cached(symmetry.redemption_bins)
store_risk = warehouse.cached(forecast.store_risk)
MAP_KEY = "store_map"


def _select_from_map() -> None:
    """on_select callback: runs before the script, so the sidebar store filter can still be set."""
    selected = maps.selected_store_ids(st.session_state.get(MAP_KEY))
    st.session_state["flt_store"] = selected


def page() -> None:
    filters = frame.current_filters()
    frame.header("Store map", filters, note="no basemap needed: works offline")
    c1, c2 = st.columns([2, 3])
    kpi = c1.selectbox("Colour stores by", symmetry.MAP_KPIS, key="map_kpi",
                       format_func=lambda name: metrics.KPIS[name].label)
    shown = c2.pills("Layers", ["Stores", "Redemption activity", "Attention list", "Load ahead"],
                     selection_mode="multi", key="map_layers",
                     default=["Stores", "Redemption activity", "Attention list", "Load ahead"])
    area = filters.replace(stores=())
    stores = map_stores(area, kpis=(kpi,))   # only the KPI the map colours by
    if stores.empty:
        frame.empty_state(filters)
        return
    unplaced = maps.unlocated(stores)
    if len(unplaced) == len(stores):
        st.info(text.md(f"None of the {len(stores):,} stores with orders under these filters has coordinates "
                        f"(latitude/longitude), so there is nothing to place on the map. Add them to the "
                        f"stores file to see the map."), icon="🗺️")
        unplaced_list(unplaced, filters)
        return
    layers = []
    if "Redemption activity" in shown:
        layers.append(maps.redemption_hex_layer(redemption_bins(area, maps.cell_degrees(stores))))
    if "Stores" in shown:
        layers.append(maps.store_points_layer(stores, kpi))
    if "Attention list" in shown:
        layers.append(maps.attention_layer(stores, kpi))
    risky: list[str] = []
    if "Load ahead" in shown:
        risk = store_risk(area.replace(start=None, end=None))
        risky = risk.loc[risk["at_risk"].astype(bool), "store_id"].tolist() if not risk.empty else []
        layers.append(maps.load_ahead_layer(stores, risky, kpi))
    if layers:
        layers.append(maps.city_labels_layer(stores))
    if not layers:
        st.info("Switch on at least one layer above.", icon="🗺️")
        return
    st.pydeck_chart(maps.build_deck(layers, maps.view_for(stores), kpi), height=maps.MAP_HEIGHT,
                    on_select=_select_from_map, selection_mode="multi-object", key=MAP_KEY,
                    alt=f"Map of {len(stores)} stores coloured by {metrics.KPIS[kpi].label}")
    st.html(maps.legend_html(kpi, *(maps.kpi_range(stores, kpi) or (None, None))))
    placed = maps.located(stores)
    flagged = int(placed["on_attention"].sum())
    blank = int(placed[kpi].isna().sum()) if kpi in placed else 0
    why = ("too few reviews or not provided" if metrics.KPIS[kpi].evidence else "not provided or undefined")
    ahead = (f" · {len(risky)} forecast over capacity in the next {forecast.HORIZON_DAYS} days (orange ring)"
             if "Load ahead" in shown else "")
    st.caption(f"{len(placed):,} store{'' if len(placed) == 1 else 's'} · {flagged} on the attention list (red ring){ahead} · hexagons = redemptions "
               + (f"· {blank:,} grey: no {metrics.KPIS[kpi].label.lower()} ({why}), left out of the colour scale " if blank else "")
               + "· click a store, or shift-drag a box, to filter every page to the selection")
    if filters.stores:
        names = dict(zip(stores["store_id"], stores["store_name"]))
        st.markdown("**Selected:** " + text.md(", ".join(f"{names.get(s, s)} ({s})" for s in filters.stores)))
    if not unplaced.empty:
        st.warning(text.md(maps.unlocated_note(len(unplaced))), icon="📍")
        unplaced_list(unplaced, filters)


def unplaced_list(unplaced, filters) -> None:
    """The stores the map cannot place, with their orders, to fix in the stores file."""
    with st.expander(f"Stores without coordinates ({len(unplaced):,})"):
        frame.table(unplaced[["store_id", "store_name", "store_city", "store_category", "orders"]], "map", filters,
                    key="stores_without_coordinates", column_config={
                        "store_id": "Store", "store_name": "Name", "store_city": "City",
                        "store_category": "Category",
                        "orders": st.column_config.NumberColumn("Orders", format="%d")})


frame.guard(page)
