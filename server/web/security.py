"""Security headers on every HTTP response, above all a strict Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.web.player import FRAME_ORIGINS


def _csp(connect: str = "'self'", worker: str = "", media: str = "") -> str:
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"media-src 'self' https: blob: {media}".strip(),
        f"connect-src {connect}",
        # 'self': the producer's desk shows the lower third on air, the overlay page itself.
        f"frame-src 'self' {' '.join(FRAME_ORIGINS)}",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
    if worker:
        directives.append(f"worker-src {worker}")
    return "; ".join(directives)


CSP = _csp()


def csp_for_stream(url: str) -> str:
    """The policy of a viewer page whose player is hls.js: it may fetch the playlist and its
    segments from the stream's origin, feed them through a worker it makes from a blob: URL,
    and play them from the blob: URL of its MediaSource; a browser that plays HLS itself loads
    the stream as media, from its origin (http: too, on a local network)."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""
    return _csp(connect=f"'self' {origin}".strip(), worker="'self' blob:", media=origin)


HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """ASGI middleware adding `HEADERS` to HTTP responses that do not set their own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
