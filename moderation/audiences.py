"""Audiences are projections: what each one may see of the record, one pure function each.

Every function takes an `Update` (one event, folded into the board, with the items it changed)
and returns what that audience receives of it, or None when it sees nothing. A viewer never
receives a held comment's text, a phone number, an e-mail, an IIN or anyone's pseudonym (texts
and names pass `mask_contacts`, issue 10.8); staff without the right to see contacts get them
masked too; the public report gets counts only.
The hub registers each function once (`server/fanout/audiences.py`).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable

from moderation.board import Update
from moderation.clock import reading_of
from moderation.events import (
    BroadcastChanged,
    ClockOverrun,
    ClockWarned,
    CommentHeld,
    CommentHidden,
    CommentPosted,
    CommentReleased,
    Event,
    MeetingEnded,
    MeetingStarted,
    PhaseChanged,
    QuestionAnswered,
    QuestionApproved,
    QuestionDeferred,
    QuestionMerged,
    QuestionOffAir,
    QuestionOnAir,
    QuestionPromoted,
    QuestionQueued,
    QuestionTagged,
    QuestionVoted,
    RundownMoved,
)
from moderation.filters import mask_contacts
from moderation.lifecycle import allowed_actions, is_merge_target
from moderation.model import Item, ItemKind, ItemStatus, Meeting, public_fields

PublicEvent = dict[str, object]
StaffEvent = dict[str, object]


# Viewers


def viewer(update: Update) -> PublicEvent | None:
    """What a viewer receives of an event, or None when viewers see nothing of it.

    A viewer never receives a held comment's text or author, nor anyone's viewer pseudonym or
    message id: only that a comment was held and why, so the public count can move (R3). A
    shown comment passed the first filter, which holds phones and e-mails; its text and name
    are masked all the same, as everything viewers get (issue 10.8).
    """
    event_id, event = update.id, update.event
    if isinstance(event, CommentPosted):
        return {
            "id": event_id,
            "kind": event.kind,
            "at": event.at,
            "channel": event.channel.value,
            "name": mask_contacts(event.name),
            "text": mask_contacts(event.text),
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
    return (
        broadcast_event(event_id, event)
        or _question_for_viewer(event_id, event)
        or _moderation_for_viewer(event_id, event)
        or clock_event(event_id, event)
    )


def for_viewer(event_id: str, event: Event) -> PublicEvent | None:
    """`viewer` of an event on its own (viewers need nothing of the board)."""
    return viewer(Update(event_id, event))


def viewer_history(entries: Iterable[tuple[str, Event]], hidden: set[str]) -> list[PublicEvent]:
    """The history a viewer catches up with: a comment hidden since is left out (its later
    `comment.hidden` event still says that one was hidden, and why)."""
    return [
        shown
        for event_id, event in entries
        if not (event_id in hidden and isinstance(event, CommentPosted))
        and (shown := for_viewer(event_id, event)) is not None
    ]


def _moderation_for_viewer(event_id: str, event: Event) -> PublicEvent | None:
    """A hidden comment leaves the chat with its public reason; a released one joins it (a
    moderator may release a comment held for a phone number: the number stays masked)."""
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
            "name": mask_contacts(event.name),
            "text": mask_contacts(event.text),
        }
    return None


def clock_event(event_id: str, event: Event) -> PublicEvent | None:
    """The clock's events (R4) as every screen gets them, viewers and consoles alike: a phase
    change with the clock as of its moment (the `GET /api/meetings/{id}/clock` shape, so a
    screen shows the countdown from it), a warning, an overrun; None for any other event."""
    if not isinstance(event, PhaseChanged | ClockWarned | ClockOverrun):
        return None
    base: PublicEvent = {"id": event_id, "kind": event.kind, "at": event.at}
    if isinstance(event, PhaseChanged):
        return base | {"phase": event.phase.value, "clock": reading_of(event).public()}
    if isinstance(event, ClockWarned):
        return base | {
            "percent": event.percent,
            "used_s": event.used_ms / 1000,
            "budget_s": event.budget_ms / 1000,
        }
    return base | {"overrun_s": event.overrun_ms / 1000}


def broadcast_event(event_id: str, event: Event) -> PublicEvent | None:
    """The broadcast's state (issue 16) as viewers and staff get it: the player's badge and the
    producer's panel follow it; None for any other event (overlays need nothing of it)."""
    if not isinstance(event, BroadcastChanged):
        return None
    return {
        "id": event_id,
        "kind": event.kind,
        "at": event.at,
        "state": event.state,
        "part": event.part,
    }


