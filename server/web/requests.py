"""Requests before a meeting (R5, issue 13): residents send them, the commission works on them.

Public: `GET /m/{id}/requests` (what was collected: counts by topic and district, the accepted
requests' texts, the agenda; with the form while the meeting is announced), `POST
/m/{id}/requests` (a form: 303 to that page with `?sent=`; JSON: 201 `{"id", "status"}`) and
`GET /api/meetings/{id}/requests` (the collection as JSON). A sender is known as viewers are: by
the signed viewer cookie, else by a pseudonym of their address.
Staff (`collect_requests`: the commission and the admin): `GET /console/{id}/requests` and
`POST /console/{id}/requests` (`action`: `group`, `tag`, `agenda` or `issue`; a form with the
CSRF token, 303 back; or JSON, 200).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette import status
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from moderation import Meeting, MeetingStatus, ModerationError
from moderation.pool import Issue
from moderation.requests import FIELDS, TOPICS
from moderation.tagging import districts_of
from server.auth.accounts import Permission, Staff
from server.auth.sessions import require, services_of, staff_context
from server.services import VIEWER_COOKIE
from server.usecases import Asked, Rejected, Repeated, is_meeting_id
from server.usecases import requests as cases_of
from server.web.api import form_or_json, is_form
from server.web.errors import STATUS
from server.web.places import district_in
from server.web.templating import error_page, page_context, render

MAX_BODY = 16 * 1024
KNOWN_FIELDS = (*FIELDS, "item", "items", "into", "version", "action", "title", "executor",
                "deadline", "questions", "client_msg_id")  # fmt: skip
REJECTED_FIELD = {"too_long": "text", "reserved_name": "name"}
TOLD = frozenset({"reserved_name", "meeting_closed", "unavailable"})  # words without a count


def field_of(detail: str) -> str:
    """The field an error's detail names first ("text is required" -> `text`), else ""."""
    words = detail.replace(":", " ").replace("'", " ").split()
    return next((w for w in words[:1] if w in KNOWN_FIELDS), "")


def _error(code: int, error: str, detail: str, field: str = "") -> JSONResponse:
    return JSONResponse(
        {"error": error, "detail": detail, "field": field or field_of(detail)}, status_code=code
    )


async def _meeting(request: Request) -> Meeting | None:
    meeting_id = request.path_params["meeting_id"]
    if not is_meeting_id(meeting_id):
        return None
    return await services_of(request).store.meetings.get(meeting_id)


def sender_of(request: Request) -> str:
    """The sender as viewers are known: the signed cookie's pseudonym, else the address's."""
    address = request.client.host if request.client else ""
    return services_of(request).identify(request.cookies.get(VIEWER_COOKIE), address).key


# Public


async def collection_context(request: Request, meeting: Meeting) -> dict[str, Any]:
    """What the requests page and the meeting page of an announced meeting show."""
    collected = await cases_of.collected(services_of(request).usecases, meeting)
    districts = list(districts_of(meeting.territory))
    lang = str(page_context(request)["lang"])
    return {
        "collected": collected,
        "taking_requests": meeting.status is MeetingStatus.SCHEDULED,
        "topics": sorted(TOPICS),
        "districts": districts,
        # Each district by its name in the page's language (the value stays the one
        # `districts_of` gives, as the viewer page's district choice does).
        "district_names": {d: district_in(meeting.territory, d, lang) for d in districts},
        "request_key": secrets.token_urlsafe(12),
    }


async def requests_json(request: Request) -> Response:
    """`GET /api/meetings/{meeting_id}/requests`: the collection (never the senders)."""
    meeting = await _meeting(request)
    if meeting is None:
        return _error(status.HTTP_404_NOT_FOUND, "not_found", "no such meeting")
    collected = await cases_of.collected(services_of(request).usecases, meeting)
    return JSONResponse(
        {
            "meeting": meeting.id,
            "status": meeting.status.value,
            "taking_requests": meeting.status is MeetingStatus.SCHEDULED,
            **collected.public(),
        }
    )


async def requests_page(request: Request) -> Response:
    """`GET /m/{meeting_id}/requests`: the collection, and the form while it is announced."""
    meeting = await _meeting(request)
    if meeting is None:
        return error_page(request, status.HTTP_404_NOT_FOUND, "not_found")
    return await _page(request, meeting, status.HTTP_200_OK)


async def _page(
    request: Request,
    meeting: Meeting,
    code: int,
    error: str = "",
    values: Any = None,
    error_key: str = "",
) -> Response:
    context = page_context(request)
    context |= await collection_context(request, meeting)
    context |= {
        "meeting": meeting,
        "title": meeting.title_in(str(context["lang"])),
        "error": error,
        "error_key": error_key,  # a refusal the page says in its language
        "values": values or {},
        "sent": request.query_params.get("sent", ""),
    }
    response = render(request, "requests.html", context)
    response.status_code = code
    return response


