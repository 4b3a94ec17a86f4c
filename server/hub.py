"""Fan-out: one reader per meeting per process, each batch encoded once per audience.

A feed tails its meeting's stream (XREAD BLOCK) and hands the same frame to every connection.
Each connection has a bounded outbox; one that falls behind is dropped and told to resume,
never slowing the others. A lone event goes out at once; while fan-out is busy, what piles up
goes as one frame, at most `max_delay` late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Collection

from moderation import Meeting, MeetingEnded, MeetingStarted, apply
from moderation.events import CommentHidden, CommentReleased
from moderation.projections import PublicEvent, for_staff, for_viewer
from moderation.questions import Board
from server.metrics import Metrics
from server.store import Entry, Store, StoreUnavailable
from server.wire import events_frame, id_key

logger = logging.getLogger(__name__)

READ_COUNT = 200  # events per frame at most, so one frame stays far below an outbox
BLOCK_MS = 2000
IDLE_GRACE = 10.0  # seconds a feed with no connections keeps reading before it stops
FANOUT_SLICE = 250  # connections served between two looks at other work (~3 ms)
DUTY = 0.5  # while busy, fan-out takes at most this share of the time; the rest is for others


class Batch:
    """Events read together, encoded once for an audience and shared by its connections.

    `frame` is the whole WebSocket text frame: server frames are not masked, so the same bytes
    go to every connection.
    """

    __slots__ = ("events", "first", "frame", "last", "last_id", "text")

    def __init__(self, events: list[PublicEvent], last_id: str) -> None:
        self.events = events
        self.last_id = last_id
        self.first = id_key(str(events[0]["id"]))
        self.last = id_key(last_id)
        self.text = events_frame(events, last_id)
        self.frame = text_frame(self.text.encode())

    def after(self, since: tuple[int, int]) -> Batch | None:
        """This batch without the events a connection already has (a rare, per-connection copy)."""
        kept = [e for e in self.events if id_key(str(e["id"])) > since]
        return Batch(kept, self.last_id) if kept else None


def text_frame(payload: bytes) -> bytes:
    """An unfragmented, unmasked WebSocket text frame (RFC 6455 section 5.2)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class Connection:
    """One socket as the hub sees it.

    With the socket's transport (our uvicorn protocol lends it, see `server/transport.py`) a
    batch is written straight to it and the transport's buffer is the outbox: no task and no
    copy per connection. Under any other ASGI server a writer task drains a bounded queue, and
    runs only while there is work, so an idle viewer holds no task either way.
    """

    __slots__ = (
        "_held",
        "_send",
        "_since",
        "_transport",
        "_writer",
        "closed",
        "frames",
        "lagging",
        "limit",
        "on_lag",
        "size",
    )

    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        limit: int,
        on_lag: Callable[[], None],
        transport: asyncio.WriteTransport | None = None,
    ) -> None:
        self._send = send
        self._transport = transport
        self.limit = limit
        self.on_lag = on_lag
        self.frames: deque[Batch] = deque()
        self.size = 0
        self.lagging = False
        self.closed = False
        self._writer: asyncio.Task[None] | None = None
        self._held = True  # batches wait until the catch-up history has been sent
        self._since: tuple[int, int] | None = None

    def push(self, batch: Batch) -> bool:
        """Deliver or queue a batch; False when the client fell behind (the caller drops us)."""
        if self.lagging or self.closed:
            return not self.lagging
        if self._since is not None:
            if batch.last <= self._since:
                return True
            if batch.first <= self._since:
                batch = batch.after(self._since) or batch
            self._since = None
        transport = self._transport
        if transport is not None and not self._held:
            if transport.get_write_buffer_size() > self.limit:
                return self._fell_behind()
            if not transport.is_closing():
                transport.write(batch.frame)
            return True
        if self.frames and self.size + len(batch.text) > self.limit:
            return self._fell_behind()
        self.frames.append(batch)
        self.size += len(batch.text)
        if self._writer is None and not self._held:
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return True

    def _fell_behind(self) -> bool:
        self.lagging = True
        self.frames.clear()
        self.size = 0
        if self._writer is not None:
            # It waits on a socket that does not drain; nothing of a frame is half-sent.
            self._writer.cancel()
        return False

    def release(self, since: str) -> None:
        """The client has everything up to `since`: deliver what comes after, from now on."""
        waiting, self.frames, self.size = self.frames, deque(), 0
        self._since = id_key(since)
        self._held = False
        for batch in waiting:
            if not self.push(batch):
                self.on_lag()
                return

    def abort(self) -> None:
        """Drop the connection at once (a client that has not read for too long)."""
        self.closed = True
        if self._transport is not None:
            self._transport.abort()

    async def _drain(self) -> None:
        try:
            while self.frames and not self.lagging:
                batch = self.frames[0]
                await self._send(batch.text)
                if self.frames and self.frames[0] is batch:
                    self.frames.popleft()
                    self.size -= len(batch.text)
        except Exception:  # the socket closed under us; its handler cleans up
            self.frames.clear()
            self.size = 0
        finally:
            self._writer = None


