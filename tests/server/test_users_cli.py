"""`halyq user add|list|role|remove` as an operator runs them, and the demo's staff logins."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from argon2 import PasswordHasher

from server.auth import accounts
from server.auth.accounts import AuditEntry, AuditKind, Role, Session, User
from server.cli.demo import ensure_demo_users
from server.settings import Settings
from server.store import Store
from server.store.staff import StaffStore
from tests.helpers import ROOT, TIMEOUT, environment, running_server

T = TypeVar("T")
PASSWORD = "a long enough password"


def halyq(
    settings: Settings, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """The command in its own process, on the test Redis and key prefix, stdin not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=ROOT,
        env=environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix),
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )


def on_a_terminal(settings: Settings, args: list[str], typed: list[str]) -> tuple[int, str]:
    """Run the command on a pseudo-terminal, typing each of `typed` at its password prompt."""
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, whatever happens
        try:
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "server", *args], env)
        finally:
            os._exit(127)
    output, to_type, answered = b"", list(typed), 0
    deadline = time.monotonic() + TIMEOUT * 3
    try:
        while time.monotonic() < deadline:
            if to_type and output.count(b"Password") > answered:  # typed only once asked:
                os.write(fd, to_type.pop(0).encode() + b"\n")  # getpass flushes earlier input
                answered += 1
            if not select.select([fd], [], [], 0.05)[0]:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def with_staff(settings: Settings, work: Callable[[StaffStore], Awaitable[T]]) -> T:
    async def run() -> T:
        store = Store(settings.redis_url, settings.redis_prefix)
        try:
            return await work(store.staff)
        finally:
            await store.close()

    return asyncio.run(run())


def user(settings: Settings, name: str) -> User | None:
    return with_staff(settings, lambda staff: staff.user(name))


def trail(settings: Settings) -> list[AuditEntry]:
    return with_staff(settings, lambda staff: staff.audit_trail())


