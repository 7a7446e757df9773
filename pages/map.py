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


LAYER_WORDS = {"Stores": "map.layer_stores", "Redemption activity": "map.layer_activity",
               "Attention list": "map.layer_attention", "Load ahead": "map.layer_load"}


def page() -> None:
    filters = frame.current_filters()
    t = frame.t
    frame.header(t("nav.map"), filters, note=t("map.note"))
    c1, c2 = st.columns([2, 3])
    kpi = c1.selectbox(t("map.colour_by"), symmetry.MAP_KPIS, key="map_kpi", format_func=frame.kpi_labeller())
    shown = c2.pills(t("map.layers"), ["Stores", "Redemption activity", "Attention list", "Load ahead"],
                     selection_mode="multi", key="map_layers", format_func=frame.key_labeller(LAYER_WORDS),
                     default=["Stores", "Redemption activity", "Attention list", "Load ahead"])
    area = filters.replace(stores=())
    stores = map_stores(area, kpis=(kpi,))   # only the KPI the map colours by
    if stores.empty:
        frame.empty_state(filters)
        return
    unplaced = maps.unlocated(stores)
    if len(unplaced) == len(stores):
        st.info(text.md(t("map.none_placed", count=f"{len(stores):,}")), icon="🗺️")
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
        st.info(t("map.no_layer"), icon="🗺️")
        return
    st.pydeck_chart(maps.build_deck(layers, maps.view_for(stores), kpi), height=maps.MAP_HEIGHT,
                    on_select=_select_from_map, selection_mode="multi-object", key=MAP_KEY,
                    alt=t("map.alt", count=len(stores), kpi=frame.kpi_label(kpi)))
    st.html(maps.legend_html(kpi, *(maps.kpi_range(stores, kpi) or (None, None))))
    placed = maps.located(stores)
    flagged = int(placed["on_attention"].sum())
    blank = int(placed[kpi].isna().sum()) if kpi in placed else 0
    why = t("map.why_evidence") if metrics.KPIS[kpi].evidence else t("map.why_undefined")
    ahead = (t("map.ahead", count=len(risky), days=forecast.HORIZON_DAYS) if "Load ahead" in shown else "")
    st.caption(t("map.caption_one" if len(placed) == 1 else "map.caption", count=f"{len(placed):,}", flagged=flagged,
                 ahead=ahead)
               + (t("map.grey", count=f"{blank:,}", kpi=frame.kpi_in_sentence(kpi), why=why) if blank else "")
               + t("map.click"))
    if filters.stores:
        names = dict(zip(stores["store_id"], stores["store_name"]))
        st.markdown(f"**{t('map.selected')}** " + text.md(", ".join(f"{names.get(s, s)} ({s})" for s in filters.stores)))
    if not unplaced.empty:
        st.warning(text.md(t("map.unlocated", count=f"{len(unplaced):,}") if frame.language() != "en"
                           else maps.unlocated_note(len(unplaced))), icon="📍")
        unplaced_list(unplaced, filters)


def unplaced_list(unplaced, filters) -> None:
    """The stores the map cannot place, with their orders, to fix in the stores file."""
    t = frame.t
    with st.expander(t("map.without_coordinates", count=f"{len(unplaced):,}")):
        frame.table(unplaced[["store_id", "store_name", "store_city", "store_category", "orders"]], "map", filters,
                    key="stores_without_coordinates", column_config={
                        "store_id": t("overview.col_store"), "store_name": t("overview.col_name"),
                        "store_city": t("frame.city"), "store_category": t("frame.category"),
                        "orders": st.column_config.NumberColumn(frame.kpi_label("orders"), format="%d")})


frame.guard(page)
