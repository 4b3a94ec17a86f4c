"""Fan-out: one reader per meeting per process, each batch encoded once per audience.

A feed tails its meeting's stream (XREAD BLOCK), projects each batch once for every audience
that has connections (`server/fanout/audiences.py`) and hands the same frame to all of that
audience's connections. A lone event goes out at once; while fan-out is busy, what piles up
goes as one frame, at most `max_delay` late. Nothing outside this module touches a feed's
state: connections join through `Hub.join` and read through their `Subscription`.

Catch-ups share reads (FLT-4): a feed answers resumes and recent histories from its window of
the record (`server/fanout/window.py`), and viewers that join together share one snapshot
read. Every second or so a feed checks that the record has not gone back (FLT-6,
`server/fanout/continuity.py`); if it has, every connection is told to resume, and resumes from
the old epoch reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Iterable

from moderation import Meeting, MeetingEnded, MeetingStarted, PhaseChanged, apply
from moderation.audiences import PublicEvent, viewer_history
from moderation.board import Board, Update
from moderation.clock import Reading, reading_from
from moderation.events import BroadcastChanged, CommentHidden, CommentReleased, Event
from moderation.model import Item
from server.fanout.audiences import STAFF, STAFF_WITH_CONTACTS, Audience
from server.fanout.connection import Batch, Connection
from server.fanout.continuity import Continuity, Discontinuity
from server.fanout.sweeper import Sweeper
from server.fanout.window import Gather, Window
from server.metrics import Metrics
from server.store import Entry, Snapshot, Store, StoreUnavailable
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
# A console's page asks for its meeting's board to be folded while the browser loads the
# page's scripts (issue 14: 20,000 items take a good part of a second to fold); a board so
# folded is kept this long for the socket that is coming, then dropped if no console came.
WARM_FOR = 30.0
CHECK_EVERY = 1.0  # seconds between two looks at the record's epoch and ids (FLT-6: within 5 s)
SEAMS = 32  # batches read before the record is looked at again, however soon
FILL_TRIES = 3  # window fills a catch-up waits for before it gives up and says reload
MODERATORS = (STAFF, STAFF_WITH_CONTACTS)  # audiences told about a discontinuity


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

    def board(self) -> Board:
        """The board itself as of `position` (for audiences that fold it): its items and the
        rundown's order (`moderation.rundown`). Read it before any await: the feed folds on."""
        assert self._feed.board is not None
        return self._feed.board

    def clock(self, now: int) -> Reading:
        """The meeting's clock (R4) read at `now`, as of the feed's position (at or after
        `position`): a phase change after it reaches the client as an event."""
        return reading_from(self.meeting, self._feed.phase, now)

    @property
    def epoch(self) -> str:
        """The record's epoch: a client resumes with it, and reloads when it changed."""
        return self._feed.continuity.epoch or ""

    def alerts(self) -> list[str]:
        """Discontinuity frames of this meeting that moderators should see (FLT-6)."""
        return list(self._feed.continuity.alerts)

    async def snapshot(self, after: str = "0-0") -> Snapshot:
        """The board's public snapshot for a client that has everything up to `after`: one
        the feed read since it delivered anything newer, else one read now, shared with every
        client that asks meanwhile (a storm makes a few reads, not one per viewer)."""
        return await self._feed.snapshot(after)

    async def since(self, after: str, limit: int) -> list[Entry] | None:
        """The entries after `after`, up to `position` (moved on to the feed's), or None when
        the client must reload: more than `limit` missed, or `after` is no event of the
        record. Served from the feed's window; catch-ups that reach further back share reads.
        """
        feed = self._feed
        if id_key(after) > id_key(feed.position):
            return await feed.ahead(after)  # the client has what this feed has not read yet
        feed.window.want(limit + 1)
        for _ in range(FILL_TRIES):
            if feed.window.knows(after, limit):
                self.position = feed.position
                return feed.window.missed(after, limit)
            await feed.fill()
        return None

    async def recent(self, count: int) -> list[Entry]:
        """The last `count` entries, up to `position` (moved on to the feed's)."""
        feed = self._feed
        feed.window.want(count)
        for _ in range(FILL_TRIES):
            if (recent := feed.window.recent(count)) is not None:
                self.position = feed.position
                return recent
            await feed.fill()
        feed.hub.metrics.resume_reads.inc()
        return await feed.hub.store.record.recent(feed.meeting_id, self.position, count=count)

    def release(self, since: str) -> None:
        """The client has everything up to `since`: deliver what comes after, from now on."""
        self.conn.release(since)

    def leave(self) -> None:
        """The socket is done: no more batches, and the connection lets go of it."""
        self._feed.leave(self.conn, self.audience)
        self.conn.retire()


