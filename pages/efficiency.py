"""Operational efficiency: how much of what is sold online is redeemed, how fast, what expires
unused, and how full the stores are."""

import streamlit as st

from o2o_ops import analysis, forecast, targets
from o2o_ops.charts import efficiency as charts
from o2o_ops.charts import kpi_line
from o2o_ops.ui import anomaly_marks, warehouse, frame

WATCHED = ("orders", "avg_wait_minutes")  # anomaly flags listed here: the load and the waits
CARDS = ("redemption_rate", "time_to_redeem_hours", "breakage_orders", "breakage_value",
         "capacity_utilisation", "paid_orders")

funnel = warehouse.cached(analysis.funnel)
time_to_redeem_histogram = warehouse.cached(analysis.time_to_redeem_histogram)
breakage_ageing = warehouse.cached(analysis.breakage_ageing)
capacity_by_store = warehouse.cached(analysis.capacity_by_store)
capacity_by_hour = warehouse.cached(analysis.capacity_by_hour)
weekly_goals = warehouse.cached(targets.weekly_goals)
load_ahead = warehouse.cached(forecast.load_ahead)

filters = frame.current_filters()
frame.header("Operational efficiency", filters)

totals = frame.period_cards(filters, CARDS, columns=3)

st.subheader("From order to review")
left, right = st.columns(2)
left.plotly_chart(charts.funnel_chart(funnel(filters)), key="eff_funnel")
weekly = warehouse.kpis(filters, "week", ("redemption_rate", "orders"))
goals = weekly_goals(filters, ("redemption_rate", "orders"), tuple(weekly["week_start"]))
compared = frame.comparison_overlay(filters, ("redemption_rate", "orders"))
right.plotly_chart(kpi_line(weekly, "week_start", "redemption_rate", title="Redemption rate by week",
                                    goals=goals.get("redemption_rate"), **compared),
                   key="eff_redemption_trend")
right.caption("Orders count in the week they were placed: the latest weeks fall while their vouchers are still being used.")

st.subheader("Load by week")
flagged = anomaly_marks.page_flags(filters, WATCHED)
st.plotly_chart(kpi_line(weekly, "week_start", "orders", title="Orders by week",
                         marks=anomaly_marks.marks(flagged, "orders"), goals=goals.get("orders"), **compared),
                key="eff_orders_trend")
anomaly_marks.show_list(flagged, filters, "efficiency", WATCHED)

st.subheader("Redemption speed and breakage")
left, right = st.columns(2)
left.plotly_chart(charts.time_to_redeem_bars(time_to_redeem_histogram(filters),
                                             median_hours=totals["time_to_redeem_hours"]), key="eff_time_to_redeem")
ageing = breakage_ageing(filters)
right.plotly_chart(charts.breakage_ageing_bars(ageing), key="eff_breakage")
as_of = warehouse.dimension_values().get("as_of")
st.caption(f"Paid vouchers never redeemed, by days to expiry as of {str(as_of)[:16]} (the latest order). "
           "'expired' is the breakage KPI.")
money = frame.kpi_column_config(("breakage_value",))["breakage_value"]
frame.table(ageing[["label", "count_orders", "paid_amount"]], "efficiency", filters, key="breakage_ageing",
            label="Download ageing (CSV)",
            column_config={"label": "Expiry", "count_orders": st.column_config.NumberColumn("Vouchers", format="%d"),
                           "paid_amount": {**money, "label": "Value"}})


