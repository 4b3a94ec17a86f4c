"""The rundown's use cases (issue 9): what is on air and what waits, and the producer's take,
clear, next and move, from the record to a durable append.

Each decision is made on the meeting's board folded from its whole record (the producer's
order lives only there; `Rundowns` keeps it folded in this process and catches it up before
each decision, so a take reads only what was appended since), and appended behind guards: the
items it changes must still be at the versions it read (a moderator's action meanwhile refuses
it), and it takes the record's next rundown id, so of two decisions made on the same rundown
(two takes racing, a take and a move) one is applied and the other is a `Conflict`; nothing
else changed.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from moderation import Conflict, NotFound
from moderation import rundown as domain
from moderation.board import Board
from moderation.events import (
    QuestionAnswered,
    QuestionDeferred,
    QuestionOffAir,
    QuestionOnAir,
    RundownMoved,
)
from moderation.model import Item
from server.store import Refused, Write
from server.store.record import Record
from server.usecases.replies import queue_fates

if TYPE_CHECKING:
    from server.usecases.context import UseCases

KEPT = 32  # meetings whose board this process keeps folded; the least recently used goes first

# What the rundown's decisions build.
Decided = QuestionOnAir | QuestionOffAir | RundownMoved | QuestionAnswered | QuestionDeferred
# The events that change the air or the order: the number folded names the next decision (a
# moderator's answer counts too: a number no decision claimed is only a gap).
RUNDOWN_KINDS = (QuestionOnAir, QuestionOffAir, RundownMoved, QuestionAnswered, QuestionDeferred)


def decision_id(number: int) -> str:
    """The idempotency id of the meeting's `number`-th change of the air or the rundown (no
    viewer's `client_msg_id` can have a colon)."""
    return f"rundown:{number}"


@dataclass(frozen=True, slots=True)
class Air:
    """What is on air now (if anything) and the rundown, top first (`moderation.rundown`)."""

    on_air: Item | None
    rundown: list[Item]


@dataclass(slots=True)
class Folded:
    """A meeting's board folded from its whole record, and how many of its events changed the
    air or the rundown (`RUNDOWN_KINDS`): the decision made on it takes the next id. A copy of
    this process's fold: deciding on it and folding the decision in changes nothing shared."""

    board: Board
    changes: int


class _Kept:
    __slots__ = ("board", "changes", "last", "lock")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.board = Board()
        self.changes = 0
        self.last = "0-0"


class Rundowns:
    """Each meeting's board (items, and the producer's order), folded from its record
    incrementally: a decision reads only what was appended since the last one."""

    def __init__(self, record: Record) -> None:
        self._record = record
        self._meetings: OrderedDict[str, _Kept] = OrderedDict()

    @property
    def kept(self) -> list[str]:
        """The meetings whose board this process keeps folded, least recently used first."""
        return list(self._meetings)

    async def of(self, meeting_id: str) -> Folded:
        """The board as of the record's end now (a copy): anything appended before this call,
        by any process, is in it."""
        kept = self._meetings.get(meeting_id)
        if kept is None:
            kept = self._meetings[meeting_id] = _Kept()
            while len(self._meetings) > KEPT:
                self._meetings.popitem(last=False)
        self._meetings.move_to_end(meeting_id)
        async with kept.lock:
            async for entries in self._record.replay(meeting_id, kept.last):
                for event_id, event in entries:
                    kept.board.fold(event_id, event)
                    kept.changes += isinstance(event, RUNDOWN_KINDS)
                kept.last = entries[-1][0]
            board = Board(kept.board.items.values())
            board.placed = kept.board.placed
            return Folded(board, kept.changes)


async def air(cases: UseCases, meeting_id: str) -> Air:
    """What is on air and what waits now; `NotFound` for a meeting that does not exist."""
    return _air((await fold(cases, meeting_id)).board)


async def take(cases: UseCases, meeting_id: str, question: str, *, by: str) -> Air:
    """Put `question` on air (the one there before goes back to the top of the rundown)."""
    folded = await fold(cases, meeting_id)
    events = domain.take(folded.board, question, by=by, now=cases.clock())
    return await append(cases, meeting_id, folded, events)


async def clear(cases: UseCases, meeting_id: str, *, by: str) -> Air:
    """Leave nothing on air (the question there goes back to the top of the rundown)."""
    folded = await fold(cases, meeting_id)
    events = domain.clear(folded.board, by=by, now=cases.clock())
    return await append(cases, meeting_id, folded, events)


async def take_next(cases: UseCases, meeting_id: str, *, by: str) -> Air:
    """Take the rundown's first question to air; `InvalidTransition` when it is empty."""
    folded = await fold(cases, meeting_id)
    events = domain.next(folded.board, by=by, now=cases.clock())
    return await append(cases, meeting_id, folded, events)


async def finish(cases: UseCases, meeting_id: str, *, answered: bool, by: str) -> Air:
    """The question on air leaves it answered (or deferred); `InvalidTransition` when nothing
    is on air."""
    folded = await fold(cases, meeting_id)
    events = domain.finish(folded.board, answered=answered, by=by, now=cases.clock())
    return await append(cases, meeting_id, folded, events)


async def move(cases: UseCases, meeting_id: str, question: str, position: int, *, by: str) -> Air:
    """Move `question` to `position` of the rundown (0 is the top)."""
    folded = await fold(cases, meeting_id)
    event = domain.move(folded.board, question, position, by=by, now=cases.clock())
    return await append(cases, meeting_id, folded, [event])


async def fold(cases: UseCases, meeting_id: str) -> Folded:
    """The meeting's board as of now, to decide on; `NotFound` for no such meeting."""
    if await cases.store.meetings.get(meeting_id) is None:
        raise NotFound(f"no meeting {meeting_id[:40]!r}")
    return await cases.rundowns.of(meeting_id)


async def append(
    cases: UseCases, meeting_id: str, folded: Folded, events: Sequence[Decided]
) -> Air:
    """Append `events`, decided on `folded`, behind the guards; the air after them (`folded`
    has them folded in). `Conflict` when the rundown or a question the events name changed
    since `folded` was read: nothing is appended then."""
    board, store = folded.board, cases.store
    if not events:
        return _air(board)
    write = Write()
    number = folded.changes + 1
    race = store.record.first_time(write, meeting_id, decision_id(number))
    changed: dict[str, Item] = {}
    for n, event in enumerate(events):
        if not isinstance(event, RundownMoved):  # each names another question (`domain.take`)
            store.board.at_version(write, meeting_id, board.items[event.item])
        named = "" if isinstance(event, RundownMoved) else event.item
        before = board.items.get(named)
        after = board.apply(f"pending-{n}", event)
        changed.update((item.id, item) for item in after)
        at = store.record.append(write, meeting_id, event)
        changes = [(before, item) for item in after if item.id == named]
        queue_fates(store.outbox, write, meeting_id, changes, at)  # issue 10
        if n == 0:
            store.record.remember(write, meeting_id, decision_id(number), at)
    store.board.store(write, meeting_id, list(changed.values()))
    result = await store.record.run(write)
    if isinstance(result, Refused):
        what = "the rundown" if result.guard is race else "a question it names"
        raise Conflict(f"{what} changed meanwhile; look again and decide again")
    return _air(board)


def _air(board: Board) -> Air:
    return Air(domain.on_air(board), domain.rundown(board))
