"""Requests before a meeting (R5, issue 13), end to end on a real server and Redis: residents
send them from the announced meeting's page (a form without script, or JSON) and through a
channel's webhook; bad input is refused naming the field and loses nothing; the commission
groups, tags and turns them into a problem issue or a question on the agenda, with a real staff
session and its CSRF token; the public page and JSON count them by topic and district."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moderation import Meeting, StartMeeting
from moderation.model import Channel, ItemStatus
from server.auth.accounts import Role
from server.settings import Settings
from server.usecases import change_meeting, create_meeting
from tests import fakes
from tests.conftest import meeting_command
from tests.consoles import open_session
from tests.helpers import LiveServer
from tests.server.test_auth import login
from tests.server.test_users_cli import halyq

pytestmark = pytest.mark.anyio
KEY = re.compile(r'name="client_msg_id" value="([^"]+)"')


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def announced(server: LiveServer, **changes: object) -> Meeting:
    """A scheduled meeting (R5: announced ahead), slow mode off."""
    command = meeting_command(starts_at="2026-12-10T18:00:00+05:00", **changes)
    return await create_meeting(server.services.usecases, command)


async def commission(server: LiveServer, http: httpx.AsyncClient) -> dict[str, str]:
    """A commission member's browser: the session cookie and its CSRF token (from a page)."""
    session = await open_session(server.services.store, "kom", Role.COMMISSION)
    cookies = {"Cookie": f"halyq_session={session}"}
    page = await http.get("/console", headers=cookies)
    assert page.status_code == 200, page.text
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    return cookies | {"csrf": token}


async def csrf_of(http: httpx.AsyncClient, session: str) -> str:
    page = await http.get("/console", headers={"Cookie": f"halyq_session={session}"})
    return page.text.split('name="csrf-token" content="')[1].split('"')[0]


