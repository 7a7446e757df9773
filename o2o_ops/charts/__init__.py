"""Plotly figure builders: pure functions ``DataFrame -> go.Figure`` with one look for the app.

The palette, fonts and heights are defined here once; area modules (``charts.quality``, ...)
build on :func:`base_layout` and the shared builders. No builder queries anything or imports
streamlit. Every builder accepts an empty frame and returns a figure that says "No data".
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd
import plotly.graph_objects as go

from o2o_ops import i18n, metrics, units

PALETTE = ("#2563eb", "#f97316", "#10b981", "#e11d48", "#8b5cf6", "#0ea5e9", "#eab308", "#64748b")
GOOD, BAD, NEUTRAL = "#16a34a", "#dc2626", "#64748b"
CATEGORY_COLORS = {"restaurant": PALETTE[1], "hotel": PALETTE[0], "travel": PALETTE[2],
                   "car_rental": PALETTE[4], "beauty_leisure": PALETTE[3]}
FONT = dict(family="Inter, 'Source Sans Pro', 'DejaVu Sans', sans-serif", size=13, color="#1f2937")
HEIGHT = 340
HEIGHT_SMALL = 240
HEIGHT_TALL = 480
SEQUENTIAL = "Blues"
ANOMALY = "#be123c"
ANOMALY_LABEL = "Unusual store-weeks"
GOAL = "#0f766e"
GOAL_LABEL = "Target"
DIVERGING = "RdYlGn"

#: Pixels at the top for a title, and for a legend row between the title and the plot.
TITLE_SPACE, LEGEND_SPACE = 40, 28


def has_legend(fig: go.Figure) -> bool:
    """Whether plotly will draw a legend: more than one trace that shows in it, unless hidden."""
    if fig.layout.showlegend is False:
        return False
    return fig.layout.showlegend is True or sum(t.showlegend is not False for t in fig.data) > 1


def base_layout(fig: go.Figure, *, title: str | None = None, height: int = HEIGHT) -> go.Figure:
    """The house style. The title sits at the very top and the horizontal legend in its own row
    below it, above the plot, so the two never overlap."""
    top = (TITLE_SPACE if title else 10) + (LEGEND_SPACE if has_legend(fig) else 0)
    fig.update_layout(
        title=dict(text=title, x=0, y=1, yref="container", yanchor="top", pad=dict(t=10),
                   font=dict(size=15)) if title else None,
        font=FONT, height=height, colorway=list(PALETTE), template="plotly_white",
        margin=dict(l=10, r=10, t=top, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        hoverlabel=dict(font=FONT),
    )
    return fig


def empty_figure(message: str = "No data for these filters", *, height: int = HEIGHT_SMALL,
                 title: str | None = None) -> go.Figure:
    """A chart that drew nothing: ``message`` in its middle, under the chart's ``title`` (so that
    two empty charts side by side, or stacked on a phone, are told apart)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=14, color=NEUTRAL),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return base_layout(fig, title=title, height=height)


def is_empty(fig: go.Figure) -> bool:
    """Whether ``fig`` is an :func:`empty_figure`: nothing drawn, one message."""
    return not fig.data and len(fig.layout.annotations) == 1


#: the width an empty chart's reason is wrapped to: a phone's chart (350 px) holds it
WHY_WIDTH_PX = 320


def say_why_empty(fig: go.Figure, why: str | None) -> go.Figure:
    """``fig`` saying ``why`` in place of its "No … for these filters" when it drew nothing; ``why``
    is what the cards say of a KPI the warehouse cannot provide ("not provided: no reviews
    imported"), written as a sentence, in lines of :data:`WHY_WIDTH_PX` (plotly does not wrap an
    annotation: a long one ran off a phone's chart). Unchanged when it drew something or ``why``
    is None: a chart of data that was never imported then says so, not that these filters found none."""
    if why and is_empty(fig):
        note = fig.layout.annotations[0]
        size = note.font.size or FONT["size"]
        note.text = "<br>".join(wrap_words(i18n.note_sentence(why), WHY_WIDTH_PX, size))
    return fig


