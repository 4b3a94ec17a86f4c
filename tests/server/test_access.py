"""Every route has an explicit policy, and staff routes refuse whoever lacks it (AUTH-1).

The walk covers whatever routes `create_app` has: a new route without a policy in
server/auth/access.py fails here, and a new staff route is called as each kind of outsider.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from moderation import Meeting
from server.app import create_app
from server.auth import accounts
from server.auth.access import POLICIES, PUBLIC_ROUTES, Access, Policy, policy_for
from server.auth.accounts import Role, may
from server.settings import Settings
from tests.helpers import TIMEOUT, LiveServer
from tests.server.test_auth import FakeClock, add_user, login

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_hashing")]

SOCKET = "WS"
MOUNT = "MOUNT"
PAGE = {"Accept": "text/html,application/xhtml+xml"}


def inventory(routes: list[BaseRoute]) -> Iterator[tuple[str, str]]:
    """(path, method) for every route: HTTP methods, "WS" for sockets, "MOUNT" for mounts."""
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
                yield route.path, method
        elif isinstance(route, WebSocketRoute):
            yield route.path, SOCKET
        elif isinstance(route, Mount):
            yield route.path, MOUNT
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")


def policy(path: str, method: str) -> Policy | None:
    return policy_for(path, None if method in (SOCKET, MOUNT) else method)


def routes() -> list[tuple[str, str]]:
    return list(inventory(create_app(Settings()).routes))


def concrete(path: str, meeting_id: str) -> str:
    return re.sub(r"\{[^}]+\}", meeting_id, path)


def test_every_route_has_an_explicit_policy() -> None:
    missing = [f"{method} {path}" for path, method in routes() if policy(path, method) is None]
    assert missing == [], f"add these routes to server/auth/access.py: {missing}"


def test_no_policy_names_a_route_that_does_not_exist() -> None:
    known = {path for path, _ in routes()} | {f"{m} {p}" for p, m in routes()}
    assert sorted(set(POLICIES) - known) == []


def test_public_routes_are_exactly_the_checked_in_allowlist() -> None:
    public = {key for key, found in POLICIES.items() if found.access is Access.PUBLIC}
    assert public == PUBLIC_ROUTES
    for path, method in routes():
        found = policy(path, method)
        assert found is not None
        if found.access is Access.STAFF:
            assert path not in PUBLIC_ROUTES
            assert f"{method} {path}" not in PUBLIC_ROUTES


def test_the_inventory_knows_the_staff_sign_in_routes() -> None:
    found = set(routes())
    assert {("/login", "GET"), ("/login", "POST"), ("/logout", "POST")} <= found
    assert policy("/logout", "POST") == Policy(Access.STAFF)


def is_refused(answer: httpx.Response) -> bool:
    """401 or 403, or (pages) a redirect to the login page."""
    if answer.status_code == 303:
        return answer.headers["location"].startswith("/login")
    return answer.status_code in (401, 403)


async def refused_handshake(server: LiveServer, path: str, cookie: str) -> int:
    """The HTTP status of a refused WebSocket handshake (from the server's own origin)."""
    headers = {"Cookie": cookie} if cookie else {}
    try:
        async with connect(
            server.ws(path),
            origin=Origin(server.url),
            additional_headers=headers,
            open_timeout=TIMEOUT,
        ):
            pass
    except InvalidStatus as refused:
        return refused.response.status_code
    raise AssertionError(f"the handshake of {path} was accepted")


def staff_routes() -> list[tuple[str, str, Policy]]:
    found = []
    for path, method in routes():
        rule = policy(path, method)
        if rule is not None and rule.access is Access.STAFF:
            found.append((path, method, rule))
    return found


async def check_refused(
    server: LiveServer, http: httpx.AsyncClient, who: str, meeting: Meeting
) -> None:
    cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    for path, method, _ in staff_routes():
        url = concrete(path, meeting.id)
        if method == SOCKET:
            status = await refused_handshake(server, url, cookie)
            assert status == 403, f"{who}: {method} {path} -> {status}"
            continue
        for headers in (PAGE, {"Accept": "application/json"}):
            answer = await http.request(method, url, headers=headers)
            assert is_refused(answer), f"{who}: {method} {path} -> {answer.status_code}"


async def test_staff_routes_refuse_anonymous_callers_and_viewers(
    server: LiveServer, live_meeting: Meeting
) -> None:
    assert staff_routes(), "no staff routes: the walk would prove nothing"
    async with httpx.AsyncClient(base_url=server.url) as anonymous:
        await check_refused(server, anonymous, "anonymous", live_meeting)
    async with httpx.AsyncClient(base_url=server.url) as viewer:
        page = await viewer.get(f"/m/{live_meeting.id}")
        assert page.status_code == 200
        assert "halyq_viewer" in viewer.cookies
        await check_refused(server, viewer, "viewer", live_meeting)


async def test_staff_routes_refuse_an_expired_session(
    server: LiveServer, live_meeting: Meeting
) -> None:
    clock = FakeClock()
    server.services.clock = clock
    await add_user(server.services, "root", Role.ADMIN)
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await login(http, "root")).status_code == 303
        clock.advance(accounts.IDLE_TIMEOUT + 1)
        await check_refused(server, http, "expired admin", live_meeting)


@pytest.mark.parametrize("role", list(Role))
async def test_staff_routes_refuse_a_role_without_the_permission(
    server: LiveServer, live_meeting: Meeting, role: Role
) -> None:
    await add_user(server.services, "someone", role)
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await login(http, "someone")).status_code == 303
        session_id = http.cookies["halyq_session"]
        session = await server.services.staff.session(session_id, server.services.clock())
        assert session is not None
        assert session.role is role
        for path, method, rule in staff_routes():
            if rule.permission is None or may(role, rule.permission):
                continue
            url = concrete(path, live_meeting.id)
            if method == SOCKET:
                status = await refused_handshake(server, url, f"halyq_session={session_id}")
                assert status == 403, f"{role}: {path}"
            else:
                csrf = {"X-CSRF-Token": session.csrf}  # refused for the role, not the token
                answer = await http.request(method, url, headers=PAGE | csrf)
                assert answer.status_code == 403, f"{role}: {method} {path}"


async def test_admin_token_routes_are_not_opened_by_a_staff_session(
    server: LiveServer, live_meeting: Meeting
) -> None:
    await add_user(server.services, "root", Role.ADMIN)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await login(http, "root")
        for path, method in routes():
            if (found := policy(path, method)) is not None and found.access is Access.ADMIN_TOKEN:
                answer = await http.request(method, concrete(path, live_meeting.id), json={})
                assert answer.status_code == 401, f"{method} {path}"
