"""Operational efficiency: how much of what is sold online is redeemed, how fast, what expires
unused, and how full the stores are."""

import streamlit as st

from o2o_ops import analysis, forecast, i18n, targets, text
from o2o_ops.charts import efficiency as charts
from o2o_ops.charts import kpi_line
from o2o_ops.ui import anomaly_marks, warehouse, frame

WATCHED = ("orders", "avg_wait_minutes")  # anomaly flags listed here: the load and the waits
CARDS = ("redemption_rate", "time_to_redeem_hours", "breakage_orders", "breakage_value",
         "capacity_utilisation", "paid_orders")

order_stages = warehouse.cached(analysis.order_stages)   # the funnel, time to redeem and ageing: one query
capacity_by_store = warehouse.cached(analysis.capacity_by_store)
capacity_by_hour = warehouse.cached(analysis.capacity_by_hour)
weekly_goals = warehouse.cached(targets.weekly_goals)
load_ahead = warehouse.cached(forecast.load_ahead)

filters = frame.current_filters()
t = frame.t
frame.header(t("nav.efficiency"), filters)

totals = frame.period_cards(filters, CARDS, columns=3)
# an empty chart of these says why, as its card does ("reviews": the funnel's last stage; one cached query)
missing = frame.not_provided(filters, (*CARDS, "reviews"))

st.subheader(t("efficiency.order_to_review"))
left, right = st.columns(2)
stages = order_stages(filters)
funnel = analysis.funnel_provided(stages["funnel"], missing)   # no stage of data never imported, drawn as 0
left.plotly_chart(frame.localise(charts.funnel_chart(funnel, lang=frame.language())), key="eff_funnel")
left_out = [stage for stage in stages["funnel"]["stage"] if stage not in set(funnel["stage"])]
if left_out:
    left.caption(text.md(t("efficiency.not_in_funnel", stages=t("weekly.list_separator").join(map(frame.localise_text, left_out)),
                           why=frame.missing_details(missing, ("redemption_rate", "reviews")))))
weekly = warehouse.kpis(filters, "week", ("redemption_rate", "orders"))
goals = weekly_goals(filters, ("redemption_rate", "orders"), tuple(weekly["week_start"]))
compared = frame.comparison_overlay(filters, ("redemption_rate", "orders"))
right.plotly_chart(frame.localise(kpi_line(weekly, "week_start", "redemption_rate", title="Redemption rate by week",
                                    goals=goals.get("redemption_rate"), **compared),
                                   missing=missing.get("redemption_rate")),
                   key="eff_redemption_trend")
right.caption(t("efficiency.orders_count_caption"))

st.subheader(t("efficiency.load_by_week"))
flagged = anomaly_marks.page_flags(filters, WATCHED)
st.plotly_chart(frame.localise(kpi_line(weekly, "week_start", "orders", title="Orders by week",
                         marks=anomaly_marks.marks(flagged, "orders"), goals=goals.get("orders"), **compared)),
                key="eff_orders_trend")
anomaly_marks.show_list(flagged, filters, "efficiency", WATCHED)

st.subheader(t("efficiency.speed_breakage"))
left, right = st.columns(2)
left.plotly_chart(frame.localise(charts.time_to_redeem_bars(stages["time_to_redeem"],
                                             median_hours=totals["time_to_redeem_hours"]),
                                 missing=missing.get("time_to_redeem_hours")), key="eff_time_to_redeem")
ageing = stages["ageing"]
right.plotly_chart(frame.localise(charts.breakage_ageing_bars(ageing), missing=missing.get("breakage_orders")),
                   key="eff_breakage")
as_of = warehouse.dimension_values().get("as_of")
st.caption(t("efficiency.ageing_caption", as_of=str(as_of)[:16]))
money = frame.kpi_column_config(("breakage_value",))["breakage_value"]
frame.table(ageing[["label", "count_orders", "paid_amount"]].assign(label=ageing["label"].map(frame.localise_text)),
            "efficiency", filters, key="breakage_ageing", label=t("efficiency.download_ageing"),
            column_config={"label": t("efficiency.expiry"),
                           "count_orders": st.column_config.NumberColumn(t("efficiency.vouchers"), format="%d"),
                           "paid_amount": {**money, "label": t("efficiency.value")}})