def axis_format(kpi_name: str) -> str:
    return units.axis_format(metrics.KPIS[kpi_name].unit)


def anomaly_trace(data: pd.DataFrame, marks: pd.DataFrame | None, *, x: str, y: str, on: str = "week_start",
                  showlegend: bool = True) -> go.Scatter | None:
    """Open rings on the points of ``data`` whose week holds flagged store-weeks (``marks`` from
    :func:`o2o_ops.anomalies.week_marks`), at the chart's own value, the reasons on hover; None
    when no plotted week has a flag."""
    if marks is None or marks.empty or data.empty or y not in data:
        return None
    keep = list(dict.fromkeys([x, y, on]))
    left = data[keep].copy()
    right = marks[[on, "count_flags", "hover"]].copy()
    if on == "week_start":
        left["_on"], right["_on"] = pd.to_datetime(left[on]), pd.to_datetime(right[on])
    else:
        left["_on"], right["_on"] = left[on].astype(str), right[on].astype(str)
    hit = left.merge(right.drop(columns=[on]), on="_on").dropna(subset=[y])
    if hit.empty:
        return None
    return go.Scatter(
        x=hit[x], y=hit[y], mode="markers", name=ANOMALY_LABEL, showlegend=showlegend,
        marker=dict(symbol="circle-open", size=15, color=ANOMALY, line=dict(width=2.5)),
        customdata=hit[["count_flags", "hover"]].to_numpy(),
        hovertemplate="%{customdata[0]} unusual store-week(s):<br>%{customdata[1]}<extra></extra>",
    )


def goal_trace(x: Sequence, goals: Sequence[float | None] | None, kpi_name: str, *,
               showlegend: bool = True) -> go.Scatter | None:
    """The target as a dashed step line over ``x`` (``goals`` per point, None where no target
    applies); None when no point has one."""
    if goals is None or all(units.is_missing(g) for g in goals):
        return None
    values = [None if units.is_missing(g) else float(g) for g in goals]
    return go.Scatter(x=list(x), y=values, mode="lines", name=GOAL_LABEL, showlegend=showlegend,
                      line=dict(color=GOAL, width=1.5, dash="dash", shape="hvh"), connectgaps=False,
                      hovertemplate=f"%{{x}}<br>target: %{{y:{axis_format(kpi_name)}}}<extra></extra>")


def kpi_line(df: pd.DataFrame, x: str, kpi_name: str, *, color: str | None = None,
             title: str | None = None, height: int = HEIGHT, marks: pd.DataFrame | None = None,
             goals: Sequence[float | None] | None = None,
             comparison: pd.DataFrame | None = None, comparison_label: str = "Comparison") -> go.Figure:
    """A KPI over time (one line, or one per ``color`` group); ``marks`` (weekly charts): rings on
    the weeks with flagged store-weeks; ``goals``: the target per row of ``df`` (dashed line);
    ``comparison``: the comparison period's values on the same ``x`` (dotted grey line, see
    :func:`o2o_ops.comparisons.weekly_overlay`)."""
    kpi = metrics.KPIS[kpi_name]
    if df.empty or kpi_name not in df or df[kpi_name].isna().all():
        return empty_figure(title=title)
    fig = go.Figure()
    groups = [(None, df)] if color is None else list(df.groupby(color, sort=True))
    for i, (name, part) in enumerate(groups):
        part = part.sort_values(x)
        fig.add_trace(go.Scatter(
            x=part[x], y=part[kpi_name], mode="lines+markers", name=str(name) if name is not None else kpi.label,
            line=dict(color=PALETTE[i % len(PALETTE)], width=2), marker=dict(size=5),
            hovertemplate=f"%{{x}}<br>{kpi.label}: %{{y:{axis_format(kpi_name)}}}<extra>{'' if name is None else name}</extra>",
        ))
    overlays = []
    if color is None and comparison is not None and not comparison.empty and kpi_name in comparison:
        part = comparison.sort_values(x)
        overlays.append(go.Scatter(
            x=part[x], y=part[kpi_name], mode="lines", name=comparison_label,
            line=dict(color=NEUTRAL, width=1.5, dash="dot"),
            hovertemplate=f"%{{x}}<br>{comparison_label}: %{{y:{axis_format(kpi_name)}}}<extra></extra>"))
    if color is None:
        overlays.append(anomaly_trace(df, marks, x=x, y=kpi_name))
        if goals is not None:
            by_x = df[[x]].assign(_goal=list(goals)).sort_values(x)
            overlays.append(goal_trace(by_x[x], by_x["_goal"].tolist(), kpi_name))
    overlays = [t for t in overlays if t is not None]
    for trace in overlays:
        fig.add_trace(trace)
    fig.update_yaxes(tickformat=axis_format(kpi_name), title=None)
    fig.update_xaxes(title=None)
    fig.update_layout(showlegend=color is not None or bool(overlays))
    return base_layout(fig, title=title or kpi.label, height=height)


