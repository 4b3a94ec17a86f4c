"""Moderator consoles for the benchmark: staff sign-in over HTTP, console sockets, display times.

Each console signs in as a browser does (`/login`), opens `/ws/console/{meeting}` and, for every
item whose text carries the commenters' stamp, times now - stamp: from a comment's sending to its
showing on the console. `python -m bench.console` runs alone, or under `bench.console_run`
(`--control`: JSON lines on stdout; the password, the start time and the expected count on stdin).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import json
import re
import sys
import time
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvloop
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.commenters import Window
from bench.histogram import Histogram

SESSION_COOKIE = "halyq_session"
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]*)"')
# `bench t=1_763_614_800_123_456_789 ` (see commenters.py); int() reads the underscores.
STAMP = re.compile(r"bench t=([0-9_]+) ")
QUIET = 1.0  # alone (no expected count): seconds without a new item after which the drain stops
OPEN_TIMEOUT = 30.0


class SignInError(RuntimeError):
    """The server did not give a staff session."""


async def sign_in(base_url: str, name: str, password: str) -> str:
    """A new staff session id: the login form (its CSRF token and cookie), then its POST."""
    async with httpx.AsyncClient(base_url=base_url, timeout=OPEN_TIMEOUT) as client:
        form = await client.get("/login")
        found = CSRF_INPUT.search(form.text)
        if form.status_code != httpx.codes.OK or found is None:
            raise SignInError(f"GET /login: HTTP {form.status_code}, no CSRF token in the form")
        fields = {"name": name, "password": password, "csrf": html.unescape(found.group(1)),
                  "next": "/console"}  # fmt: skip
        answer = await client.post("/login", data=fields)
        session = answer.cookies.get(SESSION_COOKIE)
        if answer.status_code != httpx.codes.SEE_OTHER or not session:
            raise SignInError(f"POST /login: HTTP {answer.status_code}, no session cookie")
        return session


def stamp_of(text: str) -> int | None:
    """The send time (ns) a commenter wrote into a comment's text, if it is a bench comment."""
    found = STAMP.match(text)
    return int(found.group(1)) if found else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleConfig:
    """Where the consoles go and for how long; the window is the commenters' window."""

    url: str  # http://127.0.0.1:PORT
    meeting: str
    consoles: int = 2
    duration: float = 30.0
    warmup: float = 5.0
    drain: float = 5.0

    def __post_init__(self) -> None:
        if urlsplit(self.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the consoles connect to loopback only")
        if self.consoles < 1 or self.duration <= 0 or self.warmup < 0 or self.drain < 0:
            raise ValueError("consoles and duration must be positive")

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + f"/ws/console/{self.meeting}"


class Console:
    """One console socket: which bench items it has shown and how late."""

    def __init__(self, ws: ClientConnection, window: Window | None = None) -> None:
        self.ws = ws
        self.window = window  # items stamped in it are counted and timed
        self.latency = Histogram()
        self.seen: set[str] = set()
        self.items = 0  # distinct items stamped in the window
        self.outside = 0  # distinct bench items stamped outside it (warm-up, drain)
        self.frames = 0  # events frames received in the window
        self.frame_items = 0  # items in them (any item, bench or not)
        self.close_code: int | None = None  # when the server closed it before the end
        self.last_item = time.monotonic()

    async def start(self) -> None:
        """Read the hello (the snapshot of items: taken in too)."""
        hello = json.loads(await self.ws.recv())
        if hello.get("type") != "hello":
            raise RuntimeError(f"console: expected hello, got {str(hello)[:200]}")
        self._take_items(hello.get("items", []), time.time_ns())

    async def read(self) -> None:
        """Take frames until the socket closes or the task is cancelled."""
        try:
            while True:
                raw = await self.ws.recv()
                now_ns = time.time_ns()  # before decoding: the frame is here now
                frame = json.loads(raw)
                if frame.get("type") == "page":  # the rest of the snapshot (issue 14)
                    self._take_items(frame.get("items", []), now_ns)
                    continue
                if frame.get("type") != "events":
                    continue
                in_window = self.window is not None and (
                    self.window.start_ns <= now_ns < self.window.end_ns
                )
                for event in frame["events"]:
                    items = event.get("items", [])
                    self._take_items(items, now_ns)
                    self.frame_items += len(items) if in_window else 0
                self.frames += in_window
        except ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else 1006

    def _take_items(self, items: list[dict[str, Any]], now_ns: int) -> None:
        window = self.window
        for item in items:
            item_id = str(item.get("id"))
            if item_id in self.seen:
                continue  # a later change to an item already shown
            sent_ns = stamp_of(str(item.get("text", "")))
            if sent_ns is None:
                continue
            self.seen.add(item_id)
            self.last_item = time.monotonic()
            if window is None or not window.start_ns <= sent_ns < window.end_ns:
                self.outside += 1
                continue
            self.items += 1
            self.latency.record((now_ns - sent_ns) // 1000)


@dataclass(slots=True, kw_only=True)
class ConsoleResult:
    """What the consoles saw of the comments sent in the measured window."""

    consoles: int = 0
    connected: int = 0
    items: list[int] = field(default_factory=list)  # per console, distinct, stamped in window
    expected: int | None = None  # comments acked in the window (from the runner)
    outside: int = 0
    frames: int = 0  # events frames received in the window, all consoles
    frame_items: int = 0  # items in those frames
    closes: dict[str, int] = field(default_factory=dict)  # server closes before the end
    p99_ms: list[float | None] = field(default_factory=list)  # per console
    window_s: float = 0.0
    gen_cpu_s: float = 0.0
    latency: Histogram = field(default_factory=Histogram)  # all consoles together

    @property
    def missing(self) -> int | None:
        """Expected items that did not show, summed over consoles (None: nothing expected)."""
        if self.expected is None:
            return None
        return sum(max(0, self.expected - count) for count in self.items)

    @property
    def gen_cpu(self) -> float:
        return self.gen_cpu_s / self.window_s if self.window_s else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "display_p50_ms": self.latency.percentile_ms(0.50),
            "display_p95_ms": self.latency.percentile_ms(0.95),
            "display_p99_ms": self.latency.percentile_ms(0.99),
            "display_max_ms": self.latency.max_ms(),
            "items": self.items,
            "expected": self.expected,
            "missing": self.missing,
            "gen_cpu": self.gen_cpu,
        }

    def to_json(self) -> dict[str, Any]:
        data = {item.name: getattr(self, item.name) for item in fields(self)}
        data["latency"] = self.latency.to_json()
        data["summary"] = self.summary()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConsoleResult:
        names = {item.name for item in fields(cls)} - {"latency"}
        return cls(
            **{name: data[name] for name in names if name in data},
            latency=Histogram.from_json(data.get("latency", {})),
        )


# The run


ExpectReader = asyncio.Future[int | None]


async def open_consoles(config: ConsoleConfig, sessions: list[str]) -> list[Console]:
    """One console socket per session, as a browser on the server's page opens it."""
    consoles = []
    for session in sessions:
        ws = await connect(
            config.ws_url,
            origin=config.url,  # type: ignore[arg-type]  # the server's own origin (AUTH-3)
            additional_headers={"Cookie": f"{SESSION_COOKIE}={session}"},
            compression=None,
            max_size=None,
            open_timeout=OPEN_TIMEOUT,
        )
        console = Console(ws)
        await console.start()
        consoles.append(console)
    return consoles


async def _drain(consoles: list[Console], expected: ExpectReader | None, deadline: float) -> None:
    """Until every console shows the expected count, or (alone) no item came for `QUIET` s."""
    while time.time() < deadline:
        count = expected.result() if expected is not None and expected.done() else None
        if count is not None:
            if all(c.items >= count for c in consoles if c.close_code is None):
                return
        elif expected is None or expected.done():  # no count to wait for: wait for a lull
            quiet = time.monotonic() - max(c.last_item for c in consoles)
            if quiet > QUIET:
                return
        await asyncio.sleep(0.02)


async def measure(
    config: ConsoleConfig, consoles: list[Console], start: float, expected: ExpectReader | None
) -> ConsoleResult:
    """Time the window's items from `start` (the commenters' first send) until drained."""
    window = Window(start + config.warmup, start + config.warmup + config.duration)
    for console in consoles:
        console.window = window
    readers = [asyncio.get_running_loop().create_task(c.read()) for c in consoles]
    try:
        await _sleep_until(window.start)
        cpu = time.process_time()
        await _sleep_until(window.end)
        cpu = time.process_time() - cpu
        # The commenters drain and close (up to `drain` + 5 s) before the count can come.
        await _drain(consoles, expected, window.end + 2 * config.drain + 10)
    finally:
        for reader in readers:
            reader.cancel()
        for reader in readers:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
    closes: dict[str, int] = {}
    for console in consoles:
        if console.close_code is not None:
            closes[str(console.close_code)] = closes.get(str(console.close_code), 0) + 1
    return ConsoleResult(
        consoles=config.consoles,
        connected=len(consoles),
        items=[console.items for console in consoles],
        expected=expected.result() if expected is not None and expected.done() else None,
        outside=sum(console.outside for console in consoles),
        frames=sum(console.frames for console in consoles),
        frame_items=sum(console.frame_items for console in consoles),
        closes=closes,
        p99_ms=[console.latency.percentile_ms(0.99) for console in consoles],
        window_s=window.seconds,
        gen_cpu_s=cpu,
        latency=Histogram().merge(console.latency for console in consoles),
    )


async def close_consoles(consoles: list[Console]) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            await asyncio.gather(*(c.ws.close() for c in consoles), return_exceptions=True)


async def _sleep_until(wall: float) -> None:
    await asyncio.sleep(max(0.0, wall - time.time()))


# Command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--url", required=True, help="the server, http://127.0.0.1:PORT")
    parser.add_argument("--meeting", required=True, help="the meeting id")
    parser.add_argument("--user", required=True, help="a staff user who may view the console")
    parser.add_argument("--password-stdin", action="store_true", help="first stdin line")
    parser.add_argument("--consoles", type=int, default=2)
    parser.add_argument("--duration", type=float, default=30.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--start-in", type=float, default=1.0, help="alone: seconds to the start")
    parser.add_argument("--drain", type=float, default=5.0)
    parser.add_argument(
        "--control", action="store_true", help="JSON lines on stdout, start and count from stdin"
    )
    return parser


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def _stdin_line() -> str:
    line: str = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    if not line:
        raise SystemExit("console: the runner went away")
    return line


async def _read_expected() -> int | None:
    expected: int | None = json.loads(await _stdin_line())["expect"]
    return expected


async def _main(args: argparse.Namespace, config: ConsoleConfig, password: str) -> ConsoleResult:
    sessions = [await sign_in(config.url, args.user, password) for _ in range(config.consoles)]
    consoles = await open_consoles(config, sessions)
    try:
        if args.control:
            _emit({"phase": "connected", "connected": len(consoles)})
            start: float = json.loads(await _stdin_line())["start"]
            expected = asyncio.ensure_future(_read_expected())
            return await measure(config, consoles, start, expected)
        return await measure(config, consoles, time.time() + args.start_in, None)
    finally:
        await close_consoles(consoles)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = ConsoleConfig(url=args.url, meeting=args.meeting, consoles=args.consoles,
                               duration=args.duration, warmup=args.warmup,
                               drain=args.drain)  # fmt: skip
    except ValueError as error:
        raise SystemExit(f"console: {error}") from None
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else ""
    # Every phase is bounded: sign-in and connecting, the wait for the start, the window, drain.
    limit = OPEN_TIMEOUT * 2 + 600 + config.warmup + config.duration + 2 * config.drain + 30

    async def bounded() -> ConsoleResult:
        async with asyncio.timeout(limit):
            return await _main(args, config, password)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result = runner.run(bounded())
    if args.control:
        _emit({"phase": "result", "result": result.to_json()})
    else:
        print(json.dumps(result.summary(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
