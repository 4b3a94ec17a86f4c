"""Redis with failover (issue 15): a real halyq server on a primary, a replica and three
Sentinels (`tests/sentinels.py`), all on loopback.

An ack now means the append is on the primary's disk and on a replica's (WAITAOF 1 1 on
Valkey 9): a failover to that replica loses no acknowledged comment. The clients here behave
like the real one (docs/protocol.md): they resend on `retry` with the same client_msg_id after
`retry_after`, resend what `unavailable`, `overloaded` or `rate_limited` refused after
`retry_after`, and resend what was unanswered when their connection closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from moderation import StartMeeting
from server.settings import Settings
from server.store import Store, StoreUnavailable
from server.store.keys import Keys
from server.store.record import REPLICA_WAIT_MS, WAITAOF_TIMEOUT_MS, Durability, Wait
from server.store.sentinel import SentinelAddressError, parse
from server.usecases import UseCases, change_meeting, create_meeting
from server.wire import decode_event
from tests.conftest import meeting_command
from tests.helpers import (
    LiveServer,
    catch_up,
    comment,
    free_port,
    live_server,
    recv_until,
    unique_prefix,
    wait_for,
)
from tests.sentinels import MASTER, Node, Topology, topology

pytestmark = pytest.mark.anyio

RUNS = 5  # failovers in a row; a single lost ack fails
COMMENTS = 2000  # per run
CLIENTS = 40
logger = logging.getLogger(__name__)
PACE = 0.15  # seconds between two comments of one client: under the 10 frames/s flood limit
KILL_AFTER = 400  # acks before the primary is killed
RESUME_WITHIN = 15.0  # seconds from the kill to the first ack of a comment sent after it
ANSWERS = ("ack", "rejected", "retry")
RESENT = ("unavailable", "overloaded", "rate_limited")  # nothing recorded: send again


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with topology(tmp_path_factory.mktemp("sentinel")) as found:
        yield found


def settings_for(found: Topology, tmp_path: Path) -> Settings:
    """A server behind the Sentinels (HALYQ_MIN_REPLICAS unset: 1 with Sentinel), its address
    limits out of the way (every client here is 127.0.0.1)."""
    return Settings(
        redis_sentinels=tuple(found.addresses().split(",")),
        redis_sentinel_master=MASTER,
        redis_prefix=unique_prefix(),
        data_dir=tmp_path / "data",
        admin_token="test-admin-token",
        address_comments_per_minute=1_000_000,
        address_comment_burst=100_000,
    )


@pytest.fixture
async def served(sentinels: Topology, tmp_path: Path) -> AsyncIterator[LiveServer]:
    async with live_server(settings_for(sentinels, tmp_path)) as server:
        await wait_for(
            lambda: server.services.store.durability.mode is not Durability.NONE,
            what="the first durability check",
        )
        yield server


async def live_meeting_at(server: LiveServer) -> str:
    cases = UseCases(store=server.services.store)
    meeting = await create_meeting(cases, meeting_command())
    await change_meeting(cases, meeting.id, StartMeeting())
    return meeting.id


def recorded_on(node: Node, prefix: str, meeting_id: str) -> Counter[str]:
    """How many times each client_msg_id is in the meeting's stream on `node`."""
    rows: Any = node.command("XRANGE", Keys(prefix).stream(meeting_id), "-", "+")
    fields = (dict(zip(row[1][::2], row[1][1::2], strict=True)) for row in rows)
    events = (decode_event(f["k"], f["d"]) for f in fields)
    return Counter(e.client_msg_id for e in events if hasattr(e, "client_msg_id"))


def command_calls(node: Node, command: str) -> int:
    """How many times `node` ran `command` (INFO commandstats)."""
    stats = node.info("commandstats").get(f"cmdstat_{command}", "calls=0")
    return int(stats.split(",")[0].removeprefix("calls="))


async def answer_to(ws: Any, client_msg_id: str) -> dict[str, Any]:
    frame, _ = await recv_until(
        ws, lambda f: f["type"] in ANSWERS and f.get("client_msg_id") == client_msg_id
    )
    return frame


# Addresses


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://127.0.0.1:1",  # no primary's name
        "redis+sentinel:///halyq",  # no Sentinel
        "redis+sentinel://127.0.0.1/halyq",  # no port
        "redis://127.0.0.1:1/halyq",
    ],
)
def test_a_sentinel_url_without_sentinels_or_a_name_is_refused(url: str) -> None:
    with pytest.raises(SentinelAddressError):
        parse(url)


def test_a_sentinel_url_names_each_sentinel_and_the_primary() -> None:
    found = parse("redis+sentinel://127.0.0.1:26379,[::1]:26380/halyq")
    assert found == ([("127.0.0.1", 26379), ("::1", 26380)], "halyq")


