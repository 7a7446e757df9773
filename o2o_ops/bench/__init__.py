"""The benchmark: ``python -m o2o_ops bench [--orders N]``.

Builds (or reuses) a demo warehouse of N orders and measures, as medians over several runs:

- page queries: every warehouse call each page makes (recorded by running the page in
  Streamlit's AppTest, see :mod:`o2o_ops.bench.recorder`), replayed uncached, for the default
  filters and for a narrow set (one city, one category);
- the campaign -> store -> orders drill-down (:func:`o2o_ops.campaigns.drilldown_queries`);
- the app in headless Chromium: process start to the overview's KPI cards visible, navigation to
  cards visible on a running app, and the app process's peak memory after opening every page;
- the demo build time and the warehouse size;
- imports (:mod:`o2o_ops.bench.imports`): 1,000 and 100,000 new orders and 1,000 corrected
  orders into a throwaway copy, the full rebuild against the incremental path (right after the
  rebuild, and again with the warehouse in the page cache): time, peak memory,
  and the speed of the warehouse file copy every import makes;
- a baseline as a typical Streamlit tutorial would write it: the fact tables loaded into pandas
  and the overview's headline KPIs computed there; reported with the ratio ours / baseline;
- with ``--spark``, the scaled-out build (:func:`scale_out`): contract tables exported to Parquet,
  every derived table built from them on DuckDB and on Spark, a serving warehouse assembled.

Timings are reported, never asserted: the test suite runs this at a small size only to check
that it completes and reports every figure.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from o2o_ops import config, db, demo
from o2o_ops.kpis.measures import evaluate
from o2o_ops.filters import Filters

PAGES = ("pages/overview.py", "pages/quality.py", "pages/cost.py", "pages/efficiency.py",
         "pages/symmetry.py", "pages/map.py", "pages/campaigns.py", "pages/data.py", "pages/definitions.py")
ROOT = Path(__file__).resolve().parents[2]


def machine() -> str:
    cores = os.cpu_count()
    try:
        mem_kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
        mem = f"{mem_kb / 1024 ** 2:.0f} GiB"
    except (OSError, StopIteration):
        mem = "unknown memory"
    return f"{cores} cores, {mem}, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def median_time(fn: Callable[[], Any], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def ensure_warehouse(path: Path, orders: int, seed: int = 42) -> dict[str, Any]:
    """Reuse the warehouse at ``path`` if it has ``orders`` orders, else build it; time the build."""
    if path.exists():
        try:
            con = db.connect(path)
        except db.StaleWarehouse:
            with db.rebuild(path):   # derived tables of an older version: refresh, keep the data
                pass
            con = db.connect(path)
        try:
            if db.scalar(con, "SELECT count(*) FROM orders") == orders:
                return {"build_s": None, "reused": True}
        finally:
            con.close()
    start = time.perf_counter()
    demo.build_demo(path, orders=orders, seed=seed)
    return {"build_s": time.perf_counter() - start, "reused": False}


def narrow_filters(con) -> dict[str, Any]:
    """One city and one category: the busiest pair, as URL query parameters."""
    row = db.run(con, """SELECT city, category FROM rollup_day_store_channel_campaign GROUP BY ALL
                         ORDER BY sum(count_orders) DESC LIMIT 1""").iloc[0]
    return {"city": row["city"], "category": row["category"]}


def page_queries(path: Path, runs: int) -> list[dict[str, Any]]:
    from o2o_ops.bench import recorder

    con = db.connect(path)
    narrow = narrow_filters(con)
    rows = []
    try:
        for label, query in (("default", {}), (f"{narrow['city']} · {narrow['category']}", narrow)):
            for page in PAGES:
                calls = recorder.record_page(page, path, query)
                timing = recorder.replay(con, calls, runs)
                rows.append({"page": Path(page).stem, "filters": label, **timing})
    finally:
        con.close()
    return rows


def drilldown(path: Path, runs: int) -> dict[str, Any]:
    from o2o_ops import campaigns

    con = db.connect(path)
    try:
        pick = db.run(con, """SELECT campaign_id, store_id FROM rollup_day_store_channel_campaign WHERE campaign_id IS NOT NULL
                              GROUP BY ALL ORDER BY sum(count_orders) DESC LIMIT 1""").iloc[0]
        filters = Filters()
        orders_only = median_time(lambda: (
            campaigns.count_campaign_orders(con, filters, pick["campaign_id"], pick["store_id"]),
            campaigns.campaign_orders_page(con, filters, pick["campaign_id"], pick["store_id"], 1)), runs)
        whole = median_time(lambda: campaigns.drilldown_queries(con, filters, pick["campaign_id"],
                                                               pick["store_id"], 1), runs)
    finally:
        con.close()
    return {"campaign": pick["campaign_id"], "store": pick["store_id"], "orders_page_s": orders_only,
            "whole_drilldown_s": whole}


# ------------------------------------------------------------------------------------------
# The tutorial baseline
# ------------------------------------------------------------------------------------------

def pandas_baseline(path: Path, runs: int) -> dict[str, Any]:
    """Load the fact tables into pandas and compute the overview's headline KPIs for the last
    complete week and the one before, the way a typical Streamlit tutorial does."""
    con = db.connect(path)
    start = time.perf_counter()
    frames = {t: con.execute(f"SELECT * FROM {t}").df()
              for t in ("orders", "redemptions", "reviews", "refunds", "costs", "stores")}
    load_s = time.perf_counter() - start
    con.close()

    def compute() -> pd.DataFrame:
        o = frames["orders"].merge(frames["redemptions"][["order_id", "redeemed_at", "extra_spend"]],
                                   on="order_id", how="left")
        o["week"] = o["ordered_at"].dt.to_period("W-SUN")
        last_week = (pd.Timestamp(o["ordered_at"].max()) - pd.Timedelta(days=7)).to_period("W-SUN")
        weeks = [last_week - 1, last_week]
        o = o[o["week"].isin(weeks)]
        paid = o[o["status"] != "cancelled"]
        refunds = frames["refunds"].groupby("order_id")["amount"].sum()
        reviews = frames["reviews"].merge(o[["order_id", "week"]], on="order_id")
        costs = frames["costs"].copy()
        costs["week"] = pd.to_datetime(costs["date"]).dt.to_period("W-SUN")
        out = []
        for week in weeks:
            p = paid[paid["week"] == week]
            c = costs[costs["week"] == week]
            refunded = p["order_id"].map(refunds).fillna(0)
            # the measures the declared formulas read (o2o_ops/kpis/measures.py), summed in pandas
            by_type = c.groupby("cost_type")["amount"].sum()
            sums = {"paid_amount": p["paid_amount"].sum(), "refund_amount": refunded.sum(),
                    "extra_spend": p["extra_spend"].fillna(0).sum(), "platform_fee": p["platform_fee"].sum(),
                    "discount_amount": p["discount_amount"].sum(), "marketing": by_type.get("marketing", 0.0),
                    "staff": by_type.get("staff", 0.0),
                    "other_cost": by_type.drop(["marketing", "staff"], errors="ignore").sum()}
            cost = evaluate("cash_cost", sums)
            net = evaluate("net_revenue", sums)
            redeemed = p["redeemed_at"].notna().sum()
            out.append({
                "week": str(week), "orders": int((o["week"] == week).sum()), "revenue": p["paid_amount"].sum(),
                "redemption_rate": redeemed / len(p) if len(p) else None,
                "avg_rating": reviews.loc[reviews["week"] == week, "rating"].mean(),
                "refund_rate": (refunded > 0).mean() if len(p) else None,
                "cost_per_redemption": evaluate("promo_cost", sums) / redeemed if redeemed else None,
                "roi": (net - cost) / cost if cost else None,
            })
        return pd.DataFrame(out)

    compute_s = median_time(compute, max(1, runs // 2))
    memory_mb = sum(df.memory_usage(deep=True).sum() for df in frames.values()) / 2 ** 20
    return {"load_s": load_s, "compute_s": compute_s, "first_view_s": load_s + compute_s, "memory_mb": memory_mb}


# ------------------------------------------------------------------------------------------
# The real app in headless Chromium
# ------------------------------------------------------------------------------------------

def _peak_memory_mb(pid: int) -> float | None:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def browser_timings(path: Path) -> dict[str, Any]:
    """Process start -> overview cards visible; navigation -> cards; peak RSS after every page.

    Runs in a thread of its own: Playwright's sync API refuses a thread with a running asyncio
    loop (a test session may have one open already).
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_browser_timings, path).result()


