"""``import TABLE FILE`` and ``import-dir FOLDER``: load the user's files into the warehouse.

Exit codes: 0 imported, 1 the files have problems (listed, grouped by kind; nothing written),
2 the warehouse itself is unusable (raised as WarehouseError, reported by ``__main__``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import TextIO

from o2o_ops import ingest
from o2o_ops.cli import add_warehouse_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    one = subparsers.add_parser(
        "import", help="import one CSV, Parquet or JSON file into a warehouse table",
        description="Validate FILE against the contract of TABLE and upsert it by key. "
                    "Nothing is written if any problem is found.")
    one.add_argument("table", choices=ingest.IMPORT_ORDER, metavar="TABLE",
                     help=f"one of: {', '.join(ingest.IMPORT_ORDER)}")
    one.add_argument("file", metavar="FILE", help="a .csv (any delimiter), .parquet or .json/.ndjson file "
                                                  "(with staging SQL in the mapping: the file it reads)")
    _common(one)
    one.set_defaults(func=run_import)

    many = subparsers.add_parser(
        "import-dir", help="import a folder with one file per table, as one batch",
        description="Import <table>.csv / <table>.parquet / <table>.json files from FOLDER in dependency "
                    "order as one all-or-nothing batch (mapping.toml / mapping.yaml there is used; its "
                    "staging SQL reads the files its [sources] names).")
    many.add_argument("folder", metavar="FOLDER")
    _common(many)
    many.set_defaults(func=run_import_dir)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mapping", metavar="FILE", default=None,
                        help="TOML or YAML file: renames, date formats, null markers, value maps, "
                             "defaults, staging SQL (reference: docs/mapping.md)")
    parser.add_argument("--user", metavar="NAME", default=None,
                        help="name recorded in the import log (default: $USER)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_warehouse_arg(parser)


def run_import(args: argparse.Namespace) -> int:
    return _run(lambda progress: ingest.import_file(
        args.table, args.file, mapping=args.mapping, warehouse=args.warehouse,
        imported_by=args.user, progress=progress), quiet=args.quiet)


def run_import_dir(args: argparse.Namespace) -> int:
    return _run(lambda progress: ingest.import_dir(
        args.folder, mapping=args.mapping, warehouse=args.warehouse,
        imported_by=args.user, progress=progress), quiet=args.quiet)


def _run(do_import, *, quiet: bool) -> int:
    bar = None if quiet else TextProgress(sys.stderr)
    try:
        result = do_import(bar)
    except ingest.ImportRejected as exc:
        if bar:
            bar.close()
        print(exc.report(), file=sys.stderr)
        return 1
    if bar:
        bar.close()
    print(result.summary())
    return 0


class TextProgress:
    """``[#####-----]  42% message`` on one line of a stream, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO, width: int = 30):
        self.stream, self.width = stream, width
        self._last = 0.0
        self._shown = False

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and fraction < 1.0:
            return
        self._last = now
        filled = int(round(self.width * max(0.0, min(fraction, 1.0))))
        line = f"[{'#' * filled}{'-' * (self.width - filled)}] {fraction:4.0%} {message}"
        self.stream.write("\r" + line[:100].ljust(100))
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False