def test_add_list_change_the_role_of_and_remove_a_user(settings: Settings) -> None:
    added = halyq(settings, "user", "add", "ana.k", "--role", "moderator", "--password-stdin",
                  stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout == "added ana.k (moderator)\n"  # the password is never echoed
    stored = user(settings, "ana.k")
    assert stored is not None
    assert stored.role is Role.MODERATOR
    assert accounts.verify_password(stored.password_hash, PASSWORD)
    assert stored.password_hash.startswith("$argon2id$")
    assert not accounts.needs_rehash(stored.password_hash)  # argon2-cffi's defaults
    listed = halyq(settings, "user", "list", "--json")
    assert [(u["name"], u["role"]) for u in json.loads(listed.stdout)] == [("ana.k", "moderator")]
    assert halyq(settings, "user", "list").stdout.split()[:2] == ["ana.k", "moderator"]
    changed = halyq(settings, "user", "role", "ana.k", "producer")
    assert (changed.returncode, changed.stdout) == (0, "ana.k: moderator -> producer\n")
    assert (user(settings, "ana.k") or stored).role is Role.PRODUCER
    session = Session(name="ana.k", role=Role.PRODUCER, created=time.time(),
                      last_seen=time.time(), csrf="c" * 43)  # fmt: skip
    with_staff(settings, lambda staff: staff.create_session("s" * 43, session))
    removed = halyq(settings, "user", "remove", "ana.k")
    assert removed.returncode == 0, removed.stderr
    assert user(settings, "ana.k") is None
    assert with_staff(settings, lambda staff: staff.session("s" * 43, time.time())) is None
    assert json.loads(halyq(settings, "user", "list", "--json").stdout) == []
    assert [(e.kind, e.actor, e.subject, e.detail) for e in reversed(trail(settings))] == [
        (AuditKind.USER_ADDED, "cli", "ana.k", "moderator"),
        (AuditKind.ROLE_CHANGED, "cli", "ana.k", "moderator -> producer"),
        (AuditKind.USER_REMOVED, "cli", "ana.k", ""),
    ]


def test_without_a_terminal_or_stdin_a_password_is_made_and_shown_once(settings: Settings) -> None:
    added = halyq(settings, "user", "add", "ops", "--role", "operator")
    assert added.returncode == 0, added.stderr
    shown = re.search(r"^password: (\S+)$", added.stdout, re.MULTILINE)
    assert shown
    assert len(shown[1]) >= accounts.MIN_PASSWORD
    stored = user(settings, "ops")
    assert stored is not None
    assert accounts.verify_password(stored.password_hash, shown[1])
    assert shown[1] not in f"{trail(settings)}"


def test_on_a_terminal_the_password_is_asked_twice(settings: Settings) -> None:
    args = ["user", "add", "erlan", "--role", "admin"]
    code, output = on_a_terminal(settings, args, [PASSWORD, PASSWORD])
    assert code == 0, output
    assert PASSWORD not in output  # not echoed
    stored = user(settings, "erlan")
    assert stored is not None
    assert accounts.verify_password(stored.password_hash, PASSWORD)
    code, output = on_a_terminal(settings, ["user", "add", "dana", "--role", "admin"],
                                 [PASSWORD, PASSWORD + "!"])  # fmt: skip
    assert code == 1
    assert "the two passwords differ" in output
    assert user(settings, "dana") is None


@pytest.mark.parametrize(
    ("args", "stdin", "code", "error"),
    [(["add", "Ana", "--role", "admin", "--password-stdin"], PASSWORD, 1, "user name"),
     (["add", "x" * 41, "--role", "admin", "--password-stdin"], PASSWORD, 1, "user name"),
     (["add", "ana", "--role", "admin", "--password-stdin"], "too short", 1, "at least 10"),
     (["add", "ana", "--role", "viewer", "--password-stdin"], PASSWORD, 2, "invalid choice"),
     (["role", "nobody", "admin"], None, 1, "no user 'nobody'"),
     (["role", "nobody", "king"], None, 2, "invalid choice"),
     (["remove", "nobody"], None, 1, "no user 'nobody'")],
)  # fmt: skip
def test_bad_input_gets_a_clear_error_and_changes_nothing(
    settings: Settings, args: list[str], stdin: str | None, code: int, error: str
) -> None:
    answer = halyq(settings, "user", *args, stdin=stdin)
    assert answer.returncode == code
    assert error in answer.stderr
    assert json.loads(halyq(settings, "user", "list", "--json").stdout) == []
    assert trail(settings) == []


def test_a_name_is_added_only_once(settings: Settings) -> None:
    first = halyq(settings, "user", "add", "ana", "--role", "admin", "--password-stdin",
                  stdin=PASSWORD)  # fmt: skip
    assert first.returncode == 0
    again = halyq(settings, "user", "add", "ana", "--role", "operator", "--password-stdin",
                  stdin="another password")  # fmt: skip
    assert again.returncode == 1
    assert "there is already a user 'ana'" in again.stderr
    stored = user(settings, "ana")
    assert stored is not None
    assert stored.role is Role.ADMIN
    assert accounts.verify_password(stored.password_hash, PASSWORD)


def test_demo_users_get_new_passwords_at_each_start(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))
    first = with_staff(settings, lambda staff: ensure_demo_users(staff, 1.0))
    with_staff(settings, lambda staff: staff.set_role("demo-moderator", Role.PRODUCER))
    second = with_staff(settings, lambda staff: ensure_demo_users(staff, 2.0))
    assert sorted(first) == sorted(second) == sorted(f"demo-{role.value}" for role in Role)
    for name, password in second.items():
        stored = user(settings, name)
        assert stored is not None
        assert stored.role.value == name.removeprefix("demo-")
        assert accounts.verify_password(stored.password_hash, password)
        assert not accounts.verify_password(stored.password_hash, first[name])
    added = [e.subject for e in trail(settings) if e.kind is AuditKind.USER_ADDED]
    assert sorted(added) == sorted(first)  # added once, reset afterwards


def test_the_demo_prints_a_working_login_per_role(settings: Settings, tmp_path: Path) -> None:
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    with running_server(tmp_path, "demo", env=env) as server:
        log = server.log.read_text()
        assert f"{server.url}/login?next=/console/almaly-demo" in log
        logins = dict(re.findall(r"^\s+(demo-[a-z]+)\s+(\S+)$", log, re.MULTILINE))
        assert sorted(logins) == sorted(f"demo-{role.value}" for role in Role)
        with httpx.Client(base_url=server.url) as http:
            page = http.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert token
            form = {"name": "demo-producer", "password": logins["demo-producer"], "csrf": token[1]}
            answer = http.post("/login", data=form)
            assert answer.status_code == 303
            assert "halyq_session" in http.cookies
