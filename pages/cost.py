"""Cost: what each order, redemption and new customer costs — discounts, platform fees,
marketing and staff — by week, by channel or campaign kind, and per store with its margin."""

import streamlit as st

from o2o_ops import analysis, text
from o2o_ops.charts import cost as charts
from o2o_ops.ui import warehouse, frame

CARDS = ("discount_cost", "platform_fees", "marketing_spend", "staff_cost",
         "cost_per_redemption", "cac", "roi", "other_costs")
GROUP_LABELS = {"channel": "frame.channel", "campaign_kind": "frame.campaign_kind"}   # catalogue keys

cost_breakdown_by_week = warehouse.cached(analysis.cost_breakdown_by_week)
cost_by_group = warehouse.cached(analysis.cost_by_group)
store_margin = warehouse.cached(analysis.store_margin)

filters = frame.current_filters()
t = frame.t
frame.header(t("nav.cost"), filters)

frame.period_cards(filters, CARDS, columns=4)
missing = frame.not_provided(filters, CARDS)

st.subheader(t("cost.over_time"))
breakdown = cost_breakdown_by_week(filters)
left_out = [frame.localise_text(label) for name, label in analysis.COST_COMPONENTS if name in missing]
nothing = t("cost.none_provided") if len(left_out) == len(analysis.COST_COMPONENTS) else None
st.plotly_chart(frame.localise(charts.cost_breakdown_stack(breakdown), missing=nothing), key="cost_breakdown")
if left_out:
    st.caption(text.md(t("cost.not_in_chart", components=t("weekly.list_separator").join(left_out),
                         why=frame.missing_details(missing, [n for n, _ in analysis.COST_COMPONENTS]))))


@frame.fragment
def group_panel() -> None:
    """Cost per redemption, CAC and ROI by channel or by campaign kind."""
    st.subheader(t("cost.by_group"))
    by = st.segmented_control(t("cost.break_down_by"), tuple(GROUP_LABELS), key="cost_group", default="campaign_kind",
                              format_func=frame.key_labeller(GROUP_LABELS), required=True) or "campaign_kind"
    group_words = t(GROUP_LABELS[by]).lower() if frame.language() == "en" else t(GROUP_LABELS[by])
    groups = cost_by_group(filters, by)
    named = frame.value_words(groups, by)   # the bars' labels in words (Flash sale, 微信), not codes
    left, right = st.columns(2)
    left.plotly_chart(frame.localise(charts.group_kpi_bars(named, by, title=t("cost.cpr_cac_by", group=group_words)),
                                     missing=missing.get("cost_per_redemption") or missing.get("cac")),
                      key="cost_group_kpis")
    right.plotly_chart(frame.localise(charts.roi_bars(named, by, title=t("cost.roi_by", group=group_words)),
                                      missing=missing.get("roi")), key="cost_group_roi")
    st.caption(t("cost.staff_rent"))
    frame.table(groups, "cost", filters, key=f"by_{by}",
                column_config=frame.kpi_column_config(analysis.COST_GROUP_KPIS))


group_panel()

st.subheader(t("cost.stores"))
margins = store_margin(filters)
no_margin = None   # why no store has a margin, under the chart and in it
if margins["margin"].isna().all() and not margins.empty:
    missing |= frame.not_provided(filters, ("net_revenue",))
    gaps = frame.missing_details(missing, ("net_revenue", "marketing_spend", "staff_cost", "other_costs"))
    no_margin = t("cost.no_margin_why", why=gaps) if gaps else t("cost.no_margin")
st.plotly_chart(frame.localise(charts.store_margin_bars(margins), missing=no_margin), key="cost_store_margin")
config = frame.kpi_column_config(analysis.STORE_MARGIN_KPIS)
money = config["revenue"]
config |= {"total_cost": {**money, "label": t("cost.total_cost"), "help": t("cost.total_cost_help")},
           "margin": {**money, "label": t("cost.margin"), "help": t("cost.margin_help")},
           "margin_rate": {**config["roi"], "label": t("cost.margin_rate"), "help": t("cost.margin_rate_help")}}
frame.table(margins, "cost", filters, key="store_margin", column_config=config)
if no_margin:
    st.caption(text.md(no_margin))