def _browser_timings(path: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from o2o_ops.bench.app import CHROMIUM, CHROMIUM_ARGS, running_app   # the browser tests start the app so too

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        started = time.perf_counter()
        with running_app(path) as app:
            page.goto(f"{app.url}/overview")
            page.wait_for_selector('[data-testid="stMetric"]', timeout=300_000)
            start_to_cards = time.perf_counter() - started
            samples = []
            for _ in range(3):
                fresh = browser.new_page(viewport={"width": 1440, "height": 1000})
                t0 = time.perf_counter()
                fresh.goto(f"{app.url}/overview")
                fresh.wait_for_selector('[data-testid="stMetric"]', timeout=300_000)
                samples.append(time.perf_counter() - t0)
                fresh.close()
            for name in PAGES[1:]:
                page.goto(f"{app.url}/{Path(name).stem}")
                page.wait_for_selector("h1", timeout=300_000)
                page.wait_for_timeout(1500)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=300_000)
            peak = _peak_memory_mb(app.pid)
        browser.close()
    return {"start_to_overview_s": start_to_cards, "navigation_to_cards_s": statistics.median(samples),
            "peak_memory_mb": peak}


# ------------------------------------------------------------------------------------------
# The scaled-out build: the same derived tables on DuckDB and on Spark, from a Parquet lake
# ------------------------------------------------------------------------------------------

