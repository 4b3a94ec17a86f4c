"""Promises end to end (issue 12.5, its acceptance): promises recorded over HTTP for a meeting of
an office stay listed under the office with their status after its holder changes, and the new
holder's tracker (`/offices/{id}` and `GET /api/offices/{id}/promises`) marks them inherited,
overdue ones first."""

from __future__ import annotations

import re
from datetime import datetime

import httpx
import pytest

from moderation import AskQuestion, Meeting, StartMeeting, Submission
from moderation.deadlines import ALMATY
from moderation.model import AkimLevel
from moderation.offices import OfficeFields
from server.auth.accounts import Role
from server.usecases import Asked, UseCases, change_meeting, create_meeting, offices, submit
from server.web.offices import meeting_promises
from tests.conftest import meeting_command
from tests.helpers import LiveServer
from tests.server.test_auth import CSRF_INPUT, add_user, login

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_hashing")]
ADMIN = {"Authorization": "Bearer test-admin-token"}
ROW = re.compile(r'data-promise="([a-z0-9]+)" data-status="([a-z_]+)" data-overdue="(true|false)"'
                 r' data-inherited="(true|false)"')  # fmt: skip


def noon(day: str) -> int:
    """Noon of `day` in Almaty, as the server's clock gives it (ms since the epoch)."""
    moment = datetime.fromisoformat(day).replace(hour=12, tzinfo=ALMATY)
    return int(moment.timestamp() * 1000)


async def office_meeting(cases: UseCases) -> Meeting:
    """The Almaly district's office, its first holder, and a live meeting of it."""
    fields = OfficeFields(level=AkimLevel.LOCAL, territory="Алмалы ауданы",
                          territories={"en": "Almaly district"})  # fmt: skip
    await offices.add(cases, "almaty-almaly", fields, by="root")
    await offices.set_holder(cases, "almaty-almaly", "Ерлан Сапаров", "2025-01-01", by="root")
    meeting = await create_meeting(cases, meeting_command(office="almaty-almaly"))
    return await change_meeting(cases, meeting.id, StartMeeting())


async def staff_csrf(http: httpx.AsyncClient, page: str) -> dict[str, str]:
    found = CSRF_INPUT.search((await http.get(page)).text)
    assert found, page
    return {"X-CSRF-Token": found[1]}


