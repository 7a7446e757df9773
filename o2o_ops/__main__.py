"""Command line: ``python -m o2o_ops COMMAND ...``.

The entry point, above every layer. Each command lives beside the code it drives (``o2o_ops/cli/``,
and ``o2o_ops/bench/`` for the benchmark); a module listed in ``COMMAND_MODULES`` exposes
``register(subparsers)`` which adds its sub-command and sets ``func`` on the parser. The
``func(args)`` returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

import duckdb

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


#: after every message of a command that failed half-way: what the user's data looks like now
UNCHANGED = "A write that did not finish leaves the warehouse as it was."


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with db.notify_waits(_waiting):
            return int(args.func(args) or 0)
    except WarehouseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted. {UNCHANGED}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # what reads the output stopped reading (``... | head``): nothing went wrong here. Python's
        # own flush of stdout at exit would raise again: stdout goes to the null device (the
        # signal module's documented recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except duckdb.OutOfMemoryException as exc:
        print(f"error: the warehouse engine ran out of memory ({_first_line(exc)}). {UNCHANGED} Free memory "
              f"on this machine and run the command again.", file=sys.stderr)
        return 2
    except Exception as exc:   # the last line of defence: a plain message, never a traceback
        print(f"error: the command stopped on an unexpected problem ({type(exc).__name__}: {_first_line(exc)}). "
              f"{UNCHANGED} Please report it with the command you ran.", file=sys.stderr)
        return 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else "no details"


if __name__ == "__main__":
    sys.exit(main())
