"""Who may call each route: one explicit policy per route, checked by tests/server/test_access.py.

A route missing here fails the suite (AUTH-1). Keys are Starlette route paths; a path served by
several routes with different policies is keyed "METHOD path" per method instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from server.auth.accounts import Permission
from server.auth.sessions import require

__all__ = ["POLICIES", "PUBLIC_ROUTES", "Access", "Policy", "policy_for", "require"]


class Access(enum.StrEnum):
    PUBLIC = "public"  # anyone, viewers included
    ADMIN_TOKEN = "admin_token"  # `Authorization: Bearer $HALYQ_ADMIN_TOKEN`
    STAFF = "staff"  # a signed-in staff member, with `permission` when one is named
    # The studio's API (issue 9): `Authorization: Bearer` with the admin token or the meeting's
    # producer key, or a signed-in staff member with `permission` (`server.auth.keys`).
    PRODUCER_KEY = "producer_key"
    # Overlays and data feeds (issue 9): `?key=` the meeting's overlay key, else 404.
    OVERLAY_KEY = "overlay_key"
    # Providers' webhooks (issue 10): the delivery's signature or secret header, checked by
    # the route before anything else (`server/web/webhooks.py`); refused with 401 or 403.
    WEBHOOK = "webhook"
    # Staff JSON APIs (issue 10): `Authorization: Bearer $HALYQ_ADMIN_TOKEN`, or a signed-in
    # staff member with `permission` (`server/web/items.py`); 401 without either, 403 for a
    # role without the permission.
    ADMIN_OR_STAFF = "admin_or_staff"


@dataclass(frozen=True, slots=True)
class Policy:
    access: Access
    permission: Permission | None = None


PUBLIC = Policy(Access.PUBLIC)
ADMIN_TOKEN = Policy(Access.ADMIN_TOKEN)
SIGNED_IN = Policy(Access.STAFF)
PRODUCER = Policy(Access.PRODUCER_KEY, Permission.PRODUCE)
OVERLAY = Policy(Access.OVERLAY_KEY)
WEBHOOK = Policy(Access.WEBHOOK)
QUEUE = Policy(Access.ADMIN_OR_STAFF, Permission.VIEW_CONSOLE)
POOL = Policy(Access.ADMIN_OR_STAFF, Permission.MODERATE)  # the issue pool (issue 12.3)


def staff(permission: Permission) -> Policy:
    return Policy(Access.STAFF, permission)


# Routes anyone may call. Making a route public means adding it here *and* in POLICIES.
PUBLIC_ROUTES = frozenset(
    {
        "/",
        "/m/{meeting_id}",
        "/m/{meeting_id}/calendar.ics",
        "/m/{meeting_id}/live.m3u8",
        "/m/{meeting_id}/live/{segment}",
        "/ws/meetings/{meeting_id}",
        "GET /api/meetings",
        "/api/meetings/{meeting_id}",
        "/healthz",
        "/readyz",
        "/metrics",
        "/static",
        "/login",
        "/m/{meeting_id}/transparency",
        "/api/meetings/{meeting_id}/transparency",
        "/m/{meeting_id}/results",
        "/m/{meeting_id}/transcript",
        "/m/{meeting_id}/transcript.vtt",
        "/m/{meeting_id}/recording",
        "/api/meetings/{meeting_id}/transcript",
        "/api/meetings/{meeting_id}/mine",
        "/api/meetings/{meeting_id}/clock",
        "/api/meetings/{meeting_id}/deadlines",
        "GET /api/issues",
        "/api/issues.csv",
        "GET /api/issues/{issue_id}",
        "/issues",
        "/issues/{issue_id}",
        "/offices",
        "/offices/{office_id}",
        "GET /api/offices",
        "/api/offices/{office_id}",
        "/api/offices/{office_id}/promises",
        "/api/territories",
        "/api/territories.csv",
        "/api/central",
        "/api/central.csv",
        "/calendar",
        "/calendar.ics",
        "/calendar/offices/{office_id}.ics",
        "/calendar/units/{unit_id}.ics",
        "/api/compliance",
        "/compliance",
        "GET /m/{meeting_id}/requests",
        "POST /m/{meeting_id}/requests",
        "/api/meetings/{meeting_id}/requests",
        "GET /demands",
        "POST /demands",
        "/demands/{demand_id}/support",
        "/api/demands",
    }
)

POLICIES: dict[str, Policy] = {
    "/": PUBLIC,
    "/m/{meeting_id}": PUBLIC,
    "/m/{meeting_id}/calendar.ics": PUBLIC,  # one meeting to add to a calendar (issue 14)
    # The broadcast (issue 16): our HLS is public, as the broadcast is; its status is for the
    # admin token, the producer key, and sessions that produce or moderate (the route checks).
    "/m/{meeting_id}/live.m3u8": PUBLIC,
    "/m/{meeting_id}/live/{segment}": PUBLIC,
    "/api/meetings/{meeting_id}/broadcast": PRODUCER,
    "/ws/meetings/{meeting_id}": PUBLIC,
    "GET /api/meetings": PUBLIC,
    "POST /api/meetings": ADMIN_TOKEN,
    "/api/meetings/{meeting_id}": PUBLIC,
    "/api/meetings/{meeting_id}/start": ADMIN_TOKEN,
    "/api/meetings/{meeting_id}/end": ADMIN_TOKEN,
    "/healthz": PUBLIC,
    "/readyz": PUBLIC,
    "/metrics": PUBLIC,
    "/static": PUBLIC,
    "/login": PUBLIC,
    "/logout": SIGNED_IN,
    "/console": staff(Permission.VIEW_CONSOLE),
    "/console/{meeting_id}": staff(Permission.VIEW_CONSOLE),
    "/console/{meeting_id}/audit": staff(Permission.VIEW_AUDIT),
    "/console/{meeting_id}/audit.csv": staff(Permission.VIEW_AUDIT),  # issue 14
    "/ws/console/{meeting_id}": staff(Permission.VIEW_CONSOLE),
    "/m/{meeting_id}/transparency": PUBLIC,
    "/api/meetings/{meeting_id}/transparency": PUBLIC,
    "/m/{meeting_id}/results": PUBLIC,  # the meeting report (issue 12.6)
    "/m/{meeting_id}/transcript": PUBLIC,  # the transcript of questions (issue 12)
    "/m/{meeting_id}/transcript.vtt": PUBLIC,
    "/m/{meeting_id}/recording": PUBLIC,  # the archived recording, public as the broadcast was
    "/api/meetings/{meeting_id}/transcript": PUBLIC,
    "/api/meetings/{meeting_id}/mine": PUBLIC,  # the viewer cookie says whose (issue 10.7)
    "/api/meetings/{meeting_id}/clock": PUBLIC,
    "/api/meetings/{meeting_id}/deadlines": PUBLIC,  # R6 (issue 12)
    # The issue pool (issue 12.3): public to read; staff who moderate (or the admin token) change it
    "POST /api/meetings/{meeting_id}/issues": POOL,
    "GET /api/issues": PUBLIC,
    "/api/issues.csv": PUBLIC,
    "GET /api/issues/{issue_id}": PUBLIC,
    "POST /api/issues/{issue_id}": POOL,
    "/api/issues/{issue_id}/status": POOL,
    "/api/issues/{issue_id}/progress": POOL,
    "/api/issues/{issue_id}/merge": POOL,
    "/issues": PUBLIC,
    "/issues/{issue_id}": PUBLIC,
    # Offices and their promise trackers (issue 12): public pages and JSON; the admin's page and
    # routes (`manage_offices`); promises recorded and updated with the admin token or by a
    # producer's, moderator's or admin's session (`produce` or `moderate`: the route checks).
    "/offices": PUBLIC,
    "/offices/{office_id}": PUBLIC,
    "GET /api/offices": PUBLIC,
    "POST /api/offices": Policy(Access.ADMIN_OR_STAFF, Permission.MANAGE_OFFICES),
    "/api/offices/{office_id}": PUBLIC,
    "/api/offices/{office_id}/promises": PUBLIC,
    "/api/offices/{office_id}/holder": Policy(Access.ADMIN_OR_STAFF, Permission.MANAGE_OFFICES),
    "/console/offices": staff(Permission.MANAGE_OFFICES),
    "/console/offices/{office_id}/holder": staff(Permission.MANAGE_OFFICES),
    # Territories (issue 13.1): the tree is public; the admin (`manage_offices`) edits it.
    # The R8 lists (issue 13.6) are public, as the pool is.
    "/api/territories": PUBLIC,
    "/api/territories.csv": PUBLIC,
    "/console/territories": staff(Permission.MANAGE_OFFICES),
    "/console/territories/import": staff(Permission.MANAGE_OFFICES),
    "/console/territories/{unit_id}": staff(Permission.MANAGE_OFFICES),
    "/api/central": PUBLIC,
    "/api/central.csv": PUBLIC,
    # The annual calendar, its feeds and its compliance (R1, R5, R6: issue 13): public, as the
    # akimats publish their calendars; changed from the shell (`halyq calendar`).
    "/calendar": PUBLIC,
    "/calendar.ics": PUBLIC,
    "/calendar/offices/{office_id}.ics": PUBLIC,
    "/calendar/units/{unit_id}.ics": PUBLIC,
    "/api/compliance": PUBLIC,
    "/compliance": PUBLIC,
    "/api/meetings/{meeting_id}/promises": Policy(Access.ADMIN_OR_STAFF),
    "/api/promises/{promise_id}": Policy(Access.ADMIN_OR_STAFF),
    # Requests before a meeting (R5) and meetings on demand (R2), issue 13: residents send and
    # support without signing in (the viewer cookie and per-address limits); the commission
    # (`collect_requests`, `answer_demands`) works on them with a session and its CSRF token.
    "GET /m/{meeting_id}/requests": PUBLIC,
    "POST /m/{meeting_id}/requests": PUBLIC,
    "/api/meetings/{meeting_id}/requests": PUBLIC,
    "/console/{meeting_id}/requests": staff(Permission.COLLECT_REQUESTS),
    "GET /demands": PUBLIC,
    "POST /demands": PUBLIC,
    "/demands/{demand_id}/support": PUBLIC,
    "/demands/{demand_id}/answer": staff(Permission.ANSWER_DEMANDS),
    "/api/demands": PUBLIC,
    "/api/meetings/{meeting_id}/phase": PRODUCER,
    "/api/meetings/{meeting_id}/rundown/take": PRODUCER,
    "/api/meetings/{meeting_id}/rundown/clear": PRODUCER,
    "/api/meetings/{meeting_id}/rundown/next": PRODUCER,
    "/api/meetings/{meeting_id}/rundown/move": PRODUCER,
    "/api/meetings/{meeting_id}/rundown/answered": PRODUCER,
    "/api/meetings/{meeting_id}/rundown/deferred": PRODUCER,
    "/api/meetings/{meeting_id}/rundown": PRODUCER,
    "/producer/{meeting_id}": staff(Permission.PRODUCE),
    "/overlay/{meeting_id}/lower-third": OVERLAY,
    "/overlay/{meeting_id}/clock": OVERLAY,
    "/overlay/{meeting_id}/ticker": OVERLAY,
    "/ws/overlay/{meeting_id}": OVERLAY,
    "/feeds/{meeting_id}/vmix.json": OVERLAY,
    "/feeds/{meeting_id}/vmix.xml": OVERLAY,
    "/webhooks/whatsapp": WEBHOOK,
    "/webhooks/twilio": WEBHOOK,
    "/webhooks/telegram": WEBHOOK,
    "/desk": staff(Permission.OPERATE_PHONE),  # the phone desk (issue 10.1)
    "/api/desk/calls": staff(Permission.OPERATE_PHONE),
    "/api/meetings/{meeting_id}/items": QUEUE,
    "/api/meetings/{meeting_id}/feeds": staff(Permission.VIEW_CONSOLE),  # YouTube (issue 11)
    "/api/meetings/{meeting_id}/feeds/youtube": staff(Permission.MODERATE),
    "/api/meetings/{meeting_id}/feeds/facebook": staff(Permission.MODERATE),  # issue 16
    "/api/meetings/{meeting_id}/feeds/instagram": staff(Permission.MODERATE),
}


def policy_for(path: str, method: str | None = None) -> Policy | None:
    """The policy of route `path` for `method` (None for WebSockets and mounts)."""
    method = "GET" if method == "HEAD" else method
    if method is not None and (found := POLICIES.get(f"{method} {path}")):
        return found
    return POLICIES.get(path)
