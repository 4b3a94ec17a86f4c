"""The moderator console: its pages and its WebSocket.

A console socket is a staff member's: the handshake needs an exact allowed Origin and a live
session with `view_console`; every command is checked against the session and the user's role
*now*, and the socket closes within seconds of a logout, a removal or a role change (AUTH-2).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging

from starlette import status
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from moderation import CommentPosted, Meeting, ModerationError, PostComment, Submission
from moderation.audiences import for_staff, meeting_for_viewer
from moderation.board import Board
from moderation.model import STAFF_REASONS, Item, ItemKind, ItemStatus
from moderation.rundown import rundown
from moderation.tagging import Topic, districts_of
from server.auth.accounts import Permission, Role, Staff
from server.auth.sessions import (
    require,
    revalidate,
    staff_context,
    staff_from_scope,
    staff_origin_allowed,
)
from server.fanout.audiences import STAFF, STAFF_WITH_CONTACTS
from server.fanout.hub import Subscription
from server.services import Services
from server.settings import Settings
from server.store import StoreUnavailable
from server.usecases import Rejected, Unconfirmed, act, is_meeting_id, submit
from server.usecases import calendar as calendar_of
from server.usecases.pool import overdue as overdue_of
from server.web.i18n import console_strings
from server.web.socket_session import SocketSession
from server.web.templating import meeting_or_404, page_context, render
from server.wire import WireError, dumps, parse_staff_message

logger = logging.getLogger(__name__)

REVALIDATE_EVERY = 2.0  # seconds: a logged-out user's consoles close well within 5 s
CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_UNKNOWN_MEETING = 4404
STAFF_OUTBOX = 8 << 20  # a console holds every item; its backlog may be larger than a viewer's
ENCODE_SLICE = 500  # items encoded between two looks at other work (a few ms)
FIRST_PAGE = 100  # items of each lane in the hello: more than a first screen shows (issue 14)
PAGE_SIZE = 2000  # items in each `page` frame after the hello
LANES = ("incoming", "approved", "on_air", "comments", "done")


# Pages


@require(Permission.VIEW_CONSOLE)
async def console_index(request: Request) -> Response:
    """`GET /console`: the meetings a console can be opened for."""
    services: Services = request.app.state.services
    staff = request.state.staff
    meetings = sorted(await services.store.meetings.all(), key=lambda m: -m.created_at)
    # The channels' status is the admin's business: the server's settings (issue 10).
    channels = channel_states(services.settings) if staff.role == Role.ADMIN else []
    context = page_context(request) | staff_context(staff) | {"meetings": meetings}
    context["channels"] = channels
    # R6 (issue 12): each meeting's due dates missed and issues overdue, flagged on its card.
    context["overdue"] = await overdue_of(services.usecases, meetings)
    # R1, R5 (issue 13): the calendar's warnings ahead and this year's gaps (`/compliance`).
    year = calendar_of.now_local(services.usecases).year
    checked = await calendar_of.compliance(services.usecases, year)
    names = {u.id: u.name(str(context["lang"])) for u in checked.units.values()}
    context |= {"warnings": checked.warnings, "gaps": len(checked.gaps), "unit_names": names,
                "year": year}  # fmt: skip
    return render(request, "console_index.html", context)


# Issue 10: what each channel's intake (`in`) and answers (`out`) need; the phone desk takes
# calls with no setting and answers on the line (None: it has no answers to switch on).
CHANNEL_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "phone": ((), None),
    "whatsapp": (("whatsapp_app_secret", "whatsapp_verify_token"), ("whatsapp_access_token",)),
    "twilio": (("twilio_auth_token", "public_url"), ("twilio_account_sid", "twilio_auth_token")),
    "telegram": (("telegram_secret_token",), ("telegram_bot_token",)),
    "email": (("smtp_port",), ("smtp_relay",)),
}


def channel_states(settings: Settings) -> list[dict[str, object]]:
    """Each channel's intake and answers, on or off (`Settings.channels`), and for one that is
    off, the variables still missing: the admin console's "Channels" box (issue 10)."""

    def missing(names: tuple[str, ...]) -> list[str]:
        return [f"HALYQ_{name.upper()}" for name in names if not getattr(settings, name)]

    states = settings.channels()
    shown = []
    for name, (needs_in, needs_out) in CHANNEL_NEEDS.items():
        state = states[name]
        shown.append(
            {
                "name": name,
                "in": state["in"],
                "out": None if needs_out is None else state["out"],
                "needs_in": [] if state["in"] else missing(needs_in),
                "needs_out": [] if needs_out is None or state["out"] else missing(needs_out),
            }
        )
    return shown


