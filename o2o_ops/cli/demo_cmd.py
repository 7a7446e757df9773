"""``python -m o2o_ops demo``: build the seeded demo warehouse, with a progress bar on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from o2o_ops import demo
from o2o_ops.cli import add_warehouse_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="build the demo warehouse (replaces the file)",
        description="Build a seeded, deterministic demo warehouse: stores in six cities, "
                    "campaigns, orders from 2025-01-06 to 2026-11-22 and everything that "
                    "follows them, with planted patterns to find (see o2o_ops/demo.py).")
    parser.add_argument("--orders", type=int, default=400_000, metavar="N",
                        help=f"orders to generate (at least {demo.MIN_ORDERS:,}; default 400,000)")
    parser.add_argument("--seed", type=int, default=42, metavar="S",
                        help="random seed; the same seed and order count give the same data")
    add_warehouse_arg(parser)
    parser.set_defaults(func=run)


class ProgressBar:
    """A plain carriage-return progress bar: ``[#####.....]  52%  writing orders``."""

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30) -> None:
        self.stream, self.width, self._last_len = stream, width, 0

    def __call__(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        filled = round(self.width * fraction)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {fraction:4.0%}  {message}"
        self.stream.write("\r" + line.ljust(self._last_len))
        self._last_len = len(line)
        if fraction >= 1.0:
            self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    if not demo.MIN_ORDERS <= args.orders <= demo.MAX_ORDERS:
        print(f"error: --orders must be between {demo.MIN_ORDERS:,} and {demo.MAX_ORDERS:,} "
              f"(got {args.orders:,}).", file=sys.stderr)
        return 2
    if args.seed < 0:
        print(f"error: --seed must be zero or positive (got {args.seed}).", file=sys.stderr)
        return 2
    summary = demo.build_demo(args.warehouse, orders=args.orders, seed=args.seed,
                              progress=ProgressBar())
    print(f"Demo warehouse written to {summary['path']} in {summary['seconds']:.1f} s "
          f"(seed {summary['seed']}).")
    width = max(len(t) for t in summary["counts"])
    for table, rows in summary["counts"].items():
        print(f"  {table:<{width}}  {rows:>12,}")
    return 0
