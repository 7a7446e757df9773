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
    Setting("O2O_LANG", "auto",
            "Language of the app, the weekly summary and the report when a link has no ?lang=: en (English), "
            "zh (简体中文), or auto: the browser's (its Accept-Language), else English."),
    Setting("O2O_OPEN_HOURS_PER_DAY", "12",
            "Hours a store without opening hours (the optional table store_hours) is open per day; "
            "with capacity_per_hour, the denominator of capacity utilisation."),
    Setting("O2O_INSPECTION_PASS_SCORE", "70",
            "Score (0-100) an inspection needs to pass when the inspections table gives no pass/fail "
            "(without a score either: passed when no critical violation)."),
    Setting("O2O_COUPON_REDEEM_DAYS", "15",
            "Days after a coupon is received within which a redemption counts for the received → redeemed rate."),
    Setting("O2O_MIN_REVIEWS", "5",
            "Reviews a group (store, week, total) needs before its rating- and review-based KPIs and "
            "symmetry index are shown, ranked, compared or flagged."),
    Setting("O2O_MATURITY_DAYS", "14",
            "Days after a period's end during which its vouchers are still redeemed, reviewed and refunded: "
            "a younger period is provisional, compared at equal age, and event files must reach into it."),
    Setting("O2O_ATTENTION_RATING_GAP", "0.5",
            "Stars a store's listed rating may exceed its reviews before it needs attention."),
    Setting("O2O_ATTENTION_WAIT_GAP", "10",
            "Minutes a store's mean wait may exceed its promise before it needs attention."),
    Setting("O2O_ATTENTION_INDEX_DROP", "5",
            "Symmetry-index points a store may lose (last 4 weeks vs the 4 before) before it needs attention."),
    Setting("O2O_HOLIDAY_COUNTRY", "CN",
            "Country (ISO 3166 code) whose public holidays the holiday-aligned comparison uses."),
    Setting("O2O_QUERY_TIMEOUT_S", "30", "Seconds a single query may run before it is interrupted."),
    Setting("O2O_MAX_ROWS", "200000", "Most rows any one query may return to the app."),
    Setting("O2O_DEMO_ORDERS", "400000", "Orders in the demo warehouse built on first start."),
    Setting("O2O_IMPORT_MAX_MB", "2048",
            "Largest file the importer accepts, in MiB; for a .gz file, of its decompressed content."),
    Setting("O2O_EARLIEST_DATE", "2000-01-01",
            "Earliest date the importer accepts for orders, redemptions, reviews, refunds, costs, "
            "sign-ups, campaigns and validity."),
    Setting("O2O_MAX_YEARS_AHEAD", "5",
            "How many years ahead the importer accepts planned dates (valid_until, campaign dates, "
            "opened_on); what happened (ordered_at, redeemed_at, ...) may be at most tomorrow."),
    Setting("O2O_UPLOAD_MAX_MB", "200",
            "Largest file the app's Data page accepts as an upload, in MiB (keep "
            ".streamlit/config.toml's server.maxUploadSize equal to it); bigger files go through "
            "`python -m o2o_ops import`."),
    Setting("O2O_WRITE_WAIT_S", "600",
            "Seconds a write (import, refresh, demo build, user change) waits for another one to "
            "finish before it gives up, writing nothing."),
    Setting("O2O_INCREMENTAL_IMPORTS", "1",
            "1: an import recomputes only the derived rows its batch touches (docs/incremental.md); "
            "0: every import rebuilds every derived table, as `refresh` does."),
    Setting("O2O_INCREMENTAL_MAX_SHARE", "0.2",
            "Share of the warehouse's orders (0-1) above which an import batch rebuilds every derived "
            "table instead of recomputing what it touches."),
    Setting("O2O_INCREMENTAL_MEMORY_MB", "640",
            "Memory (MiB) DuckDB may use while an import recomputes what its batch touched; beyond it, "
            "DuckDB evicts cached blocks or spills to disk instead of growing, and a statement that "
            "needs more runs again without the cap (0: DuckDB's default, 80 % of the machine's memory)."),
    Setting("O2O_USERS_FILE", str(Path.home() / ".config" / "o2o-ops" / "users.toml"),
            "Users, roles and password hashes. With no file the app runs open."),
    Setting("O2O_ALERTS_DB", "",
            "The alerts state file (rules, subscriptions, delivery log); empty: "
            "<warehouse>.alerts.sqlite beside the warehouse."),
    Setting("O2O_APP_URL", "http://localhost:8501",
            "Base URL of the app, for the links in alerts and digests."),
    Setting("O2O_SMTP_HOST", "", "Mail server for alerts and digests (or [smtp] host in .streamlit/secrets.toml)."),
    Setting("O2O_SMTP_PORT", "587", "Mail server port."),
    Setting("O2O_SMTP_USER", "", "Mail server user name; empty: no sign-in."),
    Setting("O2O_SMTP_PASSWORD", "", "Mail server password (better kept in .streamlit/secrets.toml); never logged."),
    Setting("O2O_SMTP_FROM", "o2o-ops@localhost", "Sender address of alerts and digests."),
    Setting("O2O_SMTP_STARTTLS", "auto",
            "auto: STARTTLS when the server offers it; require: refuse a server without it; off: never."),
    Setting("O2O_SMTP_CA_FILE", "",
            "CA certificates (PEM) to trust for the mail server's STARTTLS, e.g. a company CA; empty: the system's."),
    Setting("O2O_DELIVERY_ATTEMPTS", "4", "Tries per delivery within one run before it waits for the next run."),
    Setting("O2O_DELIVERY_BACKOFF_S", "2",
            "Wait before the second try, doubled before each further try (exponential backoff)."),
    Setting("O2O_SPARK_MASTER", "local[*]",
            "Spark master of `python -m o2o_ops build --engine spark` when --master is not given "
            "(local[*], spark://host:7077, yarn, k8s://...); under spark-submit, its --master wins."),
    Setting("O2O_SPARK_SHUFFLE_PARTITIONS", "8",
            "spark.sql.shuffle.partitions of the Spark build: small for a laptop, about 2-3x the "
            "cluster's cores for big lakes."),
    Setting("O2O_SPARK_DRIVER_MEMORY", "4g",
            "spark.driver.memory of a Spark build started here (in local mode the driver does all the work); "
            "under spark-submit, its --driver-memory wins."),
    Setting("O2O_SCHEDULER_INTERVAL_S", "300", "Seconds between two rounds of `python -m o2o_ops scheduler`."),
    Setting("O2O_MAP_TILES", "",
            "XYZ URL template of a raster tile server drawn under the store map "
            "(https://tiles.example.com/{z}/{x}/{y}.png; it must allow cross-origin reads); empty: no "
            "basemap, nothing fetched, the map works offline."),
    Setting("O2O_MAP_TILES_ATTRIBUTION", "",
            "Attribution the tile server's terms ask for, shown under the map (e.g. © OpenStreetMap "
            "contributors); empty: the tile server's host name."),
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
