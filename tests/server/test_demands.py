"""Meetings on demand (R2, issue 13), end to end on a real server and Redis: a resident asks for
a meeting outside the calendar from the public form, other residents support it and each counts
once (the signed viewer cookie, else the address; and a per-address limit), the akimat's answer
is recorded by the commission with a real session and its CSRF token, and shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moderation.model import AkimLevel
from moderation.offices import OfficeFields
from server.auth.accounts import Role
from server.usecases import offices
from tests.consoles import open_session
from tests.helpers import LiveServer

pytestmark = pytest.mark.anyio
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ABOUT = "Просим встречу с акимом о застройке сквера у дома 5"


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def visit(client: httpx.AsyncClient) -> None:
    """A resident's browser opens the page, and so holds a viewer cookie."""
    page = await client.get("/demands")
    assert page.status_code == 200
    assert "halyq_viewer" in client.cookies


async def demands(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    answer = await http.get("/api/demands")
    assert answer.status_code == 200
    found: list[dict[str, Any]] = answer.json()["demands"]
    return found


async def test_r2_a_demand_is_supported_once_per_resident_and_answered(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    cases = server.services.usecases
    fields = OfficeFields(level=AkimLevel.LOCAL, territory="Алматы, Медеу ауданы")
    await offices.add(cases, "almaty-medeu", fields, by="test")
    async with (
        httpx.AsyncClient(base_url=server.url) as first,
        httpx.AsyncClient(base_url=server.url) as second,
    ):
        await visit(first)
        await visit(second)
        asked = await first.post("/demands", data={"office": "almaty-medeu", "about": ABOUT})
        assert asked.status_code == 303
        (demand,) = await demands(http)
        assert (demand["office"], demand["about"], demand["supporters"]) == (
            "almaty-medeu", ABOUT, 1,
        )  # fmt: skip
        path = f"/demands/{demand['id']}/support"
        assert (await first.post(path, json={})).status_code == 409  # its maker supports it
        supported = await second.post(path, content=b"", headers=FORM)  # the page's button
        assert supported.status_code == 303
        again = await second.post(path, json={})
        assert (again.status_code, again.json()["error"]) == (409, "conflict")
        # Without a cookie, a resident is its address: it counts once too.
        assert (await http.post(path, json={})).json()["supporters"] == 3
        assert (await http.post(path, json={})).status_code == 409
        page = await first.get("/demands", params={"lang": "ru"})
        assert 'data-supporters="3"' in page.text
        assert "Поддержали: 3" in page.text

        session = await open_session(server.services.store, "kom", Role.COMMISSION)
        cookie = {"Cookie": f"halyq_session={session}"}
        staff_page = await http.get("/demands", headers=cookie)
        token = staff_page.text.split('name="csrf-token" content="')[1].split('"')[0]
        assert 'data-form="answer"' in staff_page.text
        assert 'data-form="answer"' not in page.text  # residents get no answer form
        answer_path = f"/demands/{demand['id']}/answer"
        body = {"answer": "accepted", "date": "2026-12-20"}
        no_token = await http.post(answer_path, data=body, headers=cookie)
        assert no_token.status_code == 403
        bad = await http.post(answer_path, json={"answer": "accepted", "date": "soon"},
                              headers=cookie | {"X-CSRF-Token": token})  # fmt: skip
        assert (bad.status_code, bad.json()["field"]) == (400, "date")
        answered = await http.post(answer_path, data=body | {"csrf": token}, headers=cookie)
        assert answered.status_code == 303, answered.text
        (shown,) = await demands(http)
        assert (shown["answer"], shown["date"], shown["supporters"]) == (
            "accepted",
            "2026-12-20",
            3,
        )
        assert "kom" not in str(shown)
        page = await first.get("/demands", params={"lang": "kk"})
        assert "Қабылданды: кездесу 2026-12-20" in page.text
        late = await http.post(answer_path, json={"answer": "declined", "reason": "нет"},
                               headers=cookie | {"X-CSRF-Token": token})  # fmt: skip
        assert late.status_code == 409
        assert (await first.post(path, json={})).status_code == 409  # answered: no more support

    moderator = await open_session(server.services.store, "mod", Role.MODERATOR)
    forbidden = await http.post(
        answer_path, json=body, headers={"Cookie": f"halyq_session={moderator}"}
    )
    assert forbidden.status_code == 403


async def test_bad_demands_name_the_field_keep_what_was_typed_and_change_nothing(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    cases = [
        ({"unit": "Самал", "about": ""}, "about"),
        ({"office": "nowhere", "about": ABOUT}, "office"),
        ({"about": ABOUT}, "unit"),
        ({"unit": "Самал", "about": "https://spam.example/x"}, "about"),
    ]
    for body, field in cases:
        answer = await http.post("/demands", json=body)
        assert (answer.status_code, answer.json()["field"]) == (400, field), answer.text
    form = await http.post("/demands", data={"unit": "мкр Самал-2", "about": ""})
    assert form.status_code == 400
    assert "мкр Самал-2" in form.text
    assert 'role="alert"' in form.text
    assert (await http.post("/demands", content=b"[]")).status_code == 400
    missing = await http.post("/demands/d9/support", json={})
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert await demands(http) == []


async def test_one_address_asks_and_supports_only_so_often(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    codes = []
    for n in range(11):
        answer = await http.post("/demands", json={"unit": "Самал", "about": f"Встреча {n}"})
        codes.append(answer.status_code)
    assert codes == [201] * 10 + [429]
    limited = await http.post("/demands/d1/support", content=b"", headers=FORM)
    assert limited.status_code == 429
    assert len(await demands(http)) == 10
