"""Territories (issue 13.1): the public tree as JSON and CSV, and the admin's page that adds and
renames units and imports a CSV whole (any bad row: nothing imported, every one shown by line).

Public: `GET /api/territories` (`{"units": [...]}`, parents first) and `GET /api/territories.csv`
(the file `halyq territory import` takes). Staff: `/console/territories` (permission
`manage_offices`, the admin's: plain forms with the session's CSRF token); its import takes a
form's `csv` field (pasted text) or a `text/csv` body with the `X-CSRF-Token` header.
"""

from __future__ import annotations

from typing import Any

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from moderation import ModerationError
from moderation.territories import (
    ImportRefused,
    Problem,
    UnitFields,
    UnitKind,
    find,
    ordered,
    tree,
    with_changes,
)
from server.auth.accounts import Permission, Staff
from server.auth.sessions import form, require, services_of, staff_context
from server.usecases import territories as cases_of
from server.usecases.context import UseCases
from server.web.errors import STATUS
from server.web.templating import page_context, render

MAX_CSV = 1024 * 1024  # a `text/csv` upload: a country's units fit many times over
CSV = "text/csv"


def _cases(request: Request) -> UseCases:
    return services_of(request).usecases


async def territories_json(request: Request) -> JSONResponse:
    """`GET /api/territories`: every unit, parents first, each with the ids under it."""
    return JSONResponse({"units": tree(await cases_of.units(_cases(request)))})


async def territories_csv(request: Request) -> Response:
    """`GET /api/territories.csv`: the units as the CSV `halyq territory import` takes."""
    text = cases_of.write_csv(await cases_of.units(_cases(request)))
    headers = {"Content-Disposition": 'attachment; filename="territories.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)


# The admin's page


@require(Permission.MANAGE_OFFICES)
async def admin_page(request: Request) -> Response:
    """`GET /console/territories`: the units, a form to add one, one per unit to rename it,
    and the import."""
    return await _admin(request, status.HTTP_200_OK)


async def _admin(
    request: Request,
    code: int,
    error: str = "",
    values: Any = None,
    problems: tuple[Problem, ...] = (),
) -> Response:
    staff: Staff = request.state.staff
    units = await cases_of.units(_cases(request))
    context = page_context(request) | staff_context(staff)
    context |= {"units": ordered(units), "kinds": [k.value for k in UnitKind], "error": error,
                "values": values or {}, "problems": problems,
                "done": request.query_params.get("done", "")}  # fmt: skip
    response = render(request, "territory_admin.html", context)
    response.status_code = code
    return response


def _fields(values: dict[str, str]) -> UnitFields:
    return UnitFields(unit_kind=values.get("kind", ""),  # type: ignore[arg-type]  # checked by the domain
                      name_kk=values.get("name_kk", ""), name_ru=values.get("name_ru", ""),
                      name_en=values.get("name_en", ""), kato=values.get("kato", ""),
                      parent=values.get("parent", ""))  # fmt: skip


@require(Permission.MANAGE_OFFICES)
async def admin_add(request: Request) -> Response:
    """`POST /console/territories`: the add form; 303 back, or the page again with the error."""
    values = dict(await form(request))
    try:
        unit = await cases_of.add(_cases(request), values.get("id", ""), _fields(values),
                                  by=request.state.staff.name)  # fmt: skip
    except ModerationError as error:
        return await _admin(request, _status(error), error.detail or error.code, values)
    return RedirectResponse(f"/console/territories?done={unit.id}", status.HTTP_303_SEE_OTHER)


@require(Permission.MANAGE_OFFICES)
async def admin_change(request: Request) -> Response:
    """`POST /console/territories/{unit_id}`: a unit renamed (its names and KATO code, the
    fields the form sends); 303 back, or the page again with the error."""
    values = dict(await form(request))
    cases = _cases(request)
    unit_id = request.path_params["unit_id"]
    try:
        unit = find(await cases_of.units(cases), unit_id)
        changes = {k: v for k, v in values.items() if k in ("name_kk", "name_ru", "name_en",
                                                             "kato")}  # fmt: skip
        await cases_of.change(cases, unit.id, with_changes(unit, **changes),
                              by=request.state.staff.name)  # fmt: skip
    except ModerationError as error:
        return await _admin(request, _status(error), error.detail or error.code, values)
    return RedirectResponse(f"/console/territories?done={unit_id}", status.HTTP_303_SEE_OTHER)


@require(Permission.MANAGE_OFFICES)
async def admin_import(request: Request) -> Response:
    """`POST /console/territories/import`: a CSV (the form's `csv` field, or a `text/csv`
    body) imported whole; 303 back, or 400 with every bad row by its line, nothing imported."""
    data = await _csv_of(request)
    try:
        done = await cases_of.import_csv(_cases(request), data, by=request.state.staff.name)
    except ImportRefused as refused:
        detail = f"nothing imported: {len(refused.problems)} bad row(s)"
        return await _admin(request, status.HTTP_400_BAD_REQUEST, detail, {},
                            refused.problems)  # fmt: skip
    except ModerationError as error:
        return await _admin(request, _status(error), error.detail or error.code)
    return RedirectResponse(
        f"/console/territories?done={len(done)}+units", status.HTTP_303_SEE_OTHER
    )


async def _csv_of(request: Request) -> bytes | str:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != CSV:
        return (await form(request)).get("csv", "")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_CSV:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, f"over {MAX_CSV} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _status(error: ModerationError) -> int:
    return STATUS.get(type(error), status.HTTP_400_BAD_REQUEST)
