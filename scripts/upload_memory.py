"""Measure the app server's memory around one large upload on the Data page (issue #14).

    .venv/bin/python scripts/upload_memory.py [--mib 150] [--app-root PATH]

Starts ``streamlit run dashboard.py`` (from ``--app-root``, default this checkout) on a copy of
the tiny test warehouse, opens the Data page in headless Chromium, uploads a customers.csv of
about ``--mib`` MiB, waits for the check, imports it, and prints the server's resident memory
(RSS, MiB) before, after the upload was checked, right after the import and 10 s later.
Not a test: figures depend on the machine. Run on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "browser"), str(ROOT)]

from browser_util import CHROMIUM, CHROMIUM_ARGS, running_app, wait_for_app  # noqa: E402  (o2o_ops.bench.app's)
from tiny import build_tiny  # noqa: E402


def rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its children (the streamlit server), in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=150)
    parser.add_argument("--app-root", type=Path, default=ROOT)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    from o2o_ops.bench import app as bench_app

    bench_app.ROOT = args.app_root   # start_streamlit reads it at call time
    work = Path(tempfile.mkdtemp(prefix="o2o-memory-"))   # not o2o-upload-*: counted below
    try:
        wh = build_tiny(work / "o2o.duckdb")
        big = work / "customers.csv"
        rows = int(args.mib * 2**20 / 27)
        with open(big, "w", encoding="utf-8") as out:
            out.write("customer_id,signup_date,city\n")
            for start in range(0, rows, 100_000):
                out.writelines(f"N{i:09d},2026-03-01,Suzhou\n" for i in range(start, min(rows, start + 100_000)))
        print(f"upload: {big.stat().st_size / 2**20:.1f} MiB, {rows:,} rows; app from {args.app_root}")
        env = {"O2O_USERS_FILE": str(work / "no-users.toml"), "O2O_UPLOAD_MAX_MB": "400"}
        with running_app(wh, env) as app, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(f"{app.url}/data")
            wait_for_app(page)
            print(f"before upload        {rss_mib(app.pid):7.0f} MiB")
            page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(big))
            page.wait_for_selector("text=No problems found", timeout=600_000)
            wait_for_app(page)
            print(f"upload checked       {rss_mib(app.pid):7.0f} MiB")
            page.get_by_role("button", name="Import").click()
            page.wait_for_selector("text=Imported 1 file(s)", timeout=900_000)
            wait_for_app(page)
            print(f"after import         {rss_mib(app.pid):7.0f} MiB")
            time.sleep(10)
            print(f"10 s later           {rss_mib(app.pid):7.0f} MiB")
            left = [p for p in Path(tempfile.gettempdir()).glob("o2o-upload-*")
                    if any(f.stat().st_size > 2**20 for f in p.rglob("customers.csv"))]
            print(f"copies of the upload left on disk: {len(left)}")
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
