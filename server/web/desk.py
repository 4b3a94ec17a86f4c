"""The phone desk (issue 10.1): an operator types a caller's question while the caller is on
the line, keyboard only, and it joins the one moderator queue as a question of channel `phone`.

- `GET /desk` (`?meeting=ID` to pick one): the page, for the live meeting; among several live,
  the one picked (the latest started by default); with none live, the next scheduled meeting,
  whose requests take calls before it starts (R5), with a notice saying so.
- `POST /api/desk/calls` (JSON, the session's CSRF token as `X-CSRF-Token`): one call,
  `{"meeting_id", "client_msg_id", "name", "district", "callback", "text", "language"}`, handed
  to the intake (`server.usecases.intake`) like any channel's message: the same
  `client_msg_id` twice (a double Enter, a retry) records one question. 201
  `{"id", "status", "meeting_id", "callback"}`, or a refusal naming its `field`.

The callback number is kept with the contacts (retention applies) and shown in E.164 only to
roles that may see contacts (`Permission.SEE_CONTACTS`); others get it masked.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from babel.dates import format_datetime
from starlette import status
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moderation import CommentRejected, InvalidInput, Meeting
from moderation.contacts import mask_phone, normalise_phone
from moderation.model import Channel, MeetingStatus
from moderation.submissions import SPOKEN, accepted_name, valid_district
from moderation.tagging import districts_of
from moderation.text import MAX_COMMENT_CHARS, clean_text, is_blank
from server.auth.accounts import Permission, Staff
from server.auth.sessions import require, staff_context
from server.channels import Inbound
from server.services import Services
from server.usecases import is_meeting_id
from server.usecases.intake import Receipt, choose
from server.web.api import read_json
from server.web.i18n import desk_strings
from server.web.templating import page_context, render

MAX_BODY = 16 * 1024  # a question of 500 characters, each escaped as \uXXXX, and the rest
CLIENT_MSG_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
FIELDS = ("meeting_id", "client_msg_id", "name", "district", "callback", "text", "language")
RETRY_SECONDS = 1
NO_STORE = {"Cache-Control": "no-store"}


class Refusal(Exception):
    """A call not taken, with the field it concerns ("" for none), for the desk to show there."""

    def __init__(
        self, status_code: int, error: str, detail: str, field: str = "", **extra: object
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.body: dict[str, object] = {"error": error, "detail": detail, **extra}
        if field:
            self.body["field"] = field

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if "retry_after" in self.body:
            headers["Retry-After"] = str(self.body["retry_after"])
        return JSONResponse(self.body, status_code=self.status_code, headers=headers)


# The page


@require(Permission.OPERATE_PHONE)
async def desk_page(request: Request) -> Response:
    """`GET /desk`: the form for the meeting the calls are for (its script does the rest)."""
    services: Services = request.app.state.services
    staff: Staff = request.state.staff
    meetings = await services.store.meetings.all()
    offered = candidates(meetings)
    meeting = picked(meetings, offered, request.query_params.get("meeting", ""))
    context = page_context(request) | staff_context(staff)
    lang = str(context["lang"])
    early = meeting is not None and not meeting.is_live
    config = {
        "api": "/api/desk/calls",
        "lang": lang,
        "meeting_id": meeting.id if meeting is not None else "",
        "early": early,
        "districts": list(districts_of(meeting.territory)) if meeting is not None else [],
        "strings": desk_strings(lang),
    }
    context |= {
        "meeting": meeting,
        "candidates": offered,
        "early": early,
        "date": starts_on(meeting, lang) if meeting is not None else "",
        "config": config,
    }
    response = render(request, "desk.html", context)
    response.headers["cache-control"] = "no-store"
    return response


def candidates(meetings: list[Meeting]) -> list[Meeting]:
    """The meetings calls may be taken for: the live ones, latest started first; with none
    live, the scheduled ones (their requests, R5), soonest first."""
    live = sorted((m for m in meetings if m.is_live), key=lambda m: -m.started_at)
    if live:
        return live
    scheduled = [m for m in meetings if m.status is MeetingStatus.SCHEDULED]
    return sorted(scheduled, key=lambda m: (m.starts_at or "9999", m.created_at))


def picked(meetings: list[Meeting], offered: list[Meeting], wanted: str) -> Meeting | None:
    """The meeting the operator picked, if calls may be taken for it; else the one the intake
    routes a phone message to when none is named (`server.usecases.intake.choose`)."""
    for meeting in offered:
        if meeting.id == wanted:
            return meeting
    return choose(meetings, None, Channel.PHONE)


def starts_on(meeting: Meeting, lang: str) -> str:
    """When a scheduled meeting starts, in `lang` ("" when it is not announced)."""
    try:
        when = datetime.fromisoformat(meeting.starts_at)
    except ValueError:
        return ""
    pattern = "d MMMM y, HH:mm" if when.tzinfo is not None else "d MMMM y"
    return format_datetime(when, pattern, tzinfo=when.tzinfo, locale=lang)


# The API


@require(Permission.OPERATE_PHONE)
async def post_call(request: Request) -> Response:
    """`POST /api/desk/calls`: record one call as a phone question (see the module)."""
    services: Services = request.app.state.services
    staff: Staff = request.state.staff
    try:
        call = _fields(await read_json(request, MAX_BODY))
        meeting = await _meeting(services, call["meeting_id"])
        inbound = _inbound(call, meeting, sent_at=services.usecases.clock())
        receipt = await services.intake.receive(inbound, meeting_id=meeting.id)
        services.metrics.intake.labels(Channel.PHONE.value, receipt.outcome).inc()
        body = answer(receipt, wait=rate_wait(services, meeting))
    except Refusal as refusal:
        return refusal.response()
    body["callback"] = shown_callback(inbound.sender if call["callback"].strip() else "", staff)
    return JSONResponse(body, status_code=status.HTTP_201_CREATED, headers=NO_STORE)


def _fields(body: object) -> dict[str, str]:
    """The call's fields as strings (400 naming the first one that is not)."""
    if not isinstance(body, dict):
        raise Refusal(400, "invalid", "the body must be a JSON object")
    call = {}
    for name in FIELDS:
        value = body.get(name, "")
        if not isinstance(value, str):
            raise Refusal(400, "invalid", f"{name} must be a string", name)
        call[name] = value
    if not is_meeting_id(call["meeting_id"]):
        raise Refusal(400, "invalid", "meeting_id must be a meeting's id", "meeting_id")
    if not CLIENT_MSG_ID.fullmatch(call["client_msg_id"]):
        raise Refusal(400, "invalid", "client_msg_id must be a UUID", "client_msg_id")
    if call["language"] not in SPOKEN:
        raise Refusal(400, "invalid", f"language must be one of {', '.join(SPOKEN)}", "language")
    return call


