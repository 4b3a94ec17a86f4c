"""Offices and promises end to end (issue 12): load the ledger (every office and promise folded
from their one stream), let the domain decide, and append behind the count of events the
decision saw, so that two writers never decide on the same state (the second tries again).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date

from moderation import Conflict, InvalidInput, Meeting, NotFound
from moderation.deadlines import ALMATY, local_day
from moderation.model import ItemKind
from moderation.offices import Office, OfficeFields, add_office, change_holder, find
from moderation.promises import Pledge, Promise, make_promise, update_promise
from server.store import Refused, Write
from server.store.offices import Ledger, Recorded, fold
from server.usecases.context import UseCases

TRIES = 5  # decisions made again when another write to the offices' record came first
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes (l, 1, o, 0)


def new_promise_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(10))


def today(cases: UseCases) -> date:
    """The day as residents count it: offices have no offset of their own, so Almaty's."""
    return local_day(cases.clock(), ALMATY)


async def ledger(cases: UseCases) -> Ledger:
    return await cases.store.offices.ledger()


async def office(cases: UseCases, office_id: str) -> Office:
    """The office `office_id`, or `NotFound`."""
    return find((await ledger(cases)).offices, office_id)


async def _decide(cases: UseCases, decide: Callable[[Ledger], Recorded]) -> Ledger:
    """Decide on the latest ledger and append, again while another write came first; the
    ledger after the event."""
    for _ in range(TRIES):
        before = await ledger(cases)
        event = decide(before)
        write = Write()
        cases.store.offices.append(write, before, [event])
        if not isinstance(await cases.store.record.run(write), Refused):
            return fold(before, event)
    raise Conflict("the offices kept changing meanwhile; try again")


async def add(cases: UseCases, office_id: str, fields: OfficeFields, *, by: str) -> Office:
    """Add an office (`halyq office add`, the admin page, `POST /api/offices`); its `unit`,
    when given, must be a territory unit once there are any (issue 13)."""
    now = cases.clock()
    units = (await cases.store.territories.territory()).units
    if fields.unit.strip() and units and fields.unit.strip() not in units:
        raise InvalidInput(f"unit: no territory unit {fields.unit.strip()[:40]!r}")
    after = await _decide(cases, lambda led: add_office(led.offices, office_id, fields, by=by,
                                                        now=now))  # fmt: skip
    return after.offices[office_id]


async def set_holder(cases: UseCases, office_id: str, name: str, since: str, *, by: str) -> Office:
    """Record the office's new holder from `since` (`halyq office holder`)."""
    now = cases.clock()
    after = await _decide(
        cases, lambda led: change_holder(led.offices, office_id, name, since, by=by, now=now)
    )
    return after.offices[office_id]


async def record_promise(cases: UseCases, meeting_id: str, pledge: Pledge, *, by: str) -> Promise:
    """Record a promise made at the meeting, for the meeting's office: 404 for no meeting,
    `InvalidInput` naming `office` when the meeting has none, `question` for one not asked
    there."""
    meeting = await _meeting(cases, meeting_id)
    if not meeting.office:
        raise InvalidInput(f"office: meeting {meeting_id} belongs to no office")
    if pledge.question:
        board = (await cases.rundowns.of(meeting_id)).board
        item = board.items.get(pledge.question.strip())
        if item is None or item.kind is not ItemKind.QUESTION:
            raise InvalidInput(f"question: no question {pledge.question!r} in meeting {meeting_id}")
    promise_id, now, day = new_promise_id(), cases.clock(), today(cases)
    after = await _decide(
        cases,
        lambda led: make_promise(led.offices, pledge, promise_id=promise_id, office=meeting.office,
                                 meeting=meeting.id, today=day, by=by, now=now),
    )  # fmt: skip
    return after.promises[promise_id]


async def update(cases: UseCases, promise_id: str, status: str, note: str, *, by: str) -> Promise:
    """Give a promise a new status, with a note (`POST /api/promises/{id}`)."""
    now, day = cases.clock(), today(cases)
    after = await _decide(
        cases,
        lambda led: update_promise(led.promises, promise_id, status, note, today=day, by=by,
                                   now=now),
    )  # fmt: skip
    return after.promises[promise_id]


async def _meeting(cases: UseCases, meeting_id: str) -> Meeting:
    found = await cases.store.meetings.get(meeting_id) if len(meeting_id) <= 64 else None
    if found is None:
        raise NotFound(f"no meeting {meeting_id[:40]!r}")
    return found
