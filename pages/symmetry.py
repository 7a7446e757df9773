"""Online-offline symmetry: does each store deliver offline what it promises online?

Opens on one store's drill when the link names a store (``./symmetry?store=S0003``).
"""

import streamlit as st

from o2o_ops import attention, i18n, symmetry, text, units
from o2o_ops.kpis import symmetry_index
from o2o_ops.charts import symmetry as charts
from o2o_ops.ui import auth as auth_ui, warehouse, frame

store_table = warehouse.cached(symmetry.store_table)
deal_gap_by_week = warehouse.cached(symmetry.deal_gap_by_week)
attention_trend = warehouse.cached(symmetry.attention_trend)
store_trend = warehouse.cached(symmetry.store_trend)
campaign_phases = warehouse.cached(symmetry.campaign_phases)
low_rated_reviews = warehouse.cached(symmetry.low_rated_reviews)
promises_provided = warehouse.cached(symmetry.promises_provided)
late_vs_promise_by_store = warehouse.cached(symmetry.late_vs_promise_by_store)
inspections_provided = warehouse.cached(symmetry.inspections_provided)
rating_vs_inspections = warehouse.cached(symmetry.rating_vs_inspections)

CARD_KPIS = ("symmetry_index", "rating_gap", "wait_gap_minutes", "as_described_rate", "complaint_rate",
             "deal_customer_gap")
INSPECTION_CARDS = ("inspections", "inspection_pass_rate", "violations_per_inspection", "avg_inspection_score")
# every card's total in one query (the promise and inspection cards below read it too)
TOTALS = tuple(dict.fromkeys(("orders", "reviews", *CARD_KPIS, *symmetry.PROMISE_KPIS, *INSPECTION_CARDS)))


def store_columns() -> dict[str, str]:
    """The words of the store columns every table here starts with, in the reader's language."""
    return {"store_id": frame.t("overview.col_store"), "store_name": frame.t("overview.col_name"),
            "store_city": frame.t("frame.city"), "store_category": frame.t("frame.category")}


TABLE_COLUMNS = ["store_id", "store_name", "store_city", "store_category", "symmetry_index", "listed_rating",
                 "avg_rating", "rating_gap", "listed_wait_minutes", "actual_wait_minutes", "wait_gap_minutes",
                 "as_described_rate", "complaint_rate", "deal_customer_gap", "reviews", "redemptions"]
t = frame.t


def page() -> None:
    filters = frame.current_filters()
    frame.header(t("nav.symmetry"), filters, note=t("symmetry.note"))
    stores = store_table(filters)
    if stores.empty:
        frame.empty_state(filters)
        return
    frame.period_cards(filters, CARD_KPIS, columns=3, totals_of=TOTALS)
    # the period's totals (under "month to date" the cards alone show the month so far): the same
    # query as the cards' unless they were narrowed, so answered by the cache
    totals = warehouse.kpis(filters, "total", TOTALS).iloc[0]
    # an empty chart of these says why, as its card does (from the totals above: no query)
    missing = frame.not_provided(filters, ("rating_gap", "deal_customer_gap", "reviews"), totals=totals)
    with st.expander(t("symmetry.how_scored")):
        st.markdown(symmetry_index.describe(lang=frame.language()))

    linked = len(filters.stores) == 1   # a link, a clicked row or the sidebar names one store: its view
    drill = t("symmetry.tab_drill")
    # stateful tabs follow a changed default: a store picked (or Back to none) opens the right tab
    tabs = st.tabs([t("symmetry.tab_stores"), t("symmetry.tab_attention"), t("symmetry.tab_deal"), drill],
                   default=drill if linked else None, key="sym_tabs", on_change="rerun")
    with tabs[0]:
        stores_tab(stores, filters, missing)
        promise_section(filters, totals)
        inspection_section(filters, totals)
    with tabs[1]:
        attention_tab(filters, missing)
    with tabs[2]:
        deal_tab(stores, filters, missing)
    with tabs[3]:
        drill_tab(stores, filters)


def stores_tab(stores, filters, missing) -> None:
    st.plotly_chart(frame.localise(charts.listed_vs_actual(stores), missing=missing.get("rating_gap")),
                    key="sym_scatter", on_select=_pick_point,
                    selection_mode="points")
    minutes = t("symmetry.min")
    config = frame.kpi_column_config(TABLE_COLUMNS) | store_columns() | {
        "listed_rating": st.column_config.NumberColumn(t("overview.col_listed_rating"), format="%.1f ★",
                                                       help=t("symmetry.listed_help")),
        "avg_rating": st.column_config.NumberColumn(t("symmetry.actual_rating"), format="%.2f ★",
                                                    help=frame.kpi_description("avg_rating")),
        "listed_wait_minutes": st.column_config.NumberColumn(t("symmetry.promised_wait"), format=f"%.0f {minutes}"),
        "actual_wait_minutes": st.column_config.NumberColumn(t("symmetry.actual_wait"), format=f"%.1f {minutes}",
                                                             help=t("symmetry.actual_wait_help")),
    }
    floor = attention.Rule.from_settings().min_reviews
    thin = attention.left_out(stores, attention.Rule.from_settings())
    st.caption(text.md(t("symmetry.stores_caption", filters=filters.describe(frame.language())))
               + (t("symmetry.thin", count=f"{thin:,}", floor=floor) if thin else ""))
    frame.table(stores[TABLE_COLUMNS], "symmetry", filters, key="stores", column_config=config,
                on_pick=_pick_store, pick_key=",".join(filters.stores))
    st.caption(t("symmetry.tick_store"))


