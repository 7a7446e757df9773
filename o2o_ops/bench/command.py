"""``python -m o2o_ops bench``: measure page queries, drill-down, app start and memory at N orders."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run the benchmark", description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the bench warehouse")
    parser.add_argument("--warehouse", metavar="PATH", default=None,
                        help="bench warehouse (default: bench-N.duckdb beside the configured warehouse)")
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement; the median is reported")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless-Chromium timings")
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--spark", action="store_true",
                        help="also time the scaled-out build: Parquet export, DuckDB and Spark builds, assemble")
    parser.add_argument("--spark-master", metavar="URL", default=None,
                        help="Spark master for --spark (default: $O2O_SPARK_MASTER, else local[*])")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from o2o_ops import bench   # imported when run: it loads streamlit's AppTest

    if args.orders < 1000:
        print("error: --orders must be at least 1000", flush=True)
        return 2
    result = bench.run(args.orders, Path(args.warehouse) if args.warehouse else None, args.runs,
                       browser=not args.no_browser, spark=args.spark, spark_master=args.spark_master)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    return 0
