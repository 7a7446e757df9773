"""Incremental lift of a campaign: how many orders (and how much net revenue) its stores gained
because it ran, with an interval whose coverage is measured, the ROI that follows, and a verdict.

Design: difference-in-differences against a two-way (city x category) control
-----------------------------------------------------------------------------
The counterfactual for "the campaign's stores during the campaign" is built from two things:

1. **The same stores in the weeks before** (the baseline: ``max(8 weeks, campaign length)``,
   whole weeks, ending the day before the campaign starts): they fix each store's own level —
   location, size, reputation, menu.
2. **Stores without a campaign on the same days** (the control pool: every store-day with no
   campaign at that store, ``rollup_lift_cell_day``): they carry what moves everybody's orders
   from the baseline to the campaign weeks — holidays, city-wide spikes, seasonality, weekday
   mix. A campaign targets one city and one category, and shocks come by city (a local spike) or
   by category (restaurants fall over the Spring Festival while hotels rise), so the shock is
   fitted as a **two-way multiplicative model, city effect x category effect**, on the pool's
   city x category cells: ``orders ≈ usual orders · exp(a_city + b_category)`` (Poisson maximum
   likelihood by iterative proportional fitting). The campaign's own cell need not have a control
   store: same-city stores of other categories give the city effect, same-category stores of
   other cities the category effect, the remaining cells link the two.

Each store's "usual orders" are its mean on clean days of that ISO weekday
(``rollup_lift_store_level.level_orders``), so stores of any size and weekday profile sit on one
scale and days with stores moving in and out of the pool stay comparable.

Days are grouped into 7-day blocks counted from the campaign's first day (baseline blocks
backwards from the day before), over the usable days; a block counts when it has at least
:data:`MIN_BLOCK_DAYS` of them and its pool has controls in the measured stores' city and in
their category. For each block the two-way model is fitted on the pool's sums
over the block's usable days, with the campaign stores' own store-days left out, and
``expected = Σ_{cells of T} (T's usual orders on those days) · exp(a_city + b_category)``.
``l = log(actual / expected)``; the effect on the log scale is
``θ = mean(l over campaign blocks) − mean(l over baseline blocks)`` — a difference in
differences: the baseline's mean absorbs how T's level differs from its usual level, the control
absorbs what changed for everybody. ``lift = exp(θ) − 1``. (Fitting per block rather than per
day costs nothing in accuracy here — the blocks are what the estimate is made of — and makes
the fit seven times smaller.)

Interval: ``θ ± t(0.975, n_b + n_c − 2) · s · sqrt(1/n_b + 1/n_c)``, s² the blocks' pooled
variance around their period means (a two-sample t on weekly blocks). Weekly blocks take the
day-to-day noise, the control's noise and what the model misses (a shock one city's mix of
categories feels differently) as they are, and each block holds every weekday once. Coverage of
this interval is measured, not assumed: ``python -m o2o_ops calibrate`` plants a known effect per
campaign in demo warehouses and counts how often the interval contains it (figures in README).

- Days on which any of the campaign's stores ran *another* campaign are left out (baseline and
  campaign days alike): their effect cannot be told apart.
- Orders counted are *all* orders at the campaign's stores (with or without the campaign id):
  lift is about extra traffic, and a campaign order that would have come anyway is no lift.
- Extra orders = actual − actual/exp(θ) over the counted campaign days (the interval likewise);
  the same for net revenue (paid − refunds + in-store extra spend, its own θ against its own
  control), and incremental ROI = (extra net revenue − marketing spend) / spend.
- **Too thin to judge** (the numbers are shown, the verdict is not given): fewer than
  :data:`MIN_BASELINE_WEEKS` baseline blocks, no campaign block, under
  :data:`MIN_BASELINE_ORDERS` baseline orders, a block without orders, fewer than
  :data:`MIN_CONTROL_STORES` comparable stores (same city or same category, without a campaign)
  on an average day, or no chain of control cells linking the campaign's city to its category.

The controls are pooled over every store (all cities and categories, regardless of the store
filters and the user's scope): only their fitted day effects enter the result, never a store's
figure. The store filters choose which of the campaign's stores are measured.

Everything up to the fitted counterfactual reads rollups built at load time
(``sql/rollups_lift.sql``): the campaign's stores' days and a city x category x day table.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any, Sequence

import duckdb
import numpy as np
import pandas as pd

from o2o_ops import db, i18n, units
from o2o_ops.filters import Filters

BASELINE_MIN_DAYS = 56     # baseline window = max(this, campaign days), rounded up to whole weeks
MIN_BASELINE_WEEKS = 3     # fewer baseline blocks than this: too thin to judge
MIN_BASELINE_ORDERS = 50   # fewer baseline orders at the campaign's stores: too thin to judge
MIN_CONTROL_STORES = 2     # comparable stores without a campaign on an average day
MIN_BLOCK_DAYS = 4         # a 7-day block counts with at least this many usable days
CONFIDENCE = 0.95
_NO_LINK = "no stores without a campaign link its city to its category"
_IPF_ITERATIONS = 200
_IPF_TOLERANCE = 1e-8

RESULT_COLUMNS = [
    "campaign_id", "stores", "control_stores", "baseline_weeks", "campaign_weeks", "baseline_days",
    "baseline_orders", "actual_orders", "expected_orders",
    "extra_orders", "extra_orders_low", "extra_orders_high", "lift", "lift_low", "lift_high",
    "actual_net_revenue", "expected_net_revenue", "extra_net_revenue", "extra_net_revenue_low",
    "extra_net_revenue_high", "marketing_spend", "incremental_roi", "incremental_roi_low",
    "incremental_roi_high", "is_thin", "thin_reason", "verdict_short", "verdict",
]

# Verdict labels (the table's "Lift verdict" column and the start of each sentence).
REAL_LIFT, HURTS, NO_CLEAR_EFFECT, TOO_THIN, NO_DATA = (
    "Real lift", "Hurts", "No clear effect", "Too thin to judge", "No data")

# Windows and members of real campaigns. Parameters: optional $ids; the store filters ({where}).
_CAMPAIGN_WINDOWS = "SELECT campaign_id AS id, start_date, end_date, TRUE AS own FROM campaigns WHERE TRUE {ids_clause}"
_CAMPAIGN_MEMBERS = "SELECT campaign_id AS id, store_id FROM rollup_campaign_store WHERE {where}"
# Windows and members given as lists (placebo runs: fake campaigns where none ran).
_GIVEN_WINDOWS = ("SELECT unnest($w_ids) AS id, unnest($w_starts) AS start_date, "
                  "unnest($w_ends) AS end_date, FALSE AS own")
_GIVEN_MEMBERS = "SELECT unnest($m_ids) AS id, unnest($m_stores) AS store_id"

# lift_windows -- one row per campaign (window): dates, baseline length, stores measured.
# lift_treated_days -- one row per campaign x day x city x category of its stores: their actual
# orders and revenue, their usual level (weekday means), the part of both from clean store-days
# (to take out of the control pool), and whether another campaign ran at one of them (blocked).
# Source: rollup_lift_store_day and rollup_lift_store_level (sql/rollups_lift.sql). Parameters:
# $base_min plus the above.
_WINDOWS_SQL = """
WITH span AS (SELECT min(date) AS first, max(date) AS last FROM rollup_lift_store_day),
w AS (
    SELECT w.id, w.start_date, least(w.end_date, span.last) AS end_date, w.own,
           date_diff('day', w.start_date, least(w.end_date, span.last)) + 1 AS campaign_days
    FROM ({windows}) w, span
    WHERE w.start_date <= span.last
)
SELECT *, CAST(7 * ceil(greatest($base_min, campaign_days) / 7.0) AS INTEGER) AS baseline_window_days
FROM w
"""

_TREATED_SQL = """
WITH w AS ({windows_sql}),
mem AS (SELECT DISTINCT id, store_id FROM ({members}) m WHERE id IN (SELECT id FROM w)),
t AS (
    SELECT w.id, sd.date, sd.city, sd.category, sd.date >= w.start_date AS in_campaign,
           sd.n_orders, sd.net_revenue, lv.level_orders, lv.level_revenue, sd.n_campaigns,
           sd.n_campaigns - CASE WHEN w.own AND sd.date >= w.start_date THEN 1 ELSE 0 END AS n_other
    FROM w
    JOIN mem USING (id)
    JOIN rollup_lift_store_day sd
      ON sd.store_id = mem.store_id
     AND sd.date BETWEEN w.start_date - w.baseline_window_days AND w.end_date
    JOIN rollup_lift_store_level lv ON lv.store_id = sd.store_id AND lv.wd = sd.wd
)
SELECT id, date, city, category, bool_or(in_campaign) AS in_campaign,
       sum(n_orders) AS y, sum(net_revenue) AS r, sum(level_orders) AS lo, sum(level_revenue) AS lr,
       count(*) FILTER (WHERE n_campaigns = 0) AS clean_stores,
       coalesce(sum(n_orders) FILTER (WHERE n_campaigns = 0), 0) AS y_clean,
       coalesce(sum(net_revenue) FILTER (WHERE n_campaigns = 0), 0) AS r_clean,
       coalesce(sum(level_orders) FILTER (WHERE n_campaigns = 0), 0) AS lo_clean,
       coalesce(sum(level_revenue) FILTER (WHERE n_campaigns = 0), 0) AS lr_clean,
       max(n_other) > 0 AS blocked