async def requests_json(http: httpx.AsyncClient, meeting: Meeting) -> dict[str, Any]:
    answer = await http.get(f"/api/meetings/{meeting.id}/requests")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_r5_a_resident_sends_a_request_from_the_page_without_script(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await announced(server)
    page = await http.get(f"/m/{meeting.id}", params={"lang": "ru"})
    assert page.status_code == 200
    assert 'action="/m/' + meeting.id + '/requests"' in page.text
    assert "Обращения до встречи" in page.text
    key = KEY.search(page.text)
    assert key is not None
    form = {"client_msg_id": key[1], "name": "Асель", "text": "Когда починят дорогу на Абая?",
            "district": "", "topic": "roads"}  # fmt: skip
    sent = await http.post(f"/m/{meeting.id}/requests", data=form)
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(f"/m/{meeting.id}/requests?sent=")
    again = await http.post(f"/m/{meeting.id}/requests", data=form)  # a double submit
    assert again.headers["location"] == sent.headers["location"]
    shown = await http.get(sent.headers["location"] + "&lang=ru")
    assert "Ваше обращение получено" in shown.text
    collected = await requests_json(http, meeting)
    assert (collected["total"], collected["by_topic"]) == (1, {"roads": 1})
    assert collected["taking_requests"] is True
    board = await server.services.usecases.rundowns.of(meeting.id)
    (item,) = board.board.items.values()
    assert (item.channel, item.status, item.name) == (Channel.REQUEST, ItemStatus.NEW, "Асель")


async def test_r5_json_requests_are_masked_limited_and_refused_clearly(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await announced(server)
    path = f"/m/{meeting.id}/requests"
    sent = await http.post(
        path, json={"text": "Звоните 87012345678, нет воды", "client_msg_id": "j1"}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "received"
    repeated = await http.post(
        path, json={"text": "Звоните 87012345678, нет воды", "client_msg_id": "j1"}
    )
    assert (repeated.status_code, repeated.json()["id"]) == (200, sent.json()["id"])
    cases: list[tuple[object, int, str]] = [
        ({"text": ""}, 400, "text"),
        ({"text": "Вода?", "topic": "weather"}, 400, "topic"),
        ({"text": "Вода?", "name": 5}, 400, "name"),
        ({"text": "ы" * 501}, 400, "text"),
        ({"text": "Вода?", "name": "Аким"}, 400, "name"),
        ({"text": "Вода?", "client_msg_id": "x" * 65}, 400, "client_msg_id"),
    ]
    for body, code, field in cases:
        answer = await http.post(path, json=body)
        assert (answer.status_code, answer.json()["field"]) == (code, field), (body, answer.text)
    assert (await http.post(path, content=b"[1]")).status_code == 400
    assert (await http.post("/m/nope/requests", json={"text": "x"})).status_code == 404
    assert (await http.post("/m/nope/requests", data={"text": "x"})).status_code == 404
    # A sender past the limit (a burst of 3 per meeting) is told to wait; nothing else is lost.
    codes = [(await http.post(path, json={"text": f"Вопрос {n}?"})).status_code for n in range(4)]
    assert codes == [201, 201, 429, 429]
    collected = await requests_json(http, meeting)
    assert collected["total"] == 3
    texts = [
        i.text
        for i in (await server.services.usecases.rundowns.of(meeting.id)).board.items.values()
    ]
    assert "Звоните ••• ••• ••78, нет воды" in texts
    # Once the meeting is live, requests are closed (its page takes questions instead).
    await change_meeting(server.services.usecases, meeting.id, StartMeeting())
    late = await http.post(path, json={"text": "Поздно?"})
    assert (late.status_code, late.json()["error"]) == (409, "invalid_transition")


async def test_a_bad_form_shows_the_error_and_keeps_what_was_typed(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await announced(server)
    form = {"name": "Аким", "text": "Когда будет свет во дворе?", "topic": "landscaping"}
    answer = await http.post(f"/m/{meeting.id}/requests?lang=ru", data=form)
    assert answer.status_code == 400
    assert 'data-error="reserved_name"' in answer.text
    assert "Это имя читается как официальная должность" in answer.text, answer.text
    assert "Когда будет свет во дворе?" in answer.text
    form = {"text": "Вода?", "topic": "weather"}
    answer = await http.post(f"/m/{meeting.id}/requests", data=form)
    assert answer.status_code == 400
    assert "topic must be one of" in answer.text
    assert (await requests_json(http, meeting))["total"] == 0


async def test_r5_a_channel_message_joins_the_announced_meetings_requests(
    webhooks: LiveServer, providers: fakes.Providers
) -> None:
    meeting = await announced(webhooks)
    body = fakes.whatsapp_body(fakes.whatsapp_text("wamid.Q1", "Когда починят дорогу?"))
    assert (await fakes.whatsapp(body).post(webhooks.url)).status_code == 200
    (arrived,) = await providers.wait("77011234567")
    assert "10 декабря 2026" in arrived.text
    async with httpx.AsyncClient(base_url=webhooks.url) as http:
        collected = await requests_json(http, meeting)
    assert (collected["total"], collected["by_topic"]) == (1, {"roads": 1})


async def test_the_commission_groups_tags_and_makes_issues_and_agenda_questions(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await announced(server)
    path = f"/m/{meeting.id}/requests"
    ids = []
    texts = ["Нет света во дворе на Абая 10", "Во дворе Абая 10 темно", "Когда починят школу 12?"]
    for text in texts:  # one resident's burst of three
        sent = await http.post(path, json={"text": text})
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["id"])
    browser = await commission(server, http)
    csrf, cookie = browser.pop("csrf"), browser
    console = await http.get(f"/console/{meeting.id}/requests", headers=cookie)
    assert console.status_code == 200
    assert all(f'data-request="{i}"' in console.text for i in ids)
    act = f"/console/{meeting.id}/requests"
    # Without the CSRF token, nothing.
    refused = await http.post(act, data={"action": "agenda", "item": ids[2], "version": "1"},
                              headers=cookie)  # fmt: skip
    assert refused.status_code == 403
    group = {"csrf": csrf, "action": "group", "item": ids[1], "version": "1", "into": ids[0]}
    done = await http.post(act, data=group, headers=cookie)
    assert done.status_code == 303, done.text
    # The group's request is at version 2 now (the merge counts there): version 1 is stale.
    tag = {"csrf": csrf, "action": "tag", "item": ids[0], "version": "1", "topic": "landscaping",
           "district": "Алмалы"}  # fmt: skip
    stale = await http.post(act, data=tag, headers=cookie)
    assert stale.status_code == 409
    assert "version" in stale.text
    assert (await http.post(act, data=tag | {"version": "2"}, headers=cookie)).status_code == 303
    agenda = await http.post(act, json={"action": "agenda", "item": ids[2], "version": 1},
                             headers=cookie | {"X-CSRF-Token": csrf})  # fmt: skip
    assert agenda.status_code == 200, agenda.text
    issue = {"csrf": csrf, "action": "issue", "items": ids[0], "title": "Свет во дворе Абая 10",
             "executor": "Управление энергетики", "deadline": "2027-03-01"}  # fmt: skip
    made = await http.post(act, data=issue, headers=cookie)
    assert made.status_code == 303, made.text
    pool = (await http.get("/api/issues")).json()["issues"]
    (opened,) = [i for i in pool if i["meeting_id"] == meeting.id]
    assert set(opened["questions"]) == {ids[0], ids[1]}
    bad = await http.post(act, json={"action": "issue", "items": ["nope"], "title": "x"},
                          headers=cookie | {"X-CSRF-Token": csrf})  # fmt: skip
    assert (bad.status_code, bad.json()["field"]) == (400, "item")
    bad = await http.post(act, json={"action": "shout", "item": ids[2], "version": 1},
                          headers=cookie | {"X-CSRF-Token": csrf})  # fmt: skip
    assert (bad.status_code, bad.json()["field"]) == (400, "action")
    # Who and when: the record has the member's name on each action.
    entries = await server.services.store.record.range(meeting.id, "-", "+", count=100)
    staff_events = [e for _, e in entries if getattr(e, "by", "") == "kom"]
    assert [e.kind for e in staff_events] == ["question.merged", "question.tagged",
                                              "question.approved"]  # fmt: skip
    assert all(e.at > 0 for e in staff_events)
    # The public page: counts by topic and district, the accepted text, the agenda; no sender.
    collected = await requests_json(http, meeting)
    assert collected["total"] == 3
    assert collected["by_district"]["Алмалы"] == 1
    assert [q["id"] for q in collected["accepted"]] == [ids[2]]
    assert [q["id"] for q in collected["agenda"]] == [ids[2]]
    page = await http.get(f"/m/{meeting.id}/requests", params={"lang": "kk"})
    assert page.status_code == 200
    assert f'data-agenda="{ids[2]}"' in page.text
    assert "Күн тәртібі" in page.text
    assert 'data-collected="3"' in page.text


async def test_only_the_commission_and_the_admin_work_on_requests(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await announced(server)
    moderator = await open_session(server.services.store, "mod", Role.MODERATOR)
    headers = {"Cookie": f"halyq_session={moderator}"}
    assert (await http.get(f"/console/{meeting.id}/requests", headers=headers)).status_code == 403
    admin = await open_session(server.services.store, "adm", Role.ADMIN)
    page = await http.get(f"/console/{meeting.id}/requests",
                          headers={"Cookie": f"halyq_session={admin}"})  # fmt: skip
    assert page.status_code == 200
    assert "Requests received: 0" in page.text or 'data-collected="0"' in page.text
    missing = await http.get("/console/nope/requests", headers={"Cookie": f"halyq_session={admin}"})
    assert missing.status_code == 404
    assert (await http.get("/api/meetings/nope/requests")).status_code == 404
    assert (await http.get("/m/nope/requests")).status_code == 404
    assert (await http.get("/m/not%20an%20id!/requests")).status_code == 404
    headers = {"Cookie": f"halyq_session={admin}", "X-CSRF-Token": await csrf_of(http, admin)}
    gone = await http.post("/console/nope/requests", json={"action": "agenda"}, headers=headers)
    assert gone.status_code == 404
    act = f"/console/{meeting.id}/requests"
    for items in ([], [5], "", ["x"] * 51):
        bad = await http.post(act, json={"action": "issue", "items": items}, headers=headers)
        assert (bad.status_code, bad.json()["field"]) == (400, "items"), bad.text


async def test_a_commission_member_is_added_with_the_user_command(
    server: LiveServer, http: httpx.AsyncClient, settings: Settings
) -> None:
    """`halyq user add NAME --role commission` (issue 13), then a sign-in that lands on the
    meetings list, with a link to each meeting's requests."""
    password = "a long enough password"
    added = await asyncio.to_thread(
        halyq, settings, "user", "add", "kom.a", "--role", "commission", "--password-stdin",
        stdin=password + "\n",
    )  # fmt: skip
    assert (added.returncode, added.stdout) == (0, "added kom.a (commission)\n"), added.stderr
    meeting = await announced(server)
    signed_in = await login(http, "kom.a", password)
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/console")
    home = await http.get("/console")
    assert f'href="/console/{meeting.id}/requests"' in home.text


@pytest.mark.parametrize(
    ("lang", "almaly"),
    [("kk", "Алмалы ауданы"), ("ru", "Алмалинский район"), ("en", "Almaly district")],
)
async def test_the_request_form_names_each_district_in_the_pages_language(
    server: LiveServer, http: httpx.AsyncClient, lang: str, almaly: str
) -> None:
    """The district a request names is the one the viewer page's choice gives ("Алмалы"), shown
    by its name in the page's language, in the form and in what was collected (issue 14)."""
    meeting = await announced(server, territory="Алматы")  # a city's meeting: its districts
    form = {"client_msg_id": "districted-1", "name": "Асель", "district": "Алмалы",
            "text": "Когда починят дорогу на Абая?", "topic": "roads"}  # fmt: skip
    assert (await http.post(f"/m/{meeting.id}/requests", data=form)).status_code == 303
    for path in (f"/m/{meeting.id}", f"/m/{meeting.id}/requests"):
        page = (await http.get(path, params={"lang": lang})).text
        assert f'<option value="Алмалы">{almaly}</option>' in page, path
        if path.endswith("/requests"):
            assert f'<tr data-district="Алмалы"><th scope="row"><bdi>{almaly}</bdi>' in page
