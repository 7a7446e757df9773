"""Charts of the Operational efficiency page: pure builders ``DataFrame -> go.Figure``."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from o2o_ops import units
from o2o_ops.charts import BAD, HEIGHT, NEUTRAL, PALETTE, base_layout, empty_figure

OVER = BAD
AMBER = "#f59e0b"


def funnel_chart(df: pd.DataFrame, *, title: str = "Order funnel", lang: str = "en") -> go.Figure:
    """Ordered → paid → redeemed → reviewed (``analysis.funnel``); each stage labelled with its
    count as counts read elsewhere (``3,194``; in Chinese ``3,194``, ``1.2万``) and its share of
    the orders."""
    if df.empty or df["count_orders"].sum() == 0:
        return empty_figure("No orders for these filters", title=title)
    first = float(df["count_orders"].iloc[0]) or None
    labels = [f"{units.format_value(v, 'count', lang=lang)} · "
              f"{units.format_share(v / first if first else None)}" for v in df["count_orders"]]
    fig = go.Figure(go.Funnel(
        y=df["stage"], x=df["count_orders"], text=labels, textinfo="text",
        marker=dict(color=list(PALETTE[: len(df)])),
        hovertemplate="%{y}: %{x:,} orders<extra></extra>"))
    return base_layout(fig, title=title)


def time_to_redeem_bars(df: pd.DataFrame, *, median_hours: float | None = None,
                        title: str = "Time from order to redemption") -> go.Figure:
    """Bars of redeemed orders per time bucket (``analysis.time_to_redeem_histogram``)."""
    if df.empty or df["count_orders"].sum() == 0:
        return empty_figure("No redemptions for these filters", title=title)
    fig = go.Figure(go.Bar(
        x=df["label"], y=df["count_orders"], marker_color=PALETTE[0],
        customdata=df["share"].fillna(0),
        hovertemplate="%{x}: %{y:,} orders (%{customdata:.1%})<extra></extra>"))
    fig.update_xaxes(type="category", title="hours from order to redemption")
    fig.update_yaxes(title="orders", tickformat=",.0f")
    if not units.is_missing(median_hours):
        fig.add_annotation(text=f"median {median_hours:,.1f} h", xref="paper", yref="paper", x=1, y=1,
                           showarrow=False, font=dict(color=NEUTRAL))
    return base_layout(fig, title=title)


def breakage_ageing_bars(df: pd.DataFrame, *,
                         title: str = "Unredeemed vouchers by time to expiry (bars: count, labels: value)") -> go.Figure:
    """Count (bars) and value (labels, in money) of outstanding vouchers by expiry bucket
    (``analysis.breakage_ageing``); the 'expired' bar (= breakage) in red."""
    if df.empty or df["count_orders"].sum() == 0:
        return empty_figure("No unredeemed vouchers for these filters", title=title)
    part = df[(df["count_orders"] > 0) | (df["label"] != "no expiry")]
    fig = go.Figure(go.Bar(
        x=part["label"], y=part["count_orders"],
        marker_color=[OVER if lab == "expired" else (AMBER if lab == "0–7 days" else PALETTE[0])
                      for lab in part["label"]],
        text=[units.format_value(v, "currency") for v in part["paid_amount"]], textposition="outside",
        cliponaxis=False, customdata=[units.format_value(v, "currency") for v in part["paid_amount"]],
        hovertemplate="%{x}: %{y:,} vouchers worth %{customdata}<extra></extra>"))
    fig.update_xaxes(type="category")
    fig.update_yaxes(title="vouchers", tickformat=",.0f")
    return base_layout(fig, title=title)


def capacity_by_store_bars(df: pd.DataFrame, *, top: int = 40,
                           title: str = "Capacity utilisation by store") -> go.Figure:
    """Utilisation per store (``analysis.capacity_by_store``): red over 100% for the period,
    amber when some weeks were over capacity, a dashed line at 100%."""
    if df.empty or df["capacity_utilisation"].isna().all():
        return empty_figure("No stores with a capacity for these filters", title=title)
    part = df.head(top)
    names = part["store_name"].astype(str) + " (" + part["store_id"].astype(str) + ")"
    colors = [OVER if (u or 0) > 1 else (AMBER if h > 0 else PALETTE[0])
              for u, h in zip(part["capacity_utilisation"], part["weeks_over_capacity"])]
    fig = go.Figure(go.Bar(
        x=part["capacity_utilisation"], y=names, orientation="h", marker_color=colors,
        # the store id last: a clicked bar opens the store (charts.picked_id)
        customdata=list(zip(part["weeks_over_capacity"].fillna(0).tolist(),
                            part["peak_week_utilisation"].fillna(0).tolist(), part["store_id"].astype(str).tolist())),
        hovertemplate="%{y}<br>utilisation %{x:.0%}<br>weeks over capacity: %{customdata[0]:,}"
                      "<br>busiest week: %{customdata[1]:.0%}<extra></extra>"))
    fig.add_vline(x=1, line_dash="dash", line_color=OVER)
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, title=title, height=max(HEIGHT, 22 * len(part) + 80))


def capacity_by_hour_bars(df: pd.DataFrame, *, title: str = "Capacity utilisation by hour of day") -> go.Figure:
    """Utilisation per hour of day (``analysis.capacity_by_hour``), over-capacity hours in red."""
    if df.empty or df["utilisation"].isna().all():
        return empty_figure("No stores with a capacity for these filters", title=title)
    fig = go.Figure(go.Bar(
        x=df["hour"], y=df["utilisation"],
        marker_color=[OVER if flag else PALETTE[0] for flag in df["is_over_capacity"]],
        customdata=df["count_redemptions"],
        hovertemplate="%{x}:00 — %{y:.0%} (%{customdata:,} redemptions)<extra></extra>"))
    fig.add_hline(y=1, line_dash="dash", line_color=OVER)
    fig.update_xaxes(title="hour of day", dtick=1)
    fig.update_yaxes(tickformat=".0%")
    return base_layout(fig, title=title)


def load_ahead_days(days: pd.DataFrame, *, title: str = "Redemptions expected in the next 14 days") -> go.Figure:
    """Expected redemptions per day of the horizon (stacked: from vouchers already sold, from
    sales still to come) against the stores' capacity (``forecast.load_ahead``'s days, per store
    or already summed per day)."""
    if days.empty:
        return empty_figure("No store with a capacity under these filters", title=title)
    per_day = days.groupby("day", as_index=False)[["from_book", "from_new_sales", "capacity_per_day"]].sum()
    fig = go.Figure()
    fig.add_trace(go.Bar(x=per_day["day"], y=per_day["from_book"], name="from vouchers sold",
                         marker_color=PALETTE[0], hovertemplate="%{x|%a %d %b}: %{y:,.0f}<extra>sold</extra>"))
    fig.add_trace(go.Bar(x=per_day["day"], y=per_day["from_new_sales"], name="from sales to come",
                         marker_color="#93c5fd", hovertemplate="%{x|%a %d %b}: %{y:,.0f}<extra>to come</extra>"))
    fig.add_trace(go.Scatter(x=per_day["day"], y=per_day["capacity_per_day"], name="capacity", mode="lines",
                             line=dict(color=OVER, width=2, dash="dash", shape="hvh"),
                             hovertemplate="%{x|%a %d %b}: %{y:,.0f}<extra>capacity</extra>"))
    fig.update_layout(barmode="stack")
    fig.update_yaxes(title="redemptions", tickformat=",.0f")
    return base_layout(fig, title=title)


def load_ahead_bars(stores: pd.DataFrame, *, top: int = 20,
                    title: str = "Busiest 7 days ahead: forecast / capacity") -> go.Figure:
    """Each store's busiest 7-day window of the horizon against its capacity, busiest first;
    red above 100% (at risk), amber above 85%."""
    part = stores.dropna(subset=["peak_window_utilisation"]).head(top) if not stores.empty else stores
    if part.empty:
        return empty_figure("No store with a capacity under these filters", title=title)
    names = part["store_name"].astype(str) + " (" + part["store_id"].astype(str) + ")"
    values = part["peak_window_utilisation"].astype(float)
    colors = [OVER if v > 1 else AMBER if v > 0.85 else PALETTE[0] for v in values]
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color=colors,
                           customdata=list(zip(part["peak_window_start"].astype(str), part["store_id"].astype(str))),
                           hovertemplate="%{y}: %{x:.0%} of capacity in the 7 days from %{customdata[0]}<extra></extra>"))
    fig.add_vline(x=1.0, line=dict(color=NEUTRAL, dash="dash"))
    fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    return base_layout(fig, title=title, height=max(HEIGHT, 22 * len(part) + 80))