def test_the_wait_is_waitaof_where_the_server_has_it_and_wait_elsewhere() -> None:
    """R: an ack waits for `replicas` (issue 15) and, on >= 7.2 without appendfsync always,
    for the local fsync; a reply short of either is no confirmation."""
    half = REPLICA_WAIT_MS // 2
    waitaof = Wait.choose(1, waitaof=True, local=True)
    assert waitaof is not None
    assert waitaof.commands == (("WAIT", 1, half), ("WAITAOF", 1, 1, half))
    assert (waitaof.short([1, 1]), waitaof.short([1, 0])) == (None, "0 of 1 replicas")
    assert waitaof.short([0, 1]) == "the append is not known to be on disk"
    assert waitaof.short(StoreUnavailable("NOPERM")) == "WAITAOF failed: NOPERM"  # an error
    old = Wait.choose(1, waitaof=False, local=False)
    assert old is not None
    assert (old.commands, old.short(1), old.short(0)) == (
        (("WAIT", 1, REPLICA_WAIT_MS),), None, "0 of 1 replicas"
    )  # fmt: skip
    alone = Wait.choose(0, waitaof=True, local=True)  # no replicas: the local fsync only
    assert alone is not None
    assert alone.commands == (("WAITAOF", 1, 0, WAITAOF_TIMEOUT_MS),)
    assert Wait.choose(0, waitaof=False, local=False) is None
    assert Wait.choose(0, waitaof=True, local=False) is None  # appendfsync always: nothing


# Acks confirmed by a replica


async def test_acks_wait_for_waitaof_with_a_replica_and_readiness_says_how_many(
    served: LiveServer, sentinels: Topology
) -> None:
    """Comments through a real server behind the Sentinels are acked after WAITAOF 1 1 ran on
    the primary (INFO commandstats), and each is on the replica; /readyz reports 1 replica
    required and 1 connected."""
    meeting_id = await live_meeting_at(served)
    primary, replica = sentinels.primary(), sentinels.replica()
    before = command_calls(primary, "waitaof")
    async with served.socket(meeting_id) as ws:
        await catch_up(ws)
        for n in range(10):
            await ws.send(comment(f"w{n}", f"Сұрақ {n}"))
            assert (await answer_to(ws, f"w{n}"))["type"] == "ack"
    assert command_calls(primary, "waitaof") - before >= 10
    on_replica = recorded_on(replica, served.services.settings.redis_prefix, meeting_id)
    assert on_replica == Counter({f"w{n}": 1 for n in range(10)})
    async with httpx.AsyncClient(base_url=served.url) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["replicas"]["required"] == 1
    assert ready.json()["replicas"]["connected"] == 1
    assert "appendonly yes" in ready.json()["replicas"]["detail"]


async def test_before_the_server_is_known_acks_wait_for_wait_which_every_version_has(
    sentinels: Topology,
) -> None:
    """Until the first durability check names the server's version, the replicas are waited
    for with WAIT (on Redis < 7.2 always): a write through it is on the replica when `run`
    returns."""
    store = Store(sentinels.url, unique_prefix(), replicas=1)
    try:
        before = command_calls(sentinels.primary(), "wait")
        meeting = await create_meeting(UseCases(store=store), meeting_command())
        assert command_calls(sentinels.primary(), "wait") > before
        replica = sentinels.replica()
        assert replica.command("EXISTS", Keys(store.prefix).stream(meeting.id)) == 1
    finally:
        await store.close()


async def test_a_replica_that_does_not_confirm_makes_comments_retry_until_it_is_back(
    served: LiveServer, sentinels: Topology, tmp_path: Path
) -> None:
    """With the replica stopped (SIGSTOP), a comment is appended on the primary but answered
    `retry`, never acked; so are its resends, to the same node (which looks the comment up in
    the record) and to another (whose write the `unseen` guard refuses): an answer from the
    record is an ack, so it waits for the replica too. Once the replica runs again, the resend
    gets the ack, with the id of the first append, recorded once."""
    meeting_id = await live_meeting_at(served)
    replica, text = sentinels.replica(), "Жол қашан жөнделеді?"
    other_settings = settings_for(sentinels, tmp_path).replace(
        redis_prefix=served.services.settings.redis_prefix
    )
    async with (
        live_server(other_settings) as other,
        served.socket(meeting_id) as ws,
        other.socket(meeting_id) as elsewhere,
    ):
        await catch_up(ws)
        await catch_up(elsewhere)
        replica.signal(signal.SIGSTOP)
        try:
            await ws.send(comment("paused", text))
            first = await answer_to(ws, "paused")
            assert first["type"] == "retry", first
            with pytest.raises(StoreUnavailable, match="0 of 1 replicas"):  # any other write
                await served.services.store.record.spend("sentinel-test", 1000, 5)
            for socket in (ws, elsewhere):
                await asyncio.sleep(first["retry_after"])
                await socket.send(comment("paused", text))
                again = await answer_to(socket, "paused")
                assert again["type"] == "retry", again
        finally:
            replica.signal(signal.SIGCONT)
        await asyncio.sleep(first["retry_after"])
        await elsewhere.send(comment("paused", text))
        acked = await answer_to(elsewhere, "paused")
        await ws.send(comment("paused", text))
        acked_here = await answer_to(ws, "paused")
    assert acked["type"] == acked_here["type"] == "ack", (acked, acked_here)
    assert acked["id"] == acked_here["id"]
    prefix = served.services.settings.redis_prefix
    assert recorded_on(sentinels.primary(), prefix, meeting_id) == Counter({"paused": 1})
    assert recorded_on(replica, prefix, meeting_id) == Counter({"paused": 1})


