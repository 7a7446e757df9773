"""``python -m o2o_ops info``: what is in the warehouse — path, size, rows, date range, as-of."""

from __future__ import annotations

import argparse
import sys

import duckdb

from o2o_ops import config, db
from o2o_ops.cli import add_warehouse_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="show what the warehouse holds",
                                   description="Print the warehouse path, size, rows per table, "
                                               "order date range and as-of date.")
    add_warehouse_arg(parser)
    parser.set_defaults(func=run)


def _size(n_bytes: int) -> str:
    size = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def run(args: argparse.Namespace) -> int:
    path = config.warehouse_path(args.warehouse)
    note = None
    try:
        con = db.connect(path)  # raises WarehouseError (exit 2) when missing or not a warehouse
    except db.StaleWarehouse as exc:
        # An older warehouse still has its data: show it, and say how to bring it up to date.
        note, con = str(exc), duckdb.connect(str(path), read_only=True)
    try:
        counts = db.table_counts(con)
        first_at, last_at = con.execute(
            "SELECT min(ordered_at), max(ordered_at) FROM orders").fetchone()
        has_meta = con.execute("SELECT count(*) FROM information_schema.tables "
                               "WHERE table_name = 'warehouse_meta'").fetchone()[0]
        meta = dict(con.execute("SELECT key, value FROM warehouse_meta").fetchall()) if has_meta else {}
    finally:
        con.close()
    print(f"warehouse  {path.resolve()}")
    print(f"size       {_size(path.stat().st_size)}")
    print(f"orders     {first_at or '-'} -> {last_at or '-'}  (ordered_at)")
    print(f"as of      {meta.get('as_of') or '-'}")
    if meta.get("source") == "demo":
        print(f"source     demo, seed {meta.get('demo_seed')}")
    print("rows")
    width = max(len(t) for t in counts)
    for table, rows in counts.items():
        print(f"  {table:<{width}}  {rows:>12,}")
    if note:
        print(f"note: {note}", file=sys.stderr)
    return 0
