"""What this process knows of each meeting's record, to tell when Redis lost history (FLT-6).

A Redis that comes back older (a FLUSHALL, an older append-only file, a stale replica) must
never make a gap silent (G4, G6). Per meeting, the process keeps the record's epoch, the
highest event id it has seen or acknowledged (the high-water mark) and the client_msg_ids of
recent acknowledgements; each feed compares them with the record every second or so. On a
loss the epoch changes, the stream's last id moves past the mark (old ids are never handed
out again), the log says so loudly, and moderators are told which acknowledged comments the
record no longer has, so that they can be sent again (each is recorded once more, once).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass

from server.store.epochs import Epochs, Look
from server.wire import dumps, id_key

logger = logging.getLogger(__name__)

ACK_MEMORY = 10_000  # acknowledged client_msg_ids remembered per meeting
ALERTS_KEPT = 10  # discontinuities a console that opens later is still told about


@dataclass(frozen=True, slots=True)
class Discontinuity:
    """History the record lost: `missing` are client_msg_ids acknowledged here that it no
    longer has; events after `high` come under the new `epoch`."""

    meeting: str
    epoch: str
    previous: str
    high: str
    last: str
    why: str
    missing: tuple[str, ...]
    at: int

    def frame(self) -> str:
        """The console's alert (docs/protocol.md)."""
        return dumps({"type": "discontinuity", "meeting": self.meeting, "epoch": self.epoch,
                      "at": self.at, "high": self.high, "last": self.last,
                      "missing": list(self.missing)})  # fmt: skip


class Continuity:
    """One meeting's record as this process has known it (outlives the meeting's feeds)."""

    __slots__ = ("acks", "alerts", "anchor", "epoch", "high", "meeting_id")

    def __init__(self, meeting_id: str) -> None:
        self.meeting_id = meeting_id
        self.epoch: str | None = None  # not known until a feed first looks
        self.high = "0-0"
        self.anchor: str | None = None  # the mark, while it is an event of the record
        self.acks: OrderedDict[str, str] = OrderedDict()  # client_msg_id -> event id
        self.alerts: deque[str] = deque(maxlen=ALERTS_KEPT)

    def saw(self, event_id: str) -> None:
        """An id of the record, read or acknowledged: the high-water mark only rises."""
        if id_key(event_id) > id_key(self.high):
            self.high = self.anchor = event_id

    def anchors(self) -> tuple[str, ...]:
        """Entries a first look checks are still there: the mark, if it is one."""
        return () if self.anchor is None else (self.anchor,)

    def acked(self, client_msg_id: str, event_id: str) -> None:
        self.acks[client_msg_id] = event_id
        self.acks.move_to_end(client_msg_id)
        if len(self.acks) > ACK_MEMORY:
            self.acks.popitem(last=False)
        self.saw(event_id)

    async def check(self, epochs: Epochs, seen: Sequence[str]) -> Discontinuity | None:
        """Compare the record with what was known; on a loss, settle a new epoch and say what
        was lost. `seen` are entries read since the last check (each must still be there)."""
        look = await epochs.look(self.meeting_id, seen)
        why = self._regression(look)
        if why is None:
            if self.epoch is None:  # first look in this process: adopt it, or make the first
                self.epoch = look.epoch or await self._settle(epochs, "")
            return None
        missing = await epochs.unrecorded(self.meeting_id, list(self.acks))
        previous = self.epoch or ""
        self.epoch = await self._settle(epochs, previous)
        self.anchor = None  # the mark is past the record's end now, and no event of it
        found = Discontinuity(self.meeting_id, self.epoch, previous, self.high, look.last, why,
                              tuple(missing), time.time_ns() // 1_000_000)  # fmt: skip
        logger.error(
            "HISTORY LOST in meeting %s: %s. The record now ends at %s, this process had seen"
            " up to %s; %d acknowledged comments are no longer in it. New epoch %s (was %s);"
            " clients resume with a reload, moderators are alerted.",
            self.meeting_id, why, look.last, self.high, len(missing), self.epoch,
            previous or "unknown",
        )  # fmt: skip
        self.alerts.append(found.frame())
        return found

    def _regression(self, look: Look) -> str | None:
        if self.epoch is not None and look.epoch != self.epoch:
            return "its epoch key is missing" if look.epoch is None else "its epoch changed"
        if id_key(look.last) < id_key(self.high):
            return f"its last id went back from {self.high} to {look.last}"
        if look.gone:
            return f"event {look.gone} is no longer in it"
        return None

    async def _settle(self, epochs: Epochs, known: str) -> str:
        high = self.high if self.high != "0-0" else ""
        new = secrets.token_urlsafe(9)
        return await epochs.settle(self.meeting_id, known=known, high=high, new=new)
