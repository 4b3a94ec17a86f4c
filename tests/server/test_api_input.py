"""The HTTP API and forms as clients get them wrong: each field named in its error, bodies over
their limits refused, concurrent admin commands applied once (INP-2, INP-6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moderation import Meeting
from server.store import Store
from tests.helpers import LiveServer

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": "Bearer test-admin-token"}
NEW: dict[str, Any] = {
    "title": "Встреча акима Медеуского района",
    "akim": "Нурлан Абенов",
    "level": "local",
    "territory": "Алматы, Медеу ауданы",
    "planned_minutes": 90,
}


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


WRONG = [
    ("title", 5, "title must be a string"),
    ("akim", None, "akim must be a string"),
    ("territory", ["Алматы"], "territory must be a string"),
    ("stream_url", 1, "stream_url must be a string"),
    ("starts_at", 20261201, "starts_at must be a string"),
    ("level", "emperor", "level must be one of oblast, city_republican, district"),
    ("planned_minutes", "90", "planned_minutes must be a whole number"),
    ("planned_minutes", 90.5, "planned_minutes must be a whole number"),
    ("planned_minutes", True, "planned_minutes must be a whole number"),
    ("slow_mode_burst", 2.0, "slow_mode_burst must be a whole number"),
    ("slow_mode_seconds", "5", "slow_mode_seconds must be a number"),
    ("slow_mode_seconds", False, "slow_mode_seconds must be a number"),
    ("titles", ["kk"], "titles must map a language to a text"),
    ("titles", {"kk": None}, "titles must map a language to a text"),
    ("title", ..., "title is required"),
    ("level", ..., "level is required"),
]


async def test_a_wrong_meeting_field_is_named_in_the_400(http: httpx.AsyncClient) -> None:
    for field, value, detail in WRONG:
        body = {k: v for k, v in NEW.items() if k != field}
        if value is not ...:
            body[field] = value
        answer = await http.post("/api/meetings", json=body, headers=ADMIN)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid"), field
        assert answer.json()["detail"].startswith(detail), (field, answer.json())
    assert (await http.get("/api/meetings")).json()["meetings"] == []  # nothing half-made


async def test_two_admins_starting_one_meeting_at_once_start_it_once(
    http: httpx.AsyncClient, store: Store
) -> None:
    """The second start is refused (409), never applied twice: one `meeting.started` event."""
    # A number field takes a whole number too: 3 is 3.0 seconds.
    body = NEW | {"id": "medeu-june", "slow_mode_seconds": 3}
    created = await http.post("/api/meetings", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    answers = await asyncio.gather(
        *(http.post("/api/meetings/medeu-june/start", headers=ADMIN) for _ in range(4))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409, 409]
    for refused in (a for a in answers if a.status_code == 409):
        assert refused.json()["error"] in ("conflict", "invalid_transition")
    entries = await store.record.range("medeu-june", "-", "+", count=10)
    assert [e.kind for _, e in entries] == ["meeting.created", "meeting.started"]


async def test_the_report_of_an_unknown_meeting_is_404_as_a_page_and_as_json(
    http: httpx.AsyncClient, live_meeting: Meeting
) -> None:
    page = await http.get("/m/no-such-meeting/transparency")
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    api = await http.get("/api/meetings/no-such-meeting/transparency")
    assert (api.status_code, api.json()) == (404, {"error": "not_found"})
    known = await http.get(f"/api/meetings/{live_meeting.id}/transparency")
    assert known.status_code == 200


async def chunks(body: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_login_form_over_16_kib_is_refused_413_however_it_is_sent(
    http: httpx.AsyncClient,
) -> None:
    """INP-2: the form is refused on its declared length, and a chunked one (no length given)
    when what arrived passes the limit; nothing is signed in."""
    body = b"name=aliya&password=" + b"x" * 20_000
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    declared = await http.post("/login", content=body, headers=form)
    assert declared.status_code == 413
    chunked = await http.post("/login", content=chunks(body), headers=form)
    assert chunked.status_code == 413
    assert "halyq_session" not in http.cookies