FROM t
GROUP BY id, date, city, category
ORDER BY id, date, city, category
"""

_STORES_SQL = """
SELECT id, count(DISTINCT store_id) AS stores FROM ({members}) m
WHERE id IN (SELECT id FROM ({windows}) w) GROUP BY ALL
"""

_CELLS_SQL = """
SELECT city, category, date, stores, n_orders, net_revenue, level_orders, level_revenue
FROM rollup_lift_cell_day
WHERE date BETWEEN $first AND $last
"""

_SPEND_SQL = """
SELECT campaign_id AS id, sum(amount) AS marketing_spend FROM rollup_campaign_costs
WHERE cost_type = 'marketing' AND {where} {ids_clause}
GROUP BY ALL
"""


def lift_filters(filters: Filters) -> Filters:
    """The part of the filters lift respects: which stores (city, category, store, scope).

    Dates are the campaign's own and its baseline's; channel and campaign filters would cut the
    non-campaign orders that the baseline and the lift are made of.
    """
    return filters.stores_only()


# ------------------------------------------------------------------------------------------
# Reading the rollups
# ------------------------------------------------------------------------------------------

def _run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """db.run with only the parameters ``sql`` refers to (DuckDB refuses unused ones)."""
    return db.run(con, sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})


def _read(con: duckdb.DuckDBPyConnection, windows: str, members: str,
          params: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(windows, treated days, store counts, control cells) for the given window/member SQL."""
    params = {**params, "base_min": BASELINE_MIN_DAYS}
    windows_sql = _WINDOWS_SQL.format(windows=windows)
    win = _run(con, windows_sql, params)
    if win.empty:
        return win, pd.DataFrame(), pd.DataFrame(), pd.DataFrame()
    treated = _run(con, _TREATED_SQL.format(windows_sql=windows_sql, members=members), params)
    stores = _run(con, _STORES_SQL.format(windows=windows_sql, members=members), params)
    first = min(win["start_date"]) - pd.Timedelta(days=int(win["baseline_window_days"].max()))
    cells = db.run(con, _CELLS_SQL, {"first": pd.Timestamp(first).date(), "last": max(win["end_date"])})
    return win, treated, stores, cells


