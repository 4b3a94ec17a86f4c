"""The public transparency report of a meeting's moderation, as a page and as JSON (PRIV-4)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from moderation import Meeting
from server.services import Services
from server.web.templating import meeting_or_404, page_context, render


async def _report(request: Request, meeting: Meeting) -> dict[str, object]:
    """The counts as of the stream's end; only what came since the last request is read."""
    services: Services = request.app.state.services
    as_of, report = await services.usecases.reports.of(meeting.id)
    return {"as_of": as_of, **report}


async def transparency_page(request: Request) -> Response:
    """`GET /m/{meeting_id}/transparency`: the counts of moderation, reconciled with the record."""
    found = await meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    context = page_context(request) | {"meeting": found, "report": await _report(request, found)}
    return render(request, "transparency.html", context)


async def transparency_json(request: Request) -> Response:
    """`GET /api/meetings/{meeting_id}/transparency`: the same counts, for machines."""
    found = await meeting_or_404(request)
    if not isinstance(found, Meeting):
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(await _report(request, found))
