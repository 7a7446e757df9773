"""Charts of the Service quality page: pure builders ``DataFrame -> go.Figure``.

Inputs are the frames of :mod:`o2o_ops.analysis` (and registry frames at week grain); each
builder returns the shared empty figure for an empty frame.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from o2o_ops import metrics, units
from o2o_ops.analysis import WEEKDAYS
from o2o_ops.charts import (BAD, GOOD, HEIGHT, NEUTRAL, PALETTE, anomaly_trace, axis_format, goal_trace, base_layout,
                            empty_figure, heatmap)

_STAR_COLORS = {1: "#dc2626", 2: "#f97316", 3: "#eab308", 4: "#84cc16", 5: "#16a34a"}


def rating_distribution_bar(df: pd.DataFrame, *, title: str = "Rating distribution") -> go.Figure:
    """Bars of review counts per star (frame of ``analysis.rating_distribution``)."""
    if df.empty or df["count_reviews"].sum() == 0:
        return empty_figure("No reviews for these filters", title=title)
    share = df["share"].fillna(0)
    fig = go.Figure(go.Bar(
        x=[f"{int(r)} ★" for r in df["rating"]], y=df["count_reviews"],
        marker_color=[_STAR_COLORS.get(int(r), NEUTRAL) for r in df["rating"]],
        text=[units.format_share(s) for s in share], textposition="outside", cliponaxis=False,
        customdata=share, hovertemplate="%{x}: %{y:,} reviews (%{customdata:.1%})<extra></extra>",
    ))
    fig.update_yaxes(title="reviews", tickformat=",.0f")
    return base_layout(fig, title=title)


def rating_trend(weekly: pd.DataFrame, *, title: str = "Average rating and positive share by week",
                 marks: pd.DataFrame | None = None, goals: list | None = None) -> go.Figure:
    """Average rating (left axis) and positive share (right axis) by week (registry week grain);
    ``marks``: rings on the rating line's weeks with flagged store-weeks; ``goals``: the rating
    target per row of ``weekly`` (dashed)."""
    if weekly.empty or weekly["avg_rating"].isna().all():
        return empty_figure(title=title)
    weekly = weekly.assign(_goal=list(goals) if goals is not None else None).sort_values("week_start")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=weekly["week_start"], y=weekly["avg_rating"], name="Average rating",
                             mode="lines+markers", line=dict(color=PALETTE[0], width=2),
                             hovertemplate="%{x|%Y-%m-%d}: %{y:.2f} ★<extra></extra>"))
    fig.add_trace(go.Scatter(x=weekly["week_start"], y=weekly["positive_share"], name="Positive share",
                             mode="lines+markers", yaxis="y2", line=dict(color=PALETTE[2], width=2, dash="dot"),
                             hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra></extra>"))
    ring = anomaly_trace(weekly, marks, x="week_start", y="avg_rating")
    if ring is not None:
        fig.add_trace(ring)
    goal = goal_trace(weekly["week_start"], weekly["_goal"].tolist(), "avg_rating") if goals is not None else None
    if goal is not None:
        fig.add_trace(goal)
    fig.update_layout(yaxis=dict(title="stars", tickformat=".2f"),
                      yaxis2=dict(title="positive", tickformat=".0%", overlaying="y", side="right",
                                  showgrid=False))
    fig = base_layout(fig, title=title)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.12, x=0))  # clear of the title
    return fig


def complaints_bar(df: pd.DataFrame, *, title: str = "Complaint rate by complaint category") -> go.Figure:
    """Horizontal bars of complaint rate per category (``analysis.complaints_by_category``)."""
    if df.empty:
        return empty_figure("No complaints for these filters", title=title)
    fig = go.Figure(go.Bar(
        x=df["complaint_rate"], y=df["complaint_category"].astype(str), orientation="h",
        marker_color=BAD, customdata=df["count_complaints"],
        hovertemplate="%{y}: %{x:.1%} of redemptions (%{customdata:,} complaints)<extra></extra>",
    ))
    fig.update_xaxes(tickformat=".1%")
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, title=title)


def refund_reasons_bar(df: pd.DataFrame, *, title: str = "Refunded orders by reason") -> go.Figure:
    """Horizontal bars of refunded orders per reason (``analysis.refund_reasons``)."""
    if df.empty:
        return empty_figure("No refunds for these filters", title=title)
    fig = go.Figure(go.Bar(
        x=df["count_orders"], y=df["reason"].astype(str), orientation="h", marker_color=PALETTE[1],
        customdata=df[["share_of_paid_orders", "refund_amount"]].to_numpy(),
        hovertemplate="%{y}: %{x:,} orders (%{customdata[0]:.1%} of paid), refunded %{customdata[1]:,.0f}<extra></extra>",
    ))
    fig.update_xaxes(tickformat=",.0f", title="orders")
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, title=title)


def sla_heatmap(df: pd.DataFrame, *, title: str = "SLA attainment by hour of day and day of week") -> go.Figure:
    """Heatmap of SLA attainment, day of week x hour (``analysis.sla_by_hour_weekday``)."""
    if df.empty or df["sla_attainment"].isna().all():
        return empty_figure("No waits recorded against a promise for these filters", title=title)
    fig = heatmap(df, "hour", "weekday", "sla_attainment", title=title, value_format=".0%",
                  x_order=list(range(24)), y_order=list(WEEKDAYS), zmid=None)
    fig.update_traces(zmin=0, zmax=1)
    fig.update_xaxes(title="hour of day", type="category")
    return fig


def peer_comparison_chart(df: pd.DataFrame, kpi: str, *, top: int = 40, title: str | None = None) -> go.Figure:
    """Each store's KPI (dot) against its city x category peer median (bar), best first."""
    if df.empty or kpi not in df or df[kpi].isna().all():
        return empty_figure(title=title)
    label = metrics.KPIS[kpi].label
    part = df.dropna(subset=[kpi]).head(top)
    names = part["store_name"].astype(str) + " (" + part["store_id"].astype(str) + ")"
    better = metrics.KPIS[kpi].higher_is_better
    colors = [NEUTRAL if units.is_missing(v) or v == 0 else (GOOD if (v > 0) == bool(better) else BAD)
              for v in part["vs_peers"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=part["peer_median"], y=names, orientation="h", name="Peer median (city × category)",
                         marker_color="#e2e8f0",
                         hovertemplate=f"%{{y}}<br>peer median: %{{x:{axis_format(kpi)}}}<extra></extra>"))
    fig.add_trace(go.Scatter(x=part[kpi], y=names, mode="markers", name="Store",
                             marker=dict(color=colors, size=10, line=dict(color="#1f2937", width=1)),
                             hovertemplate=f"%{{y}}<br>{label}: %{{x:{axis_format(kpi)}}}<extra></extra>"))
    fig.update_xaxes(tickformat=axis_format(kpi))
    fig.update_yaxes(autorange="reversed")
    height = max(HEIGHT, 22 * len(part) + 80)
    return base_layout(fig, title=title or f"{label}: stores against their peers", height=height)
