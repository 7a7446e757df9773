"""Charts of the Cost page: pure builders ``DataFrame -> go.Figure``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from o2o_ops import metrics
from o2o_ops.charts import BAD, GOOD, HEIGHT, PALETTE, axis_format, base_layout, empty_figure

COMPONENT_COLORS = {"Discounts": PALETTE[1], "Platform fees": PALETTE[7], "Marketing": PALETTE[0],
                    "Staff": PALETTE[2], "Other": PALETTE[4]}


def cost_breakdown_stack(df: pd.DataFrame, *, title: str = "Cost by week and component") -> go.Figure:
    """Stacked weekly bars, one colour per component (``analysis.cost_breakdown_by_week``)."""
    if df.empty or df["amount"].fillna(0).eq(0).all():
        return empty_figure("No costs for these filters", title=title)
    fig = go.Figure()
    for component in dict.fromkeys(df["component"]):
        part = df[df["component"] == component]
        fig.add_trace(go.Bar(x=part["week_start"], y=part["amount"], name=str(component),
                             marker_color=COMPONENT_COLORS.get(component, PALETTE[-1]),
                             customdata=part["iso_week"],
                             # the trace's name, not the component's English: the name is what
                             # i18n.figures.localise translates
                             hovertemplate="%{customdata} · %{fullData.name}: %{y:,.0f}<extra></extra>"))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(tickformat=",.0f")
    return base_layout(fig, title=title)


def group_kpi_bars(df: pd.DataFrame, group: str, kpis: tuple[str, ...] = ("cost_per_redemption", "cac"),
                   *, title: str | None = None) -> go.Figure:
    """Grouped bars of currency KPIs per channel / campaign kind (``analysis.cost_by_group``)."""
    present = [k for k in kpis if k in df and not df[k].isna().all()]
    if df.empty or not present:
        return empty_figure(title=title)
    fig = go.Figure()
    labels = df[group].astype(str)
    for i, kpi in enumerate(present):
        label = metrics.KPIS[kpi].label
        fig.add_trace(go.Bar(x=labels, y=df[kpi], name=label, marker_color=PALETTE[i % len(PALETTE)],
                             hovertemplate=f"%{{x}} · {label}: %{{y:{axis_format(kpi)}}}<extra></extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=axis_format(present[0]))
    return base_layout(fig, title=title or " and ".join(metrics.KPIS[k].label for k in present))


def roi_bars(df: pd.DataFrame, group: str, *, title: str = "ROI") -> go.Figure:
    """ROI per group, green when positive and red when negative, zero line marked."""
    if df.empty or "roi" not in df or df["roi"].isna().all():
        return empty_figure(title=title)
    fig = go.Figure(go.Bar(
        x=df[group].astype(str), y=df["roi"], marker_color=[GOOD if v >= 0 else BAD for v in df["roi"].fillna(0)],
        hovertemplate="%{x}: %{y:+.0%}<extra></extra>"))
    fig.add_hline(y=0, line_color="#1f2937", line_width=1)
    fig.update_yaxes(tickformat="+.0%")
    return base_layout(fig, title=title)


def store_margin_bars(df: pd.DataFrame, *, top: int = 40, title: str = "Margin by store") -> go.Figure:
    """Horizontal bars of margin per store (``analysis.store_margin``), worst first."""
    if df.empty or df["margin"].isna().all():
        return empty_figure(title=title)
    part = df.head(top)
    names = part["store_name"].astype(str) + " (" + part["store_id"].astype(str) + ")"
    fig = go.Figure(go.Bar(
        x=part["margin"], y=names, orientation="h",
        marker_color=[GOOD if v >= 0 else BAD for v in part["margin"].fillna(0)],
        customdata=part[["net_revenue", "total_cost"]].to_numpy(),
        hovertemplate="%{y}<br>margin %{x:,.0f}<br>net revenue %{customdata[0]:,.0f} − cost %{customdata[1]:,.0f}<extra></extra>"))
    fig.update_xaxes(tickformat=",.0f")
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, title=title, height=max(HEIGHT, 22 * len(part) + 80))
