"""Staff actions end to end: read the items, let the domain decide, have the store append.

The store appends only if every item is still at the version the decision read; otherwise the
action is a `Conflict` and nothing changed. Two moderators never undo each other's work.
"""

from __future__ import annotations

from moderation import Meeting
from moderation.commands import Moderate
from moderation.events import Change, QuestionMerged, QuestionPromoted
from moderation.projections import public_question
from moderation.questions import Board, Item, ItemKind, moderate
from server.meetings import now_ms
from server.store import Store
from server.wire import dumps

PENDING = "0-0"  # the id a promoted question has until the store appends it


async def act(store: Store, meeting: Meeting, command: Moderate, *, by: str) -> tuple[str, Change]:
    """Apply `command` by staff member `by`; returns the event's id and the event."""
    ids = [command.item] + ([command.into] if command.into else [])
    board = Board()
    board.items.update(await store.items(meeting.id, ids))
    checks = {item.id: item.version for item in board.items.values()}
    event = moderate(board, meeting, command, by=by, now=now_ms())
    changed = board.apply(PENDING, event)
    created = next((i for i in changed if i.id == PENDING), None)
    kept = [i for i in changed if i.id != PENDING]
    public = {i.id: _public(i) for i in kept if i.kind is ItemKind.QUESTION}
    merge = (event.item, event.into) if isinstance(event, QuestionMerged) else None
    creates = created if isinstance(event, QuestionPromoted) else None
    first, _ = await store.apply_changes(
        meeting.id, checks, [(event, creates)], kept, public, merge
    )
    return first, event


def _public(item: Item) -> str:
    shown = public_question(item)
    return dumps(shown) if shown is not None else ""
