"""``python -m o2o_ops user add|list|remove|unlock``: manage who may sign in, and what they see.

The password is read with a hidden prompt (asked twice), or from the first line of stdin with
``--password-stdin`` (for scripts); it is never an argument, so it stays out of shell history.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from o2o_ops import auth
from o2o_ops.cli import add_users_file_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("user", help="add, list or remove users", description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a user (or change one with --replace)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=list(auth.ROLES),
                     help="; ".join(f"{role}: {what}" for role, what in auth.ROLES.items()))
    add.add_argument("--region", action="append", default=[], metavar="R", help="a region a regional manager sees")
    add.add_argument("--store", action="append", default=[], metavar="S", help="a store id a manager sees")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin's first line")
    add.add_argument("--replace", action="store_true", help="overwrite an existing user of that name")
    add_users_file_arg(add)
    add.set_defaults(func=run_add)

    lst = actions.add_parser("list", help="list users, roles and scopes (never passwords)")
    add_users_file_arg(lst)
    lst.set_defaults(func=run_list)

    remove = actions.add_parser("remove", help="remove a user")
    remove.add_argument("name")
    add_users_file_arg(remove)
    remove.set_defaults(func=run_remove)

    unlock = actions.add_parser("unlock", help="forget a user's failed sign-ins (lifts a lockout)")
    unlock.add_argument("name")
    add_users_file_arg(unlock)
    unlock.set_defaults(func=run_unlock)


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise auth.AuthError("The two passwords differ.")
    return first


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def run_add(args: argparse.Namespace) -> int:
    try:
        auth.validate_role(args.role, args.store, args.region)  # before asking for a password
        password = _read_password(args)
        user = auth.add_user(args.name, password, args.role, stores=args.store, regions=args.region,
                             path=args.users_file, replace=args.replace)
    except auth.AuthError as exc:
        return _fail(exc)
    stores, regions = auth.scope_for(user)
    scope = "every store" if stores is None and regions is None else \
        " + ".join(p for p in (f"regions {', '.join(regions)}" if regions else "",
                               f"stores {', '.join(stores)}" if stores else "") if p)
    print(f"{'Updated' if args.replace else 'Added'} {user.name} ({user.role}: {scope}) in {auth.users_path(args.users_file)}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    try:
        users = auth.list_users(args.users_file)
    except auth.AuthError as exc:
        return _fail(exc)
    path = auth.users_path(args.users_file)
    if not users:
        print(f"No users in {path}" + ("" if path.exists() else " (file missing: the app runs open)"))
        return 0
    print(f"# {path}")
    for user in users:
        scope = ", ".join([*(f"region {r}" for r in user.regions), *(f"store {s}" for s in user.stores)])
        print(f"{user.name:24} {user.role:17} {scope or 'every store'}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    try:
        auth.remove_user(args.name, args.users_file)
    except auth.AuthError as exc:
        return _fail(exc)
    print(f"Removed {args.name}")
    return 0


def run_unlock(args: argparse.Namespace) -> int:
    auth.clear_failures(args.name, args.users_file)
    print(f"Cleared failed sign-ins for {args.name}")
    return 0
