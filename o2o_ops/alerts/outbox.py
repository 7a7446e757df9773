"""The delivery outbox: queue a message once, send it until it is delivered, log every try.

- :func:`enqueue` inserts a delivery under a ``dedupe_key`` (e.g. ``digest:li_wei:2026-W47:email``);
  queueing the same key again does nothing, so a message is never queued twice.
- :func:`deliver_pending` sends every pending delivery: up to ``O2O_DELIVERY_ATTEMPTS`` tries per
  run, waiting ``O2O_DELIVERY_BACKOFF_S`` × 2^(try − 1) between them (exponential backoff). What
  is still undelivered stays ``pending`` and is tried again by the next run, and reported. A
  delivered message is marked ``sent`` and never sent again.
- A run *claims* a delivery (``sending``) before sending, so two runs at once (cron and the
  scheduler) do not both send it; a claim older than :data:`CLAIM_EXPIRES` (a run that crashed
  mid-send) is taken over. Only in that crash case can a message arrive twice.

Every try is a ``delivery_log`` row: time, try number, ok, and the receipt or error (errors name
the server, never a password, token or signing secret).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from o2o_ops import config
from o2o_ops.alerts import channels, store
from o2o_ops.alerts.messages import Message
from o2o_ops.alerts.people import Person, Webhook
from o2o_ops.alerts.rules import Rule

CLAIM_EXPIRES = dt.timedelta(minutes=15)


def enqueue(state: sqlite3.Connection, dedupe_key: str, audience: str, channel: str, msg: Message, *,
            now: dt.datetime) -> int | None:
    """Queue ``msg``; returns the new delivery's id, or None when ``dedupe_key`` was queued before."""
    cur = state.execute(
        "INSERT OR IGNORE INTO deliveries (dedupe_key, kind, audience, channel, subject, message, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", (dedupe_key, msg.kind, audience, channel, msg.subject, msg.to_json(),
                                         store.iso(now)))
    return int(cur.lastrowid) if cur.rowcount == 1 else None


@dataclass
class Senders:
    """How messages leave: replaced in tests only by the same functions pointed at local servers."""

    smtp: channels.SmtpSettings | None = None
    send_email: Callable[[Message, str, channels.SmtpSettings | None], str] = channels.send_email
    post_webhook: Callable[..., str] = channels.post_webhook

    @classmethod
    def from_settings(cls) -> "Senders":
        return cls(smtp=channels.smtp_settings())


@dataclass
class Outcome:
    delivery_id: int
    kind: str
    audience: str
    channel: str
    subject: str
    delivered: bool
    tries: int
    error: str | None = None


@dataclass
class Directory:
    """Who and where: the people of the users file and the rules (for rule webhooks)."""

    people: Mapping[str, Person] = field(default_factory=dict)
    rules: Mapping[int, Rule] = field(default_factory=dict)

    def destination(self, audience: str, channel: str) -> str | Webhook:
        kind, _, name = audience.partition(":")
        if kind == "user":
            person = self.people.get(name)
            if person is None:
                raise channels.DeliveryError(f"{name} is no longer in the users file.", retry=False)
            target = person.email if channel == "email" else person.webhook
            if not target:
                raise channels.DeliveryError(f"{name} has no {'email' if channel == 'email' else 'webhook_url'} "
                                             f"in the users file any more.", retry=False)
            return target
        rule = self.rules.get(int(name)) if name.isdigit() else None
        if rule is None or rule.webhook is None:
            raise channels.DeliveryError(f"Rule {name} or its webhook no longer exists.", retry=False)
        return rule.webhook


