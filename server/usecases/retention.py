"""Retention of senders' raw contacts (issue 10): kept apart from the record, and deleted for
good once the retention period after their meeting is over (`halyq retention run`, also run
by the server daily). The record keeps what the public and the moderators saw, masked."""

from __future__ import annotations

from dataclasses import dataclass

from moderation import MeetingStatus
from server.store import Store

DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Swept:
    """The meetings whose contacts were deleted by one run."""

    meetings: tuple[str, ...]


async def sweep(store: Store, *, days: int, now_ms: int) -> Swept:
    """Delete the raw contacts, original texts and undelivered answers of every meeting that
    ended `days` or more days before `now_ms`; and the contacts answers that followed no
    meeting carried, once as old."""
    swept = []
    for meeting in await store.meetings.all():
        if meeting.status is not MeetingStatus.ENDED or not meeting.ended_at:
            continue
        if meeting.ended_at + days * DAY_MS > now_ms:
            continue
        if await store.intake.forget_contacts(meeting.id) or await store.outbox.size(meeting.id):
            swept.append(meeting.id)
        await store.outbox.drop(meeting.id)
    await store.outbox.trim_before("-", now_ms - days * DAY_MS)
    return Swept(tuple(swept))