#: Part of the derived tables' fingerprint (db.rollups_version): change it when the estimator
#: changes, so warehouses whose ``campaign_lift`` it wrote are refreshed.
TABLE_VERSION = "1"


def build_table(con: duckdb.DuckDBPyConnection, campaign_ids: Sequence[str] | None = None) -> int:
    """(Re)write ``campaign_lift``: every campaign's lift with all its stores measured, at build
    time (the campaign table's default view; at 10 million orders the estimate for all campaigns
    costs about a second). With ``campaign_ids`` (an import that changed only their inputs), only
    their rows are replaced: a campaign's estimate reads its own stores' days and the cells of its
    own days (:func:`input_days_sql`), so it is the same computed alone. Returns the rows written."""
    return write_table(con, campaign_ids, compute_table(con, campaign_ids))


#: the derived tables :func:`compute_table` (and :func:`input_days_sql`) read besides the
#: contract's: an import estimates lift on a second connection as soon as these are up to date,
#: beside the other steps (o2o_ops/incremental.py; tests/test_incremental.py checks it reads no other)
DERIVED_READS = ("rollup_campaign_store", "rollup_lift_store_day", "rollup_lift_store_level", "rollup_lift_cell_day",
                 "rollup_campaign_costs")


def compute_table(con: duckdb.DuckDBPyConnection, campaign_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The rows :func:`build_table` writes (all campaigns', or ``campaign_ids``'). Reads only; safe
    on a second connection while other tables are written."""
    if campaign_ids is not None and not len(campaign_ids):
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return campaign_lift(con, Filters(), campaign_ids, stored=False)


def write_table(con: duckdb.DuckDBPyConnection, campaign_ids: Sequence[str] | None, df: pd.DataFrame) -> int:
    """Replace ``campaign_lift``'s rows (all, or ``campaign_ids``') with :func:`compute_table`'s ``df``."""
    if campaign_ids is not None and not len(campaign_ids):
        return 0
    con.register("_lift", df.astype({c: "object" for c in ("campaign_id", "thin_reason", "verdict_short",
                                                            "verdict")}))
    try:
        if campaign_ids is None:
            con.execute("DROP TABLE IF EXISTS campaign_lift")
            con.execute("CREATE TABLE campaign_lift AS SELECT * FROM _lift")
        else:
            con.execute("DELETE FROM campaign_lift WHERE list_contains($ids, campaign_id)",
                        {"ids": [str(c) for c in campaign_ids]})
            con.execute(f"INSERT INTO campaign_lift ({', '.join(RESULT_COLUMNS)}) "
                        f"SELECT {', '.join(RESULT_COLUMNS)} FROM _lift")
    finally:
        con.unregister("_lift")
    return len(df)


