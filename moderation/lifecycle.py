"""The lifecycle of comments and questions: the table, what it allows, and staff decisions.

Every item (a comment or a question) has a status and a version. A staff action names the
version it saw: a stale one is a `Conflict`, never a silent overwrite, and an action the table
does not allow is an `InvalidTransition`. Decisions return events; `moderation.board` folds them
(R4: the meeting is questions).
"""

from __future__ import annotations

from typing import TypedDict

from moderation.board import Board
from moderation.commands import Moderate
from moderation.duplicates import QuestionIndex
from moderation.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from moderation.events import (
    Change,
    CommentHidden,
    CommentReleased,
    QuestionAnswered,
    QuestionApproved,
    QuestionDeferred,
    QuestionMerged,
    QuestionOnAir,
    QuestionPromoted,
    QuestionQueued,
    QuestionRejected,
    QuestionTagged,
    QuestionVoted,
)
from moderation.model import Action, Channel, Item, ItemKind, ItemStatus, Meeting, ModerationReason
from moderation.submissions import suggestions, valid_district
from moderation.tagging import Topic

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
# A question others may be merged into.
MERGE_TARGETS = frozenset({S.NEW, S.APPROVED, S.QUEUED, S.ON_AIR, S.ANSWERED, S.DEFERRED})

_SIMPLE: dict[
    Action, type[QuestionQueued | QuestionOnAir | QuestionAnswered | QuestionDeferred]
] = {
    Action.QUEUE: QuestionQueued,
    Action.ON_AIR: QuestionOnAir,
    Action.ANSWER: QuestionAnswered,
    Action.DEFER: QuestionDeferred,
}


def allowed_actions(item: Item) -> list[Action]:
    """What the table lets staff do to `item` now, in the order of `Action`.

    The console offers exactly these; the decision still has the last word (a merge needs a
    target, a tag a valid topic).
    """
    return [action for action in Action if _allows(item, action)]


def _allows(item: Item, action: Action) -> bool:
    if action is Action.TAG:
        return item.kind is Q and item.status in TAGGABLE
    if action is Action.PROMOTE:
        return item.kind is C and item.status in PROMOTABLE and not item.promoted
    return (item.kind, item.status, action) in TRANSITIONS


def is_merge_target(item: Item) -> bool:
    """Whether other questions may be merged into `item`."""
    return item.kind is Q and item.status in MERGE_TARGETS


def moderate(
    board: Board,
    meeting: Meeting,
    command: Moderate,
    *,
    by: str,
    now: int,
    earlier: QuestionIndex,
) -> Change:
    """Decide a staff action on the board as it is now; raises on a stale or refused action.

    `board` holds the items the command names (and, for a merge, their voters); `earlier` is
    the meeting's questions that may still be repeated, for a promoted question's suggestions.
    """
    item, action = _subject(board, command)
    if not _allows(item, action):
        state = "already promoted" if action is Action.PROMOTE and item.promoted else item.status
        raise InvalidTransition(f"cannot {action} a {item.kind} that is {state}")
    if action is Action.TAG:
        return _tag(item, meeting, command, by=by, now=now)
    if action is Action.PROMOTE:
        return _promote(item, meeting, by=by, now=now, earlier=earlier)
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


def _promote(
    item: Item, meeting: Meeting, *, by: str, now: int, earlier: QuestionIndex
) -> QuestionPromoted:
    hints = suggestions(meeting, item.text, earlier)
    return QuestionPromoted(
        at=now,
        by=by,
        item=item.id,
        version=item.version + 1,
        channel=item.channel,
        viewer=item.viewer,
        name=item.name,
        text=item.text,
        suggested_topic=hints.topic,
        suggested_district=hints.district,
        similar=hints.similar,
    )


def _merge(board: Board, item: Item, into: str, *, by: str, now: int) -> QuestionMerged:
    """Merge `item` into `into`: its askers join, and its voters, each counted once (R4)."""
    target = board.items.get(into)
    if target is None or target.kind is not ItemKind.QUESTION:
        raise NotFound(f"no question {into[:40]} to merge into")
    if target.id == item.id:
        raise InvalidInput("a question cannot be merged into itself")
    if not is_merge_target(target):
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
    """A viewer's up-vote of a public question; one per viewer (a repeat is a `Conflict`).

    `board` holds the question with its count of votes, and whether this viewer voted for it.
    """
    item = board.items.get(question)
    if item is None or not item.public:
        raise NotFound(f"no public question {question[:40]}")
    if not meeting.is_live:
        raise InvalidTransition(f"the meeting is {meeting.status}")
    if viewer in board.voters.get(question, ()):
        raise Conflict("one vote per viewer")
    return QuestionVoted(at=now, question=question, viewer=viewer, votes=item.votes + 1)
