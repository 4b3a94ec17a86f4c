"""Decisions: commands and the current state in, events out (Sans-I/O; `now` is passed in)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from moderation.commands import CreateMeeting, EndMeeting, PostComment, StartMeeting
from moderation.errors import CommentRejected, InvalidInput, InvalidTransition
from moderation.events import (
    CommentHeld,
    CommentPosted,
    Event,
    MeetingCreated,
    MeetingEnded,
    MeetingStarted,
)
from moderation.filters import first_filter
from moderation.model import Meeting, MeetingStatus, RejectReason, SlowMode
from moderation.text import MAX_COMMENT_CHARS, MAX_NAME_CHARS, clean_name, clean_text

LANGUAGES = ("kk", "ru", "en")
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
    return MeetingCreated(
        at=now,
        title=_label("title", command.title, MAX_TITLE_CHARS),
        akim=_label("akim", command.akim, MAX_LABEL_CHARS),
        level=command.level,
        territory=_label("territory", command.territory, MAX_LABEL_CHARS),
        planned_minutes=command.planned_minutes,
        stream_url=_stream_url(command.stream_url),
        titles={lang: text for lang, text in titles.items() if text},
        starts_at=_starts_at(command.starts_at),
        slow_mode_seconds=command.slow_mode_seconds,
        slow_mode_burst=command.slow_mode_burst,
    )


def change_meeting(meeting: Meeting, command: StartMeeting | EndMeeting, *, now: int) -> Event:
    """Start a scheduled meeting or end a live one; any other move is refused."""
    if isinstance(command, StartMeeting):
        if meeting.status is not MeetingStatus.SCHEDULED:
            raise InvalidTransition(f"meeting {meeting.id} is {meeting.status}, not scheduled")
        return MeetingStarted(at=now)
    if meeting.status is not MeetingStatus.LIVE:
        raise InvalidTransition(f"meeting {meeting.id} is {meeting.status}, not live")
    return MeetingEnded(at=now)


def post_comment(
    meeting: Meeting, command: PostComment, *, viewer: str, now: int
) -> CommentPosted | CommentHeld:
    """Accept a comment into the record, holding it when the first filter objects.

    R3: commenting is mandatory while the meeting is live, so the filter *holds* a comment
    with a public reason instead of dropping it.
    """
    text, name = accepted_text(meeting, command.text, command.name)
    reason = first_filter(text)
    if reason is None:
        return CommentPosted(
            at=now,
            channel=command.channel,
            client_msg_id=command.client_msg_id,
            viewer=viewer,
            name=name,
            text=text,
        )
    return CommentHeld(
        at=now,
        channel=command.channel,
        client_msg_id=command.client_msg_id,
        viewer=viewer,
        name=name,
        text=text,
        reason=reason,
    )


def accepted_text(
    meeting: Meeting, text: str, name: str, *, what: str = "comment"
) -> tuple[str, str]:
    """A submission's cleaned text and name, if the meeting is live and they are within limits.

    Comments and questions both come through here; refusals carry the reason the sender sees.
    """
    if not meeting.is_live:
        raise CommentRejected(RejectReason.MEETING_CLOSED, f"the meeting is {meeting.status}")
    text = clean_text(text)
    if len(text) > MAX_COMMENT_CHARS:
        raise CommentRejected(
            RejectReason.TOO_LONG, f"{len(text)} characters, at most {MAX_COMMENT_CHARS}"
        )
    if not text:
        raise CommentRejected(RejectReason.INVALID, f"the {what} is empty")
    name = clean_name(name)
    if len(name) > MAX_NAME_CHARS:
        raise CommentRejected(RejectReason.INVALID, f"the name is over {MAX_NAME_CHARS} characters")
    return text, name


def apply(meeting: Meeting | None, event: Event, *, meeting_id: str) -> Meeting | None:
    """The meeting after `event`; replaying a stream from the start rebuilds it."""
    if isinstance(event, MeetingCreated):
        return Meeting(
            id=meeting_id,
            title=event.title,
            akim=event.akim,
            level=event.level,
            territory=event.territory,
            planned_minutes=event.planned_minutes,
            stream_url=event.stream_url,
            titles=dict(event.titles),
            starts_at=event.starts_at,
            created_at=event.at,
            slow_mode=SlowMode(seconds=event.slow_mode_seconds, burst=event.slow_mode_burst),
        )
    if meeting is None:
        return None
    if isinstance(event, MeetingStarted):
        return replace(meeting, status=MeetingStatus.LIVE, started_at=event.at)
    if isinstance(event, MeetingEnded):
        return replace(meeting, status=MeetingStatus.ENDED, ended_at=event.at)
    return meeting


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
