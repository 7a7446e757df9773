"""The executive week: which ISO weeks the data holds, the last complete one, its headline KPIs
against the week before with 13-week series, the best and worst stores, the symmetry attention
list and a written summary in plain sentences.

Every number comes from :func:`o2o_ops.metrics.compute` (the registry); this module only picks
weeks, ranks, flags and words. The week sets the dates: a filter's ``start``/``end`` are
replaced by the week's Monday..Sunday, every other filter applies unchanged.

Thresholds (stated on the page and in the report):
- a store is ranked (best/worst, attention list, store drivers) only with at least
  ``O2O_MIN_REVIEWS`` reviews of orders placed in the week (:func:`review_floor`), so one angry
  review cannot make a store "worst of the week";
- a store needs attention under the one attention rule (:mod:`o2o_ops.attention`), its index
  fall measured over the four weeks ending with the week's Sunday.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Sequence

import duckdb
import numpy as np
import pandas as pd

from o2o_ops import attention, config, coverage, db, i18n, metrics, symmetry, targets, units
from o2o_ops.filters import Filters

TREND_WEEKS = 13
RANK_SIZE = 5
ATTENTION_SIZE = 10

# store-grain KPIs behind the rankings and the attention list
STORE_KPIS = ("symmetry_index", "avg_rating", "reviews", "orders", "revenue", "rating_gap",
              "wait_gap_minutes", "as_described_rate", "complaint_rate", "refund_rate")
RANKINGS = ("symmetry_index", "avg_rating")
# headline KPIs summed from the order rollup alone (no costs, no order-grain medians): cheap to add
# to the week's store rows, which then also serve the written summary's "by store" drivers
DRIVER_STORE_KPIS = tuple(n for n in metrics.HEADLINE
                          if metrics.KPIS[n].sources == {"o"} and n not in STORE_KPIS)

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


# ------------------------------------------------------------------------------------------
# Weeks
# ------------------------------------------------------------------------------------------

def sunday_on_or_before(day: dt.date) -> dt.date:
    """The Sunday that ends the last complete ISO week on or before ``day`` (``day`` itself when it
    is a Sunday): the one rule for "complete weeks" used by the pages, the summary and the alerts."""
    return day - dt.timedelta(days=day.isoweekday() % 7)


@dataclass(frozen=True, order=True)
class Week:
    """One ISO week (Monday start), identified by its Monday."""

    start: dt.date

    @classmethod
    def of(cls, day: dt.date) -> "Week":
        day = pd.Timestamp(day).date()
        return cls(day - dt.timedelta(days=day.isoweekday() - 1))

    @classmethod
    def parse(cls, text: str) -> "Week":
        """``2026-W47`` (or ``2026W47``) -> Week; ValueError with a readable message otherwise."""
        match = _WEEK_RE.match(text or "")
        if not match:
            raise ValueError(f"{text!r} is not an ISO week like 2026-W47.")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            return cls(dt.date.fromisocalendar(year, number, 1))
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO week: {year} has no week {number}.") from None

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=6)

    @property
    def iso(self) -> str:
        year, number, _ = self.start.isocalendar()
        return f"{year}-W{number:02d}"

    @property
    def label(self) -> str:
        """``2026-W47 (16 Nov – 22 Nov 2026)``."""
        return f"{self.iso} ({self.start:%-d %b} – {self.end:%-d %b %Y})"

    def label_in(self, lang: str = "en") -> str:
        """:attr:`label` in ``lang``: ``2026-W47（11月16日 – 2026年11月22日）``."""
        if i18n.check(lang) == "en":
            return self.label
        return f"{self.iso}（{self.start.month}月{self.start.day}日 – {i18n.format_day(self.end, lang)}）"

    @property
    def previous(self) -> "Week":
        return self.minus(1)

    def minus(self, weeks: int) -> "Week":
        return Week(self.start - dt.timedelta(weeks=weeks))

    def filters(self, filters: Filters) -> Filters:
        """``filters`` with the dates replaced by this week's Monday..Sunday."""
        return filters.replace(start=self.start, end=self.end)


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[dt.date | None, dt.date | None]:
    """First and last order date in the warehouse. Grain: one row for the whole warehouse."""
    df = db.run(con, "SELECT min(date) AS first_date, max(date) AS last_date FROM rollup_day_store_channel_campaign")
    first, last = df.iat[0, 0], df.iat[0, 1]
    if first is None or pd.isna(first):
        return None, None
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


latest_order = coverage.latest_order


def week_age_days(week: "Week", as_of: dt.datetime | None) -> int | None:
    """Whole days from the week's Sunday to the newest order (0: the data ends on that Sunday;
    negative: the week is not over in the data)."""
    return None if as_of is None else (as_of.date() - week.end).days


