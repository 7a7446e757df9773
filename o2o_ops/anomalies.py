"""Anomaly flags: a store's week that is unusual *for that store*, per headline KPI, with the
reason in words.

Expected value of a KPI for store s in ISO week w (whole weeks, so the weekday mix is the same
in every week):

1. **Week effect of its category** (holidays, seasons, national events): the median over the
   category's stores of how far each store's week is from that store's own median week. A median
   over every city's stores is not moved by one city's spike (which is what should be flagged),
   but does follow a holiday everybody has.
2. **The store's own level, with its trend**: the rolling median of the store's week-adjusted
   values over the :data:`TREND_WEEKS` weeks centred on w (fewer at the ends).
3. expected = level + week effect, on the log scale for orders (so effects multiply) and as is
   for the averages and rates.

Unusual: the robust z = (value − expected) / scale is at least :data:`Z_FLAG` in size. The scale
is the store's own robust spread (1.4826 × the median absolute deviation of its residuals over
all its weeks), never below the sampling noise of that week (Poisson for orders, binomial for
the refund rate, a pooled within-week spread for waits and ratings, over the week's count), so a
quiet store's small weeks are not flagged for noise. Medians everywhere: one extreme week does
not move the expectation or the scale it is judged by. Weeks with fewer than 7 days of data,
or too few orders/reviews for the KPI (:data:`MIN_COUNT`), are not judged.

Every store is judged against every store of its category, whatever the page's filters: the
scores are computed once per build from ``rollup_anomaly_store_week`` (``sql/rollups_lift.sql``)
and stored in ``anomaly_scores`` (:func:`build_scores`, run by ``db.rebuild_rollups`` and
``lake.assemble``); :func:`flags` reads the unusual ones of a scope from it. (Scoring the filtered
stores alone let a city filter absorb that city's spike into the "week effect", and a single
store could never be unusual against itself.)
"""

from __future__ import annotations

import datetime as dt
import html
import math
from dataclasses import dataclass
from typing import Any, Mapping

import duckdb
import numpy as np
import pandas as pd

from o2o_ops import db, i18n
from o2o_ops.filters import Filters

TREND_WEEKS = 13
Z_FLAG = 3.5
#: Part of the derived tables' fingerprint (db.rollups_version): change it when :func:`score`
#: changes, so warehouses built before are refreshed.
SCORES_VERSION = "3"
MAD_TO_SD = 1.4826
#: a store-week is judged when all its days lie in the data
JUDGED_DAYS = 7


@dataclass(frozen=True)
class Watched:
    name: str
    label: str
    unit: str           # for words: "orders", "min", "stars", "%"
    log: bool           # model on the log scale (counts)
    count_col: str      # the count behind the value (its sampling noise)
    min_count: int
    higher_is: str      # "good", "bad" or "neutral", for the words
    inputs: tuple[str, ...] = ("orders",)   # what it is computed from (o2o_ops.coverage's inputs)


KPIS = (
    Watched("orders", "Orders", "orders", True, "n_orders", 10, "neutral"),
    Watched("avg_wait_minutes", "Average wait", "min", False, "wait_n", 10, "bad",
            ("orders", "redemptions.wait_minutes")),
    Watched("avg_rating", "Average rating", "stars", False, "rating_n", 8, "good", ("orders", "reviews")),
    Watched("refund_rate", "Refund rate", "%", False, "paid_orders", 20, "bad", ("orders", "refunds")),
)
MIN_COUNT = {k.name: k.min_count for k in KPIS}

FLAG_COLUMNS = ["store_id", "city", "category", "iso_week", "week_start", "kpi", "label", "value", "expected",
                "z", "direction", "reason"]

_SQL = """
SELECT store_id, city, category, week_start, iso_week, days_in_data, n_orders, wait_n, wait_sum,
       rating_n, rating_sum, paid_orders, refunded_orders
FROM rollup_anomaly_store_week
WHERE {where}
ORDER BY store_id, week_start
"""


