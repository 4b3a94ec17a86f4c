"""What the staff's and the studio's sockets share: a connection of the hub with its outbox,
the run from joining to leaving with the failures every socket handles alike, the sending of a
frame, and a close that happens once, whoever asks for it first."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette import status
from starlette.websockets import WebSocket, WebSocketDisconnect

from moderation import Meeting
from server.fanout.connection import Connection
from server.fanout.hub import Subscription
from server.fanout.uvicorn import lent
from server.services import Services
from server.store import StoreUnavailable

logger = logging.getLogger(__name__)

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

    kind = "socket"  # the label of `halyq_ws_connections`, and what a log line calls it

    async def run(self) -> None:
        """Join the meeting's feed, serve until the socket goes, then leave: a Redis that fails
        closes the socket 1013 (reconnect later), a bug 1011, and either is logged."""
        gauge = self.services.metrics.connections.labels(self.kind)
        gauge.inc()
        watcher = asyncio.get_running_loop().create_task(self._watch())
        joined: Subscription | None = None
        try:
            joined = await self._join()
            await self._serve(joined)  # no await in between: the hello is as of the join
        except WebSocketDisconnect:
            pass
        except StoreUnavailable:
            await self._close(status.WS_1013_TRY_AGAIN_LATER, "unavailable")
        except Exception:
            logger.exception("%s socket failed (meeting %s)", self.kind, self.meeting.id)
            await self._close(status.WS_1011_INTERNAL_ERROR, "internal error")
        finally:
            watcher.cancel()
            gauge.dec()
            if joined is not None:
                joined.leave()

    async def _join(self) -> Subscription:
        raise NotImplementedError

    async def _serve(self, joined: Subscription) -> None:
        """Greet as of the join, then read until the socket goes."""
        raise NotImplementedError

    async def _watch(self) -> None:
        """Runs beside the socket until it ends: closes it when it may no longer be open."""
        raise NotImplementedError

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
