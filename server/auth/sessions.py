"""Staff sessions over HTTP: the session cookie, CSRF, and the checks that staff endpoints
(`require`) and staff sockets (`staff_origin_allowed`, `staff_from_scope`, `revalidate`) make.
Session ids live only in the cookie: never in a URL or a log line.
"""

from __future__ import annotations

import functools
import hmac
import re
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlencode

from starlette import status
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response

from server.auth.accounts import Permission, Staff
from server.services import Services
from server.settings import Settings

Endpoint = Callable[[Request], Awaitable[Response]]

SESSION_COOKIE = "halyq_session"
SECURE_PREFIX = "__Host-"  # over HTTPS: Secure, Path=/, no Domain (ASVS 3.4.4)
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 16 * 1024
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_UNSET = object()


def services_of(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


def _is_https(connection: HTTPConnection) -> bool:
    return connection.url.scheme in ("https", "wss")


def cookie_name(connection: HTTPConnection, base: str = SESSION_COOKIE) -> str:
    """`halyq_session`, or `__Host-halyq_session` when the request came over HTTPS."""
    return SECURE_PREFIX + base if _is_https(connection) else base


def set_cookie(connection: HTTPConnection, response: Response, base: str, value: str) -> None:
    response.set_cookie(
        cookie_name(connection, base),
        value,
        httponly=True,
        samesite="lax",
        secure=_is_https(connection),
        path="/",
    )


def delete_cookie(connection: HTTPConnection, response: Response, base: str) -> None:
    secure = _is_https(connection)
    response.delete_cookie(
        cookie_name(connection, base), path="/", secure=secure, httponly=True, samesite="lax"
    )


# Who is asking


async def staff_from_scope(services: Services, connection: HTTPConnection) -> Staff | None:
    """The signed-in staff member of a request or socket handshake, touching the session."""
    session_id = connection.cookies.get(cookie_name(connection), "")
    if not TOKEN.fullmatch(session_id):
        return None
    return await revalidate(services, session_id, touch=True)


async def revalidate(services: Services, session_id: str, *, touch: bool = False) -> Staff | None:
    """The session's user with the user's current role; None when expired, ended or removed.

    Sockets call this every 2 s (`touch=False`: an open console is not activity) and on every
    message (`touch=True`); they close when it is None or the role changed (AUTH-2, AUTH-5).
    """
    session = await services.staff.session(session_id, services.clock(), touch=touch)
    if session is None:
        return None
    user = await services.staff.user(session.name)
    if user is None:
        await services.staff.delete_session(session_id)
        return None
    return Staff(name=user.name, role=user.role, session_id=session_id, csrf=session.csrf)


async def current_staff(request: Request) -> Staff | None:
    """`staff_from_scope` for an HTTP request, once per request."""
    found = getattr(request.state, "staff", _UNSET)
    if found is _UNSET:
        found = await staff_from_scope(services_of(request), request)
        request.state.staff = found
    assert found is None or isinstance(found, Staff)
    return found


def staff_origin_allowed(connection: HTTPConnection, settings: Settings) -> bool:
    """Whether a staff socket's `Origin` is exactly an allowed one (AUTH-3, CWE-1385).

    `HALYQ_STAFF_ORIGINS` when set, else this server's own origin as the browser names it.
    A missing Origin or `null` is refused: browsers always send one on WebSocket handshakes.
    """
    origin = connection.headers.get("origin")
    if not origin:
        return False
    allowed = settings.staff_origins
    if not allowed:
        host = connection.headers.get("host", "")
        allowed = (f"{'https' if _is_https(connection) else 'http'}://{host}",) if host else ()
    return origin in allowed


def staff_context(staff: Staff) -> dict[str, object]:
    """What a staff page's template needs beyond the page context: base.html reads both."""
    return {"staff": staff, "csrf_token": staff.csrf}


# Guarding staff endpoints


def require(permission: Permission | None = None) -> Callable[[Endpoint], Endpoint]:
    """Guard a staff HTTP endpoint: signed in, allowed `permission`, CSRF-checked if unsafe.

    Anonymous (or expired) callers of a page get 303 to the login page, others 401; a staff
    member without the permission gets 403.
    """

    def decorate(endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def guarded(request: Request) -> Response:
            refuse_cross_site(request)
            staff = await current_staff(request)
            if staff is None:
                if request.method in ("GET", "HEAD") and "text/html" in request.headers.get(
                    "accept", ""
                ):
                    return RedirectResponse(login_url(request), status.HTTP_303_SEE_OTHER)
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first")
            if permission is not None and not staff.may(permission):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN, f"the {staff.role} role may not {permission}"
                )
            await check_csrf(request, staff)
            return await endpoint(request)

        return guarded

    return decorate


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?" + urlencode({"next": here})


def refuse_cross_site(request: Request) -> None:
    """State changes from another site are refused on Fetch Metadata alone (AUTH-4)."""
    is_unsafe = request.method not in SAFE_METHODS
    if is_unsafe and request.headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site requests are refused")


async def check_csrf(request: Request, staff: Staff) -> None:
    """Unsafe methods must carry the session's token as `X-CSRF-Token` or form field `csrf`."""
    if request.method in SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER) or (await form(request)).get(CSRF_FIELD, "")
    if not hmac.compare_digest(given.encode(), staff.csrf.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a valid CSRF token is required")


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (first value of each); {} for other bodies."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the form is too large")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the form is too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items()}
