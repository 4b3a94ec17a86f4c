"""Meetings: announcing one, starting and ending it, and folding its events back into it.

Sans-I/O like every decision of the domain: commands and state in, events out, `now` passed in.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from moderation.commands import CreateMeeting, EndMeeting, StartMeeting
from moderation.errors import InvalidInput, InvalidTransition
from moderation.events import (
    BROADCAST_STATES,
    BroadcastChanged,
    Event,
    MeetingCreated,
    MeetingEnded,
    MeetingReceptionsSet,
    MeetingRescheduled,
    MeetingStarted,
)
from moderation.model import LANGUAGES, Meeting, MeetingFields, MeetingStatus, SlowMode
from moderation.text import clean_name

MAX_TITLE_CHARS = 200
MAX_LABEL_CHARS = 120
MAX_URL_CHARS = 2000
PLANNED_MINUTES = (10, 720)


def create_meeting(command: CreateMeeting, *, now: int) -> MeetingCreated:
    """Validate an announcement and record it."""
    titles = {
        lang: _label(f"title ({lang})", text, MAX_TITLE_CHARS, required=False)
        for lang, text in command.titles.items()
    }
    if unknown := sorted(set(titles) - set(LANGUAGES)):
        raise InvalidInput(f"titles are in {', '.join(LANGUAGES)}, not {', '.join(unknown)}")
    low, high = PLANNED_MINUTES
    if not low <= command.planned_minutes <= high:
        raise InvalidInput(f"planned minutes must be between {low} and {high}")
    try:
        SlowMode(seconds=command.slow_mode_seconds, burst=command.slow_mode_burst)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    cleaned = {
        "title": _label("title", command.title, MAX_TITLE_CHARS),
        "akim": _label("akim", command.akim, MAX_LABEL_CHARS),
        "territory": _label("territory", command.territory, MAX_LABEL_CHARS),
        "stream_url": _stream_url(command.stream_url),
        "titles": {lang: text for lang, text in titles.items() if text},
        "starts_at": _starts_at(command.starts_at),
    }
    return MeetingCreated(**(_announced(command) | cleaned), at=now)


def change_meeting(meeting: Meeting, command: StartMeeting | EndMeeting, *, now: int) -> Event:
    """Start a scheduled meeting or end a live one; any other move is refused."""
    if isinstance(command, StartMeeting):
        if meeting.status is not MeetingStatus.SCHEDULED:
            raise InvalidTransition(f"meeting {meeting.id} is {meeting.status}, not scheduled")
        return MeetingStarted(at=now)
    if meeting.status is not MeetingStatus.LIVE:
        raise InvalidTransition(f"meeting {meeting.id} is {meeting.status}, not live")
    return MeetingEnded(at=now)


def reschedule(meeting: Meeting, starts_at: str, *, now: int) -> MeetingRescheduled:
    """Move a scheduled meeting (its calendar entry moved, R1); one on air or over stays."""
    if meeting.status is not MeetingStatus.SCHEDULED:
        raise InvalidTransition(f"meeting {meeting.id} is {meeting.status}, not scheduled")
    start = _starts_at(starts_at)
    if not start:
        raise InvalidInput("starts_at is required")
    return MeetingRescheduled(at=now, starts_at=start)


def change_broadcast(
    meeting: Meeting, state: str, part: int, *, at: int
) -> BroadcastChanged | None:
    """The record of the studio's broadcast moving to `state` in its `part` (issue 16), or None
    when there is nothing to record: a meeting that is not live any more gets `ended` only (a
    studio's late `live` or `reconnecting` would tell viewers of a broadcast that is over).
    Idempotency per (part, state) is the store's guard (`server.usecases.broadcast`)."""
    if state not in BROADCAST_STATES:
        raise InvalidInput(f"state must be one of {', '.join(BROADCAST_STATES)}, not {state!r}")
    if part < 1:
        raise InvalidInput("part must be at least 1")
    if state != "ended" and meeting.status is not MeetingStatus.LIVE:
        return None
    return BroadcastChanged(at=at, state=state, part=part)


def apply(meeting: Meeting | None, event: Event, *, meeting_id: str) -> Meeting | None:
    """The meeting after `event`; replaying a stream from the start rebuilds it."""
    if isinstance(event, MeetingCreated):
        return Meeting(**_announced(event), id=meeting_id, created_at=event.at)
    if meeting is None:
        return None
    if isinstance(event, MeetingStarted):
        return replace(meeting, status=MeetingStatus.LIVE, started_at=event.at)
    if isinstance(event, MeetingEnded):
        return replace(meeting, status=MeetingStatus.ENDED, ended_at=event.at)
    if isinstance(event, MeetingReceptionsSet):
        return replace(meeting, receptions_until=event.until)
    if isinstance(event, MeetingRescheduled):
        return replace(meeting, starts_at=event.starts_at)
    if isinstance(event, BroadcastChanged):
        return replace(meeting, broadcast=event.state)
    return meeting


def _announced(source: MeetingFields) -> dict[str, Any]:
    """The announcement's fields of a command or an event, to build the next record from."""
    return {f.name: getattr(source, f.name) for f in fields(MeetingFields)}


def _label(what: str, value: str, limit: int, *, required: bool = True) -> str:
    text = clean_name(value)
    if required and not text:
        raise InvalidInput(f"{what} is required")
    if len(text) > limit:
        raise InvalidInput(f"{what} is over {limit} characters")
    return text


def _stream_url(value: str) -> str:
    url = value.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    if len(url) > MAX_URL_CHARS or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the stream URL must be an http(s) address")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InvalidInput("the stream URL must not contain spaces or control characters")
    return url


def _starts_at(value: str) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput("starts_at must be an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise InvalidInput("starts_at needs a UTC offset, such as +05:00 for Almaty")
    return moment.isoformat()
