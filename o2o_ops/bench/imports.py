"""The benchmark's import section (issue #17): what one import batch costs in time and memory,
the full rebuild of every derived table against the incremental path.

Each case imports a batch of CSV files (written from the bench warehouse itself) into a throwaway
copy of the bench warehouse, in a child process (so its peak memory, the child's own ``VmHWM``, is
the import's alone), once with ``O2O_INCREMENTAL_IMPORTS=0`` (the full rebuild every import did
before) and twice with ``=1``: right after the full rebuild, whose 6 GB at 10 million orders leave
little of the warehouse in the page cache (a daily import into a warehouse nobody read since), and
again into a fresh copy, the warehouse's pages cached (an import while the app is in use; 5.3-5.8
against 6.0-6.6 s for 1,000 new orders into 10 million). The bench warehouse is never written. Cases:

- new orders (1,000 and 100,000, each at most a tenth of the warehouse): sampled orders copied
  under new ids onto the day after the latest order (so the "as of" time moves, as a daily feed
  moves it), with their redemptions when those fall on that day too;
- correction batches (1,000 rows, at most a tenth): the amount paid of orders drawn uniformly from
  the whole history (the worst spread of touched store-days: every day of two years), and of
  recent orders, as a platform's status and refund updates mostly are: the last 28 days (in a
  small warehouse whose last 28 days hold fewer than twice the batch, its latest 2 x rows orders).

The time reported is the child's ``import_dir`` call (validation and staging, the copy, the merge,
the derived tables, the rename); the copy of the warehouse file is also timed on its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import duckdb

_CHILD = """
import json, resource, sys, time
from o2o_ops import db, ingest

def peak_mb():
    # the process's own high-water mark: ru_maxrss after fork + exec also counts the parent's memory
    # at the fork (Linux keeps the pre-exec address space's peak), so a bench that had loaded the
    # pandas baseline (7.7 GB at 10M orders) reported that for every import
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

marks = {}
def progress(fraction, message):
    marks.setdefault(message.split(" ")[0], time.perf_counter())
start = time.perf_counter()
ingest.import_dir(sys.argv[1], warehouse=sys.argv[2], progress=progress)
end = time.perf_counter()
print(json.dumps({"seconds": end - start, "peak_mb": peak_mb(),
                  "checks_s": marks["copying"] - start, "derived_s": end - marks["rebuilding"],
                  "build": db.last_build(), "copy": db.last_copy()}))
