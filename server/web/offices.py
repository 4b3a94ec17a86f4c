"""Offices and their promise trackers (issue 12): public pages and JSON, the admin's page, and
the staff's routes that add offices, change holders and record and update promises.

Public: `GET /api/offices`, `/api/offices/{id}`, `/api/offices/{id}/promises` (JSON), `/offices`
and `/offices/{id}` (the tracker: overdue first, inherited promises marked; no script needed).
Staff: `/console/offices` (admin: add an office, change a holder, by plain forms with the CSRF
token); `POST /api/offices` and `POST /api/offices/{id}/holder` (the admin token, or a session
allowed `manage_offices` with its CSRF token); `POST /api/meetings/{id}/promises` and
`POST /api/promises/{id}` (the admin token, or a producer's, moderator's or admin's session with
its CSRF token), which also take the producer's desk's and the console's forms.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette import status
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from moderation import InvalidInput, ModerationError
from moderation.model import AkimLevel
from moderation.offices import Office, OfficeFields, find
from moderation.promises import Pledge, tracker
from server.auth.accounts import Permission, Staff
from server.auth.keys import admin_or_staff
from server.auth.sessions import (
    current_staff,
    form,
    require,
    services_of,
    staff_context,
)
from server.usecases import offices as cases_of
from server.usecases.context import UseCases
from server.web.api import form_or_json, is_form
from server.web.errors import STATUS
from server.web.templating import error_page, page_context, render

MAX_BODY = 16 * 1024
# Who may record and update promises (issue 12.5): the producer, from the desk, or a moderator,
# from the console (and the admin, who may do everything).
RECORDERS = (Permission.PRODUCE, Permission.MODERATE)


def _cases(request: Request) -> UseCases:
    return services_of(request).usecases


def _children(offices: dict[str, Office], office_id: str) -> list[str]:
    return sorted(o.id for o in offices.values() if o.parent == office_id)


def _ordered(offices: dict[str, Office]) -> list[Office]:
    """Offices with each parent before its districts: roots by id, then their children."""
    shown: list[Office] = []

    def visit(parent: str) -> None:
        for office in sorted(offices.values(), key=lambda o: o.id):
            if office.parent == parent and office not in shown:
                shown.append(office)
                visit(office.id)

    visit("")
    return shown + [o for o in sorted(offices.values(), key=lambda o: o.id) if o not in shown]


async def tracker_of(cases: UseCases, office_id: str) -> dict[str, Any]:
    """`GET /api/offices/{id}/promises`: the office, its holders and every promise of it,
    overdue first (`NotFound` for no such office)."""
    ledger = await cases_of.ledger(cases)
    office = find(ledger.offices, office_id)
    today = cases_of.today(cases)
    promises = tracker(office, ledger.promises.values(), today)
    shown = office.public(_children(ledger.offices, office.id))
    return {
        "office": shown,
        "holder": shown["holder"],
        "holders": shown["holders"],
        "today": today.isoformat(),
        "promises": [p.public(office, today) for p in promises],
    }


async def meeting_promises(cases: UseCases, meeting_id: str) -> list[dict[str, Any]]:
    """The promises made at a meeting, as `_promises.html` lists them (overdue first), for its
    public results page (issue 12.6): each row as the tracker's JSON has it."""
    ledger = await cases_of.ledger(cases)
    today = cases_of.today(cases)
    made = [p for p in ledger.promises.values() if p.meeting == meeting_id]
    rows: list[dict[str, Any]] = []
    for office_id in sorted({p.office for p in made}):
        office = ledger.offices[office_id]
        rows += [p.public(office, today) for p in tracker(office, made, today)]
    return rows


# Public JSON


async def offices_json(request: Request) -> JSONResponse:
    """`GET /api/offices`: every office, each parent before its districts."""
    ledger = await cases_of.ledger(_cases(request))
    shown = [o.public(_children(ledger.offices, o.id)) for o in _ordered(ledger.offices)]
    return JSONResponse({"offices": shown})


async def office_detail_json(request: Request) -> JSONResponse:
    """`GET /api/offices/{office_id}`: one office with its holders and districts."""
    ledger = await cases_of.ledger(_cases(request))
    office = find(ledger.offices, request.path_params["office_id"])
    return JSONResponse(office.public(_children(ledger.offices, office.id)))


