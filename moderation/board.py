"""The board: a meeting's comments and questions as items, folded from its record.

`Board.apply` folds one event in and returns the items it changed, so replaying the stream
rebuilds the board and every projection of it (the consoles, the public list, the report).
`Repeatable` folds the same record into the index of questions later ones may repeat.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from moderation.duplicates import QuestionIndex
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
    QuestionEdited,
    QuestionMerged,
    QuestionOffAir,
    QuestionOnAir,
    QuestionPromoted,
    QuestionQueued,
    QuestionRejected,
    QuestionTagged,
    QuestionVoted,
    RundownMoved,
)
from moderation.model import Item, ItemKind, ItemStatus
from moderation.tagging import asks_the_akim

S = ItemStatus

# The status a staff event leaves its item in (tagging and promoting keep it).
STATUS_AFTER: dict[type[Change], ItemStatus] = {
    CommentHidden: S.HIDDEN,
    CommentReleased: S.SHOWN,
    QuestionApproved: S.APPROVED,
    QuestionRejected: S.REJECTED,
    QuestionMerged: S.MERGED,
    QuestionQueued: S.QUEUED,
    QuestionOnAir: S.ON_AIR,
    QuestionOffAir: S.QUEUED,  # back in the rundown, at its top (`moderation.rundown`)
    QuestionAnswered: S.ANSWERED,
    QuestionDeferred: S.DEFERRED,
}
# A question in one of these is settled for good: later questions are not suggested as its
# repeats (a merged one lives on in the question it joined; a rejected one was refused).
NOT_REPEATABLE = frozenset({S.MERGED, S.REJECTED})


def may_be_repeated(item: Item) -> bool:
    """Whether a later question may repeat `item`: the one definition of it (R4)."""
    return item.kind is ItemKind.QUESTION and item.status not in NOT_REPEATABLE


@dataclass(frozen=True, slots=True)
class Update:
    """One event of the record as the board took it: the items it changed, before and after.

    `before[i]` is `items[i]` as it was (None for an item the event created). What audiences
    project (`moderation.audiences`); those that need no board get updates with no items.
    """

    id: str
    event: Event
    items: tuple[Item, ...] = ()
    before: tuple[Item | None, ...] = ()


class Board:
    """All items of a meeting and who voted for what, folded from the record.

    `placed` is the rundown's order as the producer left it, top first: the whole rundown
    after their last move, with each question that left the air unanswered put on top since.
    It may name questions no longer waiting; `moderation.rundown` reads it.
    """

    __slots__ = ("items", "placed", "voters")

    def __init__(self, items: Iterable[Item] = ()) -> None:
        self.items: dict[str, Item] = {item.id: item for item in items}
        self.voters: dict[str, set[str]] = {}
        self.placed: tuple[str, ...] = ()

    def apply(self, event_id: str, event: Event) -> list[Item]:
        """Fold one event in; returns the items it changed (or created), as they are now."""
        return list(self.fold(event_id, event).items)

    def fold(self, event_id: str, event: Event) -> Update:
        """Fold one event in; the update names the items it changed, before and after."""
        changed = _apply(self, event_id, event)
        before = tuple(self.items.get(item.id) for item in changed)
        for item in changed:
            self.items[item.id] = item
        return Update(event_id, event, tuple(changed), before)

    def questions(self) -> list[Item]:
        return [i for i in self.items.values() if i.kind is ItemKind.QUESTION]


class Repeatable:
    """The questions later ones may repeat, indexed for duplicate suggestions.

    Folded from the same events as the board, with `may_be_repeated` deciding, so the
    suggestions a question gets do not depend on who asks it nor on which path it takes.
    """

    __slots__ = ("index",)

    def __init__(self) -> None:
        self.index = QuestionIndex()

    def apply(self, event_id: str, event: Event) -> None:
        if isinstance(event, QuestionAsked | QuestionPromoted):
            self.index.add(event_id, event.text)
        elif isinstance(event, Change) and STATUS_AFTER.get(type(event)) in NOT_REPEATABLE:
            self.index.remove(event.item)


def comment_item(event_id: str, event: CommentPosted | CommentHeld) -> Item:
    """The item a comment is on the board, before anyone moderated it."""
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
        received_at=event.received_at,
        amount=event.amount,
        currency=event.currency,
        asks=asks_the_akim(event.text),
    )


def question_item(event_id: str, event: QuestionAsked) -> Item:
    """The new question an asking creates, under the id its event gets."""
    item = _question(event_id, event, held=event.held, district=event.district)
    return replace(item, language=event.language, received_at=event.received_at, note=event.note)


def _apply(board: Board, event_id: str, event: Event) -> list[Item]:
    if isinstance(event, CommentPosted | CommentHeld):
        return [comment_item(event_id, event)]
    if isinstance(event, QuestionAsked):
        return [question_item(event_id, event)]
    if isinstance(event, QuestionVoted):
        return _voted(board, event)
    if isinstance(event, RundownMoved):
        board.placed = event.order
        return []
    if isinstance(event, QuestionOffAir):
        board.placed = (event.item, *(i for i in board.placed if i != event.item))
    if isinstance(event, Change):
        return _changed(board, event_id, event)
    return []


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
    if isinstance(event, QuestionTagged):
        return [replace(after, topic=event.topic, district=event.district)]
    if isinstance(event, QuestionEdited):
        language = event.language or after.language
        return [replace(after, text=event.text, language=language, held=event.held)]
    if isinstance(event, CommentHidden | QuestionRejected):
        after = replace(after, reason=event.reason.value)
    elif isinstance(event, CommentReleased):
        after = replace(after, reason="")  # shown again: no reason to hide it stands
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