def is_provisional(week: "Week", as_of: dt.datetime | None) -> bool:
    """Whether the week's vouchers can still be used or reviewed: the data ends less than
    O2O_MATURITY_DAYS after its Sunday."""
    age = week_age_days(week, as_of)
    return age is not None and age < coverage.maturity_days()


def equal_age_cutoff(week: "Week", as_of: dt.datetime | None) -> dt.datetime | None:
    """The moment at which the week before was as old as ``week`` is now (``as_of`` − 7 days), when
    ``week`` is provisional: its maturing KPIs are compared with the week before as it stood then."""
    if as_of is None or not is_provisional(week, as_of):
        return None
    return coverage.equal_age_moment(as_of, week.end, week.previous.end)


def maturing(names: Sequence[str]) -> list[str]:
    """The KPIs of ``names`` that keep changing after the period (Kpi.matures)."""
    return [n for n in names if metrics.KPIS[n].matures]


def weeks_between(first: dt.date | None, last: dt.date | None) -> list[Week]:
    """Every ISO week touching first..last, newest first."""
    if first is None or last is None:
        return []
    out, week = [], Week.of(last)
    while week.end >= first:
        out.append(week)
        week = week.previous
    return out


def last_complete_week(first: dt.date | None, last: dt.date | None) -> Week | None:
    """The newest week whose Sunday is on or before the last order date (else the newest week)."""
    if last is None:
        return None
    week = Week.of(last)
    if last < week.end and week.previous.end >= first:
        week = week.previous
    return week


def weeks_in_data(con: duckdb.DuckDBPyConnection) -> list[Week]:
    return weeks_between(*data_span(con))


def default_week(con: duckdb.DuckDBPyConnection) -> Week | None:
    return last_complete_week(*data_span(con))


def resolve_week(text: str | None, weeks: Sequence[Week], default: Week | None,
                 lang: str = "en") -> tuple[Week | None, str | None]:
    """The week a user asked for, or ``default`` with a notice saying why it was not used."""
    if not text:
        return default, None
    try:
        week = Week.parse(text)
    except ValueError as exc:
        if i18n.check(lang) != "en":
            return default, i18n.t("weekly.bad_week", lang, value=text, default=default.iso if default else "—")
        return default, f"{exc} Showing {default.iso if default else 'the default week'} instead."
    if week not in weeks:
        if i18n.check(lang) != "en":
            return default, i18n.t("weekly.week_outside", lang, week=week.iso, default=default.iso if default else "—",
                                   span=f"{weeks[-1].iso} → {weeks[0].iso}" if weeks else "—")
        span = f"{weeks[-1].iso} → {weeks[0].iso}" if weeks else "no weeks"
        return default, (f"Week {week.iso} is outside the data ({span}); showing "
                         f"{default.iso if default else 'the default week'} instead.")
    return week, None


# ------------------------------------------------------------------------------------------
# Numbers
# ------------------------------------------------------------------------------------------

def weekly_series(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week,
                  names: Sequence[str] = metrics.HEADLINE, weeks: int = TREND_WEEKS) -> pd.DataFrame:
    """Headline KPIs for the ``weeks`` weeks ending with ``week``: exactly one row per week, oldest
    first (``week_start``, ``iso_week``, one column per KPI); a week with no orders has NaN."""
    first = week.minus(weeks - 1)
    # the review count comes along: it says why a rating is withheld (week_notes)
    asked = list(dict.fromkeys([*names, "reviews"]))
    df = metrics.compute(con, filters.replace(start=first.start, end=week.end), "week", asked)
    frame = pd.DataFrame({"week_start": [first.start + dt.timedelta(weeks=i) for i in range(weeks)]})
    frame["iso_week"] = [Week(d).iso for d in frame["week_start"]]
    if not df.empty:
        df = df.assign(week_start=pd.to_datetime(df["week_start"]).dt.date).drop(columns=["iso_week"])
        frame = frame.merge(df, on="week_start", how="left")
    for name in asked:
        if name not in frame:
            frame[name] = float("nan")
    frame[asked] = frame[asked].astype("float64")
    return frame


def _typical_swing(values: pd.Series | np.ndarray) -> float | None:
    """Median absolute week-over-week change over the weeks before the last one."""
    diffs = np.abs(np.diff(np.asarray(values, dtype="float64")[:-1]))
    diffs = diffs[~np.isnan(diffs)]
    if len(diffs) < 3:
        return None
    swing = float(np.median(diffs))
    return swing if swing > 0 else None


