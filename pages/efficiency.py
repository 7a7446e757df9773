"""Operational efficiency: how much of what is sold online is redeemed, how fast, what expires
unused, and how full the stores are."""

import streamlit as st

from o2o_ops import analysis
from o2o_ops.charts import efficiency as charts
from o2o_ops.charts import kpi_line
from o2o_ops.ui import warehouse, frame

CARDS = ("redemption_rate", "time_to_redeem_hours", "breakage_orders", "breakage_value",
         "capacity_utilisation", "paid_orders")

funnel = warehouse.cached(analysis.funnel)
time_to_redeem_histogram = warehouse.cached(analysis.time_to_redeem_histogram)
breakage_ageing = warehouse.cached(analysis.breakage_ageing)
capacity_by_store = warehouse.cached(analysis.capacity_by_store)
capacity_by_hour = warehouse.cached(analysis.capacity_by_hour)

filters = frame.current_filters()
frame.header("Operational efficiency", filters)

totals = frame.period_cards(filters, CARDS, columns=3)

st.subheader("From order to review")
left, right = st.columns(2)
left.plotly_chart(charts.funnel_chart(funnel(filters)), key="eff_funnel")
weekly = warehouse.kpis(filters, "week", ("redemption_rate",))
right.plotly_chart(kpi_line(weekly, "week_start", "redemption_rate", title="Redemption rate by week"),
                   key="eff_redemption_trend")
right.caption("Orders count in the week they were placed: the latest weeks fall while their vouchers are still being used.")

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