def kpi_bar(df: pd.DataFrame, x: str, kpi_name: str, *, title: str | None = None,
            height: int = HEIGHT, horizontal: bool = False, color_by_good: bool = False) -> go.Figure:
    """One bar per group for a KPI, sorted as given."""
    kpi = metrics.KPIS[kpi_name]
    if df.empty or kpi_name not in df or df[kpi_name].isna().all():
        return empty_figure(title=title)
    colors = PALETTE[0]
    if color_by_good and kpi.higher_is_better is not None:
        mid = df[kpi_name].median()
        colors = [(GOOD if (v >= mid) == kpi.higher_is_better else BAD) for v in df[kpi_name]]
    labels = df[x].astype(str)
    bar = go.Bar(x=df[kpi_name] if horizontal else labels, y=labels if horizontal else df[kpi_name],
                 orientation="h" if horizontal else "v", marker_color=colors,
                 hovertemplate=f"%{{{'y' if horizontal else 'x'}}}: %{{{'x' if horizontal else 'y'}:{axis_format(kpi_name)}}}<extra></extra>")
    fig = go.Figure(bar)
    if horizontal:
        fig.update_xaxes(tickformat=axis_format(kpi_name))
        fig.update_yaxes(autorange="reversed")
    else:
        fig.update_yaxes(tickformat=axis_format(kpi_name))
    return base_layout(fig, title=title or kpi.label, height=height)


def heatmap(df: pd.DataFrame, x: str, y: str, value: str, *, title: str, value_format: str = ".0%",
            colorscale: str = DIVERGING, height: int = HEIGHT, zmid: float | None = None,
            x_order: Sequence | None = None, y_order: Sequence | None = None) -> go.Figure:
    """A heatmap of ``value`` by ``x`` and ``y`` (e.g. hour of day x day of week)."""
    if df.empty or df[value].isna().all():
        return empty_figure(title=title)
    grid = df.pivot_table(index=y, columns=x, values=value, aggfunc="first")
    if x_order is not None:
        grid = grid.reindex(columns=[c for c in x_order if c in grid.columns])
    if y_order is not None:
        grid = grid.reindex(index=[r for r in y_order if r in grid.index])
    fig = go.Figure(go.Heatmap(
        z=grid.values, x=[str(c) for c in grid.columns], y=[str(r) for r in grid.index],
        colorscale=colorscale, zmid=zmid, colorbar=dict(tickformat=value_format),
        hovertemplate=f"%{{y}} %{{x}}: %{{z:{value_format}}}<extra></extra>",
    ))
    return base_layout(fig, title=title, height=height)