def store_weeks(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> pd.DataFrame:
    """Every store-week with the watched KPIs' values (store filters apply; dates do not, since the
    expectation needs the weeks around)."""
    flt = filters.stores_only()
    df = db.run(con, _SQL.format(where=flt.where_sql("stores")), flt.params("stores"))
    df["orders"] = df["n_orders"].astype(float)
    df["avg_wait_minutes"] = df["wait_sum"] / df["wait_n"].where(df["wait_n"] > 0)
    df["avg_rating"] = df["rating_sum"] / df["rating_n"].where(df["rating_n"] > 0)
    df["refund_rate"] = df["refunded_orders"] / df["paid_orders"].where(df["paid_orders"] > 0)
    return df


def _noise(kpi: Watched, df: pd.DataFrame, expected: pd.Series, pooled_sd: float) -> pd.Series:
    n = df[kpi.count_col].astype(float).clip(lower=1)
    if kpi.log:                       # Poisson on the log scale: 1/sqrt(expected count)
        return 1.0 / np.sqrt(np.exp(expected).clip(lower=1))
    if kpi.name == "refund_rate":
        p = expected.clip(0.01, 0.99)
        return np.sqrt(p * (1 - p) / n)
    return pooled_sd / np.sqrt(n)


def _centred_rolling_median(values: np.ndarray, groups: pd.Series, window: int) -> np.ndarray:
    """Per group (rows sorted by group, then time; ``window`` odd): the median of the ``window`` rows centred on
    each row, fewer at the group's ends — pandas' ``rolling(window, center=True, min_periods=1)
    .median()`` within each group, done as one array operation (groups as rows of a NaN-padded
    matrix) instead of a window per store."""
    codes, _ = pd.factorize(groups, sort=False)
    position = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    half = window // 2        # an odd window: as many rows before as after, as pandas centres it
    width = int(position.max()) + 1 if len(position) else 0
    grid = np.full((codes.max() + 1 if len(codes) else 0, width + window - 1), np.nan)
    grid[codes, position + half] = values
    # each row's window, sorted (NaN sorts last); the median of its n values sits at (n-1)//2, n//2
    windows = np.sort(np.lib.stride_tricks.sliding_window_view(grid, window, axis=1)[codes, position], axis=1)
    n = np.count_nonzero(~np.isnan(windows), axis=1)      # ≥ 1: the row itself
    rows = np.arange(len(n))
    return (windows[rows, (n - 1) // 2] + windows[rows, n // 2]) / 2


def score(weeks: pd.DataFrame) -> pd.DataFrame:
    """Expected value, scale and z per store-week and KPI (long format: one row each)."""
    full = weeks[weeks["days_in_data"] >= JUDGED_DAYS]
    out = []
    for kpi in KPIS:
        df = full[["store_id", "city", "category", "iso_week", "week_start", kpi.name, kpi.count_col]].copy()
        df = df[df[kpi.count_col] >= kpi.min_count].dropna(subset=[kpi.name])
        if df.empty:
            continue
        v = np.log(df[kpi.name]) if kpi.log else df[kpi.name]
        df["v"] = v
        df["dev"] = df["v"] - df.groupby("store_id")["v"].transform("median")
        df["week_effect"] = df.groupby(["category", "week_start"])["dev"].transform("median")
        df["adj"] = df["v"] - df["week_effect"]
        df = df.sort_values(["store_id", "week_start"])
        # grouped rolling and grouped medians run in pandas' compiled code (a Python function per
        # store took 10 s at 10 million orders)
        df["level"] = _centred_rolling_median(df["adj"].to_numpy(float), df["store_id"], TREND_WEEKS)
        df["exp_v"] = df["level"] + df["week_effect"]
        df["resid"] = df["v"] - df["exp_v"]
        by_store = df.groupby("store_id", sort=False)["resid"]
        mad = ((df["resid"] - by_store.transform("median")).abs()
               .groupby(df["store_id"], sort=False).transform("median"))
        # pooled within-week spread of a single wait / rating, from the stores' own weekly spread
        pooled = 0.0
        if not kpi.log and kpi.name != "refund_rate":
            pooled = float((MAD_TO_SD * mad * np.sqrt(df[kpi.count_col])).median())
        df["scale"] = np.maximum(MAD_TO_SD * mad, _noise(kpi, df, df["exp_v"], pooled))
        df["z"] = df["resid"] / df["scale"].where(df["scale"] > 0)
        df["expected"] = np.exp(df["exp_v"]) if kpi.log else df["exp_v"]
        df["kpi"], df["label"] = kpi.name, kpi.label
        df = df.rename(columns={kpi.name: "value"})
        out.append(df[["store_id", "city", "category", "iso_week", "week_start", "kpi", "label", "value",
                       "expected", "z"]])
    if not out:
        return pd.DataFrame(columns=FLAG_COLUMNS[:-2])
    return pd.concat(out, ignore_index=True)


_UNIT_KEYS = {"orders": "orders", "min": "min", "stars": "stars", "%": "pct"}


def label_in(kpi: Watched, lang: str = "en") -> str:
    """A watched KPI's label in ``lang``."""
    return kpi.label if i18n.check(lang) == "en" else i18n.t(f"anomaly.kpi_{kpi.name}", lang)


def reason(row: Mapping[str, Any], lang: str = "en") -> str:
    """Why a store-week is flagged, in ``lang`` (from a :func:`flags` row: kpi, value, expected, z)."""
    kpi = next(k for k in KPIS if k.name == row["kpi"])
    up = row["value"] > row["expected"]
    if i18n.check(lang) != "en":
        def t(key: str, **values) -> str:
            return i18n.t(f"anomaly.{key}", lang, **values)
        if kpi.name == "orders":
            size = (t("times", times=f"{row['value'] / row['expected']:.1f}") if up
                    else t("share_of", share=f"{row['value'] / row['expected'] * 100:.0f}"))
            what = t("orders", value=f"{row['value']:,.0f}", expected=f"{row['expected']:,.0f}", size=size)
        elif kpi.name == "refund_rate":
            what = t("refund_rate", value=f"{row['value'] * 100:.1f}", expected=f"{row['expected'] * 100:.1f}")
        else:
            what = t("other", label=label_in(kpi, lang), value=f"{row['value']:.1f}",
                     unit=t(f"unit_{_UNIT_KEYS[kpi.unit]}"), expected=f"{row['expected']:.1f}")
        judgement = "" if kpi.higher_is == "neutral" else t(
            "better" if up == (kpi.higher_is == "good") else "worse")
        return t("reason", store=row["store_id"], week=row["iso_week"], what=what, z=f"{abs(row['z']):.1f}",
                 side=t("above" if up else "below"), judgement=judgement)
    if kpi.name == "orders":
        size = f"{row['value'] / row['expected']:.1f}× " if up else f"{row['value'] / row['expected'] * 100:.0f}% of "
        what = f"{row['value']:,.0f} orders, {size}the {row['expected']:,.0f} expected"
    elif kpi.name == "refund_rate":
        what = f"refund rate {row['value'] * 100:.1f}% against {row['expected'] * 100:.1f}% expected"
    else:
        what = f"{kpi.label.lower()} {row['value']:.1f} {kpi.unit} against {row['expected']:.1f} expected"
    judgement = ""
    if kpi.higher_is != "neutral":
        good = up == (kpi.higher_is == "good")
        judgement = " — better than usual" if good else " — worse than usual"
    return (f"{row['store_id']} in {row['iso_week']}: {what} for this store in this week "
            f"(its own trend and its category's week taken into account; {abs(row['z']):.1f} spreads "
            f"{'above' if up else 'below'}){judgement}.")


_SCORE_COLUMNS = FLAG_COLUMNS[:-2]
_SCORES_SCHEMA = ("store_id VARCHAR, city VARCHAR, category VARCHAR, iso_week VARCHAR, week_start DATE, "
                  "kpi VARCHAR, label VARCHAR, value DOUBLE, expected DOUBLE, z DOUBLE")


def build_scores(con: duckdb.DuckDBPyConnection) -> int:
    """(Re)write ``anomaly_scores``: every judged store-week and watched KPI of the warehouse, all
    stores together (see the module's text). Returns the rows written."""
    scored = score(store_weeks(con))[_SCORE_COLUMNS]
    con.execute(f"CREATE OR REPLACE TABLE anomaly_scores ({_SCORES_SCHEMA})")
    if not scored.empty:
        con.register("_scored", scored)
        try:
            # stored in week order, so a page's few weeks read only their row groups (the flags
            # filter on |z| cannot skip any, and reading every row's strings cost 70 ms at 10M)
            con.execute(f"INSERT INTO anomaly_scores SELECT {', '.join(_SCORE_COLUMNS)} FROM _scored "
                        "ORDER BY week_start, store_id, kpi")
        finally:
            con.unregister("_scored")
    return len(scored)


_FLAGS_SQL = """
SELECT {columns} FROM anomaly_scores
WHERE abs(z) >= $z AND {where}
"""


def _scope(filters: Filters) -> tuple[str, dict[str, Any]]:
    """The test of ``anomaly_scores`` rows in the scope of ``filters`` (the filters' stores, and
    whole weeks starting in the filters' dates when given), and its parameters."""
    flt = filters.stores_only()
    params: dict[str, Any] = dict(flt.params("stores"))
    where = f"store_id IN (SELECT store_id FROM stores WHERE {flt.where_sql('stores')})"
    if filters.start:
        where += " AND week_start >= $first"
        params["first"] = filters.start - dt.timedelta(days=6)
    if filters.end:
        where += " AND week_start <= $last"
        params["last"] = filters.end
    return where, params


def flags(con: duckdb.DuckDBPyConnection, filters: Filters = Filters(), z_flag: float = Z_FLAG) -> pd.DataFrame:
    """Unusual store-weeks (|z| ≥ ``z_flag``) of every watched KPI for the filters' stores, with the
    reason in words; within the filters' dates when given (whole weeks starting in them)."""
    where, params = _scope(filters)
    hit = db.run(con, _FLAGS_SQL.format(columns=", ".join(_SCORE_COLUMNS), where=where),
                 {**params, "z": float(z_flag)})
    if hit.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    hit["direction"] = np.where(hit["value"] > hit["expected"], "high", "low")
    # plain dicts from column lists: iterrows cost 0.4 s at 10M, to_dict("records") 0.2 s
    columns = {c: hit[c].tolist() for c in ("kpi", "value", "expected", "z", "store_id", "iso_week")}
    hit["reason"] = [reason(dict(zip(columns, values))) for values in zip(*columns.values())]
    hit = hit.reindex(hit["z"].abs().sort_values(ascending=False).index)
    return hit[FLAG_COLUMNS].reset_index(drop=True)


def judged(con: duckdb.DuckDBPyConnection, filters: Filters = Filters()) -> dict[str, int]:
    """Watched KPI -> how many store-weeks in the scope of ``filters`` were judged (scored: a whole
    week in the data, with at least the KPI's :attr:`Watched.min_count` behind its value); 0 for a
    KPI none was. No flag among none judged is no news: "nothing unusual" would be an all-clear
    nobody measured."""
    where, params = _scope(filters)
    found = dict(db.run(con, f"SELECT kpi, count(*) AS n FROM anomaly_scores WHERE {where} GROUP BY kpi",
                        params).itertuples(index=False, name=None))
    return {k.name: int(found.get(k.name, 0)) for k in KPIS}


def not_judged(con: duckdb.DuckDBPyConnection, filters: Filters, watched: tuple[str, ...],
               lang: str = "en") -> dict[str, str]:
    """Watched KPI -> "average rating (no reviews imported)", in ``lang``, for those of ``watched``
    no store-week in the scope of ``filters`` was judged on (:func:`judged`): their data was never
    imported over the period (:mod:`o2o_ops.coverage`), or no store had a whole week with the
    KPI's minimum count. A KPI whose data was never imported is listed even where store-weeks were
    scored: without refunds imported every refund rate is 0, a week like any other."""
    from o2o_ops import coverage
    counts = judged(con, filters)
    cov = coverage.of(con, filters)
    out = {}
    for kpi in KPIS:
        if kpi.name not in watched:
            continue
        gap = cov.reason_for(kpi.inputs, filters.start, filters.end)
        if counts[kpi.name] and not gap:
            continue
        why = (i18n.note_detail(i18n.note(gap, lang)) if gap else
               i18n.t("anomaly.too_few", lang, count=kpi.min_count, noun=i18n.t(f"anomaly.noun_{kpi.name}", lang)))
        out[kpi.name] = unseen_words(label_in(kpi, lang), why, lang)
    return out


def unseen_words(label: str, why: str, lang: str = "en") -> str:
    """A KPI that could not be judged, and why, as the lists of them write it (in ``lang``):
    "average rating (no reviews imported)"."""
    return i18n.t("anomaly.unjudged_kpi", lang, label=label.lower() if i18n.check(lang) == "en" else label, why=why)


def evaluate_demo(con: duckdb.DuckDBPyConnection, z_flag: float = Z_FLAG) -> dict:
    """On a demo warehouse: the share of each planted spike's store-weeks flagged (on orders, and
    on any KPI), the share of the store-weeks its vouchers were sold in ahead flagged on any KPI,
    and the share of unplanted store-weeks (no spike, no selling ahead for one, no campaign at the
    store) flagged on any KPI."""
    from o2o_ops import demo, weekly

    scored = score(store_weeks(con))
    spikes = {(s["city"], s["iso_week"]) for s in demo.PLANTED["spikes"]}
    if scored.empty:   # a demo too small for any store-week to be judged
        nothing = {f"{c} {w}": math.nan for c, w in sorted(spikes)}
        return {"spike_store_weeks_found": nothing, "spike_store_weeks_found_any_kpi": dict(nothing),
                "presale_store_weeks_found_any_kpi": dict(nothing), "unplanted_store_weeks": 0,
                "unplanted_flagged_share": math.nan, "non_spike_flagged_share_incl_campaigns": math.nan,
                "unplanted_flagged_share_by_kpi": {}}
    scored["flagged"] = scored["z"].abs() >= z_flag
    presale = {}   # (city, ISO week the vouchers were sold in) -> the spike's "city week"
    for s in demo.PLANTED["spikes"]:
        day = s["sold_from"]
        while day <= s["sold_to"]:
            presale[(s["city"], weekly.Week.of(day).iso)] = f"{s['city']} {s['iso_week']}"
            day += dt.timedelta(days=1)
    scored["in_spike"] = [(c, w) in spikes or (c, w) in presale for c, w in zip(scored["city"], scored["iso_week"])]
    busy = con.execute("""
        SELECT DISTINCT r.store_id, strftime(date_trunc('week', d.day), '%G-W%V') AS iso_week
        FROM rollup_campaign_store r JOIN campaigns k USING (campaign_id),
             generate_series(k.start_date, k.end_date, INTERVAL 1 DAY) AS d(day)""").fetchall()
    busy = set(busy)
    scored["in_campaign"] = [(s, w) in busy for s, w in zip(scored["store_id"], scored["iso_week"])]
    per_week = scored.groupby(["store_id", "iso_week"]).agg(
        flagged=("flagged", "any"), in_spike=("in_spike", "first"), in_campaign=("in_campaign", "first"))
    orders = scored[scored["kpi"] == "orders"]
    found = {f"{c} {w}": float(orders[(orders["city"] == c) & (orders["iso_week"] == w)]["flagged"].mean())
             for c, w in sorted(spikes)}
    spiked = per_week[per_week["in_spike"]].reset_index()
    spiked["city"] = spiked["store_id"].map(scored.drop_duplicates("store_id").set_index("store_id")["city"])
    found_any = {f"{c} {w}": float(spiked[(spiked["city"] == c) & (spiked["iso_week"] == w)]["flagged"].mean())
                 for c, w in sorted(spikes)}
    sold = spiked[[(c, w) in presale for c, w in zip(spiked["city"], spiked["iso_week"])]]
    sold = sold.assign(spike=[presale[(c, w)] for c, w in zip(sold["city"], sold["iso_week"])])
    presale_found = {k: float(v) for k, v in sold.groupby("spike")["flagged"].mean().items()}
    clean = per_week[~per_week["in_spike"] & ~per_week["in_campaign"]]
    not_spike = per_week[~per_week["in_spike"]]
    by_kpi = (scored[~scored["in_spike"] & ~scored["in_campaign"]].groupby("kpi")["flagged"].mean()
              .to_dict())
    return {"spike_store_weeks_found": found, "spike_store_weeks_found_any_kpi": found_any,
            "presale_store_weeks_found_any_kpi": presale_found,
            "unplanted_store_weeks": len(clean),
            "unplanted_flagged_share": float(clean["flagged"].mean()) if len(clean) else math.nan,
            "non_spike_flagged_share_incl_campaigns": float(not_spike["flagged"].mean()) if len(not_spike) else math.nan,
            "unplanted_flagged_share_by_kpi": {k: float(v) for k, v in by_kpi.items()}}


# ------------------------------------------------------------------------------------------
# Marks on charts: the flags of a scope, one point per week and KPI
# ------------------------------------------------------------------------------------------

#: The registry KPI each watched KPI is drawn on (None: no weekly chart shows it; still listed).
CHART_KPI = {"orders": "orders", "avg_rating": "avg_rating", "refund_rate": "refund_rate",
             "avg_wait_minutes": None}
MARKS_IN_HOVER = 3


def for_page(flagged: pd.DataFrame, watched: tuple[str, ...]) -> pd.DataFrame:
    """The flags of the watched KPIs a page shows, the most unusual first."""
    return flagged[flagged["kpi"].isin(watched)].reset_index(drop=True)


def week_marks(flagged: pd.DataFrame, kpi_name: str, lang: str = "en") -> pd.DataFrame:
    """One row per week with at least one flag drawn on registry KPI ``kpi_name``: ``week_start``
    (Timestamp), ``iso_week``, ``count_flags``, ``count_high``, ``count_low`` and ``hover`` (the
    reasons of the most unusual :data:`MARKS_IN_HOVER`, then "and N more", in ``lang``)."""
    watched = [k for k, chart in CHART_KPI.items() if chart == kpi_name]
    part = flagged[flagged["kpi"].isin(watched)]
    columns = ["week_start", "iso_week", "count_flags", "count_high", "count_low", "hover"]
    if part.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (week_start, iso_week), g in part.groupby(["week_start", "iso_week"], sort=True):
        g = g.reindex(g["z"].abs().sort_values(ascending=False).index)
        shown = g.head(MARKS_IN_HOVER)
        reasons = shown["reason"] if i18n.check(lang) == "en" else [reason(r, lang) for _, r in shown.iterrows()]
        lines = [html.escape(r) for r in reasons]  # plotly hover is HTML
        if len(g) > MARKS_IN_HOVER:
            lines.append(i18n.t("anomaly.more_in_hover", lang, count=len(g) - MARKS_IN_HOVER))
        rows.append((pd.Timestamp(week_start), iso_week, len(g), int((g["direction"] == "high").sum()),
                     int((g["direction"] == "low").sum()), "<br>".join(lines)))
    return pd.DataFrame(rows, columns=columns)