def _pick_store(row: dict) -> None:
    """A store row clicked: the store filter becomes that store (before the sidebar runs), which
    opens its drill and puts ``?store=`` in the URL, one history entry."""
    st.session_state["flt_store"] = [row["store_id"]]


def _pick_point(*_args) -> None:
    """A store's marker clicked in the listed-vs-actual chart: its own view, as a ticked row."""
    store_id = charts.picked_store(st.session_state.get("sym_scatter"))
    if store_id:
        st.session_state["flt_store"] = [store_id]


def promise_section(filters, totals) -> None:
    """Late against each order's own promise (a promised time or wait on the order), per store."""
    st.subheader(t("symmetry.promise_title"))
    if not promises_provided():
        st.caption(t("symmetry.no_promises"))
        return
    by_store = late_vs_promise_by_store(filters)
    if by_store.empty:
        st.caption(text.md(t("symmetry.no_promise_due", filters=filters.describe(frame.language()))))
        return
    frame.kpi_cards(totals, symmetry.PROMISE_KPIS, columns=2)
    cols = ["store_id", "store_name", "store_city", "store_category", "late_vs_promise_rate", "promises_due"]
    config = frame.kpi_column_config(cols) | store_columns()
    st.caption(text.md(t("symmetry.promises_caption", filters=filters.describe(frame.language()))))
    frame.table(by_store[cols], "symmetry", filters, key="promises", column_config=config)


def inspection_section(filters, totals) -> None:
    """The online (listed) rating set against the offline inspection record, per store."""
    st.subheader(t("symmetry.inspections_title"))
    if not inspections_provided():
        st.caption(t("symmetry.no_inspections"))
        return
    stores = rating_vs_inspections(filters)
    if stores.empty:
        st.caption(text.md(t("symmetry.none_inspected", filters=filters.describe(frame.language()))))
        return
    frame.kpi_cards(totals, INSPECTION_CARDS, columns=4)
    failing = int(stores["failed_inspection"].sum())
    st.caption(text.md(t("symmetry.failing", failing=failing, inspected=len(stores),
                         filters=filters.describe(frame.language()))))
    cols = ["store_id", "store_name", "store_city", "store_category", *symmetry.INSPECTION_KPIS]
    config = frame.kpi_column_config(cols) | store_columns()
    frame.table(stores[cols], "symmetry", filters, key="inspections", column_config=config)


def attention_tab(filters, missing) -> None:
    rule = attention.Rule.from_settings()
    c1, c2 = st.columns(2)
    lang = frame.language()
    threshold = c1.slider(t("symmetry.gap_slider"), 0.1, 2.0,
                          float(rule.rating_gap), 0.1, key="sym_gap_threshold")
    min_drop = c2.slider(t("symmetry.drop_slider", weeks=attention.WEEKS),
                         1, 50, int(rule.index_drop), 1, key="sym_min_drop")
    shown = attention.Rule.from_settings(rating_gap=float(threshold), index_drop=float(min_drop))
    judged = store_table(filters)   # the stores tab's table: only the index trend is queried here
    flagged = symmetry.attention_from(judged, attention_trend(filters), shown, lang=lang)
    unjudged = attention.left_out_words(attention.left_out(judged, shown), shown, lang)
    st.caption(text.md(i18n.sentences((shown.describe(lang), unjudged), lang)))
    if flagged.empty:
        if attention.none_judged(judged, shown):   # and why, when the reviews were never imported
            why = missing.get("reviews")
            st.info(text.md(t("symmetry.none_judged_why", why=i18n.note_detail(why))) if why
                    else t("symmetry.none_judged"), icon="🔎")
        else:
            st.success(t("symmetry.none_flagged"))
        return
    st.caption(t("symmetry.flagged_one" if len(flagged) == 1 else "symmetry.flagged", count=len(flagged),
                 weeks=attention.WEEKS))
    for row in flagged.head(5).itertuples():
        st.markdown(f"**[{text.md(row.store_name)}](./symmetry?store={text.url_param(row.store_id)})** "
                    + text.md(f"({row.store_id}, {row.store_city}) — {row.reason}"))
    cols = ["store_id", "store_name", "store_city", "store_category", "reason", "rating_gap",
            "wait_gap_minutes", "symmetry_index", "index_before", "index_recent", "index_drop"]
    config = frame.kpi_column_config(cols) | {
        "reason": st.column_config.TextColumn(t("overview.col_why"), width="large"),
        "index_before": st.column_config.NumberColumn(i18n.column_label("index_before", lang), format="%.0f"),
        "index_recent": st.column_config.NumberColumn(i18n.column_label("index_recent", lang), format="%.0f"),
        "index_drop": st.column_config.NumberColumn(t("symmetry.fall_points"), format="%.0f"),
    } | store_columns()
    frame.table(flagged[cols], "symmetry", filters, key="attention", column_config=config,
                on_pick=_pick_store, pick_key=",".join(filters.stores))


