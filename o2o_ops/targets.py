"""Targets: a goal per KPI for a store, a region or the whole business, per month (contract table
``targets``), and how far a period's value attains it.

Which target applies to a view: the filters' scope must be exactly one target scope — one store
(the store filter or the user's scope holds one store and nothing else narrows the stores), one
region, or the whole business (no store filter at all). A channel, campaign, city or category
filter narrows the sales below what any target was set for, so no target applies then.

A target is per calendar month; a period is measured against the days it covers:
- a plain sum (orders, revenue, costs): the month's target spread evenly over its days, summed over
  the period's days (a week in a 30-day month with a target of 3,000 orders has a goal of 700);
- anything else (rates, averages, ratios): the day-weighted mean of the months' targets.
A period with a day in a month without a target has no goal (never a partial one).

Attainment: value / target for a KPI where higher is better (or neither), target / value where
lower is better, so above 100 % is always "better than the goal"; ``met`` says whether the goal
was reached (≥ for higher-is-better, ≤ for lower-is-better).
"""

from __future__ import annotations

import calendar
import datetime as dt
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import duckdb
import pandas as pd

from o2o_ops import config, db, i18n, metrics, units
from o2o_ops.filters import Filters

COLUMNS = ["kpi", "scope", "scope_id", "month", "target_value"]


class NotAllowed(PermissionError):
    """The user may not change targets (only roles that may write)."""


@dataclass(frozen=True)
class Scope:
    kind: str                  # "store", "region" or "business"
    scope_id: str | None = None

    def describe(self, lang: str = "en") -> str:
        if i18n.check(lang) != "en":
            return i18n.t(f"targets.scope_{self.kind}", lang, id=self.scope_id)
        return "the whole business" if self.kind == "business" else f"{self.kind} {self.scope_id}"


def scope_of(filters: Filters) -> Scope | None:
    """The one target scope these filters show, or None (see the module docstring)."""
    if filters.channels or filters.campaign_kinds or filters.campaigns or filters.cities \
            or filters.districts or filters.categories:
        return None
    stores, regions = set(filters.stores), set(filters.regions)
    if filters.scope_stores is not None or filters.scope_regions is not None:
        scope_stores, scope_regions = set(filters.scope_stores or ()), set(filters.scope_regions or ())
        if not stores and not regions:       # the user's scope is the view
            stores, regions = scope_stores, scope_regions
        elif stores and not stores <= scope_stores and not regions:
            return None                       # stores picked in a region scope: not one scope
    if len(stores) == 1 and not regions:
        return Scope("store", next(iter(stores)))
    if len(regions) == 1 and not stores:
        return Scope("region", next(iter(regions)))
    if not stores and not regions:
        return Scope("business")
    return None


_SQL = """
SELECT kpi, scope, scope_id, month, target_value
FROM targets
WHERE ($scope IS NULL OR scope = $scope) AND ($scope_id IS NULL OR scope_id = $scope_id)
ORDER BY scope, scope_id, kpi, month
"""


def load(con: duckdb.DuckDBPyConnection, scope: Scope | None = None) -> pd.DataFrame:
    """The targets (of one scope when given); ``month`` as a date. Empty for a warehouse
    without the table (it is created on the next refresh)."""
    try:   # one query, not a look in information_schema first (2-7 ms, twice per page)
        df = db.run(con, _SQL, {"scope": scope.kind if scope else None,
                                "scope_id": scope.scope_id if scope else None})
    except duckdb.CatalogException:
        return pd.DataFrame(columns=COLUMNS)
    df["month"] = pd.to_datetime(df["month"]).dt.date
    return df


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def goal(targets: pd.DataFrame, kpi: str, start: dt.date, end: dt.date) -> float | None:
    """The goal of ``kpi`` over ``start``..``end`` (inclusive) from one scope's ``targets``."""
    return _goal(_by_month(targets, kpi), metrics.KPIS[kpi].is_additive, start, end)


def _by_month(targets: pd.DataFrame, kpi: str) -> dict[dt.date, float]:
    part = targets[targets["kpi"] == kpi]
    return dict(zip(part["month"], part["target_value"].astype(float)))


