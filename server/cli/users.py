"""`halyq user add|list|role|remove`: staff accounts from the shell; each change goes to the
staff audit log as done by "cli"."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from server.auth.accounts import (
    AccountError,
    AuditKind,
    Role,
    User,
    check_name,
    check_password,
    generate_password,
    hash_password,
    parse_role,
)
from server.cli.shell import say, with_store
from server.settings import Settings
from server.store.staff import StaffStore

T = TypeVar("T")


def add_parser(commands: Any) -> None:
    user = commands.add_parser("user", help="add, list, change the role of and remove staff")
    actions = user.add_subparsers(title="actions", required=True)
    roles = [role.value for role in Role]
    add = actions.add_parser("add", help="add a staff user (a password is asked, read or made)")
    add.add_argument("name", help="1-40 of a-z, 0-9, '.', '_', '-'")
    add.add_argument("--role", required=True, choices=roles)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(run=_user_add)
    listing = actions.add_parser("list", help="list staff users")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=_user_list)
    role = actions.add_parser("role", help="change a staff user's role")
    role.add_argument("name")
    role.add_argument("role", choices=roles)
    role.set_defaults(run=_user_role)
    remove = actions.add_parser("remove", help="remove a staff user and end their sessions")
    remove.add_argument("name")
    remove.set_defaults(run=_user_remove)
    for sub in actions.choices.values():
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)


CLI_ACTOR = "cli"


def _with_staff(settings: Settings, work: Callable[[StaffStore], Awaitable[T]]) -> T:
    return with_store(settings, lambda store: work(store.staff))


def _new_password(args: argparse.Namespace) -> tuple[str, bool]:
    """From stdin, else asked twice on a terminal, else made up; True if made up."""
    if args.password_stdin:
        return check_password(sys.stdin.readline().rstrip("\r\n")), False
    if sys.stdin.isatty():
        password = check_password(getpass.getpass("Password: "))
        if getpass.getpass("Password again: ") != password:
            raise AccountError("the two passwords differ")
        return password, False
    return generate_password(), True


def _user_add(args: argparse.Namespace, settings: Settings) -> int:
    name, role = check_name(args.name), parse_role(args.role)
    password, generated = _new_password(args)
    user = User(name=name, role=role, password_hash=hash_password(password), created=time.time())

    async def add(staff: StaffStore) -> None:
        if not await staff.add_user(user):
            raise AccountError(f"there is already a user {name!r}")
        await staff.audit(AuditKind.USER_ADDED, CLI_ACTOR, user.created, subject=name,
                          detail=role.value)  # fmt: skip

    _with_staff(settings, add)
    say(f"added {name} ({role.value})")
    if generated:
        say(f"password: {password}")
        say("(shown only this once)")
    return 0


def _user_list(args: argparse.Namespace, settings: Settings) -> int:
    users = _with_staff(settings, lambda staff: staff.users())
    if args.json:
        rows = [{"name": u.name, "role": u.role.value, "created": u.created} for u in users]
        say(json.dumps(rows))
        return 0
    for user in users:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(user.created))
        say(f"{user.name:20}  {user.role.value:9}  {created}")
    return 0


def _user_role(args: argparse.Namespace, settings: Settings) -> int:
    role = parse_role(args.role)

    async def change(staff: StaffStore) -> Role:
        old = await staff.set_role(args.name, role)
        if old is None:
            raise AccountError(f"no user {args.name!r}")
        await staff.audit(AuditKind.ROLE_CHANGED, CLI_ACTOR, time.time(), subject=args.name,
                          detail=f"{old.value} -> {role.value}")  # fmt: skip
        return old

    old = _with_staff(settings, change)
    say(f"{args.name}: {old.value} -> {role.value}")
    return 0


def _user_remove(args: argparse.Namespace, settings: Settings) -> int:
    async def remove(staff: StaffStore) -> None:
        if not await staff.remove_user(args.name):
            raise AccountError(f"no user {args.name!r}")
        await staff.audit(AuditKind.USER_REMOVED, CLI_ACTOR, time.time(), subject=args.name)

    _with_staff(settings, remove)
    say(f"removed {args.name}; their sessions have ended")
    return 0
