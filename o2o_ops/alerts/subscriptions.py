"""Each person's subscriptions: alerts (off, immediately, or once a day at an hour of their
time zone; every rule or some) and the weekly digest (a weekday and hour of their time zone).

A person manages only their own row (the Alerts page passes the signed-in user's name).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zoneinfo
from dataclasses import dataclass, replace

from o2o_ops.alerts import store

ALERT_MODES = {"off": "Off", "immediate": "Immediately", "daily": "Once a day"}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class SubscriptionError(ValueError):
    """A subscription that cannot be saved; the message names the field."""


@dataclass(frozen=True)
class Subscription:
    user_name: str
    alerts_mode: str = "off"
    alert_rules: tuple[int, ...] | None = None     # None: every rule
    daily_hour: int = 8
    digest_weekday: int | None = None              # None: no digest
    digest_hour: int = 8
    daily_last_date: str | None = None
    digest_last_slot: str | None = None

    def wants_rule(self, rule_id: int) -> bool:
        return self.alert_rules is None or rule_id in self.alert_rules

    def describe(self, lang: str = "en") -> str:
        """What this person gets, in ``lang``: ``alerts immediately; no weekly digest``."""
        from o2o_ops import i18n
        t = lambda key, **v: i18n.t(f"alerts.{key}", lang, **v)  # noqa: E731
        alerts = {"off": t("sub_off"), "immediate": t("sub_immediate"),
                  "daily": t("sub_daily", hour=f"{self.daily_hour:02d}")}[self.alerts_mode]
        if self.alerts_mode != "off" and self.alert_rules is not None:
            n = len(self.alert_rules)
            alerts += t("sub_rule" if n == 1 else "sub_rules", count=n)
        digest = (t("sub_no_digest") if self.digest_weekday is None
                  else t("sub_digest", day=t(f"day_{self.digest_weekday}"), hour=f"{self.digest_hour:02d}"))
        return t("sub_both", alerts=alerts, digest=digest)


def _from_row(row: sqlite3.Row) -> Subscription:
    rules = json.loads(row["alert_rules"]) if row["alert_rules"] is not None else None
    return Subscription(row["user_name"], row["alerts_mode"], tuple(rules) if rules is not None else None,
                        row["daily_hour"], row["digest_weekday"], row["digest_hour"], row["daily_last_date"],
                        row["digest_last_slot"])


def get(state: sqlite3.Connection, user_name: str) -> Subscription:
    row = state.execute("SELECT * FROM subscriptions WHERE user_name = ?", (user_name,)).fetchone()
    return _from_row(row) if row else Subscription(user_name)


def load_all(state: sqlite3.Connection) -> list[Subscription]:
    return [_from_row(r) for r in state.execute("SELECT * FROM subscriptions ORDER BY user_name")]


def latest_slot(weekday: int, hour: int, tz: zoneinfo.ZoneInfo, now: dt.datetime) -> dt.datetime:
    """The most recent ``weekday`` at ``hour``:00 in ``tz`` at or before ``now`` (returned in UTC)."""
    local = now.astimezone(tz)
    monday = local.date() - dt.timedelta(days=local.weekday())
    day = monday + dt.timedelta(days=weekday)
    slot = dt.datetime.combine(day, dt.time(hour), tzinfo=tz)
    if slot > local:
        slot = dt.datetime.combine(day - dt.timedelta(days=7), dt.time(hour), tzinfo=tz)
    return slot.astimezone(dt.timezone.utc)


def save(state: sqlite3.Connection, sub: Subscription, *, timezone: str = "UTC",
         now: dt.datetime | None = None) -> Subscription:
    """Check and store ``sub``. A new or changed digest time starts at its next occurrence, so
    saving never sends a digest by itself."""
    now = now or store.utc_now()
    if sub.alerts_mode not in ALERT_MODES:
        raise SubscriptionError(f"Alerts must be one of {', '.join(ALERT_MODES)}, not {sub.alerts_mode!r}.")
    for name, value in (("daily hour", sub.daily_hour), ("digest hour", sub.digest_hour)):
        if not isinstance(value, int) or not 0 <= value <= 23:
            raise SubscriptionError(f"The {name} must be a whole hour from 0 to 23, not {value!r}.")
    if sub.digest_weekday is not None and (not isinstance(sub.digest_weekday, int) or not 0 <= sub.digest_weekday <= 6):
        raise SubscriptionError(f"The digest weekday must be 0 (Monday) to 6 (Sunday), not {sub.digest_weekday!r}.")
    if sub.alert_rules is not None:
        known = {r[0] for r in state.execute("SELECT rule_id FROM rules")}
        unknown = sorted(set(sub.alert_rules) - known)
        if unknown:
            raise SubscriptionError(f"There is no rule {', '.join(map(str, unknown))}.")
        sub = replace(sub, alert_rules=tuple(sorted(set(sub.alert_rules))))
    before = get(state, sub.user_name)
    last_slot = before.digest_last_slot
    if sub.digest_weekday is not None and (before.digest_weekday, before.digest_hour) != (sub.digest_weekday,
                                                                                          sub.digest_hour):
        last_slot = store.iso(latest_slot(sub.digest_weekday, sub.digest_hour, zoneinfo.ZoneInfo(timezone), now))
    daily_last = before.daily_last_date
    if sub.alerts_mode == "daily" and before.alerts_mode != "daily":
        local = now.astimezone(zoneinfo.ZoneInfo(timezone))
        # the first summary comes at the next daily hour, not at once
        daily_last = local.date().isoformat() if local.hour >= sub.daily_hour else \
            (local.date() - dt.timedelta(days=1)).isoformat()
    sub = replace(sub, digest_last_slot=last_slot, daily_last_date=daily_last)
    state.execute(
        "INSERT INTO subscriptions (user_name, alerts_mode, alert_rules, daily_hour, daily_last_date, digest_weekday, "
        "digest_hour, digest_last_slot, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (user_name) DO UPDATE SET alerts_mode = excluded.alerts_mode, alert_rules = excluded.alert_rules, "
        "daily_hour = excluded.daily_hour, daily_last_date = excluded.daily_last_date, "
        "digest_weekday = excluded.digest_weekday, digest_hour = excluded.digest_hour, "
        "digest_last_slot = excluded.digest_last_slot, updated_at = excluded.updated_at",
        (sub.user_name, sub.alerts_mode, json.dumps(list(sub.alert_rules)) if sub.alert_rules is not None else None,
         sub.daily_hour, sub.daily_last_date, sub.digest_weekday, sub.digest_hour, sub.digest_last_slot,
         store.iso(now)))
    return sub


def mark(state: sqlite3.Connection, user_name: str, *, daily_last_date: str | None = None,
         digest_last_slot: str | None = None) -> None:
    if daily_last_date is not None:
        state.execute("UPDATE subscriptions SET daily_last_date = ? WHERE user_name = ?", (daily_last_date, user_name))
    if digest_last_slot is not None:
        state.execute("UPDATE subscriptions SET digest_last_slot = ? WHERE user_name = ?",
                      (digest_last_slot, user_name))
