"""The uvicorn fast path, and everything else that knows uvicorn: one module.

- `WebSocketProtocol` lends each socket's transport to the fan-out through the scope extension
  `TRANSPORT`, so a batch is framed once (`text_frame`) and the same bytes are written to every
  viewer's transport, like `websockets.broadcast`, instead of passing through ASGI `send`
  (which re-encodes the text and needs a task) once per viewer.
- `FastPath` sends viewer sockets straight to their handler: every middleware layer Starlette
  wraps around a call stays in memory for the connection's whole life (about 5 KB each).
- `SETTINGS` are the options `halyq serve` runs uvicorn with.

It leans on uvicorn's internals (`WebSocketsSansIOProtocol.handle_connect`, its `scope` and
`transport`), checked by `problems()` against the versions it was written for. Any other ASGI
server simply lends no transport, and the fan-out takes its generic path (a writer task per
busy connection).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import struct
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from server.wire import MAX_FRAME_BYTES

logger = logging.getLogger(__name__)

TRANSPORT = "halyq.transport"
WRITTEN_FOR = ("0.54.",)  # uvicorn releases whose internals this module was checked against

SETTINGS: dict[str, Any] = {
    "http": "httptools",
    "ws": "server.fanout.uvicorn:WebSocketProtocol",
    "ws_max_size": MAX_FRAME_BYTES,
    "ws_per_message_deflate": False,
    "ws_ping_interval": 20.0,
    "ws_ping_timeout": 20.0,
    "access_log": False,
    "log_config": None,
    "proxy_headers": True,
    "server_header": False,
    "backlog": 4096,
    "timeout_graceful_shutdown": 5,
}


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass `--ws server.fanout.uvicorn:WebSocketProtocol` to uvicorn (`halyq serve` does)."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][TRANSPORT] = {"transport": self.transport}


def options() -> dict[str, Any]:
    """The options to run uvicorn with: `SETTINGS`, or uvicorn's own WebSocket protocol (the
    generic path) if the installed uvicorn is not one the fast path was written for."""
    found = problems()
    if not found:
        return SETTINGS
    for problem in found:
        logger.error("the WebSocket fast path is off: %s", problem)
    return SETTINGS | {"ws": "websockets-sansio"}


def problems() -> list[str]:
    """What differs in the installed uvicorn from what the fast path was written for."""
    found = []
    if not uvicorn.__version__.startswith(WRITTEN_FOR):
        found.append(f"uvicorn {uvicorn.__version__} is not one of {', '.join(WRITTEN_FOR)}x")
    hook = getattr(WebSocketsSansIOProtocol, "handle_connect", None)
    if hook is None or list(inspect.signature(hook).parameters) != ["self", "event"]:
        found.append("WebSocketsSansIOProtocol.handle_connect(self, event) is gone or changed")
    source = inspect.getsource(WebSocketsSansIOProtocol)
    for needed in ("self.scope: WebSocketScope = {", "self.transport = transport"):
        if needed not in source:
            found.append(f"WebSocketsSansIOProtocol no longer sets {needed.split(':')[0]}")
    return found


class Lent:
    """A socket's transport, lent by our protocol: batches go straight into its buffer, which
    is the connection's outbox (no task and no copy per connection)."""

    __slots__ = ("_transport",)

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self._transport = transport

    def buffered(self) -> int:
        """Bytes written and not yet taken by the client."""
        return self._transport.get_write_buffer_size()

    def write(self, frame: bytes) -> None:
        if not self._transport.is_closing():
            self._transport.write(frame)

    def abort(self) -> None:
        self._transport.abort()


def lent(scope: Scope) -> Lent | None:
    """The transport our protocol lent this socket, or None under any other server."""
    found: dict[str, Any] = scope.get("extensions", {}).get(TRANSPORT, {})
    transport = found.get("transport")
    return None if transport is None else Lent(transport)


def text_frame(payload: bytes) -> bytes:
    """An unfragmented, unmasked WebSocket text frame (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


Handler = Callable[[WebSocket], Awaitable[None]]


class FastPath:
    """The app, except that sockets on the given paths go straight to their handler.

    `routes` maps a path pattern (its groups are the path parameters) to a handler that
    catches its own errors; everything else goes through `app` with its middleware.
    """

    def __init__(self, app: Any, routes: Mapping[str, tuple[Handler, tuple[str, ...]]]) -> None:
        self.app: ASGIApp = app
        self.state = app.state
        self.routes = app.routes
        self._routes = [(re.compile(p), h, names) for p, (h, names) in routes.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            for pattern, handler, names in self._routes:
                if match := pattern.fullmatch(scope["path"]):
                    scope["app"] = self.app
                    scope["path_params"] = dict(zip(names, match.groups(), strict=True))
                    await handler(WebSocket(scope, receive, send))
                    return
        await self.app(scope, receive, send)