"""

ORDER_COLUMNS = ("order_id, customer_id, store_id, ordered_at, list_price, paid_amount, campaign_id, channel, "
                 "discount_amount, platform_fee, status, valid_until, promised_at, promised_wait_minutes")


def cases(orders: int) -> list[tuple[str, str, int]]:
    """(label, kind, rows) of each batch for a warehouse of ``orders`` orders."""
    cap = max(1, orders // 10)
    out, seen = [], set()
    for n in (1_000, 100_000):
        rows = min(n, cap)
        if rows not in seen:
            seen.add(rows)
            out.append((f"{rows:,} new orders", "new", rows))
    rows = min(1_000, cap)
    # the same day's orders with ids that fall among the stored ones, as random platform ids do;
    # the ids above lie outside the stored ones' range, as time-ordered ids do, and let DuckDB skip
    # row groups by id
    out.insert(1, (f"{rows:,} new (random ids)", "new_among", rows))
    out.append((f"{rows:,} corrected orders", "correct", rows))
    out.append((f"{rows:,} corrected, recent", "correct_recent", rows))
    return out


def write_batch(warehouse: Path, folder: Path, kind: str, rows: int) -> None:
    """Write the CSV files of one case into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        if kind in ("new", "new_among"):
            # "new": ids outside the stored ones' range (a prefix); "new_among": each right after the
            # stored id it copies
            new_id = "'BENCH-' || {0}order_id" if kind == "new" else "{0}order_id || '-N'"
            # the day after the latest order (not after now: the importer refuses the future)
            con.execute(f"""
                CREATE TEMP TABLE picked AS
                SELECT o.*, least(CAST(CAST(m.last AS DATE) + 1 AS TIMESTAMP)
                                    + to_seconds(CAST(hash(o.order_id) % 86400 AS BIGINT)),
                                  CAST(now() AS TIMESTAMP)) AS new_at
                FROM (SELECT * FROM orders USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE (17)) o
                CROSS JOIN (SELECT max(ordered_at) AS last FROM orders) m""")
            con.execute(f"""
                COPY (SELECT {new_id.format("")} AS order_id, customer_id, store_id, new_at AS ordered_at,
                             list_price, paid_amount, campaign_id, channel, discount_amount, platform_fee, status,
                             new_at + (valid_until - ordered_at) AS valid_until,
                             new_at + (promised_at - ordered_at) AS promised_at, promised_wait_minutes
                      FROM picked ORDER BY new_at) TO '{folder / "orders.csv"}' (HEADER)""")
            con.execute(f"""
                COPY (SELECT {new_id.format("p.")} AS order_id, p.new_at + (r.redeemed_at - p.ordered_at) AS redeemed_at,
                             r.wait_minutes, r.service_minutes, r.extra_spend
                      FROM picked p JOIN redemptions r USING (order_id)
                      WHERE p.new_at + (r.redeemed_at - p.ordered_at) <= CAST(CAST(p.new_at AS DATE) + 1 AS TIMESTAMP)
                        AND p.new_at + (r.redeemed_at - p.ordered_at) <= CAST(now() AS TIMESTAMP)
                      ORDER BY 1) TO '{folder / "redemptions.csv"}' (HEADER)""")
        else:
            # "correct": drawn from the whole history; "correct_recent": from its last 28 days
            # (or, in a small warehouse whose last 28 days hold too few, its latest 2 x rows orders)
            recent = (f"WHERE ordered_at >= least((SELECT max(ordered_at) FROM orders) - INTERVAL 28 DAY, "
                      f"(SELECT min(ordered_at) FROM (SELECT ordered_at FROM orders ORDER BY ordered_at DESC "
                      f"LIMIT {2 * int(rows)})))" if kind == "correct_recent" else "")
            con.execute(f"""
                COPY (SELECT order_id, customer_id, store_id, ordered_at, list_price,
                             round(paid_amount * 0.9, 2) AS paid_amount
                      FROM (SELECT * FROM orders {recent}) USING SAMPLE reservoir({int(rows)} ROWS) REPEATABLE (23)
                      ORDER BY order_id) TO '{folder / "orders.csv"}' (HEADER)""")
    finally:
        con.close()


def time_import(warehouse: Path, folder: Path, work: Path, incremental: bool) -> dict[str, Any]:
    """Import ``folder`` into a copy of ``warehouse`` in a child process; its time, peak memory
    and how the derived tables were brought up to date. The copy is deleted after."""
    copy = work / f"import-{'incremental' if incremental else 'full'}.duckdb"
    from o2o_ops import db

    start = time.perf_counter()
    db.copy_file(warehouse, copy)
    copy_s = time.perf_counter() - start
    env = {**os.environ, "O2O_INCREMENTAL_IMPORTS": "1" if incremental else "0",
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                          os.environ.get("PYTHONPATH", "")])}
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD, str(folder), str(copy)], env=env,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the import of {folder} failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        for leftover in work.glob(copy.name + "*"):
            leftover.unlink(missing_ok=True)
    result["copy_s"] = copy_s
    return result


