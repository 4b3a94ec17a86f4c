"""`GET /m/{meeting_id}`: the viewer page, with the player, the live chat and the comment box."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from babel.dates import format_date, format_time
from icalendar import Calendar, Event
from starlette.requests import Request
from starlette.responses import Response

from moderation import Meeting, MeetingStatus, Summary
from moderation.audiences import meeting_for_viewer
from moderation.tagging import districts_of
from moderation.text import MAX_COMMENT_CHARS
from recordings.ical import ALMATY, CONTENT_TYPE, PRODID
from server.services import VIEWER_COOKIE, Services
from server.usecases import clock, is_meeting_id
from server.web.i18n import js_strings
from server.web.places import district_in, territory_in
from server.web.player import Player, own_playlist, player_for
from server.web.requests import collection_context
from server.web.security import csp_for_stream
from server.web.templating import (
    YEAR,
    error_page,
    meeting_or_404,
    page_context,
    remember_language,
)


async def meeting_page(request: Request) -> Response:
    """`GET /m/{meeting_id}`: the player, the live chat and the comment box (R3)."""
    services: Services = request.app.state.services
    meeting_id = request.path_params["meeting_id"]
    meeting = await services.store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    context = page_context(request)
    lang = str(context["lang"])
    if meeting is None:
        return error_page(request, 404, "not_found")
    districts = districts_of(meeting.territory)
    config = {
        "meeting": meeting_for_viewer(meeting),
        "socket": f"/ws/meetings/{meeting.id}",
        "lang": lang,
        "maxChars": MAX_COMMENT_CHARS,
        "strings": js_strings(lang),
        "districts": list(districts),
    }
    # Issue 16: a meeting that names no stream plays our own broadcast when the ingest is on.
    ingest = services.settings.rtmp_port > 0
    player = player_for(meeting.stream_url, own=own_playlist(meeting.id) if ingest else "")
    context |= {
        "meeting": meeting,
        "title": meeting.title_in(lang),
        "territory": territory_in(meeting.territory, lang),
        # The districts to choose from: the value as the domain names it, the label translated.
        "district_choices": [(d, district_in(meeting.territory, d, lang)) for d in districts],
        "start": start_of(meeting, lang),
        "player": player,
        "hls": is_hls(player),
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
    if is_hls(player):  # hls.js fetches the playlist and its segments from the stream's origin
        response.headers["content-security-policy"] = csp_for_stream(player.src)
    if not request.cookies.get(VIEWER_COOKIE):
        await _give_cookie(request, response, services)
    return remember_language(request, response, lang)


def is_hls(player: Player) -> bool:
    """An HLS playlist: played natively where the browser can, else by hls.js (player.js)."""
    return player.kind == "video" and player.type == "application/vnd.apple.mpegurl"


def starts(meeting: Meeting) -> datetime | None:
    """When the meeting is announced to start, in Almaty time, or None when it was not said
    (`moderation.meetings` took `starts_at` only as ISO 8601 with its UTC offset)."""
    if not meeting.starts_at:
        return None
    return datetime.fromisoformat(meeting.starts_at).astimezone(ALMATY)


def start_of(meeting: Meeting, lang: str) -> dict[str, object] | None:
    """A scheduled meeting's start as its page shows it: the date and the time in `lang`, in
    Almaty time, and the moment (ms) the countdown counts to."""
    moment = starts(meeting) if meeting.status is MeetingStatus.SCHEDULED else None
    if moment is None:
        return None
    return {
        "date": format_date(moment, "full", locale=lang),
        "time": format_time(moment, "short", tzinfo=ALMATY, locale=lang),
        "ms": int(moment.timestamp() * 1000),
        "iso": moment.isoformat(),
    }


async def meeting_ics(request: Request) -> Response:
    """`GET /m/{meeting_id}/calendar.ics`: the one meeting as an iCalendar file, to add it to a
    calendar (404 for a meeting not known, or one whose start was not announced)."""
    found = await meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    moment = starts(found)
    if moment is None:
        return error_page(request, 404, "not_found")
    lang = str(page_context(request)["lang"])
    base = request.app.state.services.settings.public_url or str(request.base_url)
    body = meeting_calendar(found, moment, lang, f"{base.rstrip('/')}/m/{found.id}")
    disposition = f'attachment; filename="halyq-{found.id}.ics"'
    return Response(body, media_type=CONTENT_TYPE, headers={"content-disposition": disposition})


def meeting_calendar(meeting: Meeting, moment: datetime, lang: str, url: str) -> bytes:
    """A VCALENDAR of one VEVENT in Asia/Almaty time (TZID, with its VTIMEZONE)."""
    entry = Event()
    entry.add("uid", f"meeting-{meeting.id}@halyq")
    entry.add("dtstamp", datetime.fromtimestamp(meeting.created_at / 1000, UTC))
    entry.add("dtstart", moment)
    entry.add("dtend", moment + timedelta(minutes=meeting.planned_minutes))
    entry.add("summary", meeting.title_in(lang))
    entry.add("location", territory_in(meeting.territory, lang))
    entry.add("url", url)
    entry.add("description", url)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add_component(entry)
    calendar.add_missing_timezones()
    data: bytes = calendar.to_ical()
    return data


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
