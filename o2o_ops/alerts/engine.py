"""``python -m o2o_ops alerts run``: evaluate every rule for every audience, open and clear
alerts, queue what must be sent, and send it.

Audiences: each person subscribed to alerts (``user:NAME``; every rule evaluated with their
scope ANDed in, exactly as the app scopes them), and each rule with its own webhook
(``rule:ID``; the rule's scope only: whoever reads that chat channel sees what the rule's author
scoped it to).

State: a finding (rule, audience, key) that was not open before opens an alert and is sent; while
it stays open it is not sent again; when a run no longer finds it, it clears; if it comes back,
it is a new alert and is sent again. A rule that cannot be evaluated (the warehouse is missing, a
query fails) changes nothing and is reported, so an error never clears an alert.

People with ``immediate`` alerts get one message per rule per run listing what is new; people
with ``daily`` alerts get one summary at their daily hour (their time zone) of everything opened
since the last summary, nothing when nothing happened.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import duckdb

from o2o_ops import auth, config, db
from o2o_ops.alerts import messages, outbox, people as people_mod, rules as rules_mod, store, subscriptions
from o2o_ops.alerts.people import Person
from o2o_ops.alerts.rules import Finding, Rule


@dataclass
class RunReport:
    opened: list[tuple[str, str, str]] = field(default_factory=list)     # (audience, rule name, summary)
    cleared: list[tuple[str, str, str]] = field(default_factory=list)
    queued: list[tuple[str, str, str]] = field(default_factory=list)     # (audience, channel, subject)
    outcomes: list[outbox.Outcome] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def undelivered(self) -> list[outbox.Outcome]:
        return [o for o in self.outcomes if not o.delivered]

    def lines(self) -> list[str]:
        out = [f"{'would open' if self.dry_run else 'opened'}: {aud} · {rule} · {text}" for aud, rule, text in self.opened]
        out += [f"{'would clear' if self.dry_run else 'cleared'}: {aud} · {rule} · {text}" for aud, rule, text in self.cleared]
        out += [f"{'would send' if self.dry_run else 'queued'}: {aud} by {ch} · {subj}" for aud, ch, subj in self.queued]
        for o in self.outcomes:
            state = "delivered" if o.delivered else f"NOT delivered after {o.tries} tr{'y' if o.tries == 1 else 'ies'} " \
                                                     f"(kept for the next run): {o.error}"
            out.append(f"{o.kind} to {o.audience} by {o.channel} · {o.subject}: {state}")
        out += [f"problem: {p}" for p in self.problems]
        return out


@dataclass
class Audience:
    key: str
    person: Person | None
    rules: list[Rule]

    def filters_for(self, rule: Rule):
        return auth.scoped(rule.filters(), self.person.user) if self.person else rule.filters()

    def scope_key(self) -> tuple:
        return auth.scope_for(self.person.user) if self.person else ("rule",)


def _audiences(state: sqlite3.Connection, rules: Sequence[Rule], persons: dict[str, Person],
               report: RunReport) -> list[Audience]:
    out = []
    for sub in subscriptions.load_all(state):
        if sub.alerts_mode == "off":
            continue
        person = persons.get(sub.user_name)
        if person is None:
            report.problems.append(f"{sub.user_name} subscribes to alerts but is not in the users file (or their "
                                   f"entry has a problem); nothing is evaluated for them.")
            continue
        if not person.channels:
            report.problems.append(f"{person.name} subscribes to alerts but has neither email nor webhook_url in the "
                                   f"users file; their alerts are kept on the Alerts page only.")
        out.append(Audience(f"user:{person.name}", person, [r for r in rules if sub.wants_rule(r.rule_id)]))
    out += [Audience(f"rule:{r.rule_id}", None, [r]) for r in rules if r.webhook is not None]
    return out


def _reconcile(state: sqlite3.Connection, audience: str, rule: Rule, findings: Sequence[Finding],
               now: dt.datetime, report: RunReport) -> list[tuple[int, Finding]]:
    """Open new findings, touch open ones, clear vanished ones; returns the newly opened."""
    open_rows = {r["finding_key"]: r for r in state.execute(
        "SELECT alert_id, finding_key, summary FROM alerts WHERE audience = ? AND rule_id = ? AND cleared_at IS NULL",
        (audience, rule.rule_id))}
    seen = set()
    new = []
    for f in findings:
        if f.key in seen:
            continue
        seen.add(f.key)
        if f.key in open_rows:
            state.execute("UPDATE alerts SET last_seen_at = ?, summary = ? WHERE alert_id = ?",
                          (store.iso(now), f.summary, open_rows[f.key]["alert_id"]))
            continue
        cur = state.execute("INSERT INTO alerts (audience, rule_id, finding_key, summary, link, opened_at, last_seen_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (audience, rule.rule_id, f.key, f.summary, f.link, store.iso(now), store.iso(now)))
        new.append((int(cur.lastrowid), f))
        report.opened.append((audience, rule.name, f.summary))
    for key, row in open_rows.items():
        if key not in seen:
            state.execute("UPDATE alerts SET cleared_at = ? WHERE alert_id = ?", (store.iso(now), row["alert_id"]))
            report.cleared.append((audience, rule.name, row["summary"]))
    return new


def _queue(state: sqlite3.Connection, key_base: str, audience: str, channels: Sequence[str],
           msg: messages.Message, now: dt.datetime, report: RunReport) -> None:
    for channel in channels:
        if outbox.enqueue(state, f"{key_base}:{channel}", audience, channel, msg, now=now) is not None:
            report.queued.append((audience, channel, msg.subject))


def _daily(state: sqlite3.Connection, person: Person, sub: subscriptions.Subscription, rules_by_id: dict[int, Rule],
           now: dt.datetime, report: RunReport, *, now_due: bool = False) -> None:
    """The daily summary when its hour has come (``now_due``: at once, for someone who switched
    from daily to immediate with alerts still waiting)."""
    local = now.astimezone(person.tz)
    today = local.date().isoformat()
    if not now_due and (local.hour < sub.daily_hour or sub.daily_last_date == today):
        return
    rows = state.execute(
        "SELECT a.alert_id, a.rule_id, a.summary, a.cleared_at FROM daily_queue q JOIN alerts a USING (alert_id) "
        "WHERE q.user_name = ? AND q.sent = 0 ORDER BY a.rule_id, a.alert_id", (person.name,)).fetchall()
    if not now_due:
        subscriptions.mark(state, person.name, daily_last_date=today)
    if not rows:
        return
    groups: dict[str, list[str]] = {}
    for r in rows:
        rule = rules_by_id.get(r["rule_id"])
        name = rule.name if rule else f"rule {r['rule_id']} (since deleted)"
        groups.setdefault(name, []).append(r["summary"] + (" (cleared since)" if r["cleared_at"] else ""))
    msg = messages.daily_message(local.date(), list(groups.items()), messages.app_link("alerts"))
    state.executemany("UPDATE daily_queue SET sent = 1 WHERE alert_id = ? AND user_name = ?",
                      [(r["alert_id"], person.name) for r in rows])
    key = f"daily:{person.name}:{today}" + (f":{store.iso(now)}" if now_due else "")
    _queue(state, key, f"user:{person.name}", person.channels, msg, now, report)


def evaluate_and_queue(state: sqlite3.Connection, con: duckdb.DuckDBPyConnection | None, warehouse: Path,
                       persons: dict[str, Person], now: dt.datetime, report: RunReport) -> None:
    """Everything ``alerts run`` decides, inside the caller's transaction."""
    all_rules = rules_mod.load_all(state, enabled_only=True)
    rules_by_id = {r.rule_id: r for r in rules_mod.load_all(state)}
    cache: dict[tuple, list[Finding] | None] = {}
    ctx = rules_mod.Context(con, state, warehouse, now)
    subs = {s.user_name: s for s in subscriptions.load_all(state)}
    for aud in _audiences(state, all_rules, persons, report):
        for rule in aud.rules:
            cache_key = (rule.rule_id, aud.scope_key())
            if cache_key not in cache:
                if con is None and rule.kind != "failed_import":
                    cache[cache_key] = None   # no warehouse: reported once by run()
                else:
                    try:
                        cache[cache_key] = rules_mod.evaluate(rule, ctx, aud.filters_for(rule))
                    except (db.WarehouseError, duckdb.Error, ValueError, KeyError) as exc:
                        report.problems.append(f"rule {rule.rule_id} ({rule.name}) could not be checked: {exc}")
                        cache[cache_key] = None
            findings = cache[cache_key]
            if findings is None:
                continue   # unknown is not "all clear": open alerts stay open
            new = _reconcile(state, aud.key, rule, findings, now, report)
            if not new:
                continue
            sub = subs.get(aud.person.name) if aud.person else None
            if sub is not None and sub.alerts_mode == "daily":
                state.executemany("INSERT OR IGNORE INTO daily_queue (alert_id, user_name) VALUES (?, ?)",
                                  [(alert_id, aud.person.name) for alert_id, _ in new])
                continue
            # a restricted reader gets neither the rule's scope in words nor its stores in the link
            shown = rules_mod.reader_filters(aud.filters_for(rule))
            window = new[0][1].window
            if window:
                shown = shown.replace(start=window[0], end=window[1])
            link = new[0][1].link if len(new) == 1 else messages.app_link(rule.page(), shown)
            full = aud.person is None or auth.scope_for(aud.person.user) == (None, None)
            msg = messages.alert_message(rule.name, rule.describe(with_scope=full), [f.summary for _, f in new],
                                         link, at=now)
            ids = ",".join(str(a) for a, _ in new)
            key = f"alert:{aud.key}:{rule.rule_id}:{hashlib.sha256(ids.encode()).hexdigest()[:16]}"
            channels = aud.person.channels if aud.person else ("webhook",)
            _queue(state, key, aud.key, channels, msg, now, report)
    for name, sub in subs.items():
        if sub.alerts_mode != "off" and name in persons:
            _daily(state, persons[name], sub, rules_by_id, now, report, now_due=sub.alerts_mode == "immediate")


