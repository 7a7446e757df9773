"""Chart words in the reader's language: a plotly figure's titles, axis titles, legend names,
annotations (subplot titles, "No data" messages), hover labels and category tick values.

The chart builders (:mod:`o2o_ops.charts`) stay pure ``DataFrame -> Figure`` functions in English;
:func:`localise` rewrites a built figure's text through the catalogue's ``chart.*`` entries
(matched on their English), the KPI registry's labels and the coded values of
:mod:`o2o_ops.words`, whole strings only. A text that is data (a store's or a city's name) has no
entry and stays as it is.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import plotly.graph_objects as go

from o2o_ops import i18n
from o2o_ops.i18n import catalogue

_EXTRA = re.compile(r"<extra>(.*?)</extra>")


@functools.lru_cache(maxsize=None)
def _table(lang: str) -> dict[str, str]:
    """English chart text -> its words in ``lang``."""
    from o2o_ops import words
    from o2o_ops.kpis.catalog import KPI_LIST

    out: dict[str, str] = {}
    for group, values in words.VALUE_GROUPS.items():
        for raw, english in values.items():
            zh = catalogue.VALUES_ZH[group][raw]
            out[english] = out[raw] = out[raw.replace("_", " ")] = zh
    for kpi in KPI_LIST:
        out[kpi.label] = i18n.kpi_label(kpi.name, lang)
        out[kpi.label.lower()] = i18n.kpi_label(kpi.name, lang)
    for key, (english, _) in catalogue.WORDS.items():
        if key.startswith("chart.") and "{" not in english:
            out[english] = i18n.t(key, lang)
    return out


_PATTERNS = (   # English templates of chart texts built with a KPI's label
    (re.compile(r"^(.+): stores against their peers$"), "chart.peers_title"),
    (re.compile(r"^Weekly (.+)$"), "chart.weekly_title"),
    (re.compile(r"^(.+) by week$"), "chart.by_week_title"),
    (re.compile(r"^(.+) by store$"), "chart.by_store_title"),
)


_NUMBERED = (   # English templates of chart notes built with a number
    (re.compile(r"^median ([\d,.]+) h$"), "chart.median_hours"),
)


def text(value: Any, lang: str) -> Any:
    """One chart text in ``lang`` (unknown texts and non-text unchanged)."""
    if not isinstance(value, str) or not value or i18n.check(lang) == "en":
        return value
    table = _table(lang)
    if value in table:
        return table[value]
    for pattern, key in _PATTERNS:
        match = pattern.match(value)
        if match and match.group(1) in table:
            return i18n.t(key, lang, label=table[match.group(1)])
    for pattern, key in _NUMBERED:
        match = pattern.match(value)
        if match:
            return i18n.t(key, lang, value=match.group(1))
    return value


@functools.lru_cache(maxsize=None)
def _hover_words(lang: str) -> dict[str, str]:
    """English words of a hover label -> their words in ``lang`` (the catalogue's ``hover.*``)."""
    return {english: i18n.t(key, lang) for key, (english, _) in catalogue.WORDS.items() if key.startswith("hover.")}


@functools.lru_cache(maxsize=None)
def _whole_hovers(lang: str) -> dict[str, str]:
    """English hover templates -> the whole template in ``lang`` (the catalogue's ``hovers.*``:
    the labels whose words read in another order in ``lang``)."""
    return {english: catalogue.WORDS[key][i18n.LANGS.index(lang)]
            for key, (english, _) in catalogue.WORDS.items() if key.startswith("hovers.")}


#: a hover label's values (``%{y:,.0f}``) and tags (``<br>``), between which its words run
_HOVER_PARTS = re.compile(r"(%\{[^}]*\}|<[^>]+>)")
#: the marks between runs of words, which stay as they are
_MARKS = re.compile(r"(\s*[:·—()\[\],★−+]+\s*|^\s+|\s+$)")


def _hover(template: str, lang: str) -> str:
    """A hover template in ``lang``: the whole template when the catalogue has it
    (``hovers.*``), else each run of words between its values: a hover word (``orders``), else
    any chart text (a KPI's label), the values, tags and marks kept; the secondary box
    (``<extra>``) a chart text as a whole (:func:`text`)."""
    words, table = _hover_words(lang), _table(lang)

    def run(part: str) -> str:
        if not part or _HOVER_PARTS.fullmatch(part):
            return part
        return "".join(piece if not piece or _MARKS.fullmatch(piece) else words.get(piece, table.get(piece, piece))
                       for piece in _MARKS.split(part))

    body, extra = (template.split("<extra>", 1) + [None])[:2]
    out = _whole_hovers(lang).get(body) or "".join(run(part) for part in _HOVER_PARTS.split(body))
    if extra is None:
        return out
    return out + _EXTRA.sub(lambda m: f"<extra>{text(m.group(1), lang)}</extra>", f"<extra>{extra}")


def _values(values: Any, lang: str) -> Any:
    """Category values of an axis (tuples of text) in ``lang``; numbers and dates untouched."""
    if values is None or isinstance(values, str):
        return values
    try:
        items = list(values)
    except TypeError:
        return values
    if not items or not all(isinstance(v, str) for v in items):
        return values
    return [text(v, lang) for v in items]


def _is_dates(values: Any) -> bool:
    """Whether an axis' values are dates (plotly would write "Sep 2026" under them)."""
    import datetime as dt

    import numpy as np

    if values is None or isinstance(values, str):
        return False
    try:
        first = next((v for v in values if v is not None), None)
    except TypeError:
        return False
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.datetime64):
        return True
    return isinstance(first, (dt.date, np.datetime64))


