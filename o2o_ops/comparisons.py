"""Which period a view is compared with: the previous period, the same period last year (ISO-week
aligned), the same holiday last year, or period-to-date against the same span of the period
before. This module only chooses the *dates*; how a maturing KPI is counted in them (e.g. "as it
stood N days after its end", the weekly overview's equal-age comparison) is decided by whoever
computes the numbers, so the two combine.

Modes (the ``?compare=`` link parameter):

- ``previous`` — the period just before: whole calendar months compare with as many months before
  (November with October), anything else with the same number of days just before.
- ``yoy`` — the same ISO weeks and weekdays one ISO year earlier (Monday of 2026-W47 compares with
  Monday of 2025-W47), so weekday mixes match; week 53 falls back to week 52.
- ``holiday`` — when the period holds a public holiday (calendar of the country in the setting
  ``O2O_HOLIDAY_COUNTRY``, from the maintained ``holidays`` package), the same number of days
  placed around that holiday's first day last year as around its first day this year (Spring
  Festival 2026 starts 17 Feb, in 2025 on 29 Jan). Without a holiday in the period: as ``yoy``.
- ``ptd`` — period to date: the calendar month of the period's last day, from its first day up to
  that day, against the same number of days from the first of the month before (1–22 November
  against 1–22 October; a shorter month is cut at its end).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass

import duckdb
import pandas as pd

from o2o_ops import config, coverage, metrics
from o2o_ops.filters import Filters

MODES: dict[str, str] = {
    "previous": "previous period",
    "yoy": "same period last year",
    "holiday": "same holiday last year",
    "ptd": "month to date",
}
DEFAULT = "previous"

_NOT_ANCHORS = re.compile(r"(?i)^day off|\beve\b")
_SUFFIX = re.compile(r"\s*\((observed|substituted[^)]*)\)\s*$", re.I)
_SUBSTITUTED = re.compile(r"substituted from (\d\d)/(\d\d)/(\d{4})")


class UnknownCountry(ValueError):
    """The setting O2O_HOLIDAY_COUNTRY names no country of the holidays package (the message says so)."""


def _calendar(country: str, years):
    import holidays

    try:
        return holidays.country_holidays(country, years=years)
    except NotImplementedError as exc:
        raise UnknownCountry(f"The setting O2O_HOLIDAY_COUNTRY={country} is not a country the holiday "
                             f"calendar knows; whoever runs o2o-ops sets it to an ISO 3166 code such as "
                             f"CN, US or DE.") from exc


@dataclass(frozen=True)
class Comparison:
    mode: str
    current: tuple[dt.date, dt.date]
    previous: tuple[dt.date, dt.date]
    note: str          # how the periods were chosen, in words

    def describe(self, lang: str = "en") -> str:
        (a, b), (c, d) = self.current, self.previous
        from o2o_ops import i18n
        if i18n.check(lang) == "en":
            return f"{a} → {b} against {c} → {d} ({self.note})"
        return i18n.t("compare.describe", lang, current=f"{a} → {b}", previous=f"{c} → {d}",
                      note=note_words(self, lang))


def note_words(comparison: Comparison, lang: str) -> str:
    """How the comparison's periods were chosen, in ``lang`` (the holiday's name as the calendar
    gives it)."""
    from o2o_ops import i18n
    note = comparison.note
    if i18n.check(lang) == "en":
        return note
    fixed = {"the calendar months before": "compare.note_months", "the period of equal length just before":
             "compare.note_equal", "the same ISO weeks and weekdays last year": "compare.note_yoy",
             "month to date against the same days of the month before": "compare.note_mtd",
             "week to date against the same days of the week before": "compare.note_wtd"}
    if note in fixed:
        return i18n.t(fixed[note], lang)
    match = re.match(r"^(.+) starts (.+), last year (.+): the same days around it$", note)
    if match:
        return i18n.t("compare.note_holiday", lang, name=match.group(1), this_year=i18n.format_day(
            dt.datetime.strptime(match.group(2), "%d %b %Y").date(), lang), last_year=i18n.format_day(
            dt.datetime.strptime(match.group(3), "%d %b %Y").date(), lang))
    match = re.match(r"^no holiday of the calendar (.+) starts in this period: the same ISO weeks last year$", note)
    if match:
        return i18n.t("compare.note_no_holiday", lang, country=match.group(1))
    return note


def parse_mode(raw: str | None) -> tuple[str, str | None]:
    """(mode, notice): an unknown link value falls back to the default with a notice."""
    if not raw:
        return DEFAULT, None
    if raw in MODES:
        return raw, None
    return DEFAULT, (f"The link's compare={raw} is not a comparison o2o-ops knows "
                     f"({', '.join(MODES)}); comparing with the {MODES[DEFAULT]}.")


# ------------------------------------------------------------------------------------------
# Periods
# ------------------------------------------------------------------------------------------

def _whole_months(start: dt.date, end: dt.date) -> bool:
    return start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The period just before (see the module docstring)."""
    if _whole_months(start, end):
        n = (end.year - start.year) * 12 + end.month - start.month + 1
        first = _add_months(start, -n)
        return first, start - dt.timedelta(days=1)
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def iso_year_ago(day: dt.date) -> dt.date:
    """The same ISO week and weekday one ISO year earlier (week 53 → week 52)."""
    year, week, weekday = day.isocalendar()
    weeks_before = dt.date(year - 1, 12, 28).isocalendar()[1]   # 28 Dec is always in the last ISO week
    return dt.date.fromisocalendar(year - 1, min(week, weeks_before), weekday)


