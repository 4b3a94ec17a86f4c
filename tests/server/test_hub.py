"""The hub alone, with real sockets: audiences, framing once per audience, slow consumers.

A tiny app joins each socket to the hub as the audience its path names, the way the viewer and
console sockets do, and comments go in through `submit`: nothing else of the server runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect

from moderation import Meeting, PostComment, Submission
from server.fanout.audiences import AUDIENCES
from server.fanout.connection import Connection
from server.fanout.hub import Hub
from server.fanout.uvicorn import SETTINGS, lent
from server.metrics import Metrics
from server.store import Store
from server.usecases import Held, Posted, UseCases, submit
from server.wire import dumps
from tests.helpers import PROTOCOLS, TIMEOUT, recv_json, recv_until, wait_for
from tests.server.test_slow_consumer import open_silent_viewer

pytestmark = pytest.mark.anyio

BY_NAME = {audience.name: audience for audience in AUDIENCES}


@contextlib.asynccontextmanager
async def hub_server(
    store: Store, meeting: Meeting, protocol: str, outbox: int = 1 << 20
) -> AsyncIterator[tuple[str, Hub, Metrics, list[str]]]:
    """`ws://.../{audience}`: a socket joined to the meeting's feed as that audience. The
    names of the audiences of sockets the hub dropped for falling behind come last."""
    metrics = Metrics()
    hub = Hub(store, metrics, max_delay=0.05)
    lagged: list[str] = []
    lent_transports: list[bool] = []

    async def join(websocket: WebSocket) -> None:
        await websocket.accept()

        async def send(text: str) -> None:
            await websocket.send_text(text)

        audience = BY_NAME[websocket.path_params["audience"]]
        transport = lent(websocket.scope)
        lent_transports.append(transport is not None)
        conn = Connection(send, outbox, lambda: lagged.append(audience.name), transport)
        joined = await hub.join(meeting.id, conn, audience)
        await websocket.send_text(dumps({"type": "joined", "as_of": joined.position}))
        joined.release(joined.position)
        try:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass
        except WebSocketDisconnect:
            pass
        finally:
            joined.leave()

    app = Starlette(routes=[WebSocketRoute("/{audience}", join)])
    config = uvicorn.Config(
        app, lifespan="off", log_level="warning", **(SETTINGS | {"ws": protocol})
    )
    server = uvicorn.Server(config)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[listener]))
    try:
        await wait_for(lambda: server.started, what="the hub's server")
        yield f"127.0.0.1:{listener.getsockname()[1]}", hub, metrics, lagged
        # Our protocol lends every socket's transport (the fast path); uvicorn's own lends none.
        assert set(lent_transports) <= {protocol == SETTINGS["ws"]}
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, TIMEOUT)
        await hub.close()
        listener.close()


@contextlib.asynccontextmanager
async def members(address: str, audience: str, count: int) -> AsyncIterator[list[ClientConnection]]:
    async with contextlib.AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(
                connect(f"ws://{address}/{audience}", compression=None, max_size=None)
            )
            for _ in range(count)
        ]
        for ws in sockets:
            assert (await recv_json(ws))["type"] == "joined"
        yield sockets


async def next_events(ws: ClientConnection) -> list[dict[str, Any]]:
    frame, _ = await recv_until(ws, lambda f: f["type"] == "events")
    events: list[dict[str, Any]] = frame["events"]
    return events


async def say(store: Store, meeting: Meeting, number: int, text: str) -> str:
    what = PostComment(client_msg_id=f"h{number}", name="Айгүл", text=text)
    outcome = await submit(UseCases(store=store), meeting, Submission(what=what, sender="v1"))
    assert isinstance(outcome, Posted | Held), outcome
    return outcome.id


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_two_audiences_get_one_event_projected_each_its_own_way(
    store: Store, live_meeting: Meeting, protocol: str
) -> None:
    async with (
        hub_server(store, live_meeting, protocol) as (address, _, _, _),
        members(address, "viewer", 2) as viewers,
        members(address, "staff", 2) as consoles,
        members(address, "report", 1) as (report,),
    ):
        held = await say(store, live_meeting, 1, "Звоните: 8 701 234 56 78, Айгүл")
        seen = [await next_events(ws) for ws in (*viewers, *consoles, report)]
    # R3: viewers learn only that a comment was held, and why; never its text or author.
    for events in seen[:2]:
        assert events == [{"id": held, "kind": "comment.held", "at": events[0]["at"],
                           "channel": "web", "reason": "phone"}]  # fmt: skip
    # Consoles see the item, with the number masked for staff who may not see contacts.
    for events in seen[2:4]:
        ((event,),) = [events]
        assert (event["id"], event["kind"]) == (held, "comment.held")
        (item,) = event["items"]
        assert (item["status"], item["held"], item["name"]) == ("held", "phone", "Айгүл")
        assert "234 56 78" not in item["text"]
        assert item["actions"] == ["hide", "release", "promote"]
    # The public report gets counts only.
    assert seen[4] == [{"id": held, "kind": "comment.held", "comments.by_channel.web": 1,
                        "comments.held": 1, "comments.held_by_filter.phone": 1,
                        "comments.received": 1}]  # fmt: skip


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_event_is_framed_once_per_audience_not_once_per_connection(
    store: Store, live_meeting: Meeting, protocol: str
) -> None:
    async with (
        hub_server(store, live_meeting, protocol) as (address, _, metrics, _),
        members(address, "viewer", 6) as viewers,
        members(address, "staff_with_contacts", 3) as consoles,
    ):
        posted = await say(store, live_meeting, 1, "Жол қашан жөнделеді?")
        raw = [await ws.recv() for ws in (*viewers, *consoles)]
    sample = metrics.registry.get_sample_value
    assert sample("halyq_batches_encoded_total", {"audience": "viewer"}) == 1
    assert sample("halyq_batches_encoded_total", {"audience": "staff_with_contacts"}) == 1
    assert sample("halyq_frames_out_total") == 9
    # One encoding per audience: every connection of an audience got the very same text.
    assert len(set(raw[:6])) == 1
    assert len(set(raw[6:])) == 1
    assert json.loads(raw[0])["events"][0]["id"] == posted


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_slow_consumer_in_one_audience_does_not_hold_up_another(
    store: Store, live_meeting: Meeting, protocol: str
) -> None:
    async with (
        hub_server(store, live_meeting, protocol, outbox=32 * 1024) as (
            address,
            hub,
            metrics,
            lagged,
        ),
        members(address, "viewer", 1) as (viewer,),
    ):
        _, writer = await open_silent_viewer("http://" + address, "/staff")
        await wait_for(lambda: hub.connections == 2, what="the silent console joined")
        received: list[str] = []

        async def read() -> None:
            while True:
                received.extend(e["id"] for e in await next_events(viewer))

        reading = asyncio.create_task(read())
        sent: list[str] = []
        dropped = metrics.registry.get_sample_value
        while not dropped("halyq_slow_clients_dropped_total"):
            sent.append(await say(store, live_meeting, len(sent), "ы" * 400 + f" {len(sent)}"))
            assert len(sent) <= 5_000, "the silent console was never cut off"
        await wait_for(lambda: received[-1:] == sent[-1:], what="the viewer got everything")
        reading.cancel()
        assert received == sent
        assert lagged == ["staff"]
        assert hub.connections == 1
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_a_board_warmed_by_the_console_page_is_the_board_its_socket_joins(
    store: Store, live_meeting: Meeting
) -> None:
    """Issue 14: a console's page has the hub fold the board while the browser loads it; two
    pages share one fold, the board keeps folding what comes meanwhile, and the socket that
    comes joins it, as of its position."""
    first = await say(store, live_meeting, 1, "Бірінші пікір")
    hub = Hub(store, Metrics(), max_delay=0.05)

    async def send(text: str) -> None:
        del text

    try:
        await asyncio.gather(hub.warm(live_meeting.id), hub.warm(live_meeting.id))
        second = await say(store, live_meeting, 2, "Екінші пікір")
        conn = Connection(send, 1 << 20, lambda: None, None)
        joined = await hub.join(live_meeting.id, conn, BY_NAME["staff"])
        await wait_for(lambda: second in joined.board().items, what="the comment after warming")
        assert first in joined.board().items
        joined.leave()
        # Left within its warm time, the board stays for the next socket of a reloaded page.
        again = await hub.join(live_meeting.id, conn, BY_NAME["staff"])
        assert {first, second} <= set(again.board().items)
        again.leave()
    finally:
        await hub.close()
