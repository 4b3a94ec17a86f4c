"""FLT-6: history the record loses is never lost silently.

Each test runs a Redis of its own, so that it can take the meeting's record away (its keys
deleted, as a FLUSHALL would) or give Redis an older append-only file (a stale replica, an old
backup) while viewers and a moderator's console are connected. The server must notice within
5 s, make a new epoch, never hand out an old id again, have every viewer reload, tell the
console which acknowledged comments are gone, and record each one sent again exactly once.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from moderation import Meeting, PostComment, Submission
from server.auth.accounts import Role
from server.fanout.audiences import VIEWER
from server.fanout.connection import Batch, Connection
from server.fanout.continuity import ACK_MEMORY, Continuity
from server.fanout.hub import Hub
from server.metrics import Metrics
from server.settings import Settings
from server.store import Store
from server.store.keys import Keys
from server.usecases import Posted, UseCases, submit
from server.wire import id_key
from tests.consoles import console, open_session
from tests.helpers import (
    LiveServer,
    PrivateRedis,
    comment,
    live_server,
    recv_json,
    recv_until,
    wait_for,
)
from tests.server.test_faults import own_record
from tests.server.test_resume import post
from tests.viewers import Viewer, closing, gather_all, redis_cli

pytestmark = pytest.mark.anyio

DETECTED_WITHIN = 5.0  # seconds (FLT-6)


@pytest.fixture
async def record(
    private_redis: PrivateRedis, tmp_path: Path
) -> AsyncIterator[tuple[Settings, Store, Meeting]]:
    async with own_record(private_redis, tmp_path / "data") as record:
        yield record


async def say(ws: ClientConnection, client_msg_id: str) -> str:
    """Comment on a viewer socket; the id it was acknowledged with."""
    await ws.send(comment(client_msg_id, f"Сұрақ {client_msg_id}"))
    ack, _ = await recv_until(ws, lambda f: f.get("client_msg_id") == client_msg_id)
    assert ack["type"] == "ack", ack
    return str(ack["id"])


async def alert(ws: ClientConnection, timeout: float) -> dict[str, Any]:
    frame, _ = await recv_until(ws, lambda f: f["type"] == "discontinuity", timeout)
    return frame


async def recorded(store: Store, meeting: Meeting) -> list[str]:
    """The client_msg_ids of the comments in the record, in order."""
    entries = await store.record.range(meeting.id, "-", "+", count=10_000)
    return [e.client_msg_id for _, e in entries if hasattr(e, "client_msg_id")]


@contextlib.asynccontextmanager
async def connected(
    server: LiveServer, meeting: Meeting, session: str, viewers: list[Viewer]
) -> AsyncIterator[tuple[ClientConnection, ClientConnection]]:
    """`viewers` watching, then a moderator's console and a commenter's socket, both past their
    hello: what each test of a loss has open when the record goes."""
    await gather_all(*(v.open(server.url, meeting.id) for v in viewers))
    async with (
        console(server.url, meeting.id, session) as desk,
        server.socket(meeting.id) as ws,
    ):
        assert (await recv_json(desk))["type"] == "hello"
        await recv_json(ws)
        yield desk, ws


async def after_the_loss(
    server: LiveServer,
    store: Store,
    meeting: Meeting,
    viewers: list[Viewer],
    session: str,
    lost: dict[str, str],
) -> None:
    """What every test of a loss checks once the console was told: viewers reload under a new
    epoch, a console opened now is told too, and each lost comment sent again (twice) is
    recorded once, with an id after every id handed out before."""
    old_epoch = viewers[0].epoch
    for viewer in viewers:
        assert await viewer.closed() == 1013  # told to resume...
        await viewer.open(server.url, meeting.id)
        assert viewer.reloads == 1  # ...and a resume from the old epoch reloads
        assert viewer.epoch not in (None, old_epoch)
    async with console(server.url, meeting.id, session) as ws:
        assert (await recv_json(ws))["type"] == "hello"
        assert sorted((await alert(ws, 1.0))["missing"]) == sorted(lost)
    async with server.socket(meeting.id) as ws:
        await recv_json(ws)  # hello
        again = {cmid: [await say(ws, cmid), await say(ws, cmid)] for cmid in lost}
    assert all(first == second for first, second in again.values())
    highest_old = max(map(id_key, lost.values()))
    assert all(id_key(first) > highest_old for first, _ in again.values())
    shown = await recorded(store, meeting)
    assert all(shown.count(cmid) == 1 for cmid in lost)


async def test_flt6_a_record_whose_keys_are_gone_is_noticed_and_every_client_told(
    private_redis: PrivateRedis, record: tuple[Settings, Store, Meeting]
) -> None:
    settings, store, meeting = record
    keys, session = Keys(settings.redis_prefix), await open_session(store, "aliya", Role.MODERATOR)
    viewers = [Viewer() for _ in range(5)]
    async with live_server(settings) as server, closing(viewers):
        async with connected(server, meeting, session, viewers) as (desk, ws):
            lost = {f"lost-{n}": await say(ws, f"lost-{n}") for n in range(6)}
            await gather_all(*(v.read_until(lambda v: v.has([lost["lost-5"]])) for v in viewers))
            gone = time.monotonic()
            private_redis.cli("DEL", keys.stream(meeting.id), keys.seen(meeting.id),
                              keys.epoch(meeting.id))  # fmt: skip
            told = await alert(desk, DETECTED_WITHIN)
            assert time.monotonic() - gone < DETECTED_WITHIN
        assert sorted(told["missing"]) == sorted(lost)
        assert (told["meeting"], told["epoch"]) == (meeting.id, await epoch_of(store, meeting))
        await after_the_loss(server, store, meeting, viewers, session, lost)


async def epoch_of(store: Store, meeting: Meeting) -> str | None:
    return (await store.epochs.look(meeting.id)).epoch


async def test_flt6_redis_back_from_an_older_file_is_noticed_even_after_new_comments(
    private_redis: PrivateRedis, record: tuple[Settings, Store, Meeting]
) -> None:
    """A stale copy keeps the epoch, and a comment appended at once moves the last id past
    the mark: only the entries the feed read, now gone, tell."""
    settings, store, meeting = record
    session = await open_session(store, "aliya", Role.MODERATOR)
    viewers = [Viewer() for _ in range(3)]
    aof = private_redis.folder / "appendonlydir"  # Valkey's (Redis 7's) multi-part files
    old = aof.with_suffix(".old")
    async with live_server(settings) as server, closing(viewers):
        async with connected(server, meeting, session, viewers) as (desk, ws):
            kept = await say(ws, "kept")
            shutil.copytree(aof, old)  # the backup, with `kept` and the epoch
            lost = {f"lost-{n}": await say(ws, f"lost-{n}") for n in range(4)}
            await gather_all(*(v.read_until(lambda v: v.has([lost["lost-3"]])) for v in viewers))
            private_redis.kill()
            shutil.rmtree(aof)
            shutil.copytree(old, aof)
            private_redis.start()
            gone = time.monotonic()
            (newer,) = await posted_once_reachable(store, meeting)
            told = await alert(desk, DETECTED_WITHIN)
            assert time.monotonic() - gone < DETECTED_WITHIN
        assert sorted(told["missing"]) == sorted(lost)
        assert id_key(newer) > max(map(id_key, lost.values())) > id_key(kept)
        await after_the_loss(server, store, meeting, viewers, session, lost)
    assert (await recorded(store, meeting))[:1] == ["kept"]


async def posted_once_reachable(store: Store, meeting: Meeting) -> list[str]:
    """A comment appended as soon as Redis answers again (the store reconnects by itself)."""
    posted: list[str] = []

    async def posts() -> bool:
        outcome = await submit(UseCases(store=store), meeting, Submission(
            what=PostComment(client_msg_id="newer", name="", text="Жаңа"), sender="s"))  # fmt: skip
        if isinstance(outcome, Posted):
            posted.append(outcome.id)
        return bool(posted)

    await wait_for(posts, what="a comment appended once Redis is back")
    return posted


async def test_flt6_two_processes_that_see_one_loss_make_one_new_epoch(
    settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    """Each process of a meeting looks at the record; whichever sees the loss first makes the
    new epoch, the other takes it (a client that resumes on either reloads once). Here the
    epoch key survived, as in an older copy of the data: the last id gives the loss away."""
    first, second = Hub(store, Metrics()), Hub(store, Metrics())
    one, other = first.continuity(live_meeting.id), second.continuity(live_meeting.id)
    assert await one.check(store.epochs, ()) is None  # the first look makes the epoch...
    assert await other.check(store.epochs, ()) is None  # ...and the next takes it
    assert one.epoch == other.epoch is not None
    (kept,) = await post(store, live_meeting, 1, "kept")
    first.acked(live_meeting.id, "kept-0", kept)  # the submit path's line
    other.saw(kept)
    forget_the_record(settings, live_meeting)
    lost = await one.check(store.epochs, ())
    assert lost is not None
    assert lost.why == f"its last id went back from {kept} to 0-0"
    assert (lost.missing, lost.high, lost.last) == (("kept-0",), kept, "0-0")
    seen_too = await other.check(store.epochs, [kept])
    assert seen_too is not None
    assert seen_too.why == "its epoch changed"
    assert one.epoch == other.epoch == lost.epoch == seen_too.epoch != lost.previous
    assert await one.check(store.epochs, ()) is None  # settled: no second loss
    (newer,) = await post(store, live_meeting, 1, "newer")
    assert id_key(newer) > id_key(kept)  # the stream's last id was moved past the mark


def forget_the_record(settings: Settings, meeting: Meeting) -> None:
    """The meeting's stream and its memory of client_msg_ids go; the epoch key stays. Only
    this test's keys: the session's Redis is shared."""
    keys = Keys(settings.redis_prefix)
    redis_cli(settings.redis_url, "DEL", keys.stream(meeting.id), keys.seen(meeting.id))


async def test_flt6_a_feed_that_starts_on_a_record_gone_back_says_so_at_once(
    settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    hub = Hub(store, Metrics())
    first = await hub.join(live_meeting.id, Connection(nowhere, 1 << 20, lambda: None), VIEWER)
    epoch = first.epoch
    first.leave()
    await hub.close()  # no feed runs now; a comment is still acknowledged here
    (kept,) = await post(store, live_meeting, 1, "kept")
    hub.acked(live_meeting.id, "kept-0", kept)
    forget_the_record(settings, live_meeting)
    joined = await hub.join(live_meeting.id, Connection(nowhere, 1 << 20, lambda: None), VIEWER)
    assert hub.metrics.registry.get_sample_value("halyq_discontinuities_total") == 1
    assert [json.loads(alert)["missing"] for alert in joined.alerts()] == [["kept-0"]]
    assert joined.epoch not in ("", epoch)
    joined.leave()
    await hub.close()


async def nowhere(text: str) -> None:
    """A connection's send where nobody listens (the hub alone, no socket)."""


def test_a_meeting_remembers_its_latest_acknowledgements_only() -> None:
    continuity = Continuity("m1")
    for n in range(ACK_MEMORY + 1):
        continuity.acked(f"c{n}", f"{n + 1}-0")
    assert len(continuity.acks) == ACK_MEMORY
    assert "c0" not in continuity.acks
    assert continuity.high == f"{ACK_MEMORY + 1}-0"


async def test_an_alert_told_during_a_catch_up_goes_out_after_it_never_trimmed() -> None:
    """`Connection.tell` on the generic path (no lent transport): a frame that is no event
    waits behind the catch-up, and is never skipped as an event the client has would be."""
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    conn = Connection(send, 1 << 20, lambda: None)
    conn.tell("alert")  # held: the catch-up has not gone out yet
    conn.push(Batch([{"id": "5-0"}], "5-0"))
    conn.release("6-0")  # the catch-up went up to 6-0: the batch is not sent again
    await wait_for(lambda: sent == ["alert"], what="the alert")
    conn.tell("status")
    await wait_for(lambda: sent == ["alert", "status"], what="the second frame")
    conn.retire()
    conn.tell("after the end")
    assert sent == ["alert", "status"]