def input_days_sql() -> str:
    """SQL of the days each campaign's estimate reads (parameter ``$base_min`` =
    :data:`BASELINE_MIN_DAYS`): one row per campaign that started by the last day of data, with
    ``first_day`` / ``last_day`` bounding its baseline and campaign days, of its stores in
    ``rollup_lift_store_day`` and of every cell in ``rollup_lift_cell_day`` (the incremental
    import recomputes a campaign whose inputs changed within them: o2o_ops/incremental.py)."""
    windows = _WINDOWS_SQL.format(windows=_CAMPAIGN_WINDOWS.format(ids_clause=""))
    return (f"SELECT id AS campaign_id, start_date - baseline_window_days AS first_day, end_date AS last_day "
            f"FROM ({windows}) w")


def campaign_lift(con: duckdb.DuckDBPyConnection, filters: Filters,
                  campaign_ids: Sequence[str] | None = None, *, stored: bool = True) -> pd.DataFrame:
    """One row per campaign (all, or ``campaign_ids``): lift, interval, incremental ROI, verdict.

    Without store filters (the controls are pooled over every store anyway) the result is the
    one stored at build time (:func:`build_table`); ``stored=False`` estimates it afresh.
    """
    flt = lift_filters(filters)
    if stored and flt.where_sql("rollup") == "TRUE":
        ids = "" if campaign_ids is None else "WHERE list_contains($ids, campaign_id)"
        df = db.run(con, f"SELECT * FROM campaign_lift {ids} ORDER BY campaign_id",
                    {} if campaign_ids is None else {"ids": [str(c) for c in campaign_ids]})
        return df[RESULT_COLUMNS]
    params: dict[str, Any] = dict(flt.params("rollup"))
    ids_clause = ""
    if campaign_ids is not None:
        ids_clause = "AND list_contains($ids, campaign_id)"
        params["ids"] = [str(c) for c in campaign_ids]
    where = flt.where_sql("rollup")
    win, treated, stores, cells = _read(
        con, _CAMPAIGN_WINDOWS.format(ids_clause=ids_clause), _CAMPAIGN_MEMBERS.format(where=where), params)
    if win.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    spend = db.run(con, _SPEND_SQL.format(where=where, ids_clause=ids_clause), params)
    return estimate(win, treated, stores, cells, spend)


def window_lift(con: duckdb.DuckDBPyConnection, windows: Sequence[tuple[str, Sequence[str], Any, Any]]) -> pd.DataFrame:
    """Lift of fake campaigns ``(id, store_ids, first_day, last_day)``: the same estimator, for
    placebo runs where no campaign ran (their stores' clean days stay out of the control pool)."""
    if not windows:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    params = {"w_ids": [w[0] for w in windows], "w_starts": [w[2] for w in windows],
              "w_ends": [w[3] for w in windows],
              "m_ids": [w[0] for w in windows for _ in w[1]], "m_stores": [s for w in windows for s in w[1]]}
    win, treated, stores, cells = _read(con, _GIVEN_WINDOWS, _GIVEN_MEMBERS, params)
    return estimate(win, treated, stores, cells, pd.DataFrame(columns=["id", "marketing_spend"]))


# ------------------------------------------------------------------------------------------
# The estimator (pure: frames in, frame out)
# ------------------------------------------------------------------------------------------

