"""Questions and the moderation of comments: the lifecycle table, the board, the decisions.

Every item on a meeting's board (a comment or a question) has a status and a version. A staff
action names the version it saw: a stale one is a `Conflict`, never a silent overwrite, and an
action the table does not allow is an `InvalidTransition`. Decisions return events; `Board.apply`
folds events into the board, so replaying the stream rebuilds it (R4: the meeting is questions).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypedDict

from moderation.commands import AskQuestion, Moderate
from moderation.decide import accepted_text
from moderation.errors import CommentRejected, Conflict, InvalidInput, InvalidTransition, NotFound
from moderation.events import (
    Change,
    CommentHeld,
    CommentHidden,
    CommentPosted,
    CommentReleased,
    Event,
    QuestionAnswered,
    QuestionApproved,
    QuestionAsked,
    QuestionDeferred,
    QuestionMerged,
    QuestionOnAir,
    QuestionPromoted,
    QuestionQueued,
    QuestionRejected,
    QuestionTagged,
    QuestionVoted,
)
from moderation.filters import first_filter
from moderation.model import Channel, Meeting, ModerationReason, RejectReason
from moderation.similarity import duplicates
from moderation.tagging import Topic, districts_of, suggest_district, suggest_topic
from moderation.text import clean_name


class ItemKind(enum.StrEnum):
    COMMENT = "comment"
    QUESTION = "question"


class ItemStatus(enum.StrEnum):
    # comments
    SHOWN = "shown"
    HELD = "held"
    HIDDEN = "hidden"
    # questions
    NEW = "new"
    APPROVED = "approved"
    REJECTED = "rejected"
    MERGED = "merged"
    QUEUED = "queued"
    ON_AIR = "on_air"
    ANSWERED = "answered"
    DEFERRED = "deferred"


class Action(enum.StrEnum):
    HIDE = "hide"
    RELEASE = "release"
    APPROVE = "approve"
    REJECT = "reject"
    MERGE = "merge"
    QUEUE = "queue"
    ON_AIR = "on_air"
    ANSWER = "answer"
    DEFER = "defer"
    TAG = "tag"
    PROMOTE = "promote"


C, Q, S = ItemKind.COMMENT, ItemKind.QUESTION, ItemStatus

# The lifecycle: (kind, status, action) -> status after. Anything else is refused.
TRANSITIONS: dict[tuple[ItemKind, ItemStatus, Action], ItemStatus] = {
    (C, S.SHOWN, Action.HIDE): S.HIDDEN,
    (C, S.HELD, Action.RELEASE): S.SHOWN,
    (C, S.HELD, Action.HIDE): S.HIDDEN,  # kept hidden, now with a moderator's reason
    (C, S.HIDDEN, Action.RELEASE): S.SHOWN,  # a mistake put right, or an appeal granted
    (Q, S.NEW, Action.APPROVE): S.APPROVED,
    (Q, S.NEW, Action.REJECT): S.REJECTED,
    (Q, S.NEW, Action.MERGE): S.MERGED,
    (Q, S.APPROVED, Action.QUEUE): S.QUEUED,
    # A duplicate noticed only after approval can still be merged: its votes join the target.
    (Q, S.APPROVED, Action.MERGE): S.MERGED,
    (Q, S.QUEUED, Action.ON_AIR): S.ON_AIR,
    (Q, S.ON_AIR, Action.ANSWER): S.ANSWERED,
    (Q, S.ON_AIR, Action.DEFER): S.DEFERRED,
}
# Actions that keep the status: tagging a question, promoting a comment (once).
TAGGABLE = frozenset(s for s in ItemStatus if s not in (S.MERGED, S.SHOWN, S.HELD, S.HIDDEN))
PROMOTABLE = frozenset({S.SHOWN, S.HELD, S.HIDDEN})
# A question others may be merged into, and one viewers see and vote for.
MERGE_TARGETS = frozenset({S.NEW, S.APPROVED, S.QUEUED, S.ON_AIR, S.ANSWERED, S.DEFERRED})
PUBLIC = frozenset({S.APPROVED, S.QUEUED, S.ON_AIR, S.ANSWERED, S.DEFERRED})
MAX_DISTRICT_CHARS = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """A comment or a question as moderators see it."""

    id: str
    kind: ItemKind
    status: ItemStatus
    version: int = 1
    at: int
    channel: Channel
    viewer: str
    name: str
    text: str
    held: str = ""  # the first filter's reason
    reason: str = ""  # the moderator's reason (hide, reject)
    topic: str = ""
    district: str = ""
    suggested_topic: str = ""
    suggested_district: str = ""
    similar: tuple[str, ...] = ()
    merged_into: str = ""
    source: str = ""  # the comment a promoted question came from
    promoted: bool = False
    askers: tuple[str, ...] = ()
    votes: int = 0
    by: str = ""
    changed_at: int = 0

    @property
    def public(self) -> bool:
        return self.kind is ItemKind.QUESTION and self.status in PUBLIC


class Board:
    """All items of a meeting and who voted for what, folded from the record."""

    __slots__ = ("items", "voters")

    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.voters: dict[str, set[str]] = {}

    def apply(self, event_id: str, event: Event) -> list[Item]:
        """Fold one event in; returns the items it changed (or created), as they are now."""
        changed = _apply(self, event_id, event)
        for item in changed:
            self.items[item.id] = item
        return changed

    def questions(self) -> list[Item]:
        return [i for i in self.items.values() if i.kind is ItemKind.QUESTION]


def comment_item(event_id: str, event: CommentPosted | CommentHeld) -> Item:
    held = event.reason.value if isinstance(event, CommentHeld) else ""
    return Item(
        id=event_id,
        kind=ItemKind.COMMENT,
        status=S.HELD if held else S.SHOWN,
        at=event.at,
        channel=event.channel,
        viewer=event.viewer,
        name=event.name,
        text=event.text,
        held=held,
        changed_at=event.at,
    )


def _apply(board: Board, event_id: str, event: Event) -> list[Item]:
    if isinstance(event, CommentPosted | CommentHeld):
        return [comment_item(event_id, event)]
    if isinstance(event, QuestionAsked):
        return [question_item(event_id, event)]
    if isinstance(event, QuestionVoted):
        return _voted(board, event)
    if isinstance(event, Change):
        return _changed(board, event_id, event)
    return []


def question_item(event_id: str, event: QuestionAsked) -> Item:
    """The new question an asking creates, under the id its event gets."""
    return _question(event_id, event, held=event.held, district=event.district)


def _question(
    event_id: str,
    event: QuestionAsked | QuestionPromoted,
    *,
    held: str,
    district: str = "",
    source: str = "",
    by: str = "",
) -> Item:
    return Item(
        id=event_id,
        kind=ItemKind.QUESTION,
        status=S.NEW,
        at=event.at,
        channel=event.channel,
        viewer=event.viewer,
        name=event.name,
        text=event.text,
        held=held,
        district=district,
        suggested_topic=event.suggested_topic,
        suggested_district=event.suggested_district,
        similar=tuple(event.similar),
        source=source,
        askers=(event.viewer,),
        by=by,
        changed_at=event.at,
    )


def _voted(board: Board, event: QuestionVoted) -> list[Item]:
    item = board.items.get(event.question)
    board.voters.setdefault(event.question, set()).add(event.viewer)
    if item is None:
        return []
    return [replace(item, votes=event.votes)]


def _changed(board: Board, event_id: str, event: Change) -> list[Item]:
    item = board.items.get(event.item)
    if item is None:
        return []
    after = replace(item, version=event.version, by=event.by, changed_at=event.at)
    if isinstance(event, QuestionPromoted):
        question = _question(event_id, event, held=item.held, source=item.id, by=event.by)
        return [replace(after, promoted=True), question]
    if isinstance(event, QuestionMerged):
        return _merged(board, after, event)
    if isinstance(event, CommentHidden | QuestionRejected):
        after = replace(after, reason=event.reason.value)
    elif isinstance(event, CommentReleased):
        after = replace(after, reason="")  # shown again: no reason to hide it stands
    elif isinstance(event, QuestionTagged):
        return [replace(after, topic=event.topic, district=event.district)]
    return [replace(after, status=STATUS_AFTER[type(event)])]


def _merged(board: Board, after: Item, event: QuestionMerged) -> list[Item]:
    source = replace(after, status=S.MERGED, merged_into=event.into)
    target = board.items.get(event.into)
    voters = board.voters.setdefault(event.into, set())
    voters |= board.voters.get(after.id, set())
    if target is None:
        return [source]
    askers = tuple(dict.fromkeys((*target.askers, *after.askers)))
    target = replace(
        target,
        version=event.into_version,
        askers=askers,
        votes=event.votes,
        by=event.by,
        changed_at=event.at,
    )
    return [source, target]


STATUS_AFTER: dict[type, ItemStatus] = {
    CommentHidden: S.HIDDEN,
    CommentReleased: S.SHOWN,
    QuestionApproved: S.APPROVED,
    QuestionRejected: S.REJECTED,
    QuestionQueued: S.QUEUED,
    QuestionOnAir: S.ON_AIR,
    QuestionAnswered: S.ANSWERED,
    QuestionDeferred: S.DEFERRED,
}
_SIMPLE: dict[
    Action, type[QuestionQueued | QuestionOnAir | QuestionAnswered | QuestionDeferred]
] = {
    Action.QUEUE: QuestionQueued,
    Action.ON_AIR: QuestionOnAir,
    Action.ANSWER: QuestionAnswered,
    Action.DEFER: QuestionDeferred,
}


# Decisions


def ask_question(
    meeting: Meeting,
    command: AskQuestion,
    *,
    viewer: str,
    now: int,
    earlier: Iterable[tuple[str, str]] = (),
) -> QuestionAsked:
    """Accept a viewer's question for moderation, with its duplicate, topic and district hints.

    `earlier` is the meeting's earlier questions as (id, text), for duplicate suggestions.
    """
    text, name = accepted_text(meeting, command.text, command.name, what="question")
    try:
        district = valid_district(meeting, command.district)
    except InvalidInput as error:
        raise CommentRejected(RejectReason.INVALID, error.detail) from None
    held = first_filter(text)
    return QuestionAsked(
        at=now,
        channel=command.channel,
        client_msg_id=command.client_msg_id,
        viewer=viewer,
        name=name,
        text=text,
        district=district,
        held=held.value if held else "",
        suggested_topic=suggest_topic(text).value,
        suggested_district=district or suggest_district(text, meeting.territory) or "",
        similar=tuple(i for i, _ in duplicates(text, earlier)),
    )


def valid_district(meeting: Meeting, value: str) -> str:
    """`value` as a district of the meeting's territory ("" for none)."""
    district = clean_name(value)
    if not district:
        return ""
    known = districts_of(meeting.territory)
    if known and district not in known:
        raise InvalidInput(f"{district!r} is not a district of {meeting.territory}")
    if len(district) > MAX_DISTRICT_CHARS:
        raise InvalidInput(f"a district name is at most {MAX_DISTRICT_CHARS} characters")
    return district


