"""The phone desk (issue 10.1) against a real server, signed in through the login form: calls
recorded once as phone questions, numbers in E.164, refusals naming their field, who may use
it, and where calls go when no meeting is live (R5)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from moderation import EndMeeting, Meeting, StartMeeting
from moderation.model import Channel, Item, ItemKind, ItemStatus
from server.auth.accounts import Role, Staff
from server.store import Store
from server.usecases import UseCases, change_meeting, create_meeting
from server.usecases.intake import Receipt
from server.web.desk import Refusal, answer, shown_callback
from server.web.i18n import template_gettext
from tests.conftest import meeting_command
from tests.helpers import LiveServer
from tests.server.test_auth import add_user, login

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_hashing")]

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
PAGE = {"Accept": "text/html"}
QUESTION = "Когда на улице Жандосова починят освещение? Вечером очень темно."


class Desk:
    """An operator's browser at the desk: the session cookie and the page's CSRF token."""

    def __init__(self, http: httpx.AsyncClient, csrf: str) -> None:
        self.http = http
        self.csrf = csrf

    async def call(self, meeting: str, **fields: Any) -> httpx.Response:
        body = {"meeting_id": meeting, "client_msg_id": str(uuid.uuid4()), "name": "",
                "district": "", "callback": "", "text": QUESTION, "language": "ru"}  # fmt: skip
        body |= fields
        return await self.http.post(
            "/api/desk/calls", json=body, headers={"X-CSRF-Token": self.csrf}
        )


async def signed_in(server: LiveServer, name: str, role: Role) -> AsyncIterator[Desk]:
    await add_user(server.services, name, role)
    async with httpx.AsyncClient(base_url=server.url) as http:
        signed = await login(http, name)
        assert signed.status_code == 303, signed.text
        page = await http.get("/desk", headers=PAGE)
        found = CSRF.search(page.text)
        yield Desk(http, found[1] if found else "")


@pytest.fixture
async def desk(server: LiveServer) -> AsyncIterator[Desk]:
    async for signed in signed_in(server, "dana.ops", Role.OPERATOR):
        yield signed


@pytest.fixture
async def live_meeting(store: Store) -> Meeting:
    """A live meeting of Almaty, whose districts the desk offers (slow mode off)."""
    cases = UseCases(store=store)
    meeting = await create_meeting(cases, meeting_command(territory="г. Алматы"))
    return await change_meeting(cases, meeting.id, StartMeeting())


async def questions(store: Store, meeting_id: str) -> list[Item]:
    """Every question of the meeting, from its record."""
    entries = await store.record.range(meeting_id, "-", "+", count=1000)
    ids = [entry_id for entry_id, event in entries if event.kind == "question.asked"]
    items = await store.board.items(meeting_id, ids)
    return [items[i] for i in ids]


async def test_an_operator_signs_in_to_the_desk_of_the_live_meeting(
    server: LiveServer, live_meeting: Meeting
) -> None:
    await add_user(server.services, "dana.ops", Role.OPERATOR)
    async with httpx.AsyncClient(base_url=server.url) as http:
        signed = await login(http, "dana.ops")
        assert signed.headers["location"] == "/desk"  # not the console: calls come first
        page = await http.get("/desk", headers=PAGE)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert f'data-meeting="{live_meeting.id}"' in page.text
    assert re.search(r'<input id="call-name"[^>]*autofocus', page.text)
    assert '<option value="Алмалы"></option>' in page.text  # the territory's districts
    assert 'id="early"' not in page.text


async def test_a_call_is_recorded_once_as_a_phone_question(
    server: LiveServer, store: Store, desk: Desk, live_meeting: Meeting
) -> None:
    call_id = str(uuid.uuid4())
    fields = {"client_msg_id": call_id, "name": "Гульнар", "district": "алмалы",
              "callback": "8 (701) 234-56-78", "language": "kk"}  # fmt: skip
    first = await desk.call(live_meeting.id, **fields)
    again = await desk.call(live_meeting.id, **fields)  # a double Enter, or a retry
    assert first.status_code == 201, first.text
    assert first.json() == {"id": first.json()["id"], "status": "recorded",
                            "meeting_id": live_meeting.id, "callback": "+77012345678"}  # fmt: skip
    assert again.status_code == 201
    assert again.json()["status"] == "repeated"
    assert again.json()["id"] == first.json()["id"]

    [question] = await questions(store, live_meeting.id)
    assert question.id == first.json()["id"]
    assert (question.kind, question.status) == (ItemKind.QUESTION, ItemStatus.NEW)
    assert question.channel is Channel.PHONE
    assert (question.name, question.text) == ("Гульнар", QUESTION)
    assert question.district == "Алмалы"  # typed in any case, kept as the territory names it
    assert question.language == "kk"  # as the operator chose, whatever the text looks like
    sender = server.services.sender_pseudonym("phone:+77012345678")
    assert question.viewer == sender
    contact = await store.intake.contact(live_meeting.id, sender)
    assert contact is not None
    assert (contact["channel"], contact["contact"]) == ("phone", "+77012345678")


async def test_a_caller_without_name_or_number_stays_blank(
    server: LiveServer, store: Store, desk: Desk, live_meeting: Meeting
) -> None:
    done = await desk.call(live_meeting.id, district="Алмалы", text="Когда откроют школу?")
    assert done.status_code == 201, done.text
    assert done.json()["callback"] == ""
    [question] = await questions(store, live_meeting.id)
    assert (question.name, question.district) == ("", "Алмалы")  # "resident of Алмалы"


@pytest.mark.parametrize(
    ("changes", "status", "error", "field"),
    [
        ({"callback": "12ab"}, 400, "invalid", "callback"),
        ({"callback": "+7 701 234"}, 400, "invalid", "callback"),
        ({"district": "Нарния"}, 400, "invalid", "district"),
        ({"text": "   "}, 400, "empty", "text"),
        ({"text": "\u200b\u3164"}, 400, "empty", "text"),
        ({"text": "а" * 501}, 400, "too_long", "text"),
        ({"name": "Аким"}, 400, "reserved_name", "name"),
        ({"name": "Н" * 41}, 400, "invalid", "name"),
        ({"language": "en"}, 400, "invalid", "language"),
        ({"language": 7}, 400, "invalid", "language"),
        ({"client_msg_id": "abc"}, 400, "invalid", "client_msg_id"),
        ({"meeting_id": "../x"}, 400, "invalid", "meeting_id"),
        ({"meeting_id": "m" + "0" * 20}, 404, "not_found", "meeting_id"),
    ],
)
async def test_a_bad_field_is_refused_by_name_and_nothing_is_recorded(
    store: Store,
    desk: Desk,
    live_meeting: Meeting,
    changes: dict[str, object],
    status: int,
    error: str,
    field: str,
) -> None:
    refused = await desk.call(live_meeting.id, **changes)
    assert refused.status_code == status, refused.text
    assert refused.json()["error"] == error
    assert refused.json()["field"] == field
    assert refused.json()["detail"]
    assert await questions(store, live_meeting.id) == []


async def test_a_body_that_is_not_a_call_is_refused(desk: Desk, live_meeting: Meeting) -> None:
    headers = {"X-CSRF-Token": desk.csrf}
    for body, status in ((b"[1, 2]", 400), (b"{not json", 400), (b"{" + b" " * 20_000, 413)):
        refused = await desk.http.post("/api/desk/calls", content=body, headers=headers)
        assert refused.status_code == status, (body[:10], refused.text)


async def test_a_number_calling_too_often_waits_and_is_told_how_long(
    store: Store, desk: Desk, live_meeting: Meeting
) -> None:
    # HALYQ_SENDER_BURST=3, then HALYQ_SENDER_MESSAGES_PER_MINUTE=6: one every 10 s.
    answers = [
        await desk.call(live_meeting.id, callback="+7 701 234 56 78", text=f"Вопрос номер {n}?")
        for n in range(4)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    limited = answers[-1]
    assert limited.json()["field"] == "callback"
    assert limited.json()["retry_after"] == 10
    assert limited.headers["retry-after"] == "10"
    assert len(await questions(store, live_meeting.id)) == 3
    # Another caller is not held back by that one.
    other = await desk.call(live_meeting.id, callback="+7 777 111 22 33")
    assert other.status_code == 201


async def test_only_those_who_operate_the_phone_may_use_the_desk(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    for name, role in (("mira.mod", Role.MODERATOR), ("timur.prod", Role.PRODUCER)):
        async for outsider in signed_in(server, name, role):
            page = await outsider.http.get("/desk", headers=PAGE)
            assert page.status_code == 403, role
            session = outsider.http.cookies["halyq_session"]
            found = await server.services.staff.session(session, server.services.clock())
            assert found is not None
            outsider.csrf = found.csrf  # refused for the role, not for the token
            assert (await outsider.call(live_meeting.id)).status_code == 403, role
    async with httpx.AsyncClient(base_url=server.url) as viewer:
        await viewer.get(f"/m/{live_meeting.id}")  # a viewer's cookie is no staff session
        page = await viewer.get("/desk", headers=PAGE)
        assert page.status_code == 303
        assert page.headers["location"].startswith("/login?next=%2Fdesk")
        posted = await viewer.post("/api/desk/calls", json={"meeting_id": live_meeting.id})
        assert posted.status_code == 401
    async for admin in signed_in(server, "root", Role.ADMIN):
        assert (await admin.call(live_meeting.id)).status_code == 201  # admins may do anything
    async for operator in signed_in(server, "dana.ops", Role.OPERATOR):
        without = await operator.http.post("/api/desk/calls", json={})
        assert without.status_code == 403  # no CSRF token
    assert len(await questions(store, live_meeting.id)) == 1


async def test_without_a_live_meeting_calls_go_to_the_next_meetings_requests(
    server: LiveServer, store: Store, desk: Desk
) -> None:
    cases = UseCases(store=store)
    announced = {"territory": "Алматы"}
    later = await create_meeting(
        cases, meeting_command(starts_at="2031-05-20T15:00:00+05:00", **announced)
    )
    sooner = await create_meeting(
        cases, meeting_command(starts_at="2031-05-12T15:00:00+05:00", **announced)
    )
    page = await desk.http.get("/desk", params={"lang": "en"}, headers=PAGE)
    assert f'id="desk-meeting" data-meeting="{sooner.id}"' in page.text
    assert 'id="early"' in page.text
    assert "12 May 2031, 15:00" in page.text  # R5: the requests of the meeting on that day
    assert f'href="/desk?meeting={later.id}"' in page.text  # the picker: another may be chosen
    chosen = await desk.http.get("/desk", params={"meeting": later.id}, headers=PAGE)
    assert f'data-meeting="{later.id}" aria-current="true"' in chosen.text

    done = await desk.call(sooner.id, district="Алмалы")
    assert done.status_code == 201, done.text
    assert done.json()["meeting_id"] == sooner.id
    [question] = await questions(store, sooner.id)
    assert question.channel is Channel.PHONE


async def test_with_several_live_meetings_the_operator_picks_one(
    server: LiveServer, store: Store, desk: Desk, live_meeting: Meeting
) -> None:
    cases = UseCases(store=store)
    other = await create_meeting(cases, meeting_command(territory="Астана"))
    other = await change_meeting(cases, other.id, StartMeeting())
    page = await desk.http.get("/desk", headers=PAGE)
    assert f'id="desk-meeting" data-meeting="{other.id}"' in page.text  # the latest started
    assert f'href="/desk?meeting={live_meeting.id}"' in page.text
    picked = await desk.http.get("/desk", params={"meeting": live_meeting.id}, headers=PAGE)
    assert f'id="desk-meeting" data-meeting="{live_meeting.id}"' in picked.text
    assert '<option value="Есиль"></option>' not in picked.text  # Almaty's districts, not Astana's

    done = await desk.call(live_meeting.id)  # the meeting the operator picked takes it
    assert done.json()["meeting_id"] == live_meeting.id
    assert len(await questions(store, live_meeting.id)) == 1
    assert await questions(store, other.id) == []


async def test_with_no_meeting_to_take_calls_the_desk_says_so(
    server: LiveServer, store: Store, desk: Desk
) -> None:
    page = await desk.http.get("/desk", headers=PAGE)
    assert page.status_code == 200
    assert 'id="no-meeting"' in page.text
    assert 'id="call"' not in page.text
    cases = UseCases(store=store)
    ended = await create_meeting(cases, meeting_command())
    await change_meeting(cases, ended.id, StartMeeting())
    await change_meeting(cases, ended.id, EndMeeting())
    refused = await desk.call(ended.id)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "no_meeting"


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
async def test_the_desk_speaks_each_language(desk: Desk, live_meeting: Meeting, lang: str) -> None:
    page = await desk.http.get("/desk", params={"lang": lang}, headers=PAGE)
    assert page.status_code == 200
    words = template_gettext(lang)
    for english in ("Phone desk", "Caller's name", "Callback number", "Recent calls"):
        shown = words["gettext"](english).replace("'", "&#39;")
        assert shown in page.text, (lang, english)
        if lang != "en":
            assert shown != english.replace("'", "&#39;"), (lang, english)
    assert f'<html lang="{lang}">' in page.text


def test_the_number_is_masked_for_roles_that_may_not_see_contacts() -> None:
    def staff(role: Role) -> Staff:
        return Staff(name="x", role=role, session_id="s", csrf="c")

    assert shown_callback("+77012345678", staff(Role.OPERATOR)) == "+77012345678"
    assert shown_callback("+77012345678", staff(Role.PRODUCER)) == "+7 701 ***-**-78"
    assert shown_callback("", staff(Role.PRODUCER)) == ""


def test_each_receipt_of_the_intake_has_its_answer() -> None:
    recorded = answer(Receipt("recorded", "m1", "1-0"), wait=10)
    assert recorded == {"id": "1-0", "status": "recorded", "meeting_id": "m1"}
    refusals = {
        Receipt("retry", detail="the record cannot be reached"): (503, "retry", 1),
        Receipt("refused", detail="rate_limited"): (429, "rate_limited", 10),
        Receipt("refused", detail="no_meeting"): (409, "no_meeting", None),
        Receipt("refused", "m1", detail="refused"): (400, "refused", None),
    }
    for receipt, (status, error, retry_after) in refusals.items():
        with pytest.raises(Refusal) as refused:
            answer(receipt, wait=10)
        response = refused.value.response()
        assert response.status_code == status
        assert refused.value.body["error"] == error
        assert refused.value.body.get("retry_after") == retry_after
        assert response.headers.get("retry-after") == (str(retry_after) if retry_after else None)
