"""Bad input gets its documented answer, and the other connections do not notice."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from moderation import Meeting
from server.settings import Settings
from server.store import Store
from tests.helpers import (
    TIMEOUT,
    LiveServer,
    catch_up,
    comment,
    live_server,
    recv_json,
    recv_until,
)

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
        ('{"type": "vote", "question": "the first one"}', "invalid"),
        ('{"type": "vote"}', "invalid"),
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


async def test_a_question_with_a_district_that_is_not_text_is_rejected_by_its_id(
    server: LiveServer, live_meeting: Meeting
) -> None:
    frame = {"type": "question", "client_msg_id": "q1", "text": "Су қашан?", "district": 7}
    async with server.socket(live_meeting.id) as ws:
        await ws.send(json.dumps(frame))
        answer, _ = await recv_until(ws, lambda f: f["type"] == "rejected")
    assert (answer["client_msg_id"], answer["reason"]) == ("q1", "invalid")
    assert answer["detail"] == "district must be a string"


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


async def test_after_50_bad_frames_the_socket_is_closed_1008(
    server: LiveServer, live_meeting: Meeting
) -> None:
    """INP-1: each bad frame is answered, but a client that sends nothing else is cut off."""
    async with server.socket(live_meeting.id, max_queue=None) as ws:
        for _ in range(51):
            await ws.send("{")
        frames: list[dict[str, Any]] = []

        async def read_until_closed() -> None:
            while True:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT)))

        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
        errors = [f["error"] for f in frames if f["type"] == "error"]
        assert errors == ["invalid_json"] * 50


async def test_a_flood_of_comments_gets_an_answer_for_every_one(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """OVL-2, G3: one connection sending far more than 10 frames a second is refused
    `rate_limited` before Redis is asked; every comment still gets exactly one answer, and
    exactly the acknowledged ones are in the record."""
    sent = [f"f{n}" for n in range(100)]
    async with server.socket(live_meeting.id, max_queue=None) as ws:
        await catch_up(ws)
        for client_msg_id in sent:
            await ws.send(comment(client_msg_id, f"Флуд {client_msg_id}"))
        answers: dict[str, dict[str, Any]] = {}
        while len(answers) < len(sent):
            frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            if frame["type"] in ("ack", "rejected"):
                assert frame["client_msg_id"] not in answers, frame
                answers[frame["client_msg_id"]] = frame
    acked = {i for i, a in answers.items() if a["type"] == "ack"}
    refused = [a for a in answers.values() if a["type"] == "rejected"]
    assert len(acked) >= 30  # the burst
    assert refused, "a flood of 100 frames at once was never slowed down"
    for answer in refused:
        assert (answer["reason"], answer["detail"], answer["retry_after"]) == (
            "rate_limited", "too many frames", 1
        )  # fmt: skip
    entries = await store.record.range(live_meeting.id, "-", "+", count=1000)
    recorded = {getattr(e, "client_msg_id", None) for _, e in entries} - {None}
    assert recorded == acked


async def test_a_flood_of_votes_is_refused_without_closing_the_socket(
    server: LiveServer, live_meeting: Meeting
) -> None:
    async with server.socket(live_meeting.id, max_queue=None) as ws:
        await catch_up(ws)
        for _ in range(60):
            await ws.send(json.dumps({"type": "vote", "question": "1-0"}))
        codes: list[str] = []
        while len(codes) < 60:
            frame, _ = await recv_until(ws, lambda f: f["type"] == "error")
            codes.append(frame["error"])
        assert set(codes) == {"not_votable", "rate_limited"}
        assert codes.count("not_votable") >= 30  # the burst; the socket stayed open throughout


async def test_viewer_sockets_open_only_from_this_site_and_listed_embeds(
    settings: Settings, live_meeting: Meeting
) -> None:
    """AUTH-3: the viewer endpoint accepts its own pages, listed embed origins, and clients
    that send no Origin (apps); another site's page is refused before the upgrade."""
    embeds = settings.replace(allowed_origins=("https://embed.example.kz",))
    async with live_server(embeds) as server:
        for origin, allowed in (
            (server.url, True),
            ("https://embed.example.kz", True),
            (None, True),
            ("https://evil.example", False),
            ("https://embed.example.kz.evil.example", False),
            ("null", False),
        ):
            opening = server.socket(live_meeting.id, origin=origin)
            if allowed:
                async with opening as ws:
                    hello, _ = await catch_up(ws)
                    assert hello["meeting"]["id"] == live_meeting.id
                continue
            with pytest.raises(InvalidStatus) as refused:
                async with opening:
                    pass
            assert refused.value.response.status_code == 403, origin


async def test_a_handshake_without_a_key_is_refused_before_the_app(
    server: LiveServer, live_meeting: Meeting
) -> None:
    """INP-1: a broken upgrade request gets a plain 400 from the WebSocket layer (our protocol
    lends no transport for it), and the server goes on serving."""
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /ws/meetings/{live_meeting.id} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n"), TIMEOUT)
    writer.close()
    await writer.wait_closed()
    assert head.startswith(b"HTTP/1.1 400"), head
    async with server.socket(live_meeting.id) as ws:
        await catch_up(ws)
