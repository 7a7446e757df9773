"""Store activity map: cities or stores coloured by a KPI, redemption density, the attention list.

Zoomed out (several cities) the map shows one bubble per city; click one to narrow every page to
that city, where the map shows its stores with their names and districts. Selecting stores
(click, or shift-drag for a box) puts them into the shared store filter, so every other page, and
the URL, narrows to them. The map itself ignores the store filter, so the rest of the stores stay
there to change the selection. Stores without coordinates are listed under the map, not drawn.
"""

import streamlit as st

from o2o_ops import attention, config, forecast, i18n, maps, metrics, symmetry, text, weekly
from o2o_ops.ui import warehouse, frame

map_stores = warehouse.cached(symmetry.map_stores)
map_stores_before_orders = warehouse.cached(symmetry.map_stores_before_orders)
map_cities = warehouse.cached(symmetry.map_cities)
attention_week = warehouse.cached(symmetry.attention_week)
redemption_bins = warehouse.cached(symmetry.redemption_bins)
store_risk = warehouse.cached(forecast.store_risk)
load_ahead_not_provided = warehouse.cached(forecast.not_provided)
MAP_KEY = "store_map"
PHONE_MAP_PX = 350          # the map's width on a phone
LEVEL_WORDS = {"auto": "map.level_auto", "cities": "map.level_cities", "stores": "map.level_stores"}


def _select_from_map() -> None:
    """on_select callback: runs before the script, so the sidebar filters can still be set. A city
    bubble narrows to that city (its stores then show); stores go into the store filter."""
    selection = st.session_state.get(MAP_KEY)
    cities = maps.selected_cities(selection)
    if cities:
        st.session_state["flt_city"] = cities
        st.session_state["flt_store"] = []
        return
    st.session_state["flt_store"] = maps.selected_store_ids(selection)


LAYER_WORDS = {"Stores": "map.layer_stores", "Redemption activity": "map.layer_activity",
               "Attention list": "map.layer_attention", "Load ahead": "map.layer_load"}


def layers_not_provided(missing: dict[str, str], lang: str) -> dict[str, str]:
    """Layer -> why it can draw nothing on this warehouse (the detail of its data's note: "no
    reviews imported"), from the map KPIs' notes (``missing``: :func:`frame.never_provided`) and
    the load ahead's own reason; before any order, that of capacity utilisation, which the load
    ahead forecasts (no order day to forecast from)."""
    notes = {layer: missing[kpi] for layer, kpi in maps.LAYER_NEEDS.items() if kpi in missing}
    ahead = load_ahead_not_provided()
    if ahead:
        notes["Load ahead"] = i18n.note(ahead, lang)
    elif "capacity_utilisation" in missing and frame.data_span(warehouse.dimension_values()) is None:
        notes["Load ahead"] = missing["capacity_utilisation"]
    return {layer: i18n.note_detail(note) for layer, note in notes.items()}


