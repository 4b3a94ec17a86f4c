"""The JSON API: public meeting data, and admin commands behind a bearer token."""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from moderation import CreateMeeting, EndMeeting, Meeting, MeetingStatus, StartMeeting
from moderation.audiences import meeting_for_viewer
from server.auth.sessions import form
from server.services import Services
from server.usecases import change_meeting, clock, create_meeting, is_meeting_id
from server.usecases.pool import meeting_deadlines
from server.wire import parse_record

MAX_BODY = 64 * 1024


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def require_admin(request: Request) -> None:
    """Admin routes need `Authorization: Bearer <HALYQ_ADMIN_TOKEN>`."""
    token = _services(request).settings.admin_token
    if not token:
        raise HTTPException(403, "the admin API is off: set HALYQ_ADMIN_TOKEN to turn it on")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise HTTPException(401, "a valid admin bearer token is required")


async def list_meetings(request: Request) -> JSONResponse:
    """`GET /api/meetings`"""
    found = await _services(request).store.meetings.all()
    return JSONResponse({"meetings": [meeting_for_viewer(m) for m in found]})


async def get_meeting(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}`: the meeting, with its R4 compliance summary
    (`compliance`, null until the meeting ended)."""
    meeting = await _find(request)
    summary = None
    if meeting.status is MeetingStatus.ENDED:
        summary = await clock.compliance(_services(request).usecases, meeting.id)
    shown = meeting_for_viewer(meeting) | {"compliance": summary and summary.public()}
    return JSONResponse(shown)


async def get_deadlines(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}/deadlines` (public; R6, issue 12): the results' due date,
    the quarterly progress reports' due dates and those already past, as ISO dates."""
    meeting = await _find(request)
    # R6: a due date the meeting's issues met is not overdue (`moderation.pool.met`).
    return JSONResponse(await meeting_deadlines(_services(request).usecases, meeting))


async def post_meeting(request: Request) -> JSONResponse:
    """`POST /api/meetings` (admin): announce a meeting; answers 201 with it."""
    require_admin(request)
    body = await _json_body(request)
    meeting_id = body.pop("id", "")
    settings = _services(request).settings
    body.setdefault("slow_mode_seconds", settings.slow_mode_seconds)  # HALYQ_SLOW_MODE_*
    body.setdefault("slow_mode_burst", settings.slow_mode_burst)
    command = parse_record(CreateMeeting, body)
    cases = _services(request).usecases
    meeting = await create_meeting(cases, command, meeting_id=str(meeting_id or ""))
    return JSONResponse(meeting_for_viewer(meeting), status_code=201)


async def start_meeting(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/start` (admin)"""
    require_admin(request)
    cases = _services(request).usecases
    meeting = await change_meeting(cases, request.path_params["meeting_id"], StartMeeting())
    return JSONResponse(meeting_for_viewer(meeting))


async def end_meeting(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/end` (admin)"""
    require_admin(request)
    cases = _services(request).usecases
    meeting = await change_meeting(cases, request.path_params["meeting_id"], EndMeeting())
    return JSONResponse(meeting_for_viewer(meeting))


async def _find(request: Request) -> Meeting:
    meeting_id = request.path_params["meeting_id"]
    found = None
    if is_meeting_id(meeting_id):
        found = await _services(request).store.meetings.get(meeting_id)
    if found is None:
        raise HTTPException(404, f"no meeting {meeting_id!r}")
    return found


async def _json_body(request: Request) -> dict[str, Any]:
    body = await read_json(request, MAX_BODY)
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


FORM = "application/x-www-form-urlencoded"


def is_form(request: Request) -> bool:
    """Whether the body is an urlencoded form (a page's form, sent without script)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == FORM


async def form_or_json(request: Request, limit: int) -> dict[str, Any]:
    """A page form's fields, or a JSON object of at most `limit` bytes (400 for anything
    else): the routes that serve both the pages' forms and scripts."""
    if is_form(request):
        return dict(await form(request))
    body = await read_json(request, limit)
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


async def read_json(request: Request, limit: int) -> object:
    """The request's JSON body: 413 past `limit` bytes (read no further), 400 if not JSON."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"the body is over {limit} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise HTTPException(400, "the body is not JSON") from None