async def test_readiness_is_503_while_fewer_replicas_are_connected_than_required(
    sentinels: Topology, tmp_path: Path
) -> None:
    """HALYQ_MIN_REPLICAS=2 with one replica: no ack could be given, so the node is not ready
    (`redis_replicas_missing`), and /readyz says 2 required, 1 connected."""
    settings = settings_for(sentinels, tmp_path).replace(min_replicas=2)
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as http:

        async def not_ready() -> bool:
            answer = await http.get("/readyz")
            return answer.status_code == 503 and "reason" in answer.json()

        await wait_for(not_ready, what="/readyz to say the replicas are missing")
        answer = await http.get("/readyz")
        report = answer.json()
    assert answer.status_code == 503
    assert report["reason"] == "redis_replicas_missing", report
    assert (report["replicas"]["required"], report["replicas"]["connected"]) == (2, 1)
    assert "2 replicas" in report["detail"]


async def test_replicas_without_an_append_only_file_are_not_counted_for_waitaof(
    sentinels: Topology,
) -> None:
    """WAITAOF counts only replicas with appendonly yes: one without is reported online but
    unable to confirm (0 connected of 1 required, and why); a primary without an append-only
    file falls back to WAIT for its replicas (and is not durable)."""
    store = Store(sentinels.url, unique_prefix(), replicas=1)
    primary, replica = sentinels.primary(), sentinels.replica()
    try:
        replica.command("CONFIG", "SET", "appendonly", "no")
        report = await store.check_durability()
        assert (report.replicas_required, report.replicas_connected) == (1, 0)
        assert "1 online without appendonly yes" in report.replicas_detail
        replica.command("CONFIG", "SET", "appendonly", "yes")
        primary.command("CONFIG", "SET", "appendonly", "no")
        report = await store.check_durability()
        assert report.mode is Durability.NONE
        assert (report.replicas_connected, report.replicas_detail) == (
            1, "1 replicas online; each append waits for WAIT"
        )  # fmt: skip
    finally:
        replica.command("CONFIG", "SET", "appendonly", "yes")
        primary.command("CONFIG", "SET", "appendonly", "yes")
        await store.close()
    await wait_for(lambda: sentinels.replicas_online(primary) == 1, what="the replica again")


async def test_a_sentinel_that_names_a_replica_or_does_not_answer_is_never_followed(
    sentinels: Topology,
) -> None:
    """A Sentinel that does not answer, or does not know the name, is skipped for the next;
    a server a Sentinel names as the primary but that is a replica (ROLE) is refused: nothing
    is read from or written to it as the record."""
    (sentinel, unaware, _), replica = sentinels.sentinels, sentinels.replica()
    sentinel.command("SENTINEL", "MONITOR", "liar", "127.0.0.1", replica.port, 2)
    addresses = [f"127.0.0.1:{port}" for port in (free_port(), unaware.port, sentinel.port)]
    store = Store(f"redis+sentinel://{','.join(addresses)}/liar", "t:")
    try:
        with pytest.raises(StoreUnavailable, match="is not the primary"):
            await store.ping()
    finally:
        await store.close()
        sentinel.command("SENTINEL", "REMOVE", "liar")


# Failover


