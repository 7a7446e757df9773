"""Campaigns: from money spent to offline outcome. Campaign table → one campaign (daily orders and
redemptions, its stores, time to redeem, incremental lift, new customers) → one store → its
orders, paged; and campaigns side by side. Every drill step is in the URL: ``campaign``,
``cstore``, ``page_no``, ``side`` (repeated: the campaigns side by side)."""

import streamlit as st

from o2o_ops import campaigns, lift, metrics, text
from o2o_ops.charts import campaigns as charts
from o2o_ops.ui import auth as auth_ui, warehouse, frame

campaign_table = warehouse.cached(campaigns.campaign_table)
campaign_summary = warehouse.cached(campaigns.campaign_summary)
compare_campaigns = warehouse.cached(campaigns.compare_campaigns)
campaign_daily = warehouse.cached(campaigns.campaign_daily)
campaign_stores = warehouse.cached(campaigns.campaign_stores)
time_to_redeem = warehouse.cached(campaigns.time_to_redeem_buckets)
new_customer_return = warehouse.cached(campaigns.new_customer_return)
count_orders = warehouse.cached(campaigns.count_campaign_orders)
orders_page = warehouse.cached(campaigns.campaign_orders_page)
campaign_funnel = warehouse.cached(campaigns.campaign_funnel)

LIFT_CONFIG = {
    "lift": st.column_config.NumberColumn("Incremental lift", format="percent",
                                          help="Orders at the campaign's stores against what stores without a "
                                               "campaign in the same city and category predict for them "
                                               "(difference-in-differences on weekly blocks)."),
    "lift_low": st.column_config.NumberColumn("Lift, 95% low", format="percent"),
    "lift_high": st.column_config.NumberColumn("Lift, 95% high", format="percent"),
    "extra_orders": st.column_config.NumberColumn("Extra orders", format="%.0f"),
    "extra_net_revenue": st.column_config.NumberColumn("Extra net revenue", format="%.0f"),
    "incremental_roi": st.column_config.NumberColumn("Incremental ROI", format="percent",
                                                     help="(extra net revenue − marketing spend) / marketing spend"),
    "verdict_short": st.column_config.TextColumn("Lift verdict"),
    "campaign_id": st.column_config.TextColumn("Campaign"),
    "campaign_name": st.column_config.TextColumn("Name"),
    "budget": st.column_config.NumberColumn("Budget", format="%.0f"),
    "start_date": st.column_config.DateColumn("Start", format="YYYY-MM-DD"),
    "end_date": st.column_config.DateColumn("End", format="YYYY-MM-DD"),
}


def _init_state(key: str, param: str, options: list, *, multi: bool = False) -> None:
    """On first sight of a widget, take its value from the link; drop values no longer offered."""
    if key not in st.session_state:
        wanted = st.query_params.get_all(param)
        valid = [v for v in wanted if v in options]
        if len(valid) < len(wanted):
            ignored = ", ".join(f"“{v}”" for v in wanted if v not in options)
            st.warning(text.md(f"Ignored {param} {ignored} from the link: ") +
                       "not among the choices under these filters.", icon="⚠️")
        st.session_state[key] = valid if multi else (valid[0] if valid else None)
    elif multi:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    elif st.session_state[key] not in options:
        st.session_state[key] = None


def _set_url(param: str, value) -> None:
    frame.set_param(param, value)


def _reset_store() -> None:
    st.session_state.pop("cmp_store", None)
    st.session_state.pop("cmp_page", None)
    for param in ("cstore", "page_no"):
        _set_url(param, None)


def _reset_page() -> None:
    st.session_state.pop("cmp_page", None)
    _set_url("page_no", None)


def _pick(picked: dict | None, key: str, column: str, reset) -> None:
    """A row ticked in a table above the drill's selectbox ``key``: the selectbox takes its
    ``column`` (set before the selectbox exists, so it follows), the deeper steps reset."""
    if picked and st.session_state.get(key) != picked[column]:
        reset()
        st.session_state[key] = picked[column]


