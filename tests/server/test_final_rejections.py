"""A rejection is final (issue 8), retries are never rate limited (DUR-3), overload is explicit
(OVL-2), and slow mode holds however many cookies an address mints.

Tests that stall Redis (SIGSTOP) run a valkey-server of their own, the embedded one in a folder
of the test's, and always SIGCONT it; the session's Redis is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from moderation import Meeting, StartMeeting
from server.health import MISSES, PING_TIMEOUT
from server.settings import Settings
from server.store import Store, Write
from server.store.client import QUIET_BEFORE_TRIP, TRIP_AFTER, Attempt
from server.store.embedded import EmbeddedRedis
from server.store.record import Check, Refused
from server.usecases import UseCases, change_meeting, create_meeting
from server.usecases.context import MAX_IN_FLIGHT, MAX_LAG, Lag
from server.web.viewer import MAX_BACKLOG
from tests.conftest import meeting_command
from tests.faultproxy import FaultProxy
from tests.helpers import TIMEOUT, LiveServer, cli, comment, live_server, recv_json, wait_for

pytestmark = pytest.mark.anyio

ANSWERS = ("ack", "rejected", "retry")
Answers = dict[str, dict[str, Any]]


class StoppableRedis:
    """A durable valkey-server of this test's own that can be stalled (SIGSTOP) and resumed."""

    def __init__(self, folder: Path) -> None:
        self.embedded = EmbeddedRedis(folder).start()
        assert self.embedded.process is not None
        self.pid = self.embedded.process.pid

    @property
    def url(self) -> str:
        return self.embedded.url

    def stall(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def kill(self) -> None:
        """kill -9: the server finds nobody listening (its folder keeps what it acknowledged)."""
        assert self.embedded.process is not None
        self.embedded.process.kill()
        self.embedded.process.wait()
        self.embedded.stop()  # lets the folder go, to start it again

    def start(self) -> None:
        self.embedded.start()
        assert self.embedded.process is not None
        self.pid = self.embedded.process.pid

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def redis_cli(self, *args: str) -> str:
        """One command against it, as an operator runs it (an error reply fails the test)."""
        return cli(self.embedded.socket, *args, check=True).strip()


@pytest.fixture
def stoppable(tmp_path: Path) -> Iterator[StoppableRedis]:
    redis = StoppableRedis(tmp_path / "redis")
    try:
        yield redis
    finally:
        redis.resume()  # never leave it stopped, whatever failed
        redis.embedded.stop()


async def live_meeting_on(url: str, prefix: str, **fields: Any) -> Meeting:
    store = Store(url, prefix)
    try:
        await store.check_durability()
        cases = UseCases(store=store)
        meeting = await create_meeting(cases, meeting_command(**fields))
        return await change_meeting(cases, meeting.id, StartMeeting())
    finally:
        await store.close()


async def recorded_ids(url: str, prefix: str, meeting_id: str) -> list[str]:
    """The client_msg_id of every comment in the record, once per entry."""
    store = Store(url, prefix)
    try:
        entries = await store.record.range(meeting_id, "-", "+", count=100_000)
    finally:
        await store.close()
    return [e.client_msg_id for _, e in entries if hasattr(e, "client_msg_id")]


async def joined(ws: ClientConnection) -> ClientConnection:
    """Wait for the catch-up (hello, then the history) to be over."""
    while (await recv_json(ws))["type"] != "events":
        pass
    return ws


@contextlib.asynccontextmanager
async def viewers(
    server: LiveServer, meeting_id: str, count: int, **options: Any
) -> AsyncIterator[list[ClientConnection]]:
    """`count` viewer sockets that have caught up, opened 50 at a time."""
    async with contextlib.AsyncExitStack() as stack:
        sockets: list[ClientConnection] = []
        while len(sockets) < count:
            opening = [
                stack.enter_async_context(server.socket(meeting_id, **options))
                for _ in range(min(50, count - len(sockets)))
            ]
            sockets += await asyncio.gather(*opening)
        await asyncio.gather(*(joined(ws) for ws in sockets))
        yield sockets


async def answers_to(ws: ClientConnection, ids: list[str], timeout: float = TIMEOUT) -> Answers:
    """The answer to each of `ids` (ack, rejected or retry), each with `at`: when it came."""
    found: Answers = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(ids):
        frame = await recv_json(ws, max(0.01, deadline - time.monotonic()))
        if frame["type"] in ANSWERS and frame["client_msg_id"] in ids:
            assert frame["client_msg_id"] not in found, f"two answers to one comment: {frame}"
            found[frame["client_msg_id"]] = frame | {"at": time.monotonic()}
    return found


async def post(ws: ClientConnection, ids: list[str], timeout: float = TIMEOUT) -> Answers:
    """Send a comment for each of `ids` at once, and wait for every answer."""
    for client_msg_id in ids:
        await ws.send(comment(client_msg_id, f"Жол жөндеуі қашан? {client_msg_id}"))
    return await answers_to(ws, ids, timeout)


async def post_on_each(sockets: list[ClientConnection], ids: list[list[str]]) -> Answers:
    results = await asyncio.gather(*(post(ws, i) for ws, i in zip(sockets, ids, strict=True)))
    return {k: v for answers in results for k, v in answers.items()}


async def metrics_of(server: LiveServer) -> str:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return (await http.get("/metrics")).text


def kinds(answers: Answers) -> list[tuple[str, str]]:
    return sorted({(a["type"], a.get("reason", "")) for a in answers.values()})


async def warm(sockets: list[ClientConnection]) -> None:
    """One comment from each socket at once: the server's pool then holds a connection for
    each, so that comments sent during a stall go out on one (a new connection to a stopped
    Redis never gets through its handshake, and a comment waiting for it was never sent)."""
    warmed = await post_on_each(sockets, [[f"warm-{n}"] for n in range(len(sockets))])
    assert kinds(warmed) == [("ack", "")]


async def until_acknowledged(sockets: list[ClientConnection], refused: Answers) -> None:
    """Send new comments, round the sockets, until one is acknowledged: the record is usable
    again. Every refusal on the way joins `refused`."""
    turn = iter(range(10_000))

    async def acknowledged() -> bool:
        n = next(turn)
        client_msg_id = f"probe-{n}"
        (answer,) = (await post(sockets[n % len(sockets)], [client_msg_id])).values()
        assert answer["type"] != "retry", answer  # a new comment's fate is always known here
        if answer["type"] == "rejected":
            refused[client_msg_id] = answer
        return bool(answer["type"] == "ack")

    await wait_for(acknowledged, what="a new comment acknowledged after the stall")


async def test_a_stall_of_redis_leaves_no_rejected_comment_in_the_record(
    stoppable: StoppableRedis, settings: Settings
) -> None:
    """Issue 8, item 2 (and FLT-5): Redis stops (SIGSTOP) under comments. The few already sent
    are answered `retry` (unknown), never `unavailable`; then the breaker answers 300 more
    `unavailable` at once without sending them; a retry-answered comment sent again during the
    stall is still `retry`. When Redis runs again it runs what queued up, past its deadline: none
    of it lands. Afterwards no rejected comment is in the record, and each retry-answered one,
    sent again, is acknowledged and recorded exactly once."""
    settings = settings.replace(redis_url=stoppable.url, ack_timeout=1.0)
    meeting = await live_meeting_on(stoppable.url, settings.redis_prefix)
    async with live_server(settings) as server, viewers(server, meeting.id, 16) as sockets:
        await warm(sockets)
        unknown = [f"u{n}" for n in range(4)]
        flood = [[f"r{s}-{n}" for n in range(25)] for s in range(12)]
        stoppable.stall()
        try:
            on_their_way = await post_on_each(sockets[:4], [[i] for i in unknown])
            assert kinds(on_their_way) == [("retry", "")]
            assert {a["retry_after"] for a in on_their_way.values()} == {1}
            started = time.monotonic()
            refused = await post_on_each(sockets[4:], flood)
            assert kinds(refused) == [("rejected", "unavailable")]
            assert len(refused) == 300
            assert max(a["at"] for a in refused.values()) - started < 3 * settings.ack_timeout
            again = await post_on_each(sockets[:4], [[i] for i in unknown])
            assert kinds(again) == [("retry", "")]  # still unknown: never a rejection
        finally:
            stoppable.resume()
        await until_acknowledged(sockets[4:], refused)
        # What queued up in Redis during the stall ran past its deadline: none of it landed.
        recorded = await recorded_ids(stoppable.url, settings.redis_prefix, meeting.id)
        assert not set(unknown) & set(recorded)
        settled = await post_on_each(sockets[:4], [[i] for i in unknown])
        assert kinds(settled) == [("ack", "")]
    recorded = await recorded_ids(stoppable.url, settings.redis_prefix, meeting.id)
    assert len(refused) >= 300
    assert not set(refused) & set(recorded), "a rejected comment is in the record"
    assert sorted(i for i in recorded if i in unknown) == unknown  # each exactly once


async def test_a_comment_whose_answer_was_lost_is_settled_by_its_resend(
    stoppable: StoppableRedis, settings: Settings
) -> None:
    """The outcomes a timeout cannot tell apart, through a faulty link (tests/faultproxy.py):
    a comment Redis ran whose reply came too late, and one whose link was reset after it was
    sent, are both answered `retry`; sent again, the first gets the ack of its one entry, the
    second is appended once. A Redis that lost our script (SCRIPT FLUSH) still records."""
    async with FaultProxy(stoppable.url) as proxy:
        settings = settings.replace(redis_url=proxy.url, ack_timeout=1.0)
        meeting = await live_meeting_on(stoppable.url, settings.redis_prefix)
        async with live_server(settings) as server, viewers(server, meeting.id, 4) as sockets:
            await warm(sockets)
            refused: Answers = {}
            await proxy.set(reset_rate=1.0)  # the link is reset once the command is out
            assert kinds(await post(sockets[1], ["reset"])) == [("retry", "")]
            await proxy.heal()
            await until_acknowledged(sockets[2:], refused)
            await proxy.set(latency=0.65)  # it runs at 0.65 s, before its deadline; replied 1.3 s
            assert kinds(await post(sockets[0], ["ran"])) == [("retry", "")]
            await proxy.heal()
            await until_acknowledged(sockets[2:], refused)
            before = await recorded_ids(stoppable.url, settings.redis_prefix, meeting.id)
            assert ("ran" in before, "reset" in before) == (True, False)  # hence `retry`
            stoppable.redis_cli("SCRIPT", "FLUSH")
            settled = await post_on_each(sockets[:3], [["ran"], ["reset"], ["after-flush"]])
            assert kinds(settled) == [("ack", "")]
    recorded = await recorded_ids(stoppable.url, settings.redis_prefix, meeting.id)
    assert sorted(i for i in recorded if i in ("ran", "reset", "after-flush")) == [
        "after-flush", "ran", "reset"
    ]  # each once  # fmt: skip
    assert not set(refused) & set(recorded)


async def test_a_dead_record_opens_the_breaker_and_the_first_comment_after_closes_it(
    stoppable: StoppableRedis, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis killed (-9): comments are refused `unavailable` (never sent: final), a few
    failures in a row open the breaker, and from then on comments are answered at once without
    being sent while the probes they start fail; once Redis runs again on its folder, the
    first comment's probe closes the breaker and it is acknowledged."""
    settings = settings.replace(redis_url=stoppable.url)
    meeting = await live_meeting_on(stoppable.url, settings.redis_prefix)
    async with live_server(settings) as server, viewers(server, meeting.id, 2) as sockets:
        await warm(sockets)
        stoppable.kill()
        refused = await post(sockets[0], [f"d{n}" for n in range(12)])
        assert kinds(refused) == [("rejected", "unavailable")]
        assert server.services.store.record.breaker.is_open
        stoppable.start()
        await until_acknowledged(sockets, refused)
    recorded = await recorded_ids(stoppable.url, settings.redis_prefix, meeting.id)
    assert not set(refused) & set(recorded)
    logged = [r.getMessage() for r in caplog.records if r.name == "server.store.client"]
    assert logged[-1] == "the record answers again: comments are sent to it again"
    assert logged[0].startswith("the record stopped answering (")


async def test_flt2_failures_while_redis_still_answers_never_open_the_breaker(
    store: Store,
) -> None:
    """FLT-2: over a slow or flaky link some writes time out or lose their link while others,
    and the feeds' reads, are answered. Failures in a row open the breaker only once nothing
    at all has come back for `QUIET_BEFORE_TRIP`; anything answered afterwards, on any
    connection, lets writes through again."""
    breaker = store.record.breaker

    def is_open() -> bool:
        return breaker.is_open

    await store.ping()  # an answer, just now
    for _ in range(TRIP_AFTER * 3):
        breaker.failed("no answer in time")
    assert not is_open()
    await wait_for(lambda: not store.answered_within(QUIET_BEFORE_TRIP), what="a quiet record")
    breaker.failed("no answer in time")
    assert is_open()
    await store.ping()  # answered on a pooled connection: the record is usable
    await breaker.admit()
    assert not is_open()


async def test_flt2_a_link_too_slow_for_a_ping_that_keeps_answering_is_not_degraded(
    stoppable: StoppableRedis, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """FLT-2: through a link slower than the health PING's timeout (a round trip of 0.9 s) a
    PING misses every look, but comments keep being answered: the record is never reported
    unusable, and every comment is acknowledged."""
    async with FaultProxy(stoppable.url) as proxy:
        settings = settings.replace(redis_url=proxy.url, ack_timeout=6.0)
        meeting = await live_meeting_on(stoppable.url, settings.redis_prefix)
        async with live_server(settings) as server, viewers(server, meeting.id, 8) as sockets:
            await warm(sockets)
            await proxy.set(latency=0.45)
            started = time.monotonic()
            await server.services.store.ping()
            assert time.monotonic() - started > PING_TIMEOUT  # so a PING alone would miss
            for turn in range(MISSES * 3):  # a round trip each: several looks' worth
                ids = [[f"slow{turn}-{n}"] for n in range(len(sockets))]
                assert kinds(await post_on_each(sockets, ids)) == [("ack", "")]
            assert server.app.state.health.usable
    unusable = [r.getMessage() for r in caplog.records if r.name == "server.health"]
    assert not [m for m in unusable if "NOT USABLE" in m], unusable


async def test_an_append_redis_runs_after_its_deadline_changes_nothing(
    store: Store, live_meeting: Meeting
) -> None:
    """The `before` guard: Redis compares the deadline with its own clock in the same atomic
    step as the append, so a write that waited too long is refused with Redis's time."""
    for attempt in (None, Attempt()):
        write = Write()
        guard = store.record.in_time(write, time.monotonic() - 0.5)
        write.hset(f"{store.prefix}late", "x", "1")
        result = await store.record.run(write, attempt)
        assert isinstance(result, Refused)
        assert (result.guard, result.guard.check) == (guard, Check.BEFORE)
        assert int(result.value) >= store.record.clock.at(time.monotonic()) - 1000
    write = Write()
    store.record.in_time(write, time.monotonic() + 1)
    assert not isinstance(await store.record.run(write, Attempt()), Refused)


async def test_one_client_msg_id_sent_1000_times_over_10_sockets_is_one_entry_and_1000_acks(
    settings: Settings, live_meeting: Meeting
) -> None:
    """DUR-3: 10 sockets over two servers on the same Redis send one comment 100 times each,
    at once, far past the per-connection flood limit: exactly one entry, and all 1,000
    answers are acks with its id (a retry of a recorded comment is never `rate_limited`)."""
    async with (
        live_server(settings) as first,
        live_server(settings) as second,
        viewers(first, live_meeting.id, 5) as on_first,
        viewers(second, live_meeting.id, 5) as on_second,
    ):

        async def resend(ws: ClientConnection) -> list[dict[str, Any]]:
            for _ in range(100):
                await ws.send(comment("the-same", "Көше шамдары қашан жанады?"))
            got: list[dict[str, Any]] = []
            while len(got) < 100:
                frame = await recv_json(ws)
                if frame["type"] in ANSWERS:
                    got.append(frame)
            return got

        results = await asyncio.gather(*(resend(ws) for ws in on_first + on_second))
        metrics = await metrics_of(first)
    answers = [a for got in results for a in got]
    assert len(answers) == 1000
    assert {(a["type"], a["client_msg_id"], a["id"]) for a in answers} == {
        ("ack", "the-same", answers[0]["id"])
    }
    recorded = await recorded_ids(settings.redis_url, settings.redis_prefix, live_meeting.id)
    assert recorded == ["the-same"]
    assert 'halyq_comments_total{outcome="rate_limited"}' not in metrics


async def fresh_cookies(server: LiveServer, meeting_id: str, count: int) -> list[str | None]:
    """The viewer cookie each of `count` fresh page loads got (None: served without one)."""
    cookies = []
    async with httpx.AsyncClient(base_url=server.url) as http:
        for _ in range(count):
            http.cookies.clear()
            page = await http.get(f"/m/{meeting_id}")
            assert page.status_code == 200
            cookies.append(page.cookies.get("halyq_viewer"))
    return cookies


async def test_30_fresh_cookies_from_one_address_post_at_most_the_address_burst(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8, item 4: 30 cookies fetched from `GET /m/{id}` by one address, each posting once,
    get at most the address's burst acknowledged; the rest are `rate_limited` with the wait.
    Another address (127.0.0.2) is not affected. Past `HALYQ_COOKIES_PER_MINUTE` the page is
    still served, without a cookie, counted and logged."""
    settings = settings.replace(
        address_comments_per_minute=6, address_comment_burst=10, cookies_per_minute=30
    )
    meeting = await live_meeting_on(settings.redis_url, settings.redis_prefix, slow_mode_seconds=5)
    async with live_server(settings) as server:
        cookies = await fresh_cookies(server, meeting.id, 31)
        assert None not in cookies[:30]
        assert cookies[30] is None  # past the limit: served without a new identity
        assert len(set(cookies[:30])) == 30
        headers = [{"Cookie": f"halyq_viewer={c}"} for c in cookies[:30]]
        async with contextlib.AsyncExitStack() as stack:
            sockets = [
                await joined(
                    await stack.enter_async_context(server.socket(meeting.id, additional_headers=h))
                )
                for h in headers
            ]
            answers = await post_on_each(sockets, [[f"c{n}"] for n in range(30)])
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with httpx.AsyncClient(base_url=server.url, transport=other) as http:
            page = await http.get(f"/m/{meeting.id}")
            assert page.cookies.get("halyq_viewer")  # another address mints its own
        async with server.socket(meeting.id, local_addr=("127.0.0.2", 0)) as elsewhere:
            assert kinds(await post(await joined(elsewhere), ["elsewhere"])) == [("ack", "")]
        metrics = await metrics_of(server)
    acked = [a for a in answers.values() if a["type"] == "ack"]
    limited = [a for a in answers.values() if a["type"] == "rejected"]
    assert len(acked) == 10
    assert {(a["reason"], a["detail"]) for a in limited} == {("rate_limited", "slow mode")}
    assert all(1 <= a["retry_after"] <= 10 for a in limited)
    assert 'halyq_refusals_total{kind="cookie"} 1.0' in metrics
    logged = [r.getMessage() for r in caplog.records if "viewer cookies refused" in r.getMessage()]
    assert logged == [
        "rate-limited: 1 new viewer cookies refused to addresses past"
        " HALYQ_COOKIES_PER_MINUTE=30 (their viewers are keyed by address)"
    ]
    assert "127.0.0.1" not in "".join(logged)


def cookie_minted(server: LiveServer, seconds_ago: float) -> str:
    """A viewer cookie as the server mints them, `seconds_ago` old."""
    body = f"{secrets.token_urlsafe(16)}.{int(time.time() - seconds_ago)}"
    return f"{body}.{server.services.sign('cookie', body)}"


def legacy_cookie(server: LiveServer) -> str:
    """A cookie of the earlier two-part form (no mint time): still valid, counted as old."""
    viewer = secrets.token_urlsafe(16)
    return f"{viewer}.{server.services.sign('cookie', viewer)}"


@pytest.mark.parametrize(
    ("cookie", "acked"),
    [("young", 1), ("old", 3), ("legacy", 3), ("forged", 3)],
)
async def test_a_young_identity_cannot_burst(
    server: LiveServer, settings: Settings, cookie: str, acked: int
) -> None:
    """Issue 8, item 4: with slow mode's burst at 3, a viewer identity minted seconds ago posts
    one comment, not three; an older one (or one from before mint times) posts its burst. A
    cookie whose mint time was changed is not believed: its viewer is known by its address (so
    forging buys nothing a cookieless viewer does not have)."""
    meeting = await live_meeting_on(
        settings.redis_url, settings.redis_prefix, slow_mode_seconds=5, slow_mode_burst=3
    )
    if cookie == "young":
        (value,) = await fresh_cookies(server, meeting.id, 1)
        assert value is not None
    elif cookie == "old":
        value = cookie_minted(server, seconds_ago=settings.viewer_warmup_seconds + 60)
    elif cookie == "legacy":
        value = legacy_cookie(server)
    else:
        viewer, _, signature = cookie_minted(server, seconds_ago=0).split(".")
        value = f"{viewer}.{int(time.time()) - 3600}.{signature}"  # made to look old
    headers = {"Cookie": f"halyq_viewer={value}"}
    async with server.socket(meeting.id, additional_headers=headers) as ws:
        answers = await post(await joined(ws), ["a", "b", "c"])
    assert sum(a["type"] == "ack" for a in answers.values()) == acked
    identity = server.services.identify(value, "127.0.0.1")
    assert identity.key.startswith("a" if cookie == "forged" else "v")


async def test_past_the_in_flight_cap_comments_are_overloaded_at_once_and_none_unanswered(
    stoppable: StoppableRedis, settings: Settings
) -> None:
    """OVL-2: with Redis stalled, 300 sockets comment at once. The first 256 (the per-process
    cap of submissions on their way to the record) wait for it; the other 44 are answered
    `overloaded` with `retry_after` at once. Every comment gets a terminal answer within the
    ack timeout, and none of the rejected ones is ever recorded."""
    settings = settings.replace(
        redis_url=stoppable.url, ack_timeout=1.0, max_connections_per_address=1000
    )
    meeting = await live_meeting_on(stoppable.url, settings.redis_prefix)
    count = MAX_IN_FLIGHT + 44
    async with live_server(settings) as server, viewers(server, meeting.id, count) as sockets:
        stoppable.stall()
        try:
            sent = time.monotonic()
            answers = await post_on_each(sockets, [[f"o{n}"] for n in range(count)])
        finally:
            stoppable.resume()
        busy = {i: a for i, a in answers.items() if a.get("reason") == "overloaded"}
        assert len(busy) == count - MAX_IN_FLIGHT
        assert {(a["detail"], a["retry_after"]) for a in busy.values()} == {
            ("the server is busy", 1)
        }
        assert max(a["at"] for a in busy.values()) - sent < settings.ack_timeout / 2
        assert max(a["at"] for a in answers.values()) - sent < settings.ack_timeout + 1.0
        rest = {i: a for i, a in answers.items() if i not in busy}
        assert set(kinds(rest)) <= {("retry", ""), ("rejected", "unavailable")}
        refused = {i: a for i, a in answers.items() if a["type"] == "rejected"}
        unknown = sorted(i for i, a in answers.items() if a["type"] == "retry")
        await until_acknowledged(sockets, refused)
        by_id = {f"o{n}": ws for n, ws in enumerate(sockets)}
        settled = await asyncio.gather(*(post(by_id[i], [i]) for i in unknown))
        assert all(kinds(s) == [("ack", "")] for s in settled)
    recorded = await recorded_ids(stoppable.url, settings.redis_prefix, meeting.id)
    assert not set(refused) & set(recorded), "a rejected comment is in the record"
    assert sorted(i for i in recorded if i in unknown) == unknown


async def test_a_connection_sending_faster_than_it_is_answered_is_refused_at_once(
    stoppable: StoppableRedis, settings: Settings
) -> None:
    """OVL-2: through a slow link (0.1 s each way) to a busy record (64 comments on their way),
    connections that each sent 8 comments at once fall behind; once their frames have waited
    `MAX_BACKLOG`, the rest are answered `overloaded` at once instead of piling up. None of
    those is recorded, and every answer comes within the ack timeout of its sending."""
    async with FaultProxy(stoppable.url) as proxy:
        settings = settings.replace(redis_url=proxy.url)
        meeting = await live_meeting_on(stoppable.url, settings.redis_prefix)
        async with live_server(settings) as server, viewers(server, meeting.id, 64) as sockets:
            await warm(sockets)
            await proxy.set(latency=0.1)
            sent = time.monotonic()
            answers = await post_on_each(
                sockets, [[f"s{s}-{n}" for n in range(8)] for s in range(64)]
            )
    busy = {i for i, a in answers.items() if a.get("reason") == "overloaded"}
    assert busy, "nothing was refused"
    assert ("ack", "") in kinds(answers)
    # On a loaded machine a comment may also take past its time: `retry` when it was sent, and
    # `unavailable` when it found no connection in time (never sent: docs/protocol.md).
    allowed = {("ack", ""), ("rejected", "overloaded"), ("rejected", "unavailable"), ("retry", "")}
    assert set(kinds(answers)) <= allowed
    assert max(a["at"] for a in answers.values()) - sent < settings.ack_timeout + MAX_BACKLOG
    recorded = await recorded_ids(stoppable.url, settings.redis_prefix, meeting.id)
    refused = {i for i, a in answers.items() if a["type"] == "rejected"}
    assert not refused & set(recorded)
    assert {i for i, a in answers.items() if a["type"] == "ack"} <= set(recorded)


async def test_a_process_whose_event_loop_runs_late_is_overloaded() -> None:
    """OVL-2: a process past its capacity shows it first as an event loop that runs its timers
    late (while Redis idles): past `MAX_LAG` it counts as overloaded, and not once it is on
    time again."""
    lag = Lag()
    lag.watch()
    lag.watch()  # once per loop
    held = time.monotonic()
    while time.monotonic() - held < MAX_LAG * 1.5:  # work that holds the loop, as a flood does
        sum(range(1000))
    await wait_for(lambda: lag.is_over, what="the late timer to be seen")
    await wait_for(lambda: not lag.is_over, what="the loop on time again")
