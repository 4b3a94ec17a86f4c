"""Redis faults as viewers, moderators and operators see them (FLT-1, FLT-5, DUR-2).

Tests of Redis itself failing run a valkey-server of their own (durable, like the embedded one)
so that they can kill it, restart it on the same folder, start it late, or run it with CONFIG
disabled; the session's Redis is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from moderation import AskQuestion, Meeting, StartMeeting, Submission
from server.auth.accounts import Role
from server.settings import Settings
from server.store import Store, Write, Written
from server.usecases import Asked, UseCases, change_meeting, create_meeting, submit
from tests.conftest import meeting_command
from tests.consoles import Console, console, open_session
from tests.helpers import (
    ROOT,
    TIMEOUT,
    LiveServer,
    PrivateRedis,
    catch_up,
    comment,
    environment,
    live_server,
    recv_json,
    recv_until,
    unique_prefix,
    wait_for,
)
from tests.server.test_bad_input import close_code

pytestmark = pytest.mark.anyio


async def live_meeting_on(url: str, prefix: str, questions: int = 0) -> tuple[Meeting, list[str]]:
    """A live meeting (slow mode off) on the Redis at `url`, and `questions` asked in it."""
    store = Store(url, prefix)
    try:
        await store.check_durability()
        cases = UseCases(store=store)
        meeting = await create_meeting(cases, meeting_command())
        meeting = await change_meeting(cases, meeting.id, StartMeeting())
        asked = []
        for n in range(questions):
            command = AskQuestion(client_msg_id=f"q{n}", name="", text=f"Когда починят лифт {n}?")
            outcome = await submit(cases, meeting, Submission(what=command, sender=f"v{n}"))
            assert isinstance(outcome, Asked), outcome
            asked.append(outcome.id)
        return meeting, asked
    finally:
        await store.close()


@contextlib.asynccontextmanager
async def own_record(
    redis: PrivateRedis, data_dir: Path, **changes: Any
) -> AsyncIterator[tuple[Settings, Store, Meeting]]:
    """Settings on `redis` under a fresh prefix (with `changes`), a live meeting there, and a
    store that reads its record."""
    settings = Settings(redis_url=redis.url, redis_prefix=unique_prefix(), data_dir=data_dir)
    settings = settings.replace(**changes)
    meeting, _ = await live_meeting_on(redis.url, settings.redis_prefix)
    store = Store(redis.url, settings.redis_prefix)
    await store.check_durability()
    try:
        yield settings, store, meeting
    finally:
        await store.close()


async def readiness(http: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    answer = await http.get("/readyz")
    report: dict[str, Any] = answer.json()
    return answer.status_code, report


async def answer_to(ws: ClientConnection, client_msg_id: str) -> tuple[dict[str, Any], list[Any]]:
    """The ack or rejection of `client_msg_id`, and the frames that came before it."""
    return await recv_until(
        ws, lambda f: f["type"] in ("ack", "rejected") and f["client_msg_id"] == client_msg_id
    )


async def test_while_redis_is_down_nothing_is_acknowledged_and_everyone_is_told(
    private_redis: PrivateRedis, settings: Settings
) -> None:
    """FLT-1: Redis dies under a live meeting. Comments are refused `unavailable` (never acked),
    open viewers stay open, new ones are told to come back (1013), /readyz says what is wrong;
    when Redis is back the same process serves again, and a resent comment is recorded once."""
    meeting, _ = await live_meeting_on(private_redis.url, settings.redis_prefix)
    async with (
        live_server(settings.replace(redis_url=private_redis.url)) as server,
        httpx.AsyncClient(base_url=server.url) as http,
        server.socket(meeting.id) as viewer,
    ):
        await catch_up(viewer)
        private_redis.kill()

        await viewer.send(comment("c1", "На Абая с утра нет света"))
        refused, _ = await answer_to(viewer, "c1")
        assert (refused["type"], refused["reason"]) == ("rejected", "unavailable")
        await viewer.send(json.dumps({"type": "vote", "question": "1-0"}))
        error, _ = await recv_until(viewer, lambda f: f["type"] == "error")
        assert (error["error"], error["detail"]) == ("unavailable", "try again")
        # New viewers, of this meeting (known to the process) or another, are told to retry.
        for meeting_id in (meeting.id, "another-meeting"):
            async with server.socket(meeting_id) as late:
                assert await close_code(late) == 1013

        async def feed_reported() -> bool:
            _, report = await readiness(http)
            return any(p.startswith(f"feed {meeting.id}: ") for p in report.get("problems", []))

        await wait_for(feed_reported, what="the meeting's feed reported on /readyz")
        status, report = await readiness(http)
        assert status == 503
        assert report["redis"].startswith("unreachable: ")
        assert report["status"] == "not ready"
        page = await http.get(f"/m/{meeting.id}")
        assert page.status_code == 503
        api = await http.get(f"/api/meetings/{meeting.id}")
        assert (api.status_code, api.json()["error"]) == (503, "unavailable")
        metrics = (await http.get("/metrics")).text
        assert 'halyq_comments_total{outcome="unavailable"} 1.0' in metrics

        private_redis.start()

        async def redis_answers() -> bool:
            _, report = await readiness(http)
            return bool(report["redis"] == "ok")

        await wait_for(redis_answers, what="/readyz to reach Redis again")
        # The viewer never left: it sends its unacknowledged comment again, with the same id.
        await viewer.send(comment("c1", "На Абая с утра нет света"))
        ack, before = await answer_to(viewer, "c1")
        assert ack["type"] == "ack", ack
        shown = [e["id"] for f in before if f["type"] == "events" for e in f["events"]]
        if ack["id"] not in shown:  # the feed, recovered without a restart, brings it live
            frame, _ = await recv_until(viewer, lambda f: f["type"] == "events")
            shown = [e["id"] for e in frame["events"]]
        assert shown == [ack["id"]]

        async def ready() -> bool:
            return (await readiness(http))[0] == 200

        await wait_for(ready, what="/readyz to be ready again")
        async with server.socket(meeting.id) as late:
            _, history = await catch_up(late)
        assert [e["id"] for e in history if e.get("kind") == "comment.posted"] == [ack["id"]]


async def test_a_server_started_before_its_redis_waits_for_it(
    settings: Settings, tmp_path: Path
) -> None:
    """At boot the app may come up before Redis (or while it loads its file): it keeps trying,
    then serves, with no restart by a supervisor."""
    with socket.socket() as listener:
        # The refused attempt leaves the port in TIME_WAIT: Redis may bind it only if we allow.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        redis = PrivateRedis(tmp_path / "redis", port=listener.getsockname()[1])
        serving = live_server(settings.replace(redis_url=redis.url))
        starting = asyncio.get_running_loop().create_task(serving.__aenter__())
        # The server's first try reaches a port where no Redis answers yet.
        attempt, _ = await asyncio.wait_for(
            asyncio.get_running_loop().sock_accept(listener), TIMEOUT
        )
        attempt.close()
    try:
        redis.start()
        server = await asyncio.wait_for(starting, TIMEOUT * 2)
        try:
            meeting, _ = await live_meeting_on(redis.url, settings.redis_prefix)
            async with httpx.AsyncClient(base_url=server.url) as http:
                assert (await readiness(http))[0] == 200
            async with server.socket(meeting.id) as viewer:
                await catch_up(viewer)
                await viewer.send(comment("c1", "Сәлеметсіз бе"))
                ack, _ = await answer_to(viewer, "c1")
                assert ack["type"] == "ack"
        finally:
            await serving.__aexit__(None, None, None)
    finally:
        redis.stop()


async def test_a_valkey_that_hides_its_configuration_is_durable_only_through_waitaof(
    settings: Settings, tmp_path: Path
) -> None:
    """DUR-2: managed Redis services often disable CONFIG, so `appendfsync` cannot be read. On
    Redis >= 7.2 or Valkey (the embedded server is Valkey 9) each append then waits for WAITAOF
    1 0, which confirms that very append is on disk: reported so, and comments are acked. (On
    Redis 6/7.0, which has no WAITAOF, the same is reported as none and comments refused.)"""
    redis = PrivateRedis(tmp_path / "redis", "--rename-command", "CONFIG", "").start()
    try:
        meeting, _ = await live_meeting_on(redis.url, settings.redis_prefix)
        async with (
            live_server(settings.replace(redis_url=redis.url)) as server,
            httpx.AsyncClient(base_url=server.url) as http,
            server.socket(meeting.id) as viewer,
        ):
            status, report = await readiness(http)
            assert (status, report["durability"]) == (200, "waitaof")
            await catch_up(viewer)
            await viewer.send(comment("c1", "Сәлем"))
            answer, _ = await answer_to(viewer, "c1")
            assert answer["type"] == "ack"
    finally:
        redis.stop()


async def test_a_hidden_configuration_without_an_append_only_file_acks_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    """G1: CONFIG hidden (here: denied to the user by an ACL) and no append-only file at all.
    The server cannot tell and waits for WAITAOF, which Valkey refuses without one: the comment
    is answered `retry` (its fate is not known), never acked on hope."""
    redis = PrivateRedis(tmp_path / "redis", "--appendonly", "no").start()
    try:
        meeting, _ = await live_meeting_on(redis.url, settings.redis_prefix)
        assert redis.cli("ACL", "SETUSER", "default", "-config") == "OK"
        async with (
            live_server(settings.replace(redis_url=redis.url)) as server,
            httpx.AsyncClient(base_url=server.url) as http,
            server.socket(meeting.id) as viewer,
        ):
            assert (await readiness(http))[1]["durability"] == "waitaof"
            await catch_up(viewer)
            await viewer.send(comment("c1", "Сәлем"))
            answer, _ = await recv_until(
                viewer, lambda f: f["type"] in ("ack", "rejected", "retry")
            )
        assert (answer["type"], answer["client_msg_id"]) == ("retry", "c1")
    finally:
        redis.stop()


async def test_with_redis_down_a_console_reconnects_instead_of_signing_out(
    private_redis: PrivateRedis, settings: Settings
) -> None:
    """A moderator's command while Redis is down closes the console 1013 (the console then
    reconnects); meanwhile its handshake is refused and the page it checks answers 503, not
    401, so nobody is sent to sign in again; once Redis is back the same session works."""
    meeting, (question,) = await live_meeting_on(private_redis.url, settings.redis_prefix, 1)
    store = Store(private_redis.url, settings.redis_prefix)
    session = await open_session(store, "aliya", Role.MODERATOR)
    await store.close()
    cookie = {"Cookie": f"halyq_session={session}"}
    async with (
        live_server(settings.replace(redis_url=private_redis.url)) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        async with console(server.url, meeting.id, session) as ws:
            desk = await Console(ws).start()
            private_redis.kill()
            await desk.send("c1", "approve", question, 1)
            with pytest.raises(ConnectionClosed) as closed:
                await desk.until(lambda c: False)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1013
            assert "c1" not in desk.answers
        with pytest.raises(InvalidStatus) as refused:
            async with console(server.url, meeting.id, session):
                pass
        assert refused.value.response.status_code == 403
        page = await http.head(f"/console/{meeting.id}", headers=cookie)
        assert page.status_code == 503

        private_redis.start()
        async with console(server.url, meeting.id, session) as ws:
            desk = await Console(ws).start()
            assert desk.items[question]["status"] == "new"  # the refused command changed nothing
            answer = await desk.act("approve", question)
            assert (answer["type"], answer["kind"]) == ("result", "question.approved")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommentTranslated:
    """An event of a later release (a kind this release does not know)."""

    kind: ClassVar[str] = "comment.translated"
    at: int
    item: str
    lang: str


async def append_from_a_later_release(store: Store, meeting_id: str) -> None:
    """What a newer process sharing this Redis (a rolling upgrade) appends, the one way."""
    write = Write()
    event = CommentTranslated(at=1, item="1-0", lang="en")
    store.record.append(write, meeting_id, event)  # type: ignore[arg-type]
    assert isinstance(await store.record.run(write), Written)


async def test_an_event_this_release_cannot_read_is_reported_not_passed_over(
    server: LiveServer, store: Store, live_meeting: Meeting, caplog: pytest.LogCaptureFixture
) -> None:
    """An entry of a kind this process does not know (appended by a newer release during a
    rolling upgrade) is not passed over: sockets that would have to show it close 1011, the
    public report answers 500 rather than wrong counts, a feed that meets one says so on
    /readyz, and each failure is logged with the meeting's id."""
    meeting_id = live_meeting.id
    session = await open_session(store, "aliya", Role.MODERATOR)
    await append_from_a_later_release(store, meeting_id)
    async with httpx.AsyncClient(base_url=server.url) as http:
        async with server.socket(meeting_id) as viewer:
            assert await close_code(viewer) == 1011
        async with console(server.url, meeting_id, session) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await recv_json(ws)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1011
        report = await http.get(f"/api/meetings/{meeting_id}/transparency")
        assert (report.status_code, report.json()["error"]) == (500, "internal")
        # The meeting's feed (still reading for a while after its last viewer left) meets
        # another such entry: /readyz names it.
        await append_from_a_later_release(store, meeting_id)

        async def feed_reported() -> bool:
            _, report = await readiness(http)
            return any(meeting_id in problem for problem in report.get("problems", []))

        await wait_for(feed_reported, what="the feed's failure on /readyz")
        assert (await readiness(http))[0] == 503
    logged = {r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR}
    for line in (
        f"viewer socket failed (meeting {meeting_id})",
        f"console socket failed (meeting {meeting_id})",
        f"unhandled error on /api/meetings/{meeting_id}/transparency",
        f"feed {meeting_id} failed; restarting its reader",
    ):
        assert line in logged, logged