def lift_panel(detail: dict) -> None:
    """Lift with its interval and the verdict in plain words."""
    st.markdown("**Incremental lift** — its stores against stores without a campaign in the same city and "
                "category, each against its own weeks before")
    pct = lambda v: metrics.format_value(v, "ratio")  # noqa: E731
    money = lambda v: metrics.format_value(v, "currency")  # noqa: E731
    if detail.get("lift") is not None and not detail.get("is_thin"):
        cols = st.columns(4)
        cols[0].metric("Incremental lift", pct(detail["lift"]), border=True,
                       help=f"95% interval {pct(detail['lift_low'])} to {pct(detail['lift_high'])}")
        count = lambda v: metrics.format_value(v, "count")  # noqa: E731
        cols[1].metric("Extra orders", count(detail["extra_orders"]), border=True,
                       help=f"95% interval {count(detail['extra_orders_low'])} to {count(detail['extra_orders_high'])}")
        cols[2].metric("Extra net revenue", money(detail["extra_net_revenue"]), border=True,
                       help=f"95% interval {money(detail['extra_net_revenue_low'])} to "
                            f"{money(detail['extra_net_revenue_high'])}")
        cols[3].metric("Incremental ROI", pct(detail["incremental_roi"]), border=True,
                       help="(extra net revenue − marketing spend) / marketing spend; 95% interval "
                            f"{pct(detail['incremental_roi_low'])} to {pct(detail['incremental_roi_high'])}")
    show = {lift.REAL_LIFT: st.success, lift.HURTS: st.error, lift.TOO_THIN: st.warning}.get(
        detail["verdict_short"], st.info)
    show(text.md(detail["verdict"]))
    st.caption(f"Measured: {detail['stores']} store(s), {detail['baseline_weeks']} baseline weeks "
               f"({detail['baseline_orders']:,} orders) and {detail['campaign_weeks']} campaign weeks; about "
               f"{detail['control_stores'] or 0:.0f} comparable stores without a campaign on an average day. Days "
               f"when a store ran another campaign are left out. Dates ignore the sidebar's date filter. "
               f"Method and measured coverage: o2o_ops.lift, README.")


def orders_panel(filters, campaign_id: str, store_id: str) -> None:
    """The campaign's orders at one store, one page at a time (order-level rows: analysts only)."""
    total = count_orders(filters, campaign_id, store_id)
    if total == 0:
        frame.empty_state(filters, f"orders of {campaign_id} at {store_id}")
        return
    pages = campaigns.page_count(total)
    if "cmp_page" not in st.session_state:
        try:
            st.session_state["cmp_page"] = int(st.query_params.get("page_no") or 1)
        except ValueError:
            st.session_state["cmp_page"] = 1
    st.session_state["cmp_page"] = min(max(1, int(st.session_state["cmp_page"])), pages)
    st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1, key="cmp_page")
    page_no = int(st.session_state["cmp_page"])
    _set_url("page_no", page_no if page_no > 1 else None)
    rows = orders_page(filters, campaign_id, store_id, page_no)
    first = (page_no - 1) * campaigns.PAGE_SIZE + 1
    st.caption(text.md(f"Orders {first:,}–{first + len(rows) - 1:,} of {total:,} · {campaign_id} at {store_id}"))
    frame.table(rows, "campaigns", filters, key=f"orders-{campaign_id}-{store_id}-p{page_no}",
                label="Download this page (CSV)", column_config={
                    "paid_amount": st.column_config.NumberColumn("Paid", format="%.2f"),
                    "discount_amount": st.column_config.NumberColumn("Discount", format="%.2f"),
                    "refund_amount": st.column_config.NumberColumn("Refund", format="%.2f"),
                    "review_rating": st.column_config.NumberColumn("Review ★", format="%.1f"),
                })


def funnel_panel(filters, campaign_id: str) -> None:
    """The campaign from its first impression to the offline visit (online half from events)."""
    funnel = campaign_funnel(filters, campaign_id)
    st.markdown("**Funnel**: impression → click → coupon → order → redeemed → reviewed")
    shown = funnel.assign(count=[metrics.format_value(v, "count") for v in funnel["count"]],
                          share_of_previous=[metrics.format_value(v, "percent") for v in funnel["share_of_previous"]])
    st.dataframe(shown[["label", "count", "share_of_previous"]], hide_index=True, column_config={
        "label": "Stage", "count": "Count", "share_of_previous": "Of the stage before"})
    if funnel["count"].iloc[:len(campaigns.ONLINE_STAGES)].isna().all():
        st.caption("The online half (impressions, clicks, coupons received) is not provided: the warehouse holds "
                   "no events (the optional table events of the warehouse contract).")


