"""The moderator console: its pages and its WebSocket, and the public transparency report.

A console socket is a staff member's: the handshake needs an exact allowed Origin and a live
session with `view_console`; every command is checked against the session and the user's role
*now*, and the socket closes within seconds of a logout, a removal or a role change (AUTH-2).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette import status
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from moderation import Meeting, ModerationError
from moderation.model import ModerationReason
from moderation.projections import for_staff, meeting_for_viewer
from moderation.questions import Action
from moderation.tagging import Topic, districts_of
from moderation.transparency import Tally
from server.accounts import Permission, Staff
from server.hub import Connection, Feed
from server.i18n import console_strings
from server.meetings import is_meeting_id
from server.moderating import act
from server.pages import error_page, page_context, remember_language
from server.services import Services
from server.staff import require, revalidate, staff_context, staff_from_scope, staff_origin_allowed
from server.store import StoreUnavailable
from server.transport import TRANSPORT
from server.wire import WireError, dumps, parse_staff_message

logger = logging.getLogger(__name__)

REVALIDATE_EVERY = 2.0  # seconds: a logged-out user's consoles close well within 5 s
CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_MEETING = 4404
STAFF_OUTBOX = 8 << 20  # a console holds every item; its backlog may be larger than a viewer's
AUDIT_LIMIT = 500


# Pages


async def _meeting_or_404(request: Request) -> Meeting | Response:
    services: Services = request.app.state.services
    meeting_id = request.path_params["meeting_id"]
    meeting = await services.store.meeting(meeting_id) if is_meeting_id(meeting_id) else None
    return meeting if meeting is not None else error_page(request, 404, "not_found")


@require(Permission.VIEW_CONSOLE)
async def console_index(request: Request) -> Response:
    """`GET /console`: the meetings a console can be opened for."""
    services: Services = request.app.state.services
    staff = request.state.staff
    meetings = sorted(await services.store.meetings(), key=lambda m: -m.created_at)
    context = page_context(request) | staff_context(staff) | {"meetings": meetings}
    return _render(request, "console_index.html", context)


@require(Permission.VIEW_CONSOLE)
async def console_page(request: Request) -> Response:
    """`GET /console/{meeting_id}`: the live queue (the socket brings the data)."""
    found = await _meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    staff: Staff = request.state.staff
    context = page_context(request) | staff_context(staff)
    config = {
        "socket": f"/ws/console/{found.id}",
        "meeting": meeting_for_viewer(found),
        "lang": context["lang"],
        "me": _me(staff),
        "topics": [t.value for t in Topic],
        "districts": list(districts_of(found.territory)),
        "reasons": [r.value for r in ModerationReason],
        "actions": [a.value for a in Action],
        "strings": console_strings(str(context["lang"])),
    }
    context |= {"meeting": found, "config": config}
    return _render(request, "console.html", context)


@require(Permission.VIEW_AUDIT)
async def audit_page(request: Request) -> Response:
    """`GET /console/{meeting_id}/audit`: who did what to which item, when and why."""
    found = await _meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    services: Services = request.app.state.services
    entries = await services.store.recent(found.id, "+", count=20 * AUDIT_LIMIT)
    actions = [
        {"id": event_id, "event": event}
        for event_id, event in reversed(entries)
        if getattr(event, "by", "")
    ][:AUDIT_LIMIT]
    context = page_context(request) | staff_context(request.state.staff)
    context |= {"meeting": found, "actions": actions}
    return _render(request, "audit.html", context)


REPORTS_KEPT = 32  # meetings whose counts this process keeps folded


async def _report(services: Services, meeting_id: str) -> dict[str, object]:
    """The counts as of the stream's end; only what came since the last request is read."""
    reports = services.reports
    if meeting_id not in reports:
        if len(reports) >= REPORTS_KEPT:
            del reports[next(iter(reports))]
        reports[meeting_id] = (asyncio.Lock(), Tally())
    lock, counted = reports[meeting_id]
    async with lock:
        while True:
            start = "-" if counted.last == "0-0" else "(" + counted.last
            chunk = await services.store.range(meeting_id, start, "+", count=5000)
            counted.add(chunk)
            if len(chunk) < 5000:
                break
        return {"as_of": counted.last, **counted.report()}


async def transparency_page(request: Request) -> Response:
    """`GET /m/{meeting_id}/transparency`: the counts of moderation, reconciled with the record."""
    found = await _meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    report = await _report(request.app.state.services, found.id)
    context = page_context(request) | {"meeting": found, "report": report}
    return _render(request, "transparency.html", context)


async def transparency_json(request: Request) -> Response:
    """`GET /api/meetings/{meeting_id}/transparency`: the same counts, for machines."""
    found = await _meeting_or_404(request)
    if not isinstance(found, Meeting):
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(await _report(request.app.state.services, found.id))


def _render(request: Request, name: str, context: dict[str, object]) -> Response:
    response: Response = request.app.state.templates.TemplateResponse(request, name, context)
    return remember_language(request, response, str(context["lang"]))


def _me(staff: Staff) -> dict[str, object]:
    return {
        "name": staff.name,
        "role": staff.role.value,
        "moderate": staff.may(Permission.MODERATE),
        "contacts": staff.may(Permission.SEE_CONTACTS),
    }


# The socket