def page() -> None:
    lang = frame.language()
    filters = frame.current_filters()
    t = frame.t
    tiles = config.get("O2O_MAP_TILES")
    frame.header(t("nav.map"), filters, note=None if tiles.strip() else t("map.note"))
    # the layer pills get a row of their own: beside the other controls the last one was cut off
    c1, c3 = st.columns([3, 2])
    c2 = st.container()
    # a KPI the warehouse cannot provide colours every store grey: it is marked in the list, and the
    # map starts on the first it can provide (a warehouse without reviews: not the symmetry index)
    missing = frame.never_provided(filters, symmetry.MAP_KPIS)
    first = next((i for i, name in enumerate(symmetry.MAP_KPIS) if name not in missing), 0)
    label = frame.kpi_labeller()
    kpi = c1.selectbox(t("map.colour_by"), symmetry.MAP_KPIS, index=first, key="map_kpi",
                       format_func=lambda name: t("map.kpi_not_provided", label=label(name)) if name in missing
                       else label(name))
    # so is a layer that can draw nothing, and it starts switched off
    blank_layers = layers_not_provided(missing, lang)
    layer_label = frame.key_labeller(LAYER_WORDS)
    shown = c2.pills(t("map.layers"), list(maps.LAYERS), selection_mode="multi", key="map_layers",
                     format_func=lambda layer: (t("map.kpi_not_provided", label=layer_label(layer))
                                                if layer in blank_layers else layer_label(layer)),
                     default=[layer for layer in maps.LAYERS if layer not in blank_layers])
    choice = c3.segmented_control(t("map.show"), list(maps.LEVELS), key="map_level", default="auto",
                                  format_func=frame.key_labeller(LEVEL_WORDS), help=t("map.show_help")) or "auto"
    area = filters.replace(stores=())
    stores = map_stores(area, kpis=(kpi,))   # only the KPI the map colours by
    no_orders_yet = stores.empty and frame.data_span(warehouse.dimension_values()) is None
    if no_orders_yet:   # stores imported first: drawn grey where they are, to check their positions
        stores = map_stores_before_orders(area, kpis=(kpi,))
    if stores.empty:
        frame.empty_state(filters)
        return
    if no_orders_yet:
        st.info(t("map.no_orders_yet", count=f"{len(stores):,}"), icon="📥")
    unplaced = maps.unlocated(stores)
    if len(unplaced) == len(stores):
        st.info(text.md(t("map.none_placed_no_orders" if no_orders_yet else "map.none_placed",
                          count=f"{len(stores):,}")), icon="🗺️")
        unplaced_list(unplaced, filters)
        return
    level = maps.level_for(choice, stores, city_filter=bool(filters.cities))
    view = maps.view_for(stores, width_px=PHONE_MAP_PX if frame.is_phone() else None)
    taken: list = []                              # label boxes placed so far: no two overlap
    if frame.is_phone():                          # and none runs off a phone's narrow map
        taken += maps.edge_boxes(view, PHONE_MAP_PX)
    layers = []
    try:
        basemap = maps.basemap_layer(tiles)
    except ValueError as exc:   # a setting the operator got wrong: say so, draw without tiles
        st.warning(str(exc) + " " + t("map.no_tiles"), icon="🗺️")
        basemap = None
    if basemap is not None:
        layers.append(basemap)
    if "Redemption activity" in shown and "Redemption activity" not in blank_layers:
        layers.append(maps.redemption_density_layer(redemption_bins(area, maps.cell_degrees(stores))))
    risky: list[str] = []
    scale = maps.kpi_range(stores, kpi)          # the legend: what the colours span
    if level == "cities":
        if "Stores" in shown:   # a city's bubble stands for its stores: off with them
            cities = maps.city_points(stores, map_cities(area, kpi), kpi)
            cities = cities.assign(radius=maps.city_radii(cities, view.zoom))   # none overlaps another
            scale = maps.kpi_range(cities.rename(columns={"kpi_value": kpi}), kpi)
            taken += maps.bubble_boxes(cities, view.zoom)                           # no label covers a bubble
            layers += [maps.city_layer(cities, kpi, lang, zoom=view.zoom),
                       maps.labels_layer(cities, text_column="city", size=14, zoom=view.zoom, taken=taken,
                                         radius_column="radius")]
    else:
        if "Stores" in shown:
            layers.append(maps.store_points_layer(stores, kpi, lang))
        if "Attention list" in shown and "Attention list" not in blank_layers:
            layers.append(maps.attention_layer(stores, kpi, lang))
        if "Load ahead" in shown and "Load ahead" not in blank_layers:
            risk = store_risk(area.replace(start=None, end=None))
            risky = risk.loc[risk["at_risk"].astype(bool), "store_id"].tolist() if not risk.empty else []
            layers.append(maps.load_ahead_layer(stores, risky, kpi, lang))
        # placed in this order (the stores' bubbles, districts, the city, then store names): a
        # label never covers a bubble or one placed before it, so the districts, the reader's
        # bearings within a city, show wherever they fit. A district of one store is named in its
        # store's label ("store · district"): its own label, at the same spot, hid the store's name
        dots = maps.store_dots(stores)
        taken += maps.bubble_boxes(dots, view.zoom)             # no label covers a store's dot
        by_district = maps.district_points(stores)
        districts = maps.labels_layer(by_district[by_district["only_store"] == ""], text_column="label",
                                      zoom=view.zoom, taken=taken, layer_id=maps.DISTRICT_LABELS_LAYER, size=15,
                                      offset=30, color=(71, 85, 105, 255))
        cities_named = maps.labels_layer(maps.city_points(stores, stores.head(0), kpi), text_column="city",
                                         layer_id="city-labels", size=16, offset=-46, zoom=view.zoom, taken=taken)
        names = maps.labels_layer(maps.with_lone_districts(dots, by_district), text_column="label", zoom=view.zoom,
                                  taken=taken, radius_column="radius")
        layers += [districts, cities_named, names]
    if not [layer for layer in shown if layer not in blank_layers]:
        st.info(t("map.no_layer"), icon="🗺️")
    frame.keep_map_tooltips_inside()
    st.pydeck_chart(maps.build_deck(layers, view, kpi, lang), height=maps.MAP_HEIGHT,
                    on_select=_select_from_map, selection_mode="multi-object", key=MAP_KEY,
                    alt=t("map.alt", count=len(stores), kpi=frame.kpi_label(kpi)))
    if basemap is not None:
        st.caption(text.md(maps.basemap_credit(tiles, config.get("O2O_MAP_TILES_ATTRIBUTION"))))
    st.html(maps.legend_html(kpi, *(scale or (None, None)), lang=lang, why=missing.get(kpi)))
    placed = maps.located(stores)
    flagged = int(placed["on_attention"].sum())
    week = attention_week(area)
    judged = (t("map.judged", start=f"{week[0]:%-d %b}" if lang == "en" else i18n.format_day(week[0], lang),
                end=i18n.format_day(week[1], lang)) if week else "")
    blank = int(placed[kpi].isna().sum()) if kpi in placed else 0
    why = t("map.why_evidence") if metrics.KPIS[kpi].evidence else t("map.why_undefined")
    # no "0 need attention" where no store could be judged (an all-clear nobody measured): no review
    # was imported to judge by, or no store had enough reviews that week
    unjudged = t("map.unjudged", why=blank_layers["Attention list"]) if "Attention list" in blank_layers else None
    if unjudged is None and week and not placed["judged"].any():
        unjudged = t("map.unjudged", why=weekly.too_few_everywhere(attention.Rule.from_settings(), lang))
    if level == "cities":
        st.caption(t("map.caption_cities_unjudged" if unjudged else "map.caption_cities",
                     cities=f"{placed['store_city'].nunique():,}", count=f"{len(placed):,}",
                     kpi=frame.kpi_in_sentence(kpi), flagged=flagged, judged=judged, unjudged=unjudged))
    else:
        ahead = (t("map.ahead", count=len(risky), days=forecast.HORIZON_DAYS)
                 if "Load ahead" in shown and "Load ahead" not in blank_layers else "")
        caption = "map.caption_one" if len(placed) == 1 else "map.caption"
        st.caption(t(caption + "_unjudged" if unjudged else caption, count=f"{len(placed):,}",
                     flagged=flagged, judged=judged, ahead=ahead, unjudged=unjudged)
                   + (t("map.grey", count=f"{blank:,}", kpi=frame.kpi_in_sentence(kpi), why=why) if blank else "")
                   + t("map.click"))
    for layer in (layer for layer in maps.LAYERS if layer in shown and layer in blank_layers):
        st.caption(t("map.layer_why", layer=layer_label(layer), why=blank_layers[layer]))
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
