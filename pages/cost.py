"""Cost: what each order, redemption and new customer costs — discounts, platform fees,
marketing and staff — by week, by channel or campaign kind, and per store with its margin."""

import streamlit as st

from o2o_ops import analysis, text
from o2o_ops.charts import cost as charts
from o2o_ops.ui import warehouse, frame

CARDS = ("discount_cost", "platform_fees", "marketing_spend", "staff_cost",
         "cost_per_redemption", "cac", "roi", "other_costs")
GROUP_LABELS = {"channel": "Channel", "campaign_kind": "Campaign kind"}

cost_breakdown_by_week = warehouse.cached(analysis.cost_breakdown_by_week)
cost_by_group = warehouse.cached(analysis.cost_by_group)
store_margin = warehouse.cached(analysis.store_margin)

filters = frame.current_filters()
frame.header("Cost", filters)

frame.period_cards(filters, CARDS, columns=4)
missing = frame.not_provided(filters, CARDS)

st.subheader("Cost over time")
breakdown = cost_breakdown_by_week(filters)
st.plotly_chart(charts.cost_breakdown_stack(breakdown), key="cost_breakdown")
left_out = [label for name, label in analysis.COST_COMPONENTS if name in missing]
if left_out:
    st.caption(text.md(f"Not in the chart: {', '.join(left_out)} — "
                       + "; ".join(dict.fromkeys(missing[n] for n, _ in analysis.COST_COMPONENTS if n in missing))
                       + "."))


@frame.fragment
def group_panel() -> None:
    """Cost per redemption, CAC and ROI by channel or by campaign kind."""
    st.subheader("By channel or campaign kind")
    by = st.segmented_control("Break down by", tuple(GROUP_LABELS), key="cost_group", default="campaign_kind",
                              format_func=GROUP_LABELS.get, required=True) or "campaign_kind"
    groups = cost_by_group(filters, by)
    left, right = st.columns(2)
    left.plotly_chart(charts.group_kpi_bars(groups, by, title=f"Cost per redemption and CAC by {GROUP_LABELS[by].lower()}"),
                      key="cost_group_kpis")
    right.plotly_chart(charts.roi_bars(groups, by, title=f"ROI by {GROUP_LABELS[by].lower()}"), key="cost_group_roi")
    st.caption("Staff and rent carry no channel or campaign, so they are not in these groups.")
    frame.table(groups, "cost", filters, key=f"by_{by}",
                column_config=frame.kpi_column_config(analysis.COST_GROUP_KPIS))


group_panel()

st.subheader("Stores: revenue, cost and margin")
margins = store_margin(filters)
st.plotly_chart(charts.store_margin_bars(margins), key="cost_store_margin")
config = frame.kpi_column_config(analysis.STORE_MARGIN_KPIS)
money = config["revenue"]
config |= {"total_cost": {**money, "label": "Total cost", "help": "Platform fees + marketing + staff + other costs."},
           "margin": {**money, "label": "Margin", "help": "Net revenue − total cost."},
           "margin_rate": {**config["roi"], "label": "Margin rate", "help": "Margin / net revenue."}}
frame.table(margins, "cost", filters, key="store_margin", column_config=config)
if margins["margin"].isna().all() and not margins.empty:
    missing |= frame.not_provided(filters, ("net_revenue",))
    gaps = [missing[n].removeprefix("not provided: ") for n in ("net_revenue", "marketing_spend", "staff_cost",
                                                                 "other_costs") if n in missing]
    st.caption(text.md(f"No margin: it needs what this warehouse was not given ({'; '.join(dict.fromkeys(gaps))})."
                       if gaps else "No margin for these stores."))
