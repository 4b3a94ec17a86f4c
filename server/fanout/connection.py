"""A connection as the fan-out sees it: a bounded outbox, written to without awaiting.

Each batch is encoded once per audience and shared by every connection of it. A connection
that falls behind (its outbox passes its limit) is dropped and told to resume, never slowing
the others.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence

from server.fanout.uvicorn import Lent, text_frame
from server.wire import events_frame, id_key

Projected = Mapping[str, object]  # one event as an audience sees it (it has an "id")


class Batch:
    """Events read together, encoded once for an audience and shared by its connections.

    `frame` is the whole WebSocket text frame: server frames are not masked, so the same bytes
    go to every connection.
    """

    __slots__ = ("_frame", "events", "first", "last", "last_id", "text")

    def __init__(self, events: Sequence[Projected], last_id: str) -> None:
        self.events = events
        self.last_id = last_id
        self.first = id_key(str(events[0]["id"]))
        self.last = id_key(last_id)
        self.text = events_frame(events, last_id)
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        """The whole frame's bytes, made once for every lent transport of the audience."""
        if self._frame is None:
            self._frame = text_frame(self.text.encode())
        return self._frame

    def after(self, since: tuple[int, int]) -> Batch | None:
        """This batch without the events a connection already has (a rare, per-connection copy)."""
        kept = [e for e in self.events if id_key(str(e["id"])) > since]
        return Batch(kept, self.last_id) if kept else None


class Notice:
    """A frame that is no event of the record (an alert, a status): told to one connection
    in its place among the batches, never trimmed or skipped as events are."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class Connection:
    """One socket as the hub sees it.

    With the socket's transport (our uvicorn protocol lends it, see `server/fanout/uvicorn.py`) a
    batch is written straight to it and the transport's buffer is the outbox: no task and no
    copy per connection. Under any other ASGI server a writer task drains a bounded queue, and
    runs only while there is work, so an idle viewer holds no task either way.
    """

    __slots__ = (
        "_held",
        "_lent",
        "_send",
        "_since",
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
        lent: Lent | None = None,
    ) -> None:
        self._send = send
        self._lent = lent
        self.limit = limit
        self.on_lag = on_lag
        self.frames: deque[Batch | Notice] = deque()
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
        lent = self._lent
        if lent is not None and not self._held:
            if lent.buffered() > self.limit:
                return self._fell_behind()
            lent.write(batch.frame)
            return True
        if self.frames and self.size + len(batch.text) > self.limit:
            return self._fell_behind()
        self.frames.append(batch)
        self.size += len(batch.text)
        if self._writer is None and not self._held:
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return True

    def tell(self, text: str) -> None:
        """Send a frame that is no event (see `Notice`) after what was handed out before it."""
        if self.lagging or self.closed:
            return
        lent = self._lent
        if lent is not None and not self._held:
            lent.write(text_frame(text.encode()))
            return
        self.frames.append(Notice(text))
        self.size += len(text)
        if self._writer is None and not self._held:
            self._writer = asyncio.get_running_loop().create_task(self._drain())

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
            if isinstance(batch, Notice):
                self.tell(batch.text)
            elif not self.push(batch):
                self.on_lag()
                return

    def retire(self) -> None:
        """The socket's handler is done: let go of its callbacks. They are its session's
        methods, and the session holds this connection: a cycle that only a full collection
        would free, with the socket's every object, long after the socket closed. A server
        that collects rarely (`halyq serve`) would keep a reconnect storm's worth of them."""
        self.closed = True
        self.frames.clear()
        self.size = 0
        self._send = _sent_nowhere
        self.on_lag = _nothing

    def abort(self) -> None:
        """Drop the connection at once (a client that has not read for too long)."""
        self.closed = True
        if self._lent is not None:
            self._lent.abort()

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


async def _sent_nowhere(text: str) -> None:
    """A retired connection's send."""


def _nothing() -> None:
    """A retired connection's `on_lag`."""
