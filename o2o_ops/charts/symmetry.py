"""Figures for the online-offline symmetry page: pure ``DataFrame -> go.Figure`` builders over the
frames of :mod:`o2o_ops.symmetry`. Each accepts an empty frame and returns the shared empty figure.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from o2o_ops import metrics
from o2o_ops.charts import (CATEGORY_COLORS, HEIGHT, NEUTRAL, PALETTE, base_layout, empty_figure, kpi_bar,
                            kpi_line, picked_id)

PHASE_COLORS = {"before": "#94a3b8", "during": PALETTE[1], "after": PALETTE[0]}


def listed_vs_actual(df: pd.DataFrame, *, height: int = 420) -> go.Figure:
    """Listed (online) rating against the rating customers give, one marker per store.

    The dashed diagonal is perfect symmetry; markers below it over-promise. Size = reviews,
    colour = category.
    """
    need = {"listed_rating", "avg_rating"}
    if df.empty or not need <= set(df.columns):
        return empty_figure()
    data = df.dropna(subset=["listed_rating", "avg_rating"])
    if data.empty:
        return empty_figure("No store has both a listed rating and reviews")
    reviews = data["reviews"].fillna(0).astype(float) if "reviews" in data else pd.Series(1.0, index=data.index)
    top = max(float(reviews.max()), 1.0)
    fig = go.Figure()
    lo = float(min(data["listed_rating"].min(), data["avg_rating"].min(), 3.0)) - 0.2
    hi = 5.0
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="promise kept",
                             line=dict(color=NEUTRAL, dash="dash", width=1), hoverinfo="skip"))
    categories = data["store_category"].fillna("other") if "store_category" in data else pd.Series("store", index=data.index)
    for i, category in enumerate(sorted(categories.unique())):
        part = data[categories == category]
        size = 8 + 30 * (reviews[part.index] / top) ** 0.5
        names = part["store_name"] if "store_name" in part else part.get("store_id", part.index.astype(str))
        fig.add_trace(go.Scatter(
            x=part["listed_rating"], y=part["avg_rating"], mode="markers", name=str(category).replace("_", " "),
            marker=dict(size=size, color=CATEGORY_COLORS.get(category, PALETTE[i % len(PALETTE)]),
                        opacity=0.75, line=dict(color="white", width=1)),
            # customdata: (reviews, store_id); the store id lets a clicked marker open the store
            text=names, customdata=list(zip(reviews[part.index].tolist(),
                                            part.get("store_id", names).astype(str).tolist())),
            hovertemplate="<b>%{text}</b><br>listed %{x:.1f} ★, customers give %{y:.2f} ★"
                          "<br>%{customdata[0]:,.0f} reviews<extra></extra>",
        ))
    fig.update_xaxes(title="Listed rating (online)", range=[lo, hi + 0.05])
    fig.update_yaxes(title="Actual rating (reviews)", range=[lo, hi + 0.05])
    base_layout(fig, title="Listed vs actual rating (below the line = over-promised)", height=height)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, x=0), margin=dict(b=60))
    return fig


def picked_store(selection: dict | None) -> str | None:
    """The store of the marker clicked in :func:`listed_vs_actual` (a ``st.plotly_chart``
    selection: its points carry ``customdata`` = (reviews, store_id)), or None."""
    return picked_id(selection)


def deal_gap_by_store(df: pd.DataFrame, *, top: int = 15, height: int = HEIGHT) -> go.Figure:
    """Deal-customer gap per store (most negative first), top ``top`` stores."""
    if df.empty or "deal_customer_gap" not in df:
        return empty_figure()
    data = df.dropna(subset=["deal_customer_gap"]).sort_values("deal_customer_gap").head(top)
    label = "store_name" if "store_name" in data else "store_id"
    return kpi_bar(data, label, "deal_customer_gap", horizontal=True, height=height,
                   title="Deal-customer gap by store (campaign − full-price rating)")


def deal_gap_over_time(df: pd.DataFrame, *, height: int = HEIGHT) -> go.Figure:
    """Deal-customer gap by ISO week."""
    if df.empty or "week_start" not in df:
        return empty_figure()
    fig = kpi_line(df, "week_start", "deal_customer_gap", height=height,
                   title="Deal-customer gap by week (campaign − full-price rating)")
    if fig.data:
        fig.add_hline(y=0, line=dict(color=NEUTRAL, dash="dot", width=1))
    return fig


def campaign_phases(df: pd.DataFrame, *, height: int = HEIGHT) -> go.Figure:
    """A store's average rating before, during and after each campaign (grouped bars)."""
    phases = ("before", "during", "after")
    if df.empty or not set(phases) <= set(df.columns) or df[list(phases)].isna().all().all():
        return empty_figure("No campaigns at this store in the period")
    labels = df["campaign_name"].fillna(df["campaign_id"]).astype(str) if "campaign_name" in df else df["campaign_id"]
    fig = go.Figure()
    for phase in phases:
        counts = df.get(f"reviews_{phase}", pd.Series(0, index=df.index))
        fig.add_trace(go.Bar(x=labels, y=df[phase], name=phase, marker_color=PHASE_COLORS[phase],
                             customdata=counts,
                             hovertemplate="%{x}<br>" + phase + ": %{y:.2f} ★ (%{customdata} reviews)<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="Average rating", tickformat=".1f", range=[1, 5.2])
    return base_layout(fig, title="Rating before, during and after each campaign", height=height)


def store_trend(df: pd.DataFrame, *, height: int = HEIGHT) -> go.Figure:
    """One store's weekly symmetry index."""
    if df.empty or "week_start" not in df:
        return empty_figure()
    fig = kpi_line(df, "week_start", "symmetry_index", height=height,
                   title=f"Weekly {metrics.KPIS['symmetry_index'].label.lower()}")
    if fig.data:
        fig.update_yaxes(range=[0, 100])
    return fig
