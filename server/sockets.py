"""The viewer WebSocket: catch-up, live events, and comments acknowledged after a durable append.

The protocol is in docs/protocol.md. A bad frame gets an `error` or `rejected` answer and the
socket stays open; a policy breach closes it; anything unexpected is logged and closes 1011.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from urllib.parse import urlsplit

from starlette import status
from starlette.websockets import WebSocket, WebSocketDisconnect

from moderation import CommentRejected, Meeting, PostComment, RejectReason, post_comment
from moderation.commands import AskQuestion, Vote
from moderation.events import CommentPosted
from moderation.projections import for_viewer, meeting_for_viewer
from moderation.questions import ask_question, question_item
from server.hub import Connection, Feed
from server.meetings import is_meeting_id, now_ms
from server.moderating import PENDING
from server.services import VIEWER_COOKIE, Services
from server.store import Appended, Durability, Entry, Refused, StoreUnavailable
from server.transport import TRANSPORT
from server.wire import (
    RELOAD_FRAME,
    WireError,
    ack_frame,
    error_frame,
    events_frame,
    hello_frame,
    id_key,
    is_stream_id,
    parse_client_message,
    rejected_frame,
    voted_frame,
)

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_MEETING = 4404
CLOSE_LAGGING = status.WS_1013_TRY_AGAIN_LATER
LAG_CLOSE_TIMEOUT = 30.0  # a client that reads nothing for this long is not waited for
MAX_BAD_FRAMES = 50
FLOOD_RATE = 10.0  # frames per second one connection may send before Redis is even asked
FLOOD_BURST = 30.0
CHUNK = 500  # events per frame when sending a long history


def origin_allowed(websocket: WebSocket, allowed: tuple[str, ...]) -> bool:
    """Same-origin browsers, listed embed origins, and clients that send no Origin at all."""
    origin = websocket.headers.get("origin")
    if origin is None or origin in allowed:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == websocket.headers.get("host")


async def viewer_socket(websocket: WebSocket) -> None:
    """`GET /ws/meetings/{id}?after=<event id>`: one viewer's connection to a meeting."""
    services: Services = websocket.app.state.services
    meeting_id = websocket.path_params["meeting_id"]
    if not origin_allowed(websocket, services.settings.allowed_origins):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)  # refused before accept
        return
    try:
        meeting = await _find_meeting(services, meeting_id)
    except StoreUnavailable:
        await websocket.accept()
        await websocket.close(code=status.WS_1013_TRY_AGAIN_LATER, reason="unavailable")
        return
    await websocket.accept()
    if meeting is None:
        await websocket.close(code=CLOSE_UNKNOWN_MEETING, reason="unknown meeting")
        return
    after = websocket.query_params.get("after")
    if after is not None and not is_stream_id(after):
        await websocket.send_text(error_frame("invalid_after", "after must be an event id"))
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="invalid after")
        return
    client = websocket.client.host if websocket.client else ""
    viewer = services.viewer_key(websocket.cookies.get(VIEWER_COOKIE), client)
    await ViewerSession(services, websocket, meeting, viewer).run(after)


async def _find_meeting(services: Services, meeting_id: str) -> Meeting | None:
    """The meeting as this process's feed knows it, else from the store (one round trip less
    per connection in a reconnect storm)."""
    if not is_meeting_id(meeting_id):
        return None
    feed = services.hub.feeds.get(meeting_id)
    if feed is not None and feed.meeting is not None:
        return feed.meeting
    return await services.store.meeting(meeting_id)


