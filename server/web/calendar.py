"""The public annual calendar (R1, issue 13): the page where a resident finds the next meeting
of their unit in two taps (the unit, then its next meeting's page), and its iCalendar feeds:
`GET /calendar.ics` (every office), `/calendar/offices/{id}.ics` and `/calendar/units/{id}.ics`.
No script needed."""

from __future__ import annotations

from starlette import status
from starlette.requests import Request
from starlette.responses import Response

from moderation.calendar import Calendar, Planned, next_meeting
from recordings.ical import CONTENT_TYPE, feed
from server.auth.sessions import services_of
from server.usecases import calendar as cases_of
from server.usecases import territories
from server.web.templating import error_page, page_context, render

FEED_LANGS = ("kk", "ru", "en")


def _base_url(request: Request) -> str:
    return services_of(request).settings.public_url or str(request.base_url)


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang", "")
    return lang if lang in FEED_LANGS else services_of(request).settings.default_lang


def _ics(request: Request, name: str, planned: list[Planned]) -> Response:
    body = feed(name, planned, base_url=_base_url(request), lang=_lang(request))
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "max-age=300"})


async def _calendar(request: Request) -> Calendar:
    return (await cases_of.calendars(services_of(request).usecases)).calendar


async def calendar_ics(request: Request) -> Response:
    """`GET /calendar.ics`: every office's planned meetings."""
    return _ics(request, "Halyq", list((await _calendar(request)).planned.values()))


async def office_ics(request: Request) -> Response:
    """`GET /calendar/offices/{office_id}.ics`: one office's planned meetings (404 for none)."""
    cases = services_of(request).usecases
    office = (await cases.store.offices.ledger()).offices.get(request.path_params["office_id"])
    if office is None:
        return error_page(request, status.HTTP_404_NOT_FOUND, "not_found")
    planned = (await _calendar(request)).of_office(office.id)
    return _ics(request, office.territory_in(_lang(request)), planned)


async def unit_ics(request: Request) -> Response:
    """`GET /calendar/units/{unit_id}.ics`: the planned meetings in one unit (404 for none)."""
    units = await territories.units(services_of(request).usecases)
    unit = units.get(request.path_params["unit_id"])
    if unit is None:
        return error_page(request, status.HTTP_404_NOT_FOUND, "not_found")
    return _ics(request, unit.name(_lang(request)), (await _calendar(request)).of_unit(unit.id))


async def calendar_page(request: Request) -> Response:
    """`GET /calendar`: tap 1 picks a unit (the units with planned meetings, each with the date
    of its next one); `?unit=ID` shows that unit's next meeting, a link to its page (tap 2),
    and the meetings after it."""
    cases = services_of(request).usecases
    calendar = await _calendar(request)
    units = await territories.units(cases)
    now = cases_of.now_local(cases)
    context = page_context(request)
    chosen = request.query_params.get("unit", "")
    if chosen:
        unit = units.get(chosen)
        if unit is None:
            return error_page(request, status.HTTP_404_NOT_FOUND, "not_found")
        ahead = [p for p in calendar.of_unit(unit.id) if not p.cancelled and p.starts >= now]
        context |= {"unit": unit, "next": ahead[0] if ahead else None, "later": ahead[1:6]}
        return render(request, "calendar_unit.html", context)
    listed = sorted({p.unit for p in calendar.planned.values() if p.unit in units},
                    key=lambda u: units[u].name(str(context["lang"])))  # fmt: skip
    rows = [{"unit": units[u], "next": next_meeting(calendar, u, now)} for u in listed]
    return render(request, "calendar.html", context | {"rows": rows})