def moderate(board: Board, meeting: Meeting, command: Moderate, *, by: str, now: int) -> Change:
    """Decide a staff action on the board as it is now; raises on a stale or refused action."""
    item, action = _subject(board, command)
    if action is Action.TAG:
        return _tag(item, meeting, command, by=by, now=now)
    if action is Action.PROMOTE:
        return _promote(board, item, meeting, by=by, now=now)
    if (item.kind, item.status, action) not in TRANSITIONS:
        raise InvalidTransition(f"cannot {action} a {item.kind} that is {item.status}")
    if action is Action.MERGE:
        return _merge(board, item, command.into, by=by, now=now)
    change = _ChangeFields(at=now, by=by, item=item.id, version=item.version + 1)
    if action is Action.HIDE:
        return CommentHidden(**change, reason=_reason(command.reason))
    if action is Action.REJECT:
        return QuestionRejected(**change, reason=_reason(command.reason))
    as_written = _Written(channel=item.channel, name=item.name, text=item.text)
    if action is Action.RELEASE:
        return CommentReleased(**change, **as_written, posted_at=item.at)
    if action is Action.APPROVE:
        return QuestionApproved(
            **change,
            **as_written,
            asked_at=item.at,
            topic=item.topic,
            district=item.district,
            votes=item.votes,
        )
    return _SIMPLE[action](**change)