def run(*, warehouse: str | os.PathLike | None = None, state_path: str | os.PathLike | None = None,
        users_path: str | os.PathLike | None = None, now: dt.datetime | None = None, dry_run: bool = False,
        senders: outbox.Senders | None = None, clock: Callable[[], dt.datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep) -> RunReport:
    """One ``alerts run``: evaluate, open/clear, queue, then deliver everything pending (also what
    earlier runs could not deliver). ``dry_run`` decides and reports but writes and sends nothing."""
    clock = clock or ((lambda: now) if now else store.utc_now)
    now = now or store.utc_now()
    wh = config.warehouse_path(warehouse)
    path = Path(state_path) if state_path else store.db_path(wh)
    report = RunReport(dry_run=dry_run)
    persons, problems = people_mod.load(users_path)
    report.problems += problems
    con = None
    if wh.exists():
        con = db.connect(wh)
    else:
        report.problems.append(f"The warehouse {wh} does not exist; only failed-import rules were checked.")
    try:
        with store.connect(path, commit=not dry_run) as state:
            evaluate_and_queue(state, con, wh, persons, now, report)
            rules_by_id = {r.rule_id: r for r in rules_mod.load_all(state)}
    finally:
        if con is not None:
            con.close()
    if not dry_run:
        report.outcomes = outbox.deliver_pending(path, outbox.Directory(persons, rules_by_id),
                                                 senders or outbox.Senders.from_settings(),
                                                 clock=clock, sleep=sleep)
    return report
