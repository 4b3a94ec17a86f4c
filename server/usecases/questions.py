"""The questions later ones may repeat, per meeting, kept in this process and caught up from
the record before each decision that suggests duplicates (asking, promoting)."""

from __future__ import annotations

import asyncio
import gc
from collections import OrderedDict

from moderation.board import Repeatable
from moderation.duplicates import QuestionIndex
from server.store.record import Record

KEPT = 32  # meetings whose index this process keeps; the least recently used goes first
# A catch-up that folds this many entries is a cold start on a big meeting: what it built lives
# as long as the meeting, and a full collection scanning it (a 50,000-question index is some
# 300,000 objects, 200 ms and more) would hold the event loop: it leaves the cyclic collector
# (`gc.freeze`; reference counting still frees what is dropped).
FREEZE_AFTER = 5000


class _Folded:
    __slots__ = ("last", "lock", "repeatable")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.repeatable = Repeatable()
        self.last = "0-0"


class Questions:
    """Each meeting's `Repeatable` index, folded from its record incrementally."""

    def __init__(self, record: Record) -> None:
        self._record = record
        self._meetings: OrderedDict[str, _Folded] = OrderedDict()

    async def of(self, meeting_id: str) -> QuestionIndex:
        """The index as of the record's end now: a question acknowledged before this call is
        in it, whichever process took it."""
        folded = self._meetings.get(meeting_id)
        if folded is None:
            folded = self._meetings[meeting_id] = _Folded()
            while len(self._meetings) > KEPT:
                self._meetings.popitem(last=False)
        self._meetings.move_to_end(meeting_id)
        async with folded.lock:
            count = 0
            async for entries in self._record.replay(meeting_id, folded.last):
                for event_id, event in entries:
                    folded.repeatable.apply(event_id, event)
                folded.last = entries[-1][0]
                count += len(entries)
            if count >= FREEZE_AFTER:
                gc.freeze()
        return folded.repeatable.index
