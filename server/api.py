"""The JSON API: public meeting data, and admin commands behind a bearer token."""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from moderation import AkimLevel, CreateMeeting, EndMeeting, InvalidInput, Meeting, StartMeeting
from moderation.projections import meeting_for_viewer
from server import meetings
from server.services import Services

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
    found = await _services(request).store.meetings()
    return JSONResponse({"meetings": [meeting_for_viewer(m) for m in found]})


async def get_meeting(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}`"""
    return JSONResponse(meeting_for_viewer(await _find(request)))


async def create_meeting(request: Request) -> JSONResponse:
    """`POST /api/meetings` (admin): announce a meeting; answers 201 with it."""
    require_admin(request)
    body = await _json_body(request)
    command = _create_command(body)
    meeting = await meetings.create(
        _services(request).store, command, meeting_id=str(body.get("id") or "")
    )
    return JSONResponse(meeting_for_viewer(meeting), status_code=201)


async def start_meeting(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/start` (admin)"""
    require_admin(request)
    store = _services(request).store
    meeting = await meetings.change(store, request.path_params["meeting_id"], StartMeeting())
    return JSONResponse(meeting_for_viewer(meeting))


async def end_meeting(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/end` (admin)"""
    require_admin(request)
    store = _services(request).store
    meeting = await meetings.change(store, request.path_params["meeting_id"], EndMeeting())
    return JSONResponse(meeting_for_viewer(meeting))


async def _find(request: Request) -> Meeting:
    meeting_id = request.path_params["meeting_id"]
    found = None
    if meetings.is_meeting_id(meeting_id):
        found = await _services(request).store.meeting(meeting_id)
    if found is None:
        raise HTTPException(404, f"no meeting {meeting_id!r}")
    return found


async def _json_body(request: Request) -> dict[str, Any]:
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise HTTPException(413, f"the body is over {MAX_BODY} bytes")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (ValueError, RecursionError):
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


def _create_command(body: dict[str, Any]) -> CreateMeeting:
    try:
        titles = body.get("titles") or {}
        if not isinstance(titles, dict) or not all(isinstance(v, str) for v in titles.values()):
            raise InvalidInput("titles must map a language to a title")
        return CreateMeeting(
            title=_text(body, "title"),
            akim=_text(body, "akim"),
            level=AkimLevel(str(body.get("level", ""))),
            territory=_text(body, "territory"),
            planned_minutes=_int(body, "planned_minutes"),
            stream_url=_text(body, "stream_url", ""),
            titles=titles,
            starts_at=_text(body, "starts_at", ""),
            slow_mode_seconds=_float(body, "slow_mode_seconds", 5.0),
            slow_mode_burst=_int(body, "slow_mode_burst", 2),
        )
    except ValueError as error:  # AkimLevel(...) of an unknown level
        levels = ", ".join(level.value for level in AkimLevel)
        raise InvalidInput(f"level must be one of {levels}") from error


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


def _int(body: dict[str, Any], name: str, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be a whole number")
    return value


def _float(body: dict[str, Any], name: str, default: float) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{name} must be a number")
    return float(value)
