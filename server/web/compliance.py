"""Compliance with the calendar (issue 13): `GET /api/compliance?year=YYYY` (public JSON: the
list of gaps, each `{"rule", "unit", "office", "period", "detail"}`, R5's and R6's with their
`meeting`), and the public page `/compliance?year=YYYY` listing the same gaps with the units'
and offices' names. The staff dashboard shows the warnings ahead (`server/web/console.py`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moderation import InvalidInput
from server.auth.sessions import services_of
from server.usecases import calendar as cases_of
from server.web.templating import page_context, render

YEARS = (2000, 2100)


def _year(request: Request) -> int:
    """`?year=`, this year in Almaty when not given; 400 naming `year` for a bad one."""
    raw = request.query_params.get("year", "")
    if not raw:
        return cases_of.now_local(services_of(request).usecases).year
    low, high = YEARS
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"year: a year between {low} and {high}, such as 2026")
    return int(raw)


async def compliance_json(request: Request) -> Response:
    """`GET /api/compliance?year=YYYY`: every gap of the year, by rule, period, office, unit."""
    year = _year(request)
    checked = await cases_of.compliance(services_of(request).usecases, year)
    return JSONResponse([gap.public() for gap in checked.gaps])


async def compliance_page(request: Request) -> Response:
    """`GET /compliance?year=YYYY`: the same gaps, grouped by rule, with names."""
    year = _year(request)
    checked = await cases_of.compliance(services_of(request).usecases, year)
    context = page_context(request)
    lang = str(context["lang"])
    names = {u.id: u.name(lang) for u in checked.units.values()}
    offices = {o.id: o.territory_in(lang) for o in checked.offices.values()}
    rules = [(rule, [g for g in checked.gaps if g.rule == rule]) for rule in ("R1", "R5", "R6")]
    context |= {"year": year, "rules": rules, "count": len(checked.gaps), "names": names,
                "office_names": offices}  # fmt: skip
    return render(request, "compliance.html", context)
