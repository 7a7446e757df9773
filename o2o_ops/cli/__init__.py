"""Sub-commands of ``python -m o2o_ops``; one module per command, each with ``register``."""

from __future__ import annotations

import argparse


def add_warehouse_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", metavar="PATH", default=None,
                        help="warehouse file (default: $O2O_WAREHOUSE, else data/o2o.duckdb)")


def add_users_file_arg(parser: argparse.ArgumentParser, purpose: str = "users file") -> None:
    parser.add_argument("--users-file", metavar="PATH", default=None,
                        help=f"{purpose} (default: $O2O_USERS_FILE, else ~/.config/o2o-ops/users.toml)")
