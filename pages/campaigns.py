"""Campaigns: from money spent to offline outcome. Campaign table → one campaign (daily orders and
redemptions, its stores, time to redeem, incremental lift, new customers) → one store → its
orders, paged; and campaigns side by side. Every drill step is in the URL: ``campaign``,
``cstore``, ``page_no``, ``side`` (repeated: the campaigns side by side)."""

import streamlit as st

from o2o_ops import campaigns, i18n, lift, text, units, words
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

t = frame.t


def lift_config() -> dict:
    """The campaign table's lift and identity columns, in the reader's language."""
    return {
        "lift": st.column_config.NumberColumn(t("campaigns.lift"), format="percent", help=t("campaigns.lift_help")),
        "lift_low": st.column_config.NumberColumn(t("campaigns.lift_low"), format="percent"),
        "lift_high": st.column_config.NumberColumn(t("campaigns.lift_high"), format="percent"),
        "extra_orders": st.column_config.NumberColumn(t("campaigns.extra_orders"), format=units.column_format("count")),
        "extra_net_revenue": st.column_config.NumberColumn(t("campaigns.extra_net_revenue"),
                                                            format=units.column_format("currency")),
        "incremental_roi": st.column_config.NumberColumn(t("campaigns.incremental_roi"), format="percent",
                                                         help=t("campaigns.incremental_roi_help")),
        "verdict_short": st.column_config.TextColumn(t("campaigns.verdict")),
        "campaign_id": st.column_config.TextColumn(t("efficiency.campaign")),
        "campaign_name": st.column_config.TextColumn(t("overview.col_name")),
        "budget": st.column_config.NumberColumn(i18n.column_label("budget", frame.language()),
                                                format=units.column_format("currency")),
        "start_date": st.column_config.DateColumn(i18n.column_label("start_date", frame.language()), format="YYYY-MM-DD"),
        "end_date": st.column_config.DateColumn(i18n.column_label("end_date", frame.language()), format="YYYY-MM-DD"),
    }


def _init_state(key: str, param: str, options: list, *, multi: bool = False) -> None:
    """On first sight of a widget, take its value from the link; drop values no longer offered."""
    if key not in st.session_state:
        wanted = st.query_params.get_all(param)
        valid = [v for v in wanted if v in options]
        if len(valid) < len(wanted):
            ignored = ", ".join(f"“{v}”" for v in wanted if v not in options)
            st.warning(text.md(t("campaigns.ignored", param=param, ignored=ignored)), icon="⚠️")
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
    st.markdown(t("campaigns.lift_title"))
    pct = lambda v: frame.fmt(v, "ratio")  # noqa: E731
    money = lambda v: frame.fmt(v, "currency")  # noqa: E731
    if detail.get("lift") is not None and not detail.get("is_thin"):
        cols = st.columns(4)
        cols[0].metric(t("campaigns.lift"), pct(detail["lift"]), border=True, height="stretch",
                       help=t("campaigns.interval", low=pct(detail["lift_low"]), high=pct(detail["lift_high"])))
        count = lambda v: frame.fmt(v, "count")  # noqa: E731
        # extra orders and net revenue can be large: short on the card, exact in its help
        shown, help_ = frame.card_value(detail["extra_orders"], "count", t(
            "campaigns.interval", low=count(detail["extra_orders_low"]), high=count(detail["extra_orders_high"])))
        cols[1].metric(t("campaigns.extra_orders"), shown, border=True, height="stretch", help=help_)
        shown, help_ = frame.card_value(detail["extra_net_revenue"], "currency", t(
            "campaigns.interval", low=money(detail["extra_net_revenue_low"]),
            high=money(detail["extra_net_revenue_high"])))
        cols[2].metric(t("campaigns.extra_net_revenue"), shown, border=True, height="stretch", help=help_)
        cols[3].metric(t("campaigns.incremental_roi"), pct(detail["incremental_roi"]), border=True, height="stretch",
                       help=t("campaigns.incremental_roi_help") + t("attention.separator")
                       + t("campaigns.interval", low=pct(detail["incremental_roi_low"]),
                           high=pct(detail["incremental_roi_high"])))
    show = {lift.REAL_LIFT: st.success, lift.HURTS: st.error, lift.TOO_THIN: st.warning}.get(
        detail["verdict_short"], st.info)
    show(text.md(lift.verdict(detail, frame.language())))
    st.caption(t("campaigns.measured", stores=detail["stores"], baseline_weeks=detail["baseline_weeks"],
                 baseline_orders=f"{detail['baseline_orders']:,}", campaign_weeks=detail["campaign_weeks"],
                 control=f"{detail['control_stores'] or 0:.0f}"))


