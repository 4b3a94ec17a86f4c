"""Staff sign-in against a live server: cookies, sessions, CSRF, Origin (AUTH-3..6); the
throttling of failed sign-ins is tests/server/test_login_throttle.py."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import socket
import statistics
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from server.auth import accounts
from server.auth.accounts import AuditKind, Permission, Role, Session, User, may
from server.auth.sessions import (
    current_staff,
    require,
    revalidate,
    staff_from_scope,
    staff_origin_allowed,
)
from server.fanout.uvicorn import SETTINGS as UVICORN
from server.services import Services
from server.settings import Settings, SettingsError
from server.web import templating
from server.web.errors import HANDLERS
from tests.helpers import TIMEOUT, LiveServer, live_server, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_hashing")]

PASSWORD = "correct horse battery"
CSRF_INPUT = re.compile(r'name="csrf" value="([^"]+)"')


class FakeClock:
    """`services.clock` that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(server: LiveServer) -> FakeClock:
    fake = FakeClock()
    server.services.clock = fake
    return fake


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def add_user(
    services: Services, name: str, role: Role = Role.MODERATOR, password: str = PASSWORD
) -> None:
    user = User(name=name, role=role, password_hash=accounts.hash_password(password), created=0)
    assert await services.staff.add_user(user)


async def login(
    http: httpx.AsyncClient, name: str, password: str = PASSWORD, next_path: str = ""
) -> httpx.Response:
    """Fill in and send the login form as a browser would."""
    page = await http.get("/login", params={"next": next_path} if next_path else None)
    token = CSRF_INPUT.search(page.text)
    assert token, page.text
    form = {"name": name, "password": password, "csrf": token[1], "next": next_path}
    return await http.post("/login", data=form)


async def signed_in(services: Services, http: httpx.AsyncClient, name: str) -> Session:
    """The session behind `http`'s cookie, read without touching it."""
    session_id = http.cookies["halyq_session"]
    found = await services.staff.session(session_id, services.clock(), touch=False)
    assert found is not None
    assert found.name == name
    return found


# A tiny app with guarded endpoints and a staff socket, sharing the live server's services.


def guarded_app(services: Services, changes: list[str]) -> Starlette:
    @require(Permission.VIEW_CONSOLE)
    async def page(request: Request) -> Response:
        staff = await current_staff(request)
        assert staff is not None
        return PlainTextResponse(f"console of {staff.name}")

    @require(Permission.MODERATE)
    async def act(request: Request) -> Response:
        changes.append(request.method)
        return JSONResponse({"ok": True})

    async def staff_socket(websocket: WebSocket) -> None:
        allowed = staff_origin_allowed(websocket, services.settings)
        staff = await staff_from_scope(services, websocket) if allowed else None
        if staff is None:
            await websocket.close()  # before accept: the client gets HTTP 403
            return
        await websocket.accept()
        await websocket.send_text(staff.name)
        await websocket.close()

    app = Starlette(
        routes=[
            Route("/page", page),
            Route("/api/act", act, methods=["POST"]),
            WebSocketRoute("/ws/staff", staff_socket),
        ],
        exception_handlers=HANDLERS,
    )
    app.state.services = services
    app.state.templates = templating.templates()
    return app


@contextlib.asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """`app` under uvicorn with the production options, on 127.0.0.1:0; yields its URL."""
    config = uvicorn.Config(app, lifespan="off", log_level="warning", **UVICORN)
    server = uvicorn.Server(config)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        task = asyncio.get_running_loop().create_task(server.serve(sockets=[listener]))
        try:
            await wait_for(lambda: server.started or task.done(), what="guarded app start")
            yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        finally:
            server.should_exit = True
            await task


@pytest.fixture
def changes() -> list[str]:
    return []


@pytest.fixture
async def guarded(server: LiveServer, changes: list[str]) -> AsyncIterator[str]:
    async with serving(guarded_app(server.services, changes)) as url:
        yield url


# Login