def histogram(values: pd.Series, *, title: str, x_title: str, nbins: int = 40, height: int = HEIGHT) -> go.Figure:
    if values.empty:
        return empty_figure(title=title)
    fig = go.Figure(go.Histogram(x=values, nbinsx=nbins, marker_color=PALETTE[0]))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title="count")
    return base_layout(fig, title=title, height=height)


def picked_id(event, allowed: Sequence[str] | None = None) -> str | None:
    """The id a clicked bar or point stands for: the first selected point's ``customdata`` (its
    last item when the trace carries several values per point; the builders put the id last),
    from a ``st.plotly_chart`` selection (its return value or its session-state entry, both
    ``{"selection": {"points": [...]}}``). None when nothing is picked, the point carries no id,
    or the id is not one of ``allowed``."""
    selection = (event or {}).get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    points = (selection or {}).get("points") if isinstance(selection, dict) else getattr(selection, "points", None)
    for point in points or []:
        data = point.get("customdata") if isinstance(point, dict) else None
        if isinstance(data, (list, tuple)):
            data = data[-1] if data else None
        if data is None or data == "" or (isinstance(data, float) and data != data):
            continue
        found = str(data)
        if allowed is not None and found not in set(map(str, allowed)):
            continue
        return found
    return None


#: On a phone (Streamlit's 390-px-wide layout, less its padding) what a chart has to fit in.
PHONE_WIDTH = 350
LEGEND_ROW = 21          # one row of a horizontal legend, in pixels
TITLE_LINE = 20          # one more line of a wrapped title
SHORT_LABEL = 24         # characters of a bar's category label kept on a phone


def text_px(words: str, size: float) -> float:
    """About how many pixels ``words`` take at font ``size``: a Latin character ~0.6 em, a
    Chinese one a full em (a rough measure, made to err wide)."""
    return sum(size * (1.0 if ord(c) >= 0x2E80 else 0.6) for c in str(words))


#: what never begins a line of Chinese (closing punctuation): it stays at the end of the line before
_NO_LINE_START = set("，。；：、）」』】！？…%")


def wrap_words(words: str, width: float, size: float) -> list[str]:
    """``words`` broken into lines of at most ``width`` pixels at font ``size`` (at spaces; a
    Chinese text, which has none, between any two characters, but never before its closing
    punctuation, nor before a dash between spaces: "；" or "–" ending a line may pass the width by
    its own)."""
    tokens = words.split(" ") if " " in words else list(words)
    joiner = " " if " " in words else ""
    lines: list[str] = []
    for token in tokens:
        if lines and (text_px(lines[-1] + joiner + token, size) <= width
                      or (not joiner and token in _NO_LINE_START) or token in ("–", "—")):
            lines[-1] += joiner + token
        else:
            lines.append(token)
    return lines or [""]


def legend_rows(names: Sequence[str], width: float, size: float = FONT["size"]) -> int:
    """How many rows a horizontal legend of ``names`` wraps into over ``width`` pixels (plotly
    gives each item its symbol, ~40 px, its text and a gap; counted wide, so a row too many
    costs blank space, never a legend over the title)."""
    rows, used = 1, 0.0
    for name in names:
        item = 50 + text_px(name, size)
        if used and used + item > width:
            rows, used = rows + 1, 0.0
        used += item
    return rows


def shorten(label: str, keep: int = SHORT_LABEL) -> str:
    """``label`` cut to ``keep`` characters with an ellipsis (the full name stays in the hover)."""
    label = str(label)
    if len(label) <= keep:
        return label
    head, paren, tail = label.rpartition(" (")
    if paren and tail.endswith(")") and len(tail) + 3 < keep:   # "Name (S0028)": the id stays
        return head[: keep - len(tail) - 3].rstrip() + "… (" + tail
    return label[: keep - 1].rstrip() + "…"


