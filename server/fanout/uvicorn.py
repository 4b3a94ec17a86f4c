"""The uvicorn fast path, and everything else that knows uvicorn: one module.

- `WebSocketProtocol` lends each socket's transport to the fan-out through the scope extension
  `TRANSPORT`, so a batch is framed once (`text_frame`) and the same bytes are written to every
  viewer's transport, like `websockets.broadcast`, instead of passing through ASGI `send`
  (which re-encodes the text and needs a task) once per viewer.
- `HttpProtocol` gives every new connection a deadline for its request and upgrade
  (`HALYQ_HANDSHAKE_TIMEOUT`) and caps the unfinished ones per address: uvicorn's own protocol
  holds idle and half-sent connections for ever. The rules are `server/fanout/admission.py`.
- `FastPath` sends viewer sockets straight to their handler: every middleware layer Starlette
  wraps around a call stays in memory for the connection's whole life (about 5 KB each). Every
  socket, viewer or staff, passes its admission first (per-address cap, handshake queue).
- `options(settings)` are the options `halyq serve` runs uvicorn with: `SETTINGS`, plus the
  trusted proxies whose `X-Forwarded-For` is believed (none by default).
- A draining server (SIGTERM, issue 15) closes each socket with `CLOSE_DRAINING` once its
  handler has answered the frame it was working on (an ack or a `retry`), not in the middle of
  it as uvicorn would: `WebSocketProtocol.shutdown`.

It leans on uvicorn's internals (`WebSocketsSansIOProtocol.handle_connect`, `send`, its `scope`
and `transport`; `HttpToolsProtocol`'s parser callbacks and its hand-over at an upgrade), checked
by `problems()` against the versions it was written for. Any other ASGI server simply lends no
transport, and the fan-out takes its generic path (a writer task per busy connection).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import re
import struct
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from server.fanout.admission import Admission, Limits, Pending, open_files_limit, trusted_networks
from server.wire import MAX_FRAME_BYTES

logger = logging.getLogger(__name__)

TRANSPORT = "halyq.transport"
# A draining node's close (docs/protocol.md): RFC 6455's "service restart", which uvicorn sends
# too when it stops; the client reconnects at once with `after` and `epoch`, and the balancer
# sends it to another node.
CLOSE_DRAINING = 1012
DRAINING_REASON = "draining: reconnect"
WRITTEN_FOR = ("0.54.",)  # uvicorn releases whose internals this module was checked against

SETTINGS: dict[str, Any] = {
    "http": "server.fanout.uvicorn:HttpProtocol",
    "ws": "server.fanout.uvicorn:WebSocketProtocol",
    "ws_max_size": MAX_FRAME_BYTES,
    "ws_per_message_deflate": False,
    "ws_ping_interval": 20.0,
    "ws_ping_timeout": 20.0,
    "access_log": False,
    "log_config": None,
    "proxy_headers": False,  # X-Forwarded-For only from HALYQ_TRUSTED_PROXIES: see options()
    "server_header": False,
    "backlog": 4096,
    "timeout_graceful_shutdown": 5,
}


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass `--ws server.fanout.uvicorn:WebSocketProtocol` to uvicorn (`halyq serve` does)."""

    _pending: Pending | None = None  # the handshake's deadline, handed over by `HttpProtocol`
    _draining = False  # the server is stopping: close once the app waits for a frame
    _answering = False  # the app took a frame and has not asked for the next one yet

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            # The protocol by weak reference: the scope it holds must not hold it (a cycle
            # that only a full collection would free, after every closed socket).
            protocol = weakref.ref(self)
            scope["extensions"][TRANSPORT] = {"transport": self.transport, "protocol": protocol}

    def shutdown(self) -> None:
        """The server drains (SIGTERM, issue 15): stop reading frames, let the app answer the
        one it is working on (a comment being appended gets its ack or its `retry`: nothing
        acked is unknown to its client), then close with `CLOSE_DRAINING`. uvicorn's own
        shutdown would close at once and drop that answer."""
        if not self.handshake_complete or self.close_sent or self.transport.is_closing():
            super().shutdown()
            return
        self.stop_keepalive()
        self._draining = True
        if not self.read_paused:  # what the client sends from now on is sent again elsewhere
            self.read_paused = True
            self.transport.pause_reading()
        if not self._answering:
            self._close_draining()

    async def receive(self) -> Any:
        self._answering = False
        if self._draining:
            if not self.close_sent and self.queue.empty():
                self._close_draining()
            return await self.queue.get()  # frames taken before the drain, then the end
        message = await super().receive()
        self._answering = message["type"] == "websocket.receive"
        return message

    def _close_draining(self) -> None:
        """Send the close frame as uvicorn does for the app's own `websocket.close`."""
        self.queue.put_nowait(
            {"type": "websocket.disconnect", "code": CLOSE_DRAINING, "reason": DRAINING_REASON}
        )
        self.conn.send_close(CLOSE_DRAINING, DRAINING_REASON)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.read_paused = False  # the client's closing frame must be read
        self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)

    def adopt(self, pending: Pending) -> None:
        """The upgrade's deadline runs on until the app accepts or refuses the socket."""
        if self.handshake_complete:
            pending.settle()
        else:
            self._pending = pending

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self._pending is not None and self.handshake_complete:
            self._pending.settle()
            self._pending = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._pending is not None:
            self._pending.settle()
            self._pending = None
        super().connection_lost(exc)
        # uvicorn never feeds the end of the stream to websockets' parser: left waiting for
        # data, that generator and the connection hold each other, and every closed socket
        # would stay in memory until a full collection (issue 8: memory after a storm).
        self.conn.parser.close()


