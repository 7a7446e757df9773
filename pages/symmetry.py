"""Online-offline symmetry: does each store deliver offline what it promises online?

Opens on one store's drill when the link names a store (``./symmetry?store=S0003``).
"""

import streamlit as st

from o2o_ops import attention, metrics, symmetry, text
from o2o_ops.charts import symmetry as charts
from o2o_ops.ui import auth as auth_ui, warehouse, frame

store_table = warehouse.cached(symmetry.store_table)
deal_gap_by_store = warehouse.cached(symmetry.deal_gap_by_store)
deal_gap_by_week = warehouse.cached(symmetry.deal_gap_by_week)
attention_list = warehouse.cached(symmetry.attention_list)
store_trend = warehouse.cached(symmetry.store_trend)
campaign_phases = warehouse.cached(symmetry.campaign_phases)
low_rated_reviews = warehouse.cached(symmetry.low_rated_reviews)
promises_provided = warehouse.cached(symmetry.promises_provided)
late_vs_promise_by_store = warehouse.cached(symmetry.late_vs_promise_by_store)
inspections_provided = warehouse.cached(symmetry.inspections_provided)
rating_vs_inspections = warehouse.cached(symmetry.rating_vs_inspections)

CARD_KPIS = ("symmetry_index", "rating_gap", "wait_gap_minutes", "as_described_rate", "complaint_rate",
             "deal_customer_gap")
TABLE_COLUMNS = ["store_id", "store_name", "store_city", "store_category", "symmetry_index", "listed_rating",
                 "avg_rating", "rating_gap", "listed_wait_minutes", "actual_wait_minutes", "wait_gap_minutes",
                 "as_described_rate", "complaint_rate", "deal_customer_gap", "reviews", "redemptions"]
DRILL = "Store drill"


def page() -> None:
    filters = frame.current_filters()
    frame.header("Online-offline symmetry", filters,
                 note="does what stores promise online match what customers get offline?")
    stores = store_table(filters)
    if stores.empty:
        frame.empty_state(filters)
        return
    totals = warehouse.kpis(filters, "total", tuple(dict.fromkeys(("orders", "reviews", *CARD_KPIS))))  # = card_notes
    frame.kpi_cards(totals.iloc[0], CARD_KPIS, columns=3, notes=frame.card_notes(filters, CARD_KPIS))
    with st.expander("How the symmetry index is scored"):
        st.markdown(metrics.SYMMETRY_DOC)

    linked = len(filters.stores) == 1   # a link, a clicked row or the sidebar names one store: its view
    # stateful tabs follow a changed default: a store picked (or Back to none) opens the right tab
    tabs = st.tabs(["Stores", "Attention list", "Deal customers", DRILL], default=DRILL if linked else None,
                   key="sym_tabs", on_change="rerun")
    with tabs[0]:
        stores_tab(stores, filters)
        promise_section(filters)
        inspection_section(filters)
    with tabs[1]:
        attention_tab(filters)
    with tabs[2]:
        deal_tab(filters)
    with tabs[3]:
        drill_tab(stores, filters)


def stores_tab(stores, filters) -> None:
    st.plotly_chart(charts.listed_vs_actual(stores), key="sym_scatter", on_select=_pick_point,
                    selection_mode="points")
    config = frame.kpi_column_config(TABLE_COLUMNS) | {
        "store_id": "Store", "store_name": "Name", "store_city": "City", "store_category": "Category",
        "listed_rating": st.column_config.NumberColumn("Listed rating", format="%.1f ★",
                                                       help="Rating shown online"),
        "avg_rating": st.column_config.NumberColumn("Actual rating", format="%.2f ★",
                                                    help=metrics.KPIS["avg_rating"].description),
        "listed_wait_minutes": st.column_config.NumberColumn("Promised wait", format="%.0f min"),
        "actual_wait_minutes": st.column_config.NumberColumn("Actual wait", format="%.1f min",
                                                             help="Promised wait + wait gap: the mean recorded wait"),
    }
    floor = attention.Rule.from_settings().min_reviews
    thin = attention.left_out(stores, attention.Rule.from_settings())
    st.caption(text.md(f"One row per store, worst symmetry first · {filters.describe()}")
               + (f" · {thin:,} store{'' if thin == 1 else 's'} with fewer than {floor} reviews show no rating or "
                  f"index (too little evidence) and come last" if thin else ""))
    frame.table(stores[TABLE_COLUMNS], "symmetry", filters, key="stores", column_config=config,
                on_pick=_pick_store, pick_key=",".join(filters.stores))
    st.caption("Tick a store's row, or click its marker in the chart, for its own view (the Store drill tab); "
               "the browser's Back returns here.")


