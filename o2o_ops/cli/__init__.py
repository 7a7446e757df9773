"""Sub-commands of ``python -m o2o_ops``; one module per command, each with ``register``."""

from __future__ import annotations

import argparse


def add_warehouse_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", metavar="PATH", default=None,
                        help="warehouse file (default: $O2O_WAREHOUSE, else data/o2o.duckdb)")


def add_users_file_arg(parser: argparse.ArgumentParser, purpose: str = "users file") -> None:
    parser.add_argument("--users-file", metavar="PATH", default=None,
                        help=f"{purpose} (default: $O2O_USERS_FILE, else ~/.config/o2o-ops/users.toml)")


def add_limit_arg(parser: argparse.ArgumentParser, default: int, what: str) -> None:
    """``--limit N`` (at least 1): how many ``what`` a listing command prints. One definition, so
    every listing refuses 0 or a negative number the same way (argparse's own error, exit 2)."""
    def at_least_one(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
        return value
    parser.add_argument("--limit", type=at_least_one, default=default, metavar="N",
                        help=f"at most N {what} (default {default})")
