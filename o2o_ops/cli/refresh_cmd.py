"""``python -m o2o_ops refresh``: rebuild the warehouse's derived tables (rollups) in place.

Needed after upgrading o2o-ops when the app says the warehouse was prepared by another version.
The contract tables (your data) are untouched; the rebuild is atomic like every write.
"""

from __future__ import annotations

import argparse
import time

from o2o_ops import config, db
from o2o_ops.cli import add_warehouse_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("refresh", help="rebuild the derived tables", description=__doc__)
    add_warehouse_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = config.warehouse_path(args.warehouse)
    start = time.perf_counter()
    db.refresh(path)   # under the write lock; raises WarehouseError (exit 2) when missing or read-only
    print(f"Refreshed the derived tables of {path} in {time.perf_counter() - start:.1f} s.")
    return 0
