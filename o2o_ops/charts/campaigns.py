"""Campaign charts: pure builders ``DataFrame -> go.Figure`` for the campaign drill-down."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from o2o_ops.charts import GOOD, BAD, NEUTRAL, PALETTE, HEIGHT, HEIGHT_SMALL, base_layout, empty_figure


def daily_orders_redemptions(daily: pd.DataFrame, *, title: str = "Orders and redemptions per day") -> go.Figure:
    """Bars of orders placed per day and a line of redemptions per day (columns day, orders, redemptions)."""
    if daily.empty:
        return empty_figure("No orders of this campaign under these filters", title=title)
    df = daily.sort_values("day")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=df["day"], y=df["orders"], name="Orders placed", marker_color=PALETTE[0],
                         hovertemplate="%{x|%Y-%m-%d}<br>Orders: %{y:,.0f}<extra></extra>"))
    fig.add_trace(go.Scatter(x=df["day"], y=df["redemptions"], name="Redemptions", mode="lines+markers",
                             line=dict(color=PALETTE[1], width=2), marker=dict(size=4),
                             hovertemplate="%{x|%Y-%m-%d}<br>Redemptions: %{y:,.0f}<extra></extra>"))
    fig.update_yaxes(tickformat=",.0f", title=None)
    fig.update_xaxes(title=None)
    base_layout(fig, title=title, height=HEIGHT)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.12, x=0))  # keep clear of the title
    return fig


def time_to_redeem_distribution(buckets: pd.DataFrame, *, title: str = "Time from order to redemption") -> go.Figure:
    """One bar per bucket (columns bucket, redemptions, share), in the order given."""
    if buckets.empty or buckets["redemptions"].sum() == 0:
        return empty_figure("No redemptions of this campaign under these filters", title=title)
    fig = go.Figure(go.Bar(
        x=buckets["bucket"].astype(str), y=buckets["redemptions"], marker_color=PALETTE[0],
        customdata=buckets["share"], hovertemplate="%{x}: %{y:,.0f} redemptions (%{customdata:.0%})<extra></extra>"))
    fig.update_yaxes(tickformat=",.0f", title="redemptions")
    fig.update_xaxes(title=None)
    return base_layout(fig, title=title, height=HEIGHT)


def lift_intervals(lifts: pd.DataFrame, *, title: str = "Incremental lift with 95% interval") -> go.Figure:
    """One point per campaign at its lift with its interval as an error bar (columns campaign_id,
    lift, lift_low, lift_high); green when the interval is above zero, red below, grey across.
    Campaigns without an interval (too thin to judge) are left out."""
    df = lifts.dropna(subset=["lift", "lift_low", "lift_high"]) if not lifts.empty else lifts
    if df.empty:
        return empty_figure("No campaign has the data to measure lift with an interval", title=title)
    colors = [GOOD if lo > 0 else BAD if hi < 0 else NEUTRAL for lo, hi in zip(df["lift_low"], df["lift_high"])]
    fig = go.Figure(go.Scatter(
        x=df["lift"], y=df["campaign_id"].astype(str), mode="markers", marker=dict(color=colors, size=10),
        error_x=dict(type="data", symmetric=False, array=df["lift_high"] - df["lift"],
                     arrayminus=df["lift"] - df["lift_low"], color=NEUTRAL),
        hovertemplate="%{y}: %{x:+.0%}<extra></extra>"))
    fig.add_vline(x=0, line=dict(color=NEUTRAL, dash="dot"))
    fig.update_xaxes(tickformat="+.0%", title="orders vs stores without a campaign (same city, category)")
    fig.update_yaxes(autorange="reversed", title=None)
    return base_layout(fig, title=title, height=max(200, 60 + 28 * len(df)))


def campaign_bars(table: pd.DataFrame, *, top: int = 15,
                  title: str = "Campaigns with the most orders (click a bar to open it)") -> go.Figure:
    """The ``top`` campaigns by orders (columns campaign_id, campaign_name, orders, roi), one
    horizontal bar each, most first. Each bar carries its campaign id as ``customdata``, so a
    click opens the campaign (:func:`o2o_ops.charts.picked_id`)."""
    if table.empty:
        return empty_figure("No campaign orders under these filters", title=title)
    part = table.sort_values(["orders", "campaign_id"], ascending=[False, True]).head(top)
    names = part["campaign_id"].astype(str) + " · " + part["campaign_name"].fillna("").astype(str)
    return _order_bars(part, names, part["campaign_id"], PALETTE[0], title)


def store_bars(stores: pd.DataFrame, *, top: int = 15,
               title: str = "Its stores by orders (click a bar to open its orders)") -> go.Figure:
    """The campaign's ``top`` stores by its orders (columns store_id, store_name, orders), one
    horizontal bar each with the store id as ``customdata`` (a click opens its orders)."""
    if stores.empty:
        return empty_figure("No orders of this campaign under these filters", title=title)
    part = stores.sort_values(["orders", "store_id"], ascending=[False, True]).head(top)
    names = part["store_name"].fillna("").astype(str) + " (" + part["store_id"].astype(str) + ")"
    return _order_bars(part, names, part["store_id"], PALETTE[1], title)


def _order_bars(part: pd.DataFrame, names: pd.Series, ids: pd.Series, colour: str, title: str) -> go.Figure:
    """Horizontal bars of ``part``'s orders labelled ``names``, most first, each carrying its id
    (``ids``) as ``customdata`` for a click to drill on."""
    fig = go.Figure(go.Bar(
        x=part["orders"], y=names, orientation="h", marker_color=colour,
        customdata=ids.astype(str),
        hovertemplate="%{y}<br>%{x:,.0f}<extra></extra>"))
    fig.update_xaxes(tickformat=",.0f", title="orders")
    fig.update_yaxes(autorange="reversed", title=None, automargin=True)
    return base_layout(fig, title=title, height=max(HEIGHT_SMALL, 26 * len(part) + 80))
