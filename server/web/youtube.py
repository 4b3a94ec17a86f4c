"""The YouTube feeds of a meeting on the console (issue 11): their health, and a button to follow
a stream's live chat from the server itself.

`GET /api/meetings/{id}/feeds` (staff who may view the console) answers
`{"feeds": [...], "stall_seconds": 60, "live": true}`; each feed has `source`, `url`, `state`
(`following`, `restarting`, `stopped`), `items_last_minute`, `last_item_at` (ms), `error`
(yt-dlp's last error line), `restarts` and `warning`: `null`, `stalled` (a live meeting's feed
delivered nothing for HALYQ_YOUTUBE_STALL_SECONDS) or `exited` (yt-dlp exited, or the follower
stopped reporting). The console polls it every few seconds and raises a banner on a warning.

`POST /api/meetings/{id}/feeds/youtube` with `{"url": "https://www.youtube.com/watch?v=..."}`
(staff who may moderate, with the CSRF token) starts a follower in this server process: 202 with
the feed's state; 400 naming `url` when it is missing or refused (http(s), a host in
HALYQ_ARCHIVE_HOSTS); 404 for no meeting; 409 when the meeting's feed is already followed.
"""

from __future__ import annotations

import json
from typing import Any

from starlette import status
from starlette.requests import Request
from starlette.responses import JSONResponse

from moderation.model import MeetingStatus
from server.auth.accounts import Permission
from server.auth.sessions import require
from server.services import Services
from server.settings import Settings
from server.usecases import is_meeting_id
from server.usecases.youtube import YouTubeChat
from server.youtube.follower import (
    FOLLOWING,
    REPORT_EVERY,
    STOPPED,
    Follower,
    Followers,
    chat_folder,
    stream_url,
    ytdlp_command,
)

NO_STORE = {"Cache-Control": "no-store"}
# A follower that has not reported for this long is gone (its process died): it is stopped.
GONE_AFTER_MS = int(REPORT_EVERY * 5 * 1000)
MAX_BODY = 4096


def warning(feed: dict[str, Any], *, now_ms: int, stall_ms: int, live: bool) -> str | None:
    """Why the console warns about a feed, if it does: only while the meeting is live."""
    if not live:
        return None
    if feed.get("state") != FOLLOWING:
        return "exited"
    quiet_since = max(int(feed.get("last_item_at") or 0), int(feed.get("started_at") or 0))
    return "stalled" if now_ms - quiet_since >= stall_ms else None


def shown(
    source: str, feed: dict[str, Any], *, now_ms: int, stall_ms: int, live: bool
) -> dict[str, Any]:
    """One feed as the console reads it; a follower silent for long is shown as stopped."""
    feed = dict(feed, source=source)
    if (
        feed.get("state") == FOLLOWING
        and now_ms - int(feed.get("reported_at") or 0) > GONE_AFTER_MS
    ):
        feed["state"] = STOPPED
    feed["warning"] = warning(feed, now_ms=now_ms, stall_ms=stall_ms, live=live)
    return feed


@require(Permission.VIEW_CONSOLE)
async def feeds_json(request: Request) -> JSONResponse:
    """`GET /api/meetings/{meeting_id}/feeds`: the meeting's YouTube feeds and their health."""
    services: Services = request.app.state.services
    meeting_id = str(request.path_params["meeting_id"])
    meeting = await services.store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    if meeting is None:
        return _error(status.HTTP_404_NOT_FOUND, "not_found", f"no meeting {meeting_id[:40]!r}")
    stall_seconds = services.settings.youtube_stall_seconds
    live = meeting.status is MeetingStatus.LIVE
    now_ms = int(services.clock() * 1000)
    states = await services.store.feeds.states(meeting.id)
    feeds = [
        shown(source, feed, now_ms=now_ms, stall_ms=int(stall_seconds * 1000), live=live)
        for source, feed in sorted(states.items())
    ]
    body = {"feeds": feeds, "stall_seconds": stall_seconds, "live": live}
    return JSONResponse(body, headers=NO_STORE)


@require(Permission.MODERATE)
async def follow_youtube(request: Request) -> JSONResponse:
    """`POST /api/meetings/{meeting_id}/feeds/youtube`: follow a stream's live chat from here."""
    services: Services = request.app.state.services
    followers: Followers = request.app.state.followers
    meeting_id = str(request.path_params["meeting_id"])
    meeting = await services.store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    if meeting is None:
        return _error(status.HTTP_404_NOT_FOUND, "not_found", f"no meeting {meeting_id[:40]!r}")
    url = await _url(request, services.settings)
    if isinstance(url, JSONResponse):
        return url
    if followers.is_running(meeting.id) or await _followed_elsewhere(services, meeting.id):
        return _error(
            status.HTTP_409_CONFLICT, "conflict", "this meeting's YouTube chat is already followed"
        )
    follower = Follower(
        chat=YouTubeChat(cases=services.usecases, pseudonym=services.sender_pseudonym),
        meeting_id=meeting.id,
        url=url,
        folder=chat_folder(services.settings.data_dir, meeting.id),
        program=ytdlp_command(services.settings),
        clock=services.clock,
    )
    followers.start(follower)
    return JSONResponse({"feed": follower.as_state()}, status.HTTP_202_ACCEPTED, headers=NO_STORE)


async def _url(request: Request, settings: Settings) -> str | JSONResponse:
    """The `url` of the JSON body, checked; else the 400 that names it."""
    body = await request.body()
    try:
        data = json.loads(body) if len(body) <= MAX_BODY else None
    except ValueError:
        data = None
    given = data.get("url") if isinstance(data, dict) else None
    if not isinstance(given, str) or not given.strip():
        return _error(
            400, "invalid", 'give the stream\'s URL as JSON: {"url": "https://..."}', "url"
        )
    try:
        return stream_url(given, settings)
    except ValueError as error:
        return _error(400, "invalid", str(error), "url")


async def _followed_elsewhere(services: Services, meeting_id: str) -> bool:
    """Another process (`halyq youtube follow`, another server worker) follows it and reports."""
    now_ms = int(services.clock() * 1000)
    for feed in (await services.store.feeds.states(meeting_id)).values():
        fresh = now_ms - int(feed.get("reported_at") or 0) <= GONE_AFTER_MS
        if fresh and feed.get("state") != STOPPED:
            return True
    return False


def _error(code: int, error: str, detail: str, field: str = "") -> JSONResponse:
    body = {"error": error, "detail": detail} | ({"field": field} if field else {})
    return JSONResponse(body, status_code=code, headers=NO_STORE)