async def console_socket(websocket: WebSocket) -> None:
    """`GET /ws/console/{meeting_id}`: a console's live queue and its commands."""
    services: Services = websocket.app.state.services
    if not staff_origin_allowed(websocket, services.settings):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)  # 403 before accept
        return
    try:
        staff = await staff_from_scope(services, websocket)
        meeting_id = websocket.path_params["meeting_id"]
        meeting = await services.store.meeting(meeting_id) if is_meeting_id(meeting_id) else None
    except StoreUnavailable:
        await websocket.close(code=status.WS_1013_TRY_AGAIN_LATER)
        return
    if staff is None or not staff.may(Permission.VIEW_CONSOLE):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)  # 403 before accept
        return
    await websocket.accept()
    if meeting is None:
        await websocket.close(code=CLOSE_UNKNOWN_MEETING, reason="unknown meeting")
        return
    await ConsoleSession(services, websocket, meeting, staff).run()


class ConsoleSession:
    """One console from its snapshot to close."""

    def __init__(
        self, services: Services, websocket: WebSocket, meeting: Meeting, staff: Staff
    ) -> None:
        self.services = services
        self.websocket = websocket
        self.meeting = meeting
        self.staff = staff
        lent = websocket.scope.get("extensions", {}).get(TRANSPORT, {})
        self.conn = Connection(self._send, STAFF_OUTBOX, self._lagged, lent.get("transport"))
        self.closing: asyncio.Task[None] | None = None

    async def _send(self, text: str) -> None:
        await self.websocket.send({"type": "websocket.send", "text": text})

    async def run(self) -> None:
        services, feed = self.services, None
        gauge = services.metrics.connections.labels("console")
        gauge.inc()
        watcher = asyncio.get_running_loop().create_task(self._watch())
        try:
            contacts = self.staff.may(Permission.SEE_CONTACTS)
            feed = await services.hub.join_staff(self.meeting.id, self.conn, contacts=contacts)
            assert feed.board is not None
            # No await between joining and this snapshot: it is exactly as of `feed.position`.
            items = [for_staff(item, contacts=contacts) for item in feed.board.items.values()]
            position = feed.position
            await self._send(
                dumps(
                    {
                        "type": "hello",
                        "me": _me(self.staff),
                        "meeting": meeting_for_viewer(feed.meeting or self.meeting),
                        "items": items,
                        "as_of": position,
                    }
                )
            )
            self.conn.release(position)
            await self._receive(feed)
        except WebSocketDisconnect:
            pass
        except StoreUnavailable:
            await self._close(status.WS_1013_TRY_AGAIN_LATER, "unavailable")
        except Exception:
            logger.exception("console socket failed (meeting %s)", self.meeting.id)
            await self._close(status.WS_1011_INTERNAL_ERROR, "internal error")
        finally:
            watcher.cancel()
            gauge.dec()
            if feed is not None:
                services.hub.leave(feed, self.conn)

    async def _receive(self, feed: Feed) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self._send(dumps({"type": "error", "error": "binary", "detail": "JSON"}))
                continue
            await self._command(feed, text)

    async def _command(self, feed: Feed, text: str) -> None:
        try:
            cmd, command = parse_staff_message(text)
        except WireError as error:
            await self._refuse(error.client_msg_id or "", error.code, error.detail)
            return
        staff = await revalidate(self.services, self.staff.session_id, touch=True)
        if staff is None:
            await self._refuse(cmd, "signed_out", "your session has ended")
            await self._close(CLOSE_SIGNED_OUT, "signed out")
            return
        if not staff.may(Permission.MODERATE):
            await self._refuse(cmd, "forbidden", f"the {staff.role} role may not moderate")
            if staff.role != self.staff.role:
                await self._close(CLOSE_FORBIDDEN, "role changed")
            return
        meeting = feed.meeting or self.meeting
        try:
            event_id, event = await act(self.services.store, meeting, command, by=staff.name)
        except ModerationError as error:
            await self._refuse(cmd, error.code, error.detail or error.code)
            return
        except StoreUnavailable:
            await self._refuse(cmd, "unavailable", "the record cannot be reached; try again")
            return
        self.services.metrics.moderation.labels(event.kind).inc()
        await self._send(dumps({"type": "result", "cmd": cmd, "id": event_id, "kind": event.kind}))

    async def _refuse(self, cmd: str, code: str, detail: str) -> None:
        frame = {"type": "refused", "cmd": cmd, "error": code, "detail": detail}
        await self._send(dumps(frame))

    async def _watch(self) -> None:
        """Close the socket when the session ends or the user's role changes (AUTH-2, AUTH-5)."""
        while True:
            await asyncio.sleep(REVALIDATE_EVERY)
            try:
                staff = await revalidate(self.services, self.staff.session_id)
            except StoreUnavailable:
                continue
            if staff is None:
                self._close_soon(CLOSE_SIGNED_OUT, "signed out")
                return
            if staff.role != self.staff.role:
                self._close_soon(CLOSE_FORBIDDEN, "role changed")
                return

    def _close_soon(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = asyncio.get_running_loop().create_task(self._close(code, reason))

    def _lagged(self) -> None:
        self._close_soon(status.WS_1013_TRY_AGAIN_LATER, "lagging: reconnect")

    async def _close(self, code: int, reason: str) -> None:
        self.conn.closed = True
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            async with asyncio.timeout(5):
                await self.websocket.close(code=code, reason=reason)
