"""The rundown and the air: which question is on air, which wait, and the producer's decisions.

The rundown is the approved and queued questions waiting to go on air, in the producer's order.
Until a producer orders them it is the queued ones first, then the approved ones, each oldest
first; a move (`rundown.moved`) fixes the whole order, and a question that leaves the air
unanswered (`question.off_air`: cleared, or replaced by a take) goes back to its top. Questions
that join later come after the placed ones, in the default order.

At most one question is on air. `take` puts one on air (the one there before leaves it
first), `clear` leaves nothing on air, `next` takes the rundown's first. Every decision returns
the events to append; their `at` record when each question went on and off air, for the
transcript (R4: the meeting's time belongs to residents' questions and the answers).
"""

from __future__ import annotations

from moderation.board import Board
from moderation.errors import InvalidInput, InvalidTransition, NotFound
from moderation.events import (
    QuestionAnswered,
    QuestionDeferred,
    QuestionOffAir,
    QuestionOnAir,
    RundownMoved,
)
from moderation.model import Item, ItemKind, ItemStatus

S = ItemStatus
WAITING = frozenset({S.APPROVED, S.QUEUED})  # the statuses of a question in the rundown


def on_air(board: Board) -> Item | None:
    """The question on air now, if any (the one put there last, should two ever be)."""
    return max(_shown(board), key=_when, default=None)


def rundown(board: Board) -> list[Item]:
    """The questions waiting to go on air (approved and queued), in the producer's order.

    The placed ones come first, in the order the producer left them; the others follow,
    queued before approved, each oldest first.
    """
    waiting = {i.id: i for i in board.questions() if i.status in WAITING}
    placed = [waiting[i] for i in dict.fromkeys(board.placed) if i in waiting]
    seen = {i.id for i in placed}
    rest = [i for i in waiting.values() if i.id not in seen]
    rest.sort(key=lambda i: (i.status is not S.QUEUED, i.at, i.id))
    return placed + rest


def take(board: Board, question: str, *, by: str, now: int) -> list[QuestionOnAir | QuestionOffAir]:
    """Put `question` (from the rundown) on air; the one on air before leaves it, back to the
    top of the rundown. Raises `NotFound` for an unknown question and `InvalidTransition` for
    one that is not waiting (already on air, answered, not approved)."""
    item = _question(board, question)
    if item.status not in WAITING:
        raise InvalidTransition(f"cannot take a question that is {item.status} to air")
    events: list[QuestionOnAir | QuestionOffAir] = clear(board, by=by, now=now)
    events.append(QuestionOnAir(at=now, by=by, item=item.id, version=item.version + 1))
    return events


def clear(board: Board, *, by: str, now: int) -> list[QuestionOnAir | QuestionOffAir]:
    """Leave nothing on air: the question there (if any) goes back to the top of the rundown.
    Nothing on air already: no events. Should two be on air (a moderator's "on air" beside a
    take), both leave it, the one put there last ending on top."""
    shown = sorted(_shown(board), key=_when)
    return [QuestionOffAir(at=now, by=by, item=i.id, version=i.version + 1) for i in shown]


def finish(
    board: Board, *, answered: bool, by: str, now: int
) -> list[QuestionAnswered | QuestionDeferred]:
    """The question on air leaves it answered (or deferred, `answered` false): it never comes
    back to the rundown. `InvalidTransition` when nothing is on air."""
    shown = sorted(_shown(board), key=_when)
    if not shown:
        raise InvalidTransition("nothing is on air")
    kind = QuestionAnswered if answered else QuestionDeferred
    return [kind(at=now, by=by, item=i.id, version=i.version + 1) for i in shown]


def next(board: Board, *, by: str, now: int) -> list[QuestionOnAir | QuestionOffAir]:
    """Take the rundown's first question to air; `InvalidTransition` when the rundown is empty."""
    waiting = rundown(board)
    if not waiting:
        raise InvalidTransition("the rundown is empty: no question to take next")
    return take(board, waiting[0].id, by=by, now=now)


def move(board: Board, question: str, position: int, *, by: str, now: int) -> RundownMoved:
    """Move `question` to `position` of the rundown (0 is the top; past the end is the end).

    Raises `NotFound` for an unknown question, `InvalidInput` for a negative position and
    `InvalidTransition` for a question that is not in the rundown.
    """
    item = _question(board, question)
    if position < 0:
        raise InvalidInput("position must be 0 (the top) or more")
    if item.status not in WAITING:
        raise InvalidTransition(f"cannot move a question that is {item.status}: not in the rundown")
    order = [i.id for i in rundown(board) if i.id != item.id]
    position = min(position, len(order))
    order.insert(position, item.id)
    return RundownMoved(at=now, by=by, question=item.id, position=position, order=tuple(order))


def _shown(board: Board) -> list[Item]:
    return [i for i in board.questions() if i.status is S.ON_AIR]


def _when(item: Item) -> tuple[int, int]:
    return item.changed_at, item.version


def _question(board: Board, question: str) -> Item:
    item = board.items.get(question)
    if item is None or item.kind is not ItemKind.QUESTION:
        raise NotFound(f"no question {question[:40]}")
    return item
