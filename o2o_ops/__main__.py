"""Command line: ``python -m o2o_ops COMMAND ...``.

The entry point, above every layer. Each command lives beside the code it drives (``o2o_ops/cli/``,
and ``o2o_ops/bench/`` for the benchmark); a module listed in ``COMMAND_MODULES`` exposes
``register(subparsers)`` which adds its sub-command and sets ``func`` on the parser. The
``func(args)`` returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from o2o_ops import config, db
from o2o_ops.db import WarehouseError

COMMAND_MODULES = (
    "o2o_ops.cli.demo_cmd",
    "o2o_ops.cli.info_cmd",
    "o2o_ops.cli.refresh_cmd",
    "o2o_ops.cli.lake_cmd",
    "o2o_ops.cli.import_cmd",
    "o2o_ops.cli.kpis_cmd",
    "o2o_ops.bench.command",      # the benchmark drives the UI: it lives outside the core
    "o2o_ops.cli.calibrate_cmd",
    "o2o_ops.cli.anomalies_cmd",
    "o2o_ops.cli.forecast_cmd",
    "o2o_ops.cli.user_cmd",
    "o2o_ops.cli.report_cmd",
    "o2o_ops.cli.attention_cmd",
    "o2o_ops.cli.alerts_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m o2o_ops", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def _waiting(message: str) -> None:
    """Shown once when a write has to wait for another one (see ``db.write_lock``)."""
    print(f"\n{message} (another process is writing; waiting up to "
          f"{config.get_float('O2O_WRITE_WAIT_S'):g} s, setting O2O_WRITE_WAIT_S)", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with db.notify_waits(_waiting):
            return int(args.func(args) or 0)
    except WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