def campaign_panel(filters, table, campaign_id: str) -> None:
    row = table.set_index("campaign_id").loc[campaign_id]
    summary = campaign_summary(filters, campaign_id)
    st.subheader(text.md(f"{campaign_id} · {row['campaign_name']}"))
    st.caption(text.md(f"{row['kind']} · {row['channel']} · {row['start_date']:%Y-%m-%d} → {row['end_date']:%Y-%m-%d} · "
                       f"budget {metrics.format_value(row['budget'], 'currency')}"))
    frame.kpi_cards(summary, ("orders", "redemption_rate", "time_to_redeem_hours", "breakage_orders",
                              "refund_rate", "avg_rating", "cac", "roi"))
    if "lift_detail" in summary:
        lift_panel(summary["lift_detail"])
    funnel_panel(filters, campaign_id)
    left, right = st.columns(2)
    left.plotly_chart(charts.daily_orders_redemptions(campaign_daily(filters, campaign_id)), key="cmp_daily")
    right.plotly_chart(charts.time_to_redeem_distribution(time_to_redeem(filters, campaign_id)), key="cmp_ttr")

    st.markdown("**Its stores**, ranked by the campaign's orders")
    stores = campaign_stores(filters, campaign_id)
    picked = frame.table(stores, "campaigns", filters, key=f"stores-{campaign_id}",
                         column_config=frame.kpi_column_config(campaigns.STORE_KPIS),
                         on_pick=True, pick_key=st.session_state.get("cmp_store"))
    _pick(picked, "cmp_store", "store_id", _reset_page)
    st.caption("Tick a store's row to see its orders for this campaign.")

    st.markdown("**New customers** whose first order came through this campaign, and how many ordered again")
    returns = new_customer_return(filters, campaign_id)
    st.dataframe(returns, hide_index=True, placeholder=text.MISSING, column_config={
        "window_days": st.column_config.NumberColumn("Within (days)"),
        "observed": st.column_config.NumberColumn("Observed", help="New customers whose whole window lies in the data"),
        "return_rate": st.column_config.NumberColumn("Ordered again", format="percent"),
    })

    store_ids = stores["store_id"].tolist()
    names = dict(zip(stores["store_id"], stores["store_name"]))
    _init_state("cmp_store", "cstore", store_ids)
    store_id = st.selectbox("Store", store_ids, key="cmp_store", index=None, placeholder="Pick a store to see its orders",
                            format_func=lambda s: f"{text.plain(names.get(s, s))} ({text.plain(s)})", on_change=_reset_page)
    _set_url("cstore", store_id)
    if store_id and not auth_ui.can_see_orders():
        st.info("Order-level rows are shown to analysts only; the store's KPIs are in the table above.", icon="🔒")
    elif store_id:
        orders_panel(filters, campaign_id, store_id)
    else:
        _set_url("page_no", None)


def compare_panel(filters, ids: list[str], names: dict) -> None:
    _init_state("cmp_compare", "side", ids, multi=True)
    chosen = st.multiselect("Compare campaigns", ids, key="cmp_compare", placeholder="Pick two or more",
                            format_func=lambda c: f"{text.plain(c)} · {text.plain(names.get(c, ''))}")
    _set_url("side", list(chosen))
    if len(chosen) < 2:
        st.caption("Pick two or more campaigns to see them side by side.")
        return
    side = compare_campaigns(filters, tuple(chosen))
    st.dataframe(campaigns.format_compare(side), hide_index=True, placeholder=text.MISSING)
    lifts = side.set_index("kpi")[list(chosen)].T.reset_index(names="campaign_id")
    st.plotly_chart(charts.lift_intervals(lifts), key="cmp_lift_intervals")


def page() -> None:
    filters = frame.current_filters()
    frame.header("Campaigns", filters)
    table = campaign_table(filters)
    choices = warehouse.dimension_values()
    if table.empty and frame.data_span(choices) and not choices["campaigns"]:
        st.info("This warehouse has no campaigns yet. Import a campaigns file, with the campaign_id of each "
                "campaign order in the orders file, on the Data page to see what each campaign brings.", icon="📣")
        return
    if table.empty:
        frame.empty_state(filters, "campaign orders")
        return
    st.subheader("All campaigns")
    picked = frame.table(table.drop(columns=["verdict"]), "campaigns", filters, key="campaign-table",
                         column_config={**frame.kpi_column_config(campaigns.TABLE_KPIS), **LIFT_CONFIG},
                         on_pick=True, pick_key=st.session_state.get("cmp_campaign"))
    _pick(picked, "cmp_campaign", "campaign_id", _reset_store)
    st.caption(f"{len(table):,} campaigns with orders under these filters; tick a row to drill into one. Lift compares each campaign's "
               f"stores, from the {lift.BASELINE_MIN_DAYS // 7}+ weeks before it to its own weeks, with stores "
               f"without a campaign in the same city and category; '{lift.TOO_THIN}' = under "
               f"{lift.MIN_BASELINE_WEEKS} baseline weeks or {lift.MIN_BASELINE_ORDERS} orders, or under "
               f"{lift.MIN_CONTROL_STORES} comparable stores.")

    ids = table["campaign_id"].tolist()
    names = dict(zip(table["campaign_id"], table["campaign_name"]))
    with st.expander("Compare campaigns side by side", expanded=bool(st.query_params.get_all("side"))):
        compare_panel(filters, ids, names)

    st.subheader("Drill down")
    _init_state("cmp_campaign", "campaign", ids)
    campaign_id = st.selectbox("Campaign", ids, key="cmp_campaign", index=None, placeholder="Pick a campaign",
                               format_func=lambda c: f"{text.plain(c)} · {text.plain(names.get(c, ''))}", on_change=_reset_store)
    _set_url("campaign", campaign_id)
    if campaign_id:
        campaign_panel(filters, table, campaign_id)
    else:
        _set_url("cstore", None)
        _set_url("page_no", None)


frame.guard(page)
