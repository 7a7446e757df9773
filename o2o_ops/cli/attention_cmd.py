"""``python -m o2o_ops attention``: the stores that need attention under the one attention rule
(o2o_ops/attention.py), with the reason in words, as a table, JSON or CSV."""

from __future__ import annotations

import argparse
import json
import sys

from o2o_ops import attention, db, symmetry
from o2o_ops.cli import add_limit_arg, add_warehouse_arg
from o2o_ops.cli.kpis_cmd import add_filter_args, filters_from_args, to_records

COLUMNS = ["store_id", "store_name", "store_city", "reviews", "rating_gap", "wait_gap_minutes", "index_drop", "reason"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("attention", help="stores that need attention, and why", description=__doc__)
    add_filter_args(parser)
    parser.add_argument("--format", default="table", choices=("table", "json", "csv"))
    add_limit_arg(parser, 50, "stores")
    add_warehouse_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    filters = filters_from_args(args)
    rule = attention.Rule.from_settings()
    con = db.connect(args.warehouse)
    try:
        df = symmetry.attention_list(con, filters, limit=args.limit, rule=rule)[COLUMNS]
        stores = symmetry.store_table(con, filters)
        unjudged = attention.left_out_words(attention.left_out(stores, rule), rule)
    finally:
        con.close()
    if args.format == "json":
        print(json.dumps(to_records(df), indent=2, ensure_ascii=False))
    elif args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    else:
        print(f"# {filters.describe()}\n# {rule.describe()}" + (f"\n# {unjudged}" if unjudged else ""))
        if df.empty:   # no all-clear where no store could be judged
            print("No store has enough reviews to be judged." if attention.none_judged(stores, rule)
                  else "No store needs attention.")
            return 0
        for row in df.itertuples():
            print(f"{row.store_id}  {row.store_name} ({row.store_city}, {row.reviews:.0f} reviews): {row.reason}")
    return 0