async def test_login_sets_an_http_only_lax_cookie_and_a_new_id_each_time(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    await add_user(server.services, "aigerim")
    first = await login(http, "aigerim", next_path="/console/almaly-demo")
    assert first.status_code == 303
    assert first.headers["location"] == "/console/almaly-demo"
    cookie = next(c for c in first.headers.get_list("set-cookie") if "halyq_session=" in c)
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    old = http.cookies["halyq_session"]
    assert len(old) >= 43  # 32 random bytes: 256 bits
    second = await login(http, "aigerim")  # the old cookie is sent along
    assert second.headers["location"] == "/console"
    new = http.cookies["halyq_session"]
    assert new != old
    now = server.services.clock()
    assert await server.services.staff.session(old, now) is None  # ASVS 3.2.1
    assert await server.services.staff.session(new, now) is not None
    kinds = [e.kind for e in await server.services.staff.audit_trail()]
    assert kinds == [AuditKind.LOGIN, AuditKind.LOGIN]


async def test_over_https_the_cookie_is_host_prefixed_and_secure(settings: Settings) -> None:
    proxied = dataclasses.replace(settings, trusted_proxies=("127.0.0.1",))  # a local TLS proxy
    https = {"X-Forwarded-Proto": "https"}
    async with live_server(proxied) as server, httpx.AsyncClient(base_url=server.url) as http:
        await add_user(server.services, "aigerim")
        page = await http.get("/login", headers=https)
        nonce = page.headers["set-cookie"].split(";", 1)[0]
        assert nonce.startswith("__Host-halyq_login=")
        token = CSRF_INPUT.search(page.text)
        assert token
        answer = await http.post(
            "/login",
            data={"name": "aigerim", "password": PASSWORD, "csrf": token[1]},
            headers=https | {"Cookie": nonce},
        )
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.get_list("set-cookie") if "halyq_session=" in c)
    assert cookie.startswith("__Host-halyq_session=")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie


