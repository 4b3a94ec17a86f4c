"""Audiences are projections: what each one may see of the record, one function per audience."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from moderation.events import CommentHeld, CommentPosted, Event, MeetingEnded, MeetingStarted
from moderation.model import Meeting

PublicEvent = dict[str, str | int]


def for_viewer(event_id: str, event: Event) -> PublicEvent | None:
    """What a viewer receives of an event, or None when viewers see nothing of it.

    A viewer never receives a held comment's text or author, nor anyone's viewer pseudonym or
    message id: only that a comment was held and why, so the public count can move (R3).
    """
    if isinstance(event, CommentPosted):
        return {
            "id": event_id,
            "kind": event.kind,
            "at": event.at,
            "channel": event.channel.value,
            "name": event.name,
            "text": event.text,
        }
    if isinstance(event, CommentHeld):
        return {
            "id": event_id,
            "kind": event.kind,
            "at": event.at,
            "channel": event.channel.value,
            "reason": event.reason.value,
        }
    if isinstance(event, MeetingStarted | MeetingEnded):
        return {"id": event_id, "kind": event.kind, "at": event.at}
    return None


def held_counts(events: Iterable[Event]) -> dict[str, int]:
    """The public count of held comments by reason, computed from the record."""
    return dict(Counter(e.reason.value for e in events if isinstance(e, CommentHeld)))


def meeting_for_viewer(meeting: Meeting) -> dict[str, object]:
    """The meeting as the public sees it."""
    return {
        "id": meeting.id,
        "title": meeting.title,
        "titles": dict(meeting.titles),
        "akim": meeting.akim,
        "level": meeting.level.value,
        "territory": meeting.territory,
        "planned_minutes": meeting.planned_minutes,
        "status": meeting.status.value,
        "starts_at": meeting.starts_at,
        "started_at": meeting.started_at,
        "ended_at": meeting.ended_at,
    }