def deal_tab(stores, filters, missing) -> None:
    by_store = symmetry.deal_gap_from(stores)   # the store table holds the deal gap: no query
    by_week = deal_gap_by_week(filters)
    left, right = st.columns(2)
    why = missing.get("deal_customer_gap")
    left.plotly_chart(frame.localise(charts.deal_gap_by_store(by_store), missing=why), key="sym_deal_store")
    right.plotly_chart(frame.localise(charts.deal_gap_over_time(by_week), missing=why), key="sym_deal_week")
    st.caption(t("symmetry.deal_caption"))


def drill_tab(stores, filters) -> None:
    options = stores["store_id"].tolist()
    names = dict(zip(stores["store_id"], stores["store_name"]))
    wanted = filters.stores[0] if len(filters.stores) == 1 and filters.stores[0] in options else None
    store_id = st.selectbox(t("frame.store"), options, index=options.index(wanted) if wanted else 0, key="sym_drill_store",
                            format_func=lambda sid: f"{text.plain(names.get(sid, sid))} ({text.plain(sid)})")
    row = stores.set_index("store_id").loc[store_id]
    lang = frame.language()
    category = (str(row["store_category"]).replace("_", " ") if lang == "en"
                else i18n.value_label("category", row["store_category"], lang))
    st.subheader(text.md(f"{row['store_name']} · {row['store_city']} · {category}"))
    drill = ("symmetry_index", "avg_rating", "rating_gap", "wait_gap_minutes")
    # the store's row holds its totals: the notes are read from it, not queried again
    notes = frame.card_notes(filters.replace(stores=(store_id,)), drill, row)
    said = symmetry.reason(row, lang)
    gaps = ("rating_gap", "wait_gap_minutes")
    if said or any(not units.is_missing(row.get(n)) for n in gaps):
        st.markdown(text.md(said or t("symmetry.no_gap")))
    else:   # neither gap could be measured: "no gap worth a mention" would be an all-clear nobody measured
        why = t("weekly.item_separator").join(dict.fromkeys(
            i18n.note_detail(i18n.note(notes[n], lang)) for n in gaps if n in notes))
        st.info(text.md(t("symmetry.nothing_compared", why=why) if why else t("symmetry.nothing_compared_plain")),
                icon="🔎")
    frame.kpi_cards(row, drill, columns=4, notes=notes)
    gone = {n: i18n.note(why, lang) for n, why in notes.items() if why.startswith("not provided")}
    left, right = st.columns(2)
    trend = store_trend(filters, store_id)
    # its weeks are blank for the period's reason (not provided, too few reviews in all of it), or
    # because no week alone has the reviews the index needs
    why = i18n.note(notes.get("symmetry_index"), lang)
    floor = attention.Rule.from_settings().min_reviews
    if why is None and not trend.empty and trend["reviews"].fillna(0).lt(floor).all():
        why = t("symmetry.trend_thin", min_reviews=floor)
    left.plotly_chart(frame.localise(charts.store_trend(trend), missing=why), key="sym_drill_trend")
    right.plotly_chart(frame.localise(charts.campaign_phases(campaign_phases(filters, store_id))), key="sym_drill_phases")

    st.markdown(t("symmetry.low_rated", rating=symmetry.LOW_RATING))
    if "avg_rating" in gone:   # no reviews imported: not a thumbs-up for having no low-rated ones
        st.info(text.md(i18n.note_sentence(gone["avg_rating"])), icon="📥")
        return
    if not auth_ui.can_see_orders():   # each review row carries its order: analysts only
        st.info(t("symmetry.analysts_only"), icon="🔒")
        return
    page_size = 20
    page_key = f"sym_reviews_page_{store_id}"
    page_no = st.session_state.get(page_key, 1)
    reviews, total = low_rated_reviews(filters, store_id, page_size=page_size, page_no=page_no)
    if total == 0:
        st.info(t("symmetry.no_low_rated"), icon="👍")
        return
    pages = max(1, -(-total // page_size))
    st.number_input(t("symmetry.page_of", pages=pages, total=f"{total:,}"), 1, pages, key=page_key)
    minutes = t("symmetry.min")
    frame.table(reviews, "symmetry", filters, key=f"reviews-{store_id}", column_config={
        "rating": st.column_config.NumberColumn(i18n.column_label("rating", lang), format="%d ★"),
        "paid_amount": st.column_config.NumberColumn(i18n.column_label("paid_amount", lang), format="%.2f"),
        "wait_minutes": st.column_config.NumberColumn(t("symmetry.wait"), format=f"%.0f {minutes}"),
        "listed_wait_minutes": st.column_config.NumberColumn(t("symmetry.promised_wait"), format=f"%.0f {minutes}"),
    })


frame.guard(page)