async def test_promises_stay_with_the_office_and_pass_to_the_next_holder(
    server: LiveServer,
) -> None:
    cases = server.services.usecases
    cases.clock = lambda: noon("2026-03-10")
    meeting = await office_meeting(cases)
    asked = await submit(cases, meeting, Submission(
        what=AskQuestion(client_msg_id="q1", name="Айгерім", text="Жол қашан жөнделеді?"),
        sender="viewer1"))  # fmt: skip
    assert isinstance(asked, Asked)
    await add_user(server.services, "producer", Role.PRODUCER)
    await add_user(server.services, "mod", Role.MODERATOR)
    path = f"/api/meetings/{meeting.id}/promises"
    async with httpx.AsyncClient(base_url=server.url) as producer:
        await login(producer, "producer")
        csrf = await staff_csrf(producer, f"/producer/{meeting.id}")
        road = await producer.post(path, headers=csrf, json={
            "what": "Абай даңғылындағы жолды жөндеу", "due": "2026-05-01",
            "question": asked.id})  # fmt: skip
        assert road.status_code == 201, road.text
        assert road.json()["promised_by"] == "Ерлан Сапаров"  # the holder that day
        assert road.json()["question"] == asked.id
        water = await producer.post(path, headers=csrf, json={
            "what": "Ыстық суды қосу", "due": "2026-04-01"})  # fmt: skip
        await producer.post(path, headers=csrf, json={
            "what": "Аулаларды жарықтандыру", "due": "2026-09-01",
            "promised_by": "Head of the energy department"})  # fmt: skip
    async with httpx.AsyncClient(base_url=server.url) as moderator:
        await login(moderator, "mod")
        csrf = await staff_csrf(moderator, f"/console/{meeting.id}")
        playground = await moderator.post(path, headers=csrf, json={
            "what": "Балалар алаңын салу", "due": "2026-06-01"})  # fmt: skip
        assert playground.status_code == 201
        note = {"status": "in_progress", "note": "Құбыр ауыстырылды"}
        started = await moderator.post(f"/api/promises/{water.json()['id']}", headers=csrf,
                                       json=note)  # fmt: skip
        assert started.json()["status"] == "in_progress"
    async with httpx.AsyncClient(base_url=server.url) as admin:
        kept = await admin.post(f"/api/promises/{playground.json()['id']}", headers=ADMIN,
                                json={"status": "kept"})  # fmt: skip
        assert kept.json()["status"] == "kept"
        # The akim changes; months pass.
        holder = {"name": "Жаңа Әкім", "since": "2026-04-15"}
        changed = await admin.post("/api/offices/almaty-almaly/holder", json=holder,
                                   headers=ADMIN)  # fmt: skip
        assert changed.status_code == 200
        cases.clock = lambda: noon("2026-06-10")
        tracker = (await admin.get("/api/offices/almaty-almaly/promises")).json()
        page = await admin.get("/offices/almaty-almaly?lang=en")
    assert tracker["holder"] == {"name": "Жаңа Әкім", "since": "2026-04-15", "until": None}
    assert tracker["holders"][0] == {"name": "Ерлан Сапаров", "since": "2025-01-01",
                                     "until": "2026-04-14"}  # fmt: skip
    listed = [(p["what"], p["status"], p["overdue"], p["inherited"]) for p in tracker["promises"]]
    assert listed == [
        ("Ыстық суды қосу", "in_progress", True, True),  # overdue first, the longest overdue
        ("Абай даңғылындағы жолды жөндеу", "pending", True, True),
        ("Аулаларды жарықтандыру", "pending", False, True),
        ("Балалар алаңын салу", "kept", False, True),  # a verdict is never overdue
    ]
    assert {p["promised_by"] for p in tracker["promises"]} == {
        "Ерлан Сапаров", "Head of the energy department"}  # fmt: skip
    assert all(p["meeting"] == meeting.id for p in tracker["promises"])
    assert tracker["promises"][0]["updates"] == [
        {"on": "2026-03-10", "status": "in_progress", "note": "Құбыр ауыстырылды"}]  # fmt: skip
    # The public page: the same rows in the same order, the new holder, inherited marked.
    assert page.status_code == 200
    rows = ROW.findall(page.text)
    assert [r[0] for r in rows] == [p["id"] for p in tracker["promises"]]
    assert [(r[1], r[2] == "true", r[3] == "true") for r in rows] == [
        (s, o, i) for _, s, o, i in listed]  # fmt: skip
    assert "<strong data-holder><bdi>Жаңа Әкім</bdi></strong>" in page.text
    assert page.text.count(">inherited</span>") == 4
    assert page.text.count(">overdue</span>") == 2
    assert 'data-holding="2025-01-01"' in page.text  # the earlier holding, with its dates
    # The meeting's results page lists the same rows (the lead includes `_promises.html`).
    assert await meeting_promises(cases, meeting.id) == tracker["promises"]
    assert await meeting_promises(cases, "no-such-meeting") == []
    templates = server.app.state.templates
    html = templates.get_template("_promises.html").render(
        promises=tracker["promises"], titles={meeting.id: "Кездесу"}, pgettext=lambda c, m, **v: m
    )
    assert [r[0] for r in ROW.findall(html)] == [p["id"] for p in tracker["promises"]]
    assert html.count(">Кездесу</bdi>") == 4


async def test_a_promise_made_under_the_new_holder_is_not_inherited(server: LiveServer) -> None:
    cases = server.services.usecases
    cases.clock = lambda: noon("2026-03-10")
    meeting = await office_meeting(cases)
    await offices.set_holder(cases, "almaty-almaly", "Жаңа Әкім", "2026-03-01", by="root")
    async with httpx.AsyncClient(base_url=server.url) as http:
        made = await http.post(f"/api/meetings/{meeting.id}/promises", headers=ADMIN,
                               json={"what": "Жол", "due": "2026-12-01"})  # fmt: skip
        assert made.json()["promised_by"] == "Жаңа Әкім"
        assert made.json()["inherited"] is False
        index = await http.get("/offices")
    assert 'data-office="almaty-almaly"' in index.text