@dataclass
class Commenter:
    """One viewer's socket sending its comments at `PACE`, as the real client does."""

    server: LiveServer
    meeting_id: str
    ids: list[str]
    acked: dict[str, float] = field(default_factory=dict)  # client_msg_id -> when
    sent: dict[str, float] = field(default_factory=dict)  # client_msg_id -> last sent
    unexpected: list[dict[str, Any]] = field(default_factory=list)

    async def run(self) -> None:
        due = {cmid: 0.0 for cmid in self.ids}  # not sent before (monotonic time)
        waiting: set[str] = set()  # sent, not answered
        while len(self.acked) < len(self.ids):
            try:
                async with self.server.socket(self.meeting_id) as ws:
                    await catch_up(ws)
                    sending = asyncio.ensure_future(self._send(ws, due, waiting))
                    try:
                        await self._hear(ws, due, waiting)  # until the connection closes
                    finally:
                        sending.cancel()
            except (ConnectionClosed, OSError, TimeoutError, AssertionError):
                pass  # (AssertionError: the catch-up was cut short by a close)
            for cmid in waiting:  # unanswered when the connection closed: sent again
                due[cmid] = time.monotonic() + 0.2
            waiting.clear()
            await asyncio.sleep(0.2)

    async def _send(self, ws: Any, due: dict[str, float], waiting: set[str]) -> None:
        while len(self.acked) < len(self.ids):
            now = time.monotonic()
            ready = [c for c, at in due.items() if at <= now and c not in waiting]
            if ready:
                cmid = ready[0]
                del due[cmid]
                waiting.add(cmid)
                self.sent[cmid] = now
                await ws.send(comment(cmid, f"Комментарий {cmid}"))
            await asyncio.sleep(PACE)
        await ws.close()

    async def _hear(self, ws: Any, due: dict[str, float], waiting: set[str]) -> None:
        async for message in ws:
            frame = json.loads(message)
            cmid = frame.get("client_msg_id")
            if frame["type"] not in ANSWERS or cmid not in waiting:
                continue
            waiting.discard(cmid)
            if frame["type"] == "ack":
                self.acked[cmid] = time.monotonic()
            elif frame["type"] == "retry" or frame["reason"] in RESENT:
                due[cmid] = time.monotonic() + float(frame.get("retry_after", 1))
            else:
                self.unexpected.append(frame)
                self.acked[cmid] = -1.0  # never sent again: the assertion below reports it


async def fail_over_during_a_burst(
    server: LiveServer, sentinels: Topology, run: int
) -> tuple[str, float, Counter[str], list[str]]:
    """COMMENTS comments from CLIENTS sockets; the primary is killed (SIGKILL) after
    KILL_AFTER acks, then rejoins as a replica of the promoted one. The seconds from the kill
    to the first ack of a comment sent after it, what the new primary has, and the acks."""
    meeting_id = await live_meeting_at(server)
    per = COMMENTS // CLIENTS
    commenters = [
        Commenter(server, meeting_id, [f"r{run}c{c}n{n}" for n in range(per)])
        for c in range(CLIENTS)
    ]
    tasks = [asyncio.ensure_future(c.run()) for c in commenters]
    try:
        await wait_for(
            lambda: sum(len(c.acked) for c in commenters) >= KILL_AFTER,
            timeout=30,
            what="acks before the kill",
        )
        old = sentinels.primary()
        old.kill()
        killed = time.monotonic()
        new = await asyncio.to_thread(sentinels.failed_over_from, old)
        await asyncio.to_thread(sentinels.rejoin, old, new)
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
        except TimeoutError:
            acks = sum(len(c.acked) for c in commenters)
            raise AssertionError(f"run {run}: {acks} of {COMMENTS} acked after 60 s") from None
    finally:
        for task in tasks:
            task.cancel()
    for c in commenters:
        assert c.unexpected == []
    after = [at for c in commenters for cmid, at in c.acked.items() if c.sent[cmid] > killed]
    acked = [cmid for c in commenters for cmid in c.acked]
    prefix = server.services.settings.redis_prefix
    return meeting_id, min(after) - killed, recorded_on(new, prefix, meeting_id), acked


async def test_kill_9_of_the_primary_during_bursts_loses_no_ack_five_times_in_a_row(
    served: LiveServer, sentinels: Topology
) -> None:
    """Issue 15's acceptance, RUNS times on one topology: `kill -9` of the primary during a
    burst of COMMENTS comments; the Sentinels promote the replica, the server follows it, and
    every comment acked before, during and after the failover is on the new primary exactly
    once. Commenting resumes within 15 s of the kill. No moderator is told an acknowledged
    comment is missing (none was lost: each was on the replica before its ack, FLT-6)."""
    for run in range(RUNS):
        found = await fail_over_during_a_burst(served, sentinels, run)
        meeting_id, resumed, recorded, acked = found
        assert len(acked) == COMMENTS
        assert recorded == Counter(dict.fromkeys(acked, 1)), f"run {run}"
        assert resumed < RESUME_WITHIN, f"run {run}: commenting resumed {resumed:.1f} s after"
        logger.info(
            "run %d: %d acked, each once; resumed %.1f s after the kill", run, len(acked), resumed
        )
        for alert in served.services.hub.continuity(meeting_id).alerts:
            assert json.loads(alert)["missing"] == [], alert