@require(Permission.VIEW_CONSOLE)
async def console_page(request: Request) -> Response:
    """`GET /console/{meeting_id}`: the live queue (the socket brings the data)."""
    found = await meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    staff: Staff = request.state.staff
    _warm(request.app.state.services, found.id)
    context = page_context(request) | staff_context(staff)
    config = {
        "socket": f"/ws/console/{found.id}",
        "meeting": meeting_for_viewer(found),
        "lang": context["lang"],
        "me": _me(staff),
        "topics": [t.value for t in Topic],
        "districts": list(districts_of(found.territory)),
        "reasons": [r.value for r in STAFF_REASONS],
        "strings": console_strings(str(context["lang"])),
    }
    context |= {"meeting": found, "config": config}
    return render(request, "console.html", context)


_WARMING: set[asyncio.Task[None]] = set()  # kept until done (the loop holds tasks weakly)


def _warm(services: Services, meeting_id: str) -> None:
    """Have the hub fold the board while the browser loads the page: the socket's hello then
    waits for less of it (issue 14: 20,000 items open in under a second)."""
    task = asyncio.get_running_loop().create_task(_warm_quietly(services, meeting_id))
    _WARMING.add(task)
    task.add_done_callback(_WARMING.discard)


async def _warm_quietly(services: Services, meeting_id: str) -> None:
    with contextlib.suppress(StoreUnavailable):  # the socket's join meets it, and says so
        await services.hub.warm(meeting_id)


def lanes_of(board: Board) -> dict[str, list[Item]]:
    """The board in the console's lanes, each in the order it shows them (issue 14): incoming
    questions oldest first (nothing waits forever), the approved queue in the order it will go
    on air (the rundown), on air, the comments with the held ones first and then newest first,
    and the questions done with (answered, deferred, rejected, merged), newest first."""
    lanes: dict[str, list[Item]] = {lane: [] for lane in LANES}
    for item in board.items.values():
        lanes[_lane(item)].append(item)
    lanes["incoming"].sort(key=lambda i: (i.at, i.id))
    lanes["approved"] = rundown(board)
    lanes["comments"].sort(key=lambda i: (i.status is not ItemStatus.HELD, -i.at, i.id))
    lanes["done"].sort(key=lambda i: (-i.at, i.id))
    return lanes


def _lane(item: Item) -> str:
    if item.kind is ItemKind.COMMENT:
        return "comments"
    if item.status is ItemStatus.NEW:
        return "incoming"
    if item.status in (ItemStatus.APPROVED, ItemStatus.QUEUED):
        return "approved"
    return "on_air" if item.status is ItemStatus.ON_AIR else "done"


async def _with_items(frame: str, items: list[Item], *, contacts: bool) -> str:
    """`frame` with its empty `items` filled, encoded a slice at a time: a board of tens of
    thousands of items never holds the event loop for long (items are immutable, so the
    snapshot stays as it was taken)."""
    parts = []
    for start in range(0, len(items), ENCODE_SLICE):
        parts += [
            dumps(for_staff(i, contacts=contacts)) for i in items[start : start + ENCODE_SLICE]
        ]
        await asyncio.sleep(0)
    head, tail = frame.rsplit('"items":[]', 1)  # the last key but `as_of`/`more`: nothing after
    return f'{head}"items":[{",".join(parts)}]{tail}'


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
        meeting = await services.hub.meeting(meeting_id) if is_meeting_id(meeting_id) else None
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


