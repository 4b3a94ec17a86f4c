"""Meetings end to end: announce one, start and end it (a concurrent change is a `Conflict`);
an end closes the meeting's clock too (R4)."""

from __future__ import annotations

import re
import secrets

from moderation import (
    Conflict,
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
from moderation.clock import closing
from moderation.deadlines import set_receptions as receptions
from server.store import Refused, Write
from server.usecases.clock import TRIES, append_clock
from server.usecases.context import UseCases

MEETING_ID = re.compile(r"[a-z0-9][a-z0-9-]{2,63}")
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l, 1, o, 0)


def new_meeting_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def is_meeting_id(value: str) -> bool:
    return MEETING_ID.fullmatch(value) is not None


async def create(cases: UseCases, command: CreateMeeting, *, meeting_id: str = "") -> Meeting:
    """Announce a meeting under `meeting_id` (or a new random id)."""
    meeting_id = meeting_id or new_meeting_id()
    if not is_meeting_id(meeting_id):
        raise InvalidInput(
            "a meeting id is 3-64 of a-z, 0-9 and '-', starting with a letter or digit"
        )
    event = create_meeting(command, now=cases.clock())
    meeting = apply(None, event, meeting_id=meeting_id)
    assert meeting is not None
    store, write = cases.store, Write()
    # Issue 12: a meeting belongs to an office that exists (`halyq office list`).
    if meeting.office and meeting.office not in (await store.offices.ledger()).offices:
        raise InvalidInput(f"office: no office {meeting.office!r} (halyq office list)")
    store.meetings.create(write, meeting)
    store.record.append(write, meeting_id, event)
    if isinstance(await store.record.run(write), Refused):
        raise Conflict(f"meeting {meeting_id} already exists")
    await store.meetings.index(meeting)  # alone: another cluster slot (issue 15)
    return meeting


async def change(cases: UseCases, meeting_id: str, command: StartMeeting | EndMeeting) -> Meeting:
    """Start or end a meeting; a concurrent change makes this a `Conflict`, never an overwrite."""
    for _ in range(TRIES):
        after = await _change(cases, meeting_id, command)
        if after is not None:
            return after
    raise Conflict(f"the clock of meeting {meeting_id} kept changing; try again")


async def _change(
    cases: UseCases, meeting_id: str, command: StartMeeting | EndMeeting
) -> Meeting | None:
    """One try; None when the clock moved meanwhile (a warning or a phase change came)."""
    store = cases.store
    before = await store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    if before is None:
        raise NotFound(f"no meeting {meeting_id!r}")
    now = cases.clock()
    event = change_meeting(before, command, now=now)
    after = apply(before, event, meeting_id=meeting_id)
    assert after is not None
    write = Write()
    status = store.meetings.change(write, before, after)
    if isinstance(command, EndMeeting):
        # R4: the end closes the clock too (the warnings due, a presentation's overrun).
        clock = await cases.clocks.of(meeting_id)
        append_clock(store, write, meeting_id, clock, closing(clock, now))
    store.record.append(write, meeting_id, event)
    result = await store.record.run(write)
    if isinstance(result, Refused):
        if result.guard is not status:
            return None
        if not result.value:
            raise NotFound(f"no meeting {meeting_id}")
        raise Conflict(f"meeting {meeting_id} is now {result.value}")
    return after


async def set_receptions(cases: UseCases, meeting_id: str, until: str) -> Meeting:
    """Record when the meeting's personal receptions end (R6, issue 12): its results are due
    10 calendar days after the meeting and its receptions. A concurrent change is a
    `Conflict`."""
    store = cases.store
    before = await store.meetings.get(meeting_id) if is_meeting_id(meeting_id) else None
    if before is None:
        raise NotFound(f"no meeting {meeting_id!r}")
    event = receptions(before, until, now=cases.clock())
    after = apply(before, event, meeting_id=meeting_id)
    assert after is not None
    write = Write()
    store.meetings.change(write, before, after)
    store.record.append(write, meeting_id, event)
    if isinstance(await store.record.run(write), Refused):
        raise Conflict(f"meeting {meeting_id} changed meanwhile; try again")
    return after
