"""Is the lift's 95 % interval honest? Measured on demo warehouses whose truth is known.

The demo plants a different true effect per campaign (``demo.CAMPAIGN_EFFECTS``: none, negative
and positive ones, recorded in ``warehouse_meta``), on top of the holidays, weekday profiles and
city-wide spikes it always plants. For each seed, :func:`run_seed` builds a demo warehouse,
measures every campaign with :func:`o2o_ops.lift.campaign_lift` and checks:

- **coverage**: the share of judged campaigns (not "too thin") whose 95 % interval contains the
  planted effect (goal ≥ 90 %);
- **false lift**: the share of judged campaigns with no planted effect (×1.0) called "Real lift"
  (goal ≤ 5 %);
- **placebo runs**: fake campaigns where none ran, measured by the same estimator
  (:func:`o2o_ops.lift.window_lift`): a campaign's stores in another period of the same length
  with no campaign at them, and the clean stores of a random city x category cell; the share of
  judged placebos whose interval contains 0 (goal ≥ 90 %).

It also measures the anomaly flags (:func:`o2o_ops.anomalies.evaluate_demo`): the share of the
planted spikes' store-weeks flagged (and of the weeks their vouchers were sold in ahead), and the
share of unplanted store-weeks flagged (goal < 5 %).

Everything is deterministic per seed (the demo and the placebo draws).
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd

from o2o_ops import anomalies, demo, lift
from o2o_ops.filters import Filters

GOALS = {"coverage": 0.90, "false_lift": 0.05, "placebo_contains_zero": 0.90, "unplanted_flagged": 0.05}


def _placebo_windows(con: duckdb.DuckDBPyConnection, seed: int) -> list[tuple[str, list[str], dt.date, dt.date]]:
    """Fake campaigns where none ran (see the module docstring); deterministic per seed."""
    rng = np.random.default_rng(seed)
    sd = con.execute("SELECT store_id, date, n_campaigns, city, category FROM rollup_lift_store_day").df()
    busy = sd.pivot(index="date", columns="store_id", values="n_campaigns").fillna(0) > 0
    dates = pd.to_datetime(busy.index)
    first = dates.min()
    camps = con.execute("""SELECT k.campaign_id, k.start_date, k.end_date, list(r.store_id ORDER BY r.store_id) AS stores
                           FROM campaigns k JOIN rollup_campaign_store r USING (campaign_id) GROUP BY ALL
                           ORDER BY k.campaign_id""").fetchall()
    cells = sd.groupby(["city", "category"])["store_id"].unique()
    base = lift.BASELINE_MIN_DAYS

    def clean(stores: list[str], start: pd.Timestamp, days: int) -> bool:
        window = busy.loc[(dates >= start) & (dates < start + pd.Timedelta(days=days)), stores]
        return len(window) == days and not window.to_numpy().any()

    starts = [first + pd.Timedelta(days=7 * w) for w in range(len(dates) // 7)]
    out = []
    for cid, start, end, stores in camps:
        days = (pd.Timestamp(end) - pd.Timestamp(start)).days + 1
        weeks = math.ceil(max(base, days) / 7)
        # (a) the campaign's stores, another period of the same length without any campaign there
        options = [s for s in starts if s - pd.Timedelta(days=7 * weeks) >= first and clean(stores, s, days)]
        if options:
            s = options[int(rng.integers(len(options)))]
            out.append((f"P-{cid}", list(stores), s.date(), (s + pd.Timedelta(days=days - 1)).date()))
        # (b) a random cell's stores that ran no campaign in such a period
        members = list(cells.iloc[int(rng.integers(len(cells)))])
        s = starts[int(rng.integers(len(starts)))]
        if s - pd.Timedelta(days=7 * weeks) >= first:
            free = [m for m in members if clean([m], s, days)]
            if free:
                out.append((f"Q-{cid}", free, s.date(), (s + pd.Timedelta(days=days - 1)).date()))
    return out


def run_seed(path: Path, seed: int, orders: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the demo for ``seed`` at ``path``; return :func:`measure` of it."""
    demo.build_demo(path, orders=orders, seed=seed)
    return measure(path, seed)


