"""A `halyq serve` process at the common open-file limit of 1,024 against 1,500 idle connections
and 1,500 half-finished upgrades from one address (issue 8, item 3): a viewer from another
address still connects at once, `/healthz` answers, and every idle connection is closed by the
handshake timeout. Also: the server raises its own open-file limit and says so."""

from __future__ import annotations

import asyncio
import contextlib
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect

from moderation import Meeting
from server.settings import Settings
from tests.helpers import (
    ROOT,
    TIMEOUT,
    ServerProcess,
    catch_up,
    environment,
    start_server,
    wait_for,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

IDLE = 1_500
HALF_UPGRADES = 1_500
LIMIT = 1_024
HANDSHAKE_TIMEOUT = 10.0  # the default of HALYQ_HANDSHAKE_TIMEOUT


def open_files(soft: int, hard: int) -> Callable[[], None]:
    """For `preexec_fn`: the server process starts with these open-file limits."""
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def metric(server: ServerProcess, name: str) -> float:
    text = httpx.get(server.url + "/metrics", timeout=TIMEOUT).text
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found[1])


@pytest.fixture
def client_files() -> None:
    """This test holds 3,000 connections itself: it needs more than 1,024 files too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = IDLE + HALF_UPGRADES + 500
    assert hard == resource.RLIM_INFINITY or hard >= needed, f"ulimit -Hn is {hard}"
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def open_idle(
    host: str, port: int, first: bytes
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that sends `first` (maybe nothing) and then nothing ever again."""
    reader, writer = await asyncio.open_connection(host, port)
    with contextlib.suppress(ConnectionError):
        writer.write(first)
    return reader, writer


async def closed_by_server(reader: asyncio.StreamReader) -> None:
    with contextlib.suppress(ConnectionError):
        while await reader.read(4096):
            pass


@pytest.mark.usefixtures("client_files")
async def test_idle_connections_at_1024_open_files_lock_nobody_out(
    settings: Settings, live_meeting: Meeting, tmp_path: Path
) -> None:
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    server = start_server(tmp_path, env=env, preexec_fn=open_files(LIMIT, LIMIT))
    try:
        assert metric(server, "halyq_open_files_limit") == LIMIT  # the raise cannot help
        host, port = server.url.removeprefix("http://").split(":")
        path = f"/ws/meetings/{live_meeting.id}"
        half = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n".encode()
        started = time.monotonic()
        idle = [
            await open_idle(host, int(port), first)
            for first in [b""] * IDLE + [half] * HALF_UPGRADES
        ]
        closing = [asyncio.ensure_future(closed_by_server(reader)) for reader, _ in idle]

        began = time.monotonic()
        async with connect(server.ws(path), local_addr=("127.0.0.2", 0)) as viewer:
            hello, _ = await catch_up(viewer)
            joined = time.monotonic() - began
        assert hello["meeting"]["id"] == live_meeting.id
        assert joined < 1.0, f"a new viewer waited {joined:.2f} s"
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(transport=transport, timeout=1.0) as http:
            assert (await http.get(server.url + "/healthz")).text == "ok"

        deadline = started + HANDSHAKE_TIMEOUT + 5 - time.monotonic()
        await wait_for(lambda: all(task.done() for task in closing), deadline, "all closed")
        assert metric(server, 'halyq_refusals_total{kind="pending"}') > 0
        assert metric(server, 'halyq_refusals_total{kind="handshake_timeout"}') > 0
        assert metric(server, "halyq_open_files") < LIMIT / 4
        for _, writer in idle:
            writer.close()
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Too many open files" not in log
    assert "admission: " in log


@pytest.mark.usefixtures("client_files")
async def test_idle_connections_from_many_addresses_make_room_for_new_ones(
    settings: Settings, live_meeting: Meeting, tmp_path: Path
) -> None:
    """Each address may hold 128 unfinished connections at 1,024 open files; from 8 addresses
    that would be all of them, but once connections take three quarters of the limit each new
    one closes the oldest unfinished one, and a viewer still gets in."""
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    server = start_server(tmp_path, env=env, preexec_fn=open_files(LIMIT, LIMIT))
    try:
        host, port = server.url.removeprefix("http://").split(":")
        idle = [
            await asyncio.open_connection(host, int(port), local_addr=(f"127.0.0.{3 + n % 8}", 0))
            for n in range(8 * 128)
        ]
        async with connect(server.ws(f"/ws/meetings/{live_meeting.id}")) as viewer:
            await catch_up(viewer)
        assert metric(server, 'halyq_refusals_total{kind="pending"}') > 200
        assert metric(server, "halyq_open_files") < LIMIT * 0.8
        for _, writer in idle:
            writer.close()
    finally:
        server.stop()


def test_the_server_raises_its_open_file_limit_and_says_so(
    settings: Settings, tmp_path: Path
) -> None:
    current = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard = 4096 if current == resource.RLIM_INFINITY else min(current, 4096)
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    server = start_server(tmp_path, env=env, preexec_fn=open_files(256, hard))
    try:
        assert metric(server, "halyq_open_files_limit") == hard
    finally:
        server.stop()
    assert f"open files: the limit is {hard} (256 at start)" in server.log.read_text()


def test_a_trusted_proxy_that_is_not_an_address_stops_the_server(settings: Settings) -> None:
    env = environment(REDIS_URL=settings.redis_url, HALYQ_TRUSTED_PROXIES="10.0.0.0/8,proxy")
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )
    assert done.returncode == 1
    assert "halyq: HALYQ_TRUSTED_PROXIES: 'proxy' is not an address" in done.stderr