class _ChangeFields(TypedDict):
    at: int
    by: str
    item: str
    version: int


class _Written(TypedDict):
    channel: Channel
    name: str
    text: str


def _subject(board: Board, command: Moderate) -> tuple[Item, Action]:
    """The item as it is now and the action, if the command was formed on this version."""
    item = board.items.get(command.item)
    if item is None:
        raise NotFound(f"no item {command.item}")
    try:
        action = Action(command.action)
    except ValueError:
        raise InvalidInput(f"unknown action {command.action[:40]!r}") from None
    if command.version != item.version:
        raise Conflict(
            f"{item.kind} {item.id} changed: it is at version {item.version}, the action was"
            f" formed at version {command.version}"
        )
    return item, action


def _reason(value: str) -> ModerationReason:
    try:
        return ModerationReason(value)
    except ValueError:
        codes = ", ".join(r.value for r in ModerationReason)
        raise InvalidInput(f"a reason is required, one of: {codes}") from None


def _tag(item: Item, meeting: Meeting, command: Moderate, *, by: str, now: int) -> QuestionTagged:
    if item.kind is not ItemKind.QUESTION or item.status not in TAGGABLE:
        raise InvalidTransition(f"cannot tag a {item.kind} that is {item.status}")
    try:
        topic = Topic(command.topic) if command.topic else None
    except ValueError:
        raise InvalidInput(f"unknown topic {command.topic[:40]!r}") from None
    return QuestionTagged(
        at=now,
        by=by,
        item=item.id,
        version=item.version + 1,
        topic=topic.value if topic else "",
        district=valid_district(meeting, command.district),
    )