def scale_out(path: Path, master: str | None = None, spark=None) -> dict[str, Any]:
    """Export the bench warehouse's contract tables to Parquet, build every derived table from
    them with DuckDB and with Spark (``master``, default ``O2O_SPARK_MASTER``; or the session
    ``spark``), and assemble a serving warehouse from the Spark build; seconds of each step. The
    lake lies beside the warehouse (``<warehouse>.lake/``)."""
    from o2o_ops import lake
    from o2o_ops.spark import build as spark_build

    root = path.with_name(path.name + ".lake")
    t0 = time.perf_counter()
    lake.export_contract(path, root / "source")
    export_s = time.perf_counter() - t0
    duck = lake.build_duckdb(root / "source", root / "duckdb")
    t0 = time.perf_counter()
    own = spark is None
    session = spark_build.session(master) if own else spark
    session_s = time.perf_counter() - t0
    try:
        manifest = spark_build.build(root / "source", root / "spark", spark=session)
        cores = session.sparkContext.defaultParallelism
        used_master = session.sparkContext.master
    finally:
        if own:
            session.stop()
    summary = lake.assemble(root / "source", root / "spark", root / "served.duckdb")
    slowest = max(manifest["seconds"], key=manifest["seconds"].get)
    return {"export_s": export_s, "duckdb_build_s": duck["total_seconds"], "spark_session_s": session_s,
            "spark_build_s": manifest["total_seconds"], "spark_master": used_master, "spark_cores": cores,
            "spark_slowest_table": slowest, "spark_slowest_s": manifest["seconds"][slowest],
            "assemble_s": summary["seconds"], "lake": str(root)}


