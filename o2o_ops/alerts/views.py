"""What the Alerts page shows and changes, without streamlit: a person's subscription and open
alerts, the rules (changed only by those :func:`o2o_ops.auth.can_write` allows), the delivery
log (everyone sees their own; writers see all).

Every function takes the state file's path and opens its own short transaction.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from o2o_ops import auth, db
from o2o_ops.alerts import channels, messages, outbox, people, rules, store, subscriptions
from o2o_ops.alerts.rules import Rule, RuleError


class NotAllowed(PermissionError):
    """The signed-in person may not do this (worded for them)."""


def _require_writer(user: auth.User | None) -> None:
    if not auth.can_write(user):
        raise NotAllowed("Only analysts and admins can change alert rules; you can change your own subscriptions.")


# Grain: one row per store (for the rule form's scope pickers). No parameters.
def scope_choices(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Stores (id -> "name (id)"), regions, cities and categories, for scoping a rule."""
    df = db.run(con, "SELECT store_id, name, region, city, category FROM stores ORDER BY store_id")
    return {"stores": {s: f"{n} ({s})" for s, n in zip(df["store_id"], df["name"])},
            "regions": sorted({r for r in df["region"] if isinstance(r, str)}),
            "cities": sorted({c for c in df["city"] if isinstance(c, str)}),
            "categories": sorted({c for c in df["category"] if isinstance(c, str)})}


def person(user: auth.User | None, users_path: str | os.PathLike | None = None) -> people.Person | None:
    """The signed-in user as a recipient (email, time zone, webhook), None in the open demo."""
    if user is None:
        return None
    entry = auth.load(users_path).users.get(user.name)
    if entry is None:   # e.g. signed in by single sign-on: no table of their own
        return people.Person(user)
    return people.person_from_entry(user.name, entry)


def my_subscription(path: Path, user_name: str) -> subscriptions.Subscription:
    with store.connect(path, write=False) as state:
        return subscriptions.get(state, user_name)


def save_subscription(path: Path, sub: subscriptions.Subscription, who: people.Person, *,
                      now: dt.datetime | None = None) -> subscriptions.Subscription:
    """Save ``sub`` for ``who`` (a person changes only their own)."""
    if sub.user_name != who.name:
        raise NotAllowed("You can only change your own subscriptions.")
    with store.connect(path) as state:
        return subscriptions.save(state, sub, timezone=who.timezone, now=now)


def rule_list(path: Path) -> list[Rule]:
    with store.connect(path, write=False) as state:
        return rules.load_all(state)


#: who made a change in the open demo (no sign-in), as the state file records it
OPEN_DEMO = "open demo"


