"""KPI definitions: every KPI of the registry with its label, formula and unit."""

import streamlit as st

from o2o_ops import metrics
from o2o_ops.ui import frame

filters = frame.current_filters()
frame.header("KPI definitions", filters, note="generated from the KPI registry")
st.markdown("Every number in o2o-ops comes from this registry. A ratio is always the sum of its "
            "numerator over the sum of its denominator for the filtered orders, and is blank (—) "
            "when the denominator is zero. *kind* says how it is computed (sum, ratio, difference of two "
            "ratios, median, index); *needs* lists the tables and optional columns it reads; *matures* "
            "says whether a period's value keeps changing afterwards, as its orders are redeemed, "
            "reviewed or refunded.")
table = metrics.definitions_frame()
frame.table(table, "definitions", filters, key="kpis", height=min(1200, 38 * (len(table) + 1)))
with st.expander("How the symmetry index is scored"):
    st.markdown(metrics.SYMMETRY_DOC)
