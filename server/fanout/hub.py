"""Fan-out: one reader per meeting per process, each batch encoded once per audience.

A feed tails its meeting's stream (XREAD BLOCK), projects each batch once for every audience
that has connections (`server/fanout/audiences.py`) and hands the same frame to all of that
audience's connections. A lone event goes out at once; while fan-out is busy, what piles up
goes as one frame, at most `max_delay` late. Nothing outside this module touches a feed's
state: connections join through `Hub.join` and read through their `Subscription`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterable

from moderation import Meeting, MeetingEnded, MeetingStarted, apply
from moderation.audiences import PublicEvent, viewer_history
from moderation.board import Board, Update
from moderation.events import CommentHidden, CommentReleased, Event
from moderation.model import Item
from server.fanout.audiences import Audience
from server.fanout.connection import Batch, Connection
from server.metrics import Metrics
from server.store import Entry, Store, StoreUnavailable
from server.wire import id_key

logger = logging.getLogger(__name__)

READ_COUNT = 200  # events per frame at most, so one frame stays far below an outbox
BLOCK_MS = 2000
BOARD_CHUNK = 500  # events folded per read when a board is built from the record (a few ms)
IDLE_GRACE = 10.0  # seconds a feed with no connections keeps reading before it stops
FANOUT_SLICE = 250  # connections served between two looks at other work (~3 ms)
DUTY = 0.5  # while busy, fan-out takes at most this share of the time; the rest is for others
# A board of this many items lives as long as its consoles: it leaves the cyclic collector
# (`gc.freeze`; reference counting still frees it), so no full collection scans it while
# holding the event loop.
FREEZE_AFTER = 5000


class Subscription:
    """One connection's place in a meeting's feed.

    On return from `Hub.join`, `position` is the last id the connection will *not* get live:
    the caller sends what comes before it (a `history`, or the board's `items`), then calls
    `release` with the id the client now has.
    """

    __slots__ = ("_feed", "audience", "conn", "position")

    def __init__(self, feed: Feed, conn: Connection, audience: Audience) -> None:
        self._feed = feed
        self.conn = conn
        self.audience = audience
        self.position = feed.position

    @property
    def meeting(self) -> Meeting:
        assert self._feed.meeting is not None
        return self._feed.meeting

    def history(self, entries: Iterable[Entry]) -> list[PublicEvent]:
        """Entries of the record as a viewer catches up with them (hidden comments left out)."""
        return viewer_history(entries, self._feed.hidden)

    def items(self) -> list[Item]:
        """The board as of `position` (for audiences that fold it)."""
        assert self._feed.board is not None
        return list(self._feed.board.items.values())

    def release(self, since: str) -> None:
        """The client has everything up to `since`: deliver what comes after, from now on."""
        self.conn.release(since)

    def leave(self) -> None:
        self._feed.leave(self.conn, self.audience)


class Feed:
    """One meeting's reader in this process and the connections it serves, by audience."""

    def __init__(self, hub: Hub, meeting_id: str) -> None:
        self.hub = hub
        self.meeting_id = meeting_id
        self.meeting: Meeting | None = None
        self.position = "0-0"
        self.members: dict[Audience, set[Connection]] = {}
        self.board: Board | None = None  # folded while an audience that reads it has members
        self.hidden: set[str] = set()  # comments hidden now: catch-up leaves their text out
        self.ready = asyncio.Event()
        self.failure: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        self._empty_since = time.monotonic()
        self._next_at = 0.0

    async def start(self) -> None:
        """Find the stream's end, then the meeting (so no change between them is missed)."""
        store = self.hub.store
        try:
            self.position = await store.record.last_id(self.meeting_id)
            self.meeting = await store.meetings.get(self.meeting_id)
            # Read after the position: a change since is in the stream too, and applies again.
            self.hidden = await store.board.hidden(self.meeting_id)
        except BaseException as error:
            self.failure = error
            raise
        finally:
            self.ready.set()
        self.task = asyncio.get_running_loop().create_task(self._run())

    @property
    def connections(self) -> int:
        return sum(len(members) for members in self.members.values())

    def leave(self, conn: Connection, audience: Audience) -> None:
        members = self.members.get(audience)
        if members is None:
            return
        members.discard(conn)
        if not members:
            del self.members[audience]
            if not any(a.board for a in self.members):
                self.board = None  # rebuilt from the record when such an audience comes again

    async def _run(self) -> None:
        backoff = 0.1
        while not self._idle_for_long():
            try:
                entries = await self._next_batch()
                backoff = 0.1
            except StoreUnavailable as error:
                self.hub.note_problem(f"feed {self.meeting_id}: {error}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            except Exception:
                logger.exception("feed %s failed; restarting its reader", self.meeting_id)
                self.hub.note_problem(f"feed {self.meeting_id} crashed")
                self._drop_everyone()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if entries:
                self.hub.clear_problem(f"feed {self.meeting_id}")
                await self._dispatch(entries)
        self.hub.forget(self)

    def _drop_everyone(self) -> None:
        """Tell every connection to resume: what this reader cannot read, it cannot deliver,
        and a gap is never silent (G4). A resuming client learns it too (1011, logged)."""
        for audience, members in list(self.members.items()):
            for conn in list(members):
                self.leave(conn, audience)
                conn.on_lag()

    def _idle_for_long(self) -> bool:
        if self.members:
            self._empty_since = time.monotonic()
            return False
        return time.monotonic() - self._empty_since > IDLE_GRACE

    async def _next_batch(self) -> list[Entry]:
        record = self.hub.store.record
        entries = await record.read(
            self.meeting_id, self.position, count=READ_COUNT, block_ms=BLOCK_MS
        )
        wait = self._next_at - asyncio.get_running_loop().time()
        if entries and wait > 0:
            # Busy: let events pile up into one frame instead of one frame each.
            await asyncio.sleep(wait)
            more = await record.read(self.meeting_id, entries[-1][0], count=READ_COUNT, block_ms=0)
            entries.extend(more)
        return entries

    def _fold(self, event_id: str, event: Event) -> Update:
        if isinstance(event, MeetingStarted | MeetingEnded):
            self.meeting = apply(self.meeting, event, meeting_id=self.meeting_id)
        elif isinstance(event, CommentHidden):
            self.hidden.add(event.item)
        elif isinstance(event, CommentReleased):
            self.hidden.discard(event.item)
        board = self.board
        return board.fold(event_id, event) if board is not None else Update(event_id, event)

    async def _dispatch(self, entries: list[Entry]) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        updates = [self._fold(event_id, event) for event_id, event in entries]
        self.position = entries[-1][0]
        cost = loop.time() - began
        # The smallest audiences first: a few consoles need not wait for every viewer.
        for audience, members in sorted(self.members.items(), key=lambda a: len(a[1])):
            projected = [p for u in updates if (p := audience.project(u)) is not None]
            if projected and members:
                self.hub.metrics.batches.labels(audience.name).inc()
                cost += await self._hand_out(audience, members, Batch(projected, self.position))
        self.hub.metrics.fanout_latency.observe(max(0.0, time.time() - entries[0][1].at / 1000))
        # The next batch waits so that fan-out keeps to its share of the time, but never longer
        # than `max_delay`; after a quiet spell the next event goes out at once.
        self._next_at = began + min(cost / DUTY, max(cost, self.hub.max_delay))

    async def _hand_out(self, audience: Audience, members: set[Connection], batch: Batch) -> float:
        """Give the batch to every connection, in slices, so comments and acks get through.

        A connection that joins meanwhile already has this batch in its catch-up history.
        Returns the time spent handing out, without the other work done between slices.
        """
        metrics = self.hub.metrics
        clock = asyncio.get_running_loop().time
        targets = list(members)
        busy = 0.0
        for start in range(0, len(targets), FANOUT_SLICE):
            began = clock()
            for conn in targets[start : start + FANOUT_SLICE]:
                if not conn.push(batch):
                    self.leave(conn, audience)
                    metrics.slow_clients_dropped.inc()
                    conn.on_lag()
            busy += clock() - began
            await asyncio.sleep(0)  # and writer tasks (other ASGI servers) send here
        metrics.frames_out.inc(len(targets))
        metrics.events_out.inc(len(batch.events) * len(targets))
        return busy

    async def fold_board(self) -> None:
        """Fold the board as of `position` from the record, when the first audience that
        reads it comes (another may build it meanwhile: then that one is kept)."""
        board = Board()
        folded: str | None = None
        while self.board is None:
            target = self.position
            if folded is not None and id_key(folded) >= id_key(target):
                self.board = board  # no await since `position` was read: nothing is missed
                if len(board.items) >= FREEZE_AFTER:
                    gc.freeze()  # see `FREEZE_AFTER`
                return
            start = "-" if folded is None else "(" + folded
            chunk = await self.hub.store.record.range(
                self.meeting_id, start, target, count=BOARD_CHUNK
            )
            for event_id, event in chunk:
                board.fold(event_id, event)
            folded = chunk[-1][0] if chunk else target


class Hub:
    """All feeds of this process."""

    def __init__(self, store: Store, metrics: Metrics, *, max_delay: float = 0.1) -> None:
        self.store = store
        self.metrics = metrics
        self.max_delay = max_delay
        self._feeds: dict[str, Feed] = {}
        self.problems: dict[str, str] = {}

    async def join(self, meeting_id: str, conn: Connection, audience: Audience) -> Subscription:
        """Attach `conn` to the meeting's feed as one of `audience`, starting the feed if needed
        (and folding the board, if the audience reads it)."""
        feed = self._feeds.get(meeting_id)
        if feed is None:
            feed = self._feeds[meeting_id] = Feed(self, meeting_id)
            try:
                await feed.start()
            except BaseException:
                self._feeds.pop(meeting_id, None)
                raise
        else:
            await feed.ready.wait()
            if feed.failure is not None:
                raise StoreUnavailable(str(feed.failure))
        if audience.board:
            feed.members.setdefault(audience, set())  # keeps the feed from idling meanwhile
            try:
                await feed.fold_board()
            except BaseException:
                feed.leave(conn, audience)
                raise
        feed.members.setdefault(audience, set()).add(conn)
        return Subscription(feed, conn, audience)

    async def meeting(self, meeting_id: str) -> Meeting | None:
        """The meeting as this process's feed knows it, else from the store (one round trip
        less per connection in a reconnect storm)."""
        feed = self._feeds.get(meeting_id)
        if feed is not None and feed.meeting is not None:
            return feed.meeting
        return await self.store.meetings.get(meeting_id)

    def forget(self, feed: Feed) -> None:
        if self._feeds.get(feed.meeting_id) is feed:
            del self._feeds[feed.meeting_id]

    def note_problem(self, problem: str) -> None:
        key = problem.split(":", 1)[0]
        if key not in self.problems:
            logger.error("%s", problem)
        self.problems[key] = problem

    def clear_problem(self, key: str) -> None:
        self.problems.pop(key, None)

    @property
    def connections(self) -> int:
        return sum(feed.connections for feed in self._feeds.values())

    async def close(self) -> None:
        tasks = [feed.task for feed in self._feeds.values() if feed.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._feeds.clear()