def equal_age_previous(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week,
                       names: Sequence[str] = metrics.HEADLINE, as_of: dt.datetime | None = None) -> dict[str, float]:
    """The week before's maturing KPIs of ``names`` as they stood at :func:`equal_age_cutoff`
    (its redemptions, reviews and refunds up to the same age as ``week``'s); empty when ``week``
    is not provisional. Grain: one total for the previous week under ``filters``."""
    cutoff = equal_age_cutoff(week, as_of)
    names = maturing(names)
    if cutoff is None or not names:
        return {}
    df = metrics.compute(con, week.previous.filters(filters), "total", names, as_of=cutoff)
    if df.empty:
        return {n: float("nan") for n in names}
    return {n: float(df[n].iloc[0]) if not units.is_missing(df[n].iloc[0]) else float("nan") for n in names}


def week_notes(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week, series: pd.DataFrame,
               names: Sequence[str] = metrics.HEADLINE) -> dict[str, str]:
    """KPI -> why the week shows no value ("not provided: no costs imported", "too few reviews (2)")."""
    last = series.tail(1).reset_index(drop=True)
    if last.empty:
        return {}
    return metrics.notes(con, last, week.filters(filters), "total", names)[0]


def headline_cards(series: pd.DataFrame, names: Sequence[str] = metrics.HEADLINE, *,
                   previous: dict[str, float] | None = None, provisional: bool = False,
                   notes: dict[str, str] | None = None, lang: str = "en") -> pd.DataFrame:
    """One row per KPI (index = KPI name) for the series' last week: value, previous, change,
    relative change, whether the change is good, formatted texts, the 13-week values without
    the weeks that have none (``spark``), and
    ``swing`` = |change| / the KPI's typical weekly move (how unusual this week's move is).

    ``previous`` replaces the week before's value of some KPIs (:func:`equal_age_previous`: the
    week before at the same age; ``equal_age`` is then true); with ``provisional``, the maturing
    KPIs are marked ``provisional``; ``note`` holds why a blank value is blank (:func:`week_notes`)."""
    rows = []
    previous, notes = previous or {}, notes or {}
    for name in names:
        kpi = metrics.KPIS[name]
        values = series[name].to_numpy(dtype="float64", na_value=np.nan)   # numpy: 8 KPIs x 13 weeks
        value = values[-1] if len(values) else float("nan")
        prev = values[-2] if len(values) > 1 else float("nan")
        equal_age = name in previous
        if equal_age:
            prev = previous[name]
        change = value - prev
        rel = change / abs(prev) if not units.is_missing(change) and not units.is_missing(prev) and prev != 0 else float("nan")
        typical = _typical_swing(values)
        if units.is_missing(change):
            swing = float("nan")
        elif typical:
            swing = abs(change) / typical
        else:
            swing = abs(rel) if not units.is_missing(rel) else float("nan")
        rows.append({
            "name": name, "label": i18n.kpi_label(name, lang), "unit": kpi.unit, "value": value, "previous": prev,
            "change": change, "change_pct": rel, "swing": swing,
            "is_good": metrics.is_good_change(name, None if units.is_missing(change) else float(change)),
            "value_text": units.format_value(value, kpi.unit, lang=lang),
            "change_text": units.format_change(change, kpi.unit, lang=lang),
            "spark": [float(v) for v in values if not units.is_missing(v)],  # st.metric sparklines take no gaps
            "provisional": bool(provisional and kpi.matures), "equal_age": equal_age,
            "note": i18n.note(notes.get(name), lang) or "",
        })
    return pd.DataFrame(rows).set_index("name", drop=False)


def store_week(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week,
               extra: Sequence[str] = ()) -> pd.DataFrame:
    """Store-grain KPIs (:data:`STORE_KPIS`, then ``extra``) for the week, one row per store with orders."""
    return metrics.compute(con, week.filters(filters), "store", list(dict.fromkeys([*STORE_KPIS, *extra])))


def with_index_trend(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week,
                     stores: pd.DataFrame) -> pd.DataFrame:
    """The week's store rows with each store's symmetry-index fall over the four weeks ending
    with the week's Sunday (``index_before``, ``index_recent``, ``index_drop``), which the
    attention rule judges."""
    if stores.empty:
        return stores
    trend = symmetry.index_trend(con, filters.replace(start=None, end=None), week.end)
    return stores.merge(trend, on="store_id", how="left")


def review_floor(min_reviews: int | None = None) -> int:
    """``min_reviews`` if given, else the setting O2O_MIN_REVIEWS: reviews a store needs to be ranked."""
    return int(min_reviews) if min_reviews is not None else config.get_int("O2O_MIN_REVIEWS")


def store_view_url(store_id: str, week: "Week | None" = None) -> str:
    """The link to one store's symmetry view (the symmetry page reads ``store`` from the URL), over
    ``week`` when given: its Monday..Sunday as the link's dates, and the week itself (``week``) so
    that the overview, reached back from there, shows the same week."""
    return "./symmetry?" + urllib.parse.urlencode(store_view_params(store_id, week))