def _log(path: Path, delivery_id: int, ok: bool, detail: str, now: dt.datetime, *, sent: bool = False,
         release: bool = False) -> int:
    with store.connect(path) as state:
        state.execute("UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE delivery_id = ?",
                      (None if ok else detail, delivery_id))
        tries = state.execute("SELECT attempts FROM deliveries WHERE delivery_id = ?", (delivery_id,)).fetchone()[0]
        state.execute("INSERT INTO delivery_log (delivery_id, at, attempt, ok, detail) VALUES (?, ?, ?, ?, ?)",
                      (delivery_id, store.iso(now), tries, int(ok), detail))
        if sent:
            # keep the text for the log, not the HTML body and PDF (a year of digests would fill the disk)
            row = state.execute("SELECT message FROM deliveries WHERE delivery_id = ?", (delivery_id,)).fetchone()
            slim = dataclasses.replace(Message.from_json(row[0]), html=None, attachments=()).to_json()
            state.execute("UPDATE deliveries SET status = 'sent', sent_at = ?, claimed_at = NULL, message = ? "
                          "WHERE delivery_id = ?", (store.iso(now), slim, delivery_id))
        elif release:
            state.execute("UPDATE deliveries SET status = 'pending', claimed_at = NULL WHERE delivery_id = ?",
                          (delivery_id,))
    return tries


def _claim(path: Path, delivery_id: int, now: dt.datetime) -> bool:
    with store.connect(path) as state:
        cur = state.execute(
            "UPDATE deliveries SET status = 'sending', claimed_at = ? WHERE delivery_id = ? AND "
            "(status = 'pending' OR (status = 'sending' AND claimed_at < ?))",
            (store.iso(now), delivery_id, store.iso(now - CLAIM_EXPIRES)))
        return cur.rowcount == 1


def deliver_pending(path: Path, directory: Directory, senders: Senders, *,
                    clock: Callable[[], dt.datetime] = store.utc_now,
                    sleep: Callable[[float], None] = time.sleep,
                    attempts: int | None = None, backoff_s: float | None = None) -> list[Outcome]:
    """Send every pending delivery (oldest first); see the module docstring for retries."""
    attempts = attempts or config.get_int("O2O_DELIVERY_ATTEMPTS")
    backoff_s = config.get_float("O2O_DELIVERY_BACKOFF_S") if backoff_s is None else backoff_s
    now = clock()
    with store.connect(path, write=False) as state:
        rows = state.execute(
            "SELECT delivery_id, kind, audience, channel, subject, message FROM deliveries "
            "WHERE status = 'pending' OR (status = 'sending' AND claimed_at < ?) ORDER BY delivery_id",
            (store.iso(now - CLAIM_EXPIRES),)).fetchall()
    outcomes = []
    for row in rows:
        delivery_id = row["delivery_id"]
        if not _claim(path, delivery_id, clock()):
            continue  # another run has it
        msg = Message.from_json(row["message"])
        outcome = Outcome(delivery_id, row["kind"], row["audience"], row["channel"], row["subject"], False, 0)
        for attempt in range(1, attempts + 1):
            try:
                target = directory.destination(row["audience"], row["channel"])
                if isinstance(target, Webhook):
                    receipt = senders.post_webhook(msg, target, now=clock())
                else:
                    receipt = senders.send_email(msg, target, senders.smtp)
            except channels.DeliveryError as exc:
                last = attempt == attempts or not exc.retry
                _log(path, delivery_id, False, str(exc), clock(), release=last)
                outcome.tries, outcome.error = attempt, str(exc)
                if last:
                    break
                sleep(backoff_s * 2 ** (attempt - 1))
            else:
                _log(path, delivery_id, True, receipt, clock(), sent=True)
                outcome.tries, outcome.delivered, outcome.error = attempt, True, None
                break
        outcomes.append(outcome)
    return outcomes


def drop(path: Path, delivery_id: int, by: str | None, *, now: dt.datetime | None = None) -> None:
    """Give up on a pending delivery (it stays in the log as dropped)."""
    now = now or store.utc_now()
    with store.connect(path) as state:
        cur = state.execute("UPDATE deliveries SET status = 'dropped', claimed_at = NULL WHERE delivery_id = ? "
                            "AND status IN ('pending', 'sending')", (delivery_id,))
        if cur.rowcount != 1:
            raise ValueError(f"Delivery {delivery_id} is not waiting to be sent.")
        state.execute("INSERT INTO delivery_log (delivery_id, at, attempt, ok, detail) VALUES (?, ?, "
                      "(SELECT attempts FROM deliveries WHERE delivery_id = ?), 0, ?)",
                      (delivery_id, store.iso(now), delivery_id, f"dropped by {by or 'unknown'}"))
