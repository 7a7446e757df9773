"""``python -m o2o_ops alerts run|list``, ``digest send`` and ``scheduler``: alerts and weekly
digests for cron, a systemd timer, or as a long-running process.

Exit codes: 0 when everything due was delivered (problems with a person's settings are printed
on stderr); 1 when something is still undelivered (it stays queued and the next run tries again);
2 when nothing could run.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

from o2o_ops import auth
from o2o_ops.alerts import channels, digest, engine, people, rules, scheduler, store, subscriptions
from o2o_ops.cli import add_warehouse_arg


def _common(parser: argparse.ArgumentParser) -> None:
    add_warehouse_arg(parser)
    parser.add_argument("--users-file", metavar="PATH", default=None,
                        help="users file (default: $O2O_USERS_FILE)")


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
def run_list(args: argparse.Namespace) -> int:
    persons, problems = people.load(args.users_file)
    print("people:")
    for person in persons.values():
        where = [person.email or "no email", person.webhook.masked() if person.webhook else "no webhook",
                 person.timezone]
        print(f"  {person.name} ({person.user.role}): {' · '.join(where)}")
    for problem in problems:
        print(f"  problem: {problem}")
    with store.connect(store.db_path(args.warehouse), write=False) as state:
        print("rules:")
        for r in rules.load_all(state):
            hook = f" → {r.webhook.masked()}" if r.webhook else ""
            print(f"  {r.rule_id}. {r.name} [{r.kind}{'' if r.enabled else ', disabled'}]: {r.describe()}{hook}")
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
    return 0