class ConsoleSession(SocketSession):
    """One console from its snapshot to close."""

    def __init__(
        self, services: Services, websocket: WebSocket, meeting: Meeting, staff: Staff
    ) -> None:
        super().__init__(services, websocket, meeting, STAFF_OUTBOX)
        self.staff = staff

    kind = "console"

    async def _join(self) -> Subscription:
        audience = STAFF_WITH_CONTACTS if self._contacts else STAFF
        return await self.services.hub.join(self.meeting.id, self.conn, audience)

    @property
    def _contacts(self) -> bool:
        return self.staff.may(Permission.SEE_CONTACTS)

    async def _serve(self, joined: Subscription) -> None:
        # No await between joining and this snapshot: it is exactly as of `position`.
        board, position = joined.board(), joined.position
        lanes = lanes_of(board)
        clock = joined.clock(self.services.usecases.clock()).public()  # R4: the countdown
        first = [i for lane in lanes.values() for i in lane[:FIRST_PAGE]]
        rest = [i for lane in lanes.values() for i in lane[FIRST_PAGE:]]
        hello = {"type": "hello", "me": _me(self.staff),
                 "meeting": meeting_for_viewer(joined.meeting), "clock": clock,
                 "lanes": {name: len(lane) for name, lane in lanes.items()},
                 "placed": list(board.placed), "items": [], "as_of": position,
                 "more": len(rest)}  # fmt: skip
        await self._send(await _with_items(dumps(hello), first, contacts=self._contacts))
        await self._pages(rest)
        if (greeting := self.websocket.app.state.health.greeting()) is not None:
            await self._send(greeting)  # the banner, for a console opened while degraded
        for alert in joined.alerts():  # FLT-6: history the record lost, and what it held
            await self._send(alert)
        joined.release(joined.position)
        await self._receive(joined)

    async def _pages(self, rest: list[Item]) -> None:
        """The rest of the snapshot after the hello, in `page` frames, before any event (the
        hello carries each lane's first screen, so a board of 20,000 items shows at once)."""
        for start in range(0, len(rest), PAGE_SIZE):
            more = max(0, len(rest) - start - PAGE_SIZE)
            frame = dumps({"type": "page", "items": [], "more": more})
            page = rest[start : start + PAGE_SIZE]
            await self._send(await _with_items(frame, page, contacts=self._contacts))

    async def _receive(self, joined: Subscription) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await self._send(dumps({"type": "error", "error": "binary", "detail": "JSON"}))
                continue
            await self._command(joined, text)

    async def _command(self, joined: Subscription, text: str) -> None:
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
        if isinstance(command, PostComment):
            await self._post(joined, cmd, dataclasses.replace(command, name=staff.name))
            return
        try:
            done = await act(self.services.usecases, joined.meeting, command, by=staff.name)
        except ModerationError as error:
            await self._refuse(cmd, error.code, error.detail or error.code)
            return
        except StoreUnavailable:
            await self._refuse(cmd, "unavailable", "the record cannot be reached; try again")
            return
        kind = done.event.kind
        self.services.metrics.moderation.labels(kind).inc()
        await self._send(dumps({"type": "result", "cmd": cmd, "id": done.id, "kind": kind}))

    async def _post(self, joined: Subscription, cmd: str, command: PostComment) -> None:
        """A comment as staff, by the one way in (`submit`): the chat shows it with the staff
        badge (issue 8). Answered like a command: `result` with its id, or `refused`."""
        submission = Submission(what=command, sender=f"staff:{command.name}")
        outcome = await submit(self.services.usecases, joined.meeting, submission)
        if isinstance(outcome, Rejected):
            await self._refuse(cmd, outcome.reason.value, outcome.detail or outcome.reason.value)
        elif isinstance(outcome, Unconfirmed):
            await self._refuse(cmd, "unconfirmed", outcome.detail)
        else:
            frame = {"type": "result", "cmd": cmd, "id": outcome.id, "kind": CommentPosted.kind}
            await self._send(dumps(frame))

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