class Feed:
    """One meeting's reader in this process and the connections it serves."""

    def __init__(self, hub: Hub, meeting_id: str) -> None:
        self.hub = hub
        self.meeting_id = meeting_id
        self.meeting: Meeting | None = None
        self.position = "0-0"
        self.viewers: set[Connection] = set()
        # Consoles, each with whether it may see contact details, and the board they share.
        self.staff: dict[Connection, bool] = {}
        self.board: Board | None = None
        # Comments hidden now: catch-up history leaves their text out.
        self.hidden: set[str] = set()
        self.ready = asyncio.Event()
        self.failure: BaseException | None = None
        self.task: asyncio.Task[None] | None = None
        self._empty_since = time.monotonic()
        self._next_at = 0.0

    async def start(self) -> None:
        """Find the stream's end, then the meeting (so no change between them is missed)."""
        try:
            self.position = await self.hub.store.last_id(self.meeting_id)
            self.meeting = await self.hub.store.meeting(self.meeting_id)
            # Read after the position: a change since is in the stream too, and applies again.
            self.hidden = await self.hub.store.hidden_comments(self.meeting_id)
        except BaseException as error:
            self.failure = error
            raise
        finally:
            self.ready.set()
        self.task = asyncio.get_running_loop().create_task(self._run())

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
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if entries:
                self.hub.clear_problem(f"feed {self.meeting_id}")
                await self._dispatch(entries)
        self.hub.forget(self)

    def _idle_for_long(self) -> bool:
        if self.viewers or self.staff:
            self._empty_since = time.monotonic()
            return False
        return time.monotonic() - self._empty_since > IDLE_GRACE

    async def _next_batch(self) -> list[Entry]:
        store = self.hub.store
        entries = await store.read(
            self.meeting_id, self.position, count=READ_COUNT, block_ms=BLOCK_MS
        )
        wait = self._next_at - asyncio.get_running_loop().time()
        if entries and wait > 0:
            # Busy: let events pile up into one frame instead of one frame each.
            await asyncio.sleep(wait)
            more = await store.read(self.meeting_id, entries[-1][0], count=READ_COUNT, block_ms=0)
            entries.extend(more)
        return entries

    async def _dispatch(self, entries: list[Entry]) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        public = []
        for event_id, event in entries:
            if isinstance(event, MeetingStarted | MeetingEnded):
                self.meeting = apply(self.meeting, event, meeting_id=self.meeting_id)
            elif isinstance(event, CommentHidden):
                self.hidden.add(event.item)
            elif isinstance(event, CommentReleased):
                self.hidden.discard(event.item)
            shown = for_viewer(event_id, event)
            if shown is not None:
                public.append(shown)
        staff = self._staff_events(entries)
        self.position = entries[-1][0]
        cost = loop.time() - began
        # Consoles first: a few connections, and moderators should not wait for every viewer.
        for contacts, events in staff.items():
            targets = {conn for conn, sees in self.staff.items() if sees is contacts}
            if events and targets:
                cost += await self._hand_out(targets, Batch(events, self.position))
        if public and self.viewers:
            cost += await self._hand_out(self.viewers, Batch(public, self.position))
        self.hub.metrics.fanout_latency.observe(max(0.0, time.time() - entries[0][1].at / 1000))
        # The next batch waits so that fan-out keeps to its share of the time, but never longer
        # than `max_delay`; after a quiet spell the next event goes out at once.
        self._next_at = began + min(cost / DUTY, max(cost, self.hub.max_delay))

    def _staff_events(self, entries: list[Entry]) -> dict[bool, list[PublicEvent]]:
        """Each event as consoles see it: what happened and the items it changed, as they are."""
        board = self.board
        if board is None:
            return {}
        found: dict[bool, list[PublicEvent]] = {sees: [] for sees in set(self.staff.values())}
        for event_id, event in entries:
            changed = board.apply(event_id, event)
            if not changed:
                continue
            for contacts, events in found.items():
                items = [for_staff(item, contacts=contacts) for item in changed]
                events.append({"id": event_id, "kind": event.kind, "items": items})  # type: ignore[dict-item]
        return found

    async def staff_board(self) -> Board:
        """The board as of `position`, folded from the record when the first console comes."""
        if self.board is not None:
            return self.board
        board: Board = Board()
        folded: str | None = None
        while True:
            target = self.position
            if folded is not None and id_key(folded) >= id_key(target):
                break
            start = "-" if folded is None else "(" + folded
            chunk = await self.hub.store.range(self.meeting_id, start, target, count=2000)
            for event_id, event in chunk:
                board.apply(event_id, event)
            folded = chunk[-1][0] if chunk else target
            if (built := self._built()) is not None:  # another console built it meanwhile
                return built
        self.board = board  # no await since `position` was checked: nothing is missed
        return board

    def _built(self) -> Board | None:
        return self.board

    async def _hand_out(self, connections: Collection[Connection], batch: Batch) -> float:
        """Give the batch to every connection, in slices, so comments and acks get through.

        A connection that joins meanwhile already has this batch in its catch-up history.
        Returns the time spent handing out, without the other work done between slices.
        """
        metrics = self.hub.metrics
        clock = asyncio.get_running_loop().time
        targets = list(connections)
        busy = 0.0
        for start in range(0, len(targets), FANOUT_SLICE):
            began = clock()
            for conn in targets[start : start + FANOUT_SLICE]:
                if not conn.push(batch):
                    self.viewers.discard(conn)
                    self.staff.pop(conn, None)
                    metrics.slow_clients_dropped.inc()
                    conn.on_lag()
            busy += clock() - began
            await asyncio.sleep(0)  # and writer tasks (other ASGI servers) send here
        metrics.frames_out.inc(len(targets))
        metrics.events_out.inc(len(batch.events) * len(targets))
        return busy