async def post_request(request: Request) -> Response:
    """`POST /m/{meeting_id}/requests`: a resident's request (R5): fields `text` (required),
    `name`, `district`, `topic` and `client_msg_id` (a retry with it records nothing twice)."""
    meeting = await _meeting(request)
    from_page = is_form(request)
    if meeting is None:
        if from_page:
            return error_page(request, status.HTTP_404_NOT_FOUND, "not_found")
        return _error(status.HTTP_404_NOT_FOUND, "not_found", "no such meeting")
    body = await form_or_json(request, MAX_BODY)
    key = body.get("client_msg_id") or secrets.token_urlsafe(12)
    if not isinstance(key, str) or not 1 <= len(key) <= 64:
        return _error(status.HTTP_400_BAD_REQUEST, "invalid_input", "client_msg_id: 1-64 chars")
    cases = services_of(request).usecases
    try:
        outcome = await cases_of.send(cases, meeting, body, sender=sender_of(request), key=key)
    except ModerationError as error:
        code = STATUS.get(type(error), status.HTTP_400_BAD_REQUEST)
        detail = error.detail or error.code
        if from_page:
            return await _page(request, meeting, code, detail, body)
        return _error(code, error.code, detail)
    if isinstance(outcome, Asked | Repeated):
        item = outcome.id if isinstance(outcome, Asked) else outcome.first.id
        if from_page:
            target = f"/m/{meeting.id}/requests?sent={item}"
            return RedirectResponse(target, status.HTTP_303_SEE_OTHER)
        code = status.HTTP_201_CREATED if isinstance(outcome, Asked) else status.HTTP_200_OK
        return JSONResponse({"id": item, "status": "received"}, status_code=code)
    return await _refused(request, meeting, outcome, body, is_form=from_page)


async def _refused(
    request: Request, meeting: Meeting, outcome: object, body: dict[str, Any], *, is_form: bool
) -> Response:
    """A request the record did not take: 400 naming the field, 429 past the limit, 503 when
    the record cannot take it now (sent again with the same `client_msg_id`, it lands once)."""
    if isinstance(outcome, Rejected):
        reason, detail = outcome.reason.value, outcome.detail
        code = {
            "rate_limited": status.HTTP_429_TOO_MANY_REQUESTS,
            "unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
            "overloaded": status.HTTP_503_SERVICE_UNAVAILABLE,
            "meeting_closed": status.HTTP_409_CONFLICT,
        }.get(reason, status.HTTP_400_BAD_REQUEST)
    else:
        reason, detail, code = "retry", "send it again", status.HTTP_503_SERVICE_UNAVAILABLE
    field = REJECTED_FIELD.get(reason, "") or ("district" if "district" in detail else "text")
    if is_form:
        key = f"rejected_{reason}" if reason in TOLD else ""
        return await _page(request, meeting, code, f"{reason}: {detail}", body, key)
    return _error(code, reason, detail, field if code == status.HTTP_400_BAD_REQUEST else "")


# The commission


@require(Permission.COLLECT_REQUESTS)
async def console_page(request: Request) -> Response:
    """`GET /console/{meeting_id}/requests`: the meeting's requests, with the commission's
    forms (group, tag, agenda, issue)."""
    meeting = await _meeting(request)
    if meeting is None:
        return error_page(request, status.HTTP_404_NOT_FOUND, "not_found")
    return await _console(request, meeting, status.HTTP_200_OK)


async def _console(request: Request, meeting: Meeting, code: int, error: str = "") -> Response:
    staff: Staff = request.state.staff
    cases = services_of(request).usecases
    context = page_context(request) | staff_context(staff)
    context |= await collection_context(request, meeting)
    context |= {
        "meeting": meeting,
        "title": meeting.title_in(str(context["lang"])),
        "requests": await cases_of.requests_of(cases, meeting),
        "error": error,
        "done": request.query_params.get("done", ""),
        # A card's "make a problem issue" link fills the form below with its id (no script).
        "chosen": request.query_params.get("issue", "")[:200],
    }
    response = render(request, "request_console.html", context)
    response.status_code = code
    return response


@require(Permission.COLLECT_REQUESTS)
async def console_act(request: Request) -> Response:
    """`POST /console/{meeting_id}/requests`: one commission action, by the signed-in member."""
    meeting = await _meeting(request)
    from_page = is_form(request)
    if meeting is None:
        return _error(status.HTTP_404_NOT_FOUND, "not_found", "no such meeting")
    body = await form_or_json(request, MAX_BODY)
    action = body.get("action")
    cases = services_of(request).usecases
    try:
        done = await cases_of.commission(
            cases, meeting, str(action or ""), body, by=request.state.staff.name
        )
    except ModerationError as error:
        code = STATUS.get(type(error), status.HTTP_400_BAD_REQUEST)
        detail = error.detail or error.code
        if from_page:
            return await _console(request, meeting, code, detail)
        return _error(code, error.code, detail)
    answer = {"issue": done.id} if isinstance(done, Issue) else {"id": done.id}
    if from_page:
        target = f"/console/{meeting.id}/requests?done={next(iter(answer.values()))}"
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    return JSONResponse({"action": action, **answer})
