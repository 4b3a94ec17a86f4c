"""A viewer that stops reading is cut off; the others keep getting everything."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

import pytest

from moderation import Meeting
from server.settings import Settings
from server.store import Store
from tests.helpers import PROTOCOLS, TIMEOUT, live_server, recv_until, wait_for
from tests.server.test_resume import post

pytestmark = pytest.mark.anyio


async def open_silent_viewer(
    url: str, path: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A raw WebSocket client with a tiny receive buffer that, after the handshake, never reads."""
    host, port = url.removeprefix("http://").split(":")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
    reader, writer = await asyncio.open_connection(sock=raw, limit=1 << 14)
    key = base64.b64encode(os.urandom(16)).decode()
    handshake = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    writer.write(handshake.encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    assert head.startswith(b"HTTP/1.1 101")
    return reader, writer


async def read_close_code(reader: asyncio.StreamReader) -> int | None:
    """Read frames until a close frame; its code, or None if the connection just ended."""
    while True:
        try:
            first, second = await asyncio.wait_for(reader.readexactly(2), TIMEOUT)
        except asyncio.IncompleteReadError:
            return None
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await reader.readexactly(8))
        payload = await reader.readexactly(length)
        if first & 0x0F == 0x8:
            return int(struct.unpack("!H", payload[:2])[0])


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_viewer_that_stops_reading_is_cut_off_and_others_are_not_held_up(
    settings: Settings, store: Store, live_meeting: Meeting, protocol: str
) -> None:
    async with live_server(settings.replace(outbox_bytes=64 * 1024), ws=protocol) as server:
        reader, writer = await open_silent_viewer(server.url, f"/ws/meetings/{live_meeting.id}")
        async with server.socket(live_meeting.id) as healthy:
            await recv_until(healthy, lambda f: f["type"] == "events")
            hub = server.services.hub
            await wait_for(lambda: hub.connections == 2, what="both viewers joined")
            registry = server.services.metrics.registry
            texts: list[str] = []

            async def read_healthy() -> None:
                while True:
                    frame, _ = await recv_until(healthy, lambda f: f["type"] == "events")
                    texts.extend(e["text"] for e in frame["events"])

            reading = asyncio.create_task(read_healthy())
            sent = 0
            while not registry.get_sample_value("halyq_slow_clients_dropped_total"):
                # Post until the silent viewer's outbox overflows.
                await post(store, live_meeting, 100, f"flood{sent}", text="ы" * 400)
                sent += 100
                assert sent <= 20_000, "the silent viewer was never cut off"
            # Everything reached the healthy viewer although the silent one read nothing.
            await wait_for(lambda: len(texts) >= sent, what="the healthy viewer got everything")
            reading.cancel()
            assert len(texts) == sent
            assert registry.get_sample_value("halyq_slow_clients_dropped_total") == 1
            assert hub.connections == 1
        # When the silent viewer reads again, it finds the close code telling it to resume.
        assert await read_close_code(reader) == 1013
        writer.close()
        await writer.wait_closed()