class Hub:
    """All feeds of this process."""

    def __init__(self, store: Store, metrics: Metrics, *, max_delay: float = 0.1) -> None:
        self.store = store
        self.metrics = metrics
        self.max_delay = max_delay
        self.feeds: dict[str, Feed] = {}
        self.problems: dict[str, str] = {}

    async def join(self, meeting_id: str, conn: Connection) -> Feed:
        """Attach `conn` to the meeting's feed, starting it if needed.

        On return `feed.position` is the last id the connection will *not* get live: the caller
        sends the history up to it, then releases the connection.
        """
        feed = self.feeds.get(meeting_id)
        if feed is None:
            feed = self.feeds[meeting_id] = Feed(self, meeting_id)
            try:
                await feed.start()
            except BaseException:
                self.feeds.pop(meeting_id, None)
                raise
        else:
            await feed.ready.wait()
            if feed.failure is not None:
                raise StoreUnavailable(str(feed.failure))
        feed.viewers.add(conn)
        return feed

    def leave(self, feed: Feed, conn: Connection) -> None:
        feed.viewers.discard(conn)
        if feed.staff.pop(conn, None) is not None and not feed.staff:
            feed.board = None  # rebuilt from the record when a console comes again

    async def join_staff(self, meeting_id: str, conn: Connection, *, contacts: bool) -> Feed:
        """Attach a console: on return `feed.board` is as of `feed.position`, which the
        console gets as its snapshot before being released."""
        feed = await self.join(meeting_id, conn)
        feed.viewers.discard(conn)
        try:
            await feed.staff_board()
        except BaseException:
            self.leave(feed, conn)
            raise
        feed.staff[conn] = contacts
        return feed

    def forget(self, feed: Feed) -> None:
        if self.feeds.get(feed.meeting_id) is feed:
            del self.feeds[feed.meeting_id]

    def note_problem(self, problem: str) -> None:
        key = problem.split(":", 1)[0]
        if key not in self.problems:
            logger.error("%s", problem)
        self.problems[key] = problem

    def clear_problem(self, key: str) -> None:
        self.problems.pop(key, None)

    @property
    def connections(self) -> int:
        return sum(len(feed.viewers) + len(feed.staff) for feed in self.feeds.values())

    async def close(self) -> None:
        tasks = [feed.task for feed in self.feeds.values() if feed.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.feeds.clear()
