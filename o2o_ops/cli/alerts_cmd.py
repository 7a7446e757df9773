"""``python -m o2o_ops alerts run|list|rule|subscribe``, ``digest send`` and ``scheduler``: alerts
and weekly digests for cron, a systemd timer, or as a long-running process, and the Alerts page's
settings from a shell (whoever can write the state file administers it).

Exit codes: 0 when everything due was delivered (problems with a person's settings are printed
on stderr); 1 when something is still undelivered (it stays queued and the next run tries again);
2 when nothing could run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sqlite3
import sys

from o2o_ops import auth
from o2o_ops.alerts import channels, digest, engine, people, rules, scheduler, store, subscriptions
from o2o_ops.cli import add_users_file_arg, add_warehouse_arg


def _common(parser: argparse.ArgumentParser) -> None:
    add_warehouse_arg(parser)
    add_users_file_arg(parser)


def register(subparsers: argparse._SubParsersAction) -> None:
    alerts = subparsers.add_parser("alerts", help="check alert rules and send alerts", description=__doc__)
    actions = alerts.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="evaluate every rule, send what is new, retry what is pending")
    run.add_argument("--dry-run", action="store_true", help="say what would open, clear and be sent; change nothing")
    _common(run)
    run.set_defaults(func=run_alerts)
    lst = actions.add_parser("list", help="rules, subscriptions, open alerts and undelivered messages")
    _common(lst)
    lst.set_defaults(func=run_list)

    rule = actions.add_parser("rule", help="add, remove, enable or disable a rule (as the Alerts page does)")
    rule_actions = rule.add_subparsers(dest="rule_action", required=True, metavar="ACTION")
    add = rule_actions.add_parser("add", help="add a rule")
    add.add_argument("name")
    add.add_argument("--kind", required=True, choices=list(rules.KINDS),
                     help="; ".join(f"{k}: {v}" for k, v in rules.KINDS.items()))
    add.add_argument("--kpi", help="threshold: the KPI's registry name (`kpis --list`)")
    add.add_argument("--op", choices=("above", "below"), help="threshold: above or below --value")
    add.add_argument("--value", type=float, help="threshold: in the KPI's unit (a percentage as a fraction)")
    add.add_argument("--grain", choices=("store", "total"), help="threshold: each store (default) or the scope")
    add.add_argument("--window-days", type=int, help="threshold, symmetry: the last days of data looked at")
    add.add_argument("--min-orders", type=int, help="threshold: only where there were this many orders")
    add.add_argument("--days", type=int, help="freshness: days without an import")
    add.add_argument("--within-hours", type=int, help="failed_import: failures of the last hours")
    add.add_argument("--weeks", type=int, help="anomaly, target_missed: the last complete ISO weeks looked at (default 1)")
    add.add_argument("--watch", help="anomaly: comma-separated KPIs among "
                                     f"{', '.join(rules.ANOMALY_KPIS)} (default: all); target_missed: "
                                     "comma-separated registry KPIs (default: every KPI with a target)")
    add.add_argument("--both-directions", action="store_true",
                     help="anomaly: also report ratings, waits and refund rates better than usual")
    for flag, dest in (("--store", "stores"), ("--region", "regions"), ("--city", "cities"),
                       ("--category", "categories")):
        add.add_argument(flag, dest=dest, action="append", default=[], metavar="X", help="scope (repeatable)")
    add.add_argument("--webhook-url", default="", help="also post to this chat webhook")
    add.add_argument("--webhook-format", default="generic", help="generic | slack | wecom | dingtalk | feishu")
    add.add_argument("--webhook-secret-stdin", action="store_true", help="read the signing secret from stdin")
    _common(add)
    add.set_defaults(func=run_rule_add)
    for verb, text in (("remove", "remove a rule"), ("enable", "enable a rule"), ("disable", "disable a rule")):
        sub = rule_actions.add_parser(verb, help=text)
        sub.add_argument("rule_id", type=int, metavar="ID")
        _common(sub)
        sub.set_defaults(func=run_rule_change, verb=verb)

    sub = actions.add_parser("subscribe", help="set a person's subscriptions (as they would on the Alerts page)")
    sub.add_argument("user")
    sub.add_argument("--alerts", choices=list(subscriptions.ALERT_MODES), help="off, immediate or daily")
    sub.add_argument("--rule", dest="rules", action="append", type=int, default=None, metavar="ID",
                     help="only these rules (repeatable; default: every rule)")
    sub.add_argument("--daily-hour", type=int, help="hour of the daily summary, their time zone")
    sub.add_argument("--digest", choices=[d.lower() for d in subscriptions.WEEKDAYS] + ["none"],
                     help="weekday of the weekly digest, or none")
    sub.add_argument("--digest-hour", type=int, help="hour of the digest, their time zone")
    _common(sub)
    sub.set_defaults(func=run_subscribe)

    dig = subparsers.add_parser("digest", help="send the weekly digest", description=__doc__)
    dig_actions = dig.add_subparsers(dest="action", required=True, metavar="ACTION")
    send = dig_actions.add_parser("send", help="send the digests that are due (or --week W to every subscriber)")
    send.add_argument("--week", metavar="YYYY-Www", help="send this ISO week to every digest subscriber now")
    send.add_argument("--dry-run", action="store_true", help="say who would get which week; send nothing")
    _common(send)
    send.set_defaults(func=run_digest)

    sched = subparsers.add_parser("scheduler", help="run alerts and digests in a loop", description=__doc__)
    sched.add_argument("--interval", type=float, default=None, metavar="SECONDS",
                       help="seconds between rounds (default: $O2O_SCHEDULER_INTERVAL_S)")
    sched.add_argument("--rounds", type=int, default=None, metavar="N", help="stop after N rounds")
    _common(sched)
    sched.set_defaults(func=run_scheduler)


def _finish(result: engine.RunReport) -> int:
    for line in result.lines():
        print(line, file=sys.stderr if line.startswith("problem:") else sys.stdout)
    if not result.lines():
        print("nothing new" + (" (dry run)" if result.dry_run else ""))
    return 1 if result.undelivered else 0


def _guard(func):
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except (auth.AuthError, ValueError, sqlite3.Error, OSError, channels.DeliveryError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return wrapped


@_guard
def run_alerts(args: argparse.Namespace) -> int:
    return _finish(engine.run(warehouse=args.warehouse, users_path=args.users_file, dry_run=args.dry_run))


@_guard
def run_digest(args: argparse.Namespace) -> int:
    return _finish(digest.send(warehouse=args.warehouse, users_path=args.users_file, week=args.week,
                               dry_run=args.dry_run))


@_guard
def run_scheduler(args: argparse.Namespace) -> int:
    print(f"scheduler: alerts and digests every "
          f"{args.interval if args.interval is not None else 'O2O_SCHEDULER_INTERVAL_S'} s; Ctrl-C or SIGTERM stops it")
    scheduler.loop(interval_s=args.interval, rounds=args.rounds, warehouse=args.warehouse,
                   users_path=args.users_file)
    return 0


@_guard
def run_rule_add(args: argparse.Namespace) -> int:
    raw = {"kpi": args.kpi, "op": args.op, "value": args.value, "grain": args.grain,
           "window_days": args.window_days, "min_orders": args.min_orders, "days": args.days,
           "within_hours": args.within_hours, "weeks": args.weeks, "kpis": args.watch,
           "only_worse": False if args.both_directions else None}
    secret = sys.stdin.readline().strip() if args.webhook_secret_stdin else ""
    hook = rules.rule_webhook(args.webhook_url, args.webhook_format, secret)
    rule = rules.clean(args.name, args.kind, {k: v for k, v in raw.items() if v is not None},
                       {"stores": args.stores, "regions": args.regions, "cities": args.cities,
                        "categories": args.categories}, hook, created_by=f"cli:{os.environ.get('USER', 'unknown')}")
    with store.connect(store.db_path(args.warehouse)) as state:
        rule_id = rules.save(state, rule)
    print(f"added rule {rule_id}: {rule.describe()}" + (f" → {hook.masked()}" if hook else ""))
    return 0


@_guard
def run_rule_change(args: argparse.Namespace) -> int:
    with store.connect(store.db_path(args.warehouse)) as state:
        if args.verb == "remove":
            rules.delete(state, args.rule_id)
        elif state.execute("UPDATE rules SET enabled = ? WHERE rule_id = ?",
                           (int(args.verb == "enable"), args.rule_id)).rowcount != 1:
            raise rules.RuleError(f"There is no rule {args.rule_id}.")
    print(f"rule {args.rule_id} {args.verb}d")
    return 0


@_guard
def run_subscribe(args: argparse.Namespace) -> int:
    persons, _ = people.load(args.users_file)
    person = persons.get(args.user)
    if person is None:
        raise auth.AuthError(f"No usable user named {args.user!r} in the users file (`alerts list` shows problems).")
    with store.connect(store.db_path(args.warehouse)) as state:
        now = subscriptions.get(state, person.name)
        digest = now.digest_weekday if args.digest is None else (
            None if args.digest == "none" else [d.lower() for d in subscriptions.WEEKDAYS].index(args.digest))
        saved = subscriptions.save(state, dataclasses.replace(
            now, alerts_mode=args.alerts or now.alerts_mode,
            alert_rules=tuple(args.rules) if args.rules else now.alert_rules,
            daily_hour=now.daily_hour if args.daily_hour is None else args.daily_hour,
            digest_weekday=digest, digest_hour=now.digest_hour if args.digest_hour is None else args.digest_hour),
            timezone=person.timezone)
    print(f"{person.name}: {saved.describe()}")
    return 0


@_guard
def run_list(args: argparse.Namespace) -> int:
    persons, problems = people.load(args.users_file)
    print("people:")
    for person in persons.values():
        where = [person.email or "no email", person.webhook.masked() if person.webhook else "no webhook",
                 person.timezone]
        print(f"  {person.name} ({person.user.role}): {' · '.join(where)}")
    for problem in problems:
        print(f"  problem: {problem}")
    from o2o_ops import config, db
    wh = config.warehouse_path(args.warehouse)
    con = db.connect(wh) if wh.exists() else None   # what each rule cannot see there (rules.blind_to)
    try:
        with store.connect(store.db_path(args.warehouse), write=False) as state:
            _list_state(state, con)
    finally:
        if con is not None:
            con.close()
    return 0


def _list_state(state: sqlite3.Connection, con) -> None:
    """The state file's rules (each with what it cannot see in the warehouse ``con``, when there is
    one), subscriptions, open alerts and undelivered messages."""
    import duckdb

    print("rules:")
    for r in rules.load_all(state):
        hook = f" → {r.webhook.masked()}" if r.webhook else ""
        print(f"  {r.rule_id}. {r.name} [{r.kind}{'' if r.enabled else ', disabled'}]: {r.describe()}{hook}")
        try:
            blind = rules.blind_to(r, con) if con is not None else ""
        except duckdb.Error:   # a warehouse whose derived tables are missing: `refresh` says so elsewhere
            blind = ""
        if blind:
            print(f"     cannot see: {blind}; it cannot fire on that")
    print("subscriptions:")
    for s in subscriptions.load_all(state):
        print(f"  {s.user_name}: {s.describe()}")
    print("open alerts:")
    for row in state.execute("SELECT audience, rule_id, summary, opened_at FROM alerts WHERE cleared_at IS NULL "
                             "ORDER BY opened_at, alert_id"):
        print(f"  {row['opened_at']} {row['audience']} rule {row['rule_id']}: {row['summary']}")
    print("undelivered:")
    for row in state.execute("SELECT delivery_id, audience, channel, subject, attempts, last_error FROM deliveries "
                             "WHERE status IN ('pending', 'sending') ORDER BY delivery_id"):
        print(f"  #{row['delivery_id']} {row['audience']} by {row['channel']} · {row['subject']} "
              f"({row['attempts']} tries; {row['last_error'] or 'not tried yet'})")
