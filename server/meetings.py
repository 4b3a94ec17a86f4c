"""Meeting commands end to end: load the state, let the domain decide, have the store append."""

from __future__ import annotations

import re
import secrets
import time

from moderation import (
    CreateMeeting,
    EndMeeting,
    InvalidInput,
    Meeting,
    NotFound,
    StartMeeting,
    apply,
    change_meeting,
    create_meeting,
)
from server.store import Store

MEETING_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l, 1, o, 0)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_meeting_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def is_meeting_id(value: str) -> bool:
    return MEETING_ID.fullmatch(value) is not None


async def create(store: Store, command: CreateMeeting, *, meeting_id: str = "") -> Meeting:
    """Announce a meeting under `meeting_id` (or a new random id)."""
    meeting_id = meeting_id or new_meeting_id()
    if not is_meeting_id(meeting_id):
        raise InvalidInput(
            "a meeting id is 3-64 of a-z, 0-9 and '-', starting with a letter or digit"
        )
    event = create_meeting(command, now=now_ms())
    meeting = apply(None, event, meeting_id=meeting_id)
    assert meeting is not None
    await store.create_meeting(meeting_id, event, meeting)
    return meeting


async def change(store: Store, meeting_id: str, command: StartMeeting | EndMeeting) -> Meeting:
    """Start or end a meeting; a concurrent change makes this a `Conflict`, never an overwrite."""
    before = await store.meeting(meeting_id) if is_meeting_id(meeting_id) else None
    if before is None:
        raise NotFound(f"no meeting {meeting_id!r}")
    event = change_meeting(before, command, now=now_ms())
    after = apply(before, event, meeting_id=meeting_id)
    assert after is not None
    await store.change_meeting(before, event, after)
    return after