def nice_ticks(low: float, high: float, intervals: int = 3) -> list[float]:
    """Round tick values (1, 2 or 5 × a power of ten apart) within ``low``..``high``, at most
    ``intervals`` steps (the smallest round step that many fit), 0 among them when the range holds
    it: ``-276k..319k`` -> -200k, 0, 200k; at least two when the range has any width
    (``1.02M..1.38M`` -> 1.1M, 1.2M, 1.3M, not 1.2M alone)."""
    import math

    span = high - low
    if not span > 0:
        return [low]
    raw = span / intervals
    power = math.floor(math.log10(raw))
    nice = sorted((m * 10 ** e for e in (power + 1, power, power - 1) for m in (1, 2, 5)), reverse=True)
    for step in [s for s in nice if s <= min(s for s in nice if s >= raw)]:
        ticks = [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]
        if len(ticks) >= 2:
            return ticks
    return ticks


#: At most how many steps between the round ticks of a value axis written short (plotly draws about
#: as many on a chart of :data:`HEIGHT`); an axis whose ``nticks`` is set (the overview's small
#: multiples, a phone's bars) gets ``nticks - 1``.
TICK_INTERVALS = 7
#: What of an axis' span beyond its values its ticks are chosen over (plotly's autorange pads).
AXIS_PAD = 0.1


def axis_extent(fig: go.Figure, axis_name: str) -> tuple[float, float] | None:
    """The lowest and highest value drawn along ``axis_name`` (``"yaxis"``, ``"xaxis2"``) by the
    figure's bars and lines: a bar reaches from 0, stacked bars (``barmode="stack"``) to their
    stack's sum on each side of 0. None when nothing numeric is drawn on it."""
    letter, ref = axis_name[0], axis_name[0] + axis_name[5:]
    other = "y" if letter == "x" else "x"
    stacked = fig.layout.barmode in ("stack", "relative")
    values: list[float] = []
    stacks: dict[tuple, float] = {}
    for trace in fig.data:
        kind = getattr(trace, "type", None)
        if kind not in ("bar", "scatter", "scattergl") or (getattr(trace, f"{letter}axis") or letter) != ref:
            continue
        if kind == "bar" and ("x" if trace.orientation == "h" else "y") != letter:
            continue   # the bars' categories or dates, not their values
        drawn = getattr(trace, letter)
        numbers = pd.to_numeric(pd.Series(list(drawn if drawn is not None else ()), dtype=object), errors="coerce")
        if numbers.isna().all():
            continue
        if kind != "bar":
            values.extend(v for v in numbers if not units.is_missing(v))
            continue
        values.append(0.0)
        if not stacked:
            values.extend(v for v in numbers if not units.is_missing(v))
            continue
        places = list(getattr(trace, other) if getattr(trace, other) is not None else range(len(numbers)))
        for place, v in zip(places, numbers):
            if not units.is_missing(v):
                key = (getattr(trace, f"{other}axis"), str(place), v >= 0)
                stacks[key] = stacks.get(key, 0.0) + float(v)
    values.extend(stacks.values())
    return (min(values), max(values)) if values else None


def short_value_axis(fig: go.Figure, axis_name: str, lang: str = "en") -> None:
    """One value axis of counts or amounts (its tickformat groups digits: ``,.0f``) whose values
    reach :data:`o2o_ops.units.AXIS_COMPACT_FROM`, in place: round ticks (:func:`nice_ticks`)
    written short in ``lang`` (``0  10M  20M  30M``; ``0  1000万  2000万  3000万``) instead of
    plotly's ``30,000,000``. Plotly's own short format (``~s``) writes billions "G" and has no
    万 or 亿, hence explicit ticks; the values are not scaled, and hovers keep every digit through
    the builders' hovertemplates (``%{y:,.0f}``: plotly's default hover would read a tick's label
    at a tick's exact value). Any other axis is left as it is."""
    axis = getattr(fig.layout, axis_name)
    extent = axis_extent(fig, axis_name) if (axis.tickformat or "").startswith(",") else None
    if extent is None:
        return
    # plotly draws a little past the values (a line's 5 % of the plot and its markers, not past a
    # bar's 0): ticks there count too (10k under a line from 10.4k); one past its range is not drawn
    low, high = extent
    pad = (high - low) * AXIS_PAD
    intervals = axis.nticks - 1 if axis.nticks and axis.nticks > 2 else TICK_INTERVALS
    ticks = nice_ticks(low - pad if low else low, high + pad if high else high, intervals)
    labels = units.tick_labels(ticks, lang)
    if labels is not None:
        axis.update(tickmode="array", tickvals=ticks, ticktext=labels)