async def promises_json(request: Request) -> JSONResponse:
    """`GET /api/offices/{office_id}/promises` (public): the office's promise tracker."""
    return JSONResponse(await tracker_of(_cases(request), request.path_params["office_id"]))


# Public pages


async def offices_page(request: Request) -> Response:
    """`GET /offices`: every office, with its holder and how many promises are overdue."""
    cases = _cases(request)
    ledger = await cases_of.ledger(cases)
    today = cases_of.today(cases)
    rows = []
    for office in _ordered(ledger.offices):
        own = [p for p in ledger.promises.values() if p.office == office.id]
        overdue = sum(p.is_overdue(today) for p in own)
        rows.append({"office": office, "promises": len(own), "overdue": overdue})
    context = page_context(request) | {"rows": rows}
    return render(request, "office_index.html", context)


async def office_page(request: Request) -> Response:
    """`GET /offices/{office_id}`: the office's public promise tracker."""
    cases = _cases(request)
    try:
        found = await tracker_of(cases, request.path_params["office_id"])
    except ModerationError:
        return error_page(request, status.HTTP_404_NOT_FOUND, "not_found")
    ledger = await cases_of.ledger(cases)
    office = ledger.offices[found["office"]["id"]]
    titles = await _meeting_titles(request, {p["meeting"] for p in found["promises"]})
    context = page_context(request) | {"office": office, "tracker": found, "titles": titles}
    staff = await current_staff(request)
    if staff is not None and any(staff.may(p) for p in RECORDERS):
        # Staff who may update promises get a form on each open one (no script needed).
        context |= staff_context(staff) | {"can_update": True}
    context["parent"] = ledger.offices.get(office.parent)
    context["districts"] = [ledger.offices[i] for i in found["office"]["districts"]]
    return render(request, "office.html", context)


async def _meeting_titles(request: Request, meeting_ids: set[str]) -> dict[str, str]:
    lang = str(page_context(request)["lang"])
    titles = {}
    for meeting_id in sorted(meeting_ids):
        meeting = await services_of(request).store.meetings.get(meeting_id)
        titles[meeting_id] = meeting.title_in(lang) if meeting else meeting_id
    return titles


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    """A text field of the body, or `InvalidInput` naming it."""
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    if required and not value.strip():
        raise InvalidInput(f"{name} is required")
    return value


def _fields(body: dict[str, Any]) -> OfficeFields:
    """An office's fields from a body: `level`, `territory`, `territories` (an object by
    language; a form gives `territory_kk`...), `parent`, `kato`, `unit` (issue 13)."""
    names = body.get("territories") or {}
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise InvalidInput("territories must be an object of texts by language")
    for key, value in body.items():
        if key.startswith("territory_") and isinstance(value, str) and value.strip():
            names[key.removeprefix("territory_")] = value
    level = _text(body, "level")
    if level not in set(AkimLevel):
        raise InvalidInput(f"level is one of {', '.join(AkimLevel)}")
    return OfficeFields(level=AkimLevel(level), territory=_text(body, "territory"),
                        territories=names, parent=_text(body, "parent", required=False),
                        kato=_text(body, "kato", required=False),
                        unit=_text(body, "unit", required=False))  # fmt: skip


# Staff JSON (and the forms of the desk and the console)


async def post_office(request: Request) -> JSONResponse:
    """`POST /api/offices` {"id", "level", "territory", "territories", "parent", "kato"}:
    201 with the office."""
    by = await admin_or_staff(request, Permission.MANAGE_OFFICES)
    body = await form_or_json(request, MAX_BODY)
    office_id = _text(body, "id").strip()
    office = await cases_of.add(_cases(request), office_id, _fields(body), by=by)
    return JSONResponse(office.public(), status_code=status.HTTP_201_CREATED)


async def post_holder(request: Request) -> JSONResponse:
    """`POST /api/offices/{office_id}/holder` {"name", "since": "YYYY-MM-DD"}: the office."""
    by = await admin_or_staff(request, Permission.MANAGE_OFFICES)
    body = await form_or_json(request, MAX_BODY)
    office_id = request.path_params["office_id"]
    name, since = _text(body, "name"), _text(body, "since")
    office = await cases_of.set_holder(_cases(request), office_id, name, since, by=by)
    return JSONResponse(office.public())


