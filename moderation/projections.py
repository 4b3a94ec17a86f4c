"""Audiences are projections: what each one may see of the record, one function per audience."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from moderation.events import (
    CommentHeld,
    CommentHidden,
    CommentPosted,
    CommentReleased,
    Event,
    MeetingEnded,
    MeetingStarted,
    QuestionAnswered,
    QuestionApproved,
    QuestionDeferred,
    QuestionMerged,
    QuestionOnAir,
    QuestionQueued,
    QuestionTagged,
    QuestionVoted,
)
from moderation.filters import mask_contacts
from moderation.model import Meeting
from moderation.questions import Item

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
    return _question_for_viewer(event_id, event) or _moderation_for_viewer(event_id, event)


def _moderation_for_viewer(event_id: str, event: Event) -> PublicEvent | None:
    """A hidden comment leaves the chat with its public reason; a released one joins it."""
    if isinstance(event, CommentHidden):
        return {
            "id": event_id,
            "kind": event.kind,
            "at": event.at,
            "comment": event.item,
            "reason": event.reason.value,
        }
    if isinstance(event, CommentReleased):
        return {
            "id": event_id,
            "kind": event.kind,
            "at": event.at,
            "comment": event.item,
            "posted_at": event.posted_at,
            "channel": event.channel.value,
            "name": event.name,
            "text": event.text,
        }
    return None


_STATUS = {
    QuestionQueued: "queued",
    QuestionOnAir: "on_air",
    QuestionAnswered: "answered",
    QuestionDeferred: "deferred",
}


def _question_for_viewer(event_id: str, event: Event) -> PublicEvent | None:
    """Public questions: approved ones appear; later events change their status or votes.

    Viewers learn nothing of questions that are new, rejected or merged away, except that a
    merge adds votes to a public question.
    """
    base: PublicEvent = {"id": event_id, "kind": event.kind}
    if isinstance(event, QuestionApproved):
        return base | {
            "question": event.item,
            "at": event.asked_at,
            "channel": event.channel.value,
            "name": event.name,
            "text": event.text,
            "topic": event.topic,
            "district": event.district,
            "votes": event.votes,
            "status": "approved",
        }
    if isinstance(event, QuestionQueued | QuestionOnAir | QuestionAnswered | QuestionDeferred):
        return base | {"question": event.item, "status": _STATUS[type(event)]}
    if isinstance(event, QuestionVoted):
        return base | {"question": event.question, "votes": event.votes}
    if isinstance(event, QuestionMerged):
        # The merged question leaves the list (if it was on it); its votes join the target.
        return base | {"question": event.into, "votes": event.votes, "merged": event.item}
    if isinstance(event, QuestionTagged):
        return base | {"question": event.item, "topic": event.topic, "district": event.district}
    return None


def public_question(item: Item) -> dict[str, str | int] | None:
    """A question as the public list shows it (votes are counted apart), or None if hidden."""
    if not item.public:
        return None
    return {
        "id": item.id,
        "at": item.at,
        "channel": item.channel.value,
        "name": item.name,
        "text": item.text,
        "topic": item.topic,
        "district": item.district,
        "status": item.status.value,
    }


def for_staff(item: Item, *, contacts: bool) -> dict[str, object]:
    """An item as a console shows it; phone numbers and e-mails masked unless `contacts`."""
    text = item.text if contacts else mask_contacts(item.text)
    name = item.name if contacts else mask_contacts(item.name)
    return {
        "id": item.id,
        "kind": item.kind.value,
        "status": item.status.value,
        "version": item.version,
        "at": item.at,
        "channel": item.channel.value,
        "name": name,
        "text": text,
        "held": item.held,
        "reason": item.reason,
        "topic": item.topic,
        "district": item.district,
        "suggested_topic": item.suggested_topic,
        "suggested_district": item.suggested_district,
        "similar": list(item.similar),
        "merged_into": item.merged_into,
        "source": item.source,
        "promoted": item.promoted,
        "askers": len(item.askers),
        "votes": item.votes,
        "by": item.by,
        "changed_at": item.changed_at,
    }


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