async def test_recording_a_promise_refuses_what_it_cannot_record(server: LiveServer) -> None:
    cases = server.services.usecases
    cases.clock = lambda: noon("2026-03-10")
    meeting = await office_meeting(cases)
    officeless = await create_meeting(cases, meeting_command())
    await add_user(server.services, "operator", Role.OPERATOR)
    good = {"what": "Жол", "due": "2026-05-01"}
    path = f"/api/meetings/{meeting.id}/promises"
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.post(path, json=good)).status_code == 401
        wrong = await http.post(path, json=good, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        cases_ = [
            ({"due": "2026-05-01"}, 400, "what is required"),
            ({"what": "Жол", "due": "May"}, 400, "due must be a date"),
            ({"what": "Жол", "due": 5}, 400, "due must be text"),
            (good | {"question": "1-0"}, 400, "question: no question '1-0'"),
            (good | {"question": "x"}, 400, "question: no question 'x'"),
        ]
        for body, status, detail in cases_:
            refused = await http.post(path, json=body, headers=ADMIN)
            assert refused.status_code == status, body
            assert detail in refused.json()["detail"]
        none = await http.post(f"/api/meetings/{officeless.id}/promises", json=good, headers=ADMIN)
        assert none.status_code == 400
        assert none.json()["detail"].startswith("office: meeting")
        missing = await http.post("/api/meetings/no-such/promises", json=good, headers=ADMIN)
        assert missing.status_code == 404
        made = (await http.post(path, json=good, headers=ADMIN)).json()
        update = f"/api/promises/{made['id']}"
        assert (await http.post(update, json={"status": "done"}, headers=ADMIN)).status_code == 400
        assert (await http.post("/api/promises/nope", json={"status": "kept"},
                                headers=ADMIN)).status_code == 404  # fmt: skip
        assert (await http.post(update, json={"status": "broken"}, headers=ADMIN)).is_success
        final = await http.post(update, json={"status": "kept"}, headers=ADMIN)
        assert final.status_code == 409
        assert final.json()["error"] == "invalid_transition"
        await login(http, "operator")
        csrf = await staff_csrf(http, "/desk")
        operator = await http.post(path, json=good, headers=csrf)
        assert operator.status_code == 403
    tracker = await offices.ledger(cases)
    assert [p.status.value for p in tracker.promises.values()] == ["broken"]  # nothing else


async def test_the_producer_desk_and_the_console_record_promises_without_a_script(
    server: LiveServer,
) -> None:
    cases = server.services.usecases
    cases.clock = lambda: noon("2026-03-10")
    meeting = await office_meeting(cases)
    await add_user(server.services, "producer", Role.PRODUCER)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await login(http, "producer")
        desk = await http.get(f"/producer/{meeting.id}")
        assert f'action="/api/meetings/{meeting.id}/promises"' in desk.text
        token = CSRF_INPUT.search(desk.text)
        assert token
        form = {"csrf": token[1], "next": f"/producer/{meeting.id}?promise=recorded",
                "what": "Бағдаршам орнату", "due": "2026-04-20", "promised_by": "",
                "question": ""}  # fmt: skip
        sent = await http.post(f"/api/meetings/{meeting.id}/promises", data=form)
        assert sent.status_code == 303
        assert sent.headers["location"] == f"/producer/{meeting.id}?promise=recorded"
        back = await http.get(sent.headers["location"])
        assert "data-promise-recorded" in back.text
        elsewhere = await http.post(f"/api/meetings/{meeting.id}/promises",
                                    data=form | {"next": "https://evil.example/"})  # fmt: skip
        assert elsewhere.headers["location"] == "/offices/almaty-almaly"
        console = await http.get(f"/console/{meeting.id}")
        assert f'action="/api/meetings/{meeting.id}/promises"' in console.text
        promise_id = (await offices.ledger(cases)).promises.popitem()[0]
        tracker = await http.get("/offices/almaty-almaly")
        assert f'action="/api/promises/{promise_id}"' in tracker.text  # staff may update
        status = {"csrf": token[1], "status": "in_progress", "note": "",
                  "next": "/offices/almaty-almaly"}  # fmt: skip
        updated = await http.post(f"/api/promises/{promise_id}", data=status)
        assert updated.status_code == 303
        assert updated.headers["location"] == "/offices/almaty-almaly"
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            public = await anonymous.get("/offices/almaty-almaly")
        assert 'class="promise-update"' not in public.text  # the public has no forms
        assert public.text.count("data-promise=") == 2
        forged = await http.post(f"/api/meetings/{meeting.id}/promises",
                                 data=form | {"csrf": "x"})  # fmt: skip
        assert forged.status_code == 403
    found = sorted(
        (p.what, p.status.value) for p in (await offices.ledger(cases)).promises.values()
    )
    assert found == [("Бағдаршам орнату", "in_progress"), ("Бағдаршам орнату", "pending")]


async def test_overdue_starts_the_day_after_the_due_date(server: LiveServer) -> None:
    cases = server.services.usecases
    cases.clock = lambda: noon("2026-03-10")
    meeting = await office_meeting(cases)
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.post(f"/api/meetings/{meeting.id}/promises", headers=ADMIN,
                        json={"what": "Жол", "due": "2026-03-31"})  # fmt: skip
        for day, late in (("2026-03-31", False), ("2026-04-01", True)):
            cases.clock = lambda day=day: noon(day)  # type: ignore[misc]
            tracker = (await http.get("/api/offices/almaty-almaly/promises")).json()
            assert tracker["today"] == day
            assert tracker["promises"][0]["overdue"] is late