def _pick_store(row: dict) -> None:
    """A store row clicked: the store filter becomes that store (before the sidebar runs), which
    opens its drill and puts ``?store=`` in the URL, one history entry."""
    st.session_state["flt_store"] = [row["store_id"]]


def _pick_point(*_args) -> None:
    """A store's marker clicked in the listed-vs-actual chart: its own view, as a ticked row."""
    store_id = charts.picked_store(st.session_state.get("sym_scatter"))
    if store_id:
        st.session_state["flt_store"] = [store_id]


def promise_section(filters) -> None:
    """Late against each order's own promise (a promised time or wait on the order), per store."""
    st.subheader("Late against the order's own promise")
    if not promises_provided():
        st.caption("Not provided: no order carries a promise of its own (orders.promised_at or "
                   "orders.promised_wait_minutes in the warehouse contract).")
        return
    by_store = late_vs_promise_by_store(filters)
    if by_store.empty:
        st.caption(text.md(f"No order's promise is due in this view · {filters.describe()}"))
        return
    totals = warehouse.kpis(filters, "total", symmetry.PROMISE_KPIS)
    frame.kpi_cards(totals.iloc[0], symmetry.PROMISE_KPIS, columns=2)
    cols = ["store_id", "store_name", "store_city", "store_category", "late_vs_promise_rate", "promises_due"]
    config = frame.kpi_column_config(cols) | {
        "store_id": "Store", "store_name": "Name", "store_city": "City", "store_category": "Category"}
    st.caption(text.md(f"One row per store with a promise due, latest first · {filters.describe()}"))
    frame.table(by_store[cols], "symmetry", filters, key="promises", column_config=config)


def inspection_section(filters) -> None:
    """The online (listed) rating set against the offline inspection record, per store."""
    st.subheader("Online rating against offline inspections")
    if not inspections_provided():
        st.caption("Not provided: the warehouse holds no inspections (the optional table inspections of the "
                   "warehouse contract).")
        return
    stores = rating_vs_inspections(filters)
    if stores.empty:
        st.caption(text.md(f"No store with orders was inspected in this view · {filters.describe()}"))
        return
    cards = ("inspections", "inspection_pass_rate", "violations_per_inspection", "avg_inspection_score")
    frame.kpi_cards(warehouse.kpis(filters, "total", cards).iloc[0], cards, columns=4)
    failing = int(stores["failed_inspection"].sum())
    st.caption(text.md(f"{failing} of {len(stores)} inspected stores failed at least one inspection; they come first, "
                       f"the highest online rating first · {filters.describe()}"))
    cols = ["store_id", "store_name", "store_city", "store_category", *symmetry.INSPECTION_KPIS]
    config = frame.kpi_column_config(cols) | {
        "store_id": "Store", "store_name": "Name", "store_city": "City", "store_category": "Category"}
    frame.table(stores[cols], "symmetry", filters, key="inspections", column_config=config)


