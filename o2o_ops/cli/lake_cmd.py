"""``python -m o2o_ops export | build | assemble``: scale the build out over a Parquet lake.

    export   --format parquet --out SRC            a warehouse's contract tables as Parquet
    build    --engine spark --source SRC --out OUT [--master URL]
                                                   every derived table, built on Spark (or DuckDB)
    assemble --source SRC --lake OUT --warehouse W a serving warehouse the app reads unchanged

Errors a user can cause (no Java, no pyspark, a table missing from the source, an unfinished
build) end with a message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from o2o_ops import config, lake
from o2o_ops.cli import add_warehouse_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser("export", help="write the contract tables as Parquet (a lake source)",
                                   description="Write the warehouse's contract tables to OUT/<table>.parquet, "
                                               "the source of `build --engine spark`.")
    export.add_argument("--format", choices=["parquet"], default="parquet", help="file format (parquet)")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write <table>.parquet files to")
    add_warehouse_arg(export)
    export.set_defaults(func=run_export)

    build = subparsers.add_parser("build", help="build the derived tables from a Parquet source (Spark or DuckDB)",
                                  description="Read the contract tables from SOURCE (<table>.parquet or <table>/ "
                                              "folders), build every derived table with ENGINE and write them "
                                              "to OUT/<table>/ as Parquet, with a manifest. Then `assemble`.")
    build.add_argument("--engine", choices=["spark", "duckdb"], default="spark",
                       help="spark (default) or duckdb (the same SQL in one process, for comparison)")
    build.add_argument("--source", required=True, metavar="PATH", help="folder with the contract tables")
    build.add_argument("--out", required=True, metavar="PATH", help="folder to write the derived tables to")
    build.add_argument("--master", default=None, metavar="URL",
                       help="Spark master (default: $O2O_SPARK_MASTER, else local[*]); ignored under spark-submit")
    build.add_argument("--shuffle-partitions", type=int, default=None, metavar="N",
                       help="spark.sql.shuffle.partitions (default: $O2O_SPARK_SHUFFLE_PARTITIONS, else 8)")
    build.set_defaults(func=run_build)

    assemble = subparsers.add_parser("assemble", help="make a serving warehouse from a built lake",
                                     description="Write a DuckDB warehouse from the contract tables in SOURCE and "
                                                 "the derived tables a build wrote to LAKE; the app serves it "
                                                 "unchanged.")
    assemble.add_argument("--source", required=True, metavar="PATH", help="folder with the contract tables")
    assemble.add_argument("--lake", required=True, metavar="PATH", help="folder a build wrote the derived tables to")
    assemble.add_argument("--facts", choices=["copy", "view"], default="copy",
                          help="copy the order-level tables in (default), or leave them in the lake as views")
    add_warehouse_arg(assemble)
    assemble.set_defaults(func=run_assemble)


def run_export(args: argparse.Namespace) -> int:
    counts = lake.export_contract(args.warehouse, args.out)
    print(f"Wrote the contract tables of {config.warehouse_path(args.warehouse)} to {args.out}:")
    for table, rows in counts.items():
        print(f"  {table:<12} {rows:>12,}")
    return 0


def _progress(table: str, seconds: float) -> None:
    print(f"  {table:<36} {seconds:8.1f} s", file=sys.stderr, flush=True)


def run_build(args: argparse.Namespace) -> int:
    if args.shuffle_partitions is not None and args.shuffle_partitions < 1:
        print(f"error: --shuffle-partitions must be at least 1 (got {args.shuffle_partitions}).", file=sys.stderr)
        return 2
    if args.engine == "duckdb":
        manifest = lake.build_duckdb(args.source, args.out, progress=_progress)
    else:
        from o2o_ops.spark import build as spark_build
        manifest = spark_build.build(args.source, args.out, master=args.master,
                                     shuffle_partitions=args.shuffle_partitions, progress=_progress)
    where = f" on {manifest['master']} (Spark {manifest['spark_version']})" if manifest["engine"] == "spark" else ""
    print(f"Built {len(manifest['seconds'])} derived tables{where} in {manifest['total_seconds']:.1f} s into "
          f"{args.out}. Next: python -m o2o_ops assemble --source {args.source} --lake {args.out} --warehouse PATH")
    return 0


def run_assemble(args: argparse.Namespace) -> int:
    summary = lake.assemble(args.source, args.lake, args.warehouse, facts=args.facts)
    print(f"Assembled {summary['path']} ({summary['derived']} derived tables, order-level tables "
          f"{'copied' if summary['facts'] == 'copy' else 'as views over the lake'}) in {summary['seconds']:.1f} s.")
    return 0
