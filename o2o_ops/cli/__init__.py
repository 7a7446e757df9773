"""Sub-commands of ``python -m o2o_ops``; one module per command, each with ``register``."""

from __future__ import annotations

import argparse


def add_warehouse_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", metavar="PATH", default=None,
                        help="warehouse file (default: $O2O_WAREHOUSE, else data/o2o.duckdb)")
