"""The viewer WebSocket: catch-up, live events, and comments acknowledged after a durable append.

The protocol is in docs/protocol.md. A bad frame gets an `error` or `rejected` answer and the
socket stays open; a policy breach closes it; anything unexpected is logged and closes 1011.
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

from starlette import status
from starlette.websockets import WebSocket, WebSocketDisconnect

from moderation import Meeting, RejectReason, Submission
from moderation.audiences import meeting_for_viewer
from moderation.commands import AskQuestion, PostComment, Vote
from server.fanout.audiences import VIEWER
from server.fanout.connection import Connection
from server.fanout.hub import Subscription
from server.fanout.uvicorn import lent
from server.services import VIEWER_COOKIE, Services, ViewerIdentity
from server.store import Entry, StoreUnavailable
from server.usecases import (
    Asked,
    Held,
    NotVoted,
    Outcome,
    Posted,
    Rejected,
    Repeated,
    Unconfirmed,
    is_meeting_id,
    submit,
    vote,
)
from server.usecases.submit import busy, retry_after_seconds, settled_or
from server.wire import (
    RELOAD_FRAME,
    WireError,
    ack_frame,
    dumps,
    error_frame,
    events_frame,
    hello_frame,
    id_key,
    is_stream_id,
    parse_client_message,
    rejected_frame,
    retry_frame,
    voted_frame,
)

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_MEETING = 4404
CLOSE_LAGGING = status.WS_1013_TRY_AGAIN_LATER
LAG_CLOSE_TIMEOUT = 30.0  # a client that reads nothing for this long is not waited for
MAX_BAD_FRAMES = 50
FLOOD_RATE = 10.0  # frames per second one connection may send before Redis is even asked
FLOOD_BURST = 30.0
# A connection whose frames have been waiting for this long while its comments take long to
# record and the record is busy (it sends faster than it can be answered) has its comments
# refused `overloaded` at once until it has caught up (OVL-2): its answers stay within the ack
# timeout instead of piling up.
MAX_BACKLOG = 0.25
SLOW_ANSWER = 0.05
BUSY_IN_FLIGHT = 16  # fewer on their way: a lone flood, which the flood limit answers
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
    identity = services.identify(websocket.cookies.get(VIEWER_COOKIE), client)
    await ViewerSession(services, websocket, meeting, identity).run(after)


async def _find_meeting(services: Services, meeting_id: str) -> Meeting | None:
    return await services.hub.meeting(meeting_id) if is_meeting_id(meeting_id) else None


class ViewerSession:
    """One viewer's socket from catch-up to close."""

    __slots__ = (
        "_closer",
        "_task",
        "answered_in",
        "bad_frames",
        "conn",
        "identity",
        "idle_at",
        "meeting_id",
        "refilled",
        "services",
        "tokens",
        "viewer",
        "websocket",
    )

    def __init__(
        self, services: Services, websocket: WebSocket, meeting: Meeting, identity: ViewerIdentity
    ) -> None:
        self.services = services
        self.websocket = websocket
        self.meeting_id = meeting.id
        self.identity = identity
        self.viewer = identity.key
        self.conn = Connection(
            self._send, services.settings.outbox_bytes, self._lagged, lent(websocket.scope)
        )
        self.bad_frames = 0
        self.tokens = FLOOD_BURST
        self.refilled = time.monotonic()
        self.idle_at = self.refilled  # when it last had no frame waiting
        self.answered_in = 0.0  # seconds its last comment took to be answered
        self._closer: asyncio.Task[None] | None = None
        self._task: asyncio.Task[object] | None = None

    async def _send(self, text: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": text})

    async def run(self, after: str | None) -> None:
        services = self.services
        self._task = asyncio.current_task()
        gauge = services.metrics.connections.labels("viewer")
        gauge.inc()
        joined: Subscription | None = None
        logger.debug("viewer %x joins meeting %s (after=%s)", id(self), self.meeting_id, after)
        try:
            joined = await services.hub.join(self.meeting_id, self.conn, VIEWER)
            since = await self._catch_up(joined, after)
            joined.release(since)
            await self._receive(joined)
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
            if joined is not None:
                joined.leave()
            logger.debug("viewer %x leaves meeting %s", id(self), self.meeting_id)

    # Catch-up: hello, then what the client missed (or the recent history), then live.

    async def _catch_up(self, joined: Subscription, after: str | None) -> str:
        """Send the history up to the feed's position; returns the id the client now has.

        Reads are the feed's, shared by the viewers that catch up together (FLT-4); a resume
        from another epoch of the record, or from an id it does not have, reloads (FLT-6).
        """
        settings = self.services.settings
        snapshot = await joined.snapshot(after or "0-0")
        meeting = meeting_for_viewer(joined.meeting)
        clock = joined.clock(self.services.usecases.clock()).public()
        hello = hello_frame(meeting, snapshot.held, snapshot.as_of, snapshot.questions, clock)
        await self._send(_with_epoch(hello, joined.epoch))
        if (greeting := self.websocket.app.state.health.greeting()) is not None:
            await self._send(greeting)  # connected while the record is not usable: say so now
        if after is not None and after != "0":
            epoch = self.websocket.query_params.get("epoch") or joined.epoch  # none: not checked
            missed = None
            if epoch == joined.epoch:
                missed = await joined.since(after, settings.resume_limit)
            if missed is not None:
                last = max(after, joined.position, key=id_key)
                await self._send_entries(joined, missed, last)
                return last
            await self._send(RELOAD_FRAME)
        if after == "0":
            return await self._everything(joined)
        recent = await joined.recent(settings.history_limit)
        await self._send_entries(joined, recent, joined.position)
        return joined.position

    async def _everything(self, joined: Subscription) -> str:
        record, position, start = self.services.store.record, joined.position, "-"
        while True:
            chunk = await record.range(self.meeting_id, start, position, count=CHUNK)
            await self._send_entries(joined, chunk, chunk[-1][0] if chunk else position)
            if len(chunk) < CHUNK:
                return position
            start = "(" + chunk[-1][0]

    async def _send_entries(self, joined: Subscription, entries: list[Entry], last: str) -> None:
        await self._send(events_frame(joined.history(entries), last))

    # Comments, questions and votes

    async def _receive(self, joined: Subscription) -> None:
        while True:
            waited: list[bool] = []  # set if `receive` had to wait: no frame was queued
            tick = asyncio.get_running_loop().call_soon(waited.append, True)
            message = await self.websocket.receive()
            tick.cancel()
            if waited:
                self.idle_at = time.monotonic()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self._bad("binary", "send JSON in text frames")
            else:
                await self._frame(joined, text)

    async def _frame(self, joined: Subscription, text: str) -> None:
        arrived = time.monotonic()
        try:
            command = parse_client_message(text)
        except WireError as error:
            if error.client_msg_id is None:
                await self._bad(error.code, error.detail)
            else:
                await self._refuse(
                    error.client_msg_id, Rejected(RejectReason.INVALID, error.detail)
                )
            return
        if isinstance(command, Vote):
            await self._vote(joined, command, arrived)
            return
        cases, identity = self.services.usecases, self.identity
        if not self._flood_allows(arrived):
            # A retry of a recorded comment gets its ack, however fast it comes (DUR-3).
            flood = Rejected(RejectReason.RATE_LIMITED, "too many frames", 1000)
            outcome = await settled_or(cases, self.meeting_id, command.client_msg_id, flood)
        elif self._is_behind(arrived):
            outcome = busy(cases, self.meeting_id, command.client_msg_id)
        else:
            young = identity.is_young(
                self.services.clock(), self.services.settings.viewer_warmup_seconds
            )
            submission = Submission(
                what=command, sender=identity.key, address=identity.address, young=young
            )
            waited = arrived - self.idle_at  # at most: it may have come later than that
            outcome = await submit(cases, joined.meeting, submission, waited=waited)
            self.answered_in = time.monotonic() - arrived
        await self._answer(command, outcome, arrived)

    async def _vote(self, joined: Subscription, command: Vote, arrived: float) -> None:
        if not self._flood_allows(arrived):
            await self._send(error_frame("rate_limited", "too many frames"))
            return
        cases = self.services.usecases
        try:
            result = await vote(cases, joined.meeting, command.question, viewer=self.viewer)
        except StoreUnavailable:
            result = NotVoted("unavailable")
        if isinstance(result, NotVoted):
            await self._send(error_frame(result.code, _VOTE_ERRORS[result.code]))
        else:
            await self._send(voted_frame(command.question, result.votes, repeated=result.repeated))

    async def _answer(
        self, command: PostComment | AskQuestion, outcome: Outcome, arrived: float
    ) -> None:
        if isinstance(outcome, Rejected):
            await self._reject(command.client_msg_id, outcome)
            return
        if isinstance(outcome, Unconfirmed):  # unknown: the client sends it again
            retry_after = retry_after_seconds(outcome)
            await self._send(retry_frame(command.client_msg_id, outcome.detail, retry_after))
            return
        accepted = outcome.first if isinstance(outcome, Repeated) else outcome
        status, reason = _ACK[type(accepted)], getattr(accepted, "reason", "")
        self.services.metrics.ack_latency.observe(time.monotonic() - arrived)
        await self._send(ack_frame(command.client_msg_id, accepted.id, status, reason))

    async def _refuse(self, client_msg_id: str, rejected: Rejected) -> None:
        """Refused here, before `submit` (which counts its own outcomes)."""
        self.services.metrics.comments.labels(rejected.reason.value).inc()
        await self._reject(client_msg_id, rejected)

    async def _reject(self, client_msg_id: str, rejected: Rejected) -> None:
        retry = retry_after_seconds(rejected) if rejected.retry_after_ms else None
        await self._send(rejected_frame(client_msg_id, rejected.reason, rejected.detail, retry))

    def _is_behind(self, now: float) -> bool:
        """Sending faster than it can be answered, while the record is busy (OVL-2)."""
        if now - self.idle_at <= MAX_BACKLOG or self.answered_in <= SLOW_ANSWER:
            return False
        return self.services.usecases.in_flight >= BUSY_IN_FLIGHT

    def _flood_allows(self, now: float) -> bool:
        self.tokens = min(FLOOD_BURST, self.tokens + (now - self.refilled) * FLOOD_RATE)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

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


_ACK = {Posted: "posted", Held: "held", Asked: "pending"}  # what an ack's status says
_VOTE_ERRORS = {
    "not_votable": "no public question with that id",
    "meeting_closed": "votes are taken while live",
    "unavailable": "try again",
}


def _with_epoch(hello: str, epoch: str) -> str:
    """The hello frame with the record's epoch (resumes name it: FLT-6), added to the JSON
    object as text, so that a storm of hellos is encoded once each, not twice."""
    return f'{hello[:-1]},"epoch":{dumps(epoch)}}}'
