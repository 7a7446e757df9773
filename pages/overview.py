"""Weekly overview (landing page): headline KPIs of the last complete week against the week before."""

import streamlit as st

from o2o_ops import metrics
from o2o_ops.ui import data, frame

filters = frame.current_filters()
frame.header("Weekly overview", filters)
weekly = data.kpis(filters.replace(start=None, end=None), "week", metrics.HEADLINE)
if weekly.empty:
    frame.empty_state(filters)
    st.stop()
weekly = metrics.week_over_week(weekly, metrics.HEADLINE)
last = weekly.iloc[-1]
st.subheader(f"Week {last['iso_week']}")
frame.kpi_cards(last, metrics.HEADLINE, weekly.iloc[-2] if len(weekly) > 1 else None)
