"""The broadcast's state in the record (issue 16): `broadcast.changed`, appended once per
(part, state) whichever node's ingest reports it, with the meeting's projection beside it.

The ingest's manager (`server.broadcast.manager.Broadcasts`) calls `broadcast_changed` as its
`changed`; the domain (`moderation.meetings.change_broadcast`) decides what to record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from moderation import Conflict, NotFound, apply
from moderation.meetings import change_broadcast
from server.store import Write, Written

if TYPE_CHECKING:
    from server.usecases.context import UseCases

TRIES = 3  # decisions made again when the meeting started or ended meanwhile


def change_id(part: int, state: str) -> str:
    """The idempotency id of the broadcast's `state` in its `part`: one event each (no
    viewer's `client_msg_id` can have a colon)."""
    return f"broadcast:{part}:{state}"


async def broadcast_changed(
    cases: UseCases, meeting_id: str, state: str, part: int, at: int
) -> None:
    """Record that the studio's broadcast of the meeting moved to `state` (live, reconnecting,
    ended) in its `part`, from `at` (wall-clock ms); a repeated call adds nothing, and a
    meeting that is not live any more gets `ended` only (R3: viewers are told the truth).

    Raises `NotFound` for a meeting that does not exist, `InvalidInput` for a bad state or part.
    """
    store = cases.store
    for _ in range(TRIES):
        before = await store.meetings.get(meeting_id)
        if before is None:
            raise NotFound(f"no meeting {meeting_id!r}")
        event = change_broadcast(before, state, part, at=at)
        if event is None:
            return
        after = apply(before, event, meeting_id=meeting_id)
        assert after is not None
        write = Write()
        once = store.record.first_time(write, meeting_id, change_id(part, state))
        store.meetings.change(write, before, after)
        appended = store.record.append(write, meeting_id, event)
        store.record.remember(write, meeting_id, change_id(part, state), appended)
        result = await store.record.run(write)
        if isinstance(result, Written) or result.guard is once:
            return  # recorded now, or before
        # Else the meeting started or ended meanwhile: decide again on it as it is.
    raise Conflict(f"meeting {meeting_id} kept changing; its broadcast's {state} is not recorded")
