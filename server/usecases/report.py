"""The public report of a meeting's moderation, folded in this process from its record.

The report is the public report audience's view (`moderation.audiences.public_report`) summed
over the record; each request reads only what came since the last one.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from moderation.transparency import Report, Tally
from server.store.record import Record

KEPT = 32  # meetings whose counts this process keeps folded


class Reports:
    """Each meeting's `Tally`, caught up from the record on every request."""

    def __init__(self, record: Record) -> None:
        self._record = record
        self._meetings: OrderedDict[str, tuple[asyncio.Lock, Tally]] = OrderedDict()

    async def of(self, meeting_id: str) -> tuple[str, Report]:
        """The report as of the record's end now, and the id of the last event counted."""
        if meeting_id not in self._meetings:
            self._meetings[meeting_id] = (asyncio.Lock(), Tally())
            while len(self._meetings) > KEPT:
                self._meetings.popitem(last=False)
        self._meetings.move_to_end(meeting_id)
        lock, counted = self._meetings[meeting_id]
        async with lock:
            async for entries in self._record.replay(meeting_id, counted.last):
                counted.add(entries)
        return counted.last, counted.report()