_STATUS = {
    QuestionQueued: "queued",
    QuestionOnAir: "on_air",
    QuestionOffAir: "queued",  # off the air unanswered: waiting again (`moderation.rundown`)
    QuestionAnswered: "answered",
    QuestionDeferred: "deferred",
}


def _question_for_viewer(event_id: str, event: Event) -> PublicEvent | None:
    """Public questions: approved ones appear; later events change their status or votes.

    Viewers learn nothing of questions that are new, rejected or merged away, except that a
    merge adds votes to a public question. A web question is recorded as typed: its text and
    name reach viewers with contacts masked (issue 10.8).
    """
    base: PublicEvent = {"id": event_id, "kind": event.kind}
    if isinstance(event, QuestionApproved):
        return base | {
            "question": event.item,
            "at": event.asked_at,
            "channel": event.channel.value,
            "name": mask_contacts(event.name),
            "text": mask_contacts(event.text),
            "topic": event.topic,
            "district": event.district,
            "votes": event.votes,
            "status": "approved",
        }
    if isinstance(
        event, QuestionQueued | QuestionOnAir | QuestionOffAir | QuestionAnswered | QuestionDeferred
    ):
        return base | {"question": event.item, "status": _STATUS[type(event)]}
    if isinstance(event, QuestionVoted):
        return base | {"question": event.question, "votes": event.votes}
    if isinstance(event, QuestionMerged):
        # The merged question leaves the list (if it was on it); its votes join the target.
        return base | {"question": event.into, "votes": event.votes, "merged": event.item}
    if isinstance(event, QuestionTagged):
        return base | {"question": event.item, "topic": event.topic, "district": event.district}
    return None


def public_question(item: Item) -> PublicEvent | None:
    """A question as the public list shows it (votes are counted apart), or None if hidden;
    contacts masked in its text and name (issue 10.8)."""
    if not item.public:
        return None
    return {
        "id": item.id,
        "at": item.at,
        "channel": item.channel.value,
        "name": mask_contacts(item.name),
        "text": mask_contacts(item.text),
        "topic": item.topic,
        "district": item.district,
        "status": item.status.value,
    }


# The sender (issue 10.7): what became of what they sent


def sent_item(item: Item) -> PublicEvent:
    """One of a viewer's own comments or questions as their "my questions" view shows it: its
    fate (a question's status, `sent` while no moderator has decided; a comment's `shown`,
    `held` or `hidden`) and the public reason of a hold, a hide or a rejection (R3). Contacts
    are masked in its text, as in everything viewers get (issue 10.8)."""
    return {
        "id": item.id,
        "kind": item.kind.value,
        "text": mask_contacts(item.text),
        "at": item.at,
        "status": "sent" if item.status is ItemStatus.NEW else item.status.value,
        "reason": _public_reason(item),
    }


def _public_reason(item: Item) -> str:
    """Why it was held (the first filter's reason), hidden or rejected (the moderator's)."""
    if item.status is ItemStatus.HELD:
        return item.held
    if item.status in (ItemStatus.HIDDEN, ItemStatus.REJECTED):
        return item.reason
    return ""


# The studio (issue 9): overlays and data feeds


def studio_question(item: Item) -> PublicEvent:
    """A question as the studio's graphics show it: never a phone number, an e-mail or an IIN,
    in its text or its name (issue 9.5; `mask_contacts`); its id, to follow it, and nothing
    else internal. A name left blank stays blank: the screen says "resident of <district>"."""
    return {
        "question": item.id,
        "status": item.status.value,
        "text": mask_contacts(item.text),
        "name": mask_contacts(item.name),
        "district": item.district,
        "channel": item.channel.value,
        "votes": item.votes,
        "at": item.at,
    }


def overlay(update: Update) -> PublicEvent | None:
    """What the overlays (lower third, clock, ticker) receive of an event (issue 9.3).

    The clock's events (R4), the meeting's start and end, the producer's order of the rundown
    (`order`: question ids, top first), and the public questions an event changed, as
    `studio_question`s. A question that leaves the public list (merged away) is named with
    the status `gone` only; a question not yet public is never sent (moderators see it first).
    """
    event = update.event
    if (clock := clock_event(update.id, event)) is not None:
        return clock
    if isinstance(event, MeetingStarted | MeetingEnded):
        return {"id": update.id, "kind": event.kind, "at": event.at}
    if isinstance(event, RundownMoved):
        return {"id": update.id, "kind": event.kind, "order": list(event.order)}
    questions = [
        studio_question(after) if after.public else {"question": after.id, "status": "gone"}
        for before, after in zip(update.before, update.items, strict=True)
        if after.public or (before is not None and before.public)
    ]
    if not questions:
        return None
    return {"id": update.id, "kind": event.kind, "questions": questions}


