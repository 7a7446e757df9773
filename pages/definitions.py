"""KPI definitions: every KPI of the registry with its label, formula and unit."""

import streamlit as st

from o2o_ops import metrics
from o2o_ops.kpis import symmetry_index
from o2o_ops.ui import frame

filters = frame.current_filters()
t, lang = frame.t, frame.language()
frame.header(t("nav.definitions"), filters, note=t("definitions.note"))
st.markdown(t("definitions.intro"))
table = metrics.definitions_frame(lang)
frame.table(table, "definitions", filters, key="kpis", height=min(1200, 38 * (len(table) + 1)), column_config={
    "KPI": t("report.kpi"), "name": t("definitions.name"), "area": t("report.area"),
    "definition": t("report.definition"), "unit": t("report.unit"), "better when": t("report.better_when"),
    "kind": t("definitions.kind"), "needs": t("definitions.needs"), "matures": t("definitions.matures")})
with st.expander(t("symmetry.how_scored")):
    st.markdown(symmetry_index.describe(lang=lang))
