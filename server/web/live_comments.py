"""Start a Facebook Live or Instagram Live comment reader from the console (issue 16), as the
YouTube feed's button does (`server/web/youtube.py`); their health shows in the same feeds list
(`GET /api/meetings/{id}/feeds`, sources `facebook:<live video id>` and
`instagram:<ig user id>`).

`POST /api/meetings/{id}/feeds/facebook` with `{"live_video_id": "911936075671494"}`, and
`POST /api/meetings/{id}/feeds/instagram` with `{"ig_user_id": "17841405822304914"}` (staff who
may moderate, with the CSRF token), start a reader in this server process: 202 with the feed's
state; 400 naming the field when it is missing or not a Graph id (digits); 404 for no meeting;
409 when that feed is already read (here or by another process that reports); 503 when the
server has no `HALYQ_FACEBOOK_PAGE_TOKEN`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette import status
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.auth.accounts import Permission
from server.auth.sessions import require
from server.channels.graph_live import (
    FACEBOOK,
    INSTAGRAM,
    REPORT_EVERY,
    STOPPED,
    GraphApi,
    LiveReaders,
    Platform,
)
from server.services import Services
from server.usecases import is_meeting_id
from server.usecases.graph_live import live_reader

NO_STORE = {"Cache-Control": "no-store"}
GONE_AFTER_MS = int(REPORT_EVERY * 5 * 1000)  # a reader silent this long is gone (as YouTube's)
MAX_BODY = 4096
GRAPH_ID = re.compile(r"[0-9]{1,32}")
FIELDS = {FACEBOOK.name: "live_video_id", INSTAGRAM.name: "ig_user_id"}


@require(Permission.MODERATE)
async def follow_facebook(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/feeds/facebook`: read a live video's comments."""
    return await _follow(request, FACEBOOK)


@require(Permission.MODERATE)
async def follow_instagram(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/feeds/instagram`: read an account's live comments."""
    return await _follow(request, INSTAGRAM)


async def _follow(request: Request, platform: Platform) -> JSONResponse:
    services: Services = request.app.state.services
    readers: LiveReaders = request.app.state.live_readers
    meeting_id = str(request.path_params["meeting_id"])
    meeting = await services.store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    if meeting is None:
        return _error(status.HTTP_404_NOT_FOUND, "not_found", f"no meeting {meeting_id[:40]!r}")
    name = FIELDS[platform.name]
    target = await _target(request, name)
    if target is None:
        example = json.dumps({name: "911936075671494"})
        return _error(400, "invalid", f"give {name} (Graph API's id, digits) as JSON: {example}",
                      name)  # fmt: skip
    if not services.settings.facebook_page_token:
        return _error(503, "unavailable", "the server has no HALYQ_FACEBOOK_PAGE_TOKEN")
    source = f"{platform.name}:{target}"
    here = readers.is_running(meeting.id, source)
    if here or await _read_elsewhere(services, meeting.id, source):
        return _error(409, "conflict", f"the {platform.name} comments of {target} are read already")
    reader = live_reader(
        services.usecases,
        services.sender_pseudonym,
        platform=platform,
        meeting_id=meeting.id,
        target=target,
        api=GraphApi(services.settings.facebook_api_base, services.settings.facebook_page_token),
        poll_seconds=services.settings.facebook_poll_seconds,
        clock=services.clock,
    )
    readers.start(reader)
    return JSONResponse({"feed": reader.as_state()}, status.HTTP_202_ACCEPTED, headers=NO_STORE)


async def _target(request: Request, name: str) -> str | None:
    """The id named `name` in the JSON body, if it is one."""
    body = await request.body()
    try:
        data: Any = json.loads(body) if len(body) <= MAX_BODY else None
    except ValueError:
        data = None
    given = data.get(name) if isinstance(data, dict) else None
    if isinstance(given, int) and not isinstance(given, bool):
        given = str(given)
    if isinstance(given, str) and GRAPH_ID.fullmatch(given.strip()):
        return given.strip()
    return None


async def _read_elsewhere(services: Services, meeting_id: str, source: str) -> bool:
    """Another process (`halyq facebook follow`, another server worker) reads it and reports."""
    feed = (await services.store.feeds.states(meeting_id)).get(source)
    if feed is None:
        return False
    fresh = int(services.clock() * 1000) - int(feed.get("reported_at") or 0) <= GONE_AFTER_MS
    return fresh and feed.get("state") != STOPPED


def _error(code: int, error: str, detail: str, field: str = "") -> JSONResponse:
    body = {"error": error, "detail": detail} | ({"field": field} if field else {})
    return JSONResponse(body, status_code=code, headers=NO_STORE)