@frame.fragment
def capacity_panel() -> None:
    """Capacity use by store and by hour of day, over-capacity stores and hours highlighted."""
    st.subheader("Capacity utilisation")
    only_over = st.toggle("Only stores over capacity", key="efficiency_only_over",
                          help="Stores above 100% for the period, or in any week.")
    stores = capacity_by_store(filters)
    shown = stores[stores["is_over_capacity"]] if only_over else stores
    over = int(stores["is_over_capacity"].sum())
    st.caption(f"{over} of {len(stores)} stores over capacity in at least one week. "
               f"Utilisation = redemptions / (capacity per hour × open hours, summed over the days: the store's own "
               f"opening hours where given, else {analysis.open_hours_per_day():g} hours a day); "
               "red: over 100% for the period, amber: some weeks over 100%.")
    left, right = st.columns(2)
    left.plotly_chart(charts.capacity_by_store_bars(shown), key="eff_capacity_stores")
    right.plotly_chart(charts.capacity_by_hour_bars(capacity_by_hour(filters)), key="eff_capacity_hours")
    config = frame.kpi_column_config(("capacity_utilisation",))
    config["count_redemptions"] = st.column_config.NumberColumn(
        "Redemptions made", format="%d", help="Redemptions made in the period (by redeemed_at), as the utilisation counts them.")
    config["peak_week_utilisation"] = {**config["capacity_utilisation"], "label": "Busiest week",
                                       "help": "Redemptions in the store's busiest ISO week / (capacity per hour × open hours × 7)."}
    config["weeks_over_capacity"] = st.column_config.NumberColumn(
        "Weeks over capacity", format="%d", help="ISO weeks with more redemptions than capacity per hour × open hours × 7.")
    config["is_over_capacity"] = st.column_config.CheckboxColumn("Over capacity")
    frame.table(shown, "efficiency", filters, key="capacity_stores", column_config=config)


capacity_panel()


@frame.fragment
def load_ahead_panel() -> None:
    """The next 14 days: redemptions expected from the vouchers sold and the sales to come,
    against capacity; stores and campaigns at risk."""
    st.subheader(f"The load ahead: next {forecast.HORIZON_DAYS} days")
    ahead = load_ahead(filters.replace(start=None, end=None))
    stores, campaigns = ahead["stores"], ahead["campaigns"]
    if ahead["cut"] is None or stores.empty:
        st.info("No store with a capacity_per_hour under these filters, so there is nothing to forecast "
                "against. Add capacities to the stores file.", icon="📦")
        return
    at_risk = int(stores["at_risk"].sum())
    st.caption(f"Forecast from the end of the data ({ahead['cut']}): open vouchers (sold, paid, not redeemed, "
               f"not refunded, still valid) on the day they are booked for, as often as bookings were kept, "
               f"else as their category's vouchers of the same age were, plus "
               f"the sales of the last {forecast.LEVEL_WEEKS} weeks' weekdays (public holidays left out) "
               f"redeemed the same way; hours by each store's own pattern. At risk: more redemptions than "
               f"capacity in any {forecast.RISK_WINDOW_DAYS} consecutive days. The sidebar's dates do not "
               f"apply: the forecast always starts at the end of the data. "
               f"{at_risk} of {len(stores)} stores at risk. Error measured on the demo: README, "
               f"'The load ahead'.")
    left, right = st.columns(2)
    left.plotly_chart(charts.load_ahead_days(ahead["days"]), key="eff_load_days")
    right.plotly_chart(charts.load_ahead_bars(stores), key="eff_load_stores")
    percent = {"format": "percent"}
    frame.table(stores, "efficiency", filters, key="load_ahead", label="Download the load ahead (CSV)", column_config={
        "store_id": "Store", "store_name": "Name", "city": "City", "category": "Category",
        "expected_14d": st.column_config.NumberColumn("Expected redemptions", format="%.0f"),
        "from_book": st.column_config.NumberColumn("of which from vouchers sold", format="%.0f"),
        "capacity_per_day": st.column_config.NumberColumn("Capacity a day", format="%.0f"),
        "peak_window_start": st.column_config.DateColumn("Busiest 7 days from"),
        "peak_window_utilisation": st.column_config.NumberColumn("Busiest 7 days / capacity", **percent),
        "peak_hour_day": st.column_config.DateColumn("Busiest hour on"),
        "peak_hour": st.column_config.NumberColumn("at hour", format="%d:00"),
        "peak_hour_utilisation": st.column_config.NumberColumn("Busiest hour / capacity", **percent),
        "at_risk": st.column_config.CheckboxColumn("At risk")})
    if campaigns.empty:
        st.caption("No campaign has open vouchers at a store at risk.")
    else:
        st.markdown("**Campaigns with open vouchers at stores at risk**")
        frame.table(campaigns, "efficiency", filters, key="load_ahead_campaigns", column_config={
            "campaign_id": "Campaign", "open_vouchers": st.column_config.NumberColumn("Open vouchers there", format="%d"),
            "stores_at_risk": st.column_config.NumberColumn("Stores at risk", format="%d")})


load_ahead_panel()