def fit_two_way(n: np.ndarray, level: np.ndarray,
                    start: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two-way multiplicative fit per row: ``n[b, c, g] ≈ level[b, c, g] · exp(a[b, c] + g_[b, g])``.

    ``n`` (actual) and ``level`` (usual) are arrays of shape (rows, cities, categories) -- a row
    is one window's 7-day block here; a cell
    with level 0 has no control. Poisson maximum likelihood by iterative proportional fitting
    (each step matches the city, then the category totals), from ``start`` (a, g_) when given;
    rows stop once their effects move less than the tolerance. Returns ``(a, g_)``; a city or
    category without a control gets effect 0 (callers check identification).
    """
    n = np.clip(np.nan_to_num(n), 0.0, None)
    level = np.clip(np.nan_to_num(level), 0.0, None)
    if start is None:
        a, g = np.zeros(n.shape[:2]), np.zeros((n.shape[0], n.shape[2]))
    else:
        a, g = start[0].copy(), start[1].copy()
    n_city, n_cat = np.maximum(n.sum(axis=2), 1e-9), np.maximum(n.sum(axis=1), 1e-9)
    active = np.arange(n.shape[0])
    for _ in range(_IPF_ITERATIONS):
        lv, ga = level[active], g[active]
        den = (lv * np.exp(ga)[:, None, :]).sum(axis=2)
        a_new = np.where(den > 0, np.log(n_city[active] / np.where(den > 0, den, 1.0)), 0.0)
        den = (lv * np.exp(a_new)[:, :, None]).sum(axis=1)
        g_new = np.where(den > 0, np.log(n_cat[active] / np.where(den > 0, den, 1.0)), 0.0)
        change = np.maximum(np.abs(a_new - a[active]).max(axis=1, initial=0.0),
                            np.abs(g_new - ga).max(axis=1, initial=0.0))
        a[active], g[active] = a_new, g_new
        active = active[change >= _IPF_TOLERANCE]
        if not len(active):
            break
    return a, g


def _linked(cells: set[tuple[int, int]], city: int, cat: int) -> bool:
    """Whether ``city`` and ``cat`` are joined by a chain of cells with controls, so that
    a_city + b_category is determined by the two-way fit."""
    parent: dict[tuple[str, int], tuple[str, int]] = {}

    def root(x: tuple[str, int]) -> tuple[str, int]:
        parent.setdefault(x, x)
        while parent[x] != x:
            x = parent[x]
        return x

    for c, g in cells:
        parent[root(("c", c))] = root(("g", g))
    return root(("c", city)) == root(("g", cat))


@functools.lru_cache(maxsize=None)
def _t_quantile(dof: int) -> float:
    # Student's t quantile by scipy.special's stdtrit, what scipy.stats.t.ppf computes (the same
    # value to the bit): importing scipy.stats took 0.6-0.8 s of every import that recomputes a
    # campaign's lift, and of every command that starts, for this one function. Imported here, not
    # with the module: scipy.special takes 0.15-0.2 s more, which an import spends in the worker
    # that computes lift beside the SQL steps (the module itself is imported by every import, for
    # its TABLE_VERSION)
    from scipy import special
    return float(special.stdtrit(dof, 0.5 + CONFIDENCE / 2))


def _t_interval(l_base: np.ndarray, l_camp: np.ndarray) -> tuple[float, float, float] | None:
    """(θ, low, high) of the two-sample t on block log-ratios; None when it cannot be formed."""
    nb, nc = len(l_base), len(l_camp)
    dof = nb + nc - 2
    if nb < 1 or nc < 1:
        return None
    theta = float(l_camp.mean() - l_base.mean())
    if dof < 1:
        return theta, math.nan, math.nan
    ss = float(((l_base - l_base.mean()) ** 2).sum() + ((l_camp - l_camp.mean()) ** 2).sum())
    half = _t_quantile(dof) * math.sqrt(ss / dof) * math.sqrt(1 / nb + 1 / nc)
    return theta, theta - half, theta + half


def estimate(win: pd.DataFrame, treated: pd.DataFrame, stores: pd.DataFrame, cells: pd.DataFrame,
             spend: pd.DataFrame) -> pd.DataFrame:
    """Lift per window from the rollup reads (see the module docstring for the method).

    Vectorised over every (window, day): one two-way fit for all of them at once.
    """
    stores_by_id = dict(zip(stores.get("id", []), stores.get("stores", [])))
    spend_by_id = dict(zip(spend.get("id", []), spend.get("marketing_spend", [])))
    results = {}
    if not treated.empty:
        results = _estimate_all(win, treated, cells)
    rows = []
    for w in win.to_dict("records"):
        out: dict[str, Any] = {c: None for c in RESULT_COLUMNS}
        n_stores = int(stores_by_id.get(w["id"], 0) or 0)
        out.update(campaign_id=w["id"], stores=n_stores, is_thin=True, baseline_days=0, baseline_orders=0,
                   baseline_weeks=0, campaign_weeks=0, control_stores=0.0,
                   marketing_spend=float(spend_by_id.get(w["id"], 0.0) or 0.0))
        if n_stores == 0 or w["id"] not in results:
            out["thin_reason"] = "no orders at its stores"
        else:
            _judge(out, results[w["id"]])
        rows.append(_finish(out))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _days(values: pd.Series) -> np.ndarray:
    return pd.to_datetime(values).to_numpy().astype("datetime64[D]").astype(np.int64)


def _estimate_all(win: pd.DataFrame, treated: pd.DataFrame, cells: pd.DataFrame) -> dict[Any, dict]:
    """Per window id: its counted blocks (baseline and campaign), comparable stores, linkage."""
    cities = sorted(set(cells["city"].unique()) | set(treated["city"].unique()))
    cats = sorted(set(cells["category"].unique()) | set(treated["category"].unique()))

    def codes(values: pd.Series, labels: list[str]) -> np.ndarray:
        return pd.Categorical(values.astype(object), categories=labels).codes.astype(np.int64)
    t_day = _days(treated["date"])
    first = int(min(t_day.min(), _days(cells["date"]).min() if not cells.empty else t_day.min()))
    n_days = int(t_day.max()) - first + 1
    shape = (n_days, len(cities), len(cats))
    pool = {k: np.zeros(shape) for k in ("stores", "n_orders", "level_orders", "net_revenue", "level_revenue")}
    if not cells.empty:
        c_day = _days(cells["date"]) - first
        keep = c_day < n_days
        idx = (c_day[keep], codes(cells["city"], cities)[keep], codes(cells["category"], cats)[keep])
        for k in pool:
            np.add.at(pool[k], idx, cells[k].to_numpy(dtype=float)[keep])

    # One row per (window, day), then per (window, 7-day block) over the usable days: blocks count
    # from the window's first day (negative: baseline); days when a measured store ran another
    # campaign are left out.
    ids, id_code = np.unique(treated["id"].astype(str).to_numpy(), return_inverse=True)
    rows, row = np.unique(id_code.astype(np.int64) * n_days + (t_day - first), return_inverse=True)
    row_day, row_id = rows % n_days, rows // n_days
    n_rows = len(rows)
    start_of = dict(zip(win["id"].astype(str), _days(win["start_date"]) - first))
    block = np.floor_divide(row_day - np.array([start_of[i] for i in ids])[row_id], 7)
    keep = np.bincount(row, treated["blocked"].to_numpy(dtype=float), n_rows) == 0
    offset = int(-block.min())
    span = int(block.max()) + offset + 1
    b_key, b_of_kept = np.unique((row_id * span + block + offset)[keep], return_inverse=True)
    n_blocks = len(b_key)
    b_of_row = np.full(n_rows, -1)
    b_of_row[keep] = b_of_kept
    b_id, b_block = b_key // span, b_key % span - offset
    b_days = np.bincount(b_of_kept, minlength=n_blocks).astype(float)

    # The control pool of each block: the pool's cells summed over the block's usable days, less
    # the measured stores' own clean store-days.
    kept_rows = np.flatnonzero(keep)
    firsts = np.searchsorted(b_of_kept, np.arange(n_blocks))
    c_idx, g_idx = codes(treated["city"], cities), codes(treated["category"], cats)
    t_b = b_of_row[row]
    t_in = t_b >= 0
    sub, mine = {}, {}
    for k, col in (("stores", "clean_stores"), ("n_orders", "y_clean"), ("level_orders", "lo_clean"),
                   ("net_revenue", "r_clean"), ("level_revenue", "lr_clean")):
        sub[k] = (np.add.reduceat(pool[k][row_day[kept_rows]], firsts, axis=0) if n_blocks
                  else np.zeros((0, *shape[1:])))
        np.subtract.at(sub[k], (t_b[t_in], c_idx[t_in], g_idx[t_in]), treated[col].to_numpy(dtype=float)[t_in])
        np.clip(sub[k], 0.0, None, out=sub[k])
    empty = sub["stores"] < 0.5            # no store-day left in the cell: nothing, not a rounding residue
    for k in sub:
        sub[k][empty] = 0.0
    for k, col in (("lo", "lo"), ("lr", "lr")):     # the measured stores' usual level, per block and cell
        mine[k] = np.zeros((n_blocks, *shape[1:]))
        np.add.at(mine[k], (t_b[t_in], c_idx[t_in], g_idx[t_in]), treated[col].to_numpy(dtype=float)[t_in])
    a, g = fit_two_way(sub["n_orders"], sub["level_orders"])
    ar, gr = fit_two_way(sub["net_revenue"], sub["level_revenue"])
    # a block counts only where each measured cell's city and category have controls in it
    lv = sub["level_orders"]
    unlinked = ~((lv.sum(axis=2) > 0)[t_b[t_in], c_idx[t_in]] & (lv.sum(axis=1) > 0)[t_b[t_in], g_idx[t_in]])
    b_ok = np.bincount(t_b[t_in], unlinked.astype(float), n_blocks) == 0
    sums = {
        "n": np.where(b_ok, b_days, 0.0),
        "y": np.bincount(t_b[t_in], treated["y"].to_numpy(dtype=float)[t_in], n_blocks),
        "r": np.bincount(t_b[t_in], treated["r"].to_numpy(dtype=float)[t_in], n_blocks),
        "e": (mine["lo"] * np.exp(a[:, :, None] + g[:, None, :])).sum(axis=(1, 2)),
        "er": (mine["lr"] * np.exp(ar[:, :, None] + gr[:, None, :])).sum(axis=(1, 2)),
    }
    # comparable stores on an average day, per block and cell: same city or same category
    st = sub["stores"]
    comparable = (st.sum(axis=2)[:, :, None] + st.sum(axis=1)[:, None, :] - st) / np.maximum(b_days, 1)[:, None, None]

    b_bounds = np.searchsorted(b_id, np.arange(len(ids) + 1))
    id_cells = np.unique(np.stack([id_code, c_idx, g_idx], axis=1), axis=0)
    cell_bounds = np.searchsorted(id_cells[:, 0], np.arange(len(ids) + 1))
    out: dict[Any, dict] = {}
    for k, wid in enumerate(ids):
        sl = slice(b_bounds[k], b_bounds[k + 1])
        counted = sums["n"][sl] >= MIN_BLOCK_DAYS
        blocks = {name: v[sl][counted] for name, v in sums.items()}
        blocks["block"] = b_block[sl][counted]
        cells_k = id_cells[cell_bounds[k]:cell_bounds[k + 1], 1:]
        if sl.stop > sl.start:
            cs, gs = np.nonzero(sub["level_orders"][sl].sum(axis=0) > 0)
            control = float(min(comparable[sl, c, g_].mean() for c, g_ in cells_k))
        else:
            cs, gs, control = np.array([], int), np.array([], int), 0.0
        with_controls = set(zip(cs.tolist(), gs.tolist()))
        out[wid] = {"blocks": blocks, "control_stores": control,
                    "linked": all(_linked(with_controls, int(c), int(g_)) for c, g_ in cells_k),
                    "weeks_without_controls": int((~b_ok[sl] & (b_days[sl] >= MIN_BLOCK_DAYS)).sum())}
    return out


def _judge(out: dict[str, Any], res: dict) -> None:
    """Fill ``out`` from one window's blocks: θ, intervals, extra orders and revenue, thinness."""
    blocks = res["blocks"]
    is_base = blocks["block"] < 0
    base = {k: v[is_base] for k, v in blocks.items()}
    camp = {k: v[~is_base] for k, v in blocks.items()}
    out.update(baseline_weeks=len(base["n"]), campaign_weeks=len(camp["n"]), baseline_days=int(base["n"].sum()),
               baseline_orders=int(round(base["y"].sum())), control_stores=res["control_stores"])
    if not len(camp["n"]):
        out["thin_reason"] = (_NO_LINK if not res["linked"] or res["weeks_without_controls"]
                              else "no campaign week with data")
        return
    actual, actual_r = float(camp["y"].sum()), float(camp["r"].sum())
    out.update(actual_orders=actual, actual_net_revenue=actual_r)
    reasons = []
    if len(base["n"]) < MIN_BASELINE_WEEKS:
        n_base = len(base["n"])
        reasons.append(f"only {n_base} baseline week{'' if n_base == 1 else 's'} before it (need {MIN_BASELINE_WEEKS})")
    if out["baseline_orders"] < MIN_BASELINE_ORDERS:
        reasons.append(f"only {out['baseline_orders']:,} baseline orders (need {MIN_BASELINE_ORDERS})")
    if out["control_stores"] < MIN_CONTROL_STORES:
        reasons.append(f"only {out['control_stores']:.1f} comparable stores without a campaign "
                       f"(same city or category; need {MIN_CONTROL_STORES})")
    elif not res["linked"]:
        reasons.append(_NO_LINK)
    ok = (blocks["y"] > 0) & (blocks["e"] > 0)
    if not ok.all():
        reasons.append("a week without orders")
    fit = None
    if ok.all() and len(base["n"]):
        fit = _t_interval(np.log(base["y"] / base["e"]), np.log(camp["y"] / camp["e"]))
    if fit is not None:
        theta, lo, hi = fit
        expected = actual / math.exp(theta)
        out.update(expected_orders=expected, extra_orders=actual - expected, lift=math.expm1(theta))
        if not math.isnan(lo):
            out.update(lift_low=math.expm1(lo), lift_high=math.expm1(hi),
                       extra_orders_low=actual * -math.expm1(-lo), extra_orders_high=actual * -math.expm1(-hi))
    rev_ok = (blocks["r"] > 0) & (blocks["er"] > 0)
    fit_r = None
    if rev_ok.all() and len(base["n"]):
        fit_r = _t_interval(np.log(base["r"] / base["er"]), np.log(camp["r"] / camp["er"]))
    spend = out["marketing_spend"]
    if fit_r is not None:
        theta_r, lo_r, hi_r = fit_r
        extra_r = actual_r * -math.expm1(-theta_r)
        out.update(expected_net_revenue=actual_r - extra_r, extra_net_revenue=extra_r)
        if not math.isnan(lo_r):
            out.update(extra_net_revenue_low=actual_r * -math.expm1(-lo_r),
                       extra_net_revenue_high=actual_r * -math.expm1(-hi_r))
        if spend > 0:
            out["incremental_roi"] = (extra_r - spend) / spend
            if out["extra_net_revenue_low"] is not None:
                out["incremental_roi_low"] = (out["extra_net_revenue_low"] - spend) / spend
                out["incremental_roi_high"] = (out["extra_net_revenue_high"] - spend) / spend
    if out["lift_low"] is None and not reasons:
        reasons.append("too few weeks to measure how much weeks vary")
    out["is_thin"] = bool(reasons)
    out["thin_reason"] = "; ".join(reasons) or None


def _finish(out: dict[str, Any]) -> dict[str, Any]:
    out["verdict_short"] = verdict_short(out)
    out["verdict"] = verdict(out)
    return out


def verdict_short(result: dict[str, Any]) -> str:
    """The verdict label: Real lift, Hurts, No clear effect, Too thin to judge or No data."""
    if not result.get("stores") or result.get("thin_reason") == "no orders at its stores":
        return NO_DATA
    if result["is_thin"] or result.get("lift_low") is None:
        return TOO_THIN
    if result["lift_low"] > 0:
        return REAL_LIFT
    if result["lift_high"] < 0:
        return HURTS
    return NO_CLEAR_EFFECT


def verdict(result: dict[str, Any], lang: str = "en") -> str:
    """One sentence a manager can act on, starting with the verdict label, in ``lang``."""
    lang = i18n.check(lang)
    label = verdict_short(result)
    if label == NO_DATA:
        return i18n.t("lift.no_data", lang)
    if label == TOO_THIN:
        return i18n.t("lift.too_thin", lang, reason=thin_reason_words(result.get("thin_reason"), lang))
    pct = lambda v: units.format_value(v, "ratio", lang=lang)  # noqa: E731  (+12%, — when missing)
    lift, low, high = result["lift"], result["lift_low"], result["lift_high"]
    interval = i18n.t("lift.interval", lang, low=pct(low), high=pct(high))
    if label == REAL_LIFT:
        extra = units.format_value(result["extra_orders"], "count", lang=lang)
        money = ""
        if result.get("extra_net_revenue") is not None:
            value = result["extra_net_revenue"]
            money = i18n.t("lift.net_revenue", lang, sign="+" if value >= 0 else "",
                           value=units.format_value(value, "currency", lang=lang))
        return i18n.t("lift.real_lift", lang, lift=pct(lift), interval=interval, extra=extra, money=money)
    if label == HURTS:
        return i18n.t("lift.hurts", lang, lift=pct(lift), interval=interval,
                      fewer=units.format_value(-result["extra_orders"], "count", lang=lang))
    return i18n.t("lift.no_clear", lang, lift=pct(lift), interval=interval)


# The thin reasons as _judge writes them (English, "; "-joined), and their catalogue keys.
_REASONS = (
    (re.compile(r"^only (\d+) baseline weeks? before it \(need (\d+)\)$"), "lift.reason_weeks", ("count", "need")),
    (re.compile(r"^only ([\d,]+) baseline orders \(need (\d+)\)$"), "lift.reason_orders", ("count", "need")),
    (re.compile(r"^only ([\d.]+) comparable stores without a campaign \(same city or category; need (\d+)\)$"),
     "lift.reason_controls", ("count", "need")),
    (re.compile("^" + re.escape(_NO_LINK) + "$"), "lift.reason_no_link", ()),
    (re.compile(r"^a week without orders$"), "lift.reason_empty_week", ()),
    (re.compile(r"^too few weeks to measure how much weeks vary$"), "lift.reason_few_weeks", ()),
    (re.compile(r"^no campaign week with data$"), "lift.reason_no_campaign_week", ()),
    (re.compile(r"^no orders at its stores$"), "lift.reason_no_orders", ()),
)


def thin_reason_words(reason: str | None, lang: str = "en") -> str:
    """Why a lift is too thin to judge (``thin_reason``, English as stored) in ``lang``."""
    lang = i18n.check(lang)
    if not reason:
        return i18n.t("lift.reason_none", lang)
    if lang == "en":
        return reason
    parts = []
    for part in re.split(r"; (?![^(]*\))", reason):   # not the "; " inside a parenthesis
        for pattern, key, fields in _REASONS:
            match = pattern.match(part)
            if match:
                parts.append(i18n.t(key, lang, **dict(zip(fields, match.groups()))))
                break
        else:
            parts.append(part)
    return i18n.t("lift.reason_separator", lang).join(parts)
