"""The `halyq` command: serve, demo, and meeting and staff administration from the shell."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import json
import logging
import os
import secrets
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
import uvloop

from moderation import (
    AkimLevel,
    CreateMeeting,
    EndMeeting,
    Meeting,
    ModerationError,
    StartMeeting,
)
from moderation.projections import meeting_for_viewer
from server import meetings
from server.accounts import (
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
from server.app import create_app
from server.demo import ensure_demo, ensure_demo_users
from server.embedded import EmbeddedRedis, EmbeddedRedisError
from server.settings import Settings, SettingsError
from server.staffstore import StaffStore
from server.store import Store, StoreUnavailable
from server.wire import MAX_FRAME_BYTES

logger = logging.getLogger(__name__)
T = TypeVar("T")

UVICORN: dict[str, Any] = {
    "http": "httptools",
    "ws": "server.transport:WebSocketProtocol",
    "ws_max_size": MAX_FRAME_BYTES,
    "ws_per_message_deflate": False,
    "ws_ping_interval": 20.0,
    "ws_ping_timeout": 20.0,
    "access_log": False,
    "log_config": None,
    "proxy_headers": True,
    "server_header": False,
    "backlog": 4096,
    "timeout_graceful_shutdown": 5,
}


GC_THRESHOLDS = (50_000, 50, 100)


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env(
            os.environ,
            data_dir=args.data_dir,
            host=getattr(args, "host", None),
            port=getattr(args, "port", None),
            workers=getattr(args, "workers", None),
        )
        _configure_logging(settings.log_level)
        result: int = args.run(args, settings)
        return result
    except (SettingsError, EmbeddedRedisError, StoreUnavailable, AccountError) as error:
        sys.stderr.write(f"halyq: {error}\n")
        return 1
    except ModerationError as error:
        sys.stderr.write(f"halyq: {error.code}: {error.detail or error}\n")
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="halyq", description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="data folder of the embedded Redis (./data)")
    commands = parser.add_subparsers(title="commands")

    for name, run, text in (
        ("serve", _serve, "run the server"),
        ("demo", _demo, "run the server with a live demo meeting"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("--host", help="address to listen on (127.0.0.1)")
        sub.add_argument("--port", type=int, help="port to listen on (8000; 0 picks a free one)")
        sub.add_argument("--workers", type=int, help="server processes sharing one Redis (1)")
        sub.add_argument("--ready-file", type=Path, help="write the URL as JSON here once serving")
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
        sub.set_defaults(run=run)

    meeting = commands.add_parser("meeting", help="create, list, start and end meetings")
    actions = meeting.add_subparsers(title="actions", required=True)
    create = actions.add_parser("create", help="announce a meeting")
    create.add_argument("--id", default="", help="an id of your own (a-z, 0-9, -)")
    create.add_argument("--title", required=True)
    create.add_argument("--title-kk", default="")
    create.add_argument("--title-ru", default="")
    create.add_argument("--title-en", default="")
    create.add_argument("--akim", required=True, help="the akim's name")
    create.add_argument("--level", required=True, choices=[level.value for level in AkimLevel])
    create.add_argument("--territory", required=True, help="the city, district or village")
    create.add_argument("--planned-minutes", type=int, required=True)
    create.add_argument("--stream-url", default="")
    create.add_argument("--starts-at", default="", help="ISO 8601 with offset, e.g. +05:00")
    create.add_argument("--slow-mode", type=float, default=None, help="seconds between comments")
    create.add_argument("--slow-mode-burst", type=int, default=None)
    create.set_defaults(run=_create)
    for name, run in (("list", _list), ("show", _show), ("start", _start), ("end", _end)):
        sub = actions.add_parser(name, help=f"{name} meeting(s)")
        if name != "list":
            sub.add_argument("meeting_id")
        sub.set_defaults(run=run)
    for sub in actions.choices.values():
        sub.add_argument("--json", action="store_true", help="print JSON")
        sub.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)
    _user_parser(commands)
    return parser


def _user_parser(commands: Any) -> None:
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


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Personal data stays out of logs: uvicorn names the client's address in its WebSocket
    # lines, and the websockets library logs frames and headers (cookies too) at debug level.
    logging.getLogger("uvicorn.error").addFilter(_without_personal_data)


def _without_personal_data(record: logging.LogRecord) -> bool:
    from_websockets = f"{os.sep}websockets{os.sep}" in record.pathname
    return not from_websockets and '"WebSocket %s"' not in str(record.msg)


# Meetings from the shell: they work whether or not a server runs on the same data folder.


@contextmanager
def _redis_url(settings: Settings) -> Iterator[str]:
    if settings.redis_url:
        yield settings.redis_url
        return
    with EmbeddedRedis(settings.data_dir) as embedded:
        yield embedded.url


def _with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run(url: str) -> T:
        store = Store(url, settings.redis_prefix)
        try:
            return await work(store)
        finally:
            await store.close()

    with _redis_url(settings) as url:
        return asyncio.run(run(url))


def _print_meeting(meeting: Meeting, as_json: bool) -> None:
    if as_json:
        say(
            json.dumps(
                meeting_for_viewer(meeting) | {"stream_url": meeting.stream_url}, ensure_ascii=False
            )
        )
    else:
        say(f"{meeting.id}  {meeting.status.value:9}  {meeting.title}")


def _create(args: argparse.Namespace, settings: Settings) -> int:
    titles = {lang: text for lang in ("kk", "ru", "en") if (text := getattr(args, f"title_{lang}"))}
    command = CreateMeeting(
        title=args.title,
        akim=args.akim,
        level=AkimLevel(args.level),
        territory=args.territory,
        planned_minutes=args.planned_minutes,
        stream_url=args.stream_url,
        titles=titles,
        starts_at=args.starts_at,
        slow_mode_seconds=settings.slow_mode_seconds if args.slow_mode is None else args.slow_mode,
        slow_mode_burst=settings.slow_mode_burst
        if args.slow_mode_burst is None
        else args.slow_mode_burst,
    )
    meeting = _with_store(
        settings, lambda store: meetings.create(store, command, meeting_id=args.id)
    )
    _print_meeting(meeting, args.json)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    found = _with_store(settings, lambda store: store.meetings())
    if args.json:
        say(json.dumps([meeting_for_viewer(m) for m in found], ensure_ascii=False))
    for meeting in [] if args.json else found:
        _print_meeting(meeting, False)
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    found = _with_store(settings, lambda store: store.meeting(args.meeting_id))
    if found is None:
        sys.stderr.write(f"halyq: no meeting {args.meeting_id!r}\n")
        return 1
    _print_meeting(found, args.json)
    return 0


def _start(args: argparse.Namespace, settings: Settings) -> int:
    meeting = _with_store(
        settings, lambda store: meetings.change(store, args.meeting_id, StartMeeting())
    )
    _print_meeting(meeting, args.json)
    return 0


def _end(args: argparse.Namespace, settings: Settings) -> int:
    meeting = _with_store(
        settings, lambda store: meetings.change(store, args.meeting_id, EndMeeting())
    )
    _print_meeting(meeting, args.json)
    return 0


# Staff users from the shell; each change goes to the staff audit log as done by "cli".

CLI_ACTOR = "cli"


def _with_staff(settings: Settings, work: Callable[[StaffStore], Awaitable[T]]) -> T:
    return _with_store(settings, lambda store: work(StaffStore(store.redis, store.prefix)))


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


# Serving


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    with _redis_url(settings) as url:
        _run_server(settings.replace(redis_url=url), args.ready_file, announce=None)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.admin_token:
        settings = settings.replace(admin_token=_new_token())
    with _redis_url(settings) as url:
        settings = settings.replace(redis_url=url)
        meeting = _with_store(settings, ensure_demo)
        logins = _with_staff(settings, lambda staff: ensure_demo_users(staff, time.time()))

        def announce(base: str) -> None:
            say("Halyq demo is running (Ctrl+C stops it).")
            say(f"  Viewer page, Kazakh:   {base}/m/{meeting.id}?lang=kk")
            say(f"  Viewer page, Russian:  {base}/m/{meeting.id}?lang=ru")
            say(f"  All meetings:          {base}/")
            say(f"  Readiness and metrics: {base}/readyz  {base}/metrics")
            say(f"  Admin API token:       {settings.admin_token}")
            say(f"  Staff sign-in:         {base}/login?next=/console/{meeting.id}")
            for name, password in logins.items():
                say(f"    {name:19}  {password}")
            say(f"  Data folder:           {settings.data_dir.resolve()}")

        _run_server(settings, args.ready_file, announce=announce)
    return 0


def _new_token() -> str:
    return secrets.token_urlsafe(24)


def _run_server(
    settings: Settings, ready_file: Path | None, announce: Callable[[str], None] | None
) -> None:
    # Thousands of long-lived connections make each collection of the older generations scan
    # them all (100-300 ms pauses at 5,000 viewers, seen in bench/): collect the young far less
    # often and the old almost never. Memory is freed by reference counting as before.
    gc.set_threshold(*GC_THRESHOLDS)
    if settings.workers > 1:
        _run_workers(settings, ready_file, announce)
        return
    config = uvicorn.Config(create_app(settings), loop="uvloop", **UVICORN)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((settings.host, settings.port))
    listener.listen(UVICORN["backlog"])
    host, port = listener.getsockname()[:2]
    base = f"http://{host if family == socket.AF_INET else f'[{host}]'}:{port}"

    server = _Server(config, lambda: _ready(base, settings, ready_file, announce))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(server.serve(sockets=[listener]))
    if not server.started:
        raise SystemExit(1)


class _Server(uvicorn.Server):
    """uvicorn's server, telling us once it listens and the app has started."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.on_ready()


def _run_workers(
    settings: Settings, ready_file: Path | None, announce: Callable[[str], None] | None
) -> None:
    if settings.port == 0:
        raise SettingsError("several workers need a fixed port: give --port")
    # Workers build their own app from the environment: hand the settings over that way.
    os.environ.update(_as_environment(settings))
    base = f"http://{settings.host}:{settings.port}"
    _ready(base, settings, ready_file, announce)
    uvicorn.run(
        "server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        **UVICORN,
    )


def _as_environment(settings: Settings) -> dict[str, str]:
    environment = {}
    for item in fields(settings):
        value: Any = getattr(settings, item.name)
        name = "REDIS_URL" if item.name == "redis_url" else f"HALYQ_{item.name.upper()}"
        environment[name] = ",".join(value) if isinstance(value, tuple) else str(value)
    return environment


def _ready(
    base: str, settings: Settings, ready_file: Path | None, announce: Callable[[str], None] | None
) -> None:
    if announce is not None:
        announce(base)
    else:
        say(f"Halyq is serving at {base}/ (Ctrl+C stops it)")
    if ready_file is not None:
        ready_file.write_text(
            json.dumps({"url": base, "pid": os.getpid(), "redis": settings.redis_url})
        )