def short_value_axes(fig: go.Figure, lang: str = "en") -> go.Figure:
    """``fig`` with :func:`short_value_axis` applied to each of its axes, in place (the app does
    this to every chart it shows, with the reader's language)."""
    import re

    for name in dir(fig.layout):
        if re.fullmatch(r"[xy]axis\d*", name):
            short_value_axis(fig, name, lang)
    return fig


def fit_width(fig: go.Figure, width: float = PHONE_WIDTH, lang: str = "en") -> go.Figure:
    """``fig`` made to read at ``width`` pixels (a phone), in place: a long title wraps onto more
    lines, a legend above the plot gets room for the rows it wraps into (never over the title),
    and long category labels of horizontal bars are shortened so the bars keep their room; their
    value axis, when it holds counts or amounts (grouped digits), gets a few round ticks written
    short in ``lang`` (``−200k``; ``−20万``) instead of plotly's ``−200,000``s side by side."""
    layout = fig.layout
    title = layout.title.text if layout.title and layout.title.text else None
    top = TITLE_SPACE if title else 10
    if title and "<br>" not in title:
        lines = wrap_words(title, width - 10, (layout.title.font.size or 15) if layout.title.font else 15)
        layout.title.text = "<br>".join(lines)
        top += TITLE_LINE * (len(lines) - 1)
    legend = layout.legend
    on_top = legend is None or legend.y is None or legend.y >= 1
    if has_legend(fig) and on_top:
        names = [t.name or "" for t in fig.data if t.showlegend is not False and t.name]
        # right on the plot (1.02 of a tall plot is many pixels higher, into the title); beside
        # horizontal bars measured from the figure's left edge (the bars' long labels push the
        # plot right), elsewhere from the plot's: a legend placed on the figure takes its width
        # off the plot's left side (a phone's column chart lost half its width to it)
        beside_labels = any(getattr(t, "type", None) == "bar" and t.orientation == "h" for t in fig.data)
        fig.update_layout(legend=dict(xref="container", x=0.02, y=1.0, yanchor="bottom") if beside_labels
                          else dict(xref="paper", x=0, y=1.0, yanchor="bottom"))
        rows = legend_rows(names, width - 120)
        # plotly's own wrapping is not ours to predict (it measures the fonts the browser has):
        # a legend that wraps at all gets a row per item
        top += LEGEND_ROW * (rows if rows == 1 else len(names)) + 6
    margin_t = layout.margin.t if layout.margin and layout.margin.t is not None else 0
    if top > margin_t:   # the plot keeps its height: the figure grows by the room added above it
        fig.update_layout(margin=dict(t=top), height=(layout.height or HEIGHT) + top - margin_t)
    for trace in fig.data:
        if getattr(trace, "type", None) == "bar" and trace.orientation == "h" and trace.y is not None:
            values = list(trace.y)
            if values and all(isinstance(v, str) for v in values) and any(len(v) > SHORT_LABEL for v in values):
                axis = "yaxis" + (trace.yaxis or "y")[1:]
                getattr(layout, axis).update(tickmode="array", tickvals=values, ticktext=[shorten(v) for v in values])
                value_axis = "xaxis" + (trace.xaxis or "x")[1:]
                getattr(layout, value_axis).update(nticks=4)   # values, not overlapping
                short_value_axis(fig, value_axis, lang)
    return fig