def measure(path: Path, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(campaign results with the truth, placebo results) of the demo warehouse at ``path``."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        truth = demo.campaign_effects(con)
        camp = lift.campaign_lift(con, Filters())
        placebo = lift.window_lift(con, _placebo_windows(con, seed))
    finally:
        con.close()
    camp["truth"] = camp["campaign_id"].map(truth) - 1.0
    for df in (camp, placebo):
        df.insert(0, "seed", seed)
        df["judged"] = ~df["is_thin"].astype(bool) & df["lift_low"].notna()
    camp["covered"] = (camp["lift_low"] <= camp["truth"]) & (camp["truth"] <= camp["lift_high"])
    placebo["contains_zero"] = (placebo["lift_low"] <= 0) & (0 <= placebo["lift_high"])
    return camp, placebo


def summarise(camp: pd.DataFrame, placebo: pd.DataFrame) -> dict:
    """The headline figures over every seed (shares are of judged campaigns / placebos)."""
    j = camp[camp["judged"]]
    zero = j[j["truth"].abs() < 1e-12]
    pj = placebo[placebo["judged"]]
    log_err = np.log1p(j["lift"].astype(float)) - np.log1p(j["truth"].astype(float))
    return {
        "seeds": int(camp["seed"].nunique()), "campaigns": len(camp), "judged": len(j),
        "coverage": float(j["covered"].mean()) if len(j) else math.nan,
        "zero_effect_judged": len(zero),
        "false_lift": float((zero["verdict_short"] == lift.REAL_LIFT).mean()) if len(zero) else math.nan,
        "placebos": len(placebo), "placebos_judged": len(pj),
        "placebo_contains_zero": float(pj["contains_zero"].mean()) if len(pj) else math.nan,
        "placebo_false_verdict": float(pj["verdict_short"].isin([lift.REAL_LIFT, lift.HURTS]).mean()) if len(pj) else math.nan,
        "bias_log": float(log_err.mean()) if len(j) else math.nan,
        "rmse_log": float(np.sqrt((log_err ** 2).mean())) if len(j) else math.nan,
        "median_interval_width": float((j["lift_high"] - j["lift_low"]).median()) if len(j) else math.nan,
        "real_effects_found": float((j[j["truth"].abs() >= 0.1]["verdict_short"].isin([lift.REAL_LIFT, lift.HURTS])).mean())
        if len(j[j["truth"].abs() >= 0.1]) else math.nan,
    }


def calibrate(seeds: int = 5, orders: int = 100_000, first_seed: int = 1,
              progress: Callable[[str], None] | None = None) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Run :func:`run_seed` for ``seeds`` seeds from ``first_seed``; (summary, campaigns, placebos)."""
    say = progress or (lambda message: None)
    camps, placebos, flags = [], [], []
    with tempfile.TemporaryDirectory(prefix="o2o-calibrate-") as tmp:
        for seed in range(first_seed, first_seed + seeds):
            camp, placebo = run_seed(Path(tmp) / f"seed{seed}.duckdb", seed, orders)
            camps.append(camp)
            placebos.append(placebo)
            con = duckdb.connect(str(Path(tmp) / f"seed{seed}.duckdb"), read_only=True)
            try:
                flags.append(anomalies.evaluate_demo(con))
            finally:
                con.close()
            j = camp[camp["judged"]]
            say(f"seed {seed}: {len(j)} of {len(camp)} campaigns judged, {int(j['covered'].sum())} intervals "
                f"contain the truth; {int(placebo['judged'].sum())} placebos judged, "
                f"{int(placebo.loc[placebo['judged'], 'contains_zero'].sum())} contain 0")
            (Path(tmp) / f"seed{seed}.duckdb").unlink(missing_ok=True)
    camp_all, placebo_all = pd.concat(camps, ignore_index=True), pd.concat(placebos, ignore_index=True)
    summary = summarise(camp_all, placebo_all)
    summary["anomalies"] = summarise_anomalies(flags)
    return summary, camp_all, placebo_all


def summarise_anomalies(runs: list[dict]) -> dict:
    """Anomaly flags over the seeds: share of planted-spike store-weeks flagged (on orders, on any
    KPI) and share of unplanted store-weeks flagged (weighted by store-weeks)."""
    n = sum(r["unplanted_store_weeks"] for r in runs)
    return {
        "spike_found_orders": float(np.mean([v for r in runs for v in r["spike_store_weeks_found"].values()])),
        "spike_found_any_kpi": float(np.mean([v for r in runs for v in r["spike_store_weeks_found_any_kpi"].values()])),
        "spike_found_orders_worst": float(min(v for r in runs for v in r["spike_store_weeks_found"].values())),
        "spike_found_any_kpi_worst": float(min(v for r in runs for v in r["spike_store_weeks_found_any_kpi"].values())),
        "presale_found_any_kpi": float(np.mean([v for r in runs for v in r["presale_store_weeks_found_any_kpi"].values()])),
        "unplanted_store_weeks": n,
        "unplanted_flagged_share": float(sum(r["unplanted_flagged_share"] * r["unplanted_store_weeks"] for r in runs) / n)
        if n else math.nan,
    }