async def _meeting(services: Services, meeting_id: str) -> Meeting:
    meeting = await services.store.meetings.get(meeting_id)
    if meeting is None:
        raise Refusal(404, "not_found", f"no meeting {meeting_id!r}", "meeting_id")
    return meeting


def _inbound(call: dict[str, str], meeting: Meeting, *, sent_at: int) -> Inbound:
    """The call as the intake takes it, each field checked first so that a refusal names it."""
    key = call["client_msg_id"]
    return Inbound(
        channel=Channel.PHONE,
        key=f"desk:{key}",
        sender=_callback(call["callback"]) or f"desk:{key}",
        name=_name(call["name"]),
        text=_text(call["text"]),
        district=_district(meeting, call["district"]),
        language=call["language"],
        sent_at=sent_at,
    )


def _callback(raw: str) -> str:
    """The number in E.164 ("" when none was given)."""
    if not raw.strip():
        return ""
    try:
        return normalise_phone(raw)
    except InvalidInput:
        raise Refusal(400, "invalid", "callback is not a phone number", "callback") from None


def _name(raw: str) -> str:
    """The caller's name; blank stays blank (the district then speaks for them, issue 9.5)."""
    try:
        return accepted_name(raw)
    except CommentRejected as refusal:
        raise Refusal(400, refusal.reason.value, f"name: {refusal.detail}", "name") from None


def _text(raw: str) -> str:
    text = clean_text(raw)
    if is_blank(text):
        raise Refusal(400, "empty", "text: the question is empty", "text")
    if len(text) > MAX_COMMENT_CHARS:
        raise Refusal(400, "too_long", f"text: at most {MAX_COMMENT_CHARS} characters", "text")
    return text


def _district(meeting: Meeting, raw: str) -> str:
    """One of the meeting's districts, whatever the case it was typed in ("" for none)."""
    typed = raw.strip()
    known = {name.casefold(): name for name in districts_of(meeting.territory)}
    try:
        return valid_district(meeting, known.get(typed.casefold(), typed))
    except InvalidInput as error:
        raise Refusal(400, "invalid", f"district: {error.detail}", "district") from None


def answer(receipt: Receipt, *, wait: int) -> dict[str, Any]:
    """The answer to a recorded or repeated call; a `Refusal` for the rest (`wait`: seconds
    a number that called too often waits)."""
    if receipt.outcome in ("recorded", "repeated"):
        return {"id": receipt.item_id, "status": receipt.outcome, "meeting_id": receipt.meeting_id}
    if receipt.outcome == "retry":
        raise Refusal(503, "retry", receipt.detail or "try again", retry_after=RETRY_SECONDS)
    if receipt.detail == "rate_limited":
        detail = f"callback: this number called too often; wait {wait} s"
        raise Refusal(429, "rate_limited", detail, "callback", retry_after=wait)
    if receipt.detail == "no_meeting":
        raise Refusal(409, "no_meeting", "no meeting is live or announced to take the call")
    raise Refusal(400, "refused", f"the call was not taken ({receipt.detail})")


def rate_wait(services: Services, meeting: Meeting) -> int:
    """Seconds until the number may call again: at most one refill of its per-sender bucket
    (HALYQ_SENDER_MESSAGES_PER_MINUTE) or the meeting's slow mode, whichever is longer."""
    per_minute = max(1, services.settings.sender_messages_per_minute)
    return max(-(-60 // per_minute), int(-(-meeting.slow_mode_seconds // 1)), 1)


def shown_callback(contact: str, staff: Staff) -> str:
    """The callback number as `staff` may see it: whole, or masked (issue 10.1)."""
    if not contact or staff.may(Permission.SEE_CONTACTS):
        return contact
    return mask_phone(contact)