def attention_tab(filters) -> None:
    rule = attention.Rule.from_settings()
    c1, c2 = st.columns(2)
    threshold = c1.slider("Flag over-promising by at least (stars)", 0.1, 2.0,
                          float(rule.rating_gap), 0.1, key="sym_gap_threshold")
    min_drop = c2.slider(f"Flag a symmetry-index fall over {attention.WEEKS} weeks of at least (points)",
                         1, 50, int(rule.index_drop), 1, key="sym_min_drop")
    flagged = attention_list(filters, float(threshold), float(min_drop))
    shown = attention.Rule.from_settings(rating_gap=float(threshold), index_drop=float(min_drop))
    judged = store_table(filters)
    unjudged = attention.left_out_words(attention.left_out(judged, shown), shown)
    st.caption(text.md(" ".join(p for p in (shown.describe(), unjudged) if p)))
    if flagged.empty:
        if len(judged) and attention.left_out(judged, shown) == len(judged):
            st.info("No store has enough reviews to be judged under these filters.", icon="🔎")
        else:
            st.success("No store over-promises its rating or wait by that much, or lost that many index points. ✓")
        return
    st.caption(f"{len(flagged)} store{'' if len(flagged) == 1 else 's'} · rating over-promisers first (largest gap), then the "
               f"longest waits, then the biggest falls · last {attention.WEEKS} weeks vs the {attention.WEEKS} before")
    for row in flagged.head(5).itertuples():
        st.markdown(f"**[{text.md(row.store_name)}](./symmetry?store={text.url_param(row.store_id)})** "
                    + text.md(f"({row.store_id}, {row.store_city}) — {row.reason}"))
    cols = ["store_id", "store_name", "store_city", "store_category", "reason", "rating_gap",
            "wait_gap_minutes", "symmetry_index", "index_before", "index_recent", "index_drop"]
    config = frame.kpi_column_config(cols) | {
        "reason": st.column_config.TextColumn("Why", width="large"),
        "index_before": st.column_config.NumberColumn("Index, 4 weeks before", format="%.0f"),
        "index_recent": st.column_config.NumberColumn("Index, last 4 weeks", format="%.0f"),
        "index_drop": st.column_config.NumberColumn("Fall (points)", format="%.0f"),
    }
    frame.table(flagged[cols], "symmetry", filters, key="attention", column_config=config,
                on_pick=_pick_store, pick_key=",".join(filters.stores))


def deal_tab(filters) -> None:
    by_store = deal_gap_by_store(filters)
    by_week = deal_gap_by_week(filters)
    left, right = st.columns(2)
    left.plotly_chart(charts.deal_gap_by_store(by_store), key="sym_deal_store")
    right.plotly_chart(charts.deal_gap_over_time(by_week), key="sym_deal_week")
    st.caption("Deal-customer gap = average rating of campaign orders − average rating of full-price orders; "
               "negative = deal customers are less happy. Stores with no campaign reviews are left out.")


def drill_tab(stores, filters) -> None:
    options = stores["store_id"].tolist()
    names = dict(zip(stores["store_id"], stores["store_name"]))
    wanted = filters.stores[0] if len(filters.stores) == 1 and filters.stores[0] in options else None
    store_id = st.selectbox("Store", options, index=options.index(wanted) if wanted else 0, key="sym_drill_store",
                            format_func=lambda sid: f"{text.plain(names.get(sid, sid))} ({text.plain(sid)})")
    row = stores.set_index("store_id").loc[store_id]
    st.subheader(text.md(f"{row['store_name']} · {row['store_city']} · {str(row['store_category']).replace('_', ' ')}"))
    st.markdown(text.md(symmetry.reason(row) or "No gap between promise and delivery worth a mention."))
    drill = ("symmetry_index", "avg_rating", "rating_gap", "wait_gap_minutes")
    frame.kpi_cards(row, drill, columns=4, notes=frame.card_notes(filters.replace(stores=(store_id,)), drill))
    left, right = st.columns(2)
    left.plotly_chart(charts.store_trend(store_trend(filters, store_id)), key="sym_drill_trend")
    right.plotly_chart(charts.campaign_phases(campaign_phases(filters, store_id)), key="sym_drill_phases")

    st.markdown(f"**Recent low-rated reviews** (rating ≤ {symmetry.LOW_RATING}), newest first")
    if not auth_ui.can_see_orders():   # each review row carries its order: analysts only
        st.info("Reviews with their orders are shown to analysts only; the store's ratings are above.", icon="🔒")
        return
    page_size = 20
    page_key = f"sym_reviews_page_{store_id}"
    page_no = st.session_state.get(page_key, 1)
    reviews, total = low_rated_reviews(filters, store_id, page_size=page_size, page_no=page_no)
    if total == 0:
        st.info("No low-rated reviews for this store in the period.", icon="👍")
        return
    pages = max(1, -(-total // page_size))
    st.number_input(f"Page (of {pages}; {total:,} reviews)", 1, pages, key=page_key)
    frame.table(reviews, "symmetry", filters, key=f"reviews-{store_id}", column_config={
        "rating": st.column_config.NumberColumn("Rating", format="%d ★"),
        "paid_amount": st.column_config.NumberColumn("Paid", format="%.2f"),
        "wait_minutes": st.column_config.NumberColumn("Wait", format="%.0f min"),
        "listed_wait_minutes": st.column_config.NumberColumn("Promised wait", format="%.0f min"),
    })


frame.guard(page)
