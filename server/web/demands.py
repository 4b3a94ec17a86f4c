"""Meetings on demand (R2, issue 13): the public form, supports, the akimat's answers.

Public: `GET /demands` (every demand with its count of supporters and its answer, a form to ask
for a meeting and a button to support each open one; no script needed), `POST /demands` (a
form: 303 back; JSON: 201 the demand), `POST /demands/{id}/support` (303 back; JSON: 200 the
demand; 409 for a resident who supported it already) and `GET /api/demands`. A resident is
known as viewers are, by the signed viewer cookie (the page gives one), else by a pseudonym of
the address; each address may also ask and support only so often (a shared bucket).
Staff (`answer_demands`: the commission and the admin): `POST /demands/{id}/answer` with
`answer` (`accepted` with `date`, or `declined` with `reason`) and the CSRF token.
"""

from __future__ import annotations

from typing import Any

from starlette import status
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from moderation import ModerationError
from moderation.demands import Answer, Demand
from server.auth.accounts import Permission
from server.auth.sessions import current_staff, require, services_of, staff_context
from server.services import VIEWER_COOKIE
from server.usecases import demands as cases_of
from server.usecases.offices import ledger
from server.web.api import form_or_json, is_form
from server.web.errors import STATUS
from server.web.templating import YEAR, page_context, render

MAX_BODY = 16 * 1024
FIELDS = ("office", "unit", "about", "answer", "date", "reason")
PER_ADDRESS_INTERVAL_MS = 6_000  # an address may ask or support 10 times a minute...
PER_ADDRESS_BURST = 10  # ...after a burst of 10


def _error(code: int, error: str, detail: str) -> JSONResponse:
    words = detail.replace(":", " ").split()
    field = next((w for w in words[:1] if w in FIELDS), "")
    return JSONResponse({"error": error, "detail": detail, "field": field}, status_code=code)


def _supporter(request: Request) -> tuple[str, str]:
    """The resident (the cookie's pseudonym, else the address's) and the address's pseudonym."""
    services = services_of(request)
    address = request.client.host if request.client else ""
    identity = services.identify(request.cookies.get(VIEWER_COOKIE), address)
    return identity.key, identity.address


async def _within_limit(request: Request, address: str) -> bool:
    wait = await services_of(request).store.record.spend(
        "demand:" + address, PER_ADDRESS_INTERVAL_MS, PER_ADDRESS_BURST
    )
    return wait == 0


async def demands_json(request: Request) -> Response:
    """`GET /api/demands`: every demand, open ones first (the most supported first)."""
    demands = await cases_of.listed(services_of(request).usecases)
    return JSONResponse({"demands": [d.public() for d in demands]})


async def demands_page(request: Request) -> Response:
    """`GET /demands`: the demands, the form, a support button on each open one."""
    return await _page(request, status.HTTP_200_OK)


async def _page(request: Request, code: int, error: str = "", values: Any = None) -> Response:
    services = services_of(request)
    staff = await current_staff(request)
    context = page_context(request) | (staff_context(staff) if staff else {})
    offices = (await ledger(services.usecases)).offices
    context |= {
        "demands": await cases_of.listed(services.usecases),
        "offices": sorted(offices.values(), key=lambda o: o.id),
        "answers": [a.value for a in Answer],
        "may_answer": staff is not None and staff.may(Permission.ANSWER_DEMANDS),
        "error": error,
        "values": values or {},
        "done": request.query_params.get("done", ""),
    }
    response = render(request, "demands.html", context)
    response.status_code = code
    if not request.cookies.get(VIEWER_COOKIE):
        address = request.client.host if request.client else ""
        cookie = await services.new_viewer_cookie(address)
        if cookie is not None:
            response.set_cookie(VIEWER_COOKIE, cookie, max_age=YEAR, httponly=True,
                                samesite="lax", secure=request.url.scheme == "https")  # fmt: skip
    return response


async def _answered(
    request: Request, work: Any, body: dict[str, Any], *, created: bool = False
) -> Response:
    """Run `work` (a use case's coroutine) and answer: 303 back to the page or JSON; an error
    is the page again with it (nothing typed is lost) or JSON naming the field."""
    from_page = is_form(request)
    try:
        demand: Demand = await work
    except ModerationError as error:
        code = STATUS.get(type(error), status.HTTP_400_BAD_REQUEST)
        detail = error.detail or error.code
        if from_page:
            return await _page(request, code, detail, body)
        return _error(code, error.code, detail)
    if from_page:
        return RedirectResponse(f"/demands?done={demand.id}#{demand.id}", status.HTTP_303_SEE_OTHER)
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return JSONResponse(demand.public(), status_code=code)


async def _limited(request: Request, body: dict[str, Any]) -> Response:
    detail = "too many requests from this address; try again in a minute"
    if is_form(request):
        return await _page(request, status.HTTP_429_TOO_MANY_REQUESTS, detail, body)
    return _error(status.HTTP_429_TOO_MANY_REQUESTS, "rate_limited", detail)


async def post_demand(request: Request) -> Response:
    """`POST /demands`: `office` (an office's id) or `unit` (in words), and `about`."""
    body = await form_or_json(request, MAX_BODY)
    supporter, address = _supporter(request)
    if not await _within_limit(request, address):
        return await _limited(request, body)
    cases = services_of(request).usecases
    return await _answered(
        request, cases_of.make(cases, body, supporter=supporter), body, created=True
    )


async def post_support(request: Request) -> Response:
    """`POST /demands/{demand_id}/support`: one resident counts once (R2); no body needed."""
    body: dict[str, Any] = {}
    supporter, address = _supporter(request)
    if not await _within_limit(request, address):
        return await _limited(request, body)
    cases = services_of(request).usecases
    demand_id = request.path_params["demand_id"]
    return await _answered(request, cases_of.support(cases, demand_id, supporter=supporter), body)


@require(Permission.ANSWER_DEMANDS)
async def post_answer(request: Request) -> Response:
    """`POST /demands/{demand_id}/answer`: the akimat's answer, recorded by staff."""
    body = await form_or_json(request, MAX_BODY)
    cases = services_of(request).usecases
    demand_id = request.path_params["demand_id"]
    work = cases_of.answer(cases, demand_id, body, by=request.state.staff.name)
    return await _answered(request, work, body)
