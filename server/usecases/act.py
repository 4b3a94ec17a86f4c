"""`act`: any staff action, from the items it names to a durable append.

It reads the items the command names as they are now (and, for a merge, their voters; for a
promotion, the questions it may repeat), lets the domain decide, and appends the event only if
every item is still at the version the decision read: otherwise it is a `Conflict` and
nothing changed. Two moderators never undo each other's work.
"""

from __future__ import annotations

from moderation import Conflict, Meeting, Moderate
from moderation.board import Board
from moderation.events import QuestionMerged
from moderation.lifecycle import moderate
from moderation.model import Action
from server.store import Refused, Write
from server.usecases.context import UseCases
from server.usecases.outcomes import Acted
from server.usecases.replies import queue_fates
from server.usecases.submit import NOTHING_EARLIER

PENDING = "0-0"  # the id a promoted question has until its event is appended


async def act(cases: UseCases, meeting: Meeting, command: Moderate, *, by: str) -> Acted:
    """Apply `command` by staff member `by`; raises the domain's errors when it is refused."""
    store = cases.store
    ids = list(dict.fromkeys(i for i in (command.item, command.into) if i))
    board = Board((await store.board.items(meeting.id, ids)).values())
    loaded = list(board.items.values())
    merges = command.action == Action.MERGE
    if merges:
        board.voters.update(await store.votes.voters(meeting.id, ids))
    promotes = command.action == Action.PROMOTE
    earlier = await cases.questions.of(meeting.id) if promotes else NOTHING_EARLIER
    event = moderate(board, meeting, command, by=by, now=cases.clock(), earlier=earlier)
    update = board.fold(PENDING, event)
    write = Write()
    guards = {store.board.at_version(write, meeting.id, item): item for item in loaded}
    if isinstance(event, QuestionMerged):
        for item in loaded:
            guards[store.votes.at_count(write, meeting.id, item.id, item.votes)] = item
        store.votes.merge(write, meeting.id, event.item, event.into, event.votes)
    at = store.record.append(write, meeting.id, event)
    changes = zip(update.before, update.items, strict=True)
    queue_fates(store.outbox, write, meeting.id, changes, at)  # answers to senders (issue 10)
    for item in update.items:
        if item.id == PENDING:
            store.board.create(write, meeting.id, at, item)
    store.board.store(write, meeting.id, [i for i in update.items if i.id != PENDING])
    result = await store.record.run(write)
    if isinstance(result, Refused):
        item = guards[result.guard]
        raise Conflict(f"item {item.id} changed meanwhile; it was at version {item.version}")
    return Acted(result.ids[0], event)