def test_a_server_whose_redis_refuses_writes_at_start_exits_and_says_why(
    tmp_path: Path,
) -> None:
    """G6: pointed at a read-only replica (a failover not finished, or the wrong address),
    `halyq serve` does not serve pretending all is well: it exits with uvicorn's start-up
    failure status (3) and Redis's reason in its log, for the supervisor and the operator."""
    replica = PrivateRedis(tmp_path / "redis", "--replicaof", "127.0.0.1", "1").start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "server", "serve", "--port", "0"],
            cwd=ROOT,
            env=environment(REDIS_URL=replica.url),
            capture_output=True,
            text=True,
            timeout=TIMEOUT * 3,
        )
    finally:
        replica.stop()
    assert done.returncode == 3
    assert "You can't write against a read only replica" in done.stderr
    assert "Application startup failed" in done.stderr
    assert "Halyq is serving" not in done.stdout


async def test_an_unreadable_entry_never_leaves_open_viewers_silently_behind(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """G4: a viewer already watching when the record gets an entry this process cannot read is
    told (closed 1013, "try again"), never left open and silently behind; when it resumes, it is
    closed again, 1011 by its catch-up or 1013 by the feed, whichever meets the entry first."""
    async with server.socket(live_meeting.id) as viewer:
        await catch_up(viewer)
        await append_from_a_later_release(store, live_meeting.id)
        with pytest.raises(ConnectionClosed) as closed:
            await recv_until(viewer, lambda f: False)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1013
    async with server.socket(live_meeting.id, after="0") as resumed:
        assert await close_code(resumed) in (1011, 1013)
