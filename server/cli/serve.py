"""`halyq serve` and `halyq demo`: the server, with its embedded Redis unless REDIS_URL."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import resource
import secrets
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
import uvloop

from server.app import create_app
from server.auth.keys import KeyKind, current_key, studio_urls
from server.cli import archive
from server.cli.demo import ensure_demo, ensure_demo_users, ensure_results_demo
from server.cli.outputs import rtmp_url
from server.cli.shell import at, redis_url, say, with_store, with_usecases
from server.fanout import uvicorn as fast_path
from server.settings import Settings, SettingsError, variable_of

logger = logging.getLogger(__name__)
GC_THRESHOLDS = (50_000, 50, 100)
# SIGTERM drains (issue 15): `/readyz` answers 503 `draining` for this long before the node
# stops listening, time for the balancer's health checks (deploy/haproxy.cfg looks every
# second) to send new viewers elsewhere; then each socket is closed 1012 once it has answered
# what it was working on (at most uvicorn's graceful timeout, 5 s), and the node exits. A node
# whose `/readyz` nobody asked in the last `CHECKED_WITHIN` seconds has no balancer to tell:
# it closes its sockets at once.
DRAIN_NOTICE = 2.0
CHECKED_WITHIN = 30.0
FEW_OPEN_FILES = 4096  # below this, a few thousand viewers cannot connect: say so


def add_parsers(commands: Any) -> None:
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


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    with redis_url(settings) as url:
        if settings.worker:  # the embedded set-up: archive jobs run in this process too
            archive.start_in_background(at(settings, url))
        _run_server(at(settings, url), args.ready_file, announce=None)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.admin_token:
        settings = settings.replace(admin_token=_new_token())
    with redis_url(settings) as url:
        settings = at(settings, url)
        meeting = with_usecases(settings, ensure_demo)
        finished = with_usecases(  # issue 12: a finished meeting with its results
            settings, lambda cases: ensure_results_demo(cases, settings.data_dir)
        )
        logins = with_store(settings, lambda store: ensure_demo_users(store.staff, time.time()))
        overlay_key = with_store(
            settings, lambda store: current_key(store, meeting.id, KeyKind.OVERLAY)
        )
        stream_key = with_store(  # issue 16: the studio's push, when the ingest is on
            settings, lambda store: current_key(store, meeting.id, KeyKind.STREAM)
        )

        def announce(base: str) -> None:
            say("Halyq demo is running (Ctrl+C stops it).")
            say(f"  Viewer page, Kazakh:   {base}/m/{meeting.id}?lang=kk")
            say(f"  Viewer page, Russian:  {base}/m/{meeting.id}?lang=ru")
            say(f"  All meetings:          {base}/")
            say(f"  Results (finished):    {base}/m/{finished.id}/results")
            say(f"  Transcript:            {base}/m/{finished.id}/transcript")
            say(f"  Issue pool (R6):       {base}/issues  (CSV: {base}/api/issues.csv)")
            say(f"  Promise tracker:       {base}/offices/{finished.office}")
            say(f"  Offices (admin):       {base}/console/offices")
            say(f"  Calendar (R1):         {base}/calendar  (iCalendar: {base}/calendar.ics)")
            say(f"  Compliance:            {base}/compliance")
            say(f"  Requests before it:    {base}/m/{meeting.id}/requests")
            say(f"  Meetings on demand:    {base}/demands")
            say(f"  Readiness and metrics: {base}/readyz  {base}/metrics")
            say(f"  Admin API token:       {settings.admin_token}")
            say(f"  Staff sign-in:         {base}/login?next=/console/{meeting.id}")
            for name, password in logins.items():
                say(f"    {name:19}  {password}")
            say(f"  Producer's desk:       {base}/producer/{meeting.id}")
            say(f"  Phone desk (operator): {base}/desk")
            say(f"  Staff items API:       {base}/api/meetings/{meeting.id}/items  (Bearer token)")
            say(f"  Channels:              {base}/webhooks/whatsapp|twilio|telegram (see README)")
            for name, url in studio_urls(base, meeting.id, overlay_key).items():
                say(f"  Studio, {name + ':':14} {url}")
            if settings.rtmp_port:
                say(f"  Studio, {'rtmp_url:':14} {rtmp_url(base, settings, stream_key)}")
            else:
                say("  Studio's RTMP ingest:  off (HALYQ_RTMP_PORT=1935 make demo turns it on)")
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
    raise_open_files_limit()
    if settings.workers > 1:
        _run_workers(settings, ready_file, announce)
        return
    options = _uvicorn_options(settings)
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and without it
    # a kept-alive connection's responses wait ~40 ms for Nagle and delayed ACKs.
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((settings.host, settings.port))
    except OSError as error:
        listener.close()
        raise SettingsError(
            f"cannot listen on {settings.host}:{settings.port}: {error.strerror or error}"
        ) from None
    listener.listen(options["backlog"])
    host, port = listener.getsockname()[:2]
    base = f"http://{host if family == socket.AF_INET else f'[{host}]'}:{port}"
    settings = settings.replace(port=port)  # the node's default name has the port it got
    app = create_app(settings)
    config = uvicorn.Config(app, loop="uvloop", **options)

    server = _Server(config, lambda: _ready(base, settings, ready_file, announce), app)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(server.serve(sockets=[listener]))
    if not server.started:
        raise SystemExit(1)


class _Server(uvicorn.Server):
    """uvicorn's server, telling us once it listens and the app has started, and draining on
    SIGTERM (issue 15): `/readyz` says `draining` for `DRAIN_NOTICE` seconds (when a balancer
    checks it), then uvicorn stops listening and closes every socket
    (`WebSocketProtocol.shutdown`: each once it has answered the frame it was working on). A
    second signal, or Ctrl+C, stops at once."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None], app: Any) -> None:
        super().__init__(config)
        self.on_ready = on_ready
        self.app = app
        self.drain_until: float | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.on_ready()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        health = getattr(self.app.state, "health", None)  # there once the app has started
        if sig != signal.SIGTERM or self.drain_until is not None or health is None:
            super().handle_exit(sig, frame)
            return
        # Not recorded to be raised again once stopped, as uvicorn does with the signals it
        # handles: a drained node exits 0.
        notice = DRAIN_NOTICE if health.checked_within(CHECKED_WITHIN) else 0.0
        self.drain_until = time.monotonic() + notice
        health.drain()

    async def on_tick(self, counter: int) -> bool:
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.should_exit = True
        return await super().on_tick(counter)


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
        **_uvicorn_options(settings),
    )


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    try:
        return fast_path.options(settings)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def raise_open_files_limit() -> int:
    """Raise this process's open-file limit to its hard limit (workers inherit it), and say
    what it is: every connection takes one, and the common default of 1,024 locks viewers out
    long before the server is busy (issue 8). `/metrics` has it as `halyq_open_files_limit`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Linux takes no more than its nr_open (2^20 by default) for an unlimited hard limit.
    wanted = max(soft, 1 << 20) if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as error:
            logger.warning("open files: cannot raise the limit to %d: %s", wanted, error)
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    few = limit < FEW_OPEN_FILES
    logger.log(
        logging.WARNING if few else logging.INFO,
        "open files: the limit is %d (%d at start)%s",
        limit,
        soft,
        "; too few for thousands of viewers: raise the hard limit (ulimit -Hn, LimitNOFILE=)"
        if few
        else "",
    )
    return limit


def _as_environment(settings: Settings) -> dict[str, str]:
    environment = {}
    for item in fields(settings):
        value: Any = getattr(settings, item.name)
        environment[variable_of(item.name)] = (
            ",".join(value) if isinstance(value, tuple) else str(value)
        )
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
            json.dumps({"url": base, "pid": os.getpid(), "redis": settings.store_url()})
        )