def store_view_params(store_id: str, week: "Week | None" = None) -> dict[str, str]:
    """The query parameters of :func:`store_view_url` (for a page switch that carries them)."""
    params = {"store": store_id}
    if week is not None:
        params |= {"from": week.start.isoformat(), "to": week.end.isoformat(), "week": week.iso}
    return params


def ranked_stores(stores: pd.DataFrame, by: str, *, min_reviews: int | None = None,
                  size: int = RANK_SIZE, week: Week | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(best, worst) stores of the week by KPI ``by``, among stores with ``min_reviews`` reviews.

    With fewer than 2 x ``size`` eligible stores the two lists split them (best gets the extra
    one) so that no store is both best and worst. Ties break by store_id.
    """
    cols = ["store_id", "store_name", by, "reviews", "store_city", "store_category", "view"]
    eligible = None if stores.empty else stores["reviews"].fillna(0) >= review_floor(min_reviews)
    if eligible is None or not eligible.any():
        empty = pd.DataFrame(columns=cols)
        return empty, empty.copy()
    # only the columns shown are sorted and cut (the week's rows carry two dozen)
    pool = stores.loc[eligible & stores[by].notna(), list(dict.fromkeys(cols[:-1]))]
    higher = metrics.KPIS[by].higher_is_better is not False
    ordered = pool.sort_values([by, "store_id"], ascending=[not higher, True], kind="mergesort")
    n_worst = min(size, len(ordered) // 2)
    n_best = min(size, len(ordered) - n_worst)
    best = ordered.head(n_best).reset_index(drop=True)
    worst = ordered.iloc[::-1].head(n_worst) if n_worst else ordered.head(0)
    worst = worst.sort_values([by, "store_id"], ascending=[higher, True], kind="mergesort").reset_index(drop=True)
    # links only for the rows shown (thousands of stores at scale)
    return tuple(part.assign(view=[store_view_url(s, week) for s in part["store_id"]])[cols]
                 for part in (best, worst))


def attention_list(stores: pd.DataFrame, *, min_reviews: int | None = None,
                   size: int = ATTENTION_SIZE, lang: str = "en", week: Week | None = None) -> pd.DataFrame:
    """Stores of the week that need attention under the one attention rule
    (:mod:`o2o_ops.attention`, review floor ``min_reviews`` or the setting's), most urgent first.
    An index fall is judged where ``stores`` carries ``index_drop`` (:func:`build` adds it)."""
    cols = ["store_id", "store_name", "rating_gap", "wait_gap_minutes", "listed_rating", "avg_rating",
            "symmetry_index", "as_described_rate", "reviews", "reason", "store_city", "store_category", "view"]
    if stores.empty:
        return pd.DataFrame(columns=cols)
    flagged = attention.attention_rows(stores, attention.Rule.from_settings(min_reviews=min_reviews), lang)
    if flagged.empty:
        return pd.DataFrame(columns=cols)
    shown = flagged.head(size).reset_index(drop=True)
    return shown.assign(view=[store_view_url(s, week) for s in shown["store_id"]])[cols]


# ------------------------------------------------------------------------------------------
# Written summary
# ------------------------------------------------------------------------------------------

# dimensions searched for "where did it move"; (grain, column with the group's name, words)
DRIVER_DIMS = (("city", "city", "city"), ("category", "category", "category"), ("store", "store_id", "store"))


def is_additive(name: str) -> bool:
    """A KPI that is a plain sum (its groups add up to the total): no division, no median."""
    return metrics.KPIS[name].is_additive


def _reusable(stores: pd.DataFrame | None, name: str) -> bool:
    """Whether the week's store rows (:func:`store_week`) already hold KPI ``name`` by store: the
    same rows metrics.compute would return, since without costs its groups are the stores with orders."""
    return (stores is not None and not stores.empty and {name, "reviews"} <= set(stores.columns)
            and "k" not in metrics.KPIS[name].sources)


def group_changes(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week, name: str, grain: str,
                  stores: pd.DataFrame | None = None, *, previous_as_of: dt.datetime | None = None) -> pd.DataFrame:
    """KPI ``name`` by ``grain`` in ``week`` and the week before: one row per group with
    ``value``, ``previous``, ``change`` and the two weeks' ``reviews``. ``stores`` = the week's
    :func:`store_week` rows, reused for the store grain when they hold ``name``. With
    ``previous_as_of``, a maturing KPI's week before is taken as it stood then (equal age)."""
    names = list(dict.fromkeys([name, "reviews"]))
    if grain == "store" and _reusable(stores, name):
        now = stores
    else:
        now = metrics.compute(con, week.filters(filters), grain, names)
    as_of = previous_as_of if metrics.KPIS[name].matures else None
    before = metrics.compute(con, week.previous.filters(filters), grain, names, as_of=as_of)
    return _changes(now, before, name, grain)


def group_changes_by(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week, name: str,
                     grains: Sequence[str], stores: pd.DataFrame | None = None, *,
                     previous_as_of: dt.datetime | None = None) -> dict[str, pd.DataFrame]:
    """:func:`group_changes` at each of ``grains``: grain -> its frame. Where the KPI allows it
    (:func:`metrics.stackable`), every grain's groups come from two queries, one per week
    (:func:`metrics.compute_stacked`), instead of two per grain."""
    if not grains:
        return {}
    if not metrics.stackable([name, "reviews"], grains):
        return {g: group_changes(con, filters, week, name, g, stores, previous_as_of=previous_as_of) for g in grains}
    names = list(dict.fromkeys([name, "reviews"]))
    as_of = previous_as_of if metrics.KPIS[name].matures else None
    now = metrics.compute_stacked(con, week.filters(filters), grains, names)
    before = metrics.compute_stacked(con, week.previous.filters(filters), grains, names, as_of=as_of)
    named = None
    if "store" in grains:   # the names compute() gives a store-grain row (from the stores table)
        named = db.run(con, "SELECT store_id, name AS store_name, city AS store_city FROM stores")
    out = {}
    for grain in grains:
        key = metrics.GRAINS[grain][-1][0]
        parts = []
        for frame in (now, before):
            part = frame[frame["grain"] == grain].drop(columns=["grain"]).rename(columns={"grp": key})
            if grain == "store" and not part.empty:
                part = part.merge(named, on="store_id", how="left")
            parts.append(part.reset_index(drop=True))
        out[grain] = _changes(*parts, name, grain)
    return out


def _changes(now: pd.DataFrame, before: pd.DataFrame, name: str, grain: str) -> pd.DataFrame:
    """The two weeks' rows of KPI ``name`` at ``grain`` side by side (see :func:`group_changes`)."""
    key = metrics.GRAINS[grain][-1][0]
    keep = [key, name, "reviews"] + (["store_name", "store_city"] if grain == "store" else [])
    now = now[[c for c in keep if c in now]] if not now.empty else pd.DataFrame(columns=keep)
    named = ["store_name", "store_city"] if grain == "store" else []
    before = before[[key, name, "reviews", *named]] if not before.empty \
        else pd.DataFrame(columns=[key, name, "reviews", *named])
    out = now.merge(before, on=key, how="outer", suffixes=("", "_prev"))
    for col in named:   # a store with orders only in the week before is named from that week
        if col in out and f"{col}_prev" in out:
            out[col] = out[col].where(out[col].notna(), out[f"{col}_prev"])
            out = out.drop(columns=[f"{col}_prev"])
    out = out.rename(columns={name: "value", f"{name}_prev": "previous", key: "group"})
    for col in ("value", "previous", "reviews", "reviews_prev"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    if is_additive(name):
        out[["value", "previous"]] = out[["value", "previous"]].fillna(0.0)
    out["change"] = out["value"] - out["previous"]
    return out


def _group_name(row: pd.Series, grain: str, lang: str = "en") -> str:
    if grain == "store":
        return f"{row.get('store_name') or row['group']} ({row['group']}, {row.get('store_city') or '?'})"
    if grain == "category":   # in words, as the filters and tables name it: "car rental", not "car_rental"
        label = str(i18n.value_label("category", row["group"], lang))
        return _lower(label) if i18n.check(lang) == "en" else label
    return str(row["group"])


# the filter field that pins a driver dimension to one group when it holds one value
_PINNED_BY = {"city": "cities", "category": "categories"}


def _drivers(con, filters: Filters, week: Week, name: str, change: float, min_reviews: int,
             stores: pd.DataFrame | None = None, previous_as_of: dt.datetime | None = None,
             lang: str = "en") -> list[str]:
    """Phrases naming the city, category and store that drove ``change`` in KPI ``name``."""
    kpi = metrics.KPIS[name]
    phrases = []
    # one city (category) in the filters: a single group, nothing to compare
    grains = [g for g, _, _ in DRIVER_DIMS if not (g in _PINNED_BY and len(getattr(filters, _PINNED_BY[g])) == 1)]
    changes = group_changes_by(con, filters, week, name, grains, stores, previous_as_of=previous_as_of)
    for grain in grains:
        groups = changes[grain]
        if grain != "store" and groups["group"].nunique() < 2:
            continue  # the filters already pin this dimension
        if not is_additive(name):
            groups = groups[(groups["reviews"].fillna(0) >= min_reviews)
                            & (groups["reviews_prev"].fillna(0) >= min_reviews)]
        groups = groups[groups["change"].notna() & (groups["change"] * change > 0)]
        if groups.empty:
            continue
        top = groups.loc[groups["change"].abs().idxmax()]
        who = _group_name(top, grain, lang)
        dim = i18n.t(f"weekly.dim_{grain}", lang)
        if is_additive(name):
            share = top["change"] / change
            phrases.append(i18n.t("weekly.driver_share", lang, dim=dim, who=who,
                                  change=units.format_change(top["change"], kpi.unit, lang=lang),
                                  share=units.format_share(share)))
        else:
            phrases.append(i18n.t("weekly.driver_move", lang, dim=dim, who=who,
                                  before=units.format_value(top["previous"], kpi.unit, lang=lang),
                                  after=units.format_value(top["value"], kpi.unit, lang=lang)))
    return phrases


def _lower(label: str) -> str:
    """``Average rating`` -> ``average rating``; acronyms (``ROI``) and Chinese stay."""
    return label if label[1:2].isupper() or not label.isascii() else label[:1].lower() + label[1:]


def _list_words(items: list[str], lang: str = "en") -> str:
    if len(items) <= 1:
        return "".join(items)
    return i18n.t("weekly.list_separator", lang).join(items[:-1]) + i18n.t("weekly.list_and", lang) + items[-1]


def _relative_words(card: pd.Series, prev: Week, lang: str = "en") -> str:
    """" (+12.5%)" after a figure, " (none in 2026-W46)" when the previous week had none (a
    relative change is not defined), or nothing when the previous value is missing."""
    change = card["change_pct"]
    if not units.is_missing(change):
        return i18n.t("weekly.relative", lang, change=units.format_relative(change))
    if not units.is_missing(card["previous"]) and card["previous"] == 0:
        return i18n.t("weekly.none_in", lang, week=prev.iso)
    return ""


def _provisional_words(week: Week, as_of: dt.datetime | None, cards: pd.DataFrame, lang: str = "en") -> str:
    """The sentence saying the week is provisional and how its maturing KPIs are compared."""
    age = week_age_days(week, as_of)
    if age is None or not is_provisional(week, as_of):
        return ""
    zh = i18n.check(lang) != "en"
    if age < 0:
        ends = i18n.t("weekly.ends_before", lang, day=i18n.format_day(as_of, lang) if zh else f"{as_of:%a %-d %b %Y}")
    elif age == 0:
        ends = i18n.t("weekly.ends_sunday", lang, day=i18n.format_day(as_of, lang) if zh else f"{as_of:%-d %b %Y}")
    else:
        ends = i18n.t("weekly.ends_after_one" if age == 1 else "weekly.ends_after", lang, age=age,
                      day=i18n.format_day(as_of, lang) if zh else f"{as_of:%-d %b %Y}")
    marked = cards[cards["provisional"] & (cards["note"] == "")] if "provisional" in cards else cards.head(0)
    labels = [_lower(l) for l in marked["label"]]
    text = i18n.t("weekly.provisional", lang, week=week.iso, ends=ends)
    if labels:
        text += i18n.t("weekly.provisional_compared", lang, labels=_list_words(labels, lang), previous=week.previous.iso)
    return text + i18n.t("frame.sentence_end", lang)


def unjudged_reason(stores: pd.DataFrame, rule: attention.Rule, cards: pd.DataFrame, lang: str = "en") -> str | None:
    """Why the attention rule could judge no store of the week (:func:`o2o_ops.attention.none_judged`),
    in ``lang``: the reviews it counts were never provided (the detail of the average rating's
    card note, "no reviews imported"), or every store had fewer than the floor. None when some store
    was judged, or the week has no store."""
    if not attention.none_judged(stores, rule):
        return None
    note = cards.at["avg_rating", "note"] if "avg_rating" in cards.index and "note" in cards else ""
    head, detail = i18n.split_note(note or "")
    if head == i18n.t("note.not_provided", lang) and detail:
        return detail
    return too_few_everywhere(rule, lang)


def too_few_everywhere(rule: attention.Rule, lang: str = "en") -> str:
    """Why the rule judged no store of a week that had reviews, in ``lang``: "every store had fewer
    than 5 reviews" ("no store had a review" under a floor of one)."""
    if rule.min_reviews <= 1:
        return i18n.t("weekly.no_review_anywhere", lang)
    return i18n.t("weekly.too_few_everywhere", lang, min_reviews=rule.min_reviews)


def written_summary(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week, *,
                    series: pd.DataFrame | None = None, cards: pd.DataFrame | None = None,
                    stores: pd.DataFrame | None = None, min_reviews: int | None = None,
                    needing: pd.DataFrame | None = None, goals: pd.DataFrame | None = None,
                    as_of: dt.datetime | None = None, lang: str = "en") -> list[str]:
    """Plain sentences with the numbers (in ``lang``): the week's volume, what moved most week over week and
    where (city, category, store), what else got better or worse, and which stores need attention.

    ``series``/``cards``/``stores`` may be passed in when already computed (see :func:`build`), and
    so may the week's attention list (``needing``: :func:`attention_list` of ``stores``, its first
    three are named) and targets (``goals``: ``targets.attainment_table`` for the week), and the
    latest order (``as_of``: :func:`latest_order`).
    """
    filters = filters.replace(start=None, end=None)
    as_of = latest_order(con) if as_of is None else as_of
    cutoff = equal_age_cutoff(week, as_of)
    series = weekly_series(con, filters, week) if series is None else series
    if cards is None:
        cards = headline_cards(series, previous=equal_age_previous(con, filters, week, as_of=as_of),
                               provisional=is_provisional(week, as_of),
                               notes=week_notes(con, filters, week, series), lang=lang)

    def t(key: str, **values: Any) -> str:
        return i18n.t(f"weekly.{key}", lang, **values)

    prev = week.previous
    label = week.label_in(lang)
    orders, revenue = cards.loc["orders"], cards.loc["revenue"]
    if pd.isna(orders["value"]) or orders["value"] == 0:
        return [t("no_orders", week=label, filters=filters.describe(lang))]
    min_reviews = review_floor(min_reviews)
    stores = with_index_trend(con, filters, week, store_week(con, filters, week)) if stores is None else stores
    sentences = []
    if pd.isna(orders["previous"]) or orders["previous"] == 0:
        sentences.append(t("volume_alone", week=label, orders=orders["value_text"], revenue=revenue["value_text"],
                           previous=prev.iso))
    else:
        sentences.append(t("volume", week=label, orders=orders["value_text"],
                           orders_change=units.format_relative(orders["change_pct"]), previous=prev.iso,
                           revenue=revenue["value_text"], revenue_change=_relative_words(revenue, prev, lang)))
        age_words = _provisional_words(week, as_of, cards, lang)
        if age_words:
            sentences.append(age_words)
        # a provisional KPI moves only against the week before at equal age, never against its final value
        comparable = ~cards["provisional"] | cards["equal_age"] if "provisional" in cards else True
        moved = cards[cards["swing"].notna() & (cards["change"] != 0) & comparable].sort_values("swing", ascending=False)
        if not moved.empty:
            top = moved.iloc[0]
            verdict = t({True: "improvement", False: "deterioration", None: "neutral"}[top["is_good"]])
            sentence = t("biggest_move", label=_lower(top["label"]),
                         before=units.format_value(top["previous"], metrics.KPIS[top["name"]].unit, lang=lang),
                         after=top["value_text"], change=top["change_text"], verdict=verdict)
            drivers = _drivers(con, filters, week, top["name"], top["change"], min_reviews, stores,
                               previous_as_of=cutoff if top.get("equal_age") else None, lang=lang)
            if drivers:
                sentence += t("moved_most", drivers=_list_words(drivers, lang))
            sentences.append(sentence)
            rest = moved.iloc[1:]
            for good, key in ((False, "also_worse"), (True, "better")):
                part = rest[rest["is_good"] == good].head(3)  # noqa: E712 - is_good holds True/False/None
                if not part.empty:
                    items = [t("moved_item", label=_lower(r["label"]), change=r["change_text"])
                             for _, r in part.iterrows()]
                    sentences.append(t(key, previous=prev.iso, items=_list_words(items, lang)))
    age_words = _provisional_words(week, as_of, cards, lang)
    if age_words and age_words not in sentences:
        sentences.append(age_words)
    needing = (attention_list(stores, min_reviews=min_reviews, size=3, lang=lang) if needing is None
               else needing.head(3))
    rule = attention.Rule.from_settings(min_reviews=min_reviews)
    unjudged = attention.left_out_words(attention.left_out(stores, rule), rule, lang)
    why_unjudged = unjudged_reason(stores, rule, cards, lang) if needing.empty else None
    if why_unjudged:   # not "no store needs attention": none could be told
        sentences.append(i18n.sentences((t("none_judged", why=why_unjudged), rule.describe(lang)), lang))
    elif needing.empty:
        sentences.append(i18n.sentences((t("no_attention"), rule.describe(lang), unjudged), lang))
    else:
        items = [t("attention_item", name=r["store_name"], id=r["store_id"], city=r["store_city"], reason=r["reason"],
                   index=units.format_value(r["symmetry_index"], "score", lang=lang)) for _, r in needing.iterrows()]
        sentences.append(i18n.sentences((t("attention", items=t("item_separator").join(items)), unjudged), lang))
    _, worst = ranked_stores(stores, "avg_rating", min_reviews=min_reviews, size=1)
    if not worst.empty and worst.iloc[0]["store_id"] not in set(needing["store_id"]):
        r = worst.iloc[0]
        sentences.append(t("lowest_rated", name=r["store_name"], id=r["store_id"], city=r["store_city"],
                           rating=units.format_value(r["avg_rating"], "stars", lang=lang), reviews=f"{r['reviews']:.0f}"))
    if goals is None:
        goals = targets.attainment_table(con, filters, week.start, week.end, cards["value"].to_dict(),
                                         metrics.HEADLINE, lang)
    sentences += targets.sentences(goals, targets.scope_of(filters), week.iso, lang)
    return sentences


# ------------------------------------------------------------------------------------------
# Everything for one week, for the page and the report
# ------------------------------------------------------------------------------------------

@dataclass
class WeeklyOverview:
    week: Week
    filters: Filters                     # the filters applied (dates removed: the week sets them)
    series: pd.DataFrame                 # 13 weeks of headline KPIs, oldest first
    cards: pd.DataFrame                  # headline_cards(series)
    stores: pd.DataFrame                 # store_week(...)
    best: dict[str, pd.DataFrame] = field(default_factory=dict)   # ranking KPI -> top stores
    worst: dict[str, pd.DataFrame] = field(default_factory=dict)
    attention: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: list[str] = field(default_factory=list)
    min_reviews: int = 0                 # the review floor applied (review_floor())
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)   # targets.attainment_table for the week
    lang: str = "en"                     # the language of the cards' and sentences' words

    @property
    def rule(self) -> attention.Rule:
        """The attention rule the week's list applies."""
        return attention.Rule.from_settings(min_reviews=self.min_reviews)

    @property
    def left_out(self) -> int:
        """Stores of the week with orders but fewer reviews than the floor: not ranked, not judged."""
        return attention.left_out(self.stores, self.rule)

    @property
    def unjudged(self) -> str | None:
        """Why no store of the week could be judged for attention (:func:`unjudged_reason`), or None."""
        return unjudged_reason(self.stores, self.rule, self.cards, self.lang)

    @property
    def has_data(self) -> bool:
        value = self.cards.loc["orders", "value"]
        return bool(pd.notna(value) and value > 0)

    @property
    def any_data(self) -> bool:
        """Whether any of the 13 weeks has orders for these filters."""
        return bool(self.series["orders"].fillna(0).gt(0).any())


def build(con: duckdb.DuckDBPyConnection, filters: Filters, week: Week, *,
          min_reviews: int | None = None, lang: str = "en") -> WeeklyOverview:
    """Every number and sentence of the weekly overview for ``week`` under ``filters``, its words
    in ``lang``."""
    filters = filters.replace(start=None, end=None)
    min_reviews = review_floor(min_reviews)
    series = weekly_series(con, filters, week)
    as_of = latest_order(con)
    cards = headline_cards(series, previous=equal_age_previous(con, filters, week, as_of=as_of),
                           provisional=is_provisional(week, as_of), notes=week_notes(con, filters, week, series),
                           lang=lang)
    ov = WeeklyOverview(week=week, filters=filters, series=series, cards=cards,
                        stores=pd.DataFrame(), min_reviews=min_reviews, lang=lang)
    if not ov.has_data:
        ov.summary = written_summary(con, filters, week, series=series, cards=cards, stores=pd.DataFrame(),
                                     min_reviews=min_reviews, as_of=as_of, lang=lang)
        return ov
    ov.stores = with_index_trend(con, filters, week, store_week(con, filters, week, DRIVER_STORE_KPIS))
    for by in RANKINGS:
        ov.best[by], ov.worst[by] = ranked_stores(ov.stores, by, min_reviews=min_reviews, week=week)
    ov.attention = attention_list(ov.stores, min_reviews=min_reviews, lang=lang, week=week)
    ov.targets = targets.attainment_table(con, filters, week.start, week.end, cards["value"].to_dict(),
                                          metrics.HEADLINE, lang)
    # the summary names the list's first three and the same targets: computed once, not again there
    ov.summary = written_summary(con, filters, week, series=series, cards=cards, stores=ov.stores,
                                 min_reviews=min_reviews, needing=ov.attention, goals=ov.targets, as_of=as_of,
                                 lang=lang)
    return ov


def freshness(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The data's freshness: latest order, first/last order date, when the rollups were built.
    Grain: one row per warehouse_meta key."""
    meta = db.run(con, "SELECT key, value FROM warehouse_meta WHERE list_contains($keys, key)",
                  {"keys": ["as_of", "rollups_built_at"]})
    values = dict(zip(meta["key"], meta["value"]))
    first, last = data_span(con)
    return {"latest_order": values.get("as_of"), "rollups_built_at": values.get("rollups_built_at"),
            "first_order_date": first, "last_order_date": last}

