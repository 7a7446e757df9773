"""Anomaly flags on a page: the flags of the filtered scope (cached), the marks for its weekly
charts and the list of unusual store-weeks with the reason in words."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from o2o_ops import anomalies, text
from o2o_ops.filters import Filters
from o2o_ops.ui import frame, warehouse

_flags = warehouse.cached(anomalies.flags)
LISTED = 10


def page_flags(filters: Filters, watched: tuple[str, ...]) -> pd.DataFrame:
    """The flags of ``watched`` KPIs for the stores and weeks of ``filters`` (empty when the
    warehouse cannot judge any week: the page still shows everything else)."""
    with frame.error_boundary("anomaly flags"):
        return anomalies.for_page(_flags(filters), watched)
    return pd.DataFrame(columns=anomalies.FLAG_COLUMNS)


def marks(flagged: pd.DataFrame, kpi_name: str) -> pd.DataFrame:
    return anomalies.week_marks(flagged, kpi_name)


def show_list(flagged: pd.DataFrame, filters: Filters, page: str, watched: tuple[str, ...]) -> None:
    """The unusual store-weeks of the scope, most unusual first, each with its reason."""
    labels = ", ".join(k.label.lower() for k in anomalies.KPIS if k.name in watched)
    st.subheader("Unusual store-weeks")
    st.caption(f"Store-weeks whose {labels} is far from what is expected for that store in a week like "
               f"this (its own trend, its category's week — holidays included); circled on the weekly "
               f"charts above. {filters.describe()}.")
    if flagged.empty:
        st.success("No store-week in this scope is unusual for its store.", icon="✅")
        return
    st.markdown("\n".join(f"- {text.md(reason)}" for reason in flagged["reason"].head(LISTED)))
    if len(flagged) > LISTED:
        with st.expander(f"All {len(flagged)} unusual store-weeks"):
            frame.table(flagged.drop(columns=["label"]), page, filters, key="anomalies",
                        label="Download unusual store-weeks (CSV)")