@frame.fragment
def capacity_panel() -> None:
    """Capacity use by store and by hour of day, over-capacity stores and hours highlighted."""
    st.subheader(frame.kpi_label("capacity_utilisation"))
    only_over = st.toggle(t("efficiency.only_over"), key="efficiency_only_over", help=t("efficiency.only_over_help"))
    stores = capacity_by_store(filters)
    shown = stores[stores["is_over_capacity"]] if only_over else stores
    over = int(stores["is_over_capacity"].sum())
    st.caption(t("efficiency.capacity_caption", over=over, stores=len(stores),
                 hours=f"{analysis.open_hours_per_day():g}"))
    left, right = st.columns(2)
    picked = frame.pick_chart(charts.capacity_by_store_bars(shown), "eff_capacity_stores",
                              allowed=shown["store_id"].astype(str).tolist(), container=left,
                              missing=missing.get("capacity_utilisation"))
    if picked:   # a store's bar: its own view, as the overview's store rows open it
        frame.drill_to("pages/symmetry.py", {"store": picked})
    right.plotly_chart(frame.localise(charts.capacity_by_hour_bars(capacity_by_hour(filters)),
                                      missing=missing.get("capacity_utilisation")), key="eff_capacity_hours")
    config = frame.kpi_column_config(("capacity_utilisation",))
    config["count_redemptions"] = st.column_config.NumberColumn(
        t("efficiency.redemptions_made"), format="%d", help=t("efficiency.redemptions_made_help"))
    config["peak_week_utilisation"] = {**config["capacity_utilisation"], "label": t("efficiency.busiest_week"),
                                       "help": t("efficiency.busiest_week_help")}
    config["weeks_over_capacity"] = st.column_config.NumberColumn(
        t("efficiency.weeks_over"), format="%d", help=t("efficiency.weeks_over_help"))
    config["is_over_capacity"] = st.column_config.CheckboxColumn(t("efficiency.over_capacity"))
    frame.table(shown, "efficiency", filters, key="capacity_stores", column_config=config)


capacity_panel()


@frame.fragment
def load_ahead_panel() -> None:
    """The next 14 days: redemptions expected from the vouchers sold and the sales to come,
    against capacity; stores and campaigns at risk."""
    st.subheader(t("efficiency.load_ahead", days=forecast.HORIZON_DAYS))
    ahead = load_ahead(filters.replace(start=None, end=None), by_store=False)   # the chart draws days summed
    stores, campaigns = ahead["stores"], ahead["campaigns"]
    if ahead["why"]:   # not a forecast of zero everywhere: what it lacks
        why = i18n.note_detail(i18n.note(ahead["why"], frame.language()))
        st.info(text.md(t("efficiency.no_forecast", why=why)), icon="📥")
        return
    if ahead["cut"] is None or stores.empty:
        st.info(t("efficiency.no_capacity"), icon="📦")
        return
    at_risk = int(stores["at_risk"].sum())
    st.caption(t("efficiency.forecast_caption", cut=ahead["cut"], weeks=forecast.LEVEL_WEEKS,
                 window=forecast.RISK_WINDOW_DAYS, at_risk=at_risk, stores=len(stores)))
    left, right = st.columns(2)
    left.plotly_chart(frame.localise(charts.load_ahead_days(ahead["days"])), key="eff_load_days")
    picked = frame.pick_chart(charts.load_ahead_bars(stores), "eff_load_stores",
                              allowed=stores["store_id"].astype(str).tolist(), container=right)
    if picked:
        frame.drill_to("pages/symmetry.py", {"store": picked})
    percent = {"format": "percent"}
    frame.table(stores, "efficiency", filters, key="load_ahead", label=t("efficiency.download_load"), column_config={
        "store_id": t("overview.col_store"), "store_name": t("overview.col_name"), "city": t("frame.city"),
        "category": t("frame.category"),
        "expected_14d": st.column_config.NumberColumn(t("efficiency.expected"), format="%.0f"),
        "from_book": st.column_config.NumberColumn(t("efficiency.from_book"), format="%.0f"),
        "capacity_per_day": st.column_config.NumberColumn(t("efficiency.capacity_day"), format="%.0f"),
        "peak_window_start": st.column_config.DateColumn(t("efficiency.peak_window_start")),
        "peak_window_utilisation": st.column_config.NumberColumn(t("efficiency.peak_window"), **percent),
        "peak_hour_day": st.column_config.DateColumn(t("efficiency.peak_hour_day")),
        "peak_hour": st.column_config.NumberColumn(t("efficiency.at_hour"), format="%d:00"),
        "peak_hour_utilisation": st.column_config.NumberColumn(t("efficiency.peak_hour"), **percent),
        "at_risk": st.column_config.CheckboxColumn(t("efficiency.at_risk"))})
    if campaigns.empty:
        st.caption(t("efficiency.no_campaign_risk"))
    else:
        st.markdown(f"**{t('efficiency.campaigns_risk')}**")
        frame.table(campaigns, "efficiency", filters, key="load_ahead_campaigns", column_config={
            "campaign_id": t("efficiency.campaign"),
            "open_vouchers": st.column_config.NumberColumn(t("efficiency.open_vouchers"), format="%d"),
            "stores_at_risk": st.column_config.NumberColumn(t("efficiency.stores_at_risk"), format="%d")})


load_ahead_panel()