def _goal(by_month: dict[dt.date, float], additive: bool, start: dt.date, end: dt.date) -> float | None:
    if not by_month or end < start:
        return None
    total, days = 0.0, 0
    day = start
    while day <= end:
        month = _month(day)
        if month not in by_month:
            return None
        length = calendar.monthrange(day.year, day.month)[1]
        total += by_month[month] / length if additive else by_month[month]
        days += 1
        day += dt.timedelta(days=1)
    return total if additive else total / days


def attainment(kpi: str, value: Any, target: Any) -> tuple[float | None, bool | None]:
    """(attainment as a share, whether the goal is met); (None, None) without both numbers."""
    if units.is_missing(value) or units.is_missing(target):
        return None, None
    value, target = float(value), float(target)
    lower_better = metrics.KPIS[kpi].higher_is_better is False
    met = value <= target if lower_better else value >= target
    ratio = (target / value if value else None) if lower_better else (value / target if target else None)
    return ratio, met


def words(kpi: str, value: Any, target: Any, lang: str = "en") -> str:
    """"104% of the ¥1,200 target" / "target 5.0% met" in words, or "" without a goal. For a KPI
    where lower is better the target is a ceiling, said so: "target ≤ 4.0% (met)" (a share of it,
    "260% of the 4.0% target", read as a rate of 10.4%, over the target, where it was 1.5%)."""
    share, met = attainment(kpi, value, target)
    if met is None:
        return ""
    k = metrics.KPIS[kpi]
    goal_text = units.format_value(target, k.unit, lang=lang)
    verdict = i18n.t("targets.met" if met else "targets.missed", lang)
    if k.higher_is_better is False:
        return i18n.t("targets.goal_ceiling", lang, goal=goal_text, verdict=verdict)
    if share is None:
        return i18n.t("targets.goal_plain", lang, goal=goal_text, verdict=verdict)
    return i18n.t("targets.goal_share", lang, share=units.format_share(share), goal=goal_text, verdict=verdict)


def attainment_table(con: duckdb.DuckDBPyConnection, filters: Filters, start: dt.date, end: dt.date,
                     values: Mapping[str, Any] | Sequence[tuple[str, Any]], names: Sequence[str],
                     lang: str = "en") -> pd.DataFrame:
    """One row per KPI of ``names`` with a goal for this scope and period: kpi, label, value,
    target, attainment, met, text. Empty when no target applies. ``values``: KPI name -> value
    (a mapping or its items)."""
    values = dict(values)
    scope = scope_of(filters)
    columns = ["kpi", "label", "value", "target", "attainment", "met", "text"]
    if scope is None:
        return pd.DataFrame(columns=columns)
    tg = load(con, scope)
    rows = []
    for name in names:
        target = goal(tg, name, start, end)
        if target is None:
            continue
        value = values.get(name)
        share, met = attainment(name, value, target)
        rows.append((name, i18n.kpi_label(name, lang), value, target, share, met, words(name, value, target, lang)))
    return pd.DataFrame(rows, columns=columns)


def sentences(table: pd.DataFrame, scope: Scope | None, period: str, lang: str = "en") -> list[str]:
    """The attainment in one sentence for the weekly summary (none without targets)."""
    judged = table.dropna(subset=["met"]) if not table.empty else table
    if judged.empty or scope is None:
        return []
    missed = judged[~judged["met"].astype(bool)]
    if i18n.check(lang) != "en":
        items = [f"{r['label']}{r['text']}" for _, r in judged.iterrows()]
        return [i18n.t("targets.sentence", lang, scope=scope.describe(lang), period=period,
                       met=len(judged) - len(missed), judged=len(judged), items="；".join(items))]
    items = [f"{r['label'].lower()} {r['text']}" for _, r in judged.iterrows()]
    head = (f"Targets for {scope.describe()} in {period}: {len(judged) - len(missed)} of {len(judged)} met")
    return [f"{head} — {'; '.join(items)}."]


def goal_by_week(targets: pd.DataFrame, kpi: str, week_starts: Sequence[Any]) -> list[float | None]:
    """The goal of each ISO week starting on ``week_starts`` (None where a day has no target)."""
    by_month, additive = _by_month(targets, kpi), metrics.KPIS[kpi].is_additive   # once, not per week
    out = []
    for start in week_starts:
        day = pd.Timestamp(start).date()
        out.append(_goal(by_month, additive, day, day + dt.timedelta(days=6)))
    return out


