"""Bad input gets its documented answer, and the other connections do not notice."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from moderation import Meeting
from tests.helpers import TIMEOUT, LiveServer, comment, recv_json, recv_until

pytestmark = pytest.mark.anyio


async def close_code(ws: ClientConnection) -> int:
    """Read until the server closes; the close code it sent."""

    async def drain() -> None:
        while True:
            await asyncio.wait_for(ws.recv(), TIMEOUT)

    with pytest.raises(ConnectionClosed) as closed:
        await drain()
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ("not json at all", "invalid_json"),
        ("[1, 2, 3]", "invalid_json"),
        ('{"type": "comment"', "invalid_json"),
        ("[" * 20000 + "]" * 20000, "invalid_json"),
        ('{"text": "no type"}', "unknown_type"),
        ('{"type": "approve", "id": "1-0"}', "unknown_type"),
        ('{"type": "comment", "text": "no id"}', "invalid"),
        ('{"type": "comment", "client_msg_id": "a b*", "text": "bad id"}', "invalid"),
        ('{"type": "comment", "client_msg_id": "' + "x" * 65 + '", "text": "long id"}', "invalid"),
    ],
)
async def test_a_bad_frame_gets_an_error_and_the_socket_stays_open(
    server: LiveServer, live_meeting: Meeting, frame: str, error: str
) -> None:
    async with server.socket(live_meeting.id) as ws:
        await ws.send(frame)
        answer, _ = await recv_until(ws, lambda f: f["type"] == "error")
        assert answer["error"] == error
        await ws.send(comment("after-error", "Still here"))
        ack, _ = await recv_until(ws, lambda f: f["type"] == "ack")
        assert ack["client_msg_id"] == "after-error"


async def test_wrong_field_types_reject_the_comment_by_its_id(
    server: LiveServer, live_meeting: Meeting
) -> None:
    async with server.socket(live_meeting.id) as ws:
        await ws.send(json.dumps({"type": "comment", "client_msg_id": "n1", "text": 1e999}))
        answer, _ = await recv_until(ws, lambda f: f["type"] == "rejected")
    assert (answer["client_msg_id"], answer["reason"]) == ("n1", "invalid")


async def test_a_binary_frame_gets_an_error(server: LiveServer, live_meeting: Meeting) -> None:
    async with server.socket(live_meeting.id) as ws:
        await ws.send(b"\x00\x01binary")
        answer, _ = await recv_until(ws, lambda f: f["type"] == "error")
    assert answer["error"] == "binary"


async def test_a_frame_over_64_kib_closes_with_1009(
    server: LiveServer, live_meeting: Meeting
) -> None:
    async with server.socket(live_meeting.id) as ws:
        await ws.send(comment("big", "я" * 40_000))  # 80,000 bytes of UTF-8
        assert await close_code(ws) == 1009


async def test_invalid_utf8_closes_with_1007(server: LiveServer, live_meeting: Meeting) -> None:
    async with server.socket(live_meeting.id) as ws:
        await ws.send(b'{"type": "comment", "text": "\xed\xa0\x80"}', text=True)
        assert await close_code(ws) == 1007


@pytest.mark.parametrize("meeting_id", ["no-such-meeting", "UPPER", "a", "x" * 80])
async def test_an_unknown_meeting_closes_with_4404(server: LiveServer, meeting_id: str) -> None:
    async with server.socket(meeting_id) as ws:
        assert await close_code(ws) == 4404


async def test_an_invalid_after_is_an_error(server: LiveServer, live_meeting: Meeting) -> None:
    async with server.socket(live_meeting.id, after="yesterday") as ws:
        answer = await recv_json(ws)
        assert answer == {"type": "error", "error": "invalid_after", "detail": answer["detail"]}
        assert await close_code(ws) == 1008


async def test_a_barrage_of_bad_input_does_not_disturb_another_viewer(
    server: LiveServer, live_meeting: Meeting
) -> None:
    author_socket = server.socket(live_meeting.id, max_queue=None)  # its acks stay unread
    async with server.socket(live_meeting.id) as control, author_socket as author:
        await recv_until(control, lambda f: f["type"] == "events")
        # max_queue=None: the attackers never read, and must still see the server's close.
        barrage = [server.socket(live_meeting.id, max_queue=None) for _ in range(4)]
        attackers = [await connection.__aenter__() for connection in barrage]
        for number in range(20):
            for attacker in attackers:
                await attacker.send(["{", "[]", '{"type":"x"}', b"\xff"][number % 4])
            await author.send(comment(f"ok-{number}", f"Вопрос {number}"))
        await attackers[0].send("я" * 70_000)
        received: list[str] = []
        while len(received) < 20:
            frame, _ = await recv_until(control, lambda f: f["type"] == "events")
            received += [e["text"] for e in frame["events"]]
        assert received == [f"Вопрос {number}" for number in range(20)]
        for connection in barrage:
            await connection.__aexit__(None, None, None)
