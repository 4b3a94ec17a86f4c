"""HTTP: pages, the admin API, operations endpoints, security headers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moderation import Meeting
from server.settings import Settings
from tests.helpers import LiveServer, catch_up, comment, live_server, recv_until

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": "Bearer test-admin-token"}
NEW = {
    "title": "Встреча акима Турксибского района",
    "titles": {"kk": "Түрксіб ауданы әкімінің кездесуі"},
    "akim": "Асхат Нұрланұлы",
    "level": "local",
    "territory": "Алматы, Түрксіб ауданы",
    "planned_minutes": 90,
    "stream_url": "https://youtu.be/dQw4w9WgXcQ",
}


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def test_health_readiness_and_metrics(
    server: LiveServer, http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    assert (await http.get("/healthz")).text == "ok"
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    # Issue 15: the node's name (HALYQ_NODE_NAME; by default its host name and port).
    assert body.pop("node").startswith(f"{socket.gethostname()}:")
    assert body == {
        "redis": "ok",
        "durability": "appendfsync-always",
        "durability_detail": "appendonly yes, appendfsync always",
        # Issue 15: no replica must confirm an append without Sentinel (HALYQ_MIN_REPLICAS).
        "replicas": {
            "required": 0,
            "connected": 0,
            "detail": "0 replicas online; acks wait for none",
        },
        # Issue 10: every channel is off until its settings are there; the phone desk is ours.
        "channels": {
            "phone": {"in": True, "out": False},
            "whatsapp": {"in": False, "out": False},
            "twilio": {"in": False, "out": False},
            "telegram": {"in": False, "out": False},
            "email": {"in": False, "out": False},
        },
        "status": "ready",
    }
    async with server.socket(live_meeting.id) as ws:
        await catch_up(ws)
        await ws.send(comment("m1", "Сәлем"))
        await recv_until(ws, lambda f: f["type"] == "ack")
        await ws.send("nonsense")
        await recv_until(ws, lambda f: f["type"] == "error")
        text = (await http.get("/metrics")).text
    for line in (
        'halyq_ws_connections{audience="viewer"} 1.0',
        'halyq_comments_total{outcome="posted"} 1.0',
        "halyq_ack_latency_seconds_count 1.0",
        'halyq_bad_frames_total{error="invalid_json"} 1.0',
        "halyq_fanout_latency_seconds_count",
        "halyq_events_out_total",
        "halyq_slow_clients_dropped_total 0.0",
    ):
        assert line in text


async def test_the_admin_api_creates_starts_and_ends_a_meeting(http: httpx.AsyncClient) -> None:
    created = await http.post("/api/meetings", json=NEW | {"id": "turksib-dec"}, headers=ADMIN)
    assert created.status_code == 201
    assert created.json()["id"] == "turksib-dec"
    assert created.json()["status"] == "scheduled"
    started = await http.post("/api/meetings/turksib-dec/start", headers=ADMIN)
    assert started.json()["status"] == "live"
    again = await http.post("/api/meetings/turksib-dec/start", headers=ADMIN)
    assert again.status_code == 409
    assert again.json()["error"] == "invalid_transition"
    ended = await http.post("/api/meetings/turksib-dec/end", headers=ADMIN)
    assert ended.json()["status"] == "ended"
    listed = (await http.get("/api/meetings")).json()["meetings"]
    assert [m["id"] for m in listed] == ["turksib-dec"]
    shown = (await http.get("/api/meetings/turksib-dec")).json()
    assert shown["titles"] == {"kk": "Түрксіб ауданы әкімінің кездесуі"}


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [({}, 401, "unauthorized"), ({"Authorization": "Bearer wrong"}, 401, "unauthorized"),
     ({"Authorization": "Basic dGVzdA=="}, 401, "unauthorized")],
)  # fmt: skip
async def test_admin_routes_need_the_token(
    http: httpx.AsyncClient, live_meeting: Meeting, headers: dict[str, str], status: int, error: str
) -> None:
    for method, path in (
        ("POST", "/api/meetings"),
        ("POST", f"/api/meetings/{live_meeting.id}/start"),
        ("POST", f"/api/meetings/{live_meeting.id}/end"),
    ):
        answer = await http.request(method, path, json=NEW, headers=headers)
        assert (answer.status_code, answer.json()["error"]) == (status, error)


async def test_the_admin_api_is_off_without_a_token(
    settings: Settings, live_meeting: Meeting
) -> None:
    async with (
        live_server(settings.replace(admin_token="")) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        answer = await http.post(f"/api/meetings/{live_meeting.id}/end", headers=ADMIN)
    assert (answer.status_code, answer.json()["error"]) == (403, "forbidden")


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (b"not json", 400, "bad_request"),
        (b"[1]", 400, "bad_request"),
        (b"{" + b" " * 70_000 + b"}", 413, "too_large"),
        (NEW | {"level": "emperor"}, 400, "invalid"),
        (NEW | {"planned_minutes": "90"}, 400, "invalid"),
        (NEW | {"planned_minutes": True}, 400, "invalid"),
        (NEW | {"title": 5}, 400, "invalid"),
        (NEW | {"titles": {"kk": 1}}, 400, "invalid"),
        (NEW | {"slow_mode_seconds": 1000}, 400, "invalid"),
        (NEW | {"id": "Bad Id"}, 400, "invalid"),
        ({k: v for k, v in NEW.items() if k != "akim"}, 400, "invalid"),
    ],
)
async def test_bad_meeting_bodies_get_a_clear_error(
    http: httpx.AsyncClient, body: Any, status: int, error: str
) -> None:
    if isinstance(body, bytes):
        answer = await http.post("/api/meetings", content=body, headers=ADMIN)
    else:
        answer = await http.post("/api/meetings", json=body, headers=ADMIN)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert answer.json()["detail"]
    assert (await http.get("/api/meetings")).json()["meetings"] == []  # nothing half-made


async def test_unknown_meetings_are_404_as_json_and_as_a_page(http: httpx.AsyncClient) -> None:
    api = await http.get("/api/meetings/nope-nope")
    assert (api.status_code, api.json()["error"]) == (404, "not_found")
    page = await http.get("/m/nope-nope?lang=ru")
    assert page.status_code == 404
    assert "Такой встречи нет" in page.text
    assert (await http.get("/no/such/route")).status_code == 404


async def test_pages_carry_a_strict_csp_and_the_viewer_cookie(
    http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    page = await http.get(f"/m/{live_meeting.id}", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "default-src 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.headers["set-cookie"]
    assert "halyq_viewer=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert '<html lang="ru">' in page.text
    assert live_meeting.title in page.text
    index = await http.get("/?lang=en")
    assert "Meetings" in index.text
    assert live_meeting.id in index.text


async def test_static_files_are_versioned_and_cached(
    http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    page = (await http.get(f"/m/{live_meeting.id}")).text
    start = page.index("/static/js/meeting.js?v=")
    url = page[start : page.index('"', start)]
    script = await http.get(url)
    assert script.status_code == 200
    assert "immutable" in script.headers["cache-control"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert (await http.get("/static/js/meeting.js")).headers["cache-control"] == "no-cache"
