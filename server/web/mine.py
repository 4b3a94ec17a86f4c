"""`GET /api/meetings/{id}/mine`: what this viewer sent to a meeting, and what became of it.

The viewer is known by the signed cookie `halyq_viewer`, exactly as the viewer socket knows
them, so the "my questions" view of the page survives reloads (issue 10.7). It answers
`{"items": [...]}`, oldest first, at most the latest `MAX_ITEMS`, each as
`moderation.audiences.sent_item` shows it. Never anyone else's items: without a valid cookie
the list is empty (a viewer known only by an address shared behind a NAT is not one person).
"""

from __future__ import annotations

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from moderation.audiences import sent_item
from server.services import VIEWER_COOKIE, Services
from server.usecases import is_meeting_id

MAX_ITEMS = 100
# Private to this viewer: no shared cache may keep it, and it varies with the cookie.
HEADERS = {"Cache-Control": "private, no-store", "Vary": "Cookie"}


async def mine_json(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}/mine` (public; the cookie says whose)."""
    services: Services = request.app.state.services
    meeting_id = str(request.path_params["meeting_id"])
    found = is_meeting_id(meeting_id) and await services.store.meetings.get(meeting_id)
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {meeting_id!r}")
    viewer = _viewer(services, request)
    if viewer is None:
        return JSONResponse({"items": []}, headers=HEADERS)
    ids = (await services.store.intake.sent_by(meeting_id, viewer))[-MAX_ITEMS:]
    items = await services.store.board.items(meeting_id, ids)
    shown = [sent_item(items[i]) for i in ids if i in items]
    return JSONResponse({"items": shown}, headers=HEADERS)


def _viewer(services: Services, request: Request) -> str | None:
    """The viewer key of a valid cookie, as the viewer socket computes it; None without one
    (an invalid cookie identifies its client by address, which is not this viewer alone)."""
    cookie = request.cookies.get(VIEWER_COOKIE)
    if not cookie:
        return None
    address = request.client.host if request.client else ""
    identity = services.identify(cookie, address)
    return None if identity.key == services.identify(None, address).key else identity.key