def orders_panel(filters, campaign_id: str, store_id: str) -> None:
    """The campaign's orders at one store, one page at a time (order-level rows: analysts only)."""
    total = count_orders(filters, campaign_id, store_id)
    if total == 0:
        frame.empty_state(filters, t("campaigns.orders_of", campaign=campaign_id, store=store_id))
        return
    pages = campaigns.page_count(total)
    if "cmp_page" not in st.session_state:
        try:
            st.session_state["cmp_page"] = int(st.query_params.get("page_no") or 1)
        except ValueError:
            st.session_state["cmp_page"] = 1
    st.session_state["cmp_page"] = min(max(1, int(st.session_state["cmp_page"])), pages)
    st.number_input(t("campaigns.page_of", pages=pages), min_value=1, max_value=pages, step=1, key="cmp_page")
    page_no = int(st.session_state["cmp_page"])
    _set_url("page_no", page_no if page_no > 1 else None)
    rows = orders_page(filters, campaign_id, store_id, page_no)
    first = (page_no - 1) * campaigns.PAGE_SIZE + 1
    st.caption(text.md(t("campaigns.orders_range", first=f"{first:,}", last=f"{first + len(rows) - 1:,}",
                         total=f"{total:,}", campaign=campaign_id, store=store_id)))
    lang = frame.language()
    frame.table(rows, "campaigns", filters, key=f"orders-{campaign_id}-{store_id}-p{page_no}",
                label=t("campaigns.download_page"), column_config={
                    "paid_amount": st.column_config.NumberColumn(i18n.column_label("paid_amount", lang), format="%.2f"),
                    "discount_amount": st.column_config.NumberColumn(i18n.column_label("discount_amount", lang),
                                                                     format="%.2f"),
                    "refund_amount": st.column_config.NumberColumn(i18n.column_label("refund_amount", lang),
                                                                   format="%.2f"),
                    "review_rating": st.column_config.NumberColumn(t("campaigns.review_stars"), format="%.1f"),
                })


def funnel_panel(filters, campaign_id: str) -> None:
    """The campaign from its first impression to the offline visit (online half from events)."""
    funnel = campaign_funnel(filters, campaign_id)
    st.markdown(t("campaigns.funnel"))
    shown = funnel.assign(label=funnel["label"].map(frame.localise_text),
                          count=[frame.fmt(v, "count") for v in funnel["count"]],
                          share_of_previous=[frame.fmt(v, "percent") for v in funnel["share_of_previous"]])
    st.dataframe(shown[["label", "count", "share_of_previous"]], hide_index=True, column_config={
        "label": t("campaigns.stage"), "count": t("chart.count"), "share_of_previous": t("campaigns.of_stage_before")})
    if funnel["count"].iloc[:len(campaigns.ONLINE_STAGES)].isna().all():
        st.caption(t("campaigns.no_events"))


def campaign_panel(filters, table, campaign_id: str) -> None:
    row = table.set_index("campaign_id").loc[campaign_id]
    summary = campaign_summary(filters, campaign_id)
    st.subheader(text.md(f"{campaign_id} · {row['campaign_name']}"))
    lang = frame.language()
    st.caption(text.md(f"{i18n.value_label('kind', row['kind'], lang)} · {i18n.value_label('channel', row['channel'], lang)}"
                       f" · {row['start_date']:%Y-%m-%d} → {row['end_date']:%Y-%m-%d} · "
                       + t("campaigns.budget", budget=frame.fmt(row["budget"], "currency"))))
    frame.kpi_cards(summary, ("orders", "redemption_rate", "time_to_redeem_hours", "breakage_orders",
                              "refund_rate", "avg_rating", "cac", "roi"))
    if "lift_detail" in summary:
        lift_panel(summary["lift_detail"])
    funnel_panel(filters, campaign_id)
    left, right = st.columns(2)
    left.plotly_chart(frame.localise(charts.daily_orders_redemptions(campaign_daily(filters, campaign_id))), key="cmp_daily")
    right.plotly_chart(frame.localise(charts.time_to_redeem_distribution(time_to_redeem(filters, campaign_id))), key="cmp_ttr")

    st.markdown(t("campaigns.its_stores"))
    stores = campaign_stores(filters, campaign_id)
    picked = frame.table(stores, "campaigns", filters, key=f"stores-{campaign_id}",
                         column_config=frame.kpi_column_config(campaigns.STORE_KPIS),
                         on_pick=True, pick_key=st.session_state.get("cmp_store"))
    _pick(picked, "cmp_store", "store_id", _reset_page)
    st.caption(t("campaigns.tick_store"))
    clicked = frame.pick_chart(charts.store_bars(stores), f"cmp_store_bars-{campaign_id}",
                               allowed=stores["store_id"].tolist(), pick_key=st.session_state.get("cmp_store"))
    _pick({"store_id": clicked} if clicked else None, "cmp_store", "store_id", _reset_page)

    st.markdown(t("campaigns.new_customers"))
    returns = new_customer_return(filters, campaign_id)
    st.dataframe(returns, hide_index=True, placeholder=text.MISSING, column_config={
        "window_days": st.column_config.NumberColumn(t("campaigns.within_days")),
        "new_customers": st.column_config.NumberColumn(frame.kpi_label("new_customers")),
        "returned": st.column_config.NumberColumn(t("campaigns.returned")),
        "observed": st.column_config.NumberColumn(t("campaigns.observed"), help=t("campaigns.observed_help")),
        "return_rate": st.column_config.NumberColumn(t("campaigns.ordered_again"), format="percent"),
    })

    store_ids = stores["store_id"].tolist()
    names = dict(zip(stores["store_id"], stores["store_name"]))
    _init_state("cmp_store", "cstore", store_ids)
    store_id = st.selectbox(t("frame.store"), store_ids, key="cmp_store", index=None,
                            placeholder=t("campaigns.pick_store"),
                            format_func=lambda s: f"{text.plain(names.get(s, s))} ({text.plain(s)})", on_change=_reset_page)
    _set_url("cstore", store_id)
    if store_id and not auth_ui.can_see_orders():
        st.info(t("campaigns.analysts_only"), icon="🔒")
    elif store_id:
        orders_panel(filters, campaign_id, store_id)
    else:
        _set_url("page_no", None)