def rules_frame(path: Path, user: auth.User | None = None, lang: str = "en",
                con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """One row per rule: id, name, what it checks, kind, enabled, its own webhook (masked), and,
    with the warehouse ``con``, what it cannot see there (``blind to``: :func:`rules.blind_to`, in
    the reader's scope).

    Only writers see a rule's scope and webhook: a scope may name stores outside the reader's.
    """
    full = auth.can_write(user)
    rows = [{"id": r.rule_id, "name": r.name, "checks": r.describe(with_scope=full, lang=lang), "kind": r.kind,
             "enabled": r.enabled, "webhook": (r.webhook.masked() if r.webhook else "") if full else "",
             "blind to": rules.blind_to(r, con, auth.scoped(r.filters(), user), lang) if con is not None else "",
             "created by": r.created_by or ""}
            for r in rule_list(path)]
    columns = ["id", "name", "checks", "blind to", "kind", "enabled", "webhook", "created by"]
    columns = [c for c in columns if (full or c != "webhook") and (con is not None or c != "blind to")]
    return pd.DataFrame(rows, columns=columns)


def add_rule(path: Path, user: auth.User | None, name: str, kind: str, params: dict[str, Any],
             scope: dict[str, Any], webhook_url: str = "", webhook_format: str = "generic",
             webhook_secret: str = "") -> Rule:
    _require_writer(user)
    hook = rules.rule_webhook(webhook_url, webhook_format, webhook_secret)
    rule = rules.clean(name, kind, params, scope, hook, created_by=user.name if user else OPEN_DEMO)
    with store.connect(path) as state:
        rule_id = rules.save(state, rule)
    return rules.clean(rule.name, rule.kind, rule.params, rule.scope, rule.webhook, rule_id=rule_id,
                       created_by=rule.created_by)


def set_enabled(path: Path, user: auth.User | None, rule_id: int, enabled: bool) -> None:
    _require_writer(user)
    with store.connect(path) as state:
        if state.execute("UPDATE rules SET enabled = ? WHERE rule_id = ?", (int(enabled), rule_id)).rowcount != 1:
            raise RuleError(f"There is no rule {rule_id}.")


def delete_rule(path: Path, user: auth.User | None, rule_id: int) -> None:
    _require_writer(user)
    with store.connect(path) as state:
        rules.delete(state, rule_id)


def _audience_clause(user: auth.User | None, see_all: bool) -> tuple[str, tuple]:
    if see_all:
        return "TRUE", ()
    return "audience = ?", (f"user:{user.name if user else ''}",)


def open_alerts(path: Path, user: auth.User | None, *, see_all: bool = False) -> pd.DataFrame:
    """Open alerts: the person's own (``see_all``: everyone's and the rules' webhooks)."""
    where, params = _audience_clause(user, see_all)
    with store.connect(path, write=False) as state:
        rows = state.execute(
            f"SELECT a.opened_at, a.audience, coalesce(r.name, 'rule ' || a.rule_id) AS rule, a.summary, a.link "
            f"FROM alerts a LEFT JOIN rules r USING (rule_id) WHERE a.cleared_at IS NULL AND {where} "
            f"ORDER BY a.opened_at DESC, a.alert_id DESC", params).fetchall()
    return pd.DataFrame([dict(r) for r in rows], columns=["opened_at", "audience", "rule", "summary", "link"])


def delivery_log(path: Path, user: auth.User | None, *, see_all: bool = False, limit: int = 200) -> pd.DataFrame:
    """The latest deliveries with their status, tries and last error; newest first."""
    where, params = _audience_clause(user, see_all)
    with store.connect(path, write=False) as state:
        rows = state.execute(
            f"SELECT delivery_id AS id, created_at AS queued_at, kind, audience, channel, subject, status, "
            f"attempts AS tries, sent_at, last_error FROM deliveries WHERE {where} "
            f"ORDER BY delivery_id DESC LIMIT ?", (*params, limit)).fetchall()
    return pd.DataFrame([dict(r) for r in rows], columns=["id", "queued_at", "kind", "audience", "channel", "subject",
                                                          "status", "tries", "sent_at", "last_error"])


def send_test(who: people.Person, senders: outbox.Senders | None = None) -> list[tuple[bool, str]]:
    """Send a short test message to each of ``who``'s channels at once (one try, not queued):
    (ok, what happened) per channel, so people can check their address or webhook themselves."""
    try:
        senders = senders or outbox.Senders.from_settings()
    except channels.DeliveryError as exc:   # e.g. a port that is not a number
        return [(False, str(exc))]
    msg = messages.Message("test", "o2o-ops test message",
                           f"This is a test from o2o-ops: alerts and digests for {who.name} arrive here.",
                           (f"Test for {who.name}",), messages.app_link("alerts"))
    results = []
    for channel in who.channels:
        try:
            if channel == "email":
                receipt = senders.send_email(msg, who.email, senders.smtp)
            else:
                receipt = senders.post_webhook(msg, who.webhook, now=store.utc_now())
            results.append((True, f"Sent: {receipt}."))
        except channels.DeliveryError as exc:
            results.append((False, f"Not sent by {channel}: {exc}"))
    return results


def drop_delivery(path: Path, user: auth.User | None, delivery_id: int) -> None:
    _require_writer(user)
    outbox.drop(path, delivery_id, user.name if user else OPEN_DEMO)