def same_period_last_year(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    first = iso_year_ago(start)
    return first, first + (end - start)


@functools.lru_cache(maxsize=16)
def holiday_anchors(country: str, year: int) -> dict[str, dt.date]:
    """Holiday name -> its first day in ``year`` (substitute days off, eves and "observed" days do
    not anchor; a holiday of several days anchors on its first)."""
    days = _calendar(country, year)
    anchors: dict[str, dt.date] = {}
    for day, name in sorted(days.items()):
        for one in str(name).split("; "):
            if _NOT_ANCHORS.search(one) or _SUFFIX.search(one):
                continue
            anchors.setdefault(one.strip(), day)
    return anchors


def days_off(listed) -> set[dt.date]:
    """The days of a break: the calendar's (``listed``, a ``holidays`` calendar) and the weekend
    days next to them, unless a weekend day is a working day swapped for one ("substituted from"
    that date). The package lists the weekdays off only: China's National Day 2026 is 1-3 and 5-7
    October there, but Sunday 4 October is as much the holiday (1-7 off, Sunday 20 September and
    Saturday 10 October worked); Spring Festival 2026 is 15-23 February. A calendar without swapped
    days (the United States', Germany's) is not arranged in breaks: its days stay as listed, no
    long weekend added."""
    working = {dt.date(int(y), int(m), int(d)) for name in listed.values()
               for m, d, y in _SUBSTITUTED.findall(str(name))}
    off = set(listed)
    if not working:
        return off
    grown = True
    while grown:
        extra = {d + dt.timedelta(days=step) for d in off for step in (-1, 1)}
        extra = {d for d in extra if d.isoweekday() >= 6 and d not in off and d not in working}
        off |= extra
        grown = bool(extra)
    return off


def holiday_days(start: dt.date, end: dt.date, country: str | None = None) -> set[dt.date]:
    """Every day of a public holiday's break from ``start`` to ``end`` (:func:`days_off`: days
    off and the weekend around them included)."""
    country = country or config.get("O2O_HOLIDAY_COUNTRY")
    listed = _calendar(country, range(start.year - 1, end.year + 2))   # a break may cross new year
    return {day for day in days_off(listed) if start <= day <= end}


def holiday_in(start: dt.date, end: dt.date, country: str) -> tuple[str, dt.date] | None:
    """The first holiday whose first day falls in the period: (name, first day)."""
    found = []
    for year in range(start.year, end.year + 1):
        found += [(day, name) for name, day in holiday_anchors(country, year).items() if start <= day <= end]
    if not found:
        return None
    day, name = min(found)
    return name, day


def holiday_aligned(start: dt.date, end: dt.date, country: str) -> tuple[tuple[dt.date, dt.date], str]:
    """The period placed around last year's date of the holiday in it, and the note saying so;
    ISO-aligned last year when no holiday falls in the period."""
    found = holiday_in(start, end, country)
    if found is not None:
        name, anchor = found
        before = holiday_anchors(country, anchor.year - 1).get(name)
        if before is not None:
            first = before + (start - anchor)
            return (first, first + (end - start)), (f"{name} starts {anchor:%-d %b %Y}, last year "
                                                    f"{before:%-d %b %Y}: the same days around it")
    return same_period_last_year(start, end), ("no holiday of the calendar "
                                               f"{country} starts in this period: the same ISO weeks last year")


def period_to_date(end: dt.date, grain: str = "month") -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(this month — or ISO week — up to ``end``, the same number of days from the start of the
    one before, cut at its end)."""
    if grain == "week":
        first = end - dt.timedelta(days=end.isoweekday() - 1)
        before = first - dt.timedelta(days=7)
    else:
        first = end.replace(day=1)
        before = _add_months(first, -1)
    last_before = first - dt.timedelta(days=1)
    return (first, end), (before, min(before + (end - first), last_before))


def compare(mode: str, start: dt.date, end: dt.date, *, country: str | None = None,
            grain: str = "month") -> Comparison:
    """The current and the comparison period of ``start``..``end`` under ``mode`` (``grain``:
    what "to date" counts from in ``ptd``: the month, or the ISO week on the weekly overview)."""
    if start > end:
        raise ValueError(f"The period runs backwards ({start} → {end}).")
    if mode == "previous":
        return Comparison(mode, (start, end), previous_period(start, end),
                          "the calendar months before" if _whole_months(start, end)
                          else "the period of equal length just before")
    if mode == "yoy":
        return Comparison(mode, (start, end), same_period_last_year(start, end),
                          "the same ISO weeks and weekdays last year")
    if mode == "holiday":
        previous, note = holiday_aligned(start, end, country or config.get("O2O_HOLIDAY_COUNTRY"))
        return Comparison(mode, (start, end), previous, note)
    if mode == "ptd":
        current, previous = period_to_date(end, grain)
        return Comparison(mode, current, previous, f"{grain} to date against the same days of the {grain} before")
    raise ValueError(f"unknown comparison {mode!r}; one of {', '.join(MODES)}")


def label(comparison: Comparison, lang: str = "en") -> str:
    """A short name for the comparison's line on a chart ("2025-W36 → 2025-W48" style dates)."""
    from o2o_ops import i18n
    first, last = comparison.previous
    if i18n.check(lang) == "en":
        return f"{MODES[comparison.mode].capitalize()} ({first:%-d %b %Y} → {last:%-d %b %Y})"
    return (f"{i18n.t(f'compare.{comparison.mode}', lang)}（{i18n.format_day(first, lang)} → "
            f"{i18n.format_day(last, lang)}）")


def weekly_overlay(con: duckdb.DuckDBPyConnection, filters: Filters, names: tuple[str, ...], mode: str, *,
                   country: str | None = None) -> pd.DataFrame:
    """The comparison period's weekly KPIs placed on the current period's weeks, for a dotted line
    beside the weekly trend: each comparison week moves by the distance between the two periods'
    starts, to the nearest Monday. Empty for ``ptd`` (a to-date comparison has no weekly trend)
    and without both dates."""
    columns = ["week_start", *names]
    if mode == "ptd" or not (filters.start and filters.end):
        return pd.DataFrame(columns=columns)
    cmp = compare(mode, filters.start, filters.end, country=country)
    df = metrics.compute(con, filters.replace(start=cmp.previous[0], end=cmp.previous[1]), "week", names)
    if df.empty:
        return pd.DataFrame(columns=columns)
    shift = pd.Timedelta(days=(cmp.current[0] - cmp.previous[0]).days)
    moved = pd.to_datetime(df["week_start"]) + shift + pd.Timedelta(days=3)
    df["week_start"] = moved - pd.to_timedelta(moved.dt.day_of_week, unit="D")
    return df[columns].reset_index(drop=True)


def period_values(con: duckdb.DuckDBPyConnection, filters: Filters, mode: str, start: dt.date, end: dt.date,
                  names: tuple[str, ...], *, grain: str = "month",
                  country: str | None = None) -> tuple[Comparison, pd.Series, pd.Series]:
    """(the comparison, the KPIs over its current period, over its comparison period); a period
    without orders gives missing values, never zeros."""
    cmp = compare(mode, start, end, country=country, grain=grain)
    out = []
    for first, last in (cmp.current, cmp.previous):
        df = metrics.compute(con, filters.replace(start=first, end=last), "total", names)
        out.append(df.iloc[0] if not df.empty else pd.Series({n: float("nan") for n in names}))
    # a provisional period's maturing KPIs against the comparison period as it stood at the same
    # age (its vouchers used and reviewed as long after its end as the current period's so far)
    young, cutoff = coverage.equal_age(con, filters.replace(start=cmp.current[0], end=cmp.current[1]), names,
                                       cmp.previous[1])
    if young and cutoff is not None:
        aged = metrics.compute(con, filters.replace(start=cmp.previous[0], end=cmp.previous[1]), "total", young,
                               as_of=cutoff)
        if not aged.empty:
            out[1] = out[1].copy()
            for n in young:
                out[1][n] = aged.iloc[0][n]
    return cmp, out[0], out[1]
