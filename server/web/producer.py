"""The producer's desk (issue 9): the R4 clock with its phase buttons, the rundown, and the air.

The page is a staff page for those allowed `produce` (producers, admins). Everything it does
goes through the studio's HTTP API (`server/web/clock.py`, `server/web/rundown.py`) with the
session's CSRF token, the same routes a Stream Deck drives through Companion; the moderators'
console socket tells it when to look again.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from moderation import Meeting
from moderation.audiences import meeting_for_viewer
from server.auth.accounts import Permission, Staff
from server.auth.keys import KeyKind, current_key
from server.auth.sessions import require, staff_context
from server.services import Services
from server.web.i18n import producer_strings
from server.web.templating import meeting_or_404, page_context, render


@require(Permission.PRODUCE)
async def producer_page(request: Request) -> Response:
    """`GET /producer/{meeting_id}`: the desk (its script brings the data)."""
    found = await meeting_or_404(request)
    if not isinstance(found, Meeting):
        return found
    services: Services = request.app.state.services
    staff: Staff = request.state.staff
    context = page_context(request) | staff_context(staff)
    api = f"/api/meetings/{found.id}"
    overlay_key = await current_key(services.store, found.id, KeyKind.OVERLAY)
    config = {
        "meeting": meeting_for_viewer(found),
        "lang": context["lang"],
        "socket": f"/ws/console/{found.id}",
        "clock": f"{api}/clock",
        "phase": f"{api}/phase",
        "rundown": f"{api}/rundown",
        "preview": f"/overlay/{found.id}/lower-third?key={overlay_key}&preview=1",
        # Issue 16: the broadcast panel polls its status; "" when this server's ingest is off.
        "broadcast": f"{api}/broadcast" if services.settings.rtmp_port > 0 else "",
        "strings": producer_strings(str(context["lang"])),
    }
    context |= {"meeting": found, "config": config}
    return render(request, "producer.html", context)
