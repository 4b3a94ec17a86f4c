"""What the staff's and the studio's sockets share: a connection of the hub with its outbox,
the sending of a frame, and a close that happens once, whoever asks for it first."""

from __future__ import annotations

import asyncio
import contextlib

from starlette import status
from starlette.websockets import WebSocket, WebSocketDisconnect

from moderation import Meeting
from server.fanout.connection import Connection
from server.fanout.uvicorn import lent
from server.services import Services

CLOSE_TIMEOUT = 5.0  # seconds a close handshake may take before the socket is dropped


class SocketSession:
    """One socket of a meeting from its hello to its close (subclasses say what it does)."""

    def __init__(
        self, services: Services, websocket: WebSocket, meeting: Meeting, outbox: int
    ) -> None:
        self.services = services
        self.websocket = websocket
        self.meeting = meeting
        self.conn = Connection(self._send, outbox, self._lagged, lent(websocket.scope))
        self.closing: asyncio.Task[None] | None = None

    async def _send(self, text: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": text})

    def _close_soon(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = asyncio.get_running_loop().create_task(self._close(code, reason))

    def _lagged(self) -> None:
        self._close_soon(status.WS_1013_TRY_AGAIN_LATER, "lagging: reconnect")

    async def _close(self, code: int, reason: str) -> None:
        self.conn.closed = True
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.websocket.close(code=code, reason=reason)
