"""The studio's overlays (issue 9.3): lower third, clock and ticker pages, and their socket.

Each page is a full 1920x1080 canvas with a transparent background, for an OBS browser source,
a CasparCG HTML template or a plain browser; it needs no login, only the meeting's overlay key
as `?key=` (404 otherwise: `server.web.feeds.studio_meeting`). Its data comes live from
`/ws/overlay/{meeting_id}?key=...`: a hello with the clock, what is on air and the rundown,
then the `overlay` audience's events (docs/protocol.md, "The overlay WebSocket").
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

from starlette import status
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.websockets import WebSocket

from moderation import Meeting
from moderation.audiences import studio_question
from moderation.rundown import on_air, rundown
from server.auth.keys import overlay_key_matches
from server.fanout.audiences import OVERLAY
from server.fanout.hub import Subscription
from server.services import Services
from server.store import StoreUnavailable
from server.usecases import is_meeting_id
from server.web.feeds import lang_of, studio_meeting
from server.web.i18n import studio_strings
from server.web.socket_session import SocketSession
from server.web.templating import page_context, render
from server.wire import dumps

logger = logging.getLogger(__name__)

OVERLAY_OUTBOX = 1 << 20
RECHECK_EVERY = 2.0  # seconds: a rotated key closes the overlays it opened within this
CLOSE_NOT_FOUND = 4404
DENIAL = "websocket.http.response"


# Pages


async def lower_third(request: Request) -> Response:
    """`GET /overlay/{meeting_id}/lower-third?key=...`: the question on air, name and district."""
    return await _page(request, "lower_third")


async def clock(request: Request) -> Response:
    """`GET /overlay/{meeting_id}/clock?key=...`: the presentation's time left (R4)."""
    return await _page(request, "clock")


async def ticker(request: Request) -> Response:
    """`GET /overlay/{meeting_id}/ticker?key=...`: the approved questions, one after another."""
    return await _page(request, "ticker")


async def _page(request: Request, graphic: str) -> Response:
    meeting = await studio_meeting(request)
    lang = lang_of(request)
    key = request.query_params.get("key", "")
    config = {
        "graphic": graphic,
        "socket": f"/ws/overlay/{meeting.id}?key={quote(key, safe='')}",
        "lang": lang,
        "strings": studio_strings(lang),
        "autoplay": request.query_params.get("autoplay", "1") != "0",
    }
    context = page_context(request) | {"lang": lang, "meeting": meeting, "config": config}
    response = render(request, f"overlay_{graphic}.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


# The socket


async def overlay_socket(websocket: WebSocket) -> None:
    """`GET /ws/overlay/{meeting_id}?key=...`: what the overlays show, live."""
    services: Services = websocket.app.state.services
    try:
        meeting = await _keyed_meeting(services, websocket)
    except StoreUnavailable:
        await websocket.close(code=status.WS_1013_TRY_AGAIN_LATER)
        return
    if meeting is None:
        await _not_found(websocket)
        return
    await websocket.accept()
    await OverlaySession(services, websocket, meeting).run()


async def _keyed_meeting(services: Services, websocket: WebSocket) -> Meeting | None:
    meeting_id = str(websocket.path_params["meeting_id"])
    key = websocket.query_params.get("key", "")
    if not is_meeting_id(meeting_id):
        return None
    if not await overlay_key_matches(services.store, meeting_id, key):
        return None
    return await services.hub.meeting(meeting_id)


async def _not_found(websocket: WebSocket) -> None:
    """404 for the upgrade, as for the pages (a server without denial responses says 403)."""
    if DENIAL in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(PlainTextResponse("not found", 404))
    else:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)


class OverlaySession(SocketSession):
    """One overlay from its hello to close; it only listens."""

    def __init__(self, services: Services, websocket: WebSocket, meeting: Meeting) -> None:
        super().__init__(services, websocket, meeting, OVERLAY_OUTBOX)
        self.key = websocket.query_params.get("key", "")

    kind = "overlay"

    async def _join(self) -> Subscription:
        return await self.services.hub.join(self.meeting.id, self.conn, OVERLAY)

    async def _serve(self, joined: Subscription) -> None:
        # No await between joining and this hello: it is exactly as of `position`.
        board, now = joined.board(), self.services.usecases.clock()
        current = on_air(board)
        hello = {
            "type": "hello",
            "now": now,  # the server's time: the overlay measures its clock's offset
            "clock": joined.clock(now).public(),
            "on_air": None if current is None else studio_question(current),
            "rundown": [studio_question(item) for item in rundown(board)],
            "as_of": joined.position,
        }
        await self._send(dumps(hello))
        joined.release(joined.position)
        await self._receive()

    async def _receive(self) -> None:
        """An overlay sends nothing that matters; read until it goes."""
        while (await self.websocket.receive())["type"] != "websocket.disconnect":
            pass

    async def _watch(self) -> None:
        """Close the socket once its key is rotated: the old URLs open nothing (issue 9.3)."""
        while True:
            await asyncio.sleep(RECHECK_EVERY)
            try:
                valid = await overlay_key_matches(self.services.store, self.meeting.id, self.key)
            except StoreUnavailable:
                continue
            if not valid:
                self._close_soon(CLOSE_NOT_FOUND, "not found")
                return