async def test_forwarded_proto_from_a_client_that_is_no_trusted_proxy_is_ignored(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/login", headers={"X-Forwarded-Proto": "https"})
    nonce = page.headers["set-cookie"]
    assert nonce.startswith("halyq_login=")  # HALYQ_TRUSTED_PROXIES is empty (issue 8)
    assert "Secure" not in nonce


@pytest.mark.parametrize(
    ("next_path", "location"),
    [("/console/abc?tab=held", "/console/abc?tab=held"), ("//evil.example/x", "/console"),
     ("https://evil.example/", "/console"), ("/\\evil.example", "/console"), ("", "/console"),
     ("/console\r\nSet-Cookie: x=1", "/console"), ("/console\\..\\evil", "/console")],
)  # fmt: skip
async def test_login_redirects_only_to_a_local_path(
    server: LiveServer, http: httpx.AsyncClient, next_path: str, location: str
) -> None:
    await add_user(server.services, "aigerim")
    answer = await login(http, "aigerim", next_path=next_path)
    assert answer.headers["location"] == location


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    await add_user(server.services, "aigerim")
    wrong = await login(http, "aigerim", "not the password")
    unknown = await login(http, "nobody", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text == unknown.text
    assert "Пайдаланушы аты немесе құпиясөз қате" in wrong.text
    assert "halyq_session" not in http.cookies
    entries = await server.services.staff.audit_trail()
    assert [(e.kind, e.actor) for e in entries] == [
        (AuditKind.LOGIN_FAILED, "?"),  # an unknown name may be a mistyped password: not kept
        (AuditKind.LOGIN_FAILED, "aigerim"),
    ]
    assert not any("not the password" in f"{e}" for e in entries)


async def test_unknown_names_cost_the_same_argon2_work_as_wrong_passwords(
    server: LiveServer, http: httpx.AsyncClient, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real cost (tens of ms), so skipping the work for unknown names would show.
    real = PasswordHasher(time_cost=2, memory_cost=32 * 1024, parallelism=1)
    monkeypatch.setattr(accounts, "HASHER", real)
    await add_user(server.services, "aigerim")
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    for round_number in range(6):
        clock.advance(61)  # stay under the throttle
        for kind, name in (("known", "aigerim"), ("unknown", f"nobody{round_number}")):
            started = time.perf_counter()
            assert (await login(http, name, "wrong password")).status_code == 401
            timings[kind].append(time.perf_counter() - started)
    known, unknown = (statistics.median(timings[kind]) for kind in ("known", "unknown"))
    assert abs(known - unknown) < min(0.05, known / 2), timings  # AUTH-6: at most 50 ms apart


async def test_login_needs_its_csrf_token_and_refuses_cross_site_posts(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    await add_user(server.services, "aigerim")
    await http.get("/login")
    missing = await http.post("/login", data={"name": "aigerim", "password": PASSWORD})
    assert missing.status_code == 403
    page = await http.get("/login")
    token = CSRF_INPUT.search(page.text)
    assert token
    form = {"name": "aigerim", "password": PASSWORD, "csrf": token[1]}
    cross = await http.post("/login", data=form, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert "halyq_session" not in http.cookies
    assert (await http.post("/login", data=form)).status_code == 303


async def test_a_login_rehashes_a_password_hashed_with_other_parameters(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    older = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(PASSWORD)
    user = User(name="aigerim", role=Role.ADMIN, password_hash=older, created=0)
    assert await server.services.staff.add_user(user)
    assert accounts.needs_rehash(older)
    assert (await login(http, "aigerim")).status_code == 303
    stored = await server.services.staff.user("aigerim")
    assert stored is not None
    assert stored.password_hash != older
    assert not accounts.needs_rehash(stored.password_hash)


# Sessions (AUTH-5)


async def test_logout_ends_the_session_and_the_old_cookie_is_refused(
    server: LiveServer,
    http: httpx.AsyncClient,
    guarded: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_user(server.services, "aigerim")
    answer = await login(http, "aigerim")
    session_id = http.cookies["halyq_session"]
    assert session_id not in answer.headers["location"]
    page = await http.get(f"{guarded}/page")
    assert page.text == "console of aigerim"
    session = await signed_in(server.services, http, "aigerim")
    out = await http.post("/logout", data={"csrf": session.csrf})
    assert (out.status_code, out.headers["location"]) == (303, "/login")
    assert "halyq_session" not in http.cookies
    replay = {"Cookie": f"halyq_session={session_id}"}
    async with httpx.AsyncClient() as fresh:
        api = await fresh.post(f"{guarded}/api/act", headers=replay)
        assert (api.status_code, api.json()["error"]) == (401, "unauthorized")
        again = await fresh.get(f"{guarded}/page?x=1", headers=replay | {"Accept": "text/html"})
        assert again.status_code == 303
        assert again.headers["location"] == "/login?next=%2Fpage%3Fx%3D1"
    assert await revalidate(server.services, session_id) is None
    assert (await server.services.staff.audit_trail())[0].kind is AuditKind.LOGOUT
    assert session_id not in caplog.text


async def test_a_session_ends_after_30_idle_minutes(
    server: LiveServer, http: httpx.AsyncClient, guarded: str, clock: FakeClock
) -> None:
    await add_user(server.services, "aigerim")
    await login(http, "aigerim")
    for _ in range(3):
        clock.advance(29 * 60)
        assert (await http.get(f"{guarded}/page")).status_code == 200  # each request touches
    clock.advance(30 * 60 + 1)
    assert (await http.post(f"{guarded}/api/act")).status_code == 401
    assert (await http.get(f"{guarded}/page", headers={"Accept": "text/html"})).status_code == 303


async def test_a_session_ends_12_hours_after_login_however_busy(
    server: LiveServer, http: httpx.AsyncClient, guarded: str, clock: FakeClock
) -> None:
    await add_user(server.services, "aigerim")
    await login(http, "aigerim")
    session_id = http.cookies["halyq_session"]
    for _ in range(12 * 3 - 1):
        clock.advance(20 * 60)
        assert (await http.get(f"{guarded}/page")).status_code == 200
    clock.advance(20 * 60)
    assert (await http.get(f"{guarded}/page")).status_code == 401
    assert await server.services.staff.session(session_id, clock()) is None


async def test_revalidate_follows_role_changes_removal_and_expiry(
    server: LiveServer, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    await add_user(server.services, "aigerim")
    await login(http, "aigerim")
    session_id = http.cookies["halyq_session"]
    staff = await revalidate(server.services, session_id)
    assert staff is not None
    assert staff.role is Role.MODERATOR
    assert await server.services.staff.set_role("aigerim", Role.PRODUCER) is Role.MODERATOR
    demoted = await revalidate(server.services, session_id)
    assert demoted is not None
    assert demoted.role is Role.PRODUCER
    assert not demoted.may(Permission.MODERATE)
    clock.advance(31 * 60)  # revalidate without touch: an open console is not activity
    assert await revalidate(server.services, session_id) is None
    await login(http, "aigerim")
    assert await revalidate(server.services, http.cookies["halyq_session"]) is not None
    assert await server.services.staff.remove_user("aigerim")
    assert await revalidate(server.services, http.cookies["halyq_session"]) is None


# CSRF (AUTH-4)


async def test_state_changes_need_the_session_csrf_token(
    server: LiveServer, http: httpx.AsyncClient, guarded: str, changes: list[str]
) -> None:
    await add_user(server.services, "aigerim")
    await login(http, "aigerim")
    csrf = (await signed_in(server.services, http, "aigerim")).csrf
    url = f"{guarded}/api/act"
    assert (await http.post(url)).status_code == 403
    assert (await http.post(url, headers={"X-CSRF-Token": "x" * 43})).status_code == 403
    assert (await http.post(url, data={"csrf": "wrong"})).status_code == 403
    cross = {"X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"}
    assert (await http.post(url, headers=cross)).status_code == 403
    assert changes == []
    assert (await http.post(url, headers={"X-CSRF-Token": csrf})).status_code == 200
    assert (await http.post(url, data={"csrf": csrf})).status_code == 200
    assert changes == ["POST", "POST"]
    assert (await http.post("/logout")).status_code == 403
    assert await signed_in(server.services, http, "aigerim")  # still signed in


async def test_a_cross_site_form_post_changes_nothing(
    server: LiveServer, http: httpx.AsyncClient, guarded: str, changes: list[str]
) -> None:
    await add_user(server.services, "aigerim")
    await login(http, "aigerim")
    forged = {"Origin": "http://127.0.0.2:9000", "Sec-Fetch-Site": "cross-site"}
    answer = await http.post(f"{guarded}/api/act", data={"approve": "1"}, headers=forged)
    assert answer.status_code == 403
    no_metadata = await http.post(
        f"{guarded}/api/act", data={"approve": "1"}, headers={"Origin": "http://127.0.0.2:9000"}
    )
    assert no_metadata.status_code == 403  # an older browser: the token is still missing
    assert (await http.post("/logout", headers=forged)).status_code == 403
    assert changes == []
    assert await signed_in(server.services, http, "aigerim")


# Staff sockets: exact Origin (AUTH-3)


@pytest.mark.parametrize(
    "origin",
    ["http://127.0.0.2:9000", "null", None, "https://meeting.example.evil.test",
     "https://evilmeeting.example", "HTTP://127.0.0.1:{port}", "http://127.0.0.1:{port}/",
     "https://127.0.0.1:{port}", "http://127.0.0.1:1", "http://localhost:{port}"],
)  # fmt: skip
async def test_staff_sockets_refuse_any_other_origin(
    server: LiveServer, http: httpx.AsyncClient, guarded: str, origin: str | None
) -> None:
    await add_user(server.services, "aigerim")
    await login(http, "aigerim")
    port = guarded.rsplit(":", 1)[1]
    headers = {"Cookie": f"halyq_session={http.cookies['halyq_session']}"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            "ws" + guarded.removeprefix("http") + "/ws/staff",
            origin=None if origin is None else Origin(origin.format(port=port)),
            additional_headers=headers,
            open_timeout=TIMEOUT,
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_staff_sockets_accept_the_exact_origin_with_a_session(
    server: LiveServer, http: httpx.AsyncClient, guarded: str
) -> None:
    await add_user(server.services, "aigerim")
    await login(http, "aigerim")
    url = "ws" + guarded.removeprefix("http") + "/ws/staff"
    cookie = {"Cookie": f"halyq_session={http.cookies['halyq_session']}"}
    origin = Origin(guarded)
    async with connect(url, origin=origin, additional_headers=cookie, open_timeout=TIMEOUT) as ws:
        assert await ws.recv() == "aigerim"
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin=origin, open_timeout=TIMEOUT):
            pass  # no session
    assert refused.value.response.status_code == 403


def socket_scope(origin: str, scheme: str = "ws", host: str = "halyq.example.kz") -> WebSocket:
    headers = [(b"host", host.encode()), (b"origin", origin.encode())]
    scope = {"type": "websocket", "scheme": scheme, "path": "/ws/console/x", "headers": headers,
             "query_string": b"", "server": (host, 443)}  # fmt: skip

    async def receive() -> Message:
        raise AssertionError("not read")

    async def send(message: Message) -> None:
        raise AssertionError("not sent")

    return WebSocket(scope, receive, send)


@pytest.mark.parametrize(
    ("origin", "scheme", "allowed"),
    [("https://halyq.example.kz", "wss", True), ("http://halyq.example.kz", "wss", False),
     ("http://halyq.example.kz", "ws", True), ("https://halyq.example.kz", "ws", False),
     ("https://Halyq.example.kz", "wss", False),
     ("https://halyq.example.kz.evil.test", "wss", False)],
)  # fmt: skip
def test_without_staff_origins_only_the_server_s_own_origin_is_allowed(
    origin: str, scheme: str, allowed: bool
) -> None:
    assert staff_origin_allowed(socket_scope(origin, scheme), Settings()) is allowed


def test_staff_origins_replace_the_server_s_own_origin() -> None:
    settings = Settings(staff_origins=("https://console.example.kz",))
    assert staff_origin_allowed(socket_scope("https://console.example.kz", "wss"), settings)
    assert not staff_origin_allowed(socket_scope("https://halyq.example.kz", "wss"), settings)


def test_staff_origins_must_be_plain_origins() -> None:
    for bad in ("https://Console.example.kz", "console.example.kz", "https://x.kz/", "*"):
        with pytest.raises(SettingsError, match="HALYQ_STAFF_ORIGINS"):
            Settings(staff_origins=(bad,))
    parsed = Settings.from_env({"HALYQ_STAFF_ORIGINS": "https://a.kz, http://b.kz:8080"})
    assert parsed.staff_origins == ("https://a.kz", "http://b.kz:8080")


# The role table and the audit log


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_the_role_table(role: Role, permission: Permission) -> None:
    expected = {
        Role.ADMIN: set(Permission),
        Role.MODERATOR: {Permission.VIEW_CONSOLE, Permission.MODERATE, Permission.VIEW_AUDIT},
        Role.OPERATOR: {Permission.OPERATE_PHONE, Permission.SEE_CONTACTS, Permission.VIEW_CONSOLE},
        Role.PRODUCER: {Permission.PRODUCE, Permission.VIEW_CONSOLE},
        Role.COMMISSION: {
            Permission.VIEW_CONSOLE,
            Permission.COLLECT_REQUESTS,
            Permission.ANSWER_DEMANDS,
        },
    }
    assert may(role, permission) is (permission in expected[role])
    assert may("viewer", permission) is False


@pytest.mark.parametrize("name", ["Aigerim", "a" * 41, "", "ai gerim", "айгерім", "a/b"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(accounts.AccountError, match="user name"):
        accounts.check_name(name)


@pytest.mark.parametrize(
    ("password", "error"), [("nine char", "at least 10"), ("x" * 1025, "at most 1024")]
)
def test_bad_passwords_are_refused(password: str, error: str) -> None:
    with pytest.raises(accounts.AccountError, match=error):
        accounts.check_password(password)
    assert accounts.check_password("ten chars!") == "ten chars!"


async def test_the_audit_trail_is_newest_first_and_bounded(server: LiveServer) -> None:
    staff = server.services.staff
    for number in range(5):
        await staff.audit(AuditKind.USER_ADDED, "cli", float(number), subject=f"u{number}")
    latest = await staff.audit_trail(count=3)
    assert [e.subject for e in latest] == ["u4", "u3", "u2"]
    assert latest[0].at == 4.0
    assert len(await staff.audit_trail(count=10**6)) == 5
