"""The broadcast's routes (issue 16): our HLS, public as the broadcast is, and the ingest's
status for staff.

- `GET /m/{id}/live.m3u8`: the meeting's playlist, `no-cache` (it changes every segment); 404
  `no broadcast yet` until the ingest has written it (or on a node without the ingest).
- `GET /m/{id}/live/{segment}`: a segment (`p0001-00001.ts`: named by part, never rewritten,
  so cached for a day) or, with a lower rendition, a rendition's playlist (`main.m3u8`,
  `low.m3u8`: `no-cache`). Only names the manager gives out; anything else is 404.
- `GET /api/meetings/{id}/broadcast`: the ingest's state, bitrate, each output's state and the
  recording's size (`server.ingest.Ingest.status`), for moderators, producers and admins (a
  session), the admin token, and the meeting's producer key as `Authorization: Bearer`.

HEAD works on each (Starlette answers it as GET without the body).
"""

from __future__ import annotations

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response

from server.auth.accounts import Permission
from server.auth.keys import producer_of
from server.ingest import Ingest
from server.services import Services
from server.usecases import is_meeting_id

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_TYPE = "video/mp2t"
PLAYLIST_CACHE = {"Cache-Control": "no-cache"}
SEGMENT_CACHE = {"Cache-Control": "public, max-age=86400, immutable"}
NOT_YET = "no broadcast yet"
STAFF = (Permission.PRODUCE, Permission.MODERATE)  # producers, moderators and admins


async def playlist(request: Request) -> Response:
    """`GET /m/{meeting_id}/live.m3u8`."""
    ingest: Ingest = request.app.state.ingest
    meeting_id = str(request.path_params["meeting_id"])
    if ingest.broadcasts is None or not is_meeting_id(meeting_id):
        return _not_yet()
    path = ingest.broadcasts.playlist(meeting_id)
    if not path.is_file():
        return _not_yet()
    return FileResponse(path, media_type=PLAYLIST_TYPE, headers=PLAYLIST_CACHE)


async def segment(request: Request) -> Response:
    """`GET /m/{meeting_id}/live/{segment}`."""
    ingest: Ingest = request.app.state.ingest
    meeting_id, name = str(request.path_params["meeting_id"]), str(request.path_params["segment"])
    found = None
    if ingest.broadcasts is not None and is_meeting_id(meeting_id):
        found = ingest.broadcasts.segment(meeting_id, name)
    if found is None or not found.is_file():
        return PlainTextResponse("not found", status.HTTP_404_NOT_FOUND, headers=PLAYLIST_CACHE)
    if found.suffix == ".m3u8":  # a rendition's playlist: it changes
        return FileResponse(found, media_type=PLAYLIST_TYPE, headers=PLAYLIST_CACHE)
    return FileResponse(found, media_type=SEGMENT_TYPE, headers=SEGMENT_CACHE)


async def status_json(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}/broadcast`: 401 without credentials, 403 with wrong
    ones, 404 for an unknown meeting."""
    services: Services = request.app.state.services
    ingest: Ingest = request.app.state.ingest
    meeting_id = str(request.path_params["meeting_id"])
    await producer_of(request, meeting_id, *STAFF)
    meeting = await services.store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    if meeting is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no meeting {meeting_id[:40]!r}")
    found = await ingest.status(meeting_id, meeting.broadcast)
    return JSONResponse(found, headers={"Cache-Control": "no-store"})


def _not_yet() -> Response:
    return PlainTextResponse(NOT_YET, status.HTTP_404_NOT_FOUND, headers=PLAYLIST_CACHE)
