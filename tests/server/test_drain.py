"""A node drains on SIGTERM (issue 15): `/readyz` says `draining` first, every comment it is
appending is answered before its socket closes 1012, and it exits by itself in bounded time.

The comments are caught in flight by pausing Redis's writes (`CLIENT PAUSE ... WRITE`, on a
Redis of the test's own): their appends wait while the server stops, then go through.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from moderation import CommentPosted, Meeting, StartMeeting
from server.cli.serve import DRAIN_NOTICE
from server.fanout.uvicorn import CLOSE_DRAINING, DRAINING_REASON, SETTINGS
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from tests.conftest import meeting_command
from tests.helpers import (
    TIMEOUT,
    PrivateRedis,
    cli,
    comment,
    environment,
    live_server,
    recv_json,
    recv_until,
    start_server,
    wait_for,
    wait_until,
)

pytestmark = pytest.mark.anyio

SOCKETS = 6
PAUSE_MS = 1500  # the appends wait this long: the server stops meanwhile
# The longest a drained node may take: the notice, uvicorn's graceful wait, the app's cleanup.
EXIT_BOUND = DRAIN_NOTICE + SETTINGS["timeout_graceful_shutdown"] + 5.0


@pytest.fixture
def drained_settings(private_redis: PrivateRedis, settings: Settings) -> Settings:
    """A Redis of this test's own (its writes are paused), and acks that may wait for it."""
    return settings.replace(redis_url=private_redis.url, ack_timeout=PAUSE_MS / 1000 + 4)


@pytest.fixture
async def meeting(drained_settings: Settings) -> Meeting:
    store = Store(drained_settings.redis_url, drained_settings.redis_prefix)
    try:
        created = await create_meeting(UseCases(store=store), meeting_command())
        return await change_meeting(UseCases(store=store), created.id, StartMeeting())
    finally:
        await store.close()


async def recorded(settings: Settings, meeting_id: str) -> list[str]:
    """The client_msg_ids of the comments in the record, in its order."""
    store = Store(settings.redis_url, settings.redis_prefix)
    try:
        entries = await store.record.range(meeting_id, "-", "+", count=10_000)
    finally:
        await store.close()
    return [e.client_msg_id for _, e in entries if isinstance(e, CommentPosted)]


async def answers_until_closed(ws: ClientConnection) -> tuple[dict[str, str], int | None, str]:
    """Each comment's answer (`ack`, `retry`, `rejected`) until the server closes the socket;
    the close code and reason."""
    answers: dict[str, str] = {}
    try:
        while True:
            frame = await recv_json(ws, TIMEOUT)
            if frame["type"] in ("ack", "retry", "rejected"):
                answers[frame["client_msg_id"]] = frame["type"]
    except ConnectionClosed:
        pass
    return answers, ws.close_code, ws.close_reason or ""


async def joined(url: str, count: int) -> list[ClientConnection]:
    sockets = [await connect(url, open_timeout=TIMEOUT) for _ in range(count)]
    for ws in sockets:
        await recv_until(ws, lambda f: f["type"] == "events")
    return sockets


async def test_a_stopping_server_answers_the_comments_it_is_appending_then_closes_1012(
    drained_settings: Settings, meeting: Meeting, private_redis: PrivateRedis
) -> None:
    """uvicorn's own shutdown closes at once: an append in flight would be recorded and its
    ack lost. Ours lets each socket answer the comment it is working on first."""
    async with live_server(drained_settings) as server:
        sockets = await joined(server.ws(f"/ws/meetings/{meeting.id}"), SOCKETS)
        idle = await joined(server.ws(f"/ws/meetings/{meeting.id}"), 2)  # nothing in flight
        assert cli(private_redis.url, "CLIENT", "PAUSE", str(PAUSE_MS), "WRITE") == "OK"
        for number, ws in enumerate(sockets):
            await ws.send(comment(f"in-flight-{number}", f"Сұрақ {number}"))
        # A second frame waits behind the first, taken but not yet read by the app: it is
        # answered too before the close.
        await sockets[0].send(comment("queued", "Тағы бір сұрақ"))
        readers = [asyncio.create_task(answers_until_closed(ws)) for ws in sockets + idle]
        in_flight = server.services.usecases
        await wait_for(lambda: in_flight.in_flight >= SOCKETS, what="the appends in flight")
        stopping = time.monotonic()
    # The server has stopped (the context's end): every socket got its answers, then 1012.
    results = await asyncio.gather(*readers)
    assert time.monotonic() - stopping >= PAUSE_MS / 1000 - 0.5  # it did wait for the appends
    expected = {f"in-flight-{number}": "ack" for number in range(SOCKETS)} | {"queued": "ack"}
    assert {k: v for answers, _, _ in results for k, v in answers.items()} == expected
    assert [(code, reason) for _, code, reason in results] == [
        (CLOSE_DRAINING, DRAINING_REASON)
    ] * (SOCKETS + 2)
    assert sorted(await recorded(drained_settings, meeting.id)) == sorted(expected)


