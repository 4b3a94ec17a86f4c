"""`GET /`: the meetings, live first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from moderation import MeetingStatus
from server.services import Services
from server.web.places import territory_in
from server.web.templating import page_context, render


async def index(request: Request) -> Response:
    """`GET /`: the meetings, live first."""
    services: Services = request.app.state.services
    order = {MeetingStatus.LIVE: 0, MeetingStatus.SCHEDULED: 1, MeetingStatus.ENDED: 2}
    meetings = sorted(
        await services.store.meetings.all(), key=lambda m: (order[m.status], -m.created_at)
    )
    return render(
        request,
        "index.html",
        page_context(request) | {"meetings": meetings, "territory_in": territory_in},
    )
