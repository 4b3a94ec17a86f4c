"""uvicorn's WebSocket protocol, lending its transport to the fan-out.

A batch of events is framed once and written as the same bytes to every viewer's transport,
like `websockets.broadcast`, instead of passing through ASGI `send` (which re-encodes the text
and needs a task) once per viewer. The transport reaches the app through the scope extension
`TRANSPORT`; an app served by any other ASGI server simply does not find it.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

TRANSPORT = "halyq.transport"


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """Pass `--ws server.transport:WebSocketProtocol` to uvicorn (the `halyq` command does)."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][TRANSPORT] = {"transport": self.transport}