def run(warehouse: Path, orders: int, work: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """The import section: every case, full rebuild then incremental, then incremental again (warm).
    ``warehouse`` must have been prepared by this version (``bench`` refreshes it first): each
    incremental import runs on a copy of it, and on derived tables of another version an import
    rebuilds them all, which would be timed as if it were the incremental import."""
    from o2o_ops import db
    db.connect(warehouse).close()   # raises db.StaleWarehouse, saying how to refresh it
    work.mkdir(parents=True, exist_ok=True)
    size_mb = warehouse.stat().st_size / 2 ** 20
    rows_out, copies, copy_methods, import_copies = [], [], [], []
    say(f"\nimports into a copy of the {orders:,}-order warehouse (child process: import time, peak memory)")
    say(f"  {'batch':<24} {'full rebuild':>22} {'incremental':>22} {'again, warm':>22}   of the first incremental "
        f"import: reading and checking the files / derived tables, checkpoint, rename (the rest: copy, merge); "
        f"recomputed")
    for label, kind, n in cases(orders):
        folder = work / f"batch-{kind}-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        write_batch(warehouse, folder, kind, n)
        full = time_import(warehouse, folder, work, incremental=False)
        inc = time_import(warehouse, folder, work, incremental=True)
        again = time_import(warehouse, folder, work, incremental=True)
        copies += [full["copy_s"], inc["copy_s"], again["copy_s"]]
        for r in (full, inc, again):
            copy_methods.append((r.get("copy") or {}).get("method"))
            import_copies.append((r.get("copy") or {}).get("seconds") or 0.0)
        shutil.rmtree(folder, ignore_errors=True)
        build = inc["build"]
        if build["mode"] == "incremental":
            c = build["counts"]
            steps = c["seconds"]
            whole = sum(v for t, v in steps.items() if t in _whole())
            beside = sum(v for t, v in steps.items() if t in BESIDE)
            slowest = max((t for t in steps if t not in BESIDE), key=steps.get)
            left = len(c.get("steps_left_as_they_were", ()))
            what = (f"{c['changed_orders']:,} orders, {c['store_days']:,} store-days; steps left as they were "
                    f"(none of their inputs changed) {left}; slowest step {slowest} "
                    f"{steps[slowest]:.2f} s; tables rebuilt whole {whole:.2f} s; load ahead and campaign lift "
                    f"{beside:.2f} s beside the steps, waited for {c.get('beside_wait_s', 0):.2f} s (anomaly "
                    f"scores {c['anomaly_scores']}, lift store x weekdays {c['lift_store_weekdays']}, campaign lift "
                    f"{_campaigns_text(c['lift_campaigns'])})")
        else:
            what = f"full rebuild ({build['reason']})"
        say(f"  {label:<24} {full['seconds']:>8.1f} s {full['peak_mb']:>7,.0f} MiB "
            f"{inc['seconds']:>8.1f} s {inc['peak_mb']:>7,.0f} MiB "
            f"{again['seconds']:>8.1f} s {again['peak_mb']:>7,.0f} MiB   {inc['checks_s']:.1f} s / "
            f"{inc['derived_s']:.1f} s (full: {full['derived_s']:.1f} s); {what}")
        rows_out.append({"batch": label, "kind": kind, "rows": n, "full_s": full["seconds"],
                         "full_peak_mb": full["peak_mb"], "incremental_s": inc["seconds"],
                         "incremental_peak_mb": inc["peak_mb"], "incremental_mode": build["mode"],
                         "incremental_again_s": again["seconds"], "incremental_again_peak_mb": again["peak_mb"],
                         "incremental_again_mode": again["build"]["mode"],
                         "checks_s": inc["checks_s"], "full_derived_s": full["derived_s"],
                         "incremental_derived_s": inc["derived_s"],
                         "incremental_reason": build["reason"], "incremental_counts": build["counts"]})
    copy_s = min(copies)
    methods = sorted({m for m in copy_methods if m})
    say(f"  the import's own copy of the warehouse ({size_mb:,.0f} MiB): {' / '.join(methods) or 'none'} "
        f"(clone: the file system shares the blocks, e.g. XFS with reflink or btrfs; copy: every byte), "
        f"{min(import_copies):.2f} s; a copy made by the bench took {copy_s:.2f} s"
        # a clone shares the blocks: no bytes move, and a rate would be a division by almost nothing
        + ("" if methods == ["clone"] else f" ({size_mb / max(copy_s, 1e-9):,.0f} MiB/s)"))
    return {"cases": rows_out, "copy_s": copy_s, "copy_mb_s": size_mb / max(copy_s, 1e-9), "warehouse_mb": size_mb,
            "import_copy_method": methods, "import_copy_s": min(import_copies)}


def _campaigns_text(recomputed) -> str:
    return "of every campaign" if recomputed == "whole" else f"of {recomputed:,} campaigns"


#: the tables an import computes in a worker beside the SQL steps (o2o_ops/incremental.py, _Beside):
#: their seconds overlap the steps'
BESIDE = ("campaign_lift", "forecast")


def _whole() -> tuple[str, ...]:
    from o2o_ops import incremental
    return (*incremental.WHOLE, *incremental.KEPT_WHILE_CLEAN, "anomaly_scores")