# ------------------------------------------------------------------------------------------
# Editing (the Data page): replace every target at once, validated like an import
# ------------------------------------------------------------------------------------------

def _rows_frame(rows: pd.DataFrame) -> pd.DataFrame:
    df = rows.reindex(columns=COLUMNS).copy()
    for col in ("kpi", "scope", "scope_id"):
        df[col] = df[col].map(lambda v: None if units.is_missing(v) or str(v).strip() == "" else str(v).strip())
    df["month"] = df["month"].map(lambda v: None if units.is_missing(v) else str(pd.Timestamp(v).date())
                                  if not isinstance(v, str) else v.strip())
    return df.dropna(how="all")


def save(rows: pd.DataFrame, *, allowed: bool, warehouse: str | Path | None = None,
         saved_by: str = "app") -> int:
    """Replace the warehouse's targets with ``rows`` (columns :data:`COLUMNS`), checked by the
    import contract first; all or nothing, under the write lock. Returns the number of targets.

    Raises :class:`NotAllowed` when ``allowed`` is false (the caller passes ``auth.can_write``)
    and ``ingest.ImportRejected`` with every problem in words (rows numbered as in the CSV the
    rows become: the first target is row 2)."""
    from o2o_ops import ingest

    if not allowed:
        raise NotAllowed("Changing targets is for analysts and admins; nothing was changed.")
    wh = config.warehouse_path(warehouse)
    df = _rows_frame(rows)
    with db.write_lock(wh, what="saving targets"):
        with tempfile.TemporaryDirectory(prefix="o2o-targets-") as tmp:
            csv = Path(tmp) / "targets.csv"
            df.to_csv(csv, index=False)
            problems = ingest.validate([ingest.Source("targets", csv)], warehouse=wh)
            if problems:
                problems = [ingest.Problem("targets", p.row, p.column, p.value, p.kind, p.message)
                            for p in problems]
                counts: dict[str, int] = {}
                for p in problems:
                    counts[p.kind] = counts.get(p.kind, 0) + 1
                raise ingest.ImportRejected(problems, counts)
        typed = df.assign(month=pd.to_datetime(df["month"]).dt.date,
                          target_value=df["target_value"].astype(float))
        with db.rebuild(wh) as con:
            con.execute("DELETE FROM targets")
            if len(typed):
                con.register("new_targets", typed)
                con.execute("INSERT INTO targets SELECT kpi, scope, scope_id, month, target_value FROM new_targets")
                con.unregister("new_targets")
            con.execute("INSERT INTO import_log VALUES ($at, $by, 'targets editor', 'targets', $n, 0, 0)",
                        {"at": dt.datetime.now(), "by": saved_by, "n": len(typed)})
    return len(typed)


def weekly_goals(con: duckdb.DuckDBPyConnection, filters: Filters, names: Sequence[str],
                 week_starts: Sequence[Any]) -> dict[str, list[float | None]]:
    """KPI name -> the goal of each week starting on ``week_starts``, for the filters' scope; only
    KPIs with a goal in at least one of those weeks."""
    scope = scope_of(filters)
    if scope is None:
        return {}
    tg = load(con, scope)
    out = {}
    for name in names:
        goals = goal_by_week(tg, name, week_starts)
        if any(g is not None for g in goals):
            out[name] = goals
    return out


def visible(con: duckdb.DuckDBPyConnection, filters: Filters) -> pd.DataFrame:
    """The targets a user with ``filters``' scope may see: the whole business's, their regions'
    and their stores' (a store in one of their regions included); everything without a scope."""
    tg = load(con)
    if filters.scope_stores is None and filters.scope_regions is None:
        return tg
    stores = db.run(con, f"SELECT store_id, region FROM stores WHERE {filters.where_sql('stores')}",
                    filters.params("stores"))
    regions = set(filters.scope_regions or ())
    keep = ((tg["scope"] == "business")
            | ((tg["scope"] == "region") & tg["scope_id"].isin(regions))
            | ((tg["scope"] == "store") & tg["scope_id"].isin(set(stores["store_id"]))))
    return tg[keep].reset_index(drop=True)