def held_counts(events: Iterable[Event]) -> dict[str, int]:
    """The public count of held comments by reason, computed from the record."""
    return dict(Counter(e.reason.value for e in events if isinstance(e, CommentHeld)))


def meeting_for_viewer(meeting: Meeting) -> dict[str, object]:
    """The meeting as the public sees it: every field not marked staff-only."""
    return {name: _plain(getattr(meeting, name)) for name in public_fields(Meeting)}


def _plain(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    return dict(value) if isinstance(value, dict) else value


# Staff


def staff_with_contacts(update: Update) -> StaffEvent | None:
    """What a console of a role that may see contacts receives: the event and its items."""
    return _for_staff(update, contacts=True)


def staff_without_contacts(update: Update) -> StaffEvent | None:
    """The same, with phone numbers and e-mails masked in every text and name."""
    return _for_staff(update, contacts=False)


def _for_staff(update: Update, *, contacts: bool) -> StaffEvent | None:
    if (clock := clock_event(update.id, update.event)) is not None:
        by = {"by": update.event.by} if isinstance(update.event, PhaseChanged) else {}
        return clock | by | {"items": []}
    if isinstance(update.event, RundownMoved):
        return {"id": update.id, "kind": update.event.kind, **_moved(update.event), "items": []}
    if (broadcast := broadcast_event(update.id, update.event)) is not None:
        return broadcast | {"items": []}  # as every staff event: the items it changed (none)
    if not update.items:
        return None
    items = [for_staff(item, contacts=contacts) for item in update.items]
    return {"id": update.id, "kind": update.event.kind, "items": items}


def _moved(event: RundownMoved) -> dict[str, object]:
    """A producer's move as consoles get it: who, which question, where, the order after."""
    return {
        "at": event.at,
        "by": event.by,
        "question": event.question,
        "position": event.position,
        "order": list(event.order),
    }


def for_staff(item: Item, *, contacts: bool) -> dict[str, object]:
    """An item as a console shows it; phone numbers and e-mails masked unless `contacts`.

    `actions` are what the lifecycle allows on it now, and `merge_target` whether others may
    be merged into it: the console offers exactly these.
    """
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
        # Issue 11: a comment that reads as a question to the akim (to promote), and a YouTube
        # super chat's amount and currency.
        "asks": item.asks,
        "amount": item.amount,
        "currency": item.currency,
        "actions": [action.value for action in allowed_actions(item)],
        "merge_target": is_merge_target(item),
    }


# The public report (PRIV-4): counts only, reconciled with the record


COMMENT_STATES = (ItemStatus.SHOWN, ItemStatus.HELD, ItemStatus.HIDDEN)
QUESTION_STATES = (
    ItemStatus.NEW,
    ItemStatus.APPROVED,
    ItemStatus.QUEUED,
    ItemStatus.ON_AIR,
    ItemStatus.ANSWERED,
    ItemStatus.DEFERRED,
    ItemStatus.REJECTED,
    ItemStatus.MERGED,
)


def public_report(update: Update) -> PublicEvent | None:
    """How an event moves the public report's counts: `{"count.path": change, ...}`.

    Counts are of each item's state after the last event (a comment hidden and then released
    counts as shown); what the first filter held on arrival and what moderators promoted are
    counted apart. The report is the sum of these changes (`moderation.transparency`).
    """
    change: Counter[str] = Counter()
    for before, after in zip(update.before, update.items, strict=True):
        change.update(_counts(after))
        if before is not None:
            change.subtract(_counts(before))
    event = update.event
    if isinstance(event, CommentHeld):
        change[f"comments.held_by_filter.{event.reason.value}"] += 1
    elif isinstance(event, QuestionPromoted):
        change["comments.promoted"] += 1
    moved: PublicEvent = {key: n for key, n in sorted(change.items()) if n}
    return {"id": update.id, "kind": event.kind, **moved} if moved else None


def _counts(item: Item) -> Counter[str]:
    """What one item adds to the report, as it is now."""
    if item.kind is ItemKind.COMMENT:
        found = Counter(
            {
                "comments.received": 1,
                f"comments.{item.status.value}": 1,
                f"comments.by_channel.{item.channel.value}": 1,
            }
        )
        if item.status is ItemStatus.HIDDEN:
            found[f"comments.hidden_by_reason.{item.reason}"] += 1
        return found
    found = Counter(
        {
            "questions.received": 1,
            f"questions.{item.status.value}": 1,
            f"questions.by_channel.{item.channel.value}": 1,
        }
    )
    if item.status is ItemStatus.REJECTED:
        found[f"questions.rejected_by_reason.{item.reason}"] += 1
    if item.public:
        found["questions.public"] += 1
        found["questions.votes"] += item.votes
    return found
