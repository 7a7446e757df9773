"""Anomaly flags on a page: the flags of the filtered scope (cached), the marks for its weekly
charts and the list of unusual store-weeks with the reason in words."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from o2o_ops import anomalies, text
from o2o_ops.filters import Filters
from o2o_ops.ui import frame, warehouse

_flags = warehouse.cached(anomalies.flags)
_not_judged = warehouse.cached(anomalies.not_judged)
LISTED = 10


def page_flags(filters: Filters, watched: tuple[str, ...]) -> pd.DataFrame:
    """The flags of ``watched`` KPIs for the stores and weeks of ``filters`` (empty when the
    warehouse cannot judge any week: the page still shows everything else)."""
    with frame.error_boundary("anomaly flags"):
        return anomalies.for_page(_flags(filters), watched)
    return pd.DataFrame(columns=anomalies.FLAG_COLUMNS)


def marks(flagged: pd.DataFrame, kpi_name: str) -> pd.DataFrame:
    return anomalies.week_marks(flagged, kpi_name, frame.language())


def show_list(flagged: pd.DataFrame, filters: Filters, page: str, watched: tuple[str, ...]) -> None:
    """The unusual store-weeks of the scope, most unusual first, each with its reason."""
    lang = frame.language()
    labels = frame.t("weekly.list_separator").join(
        anomalies.label_in(k, lang) if lang != "en" else k.label.lower() for k in anomalies.KPIS if k.name in watched)
    st.subheader(frame.t("anomaly.title"))
    st.caption(frame.t("anomaly.caption", labels=labels, filters=filters.describe(lang)))
    unjudged: dict[str, str] = {}
    with frame.error_boundary("anomaly flags"):
        unjudged = _not_judged(filters, tuple(watched), lang)
    listed = frame.t("weekly.item_separator").join(unjudged.values())
    if len(unjudged) == len(watched):    # "nothing unusual" would be an all-clear nobody measured
        st.info(text.md(frame.t("anomaly.none_judged", reasons=listed)), icon="🔎")
        return
    if unjudged:
        st.caption(text.md(frame.t("anomaly.not_judged", reasons=listed)))
    if flagged.empty:
        st.success(frame.t("anomaly.none"), icon="✅")
        return
    if lang != "en":   # the core words the reasons in English; the rows carry what they are made of
        flagged = flagged.assign(reason=[anomalies.reason(r, lang) for _, r in flagged.iterrows()])
    st.markdown("\n".join(f"- {text.md(reason)}" for reason in flagged["reason"].head(LISTED)))
    if len(flagged) > LISTED:
        with st.expander(frame.t("anomaly.all", count=len(flagged))):
            frame.table(flagged.drop(columns=["label"]), page, filters, key="anomalies",
                        label=frame.t("anomaly.download"))
