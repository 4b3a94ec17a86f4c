"""Staff sign-in pages: the login form, logging in and out, and their audit entries."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Mapping

from starlette import status
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from server.auth import accounts
from server.auth.accounts import NAME, AuditKind, Role, Session, User
from server.auth.sessions import (
    CSRF_FIELD,
    SESSION_COOKIE,
    TOKEN,
    check_csrf,
    cookie_name,
    current_staff,
    delete_cookie,
    form,
    refuse_cross_site,
    services_of,
    set_cookie,
)
from server.fanout.admission import address_key
from server.services import Services
from server.store.staff import Attempt
from server.web.templating import keep_query, page_context, remember_language

LOGIN_COOKIE = "halyq_login"  # the pre-session nonce the login form's CSRF token is signed from
HOME = "/console"
PHONE_DESK = "/desk"


async def login_page(request: Request) -> Response:
    """`GET /login`: the sign-in form."""
    nonce = request.cookies.get(cookie_name(request, LOGIN_COOKIE), "")
    nonce = nonce if TOKEN.fullmatch(nonce) else ""
    return _login_form(request, nonce, request.query_params, status.HTTP_200_OK)


async def login(request: Request) -> Response:
    """`POST /login`: name, password, csrf, next; 303 to `next` with a new session."""
    services = services_of(request)
    refuse_cross_site(request)
    fields = await form(request)
    nonce = request.cookies.get(cookie_name(request, LOGIN_COOKIE), "")
    expected = services.sign("login", nonce)
    if not TOKEN.fullmatch(nonce) or not hmac.compare_digest(fields.get(CSRF_FIELD, ""), expected):
        return _login_form(request, "", fields, status.HTTP_403_FORBIDDEN, "login_stale")
    name = fields.get("name", "").strip().lower()
    account = services.sign("staff-account", name)
    # The peer (uvicorn believes X-Forwarded-For only from HALYQ_TRUSTED_PROXIES), counted as
    # admission counts it: an IPv6 client by its /64 (issue 8).
    peer = address_key(request.client.host if request.client else "")
    address = services.sign("staff-address", peer)
    attempt_id = secrets.token_hex(8)
    now = services.clock()
    attempt = await services.staff.attempt(account, address, attempt_id, now)
    if not attempt.allowed:
        # AUTH-6: the same answer for every name, known or not, and no password check at all.
        services.metrics.refusals.labels(kind="sign_in").inc()
        headers = {"Retry-After": str(attempt.retry_after)}
        return _login_form(request, nonce, fields, status.HTTP_429_TOO_MANY_REQUESTS,
                           "login_throttled", headers)  # fmt: skip
    user = await services.staff.user(name) if NAME.fullmatch(name) else None
    password = fields.get("password", "")
    is_right = await asyncio.to_thread(_verify, user, password)
    if user is None or not is_right:
        await _failed(services, user, attempt, now)
        return _login_form(request, nonce, fields, status.HTTP_401_UNAUTHORIZED, "login_failed")
    await services.staff.forgive(account, address, attempt_id)
    return await _signed_in(request, user, password, _safe_next(fields.get("next")), now)


def _verify(user: User | None, password: str) -> bool:
    # AUTH-6: an unknown name costs the same argon2 work as a wrong password.
    if user is None:
        return accounts.verify_unknown(password)
    return accounts.verify_password(user.password_hash, password)


async def _failed(services: Services, user: User | None, attempt: Attempt, now: float) -> None:
    # Only names that exist go into the record: an unknown "name" may be a mistyped password.
    who = user.name if user else "?"
    await services.staff.audit(AuditKind.LOGIN_FAILED, who, now)
    for lockout in attempt.lockouts:  # issue 8: every lockout is in the staff audit log
        await services.staff.audit(AuditKind.LOCKOUT, who, now, detail=lockout.detail)


async def _signed_in(
    request: Request, user: User, password: str, next_path: str, now: float
) -> Response:
    services = services_of(request)
    if accounts.needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(accounts.hash_password, password)
        await services.staff.set_password_hash(user.name, new_hash)
    old = request.cookies.get(cookie_name(request), "")
    if TOKEN.fullmatch(old):
        await services.staff.delete_session(old)  # ASVS 3.2.1: a new id at every login
    session_id = secrets.token_urlsafe(32)
    session = Session(name=user.name, role=user.role, created=now, last_seen=now,
                      csrf=secrets.token_urlsafe(32))  # fmt: skip
    await services.staff.create_session(session_id, session)
    await services.staff.audit(AuditKind.LOGIN, user.name, now, detail=user.role.value)
    if next_path == HOME and user.role is Role.OPERATOR:
        next_path = PHONE_DESK  # an operator signs in to take calls (issue 10.1)
    response = RedirectResponse(next_path, status.HTTP_303_SEE_OTHER)
    set_cookie(request, response, SESSION_COOKIE, session_id)
    delete_cookie(request, response, LOGIN_COOKIE)
    return response


async def logout(request: Request) -> Response:
    """`POST /logout` (CSRF-checked): ends the session; 303 to the login page."""
    refuse_cross_site(request)
    staff = await current_staff(request)
    response = RedirectResponse("/login", status.HTTP_303_SEE_OTHER)
    if staff is not None:
        await check_csrf(request, staff)
        services = services_of(request)
        await services.staff.delete_session(staff.session_id)
        await services.staff.audit(AuditKind.LOGOUT, staff.name, services.clock())
    delete_cookie(request, response, SESSION_COOKIE)
    return response


def _safe_next(value: str | None) -> str:
    """Only a path on this site: "/x", never "//host" or "/\\host" (open redirects)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return HOME
    if any(ord(c) < 0x20 or c == "\\" for c in value):
        return HOME
    return value


def _login_form(
    request: Request,
    nonce: str,
    fields: Mapping[str, str],
    status_code: int,
    message: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    nonce = nonce or secrets.token_urlsafe(16)
    context = page_context(request) | {
        "csrf": services_of(request).sign("login", nonce),
        "next": _safe_next(fields.get("next")),
        "message": message,
    }
    # The language links keep where the sign-in leads (a safe `next` only; issue 14).
    kept = str(context["next"])
    context["keep_query"] = keep_query([("next", kept)] if kept != HOME else [])
    response: Response = request.app.state.templates.TemplateResponse(
        request, "login.html", context, status_code=status_code, headers=headers
    )
    response.headers["cache-control"] = "no-store"
    set_cookie(request, response, LOGIN_COOKIE, nonce)
    return remember_language(request, response, str(context["lang"]))


ROUTES: list[BaseRoute] = [
    Route("/login", login_page, methods=["GET"], name="login"),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