def _promote(board: Board, item: Item, meeting: Meeting, *, by: str, now: int) -> QuestionPromoted:
    if item.kind is not ItemKind.COMMENT or item.status not in PROMOTABLE or item.promoted:
        state = "already promoted" if item.promoted else str(item.status)
        raise InvalidTransition(f"cannot promote a {item.kind} that is {state}")
    earlier = [(q.id, q.text) for q in board.questions() if q.status is not S.MERGED]
    return QuestionPromoted(
        at=now,
        by=by,
        item=item.id,
        version=item.version + 1,
        channel=item.channel,
        viewer=item.viewer,
        name=item.name,
        text=item.text,
        suggested_topic=suggest_topic(item.text).value,
        suggested_district=suggest_district(item.text, meeting.territory) or "",
        similar=tuple(i for i, _ in duplicates(item.text, earlier)),
    )


def _merge(board: Board, item: Item, into: str, *, by: str, now: int) -> QuestionMerged:
    target = board.items.get(into)
    if target is None or target.kind is not ItemKind.QUESTION:
        raise NotFound(f"no question {into[:40]} to merge into")
    if target.id == item.id:
        raise InvalidInput("a question cannot be merged into itself")
    if target.status not in MERGE_TARGETS:
        raise InvalidTransition(f"cannot merge into a question that is {target.status}")
    voters = board.voters.get(target.id, set()) | board.voters.get(item.id, set())
    return QuestionMerged(
        at=now,
        by=by,
        item=item.id,
        version=item.version + 1,
        into=target.id,
        into_version=target.version + 1,
        votes=len(voters),
    )


def vote(board: Board, meeting: Meeting, question: str, *, viewer: str, now: int) -> QuestionVoted:
    """A viewer's up-vote of a public question; one per viewer (a repeat is refused)."""
    item = board.items.get(question)
    if item is None or not item.public:
        raise NotFound(f"no public question {question[:40]}")
    if not meeting.is_live:
        raise InvalidTransition(f"the meeting is {meeting.status}")
    voters = board.voters.get(question, set())
    if viewer in voters:
        raise Conflict("one vote per viewer")
    return QuestionVoted(at=now, question=question, viewer=viewer, votes=len(voters) + 1)
