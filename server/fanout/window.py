"""A feed's recent window of its record, so that resumes and fresh histories share reads.

A reconnect storm brings thousands of viewers back at once, nearly all asking for the same few
events. The feed keeps the record's latest entries in memory (the events it fans out anyway)
and answers catch-ups from them; when a catch-up reaches further back, one read fills the
window for everyone who waits meanwhile (FLT-4: not one `XRANGE` per client).
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from server.store import Entry
from server.wire import id_key

T = TypeVar("T")
Key = tuple[int, int]
NOTHING = (0, 0)  # below every id: a window whose floor is this holds the whole record
SLACK = 256  # entries kept beyond `keep` before the oldest go (trimmed in chunks, not one by one)


class Window:
    """Every entry of the record with `floor < id <= top`, oldest first.

    `floor_is_entry` says whether the floor's own id is an event of the record (a resume from it
    then misses exactly the window). `keep` is how many entries the feed's readers have asked
    for; the window grows to it as events arrive, and a `fill` reads what is still missing.
    """

    __slots__ = ("entries", "floor", "floor_id", "floor_is_entry", "generation", "keep", "keys")

    def __init__(self, position: str) -> None:
        self.entries: list[Entry] = []
        self.keys: list[Key] = []
        self.keep = 0
        self.generation = 0
        self.floor_id = position
        self.floor = id_key(position)
        self.floor_is_entry = position != "0-0"

    @property
    def whole(self) -> bool:
        """The window holds the record from its first event."""
        return self.floor == NOTHING

    def reset(self, position: str) -> None:
        """The record lost history: nothing held is known to be in it any more."""
        self.entries, self.keys = [], []
        self.generation += 1
        self.floor_id, self.floor = position, id_key(position)
        self.floor_is_entry = False

    def add(self, entries: list[Entry]) -> None:
        """Entries the feed just read (all after everything held)."""
        self.entries += entries
        self.keys += (id_key(e[0]) for e in entries)
        if len(self.entries) > self.keep + SLACK:
            self._trim(len(self.entries) - self.keep)

    def _trim(self, drop: int) -> None:
        self.floor_id, self.floor = self.entries[drop - 1][0], self.keys[drop - 1]
        self.floor_is_entry = True
        del self.entries[:drop], self.keys[:drop]

    def knows(self, after: str, limit: int) -> bool:
        """Whether the window can answer `missed(after, limit)` (else a `fill` may)."""
        key = id_key(after)
        if key > self.floor or (key == self.floor and self.floor_is_entry):
            return True
        return self.whole or len(self.entries) > limit  # before the start, or too far back

    def missed(self, after: str, limit: int) -> list[Entry] | None:
        """The entries after `after`, or None when the client must reload: more than `limit`
        missed, or `after` is no event of the record (see `knows`)."""
        key = id_key(after)
        if key > self.floor:
            index = bisect_left(self.keys, key)
            if index == len(self.keys) or self.keys[index] != key:
                return None  # between the floor and the top, and not an event
            missed = self.entries[index + 1 :]
        elif key == self.floor and self.floor_is_entry:
            missed = self.entries
        else:
            return None
        return missed if len(missed) <= limit else None

    def recent(self, count: int) -> list[Entry] | None:
        """The last `count` entries, or None when the window holds fewer than the record."""
        if len(self.entries) >= count or self.whole:
            return self.entries[-count:] if count else []
        return None

    def want(self, count: int) -> None:
        self.keep = max(self.keep, count)

    def shortfall(self) -> int:
        """Entries to read below the floor to hold `keep` (one more becomes the new floor)."""
        return max(0, self.keep - len(self.entries)) + 1

    def prepend(self, older: list[Entry], asked: int, floor: Key, generation: int) -> None:
        """Entries read up to the floor as it was (`floor`, `generation`), oldest first; kept
        only if nothing moved the floor meanwhile."""
        if (floor, generation) != (self.floor, self.generation):
            return
        if len(older) < asked:  # the record has nothing before them
            kept, self.floor_id, self.floor, self.floor_is_entry = older, "0-0", NOTHING, False
        else:
            kept = older[1:]
            self.floor_id, self.floor = older[0][0], id_key(older[0][0])
            self.floor_is_entry = True
        self.entries[:0] = kept
        self.keys[:0] = [id_key(e[0]) for e in kept]


class Gather(Generic[T]):
    """One read at a time, shared. With `fresh`, whoever asks while a read is under way gets
    the next one, which starts after they asked (so its answer is at least as fresh as one of
    their own); without, they share the read under way."""

    __slots__ = ("_current", "_fresh", "_next", "_read", "_task")

    def __init__(self, read: Callable[[], Awaitable[T]], *, fresh: bool = True) -> None:
        self._read = read
        self._fresh = fresh
        self._current: asyncio.Future[T] | None = None
        self._next: asyncio.Future[T] | None = None
        self._task: asyncio.Task[None] | None = None

    async def get(self) -> T:
        future = None if self._fresh else self._current
        if future is None:
            if self._next is None:
                self._next = asyncio.get_running_loop().create_future()
            future = self._next
            if self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._run())
        # A waiter that gives up (its client left) must not cancel the read for the others.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        try:
            while (future := self._next) is not None:
                self._next, self._current = None, future
                try:
                    result = await self._read()
                except asyncio.CancelledError:
                    future.cancel()
                    raise
                except Exception as error:  # every waiter gets it: StoreUnavailable, mostly
                    future.set_exception(error)
                    future.exception()  # retrieved: a waiter that left need not see it
                    continue
                future.set_result(result)
        finally:
            self._task = self._current = None
            if self._next is not None:  # cancelled: nobody reads for them any more
                self._next.cancel()
                self._next = None
