"""Service quality: are customers served well offline? Ratings, complaints, refunds, SLA, repeat
customers, and each store against its city x category peers."""

import streamlit as st

from o2o_ops import analysis, targets
from o2o_ops.charts import kpi_line
from o2o_ops.charts import quality as charts
from o2o_ops.ui import anomaly_marks, warehouse, frame

WATCHED = ("avg_rating", "refund_rate", "avg_wait_minutes")  # anomaly flags listed here
CARDS = ("avg_rating", "positive_share", "complaint_rate", "refund_rate", "sla_attainment", "repeat_rate")

rating_distribution = warehouse.cached(analysis.rating_distribution)
complaints_by_category = warehouse.cached(analysis.complaints_by_category)
refund_reasons = warehouse.cached(analysis.refund_reasons)
sla_by_hour_weekday = warehouse.cached(analysis.sla_by_hour_weekday)
quality_by_store = warehouse.cached(analysis.quality_by_store)
weekly_goals = warehouse.cached(targets.weekly_goals)

filters = frame.current_filters()
t = frame.t
frame.header(t("nav.quality"), filters)

frame.period_cards(filters, CARDS, columns=3)
missing = frame.not_provided(filters, CARDS)   # an empty chart of these says why, as its card does

weekly = warehouse.kpis(filters, "week", ("avg_rating", "positive_share", "refund_rate", "repeat_rate"))
flagged = anomaly_marks.page_flags(filters, WATCHED)
goals = weekly_goals(filters, ("avg_rating", "refund_rate", "repeat_rate"), tuple(weekly["week_start"]))
compared = frame.comparison_overlay(filters, ("refund_rate", "repeat_rate"))

st.subheader(t("quality.ratings"))
left, right = st.columns(2)
left.plotly_chart(frame.localise(charts.rating_distribution_bar(rating_distribution(filters)),
                                 missing=missing.get("avg_rating")), key="q_rating_distribution")
right.plotly_chart(frame.localise(charts.rating_trend(weekly, marks=anomaly_marks.marks(flagged, "avg_rating"),
                                                      goals=goals.get("avg_rating")),
                                  missing=missing.get("avg_rating")), key="q_rating_trend")

st.subheader(t("quality.complaints_refunds"))
left, right = st.columns(2)
left.plotly_chart(frame.localise(charts.complaints_bar(complaints_by_category(filters)),
                                 missing=missing.get("complaint_rate")), key="q_complaints")
reasons = refund_reasons(filters)
right.plotly_chart(frame.localise(charts.refund_reasons_bar(reasons), missing=missing.get("refund_rate")),
                   key="q_refund_reasons")
left, right = st.columns(2)
left.plotly_chart(frame.localise(kpi_line(weekly, "week_start", "refund_rate", title="Refund rate by week",
                                marks=anomaly_marks.marks(flagged, "refund_rate"), goals=goals.get("refund_rate"),
                           **compared), missing=missing.get("refund_rate")), key="q_refund_trend")
right.plotly_chart(frame.localise(kpi_line(weekly, "week_start", "repeat_rate", title="Repeat rate by week",
                                 goals=goals.get("repeat_rate"), **compared), missing=missing.get("repeat_rate")),
                   key="q_repeat_trend")
if not (reasons.empty and "refund_rate" in missing):   # no empty table under charts that say why
    frame.table(reasons, "quality", filters, key="refund_reasons", label=t("quality.download_reasons"),
                column_config={"share_of_paid_orders": st.column_config.NumberColumn(
                    t("quality.share_of_paid"), format="percent")})

anomaly_marks.show_list(flagged, filters, "quality", WATCHED)

st.subheader(frame.kpi_label("sla_attainment"))
st.plotly_chart(frame.localise(charts.sla_heatmap(sla_by_hour_weekday(filters)), missing=missing.get("sla_attainment")),
                key="q_sla")
st.caption(t("quality.sla_caption"))

by_store = quality_by_store(filters)  # one query for the peer ranking (any KPI) and the store table


@frame.fragment
def peer_panel() -> None:
    """Stores ranked on one quality KPI against the median of their city x category."""
    st.subheader(t("quality.peers"))
    kpi = st.selectbox(t("quality.rank_by"), analysis.PEER_KPIS, key="quality_peer_kpi",
                       format_func=frame.kpi_labeller())
    ranked = analysis.peer_view(by_store, kpi)
    st.plotly_chart(frame.localise(charts.peer_comparison_chart(ranked, kpi), missing=missing.get(kpi)), key="q_peers")
    config = frame.kpi_column_config(("reviews", "redemptions", kpi))
    config["peer_median"] = {**config[kpi], "label": t("quality.peer_median")}
    config["vs_peers"] = {**config[kpi], "label": t("quality.vs_peers")}
    frame.table(ranked, "quality", filters, key=f"peers_{kpi}", label=t("quality.download_ranking"),
                column_config=config)


peer_panel()

st.subheader(t("quality.by_store"))
frame.table(analysis.store_quality_table(by_store), "quality", filters, key="stores",
            column_config=frame.kpi_column_config(analysis.STORE_QUALITY_KPIS))