class ViewerSession:
    """One viewer's socket from catch-up to close."""

    __slots__ = (
        "_closer",
        "_task",
        "bad_frames",
        "conn",
        "meeting_id",
        "refilled",
        "services",
        "tokens",
        "viewer",
        "websocket",
    )

    def __init__(
        self, services: Services, websocket: WebSocket, meeting: Meeting, viewer: str
    ) -> None:
        self.services = services
        self.websocket = websocket
        self.meeting_id = meeting.id
        self.viewer = viewer
        lent = websocket.scope.get("extensions", {}).get(TRANSPORT, {})
        self.conn = Connection(
            self._send, services.settings.outbox_bytes, self._lagged, lent.get("transport")
        )
        self.bad_frames = 0
        self.tokens = FLOOD_BURST
        self.refilled = time.monotonic()
        self._closer: asyncio.Task[None] | None = None
        self._task: asyncio.Task[object] | None = None

    async def _send(self, text: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": text})

    async def run(self, after: str | None) -> None:
        services = self.services
        self._task = asyncio.current_task()
        gauge = services.metrics.connections.labels("viewer")
        gauge.inc()
        feed: Feed | None = None
        logger.debug("viewer %x joins meeting %s (after=%s)", id(self), self.meeting_id, after)
        try:
            feed = await services.hub.join(self.meeting_id, self.conn)
            since = await self._catch_up(feed, after)
            self.conn.release(since)
            await self._receive(feed)
        except WebSocketDisconnect:
            pass  # the client left; nothing to answer
        except StoreUnavailable:
            await self._close(status.WS_1013_TRY_AGAIN_LATER, "unavailable")
        except asyncio.CancelledError:
            if self._closer is None:  # not our own doing: a shutdown
                raise
        except Exception:
            logger.exception("viewer socket failed (meeting %s)", self.meeting_id)
            await self._close(status.WS_1011_INTERNAL_ERROR, "internal error")
        finally:
            gauge.dec()
            if feed is not None:
                services.hub.leave(feed, self.conn)
            logger.debug("viewer %x leaves meeting %s", id(self), self.meeting_id)

    # Catch-up: hello, then what the client missed (or the recent history), then live.

    async def _catch_up(self, feed: Feed, after: str | None) -> str:
        """Send the history up to the feed's position; returns the id the client now has."""
        store, settings = self.services.store, self.services.settings
        position = feed.position
        snapshot = await store.snapshot(self.meeting_id)
        assert feed.meeting is not None
        meeting = meeting_for_viewer(feed.meeting)
        await self._send(hello_frame(meeting, snapshot.held, snapshot.as_of, snapshot.questions))
        if after is not None and after != "0":
            # Inclusive start: the first entry must be `after` itself, or that history is gone.
            limit = settings.resume_limit
            entries = await store.range(self.meeting_id, after, "+", count=limit + 2)
            if entries and entries[0][0] == after and len(entries) <= limit + 1:
                missed = [e for e in entries[1:] if _not_after(e[0], position)]
                await self._send_entries(feed, missed, position if missed else after)
                return max(after, position, key=id_key)
            await self._send(RELOAD_FRAME)
        if after == "0":
            start = "-"
            while True:
                chunk = await store.range(self.meeting_id, start, position, count=CHUNK)
                await self._send_entries(feed, chunk, chunk[-1][0] if chunk else position)
                if len(chunk) < CHUNK:
                    return position
                start = "(" + chunk[-1][0]
        recent = await store.recent(self.meeting_id, position, count=settings.history_limit)
        await self._send_entries(feed, recent, position)
        return position

    async def _send_entries(self, feed: Feed, entries: list[Entry], last: str) -> None:
        """History as viewers see it; a comment hidden since is left out (its later
        `comment.hidden` event still says that one was hidden, and why)."""
        hidden = feed.hidden
        shown = [
            p
            for i, e in entries
            if not (hidden and i in hidden and isinstance(e, CommentPosted))
            and (p := for_viewer(i, e)) is not None
        ]
        await self._send(events_frame(shown, last))

    # Comments

    async def _receive(self, feed: Feed) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self._bad("binary", "send JSON in text frames")
            else:
                await self._comment(feed, text)

    async def _comment(self, feed: Feed, text: str) -> None:
        arrived = time.monotonic()
        try:
            command = parse_client_message(text)
        except WireError as error:
            if error.client_msg_id is None:
                await self._bad(error.code, error.detail)
            else:
                await self._reject(error.client_msg_id, RejectReason.INVALID, error.detail)
            return
        if isinstance(command, Vote):
            await self._vote(command, arrived)
            return
        if not self._flood_allows(arrived):
            await self._reject(
                command.client_msg_id, RejectReason.RATE_LIMITED, "too many frames", retry_after=1
            )
            return
        try:
            result = await self._record(feed, command)
        except CommentRejected as rejection:
            await self._refused(command.client_msg_id, rejection, arrived)
            return
        except StoreUnavailable:
            result = Refused("unavailable")
        await self._answer(command.client_msg_id, result, arrived)

    async def _record(self, feed: Feed, command: PostComment | AskQuestion) -> Appended | Refused:
        """Decide on the comment or question and append it; the store's guards have the last
        word."""
        store = self.services.store
        meeting = await self._meeting(feed)
        if isinstance(command, AskQuestion):
            earlier = await store.question_texts(self.meeting_id)
            asked = ask_question(
                meeting, command, viewer=self.viewer, now=now_ms(), earlier=earlier
            )
            if not self._durable():
                return Refused("not_durable")
            return await store.post_comment(self.meeting_id, asked, question_item(PENDING, asked))
        event = post_comment(meeting, command, viewer=self.viewer, now=now_ms())
        if not self._durable():
            return Refused("not_durable")
        return await store.post_comment(self.meeting_id, event)

    async def _meeting(self, feed: Feed) -> Meeting:
        meeting = feed.meeting
        if meeting is None or not meeting.is_live:
            meeting = await self.services.store.meeting(self.meeting_id) or meeting  # feed lags
        assert meeting is not None
        return meeting

    async def _vote(self, command: Vote, arrived: float) -> None:
        if not self._flood_allows(arrived):
            await self._send(error_frame("rate_limited", "too many frames"))
            return
        try:
            status, votes = await self.services.store.vote(
                self.meeting_id, command.question, self.viewer, now_ms()
            )
        except StoreUnavailable:
            await self._send(error_frame("unavailable", "try again"))
            return
        if status in ("ok", "dup"):
            await self._send(voted_frame(command.question, votes, repeated=status == "dup"))
        elif status == "closed":
            await self._send(error_frame("meeting_closed", "votes are taken while live"))
        else:
            await self._send(error_frame("not_votable", "no public question with that id"))

    async def _refused(
        self, client_msg_id: str, rejection: CommentRejected, arrived: float
    ) -> None:
        if rejection.reason is RejectReason.MEETING_CLOSED:
            with contextlib.suppress(StoreUnavailable):
                if seen := await self.services.store.seen(self.meeting_id, client_msg_id):
                    await self._ack(client_msg_id, seen, arrived)  # accepted before it closed (G2)
                    return
        await self._reject(client_msg_id, rejection.reason, rejection.detail)

    async def _answer(self, client_msg_id: str, result: Appended | Refused, arrived: float) -> None:
        if isinstance(result, Appended):
            await self._ack(client_msg_id, result, arrived)
        elif result.why == "rate_limited":
            retry = max(1, math.ceil(result.retry_after_ms / 1000))
            await self._reject(client_msg_id, RejectReason.RATE_LIMITED, "slow mode", retry)
        elif result.why in ("unavailable", "not_durable"):
            detail = "the record is not durable" if result.why == "not_durable" else "try again"
            await self._reject(client_msg_id, RejectReason.UNAVAILABLE, detail)
        else:
            await self._reject(
                client_msg_id, RejectReason.MEETING_CLOSED, "the meeting is not live"
            )

    def _durable(self) -> bool:
        return (
            self.services.store.durability.mode is not Durability.NONE
            or self.services.settings.accept_nondurable
        )

    def _flood_allows(self, now: float) -> bool:
        self.tokens = min(FLOOD_BURST, self.tokens + (now - self.refilled) * FLOOD_RATE)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    async def _ack(self, client_msg_id: str, result: Appended, arrived: float) -> None:
        metrics = self.services.metrics
        label = result.held if result.held == "question" else "held" if result.held else "posted"
        metrics.comments.labels(label).inc()
        metrics.ack_latency.observe(time.monotonic() - arrived)
        await self._send(ack_frame(client_msg_id, result.id, result.held))

    async def _reject(
        self,
        client_msg_id: str,
        reason: RejectReason,
        detail: str,
        retry_after: int | None = None,
    ) -> None:
        self.services.metrics.comments.labels(reason.value).inc()
        await self._send(rejected_frame(client_msg_id, reason, detail, retry_after))

    async def _bad(self, code: str, detail: str) -> None:
        self.services.metrics.bad_frames.labels(code).inc()
        self.bad_frames += 1
        if self.bad_frames > MAX_BAD_FRAMES:
            await self._close(status.WS_1008_POLICY_VIOLATION, "too many bad frames")
            return
        await self._send(error_frame(code, detail))

    # Closing

    def _lagged(self) -> None:
        if self._closer is None:
            logger.info("viewer %x fell behind on meeting %s: closing", id(self), self.meeting_id)
            self._closer = asyncio.get_running_loop().create_task(
                self._close(CLOSE_LAGGING, "lagging: reconnect with after")
            )

    async def _close(self, code: int, reason: str) -> None:
        """Close with `code`; a client that reads nothing never gets it, so stop waiting."""
        self.conn.closed = True  # nothing may follow the close frame
        try:
            async with asyncio.timeout(LAG_CLOSE_TIMEOUT):
                await self.websocket.close(code=code, reason=reason)
        except TimeoutError:
            self.conn.abort()
            if self._task is not None and self._closer is not None:
                self._task.cancel()
        except RuntimeError:
            pass  # already closed


def _not_after(stream_id: str, position: str) -> bool:
    return id_key(stream_id) <= id_key(position)
