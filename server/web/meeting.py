"""`GET /m/{meeting_id}`: the viewer page, with the player, the live chat and the comment box."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from moderation import Meeting, MeetingStatus, Summary
from moderation.audiences import meeting_for_viewer
from moderation.tagging import districts_of
from moderation.text import MAX_COMMENT_CHARS
from server.services import VIEWER_COOKIE, Services
from server.usecases import clock, is_meeting_id
from server.web.i18n import js_strings
from server.web.player import player_for
from server.web.requests import collection_context
from server.web.templating import YEAR, error_page, page_context, remember_language


async def meeting_page(request: Request) -> Response:
    """`GET /m/{meeting_id}`: the player, the live chat and the comment box (R3)."""
    services: Services = request.app.state.services
    meeting_id = request.path_params["meeting_id"]
    meeting = await services.store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    context = page_context(request)
    lang = str(context["lang"])
    if meeting is None:
        return error_page(request, 404, "not_found")
    config = {
        "meeting": meeting_for_viewer(meeting),
        "socket": f"/ws/meetings/{meeting.id}",
        "lang": lang,
        "maxChars": MAX_COMMENT_CHARS,
        "strings": js_strings(lang),
        "districts": list(districts_of(meeting.territory)),
    }
    context |= {
        "meeting": meeting,
        "title": meeting.title_in(lang),
        "player": player_for(meeting.stream_url),
        "config": config,
        "max_chars": MAX_COMMENT_CHARS,
        "compliance": await _compliance(services, meeting),
        "duration": duration,
        "percent": percent,
    }
    if meeting.status is MeetingStatus.SCHEDULED:  # R5: the request form and what was collected
        context |= await collection_context(request, meeting) | {"values": {}, "error": ""}
        context["sent"] = ""
    response = request.app.state.templates.TemplateResponse(request, "meeting.html", context)
    if not request.cookies.get(VIEWER_COOKIE):
        await _give_cookie(request, response, services)
    return remember_language(request, response, lang)


async def _compliance(services: Services, meeting: Meeting) -> Summary | None:
    """How the meeting's time was used (R4), once it ended."""
    if meeting.status is not MeetingStatus.ENDED:
        return None
    return await clock.compliance(services.usecases, meeting.id)


def duration(ms: int) -> str:
    """A length as the page shows it, `1:05:09` (hours, minutes, seconds), in any language."""
    minutes, seconds = divmod(ms // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def percent(summary: Summary, part_ms: int) -> str:
    """A part's share of the actual length, in whole percent."""
    return f"{round(summary.share(part_ms) * 100)}%"


async def _give_cookie(request: Request, response: Response, services: Services) -> None:
    """A new viewer identity, unless this address had its share this minute (slow mode holds:
    the page is served all the same, and its viewer is known by its address)."""
    cookie = await services.new_viewer_cookie(request.client.host if request.client else "")
    if cookie is not None:
        response.set_cookie(
            VIEWER_COOKIE,
            cookie,
            max_age=YEAR,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