async def post_promise(request: Request) -> Response:
    """`POST /api/meetings/{meeting_id}/promises` {"what", "due", "promised_by", "question"}:
    201 with the promise as the tracker shows it (a form: 303 back to its `next` page)."""
    by = await admin_or_staff(request, *RECORDERS)
    body = await form_or_json(request, MAX_BODY)
    pledge = Pledge(what=_text(body, "what"), due=_text(body, "due"),
                    promised_by=_text(body, "promised_by", required=False),
                    question=_text(body, "question", required=False))  # fmt: skip
    cases = _cases(request)
    promise = await cases_of.record_promise(cases, request.path_params["meeting_id"], pledge, by=by)
    if is_form(request):
        return _back(body, f"/offices/{promise.office}")
    office = await cases_of.office(cases, promise.office)
    shown = promise.public(office, cases_of.today(cases))
    return JSONResponse(shown, status_code=status.HTTP_201_CREATED)


async def post_promise_status(request: Request) -> Response:
    """`POST /api/promises/{promise_id}` {"status", "note"}: the promise after the update."""
    by = await admin_or_staff(request, *RECORDERS)
    body = await form_or_json(request, MAX_BODY)
    cases = _cases(request)
    promise = await cases_of.update(cases, request.path_params["promise_id"],
                                    _text(body, "status"), _text(body, "note", required=False),
                                    by=by)  # fmt: skip
    if is_form(request):
        return _back(body, f"/offices/{promise.office}")
    office = await cases_of.office(cases, promise.office)
    return JSONResponse(promise.public(office, cases_of.today(cases)))


def _back(body: dict[str, Any], default: str) -> RedirectResponse:
    """303 to the form's `next` page when it is one of ours (a path), else to `default`."""
    target = str(body.get("next") or "")
    parts = urlsplit(target)
    local = target.startswith("/") and not target.startswith("//") and not parts.netloc
    return RedirectResponse(target if local else default, status.HTTP_303_SEE_OTHER)


# The admin's page


@require(Permission.MANAGE_OFFICES)
async def admin_page(request: Request) -> Response:
    """`GET /console/offices`: the offices, a form to add one and one per office to change
    its holder."""
    return await _admin(request, status.HTTP_200_OK)


async def _admin(request: Request, code: int, error: str = "", values: Any = None) -> Response:
    staff: Staff = request.state.staff
    ledger = await cases_of.ledger(_cases(request))
    context = page_context(request) | staff_context(staff)
    done = request.query_params.get("done", "")
    context |= {"offices": _ordered(ledger.offices), "levels": [lv.value for lv in AkimLevel],
                "error": error, "values": values or {}, "done": done}  # fmt: skip
    response = render(request, "office_admin.html", context)
    response.status_code = code
    return response


@require(Permission.MANAGE_OFFICES)
async def admin_add(request: Request) -> Response:
    """`POST /console/offices`: the add form; 303 back, or the page again with the error."""
    fields = dict(await form(request))
    try:
        office_id = _text(fields, "id").strip()
        office = await cases_of.add(_cases(request), office_id, _fields(fields),
                                    by=request.state.staff.name)  # fmt: skip
    except ModerationError as error:
        return await _admin(request, _status(error), error.detail or error.code, fields)
    return RedirectResponse(f"/console/offices?done={office.id}", status.HTTP_303_SEE_OTHER)


@require(Permission.MANAGE_OFFICES)
async def admin_holder(request: Request) -> Response:
    """`POST /console/offices/{office_id}/holder`: a new holder; 303 back, or the error."""
    fields = dict(await form(request))
    office_id = request.path_params["office_id"]
    try:
        await cases_of.set_holder(_cases(request), office_id, _text(fields, "name"),
                                  _text(fields, "since"), by=request.state.staff.name)  # fmt: skip
    except ModerationError as error:
        return await _admin(request, _status(error), error.detail or error.code, fields)
    return RedirectResponse(f"/console/offices?done={office_id}", status.HTTP_303_SEE_OTHER)


def _status(error: ModerationError) -> int:
    return STATUS.get(type(error), status.HTTP_400_BAD_REQUEST)
