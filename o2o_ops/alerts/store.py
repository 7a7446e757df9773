"""The alerts state file: one small SQLite file of its own (setting ``O2O_ALERTS_DB``, by default
``<warehouse>.alerts.sqlite`` beside the warehouse), never the warehouse itself, whose writers
copy the whole file.

Tables (times are UTC, ISO 8601):

- ``rules``          one row per alert rule (kind, parameters and scope as JSON, optional webhook).
- ``subscriptions``  one row per person: alerts off/immediately/daily, which rules, the daily
                     hour, the weekly digest's weekday and hour (their time zone), what was handled.
- ``alerts``         one row per episode of a finding for an audience (a person ``user:NAME`` or a
                     rule's own webhook ``rule:ID``): opened, last seen, cleared. An open finding is
                     not sent again until it clears and comes back.
- ``daily_queue``    alerts waiting for a person's daily summary.
- ``deliveries``     the outbox: one row per message per channel, with a unique ``dedupe_key`` so
                     nothing is queued twice; ``pending`` until delivered, then ``sent``.
- ``delivery_log``   every attempt: when, which delivery, ok or the error (never credentials).
- ``import_failures`` imports the importer refused or that failed, for the failed-import rule.

Every write runs in one ``BEGIN IMMEDIATE`` transaction (:func:`connect`), so two runs (cron and
the scheduler) cannot interleave.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from o2o_ops import config

SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    rule_id     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL,          -- JSON, per kind (see rules.py)
    scope       TEXT NOT NULL,          -- JSON: stores, regions, cities, categories
    webhook     TEXT,                   -- JSON {url, format, secret} or NULL
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_by  TEXT,
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
    user_name        TEXT PRIMARY KEY,
    alerts_mode      TEXT NOT NULL DEFAULT 'off',   -- off | immediate | daily
    alert_rules      TEXT,                          -- JSON list of rule ids; NULL = every rule
    daily_hour       INTEGER NOT NULL DEFAULT 8,
    daily_last_date  TEXT,                          -- local date of the last daily summary
    digest_weekday   INTEGER,                       -- 0 = Monday .. 6 = Sunday; NULL = no digest
    digest_hour      INTEGER NOT NULL DEFAULT 8,
    digest_last_slot TEXT,                          -- UTC time of the last digest slot handled
    updated_at       TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id      INTEGER PRIMARY KEY,
    audience      TEXT NOT NULL,
    rule_id       INTEGER NOT NULL,
    finding_key   TEXT NOT NULL,
    summary       TEXT NOT NULL,
    link          TEXT,
    opened_at     TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    cleared_at    TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (audience, rule_id, finding_key)
    WHERE cleared_at IS NULL;
CREATE TABLE IF NOT EXISTS daily_queue (
    alert_id   INTEGER NOT NULL,
    user_name  TEXT NOT NULL,
    sent       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (alert_id, user_name)
);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id  INTEGER PRIMARY KEY,
    dedupe_key   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,          -- alert | daily | digest
    audience     TEXT NOT NULL,          -- user:NAME | rule:ID
    channel      TEXT NOT NULL,          -- email | webhook
    subject      TEXT NOT NULL,
    message      TEXT NOT NULL,          -- JSON of messages.Message
    status       TEXT NOT NULL DEFAULT 'pending',   -- pending | sending | sent | dropped
    claimed_at   TEXT,                   -- when a run took it for sending (a crashed run's claim expires)
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    sent_at      TEXT
);
CREATE TABLE IF NOT EXISTS delivery_log (
    log_id       INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL,
    at           TEXT NOT NULL,
    attempt      INTEGER NOT NULL,
    ok           INTEGER NOT NULL,
    detail       TEXT
);
CREATE TABLE IF NOT EXISTS import_failures (
    failure_id   INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    warehouse    TEXT NOT NULL,
    imported_by  TEXT,
    sources      TEXT NOT NULL,
    kind         TEXT NOT NULL,          -- refused (problems in the files) | failed (anything else)
    message      TEXT NOT NULL
);
"""


class StateFileError(ValueError):
    """The state file cannot be opened or used; the message names it and says what to do."""


def db_path(warehouse: str | os.PathLike | None = None) -> Path:
    """``$O2O_ALERTS_DB``, else ``<warehouse>.alerts.sqlite`` beside the warehouse."""
    explicit = config.get("O2O_ALERTS_DB")
    if explicit:
        return Path(explicit).expanduser()
    wh = config.warehouse_path(warehouse)
    return wh.with_name(wh.name + ".alerts.sqlite")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def parse_iso(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


@contextlib.contextmanager
def connect(path: str | os.PathLike | None = None, *, write: bool = True,
            commit: bool = True) -> Iterator[sqlite3.Connection]:
    """A connection to the state file (created with its schema on first use).

    ``write=True`` holds the write lock for the whole block and commits at its end (rolls back
    on an exception), so one run's decisions and their records land together or not at all.
    ``commit=False`` rolls back even on success: a dry run.
    """
    path = Path(path) if path else db_path()
    if str(path) != ":memory:" and not path.exists():
        # it holds webhook URLs (with their tokens) and signing secrets: owner only
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    try:
        con = sqlite3.connect(path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.executescript(SCHEMA)
    except sqlite3.Error as exc:
        raise StateFileError(f"The alerts state file {path} cannot be used ({exc}). Move it aside to start "
                             f"afresh, or point O2O_ALERTS_DB at another file.") from None
    try:
        if write:
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StateFileError(f"The alerts state file {path} is busy ({exc}); another run holds it. "
                                     f"Try again in a moment.") from None
        yield con
        if write:
            con.execute("COMMIT" if commit else "ROLLBACK")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
