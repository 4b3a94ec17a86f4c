"""The audit trail of a meeting, for staff: who did what to which item, when and why."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from moderation import Meeting
from server.auth.accounts import Permission
from server.auth.sessions import require, staff_context
from server.services import Services
from server.web.templating import meeting_or_404, page_context, render

AUDIT_LIMIT = 500


@require(Permission.VIEW_AUDIT)
async def audit_page(request: Request) -> Response:
    """`GET /console/{meeting_id}/audit`: the latest staff actions, newest first."""
    found = await meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    services: Services = request.app.state.services
    entries = await services.store.record.recent(found.id, "+", count=20 * AUDIT_LIMIT)
    actions = [
        {"id": event_id, "event": event}
        for event_id, event in reversed(entries)
        if getattr(event, "by", "")
    ][:AUDIT_LIMIT]
    context = page_context(request) | staff_context(request.state.staff)
    jobs = await services.store.jobs.all(found.id)  # the recording's archive (issue 11)
    context |= {"meeting": found, "actions": actions, "jobs": jobs}
    return render(request, "audit.html", context)