class Feed:
    """One meeting's reader in this process and the connections it serves, by audience."""

    def __init__(self, hub: Hub, meeting_id: str) -> None:
        self.hub = hub
        self.meeting_id = meeting_id
        self.meeting: Meeting | None = None
        self.phase: PhaseChanged | None = None  # the latest phase change: the clock (R4)
        self.position = "0-0"
        self.members: dict[Audience, set[Connection]] = {}
        self.board: Board | None = None  # folded while an audience that reads it has members
        self._folding: asyncio.Task[None] | None = None  # the fold every caller waits for
        self._warm_until = 0.0  # a board folded ahead of its console is kept until then
        self.closed = False  # the hub is closing: the reader stops at its next look
        self.hidden: set[str] = set()  # comments hidden now: catch-up leaves their text out
        self.ready = asyncio.Event()
        self.failure: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        self._empty_since = time.monotonic()
        self._next_at = 0.0
        self.continuity = hub.continuity(meeting_id)
        self.window = Window(self.position)
        self._snapshots: Gather[Snapshot] = Gather(lambda: hub.store.board.snapshot(meeting_id))
        self._snapshot: Snapshot | None = None
        self._fills: Gather[None] = Gather(self._fill, fresh=False)  # a fill serves all below
        self._seams: list[str] = []  # ids reads started from: each must stay in the record
        self._from_entry = False  # whether `position` is an event of the record as it is now
        self._look_at = 0.0

    async def start(self) -> None:
        """Find the stream's end, then the meeting (so no change between them is missed), and
        see that the record has not gone back since this process last knew it."""
        store = self.hub.store
        try:
            self.position = await store.record.last_id(self.meeting_id)
            self.meeting = await store.meetings.get(self.meeting_id)
            # Read after the position: a change since is in the stream too, and applies again.
            self.hidden = await store.board.hidden(self.meeting_id)
            self.phase = await store.clocks.latest(self.meeting_id)
            lost = await self.continuity.check(store.epochs, self.continuity.anchors())
        except BaseException as error:
            self.failure = error
            raise
        finally:
            self.ready.set()
        self.window = Window(self.position)
        self._from_entry = self.position != "0-0"
        if lost is not None:
            self.hub.metrics.discontinuities.inc()
        loop = asyncio.get_running_loop()
        self._look_at = loop.time() + CHECK_EVERY
        self.task = loop.create_task(self._run())

    @property
    def connections(self) -> int:
        return sum(len(members) for members in self.members.values())

    def leave(self, conn: Connection, audience: Audience) -> None:
        members = self.members.get(audience)
        if members is None:
            return
        if conn in members:
            members.discard(conn)
            self.hub.sweeper.left()
        if not members:
            del self.members[audience]
            if not any(a.board for a in self.members) and time.monotonic() > self._warm_until:
                self.board = None  # rebuilt from the record when such an audience comes again

    async def _run(self) -> None:
        backoff = 0.1
        while not self.closed and not self._idle_for_long():
            try:
                await self._look_at_record()
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
            self.hub.clear_problem(f"feed {self.meeting_id}")
            self._drop_cold_board()
            if entries:
                await self._dispatch(entries)
        self.hub.forget(self)

    def _drop_everyone(self) -> None:
        """Tell every connection to resume: what this reader cannot read, it cannot deliver,
        and a gap is never silent (G4). A resuming client learns it too (1011, logged)."""
        for audience, members in list(self.members.items()):
            for conn in list(members):
                self.leave(conn, audience)
                conn.on_lag()

    async def _look_at_record(self) -> None:
        """FLT-6: every `CHECK_EVERY` seconds (or `SEAMS` reads), see that the record kept
        its epoch, its last id and every entry a read started from since the last look."""
        loop = asyncio.get_running_loop()
        if loop.time() < self._look_at and len(self._seams) < SEAMS:
            return
        seams, self._seams = self._seams, []
        try:
            lost = await self.continuity.check(self.hub.store.epochs, seams)
        except BaseException:
            self._seams[:0] = seams  # looked at next time
            raise
        self._look_at = loop.time() + CHECK_EVERY
        if lost is not None:
            await self._lost(lost)

    async def _lost(self, lost: Discontinuity) -> None:
        """The record went back: forget what was read from it, tell moderators what is gone,
        and have every connection resume (under the new epoch, a resume reloads)."""
        self.hub.metrics.discontinuities.inc()
        self.window.reset(self.position)
        self._snapshot = None
        self._from_entry = False  # `position` is past the record's end now (XSETID moved it)
        frame = lost.frame()
        for audience in MODERATORS:
            for conn in list(self.members.get(audience, ())):
                conn.tell(frame)
        self._drop_everyone()
        self.board = None  # folded again from the record for the next console
        self.hidden = await self.hub.store.board.hidden(self.meeting_id)  # last: it may fail

    @property
    def _reading(self) -> bool:
        """The reader's last read of the record worked."""
        return f"feed {self.meeting_id}" not in self.hub.problems

    def _seam(self, start: str) -> None:
        """A read that started from `start` returned entries: `start` must stay in the record
        (if the record loses it, a later look sees the gap even after new appends)."""
        if self._from_entry:
            self._seams.append(start)
        self._from_entry = True

    def _idle_for_long(self) -> bool:
        if self.members:
            self._empty_since = time.monotonic()
            return False
        return time.monotonic() - self._empty_since > IDLE_GRACE

    async def _next_batch(self) -> list[Entry]:
        record = self.hub.store.record
        start = self.position
        entries = await record.read(self.meeting_id, start, count=READ_COUNT, block_ms=BLOCK_MS)
        if entries:
            self._seam(start)
        wait = self._next_at - asyncio.get_running_loop().time()
        if entries and wait > 0:
            # Busy: let events pile up into one frame instead of one frame each.
            await asyncio.sleep(wait)
            start = entries[-1][0]
            more = await record.read(self.meeting_id, start, count=READ_COUNT, block_ms=0)
            if more:
                self._seam(start)
            entries.extend(more)
        return entries

    async def snapshot(self, after: str) -> Snapshot:
        """A snapshot as of at least `position` and `after`: every event after it reaches the
        client, in its catch-up or live (see `Subscription.snapshot`)."""
        kept = self._snapshot
        needed = max(id_key(self.position), id_key(after))
        if kept is not None and id_key(kept.as_of) >= needed and self._reading:
            return kept  # (while the reader fails, a new socket learns it: 1013, as before)
        fresh = await self._snapshots.get()
        if self._snapshot is None or id_key(fresh.as_of) > id_key(self._snapshot.as_of):
            self._snapshot = fresh
        return fresh

    async def fill(self) -> None:
        """Read what the window lacks below its floor: once for every catch-up waiting."""
        await self._fills.get()

    async def _fill(self) -> None:
        window = self.window
        asked, floor, generation = window.shortfall(), window.floor, window.generation
        self.hub.metrics.resume_reads.inc()
        older = await self.hub.store.record.recent(self.meeting_id, window.floor_id, count=asked)
        window.prepend(older, asked, floor, generation)

    async def ahead(self, after: str) -> list[Entry] | None:
        """A resume from past this feed's position (another process read further): nothing
        to send if `after` is an event of the record, else a reload."""
        self.hub.metrics.resume_reads.inc()
        found = await self.hub.store.record.range(self.meeting_id, after, after, count=1)
        return [] if found else None

    def _fold(self, event_id: str, event: Event) -> Update:
        client_msg_id = getattr(event, "client_msg_id", None)
        if client_msg_id is not None and not self.hub.store.record.replicas:
            # What a loss would be told. Not where replicas must confirm each ack (issue 15):
            # an event read from the primary may never reach a replica, and its sender was
            # then answered `retry`, never acked; an acked one is on a replica, not lost.
            self.continuity.acked(client_msg_id, event_id)
        if isinstance(event, MeetingStarted | MeetingEnded | BroadcastChanged):  # issue 16
            self.meeting = apply(self.meeting, event, meeting_id=self.meeting_id)
        elif isinstance(event, PhaseChanged):
            self.phase = event
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
        self.window.add(entries)
        self.continuity.saw(self.position)
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
        reads it comes; callers meanwhile (a second console, the page's `warm`) share the one
        fold."""
        if self.board is not None:
            return
        if self._folding is None or self._folding.done():
            self._folding = asyncio.get_running_loop().create_task(self._fold_board())
            self._folding.add_done_callback(_retrieved)
        await asyncio.shield(self._folding)

    def warm(self) -> None:
        """Start folding the board for a console whose page was just served (its socket comes
        a few hundred ms later), and keep it `WARM_FOR` seconds for that socket."""
        self._warm_until = time.monotonic() + WARM_FOR
        if self.board is None and (self._folding is None or self._folding.done()):
            self._folding = asyncio.get_running_loop().create_task(self._fold_board())
            self._folding.add_done_callback(_retrieved)

    def _drop_cold_board(self) -> None:
        """A board warmed for a console that never came is dropped (a board audience's
        leaving drops it too: `leave`)."""
        if self.board is None or any(a.board for a in self.members):
            return
        if time.monotonic() > self._warm_until:
            self.board = None

    async def _fold_board(self) -> None:
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


def _retrieved(task: asyncio.Task[None]) -> None:
    """A fold nobody waits for any more may fail (the store away): its error is the next
    caller's to meet, not a "never retrieved" warning."""
    if not task.cancelled():
        task.exception()


class Hub:
    """All feeds of this process."""

    def __init__(self, store: Store, metrics: Metrics, *, max_delay: float = 0.1) -> None:
        self.store = store
        self.metrics = metrics
        self.max_delay = max_delay
        self._feeds: dict[str, Feed] = {}
        self._continuity: dict[str, Continuity] = {}
        self.sweeper = Sweeper()
        self.problems: dict[str, str] = {}

    async def join(self, meeting_id: str, conn: Connection, audience: Audience) -> Subscription:
        """Attach `conn` to the meeting's feed as one of `audience`, starting the feed if needed
        (and folding the board, if the audience reads it)."""
        self.sweeper.moved()
        feed = await self._started(meeting_id)
        if audience.board:
            feed.members.setdefault(audience, set())  # keeps the feed from idling meanwhile
            try:
                await feed.fold_board()
            except BaseException:
                feed.leave(conn, audience)
                raise
        feed.members.setdefault(audience, set()).add(conn)
        return Subscription(feed, conn, audience)

    async def _started(self, meeting_id: str) -> Feed:
        """The meeting's feed in this process, started if it was not."""
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
        return feed

    async def warm(self, meeting_id: str) -> None:
        """Fold the meeting's board ahead of a console's socket (`Feed.warm`): its page asks,
        so the socket's hello need not wait for all of the fold (issue 14)."""
        (await self._started(meeting_id)).warm()

    async def meeting(self, meeting_id: str) -> Meeting | None:
        """The meeting as this process's feed knows it, else from the store (one round trip
        less per connection in a reconnect storm)."""
        feed = self._feeds.get(meeting_id)
        if feed is not None and feed.meeting is not None:
            return feed.meeting
        return await self.store.meetings.get(meeting_id)

    def continuity(self, meeting_id: str) -> Continuity:
        """What this process knows of the meeting's record (kept while feeds come and go)."""
        found = self._continuity.get(meeting_id)
        if found is None:
            found = self._continuity[meeting_id] = Continuity(meeting_id)
        return found

    def acked(self, meeting_id: str, client_msg_id: str, event_id: str) -> None:
        """A comment or question was acknowledged with `event_id`: remembered (a bounded
        number per meeting), so that a loss of history can name it to moderators (FLT-6)."""
        self.continuity(meeting_id).acked(client_msg_id, event_id)

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
        self.sweeper.stop()
        feeds = self._feeds.values()
        for feed in feeds:
            # A cancel that lands inside redis-py's blocking read can be lost (the read ends in
            # a connection error, which the reader retries): the flag stops it all the same.
            feed.closed = True
        tasks = [t for feed in feeds for t in (feed.task, feed._folding) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, StoreUnavailable):
                await task
        self._feeds.clear()

    def tell_everyone(self, text: str) -> int:
        """Send `text` (a `status` frame, see `server/health.py`) to every open connection of
        this process, viewers and consoles alike; returns how many were told. Each gets it in
        its place among its batches (`Connection.tell`): one still catching up, after that."""
        told = 0
        for feed in list(self._feeds.values()):
            for members in list(feed.members.values()):
                for conn in list(members):
                    if not (conn.closed or conn.lagging):
                        conn.tell(text)
                        told += 1
        return told