class HttpProtocol(HttpToolsProtocol):
    """Pass `--http server.fanout.uvicorn:HttpProtocol` to uvicorn (`halyq serve` does): its
    httptools protocol, with admission control's deadline and cap on unfinished connections."""

    def __init__(self, config: Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._admission = admission_of(config.loaded_app)
        self._pending: Pending | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self._admission is not None:
            host = self.client and self.client[0]
            self._pending = self._admission.arrive(transport, host, len(self.connections))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._admission is not None and self._pending is None:
            self._pending = self._admission.again(self.transport)

    def on_message_complete(self) -> None:
        if not (self.parser.should_upgrade() and self._should_upgrade()):
            self._settle()  # the request is in: the app takes the time it needs to answer
        super().on_message_complete()

    def handle_websocket_upgrade(self) -> None:
        pending, self._pending = self._pending, None
        if pending is None:  # no admission control: another app, or its lifespan is off
            super().handle_websocket_upgrade()
            return
        answer = pending.admission.refuse_early(self.client and self.client[0])
        if answer is not None:  # a flood's refusal, before any WebSocket work for it
            pending.settle()
            self.transport.write(answer)
            self.transport.close()
            return
        pending.upgrade()
        super().handle_websocket_upgrade()
        protocol = self.transport.get_protocol()
        if isinstance(protocol, WebSocketProtocol):
            protocol.adopt(pending)
        else:  # uvicorn's own protocol (the generic path): the deadline ends here
            pending.settle()

    def connection_lost(self, exc: Exception | None) -> None:
        self._settle()
        super().connection_lost(exc)

    def _settle(self) -> None:
        if self._pending is not None:
            self._pending.settle()
            self._pending = None


def admission_of(app: Any) -> Admission | None:
    """The admission control of our app inside uvicorn's wrappers (proxy headers, logging),
    once its lifespan has started; None for any other app."""
    for _ in range(8):
        if isinstance(app, FastPath):
            return app.admission
        app = getattr(app, "app", None)
    return None


def options(settings: Limits | None = None) -> dict[str, Any]:
    """The options to run uvicorn with: `SETTINGS`, believing `X-Forwarded-For` only from the
    trusted proxies of `settings`, and with uvicorn's own protocols instead of ours (the
    generic path) if the installed uvicorn is not one they were written for.

    Raises:
        ValueError: a trusted proxy is neither an address nor a network.
    """
    found = problems()
    chosen = SETTINGS
    if found:
        for problem in found:
            logger.error("the WebSocket fast path is off: %s", problem)
        chosen = SETTINGS | {"ws": "websockets-sansio"}
        if _http_problems():
            chosen |= {"http": "httptools"}
    proxies = (
        [] if settings is None else [str(n) for n in trusted_networks(settings.trusted_proxies)]
    )
    if proxies:  # uvicorn then believes X-Forwarded-For and -Proto from these peers only
        chosen = chosen | {"proxy_headers": True, "forwarded_allow_ips": proxies}
    return chosen


def problems() -> list[str]:
    """What differs in the installed uvicorn from what our protocols were written for."""
    found = []
    if not uvicorn.__version__.startswith(WRITTEN_FOR):
        found.append(f"uvicorn {uvicorn.__version__} is not one of {', '.join(WRITTEN_FOR)}x")
    hook = getattr(WebSocketsSansIOProtocol, "handle_connect", None)
    if hook is None or list(inspect.signature(hook).parameters) != ["self", "event"]:
        found.append("WebSocketsSansIOProtocol.handle_connect(self, event) is gone or changed")
    source = _source(WebSocketsSansIOProtocol)
    for needed in (
        "self.scope: WebSocketScope = {",
        "self.transport = transport",
        "self.handshake_complete = True",
        '"websocket.http.response.start"',
        # the drain (`shutdown`, `receive`, `_close_draining`) leans on these
        "self.read_paused = True",
        "message = await self.queue.get()",
        "self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)",
    ):
        if needed not in source:
            found.append(f"WebSocketsSansIOProtocol no longer has {needed.split(':')[0]}")
    return found + _http_problems()


@functools.cache
def _source(protocol: type) -> str:
    """A uvicorn protocol's source, read once a process: it does not change while it runs (and
    `ast.parse` of it on each server start met CPython's "AST constructor recursion depth
    mismatch" when a finalizer ran inside it)."""
    return inspect.getsource(protocol)


def _http_problems() -> list[str]:
    found = []
    for name, parameters in (
        ("connection_made", ["self", "transport"]),
        ("connection_lost", ["self", "exc"]),
        ("on_message_begin", ["self"]),
        ("on_message_complete", ["self"]),
        ("handle_websocket_upgrade", ["self"]),
    ):
        hook = getattr(HttpToolsProtocol, name, None)
        if hook is None or list(inspect.signature(hook).parameters) != parameters:
            found.append(f"HttpToolsProtocol.{name}({', '.join(parameters)}) is gone or changed")
    source = _source(HttpToolsProtocol)
    for needed in ("self.client = get_remote_addr", "self.transport.set_protocol(protocol)"):
        if needed not in source:
            found.append(f"HttpToolsProtocol no longer has {needed}")
    return found


class Lent:
    """A socket's transport, lent by our protocol: batches go straight into its buffer, which
    is the connection's outbox (no task and no copy per connection)."""

    __slots__ = ("_protocol", "_transport")

    def __init__(
        self, transport: asyncio.WriteTransport, protocol: weakref.ref[WebSocketProtocol]
    ) -> None:
        self._transport = transport
        self._protocol = protocol  # nothing may follow its close frame (a drain sends one)

    def buffered(self) -> int:
        """Bytes written and not yet taken by the client."""
        return self._transport.get_write_buffer_size()

    def write(self, frame: bytes) -> None:
        protocol = self._protocol()
        if protocol is None or protocol.close_sent or self._transport.is_closing():
            return
        self._transport.write(frame)

    def abort(self) -> None:
        self._transport.abort()


def lent(scope: Scope) -> Lent | None:
    """The transport our protocol lent this socket, or None under any other server."""
    found: dict[str, Any] = scope.get("extensions", {}).get(TRANSPORT, {})
    transport = found.get("transport")
    return None if transport is None else Lent(transport, found["protocol"])


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
    """The app, except that sockets on the given paths go straight to their handler, and that
    every socket passes admission control first (`server/fanout/admission.py`).

    `routes` maps a path pattern (its groups are the path parameters) to a handler that
    catches its own errors; everything else goes through `app` with its middleware.
    """

    def __init__(self, app: Any, routes: Mapping[str, tuple[Handler, tuple[str, ...]]]) -> None:
        self.app: ASGIApp = app
        self.state = app.state
        self.routes = app.routes
        self._routes = [(re.compile(p), h, names) for p, (h, names) in routes.items()]
        self._admission: Admission | None = None

    @property
    def admission(self) -> Admission | None:
        """Admission control, from the settings and metrics the lifespan made (None before)."""
        if self._admission is None:
            services = getattr(self.state, "services", None)
            if services is None:
                return None
            self._admission = Admission(
                services.settings, services.metrics.refusals, open_files_limit()
            )
        return self._admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
        elif (admission := self.admission) is None:
            await self._socket(scope, receive, send)
        else:
            await admission.serve(scope, receive, send, self._socket)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        for pattern, handler, names in self._routes:
            if match := pattern.fullmatch(scope["path"]):
                scope["app"] = self.app
                scope["path_params"] = dict(zip(names, match.groups(), strict=True))
                await handler(WebSocket(scope, receive, send))
                return
        await self.app(scope, receive, send)