# ------------------------------------------------------------------------------------------

def run(orders: int, warehouse: Path | None = None, runs: int = 5, browser: bool = True,
        out=sys.stdout, spark: bool = False, spark_master: str | None = None) -> dict[str, Any]:
    path = Path(warehouse) if warehouse else Path(config.get("O2O_WAREHOUSE")).with_name(f"bench-{orders}.duckdb")
    say = (lambda text: print(text, file=out, flush=True))
    say(f"# o2o-ops benchmark · {orders:,} orders · {dt.date.today()} · {machine()}")
    build = ensure_warehouse(path, orders)
    size_mb = path.stat().st_size / 2 ** 20
    built = f"reused {path.name}" if build["reused"] else f"{build['build_s']:.1f} s"
    say(f"demo build: {built} · warehouse {size_mb:,.0f} MiB")
    pages = page_queries(path, runs)
    table = pd.DataFrame(pages)
    table["ms"] = (table["median_s"] * 1000).round(1)
    table["slowest call"] = table["slowest"] + " " + (table["slowest_s"] * 1000).round(1).astype(str) + " ms"
    say("\npage queries (median of %d, uncached, all of a page's calls together)" % runs)
    say(table[["page", "filters", "calls", "ms", "slowest call"]].to_string(index=False))
    drill = drilldown(path, runs)
    say(f"\ndrill-down {drill['campaign']} -> {drill['store']}: orders page {drill['orders_page_s'] * 1000:.1f} ms; "
        f"all drill-down panels {drill['whole_drilldown_s'] * 1000:.1f} ms")
    base = pandas_baseline(path, runs)
    overview_ms = table.loc[(table["page"] == "overview") & (table["filters"] == "default"), "median_s"].iloc[0]
    say(f"\ntutorial baseline (pandas): load {base['load_s']:.1f} s, compute {base['compute_s'] * 1000:.0f} ms, "
        f"{base['memory_mb']:,.0f} MiB in pandas")
    say(f"ours / baseline: overview queries {overview_ms:.3f} s vs baseline per-view compute "
        f"{base['compute_s']:.3f} s = {overview_ms / base['compute_s']:.2f}×; first view "
        f"{overview_ms:.3f} s vs {base['first_view_s']:.1f} s = {overview_ms / base['first_view_s']:.3f}×")
    result = {"orders": orders, "machine": machine(), "date": str(dt.date.today()), "build": build,
              "warehouse_mb": size_mb, "pages": pages, "drilldown": drill, "baseline": base,
              "ratio_compute": overview_ms / base["compute_s"], "ratio_first_view": overview_ms / base["first_view_s"]}
    from o2o_ops.bench import imports
    work = path.with_name(f".{path.name}.imports-{os.getpid()}")
    try:
        result["imports"] = imports.run(path, orders, work, say)
    finally:
        import shutil
        shutil.rmtree(work, ignore_errors=True)
    if browser:
        app = browser_timings(path)
        say(f"\napp: start to overview cards {app['start_to_overview_s']:.1f} s; navigation to cards "
            f"{app['navigation_to_cards_s']:.2f} s; peak memory {app['peak_memory_mb']:,.0f} MiB")
        result["app"] = app
    if spark:
        scaled = scale_out(path, spark_master)
        say(f"\nscaled-out build ({scaled['spark_master']}, {scaled['spark_cores']} cores): export to Parquet "
            f"{scaled['export_s']:.1f} s; derived tables on DuckDB {scaled['duckdb_build_s']:.1f} s; on Spark "
            f"{scaled['spark_build_s']:.1f} s (+ {scaled['spark_session_s']:.1f} s session start; slowest "
            f"{scaled['spark_slowest_table']} {scaled['spark_slowest_s']:.1f} s); assemble the serving warehouse "
            f"{scaled['assemble_s']:.1f} s")
        result["scale_out"] = scaled
    return result