def compare_panel(filters, ids: list[str], names: dict) -> None:
    _init_state("cmp_compare", "side", ids, multi=True)
    chosen = st.multiselect(t("campaigns.compare"), ids, key="cmp_compare", placeholder=t("campaigns.pick_two"),
                            format_func=lambda c: f"{text.plain(c)} · {text.plain(names.get(c, ''))}")
    _set_url("side", list(chosen))
    if len(chosen) < 2:
        st.caption(t("campaigns.pick_two_caption"))
        return
    side = compare_campaigns(filters, tuple(chosen))
    shown = campaigns.format_compare(side)
    if frame.language() != "en":   # the KPI column holds the registry's labels, the values their formats
        shown = shown.map(lambda v: frame.localise_text(v) if isinstance(v, str) else v)
    st.dataframe(shown, hide_index=True, placeholder=text.MISSING, column_config={"KPI": t("report.kpi")})
    lifts = side.set_index("kpi")[list(chosen)].T.reset_index(names="campaign_id")
    st.plotly_chart(frame.localise(charts.lift_intervals(lifts)), key="cmp_lift_intervals")


def page() -> None:
    filters = frame.current_filters()
    frame.header(t("nav.campaigns"), filters)
    table = campaign_table(filters)
    choices = warehouse.dimension_values()
    if table.empty and frame.data_span(choices) and not choices["campaigns"]:
        st.info(t("campaigns.none_yet"), icon="📣")
        return
    if table.empty:
        frame.empty_state(filters, t("campaigns.campaign_orders"))
        return
    st.subheader(t("campaigns.all"))
    shown = table.drop(columns=["verdict"])
    if frame.language() != "en":
        shown = shown.assign(verdict_short=shown["verdict_short"].map(frame.localise_text))
    picked = frame.table(shown, "campaigns", filters, key="campaign-table",
                         column_config={**frame.kpi_column_config(campaigns.TABLE_KPIS), **lift_config()},
                         on_pick=True, pick_key=st.session_state.get("cmp_campaign"))
    _pick(picked, "cmp_campaign", "campaign_id", _reset_store)
    st.caption(t("campaigns.tick_campaign")
               + t("campaigns.table_caption", count=f"{len(table):,}", weeks=lift.BASELINE_MIN_DAYS // 7,
                   too_thin=frame.localise_text(lift.TOO_THIN), min_weeks=lift.MIN_BASELINE_WEEKS,
                   min_orders=lift.MIN_BASELINE_ORDERS, min_stores=lift.MIN_CONTROL_STORES))
    clicked = frame.pick_chart(charts.campaign_bars(table), "cmp_campaign_bars", allowed=table["campaign_id"].tolist(),
                               pick_key=st.session_state.get("cmp_campaign"))
    _pick({"campaign_id": clicked} if clicked else None, "cmp_campaign", "campaign_id", _reset_store)

    ids = table["campaign_id"].tolist()
    names = dict(zip(table["campaign_id"], table["campaign_name"]))
    with st.expander(t("campaigns.side_by_side"), expanded=bool(st.query_params.get_all("side"))):
        compare_panel(filters, ids, names)

    st.subheader(t("campaigns.drill"))
    _init_state("cmp_campaign", "campaign", ids)
    campaign_id = st.selectbox(t("efficiency.campaign"), ids, key="cmp_campaign", index=None,
                               placeholder=t("campaigns.pick_campaign"),
                               format_func=lambda c: f"{text.plain(c)} · {text.plain(names.get(c, ''))}", on_change=_reset_store)
    _set_url("campaign", campaign_id)
    if campaign_id:
        campaign_panel(filters, table, campaign_id)
    else:
        _set_url("cstore", None)
        _set_url("page_no", None)


frame.guard(page)
