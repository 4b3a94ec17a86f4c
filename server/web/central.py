"""The central level (R8, issue 13.6): the lists of problem issues that need central bodies,
grouped by body, for the Government's collections of 15 February and 15 August.

Public: `GET /api/central?period=YYYY-02-15|YYYY-08-15` (JSON; without `period`, the next list
on or after today in Almaty) and `GET /api/central.csv?period=...` (the same rows as CSV, with
the pool's CSV columns after `central_body`, every cell neutralised). Which issues a list holds
is `recordings.exports.central_groups`.
"""

from __future__ import annotations

from datetime import date, timezone

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moderation.deadlines import ALMATY, local_day
from moderation.pool import Issue
from recordings.exports import central_csv, central_json, list_day, next_list_day
from server.auth.sessions import services_of
from server.usecases import pool as pool_cases

NO_STORE = {"Cache-Control": "no-store"}


async def _list(request: Request) -> tuple[list[Issue], date, int, dict[str, timezone]]:
    cases = services_of(request).usecases
    period = request.query_params.get("period", "")
    now = cases.clock()
    day = list_day(period) if period else next_list_day(local_day(now, ALMATY))
    issues = list((await cases.store.pool.pool()).issues.values())
    return issues, day, now, await pool_cases.offsets(cases)


async def central_api(request: Request) -> JSONResponse:
    """`GET /api/central`: `{"period", "count", "bodies": [{"central_body", "issues"}]}`."""
    issues, day, now, offsets = await _list(request)
    return JSONResponse(central_json(issues, day, now, offsets), headers=NO_STORE)


async def central_csv_export(request: Request) -> Response:
    """`GET /api/central.csv`: the list as CSV, grouped by body."""
    issues, day, now, offsets = await _list(request)
    name = f"central-{day.isoformat()}.csv"
    return Response(
        central_csv(issues, day, now, offsets).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE},
    )