#: d3 format of a date axis' ticks in Chinese (plotly's own English month names otherwise)
DATE_TICKS_ZH = "%-m月%-d日"
#: d3 format of a date in a Chinese hover label written ``%{x}`` (plotly's own: "Nov 23, 2026")
DATE_HOVER_ZH = "%Y年%-m月%-d日"
#: a hover label's date written with names (``%{x|%a %d %b}``: "Mon 23 Nov"): d3 has only English
#: names, so a Chinese figure reads each point's date from its hover text (:func:`date_words`)
_NAMED_DATE = re.compile(r"%\{x\|([^}]*%[aAbB][^}]*)\}")
_WEEKDAYS = ("chart.mon", "chart.tue", "chart.wed", "chart.thu", "chart.fri", "chart.sat", "chart.sun")


def date_words(day: Any, d3_format: str, lang: str) -> str:
    """One date as a Chinese hover label writes it, with the parts ``d3_format`` names, in
    Chinese order: ``%a %d %b`` -> ``11月23日 周一``; a year when the format has one
    (``2026年11月23日``). (English figures keep plotly's own: :func:`localise` leaves them.)"""
    import pandas as pd

    day = pd.Timestamp(day)
    words = (f"{day.year}年" if "%Y" in d3_format or "%y" in d3_format else "") + f"{day.month}月{day.day}日"
    if re.search(r"%[aA]", d3_format):
        words += " " + i18n.t(_WEEKDAYS[day.weekday()], lang)
    return words


def _named_dates(trace: Any, lang: str) -> None:
    """A trace whose hover writes its date with names (``%{x|%a %d %b}``) reads ``%{hovertext}``
    instead, each point's date in ``lang`` (:func:`date_words`)."""
    hover = getattr(trace, "hovertemplate", None)
    match = _NAMED_DATE.search(hover) if isinstance(hover, str) else None
    if match is None or getattr(trace, "x", None) is None:
        return
    trace.hovertext = [date_words(day, match.group(1), lang) for day in trace.x]
    trace.hovertemplate = _NAMED_DATE.sub("%{hovertext}", hover)


def localise(fig: go.Figure, lang: str) -> go.Figure:
    """``fig`` with its words in ``lang`` (the same figure object, changed in place; English:
    untouched)."""
    if i18n.check(lang) == "en":
        return fig
    layout = fig.layout
    if layout.title and layout.title.text:
        layout.title.text = text(layout.title.text, lang)
    for name in dir(layout):
        if re.fullmatch(r"[xy]axis\d*", name):
            axis = getattr(layout, name)
            if axis is not None and axis.title is not None and axis.title.text:
                axis.title.text = text(axis.title.text, lang)
    for note in layout.annotations or ():
        note.text = text(note.text, lang)
    for trace in fig.data:
        if _is_dates(getattr(trace, "x", None)):
            name = "xaxis" + (getattr(trace, "xaxis", None) or "x")[1:]
            axis = getattr(layout, name, None)
            if axis is not None and not axis.tickformat:
                axis.tickformat = DATE_TICKS_ZH
            if axis is not None and not axis.hoverformat:
                axis.hoverformat = DATE_HOVER_ZH
            _named_dates(trace, lang)
        if getattr(trace, "name", None):
            trace.name = text(trace.name, lang)
        for axis in ("x", "y"):
            if hasattr(trace, axis) and getattr(trace, axis) is not None:
                setattr(trace, axis, _values(getattr(trace, axis), lang))
        hover = getattr(trace, "hovertemplate", None)
        if isinstance(hover, str):
            trace.hovertemplate = _hover(hover, lang)
    return fig
