"""Settings: one table of (name, default, help), read from the environment on demand.

Nothing here is read at import time; call :func:`get` or :func:`warehouse_path` when needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("O2O_WAREHOUSE", str(PROJECT_ROOT / "data" / "o2o.duckdb"),
            "Path of the DuckDB warehouse file."),
    Setting("O2O_CURRENCY", "CNY", "Currency of every money column in the warehouse."),
    Setting("O2O_OPEN_HOURS_PER_DAY", "12",
            "Hours a store is open per day; the denominator of capacity utilisation."),
    Setting("O2O_MIN_REVIEWS", "5",
            "Reviews a store needs before its review-based KPIs are ranked, compared or flagged."),
    Setting("O2O_ATTENTION_RATING_GAP", "0.5",
            "Stars a store's listed rating may exceed its reviews before it needs attention."),
    Setting("O2O_ATTENTION_WAIT_GAP", "10",
            "Minutes a store's mean wait may exceed its promise before it needs attention."),
    Setting("O2O_ATTENTION_INDEX_DROP", "5",
            "Symmetry-index points a store may lose (last 4 weeks vs the 4 before) before it needs attention."),
    Setting("O2O_QUERY_TIMEOUT_S", "30", "Seconds a single query may run before it is interrupted."),
    Setting("O2O_MAX_ROWS", "200000", "Most rows any one query may return to the app."),
    Setting("O2O_DEMO_ORDERS", "400000", "Orders in the demo warehouse built on first start."),
    Setting("O2O_IMPORT_MAX_MB", "2048", "Largest file the importer accepts, in MiB."),
    Setting("O2O_USERS_FILE", str(Path.home() / ".config" / "o2o-ops" / "users.toml"),
            "Users, roles and password hashes. With no file the app runs open."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The value of setting ``name``: the environment's if set, else its default."""
    setting = _BY_NAME[name]
    return os.environ.get(name, setting.default)


def get_int(name: str) -> int:
    return int(get(name))


def get_float(name: str) -> float:
    return float(get(name))


def warehouse_path(explicit: str | os.PathLike | None = None) -> Path:
    """``--warehouse`` if given, else ``$O2O_WAREHOUSE``, else ``data/o2o.duckdb``."""
    return Path(explicit) if explicit else Path(get("O2O_WAREHOUSE"))