async def test_sigterm_says_draining_then_closes_the_sockets_and_exits_by_itself(
    drained_settings: Settings, meeting: Meeting, private_redis: PrivateRedis, tmp_path: Path
) -> None:
    env = environment(
        REDIS_URL=drained_settings.redis_url,
        HALYQ_REDIS_PREFIX=drained_settings.redis_prefix,
        HALYQ_ACK_TIMEOUT=str(drained_settings.ack_timeout),
        HALYQ_NODE_NAME="node-under-test",
    )
    server = start_server(tmp_path, env=env)
    try:
        sockets = await joined(server.ws(f"/ws/meetings/{meeting.id}"), SOCKETS)
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
            ready = await http.get("/readyz")
            assert (ready.status_code, ready.json()["node"]) == (200, "node-under-test")
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            readiness: list[httpx.Response] = []

            async def draining() -> bool:
                readiness.append(await http.get("/readyz"))
                return readiness[-1].status_code == 503

            await wait_for(draining, what="/readyz to say draining")
        body: dict[str, Any] = readiness[-1].json()
        assert (body["state"], body["reason"], body["node"]) == (
            "draining",
            "draining",
            "node-under-test",
        )
        # During the notice the node still takes comments (the balancer needs the time to
        # look elsewhere); one sent now is in flight when the sockets close.
        assert cli(private_redis.url, "CLIENT", "PAUSE", str(PAUSE_MS + 1000), "WRITE") == "OK"
        await sockets[0].send(comment("late", "Кеш қалдым"))
        results = await asyncio.gather(*(answers_until_closed(ws) for ws in sockets))
        closed = time.monotonic() - signalled
        assert closed >= DRAIN_NOTICE - 0.5  # the notice came first
        assert [code for _, code, _ in results] == [CLOSE_DRAINING] * SOCKETS
        assert results[0][0] == {"late": "ack"}
        wait_until(lambda: server.process.poll() is not None, EXIT_BOUND, "the node to exit")
        assert server.process.returncode == 0
        assert time.monotonic() - signalled < EXIT_BOUND
    finally:
        server.stop()
    assert await recorded(drained_settings, meeting.id) == ["late"]
    log = server.log.read_text()
    assert "draining: /readyz answers 503 until this node stops" in log


async def test_a_node_no_balancer_checks_closes_its_sockets_at_once(
    drained_settings: Settings, meeting: Meeting, tmp_path: Path
) -> None:
    """Nobody asked its `/readyz`: there is no balancer to wait for, and no notice."""
    env = environment(
        REDIS_URL=drained_settings.redis_url, HALYQ_REDIS_PREFIX=drained_settings.redis_prefix
    )
    server = start_server(tmp_path, env=env)
    try:
        [ws] = await joined(server.ws(f"/ws/meetings/{meeting.id}"), 1)
        server.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        _, code, reason = await answers_until_closed(ws)
        assert (code, reason) == (CLOSE_DRAINING, DRAINING_REASON)
        assert time.monotonic() - signalled < DRAIN_NOTICE
        wait_until(lambda: server.process.poll() is not None, EXIT_BOUND, "the node to exit")
        assert server.process.returncode == 0
    finally:
        server.stop()


async def test_a_second_sigterm_stops_the_node_at_once(
    drained_settings: Settings, tmp_path: Path
) -> None:
    """The operator's way out of a drain: no notice, no waiting for anyone."""
    env = environment(
        REDIS_URL=drained_settings.redis_url, HALYQ_REDIS_PREFIX=drained_settings.redis_prefix
    )
    server = start_server(tmp_path, env=env)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=TIMEOUT) as http:
            assert (await http.get("/readyz")).status_code == 200
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()

            async def draining() -> bool:
                return (await http.get("/readyz")).status_code == 503

            await wait_for(draining, what="/readyz to say draining")
        server.process.send_signal(signal.SIGTERM)
        wait_until(lambda: server.process.poll() is not None, EXIT_BOUND, "the node to exit")
        assert time.monotonic() - signalled < DRAIN_NOTICE
        assert server.process.returncode == -signal.SIGTERM  # stopped, as uvicorn stops
    finally:
        server.stop()


async def test_a_socket_already_closing_when_the_server_stops_is_just_let_go(
    settings: Settings, live_meeting: Meeting
) -> None:
    """A socket the server had closed already (here: an invalid `after`, 1008) whose client
    never answered the close is not closed twice: uvicorn's own shutdown drops it."""
    async with live_server(settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"GET /ws/meetings/{live_meeting.id}?after=bad HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
        )
        received = b""
        while b"\x88" not in received.partition(b"\r\n\r\n")[2]:  # the close frame
            received += await asyncio.wait_for(reader.read(4096), TIMEOUT)
        assert received.startswith(b"HTTP/1.1 101")
    # The server stopped; it closed the connection without waiting for our closing frame.
    assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""
    writer.close()
