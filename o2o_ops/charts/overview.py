"""Charts of the weekly overview: the headline KPIs' 13-week trends as small multiples."""

from __future__ import annotations

from typing import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from o2o_ops import i18n, metrics, units
from o2o_ops.charts import (BAD, GOOD, HEIGHT_SMALL, NEUTRAL, PALETTE, PHONE_WIDTH, anomaly_trace, axis_format,
                           goal_trace, base_layout, empty_figure, wrap_words)

#: the gap between two columns of small charts, in pixels: a column's value labels ("4.00",
#: "15k") sit in it, left of its plot. A fraction of the figure, the gap of a phone's two columns
#: was 21 px, and "3.80" lay on the chart to its left
COLUMN_GAP_PX = 48

#: the width of the overview's grid of four columns on a desktop (Streamlit's wide layout)
GRID_WIDTH_PX = 1000


def trend_grid(series: pd.DataFrame, names: Sequence[str] = metrics.HEADLINE, *,
               week_iso: str | None = None, columns: int = 4,
               marks: dict[str, pd.DataFrame] | None = None,
               goals: dict[str, list] | None = None, notes: dict[str, str] | None = None,
               lang: str = "en") -> go.Figure:
    """One small line chart per KPI over the weeks of ``series`` (``iso_week`` + one column per
    KPI, oldest first); the chosen week's point is drawn larger, coloured by whether its change on
    the week before is good or bad news. ``marks`` (KPI name -> ``anomalies.week_marks``): rings on
    the weeks with flagged store-weeks; ``goals`` (KPI name -> target per week): a dashed line;
    ``notes`` (KPI name -> why its value is blank, as its card says): a KPI blank in every week
    says it in its chart, whose value axis (an empty one's made-up scale) is hidden."""
    if series.empty or all(series[n].isna().all() for n in names if n in series):
        return empty_figure(i18n.t("charts.no_orders_weeks", lang))
    rows = -(-len(names) // columns)
    width = PHONE_WIDTH if columns <= 2 else GRID_WIDTH_PX   # two columns: the phone's grid
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[i18n.kpi_label(n, lang) for n in names],
                        horizontal_spacing=COLUMN_GAP_PX / width, vertical_spacing=0.16)
    x = series["iso_week"].str.replace(r"^\d{4}-", "", regex=True)  # "W47": the year is in the caption
    for i, name in enumerate(names):
        row, col = i // columns + 1, i % columns + 1
        label = i18n.kpi_label(name, lang)
        fig.add_trace(go.Scatter(
            x=x, y=series[name], mode="lines+markers", name=label, showlegend=False,
            line=dict(color=PALETTE[0], width=2), marker=dict(size=4), connectgaps=False,
            hovertemplate=f"%{{x}}: %{{y:{axis_format(name)}}}<extra>{label}</extra>",
        ), row=row, col=col)
        if week_iso is not None and week_iso in set(series["iso_week"]):
            pos = series.index[series["iso_week"] == week_iso][0]
            value = series.at[pos, name]
            before = series.at[pos - 1, name] if pos - 1 in series.index else None
            good = metrics.is_good_change(name, None if units.is_missing(before) or units.is_missing(value)
                                          else float(value - before))
            fig.add_trace(go.Scatter(
                x=[x[pos]], y=[value], mode="markers", showlegend=False, hoverinfo="skip",
                marker=dict(size=10, color={True: GOOD, False: BAD, None: NEUTRAL}[good]),
            ), row=row, col=col)
        ring = anomaly_trace(series.assign(_x=x), (marks or {}).get(name), x="_x", y=name, on="iso_week",
                             showlegend=False)
        if ring is not None:
            fig.add_trace(ring, row=row, col=col)
        goal = goal_trace(x, (goals or {}).get(name), name, showlegend=False)
        if goal is not None:
            fig.add_trace(goal, row=row, col=col)
        fig.update_yaxes(tickformat=axis_format(name), nticks=4, row=row, col=col)
        fig.update_xaxes(nticks=5, row=row, col=col)
    fig = base_layout(fig, height=HEIGHT_SMALL * rows)
    fig.update_layout(margin=dict(l=10, r=10, t=30, b=10))
    fig.update_annotations(font=dict(size=13))
    plot_px = (width - COLUMN_GAP_PX * (columns - 1)) / columns - 8
    for i, name in enumerate(names):
        if name in series and not series[name].isna().all():
            continue
        row, col = i // columns + 1, i % columns + 1
        fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, row=row, col=col)
        why = (notes or {}).get(name)
        if why:
            fig.add_annotation(text="<br>".join(wrap_words(i18n.note_sentence(why), plot_px, 12)),
                               xref="x domain", yref="y domain", x=0.5, y=0.5, showarrow=False,
                               font=dict(size=12, color=NEUTRAL), row=row, col=col)
    return fig
