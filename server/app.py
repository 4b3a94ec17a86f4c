"""The application: routes, and a lifespan that owns Redis, the hub and background checks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from server import api, console, ops, pages, staff
from server.embedded import EmbeddedRedis
from server.errors import HANDLERS
from server.hub import Hub
from server.metrics import Metrics
from server.security import SecurityHeaders
from server.services import Services
from server.settings import Settings
from server.sockets import viewer_socket
from server.staffstore import StaffStore
from server.store import Durability, DurabilityReport, Store, StoreUnavailable

logger = logging.getLogger(__name__)

DURABILITY_RECHECK = 30.0
STARTUP_ATTEMPTS = 50
VIEWER_SOCKET = re.compile(r"/ws/meetings/([^/]+)")


def create_app(settings: Settings | None = None) -> Halyq:
    """The ASGI app; with no settings it reads the environment (`uvicorn --factory`)."""
    settings = settings or Settings.from_env(os.environ)
    routes = [
        Route("/", pages.index, name="index"),
        Route("/m/{meeting_id}", pages.meeting_page, name="meeting"),
        WebSocketRoute("/ws/meetings/{meeting_id}", viewer_socket, name="viewer_socket"),
        Route("/api/meetings", api.list_meetings, methods=["GET"]),
        Route("/api/meetings", api.create_meeting, methods=["POST"]),
        Route("/api/meetings/{meeting_id}", api.get_meeting, methods=["GET"]),
        Route("/api/meetings/{meeting_id}/start", api.start_meeting, methods=["POST"]),
        Route("/api/meetings/{meeting_id}/end", api.end_meeting, methods=["POST"]),
        Route("/healthz", ops.healthz),
        Route("/readyz", ops.readyz),
        Route("/metrics", ops.metrics),
        *staff.ROUTES,
        Route("/console", console.console_index, name="console_index"),
        Route("/console/{meeting_id}", console.console_page, name="console"),
        Route("/console/{meeting_id}/audit", console.audit_page, name="audit"),
        WebSocketRoute("/ws/console/{meeting_id}", console.console_socket, name="console_socket"),
        Route("/m/{meeting_id}/transparency", console.transparency_page, name="transparency"),
        Route("/api/meetings/{meeting_id}/transparency", console.transparency_json),
        Mount("/static", pages.static_files(), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with _running(settings) as services:
            app.state.services = services
            yield

    app = Starlette(routes=routes, exception_handlers=HANDLERS, lifespan=lifespan)
    app.state.templates = pages.templates()
    app.add_middleware(SecurityHeaders)
    return Halyq(app)


class Halyq:
    """The ASGI app: Starlette, except that viewer sockets go straight to their handler.

    Viewer sockets are nearly all connections, and every middleware layer Starlette wraps around
    a call stays in memory for the connection's whole life (about 5 KB each); the viewer handler
    catches its own errors (see `server/sockets.py`), so it needs none of them.
    """

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state
        self.routes = app.routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and (match := VIEWER_SOCKET.fullmatch(scope["path"])):
            scope["app"] = self.app
            scope["path_params"] = {"meeting_id": match[1]}
            await viewer_socket(WebSocket(scope, receive, send))
            return
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[Services]:
    embedded = None
    url = settings.redis_url
    if not url:
        embedded = EmbeddedRedis(settings.data_dir).start()
        url = embedded.url
    store = Store(url, settings.redis_prefix)
    metrics = Metrics()
    hub = Hub(store, metrics, max_delay=settings.fanout_max_delay)
    checker: asyncio.Task[None] | None = None
    try:
        await _first_contact(store)
        secret = await store.shared_secret(settings.secret)
        services = Services(
            settings=settings,
            store=store,
            staff=StaffStore(store.redis, store.prefix),
            hub=hub,
            metrics=metrics,
            secret=secret.encode(),
        )
        checker = asyncio.get_running_loop().create_task(_recheck_durability(store))
        yield services
    finally:
        if checker is not None:
            checker.cancel()
        await hub.close()
        await store.close()
        if embedded is not None:
            embedded.stop()


async def _first_contact(store: Store) -> None:
    """Reach Redis (it may still be loading its file) and say how durable acks are there."""
    for attempt in range(STARTUP_ATTEMPTS):
        try:
            await store.ping()
            break
        except StoreUnavailable:
            if attempt == STARTUP_ATTEMPTS - 1:
                raise
            await asyncio.sleep(0.2)
    _announce(await store.check_durability())


def _announce(report: DurabilityReport) -> None:
    if report.mode is Durability.NONE:
        logger.error(
            "REDIS IS NOT DURABLE: acknowledged comments could be lost (%s). Comments are"
            " refused until this is fixed; /readyz says so.",
            report.detail,
        )
    else:
        logger.info("Redis durability: %s (%s)", report.mode.value, report.detail)


async def _recheck_durability(store: Store) -> None:
    """Someone may `CONFIG SET appendfsync everysec` at any time: look again now and then."""
    previous = store.durability.mode
    while True:
        await asyncio.sleep(DURABILITY_RECHECK)
        try:
            report = await store.check_durability()
        except StoreUnavailable as error:
            logger.warning("durability check failed: %s", error)
            continue
        if report.mode is not previous:
            _announce(report)
            previous = report.mode
