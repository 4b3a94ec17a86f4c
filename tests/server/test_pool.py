"""The issue pool on a real server and Redis (R6, issue 12): approved questions become problem
issues; merges, status changes, edits and progress updates are events in the pool's record with
who and when; `/issues` and its JSON and CSV exports hold exactly the same rows for every
filter; staff need the admin token or a moderating session with its CSRF token; bad input is a
400 naming the field, an unknown meeting or issue 404, a conflict 409, and nothing changes."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from moderation import Meeting, Moderate, StartMeeting
from moderation.commands import AskQuestion, Submission
from moderation.pool import IssueEdited, IssueMerged, IssueOpened, IssueProgress, IssueStatusChanged
from server.auth.accounts import Role
from server.usecases import Asked, act, change_meeting, create_meeting, submit
from server.usecases.meetings import set_receptions
from server.web.pool import issues_of
from tests.conftest import meeting_command
from tests.consoles import open_session
from tests.helpers import LiveServer

pytestmark = pytest.mark.anyio

ADMIN = {"Authorization": "Bearer test-admin-token"}


def ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment).timestamp() * 1000)


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def approved(
    server: LiveServer, meeting: Meeting, texts: list[str], **tags: str
) -> list[str]:
    """Questions asked and approved, in order (tagged with `tags` when given)."""
    cases = server.services.usecases
    found = []
    for n, text in enumerate(texts):
        command = AskQuestion(
            client_msg_id=f"p{n}-{len(text)}-{meeting.id}", name="Асель", text=text
        )
        outcome = await submit(cases, meeting, Submission(what=command, sender=f"v{n}"))
        assert isinstance(outcome, Asked), outcome
        await act(cases, meeting, Moderate(action="approve", item=outcome.id, version=1), by="m")
        if tags:
            await act(
                cases, meeting, Moderate(action="tag", item=outcome.id, version=2, **tags), by="m"
            )
        found.append(outcome.id)
    return found


async def live(server: LiveServer, **changes: object) -> Meeting:
    cases = server.services.usecases
    meeting = await create_meeting(cases, meeting_command(**changes))
    return await change_meeting(cases, meeting.id, StartMeeting())


async def post(
    http: httpx.AsyncClient, path: str, body: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await http.post(path, content=content, headers=ADMIN if headers is None else headers)


def created(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def refused(answer: httpx.Response, code: int, detail: str) -> None:
    assert answer.status_code == code, answer.text
    assert detail in answer.json()["detail"], answer.json()


# Questions become issues; every change is an event with who and when


async def test_questions_become_issues_and_every_change_is_an_event_with_who_and_when(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    cases = server.services.usecases
    meeting = await live(server)
    q1, q2, q3 = await approved(
        server, meeting, ["Где свет на Абая?", "Свет на Абая!", "Яма на Сейфуллина"]
    )
    await act(cases, meeting, Moderate(action="merge", item=q2, version=2, into=q1), by="m")
    tag = Moderate(action="tag", item=q1, version=3, topic="housing")
    await act(cases, meeting, tag, by="m")
    cases.clock = lambda: ms("2027-01-05T10:00:00+05:00")
    first = created(
        await post(http, f"/api/meetings/{meeting.id}/issues", {
            "questions": [q1], "title": "Нет света на Абая", "deadline": "2027-03-01",
            "executor": {"organisation": "Управление энергетики", "official": "Б. Нурлан"},
            "plan": [{"text": "Обследовать опоры", "deadline": "2027-02-01"}],
        })
    )  # fmt: skip
    assert (first["id"], first["questions"], first["status"], first["version"]) == (
        "1",
        [q1, q2],
        "open",
        1,
    )
    assert first["topic"] == "housing"  # the questions'
    assert first["executor"] == {"organisation": "Управление энергетики", "official": "Б. Нурлан"}

    session = await open_session(server.services.store, "aigerim", Role.MODERATOR)
    staff = await staff_headers(server, http, session)
    cases.clock = lambda: ms("2027-01-06T10:00:00+05:00")
    second = created(
        await post(http, f"/api/meetings/{meeting.id}/issues", {
            "questions": [q3], "title": "Яма", "executor": "Управление дорог",
            "deadline": "2027-02-01", "district": "Bostandyk", "address": "Сейфуллина 100",
        }, staff)
    )  # fmt: skip
    assert (second["id"], second["executor"]["official"], second["address"]) == (
        "2",
        "",
        "Сейфуллина 100",
    )

    cases.clock = lambda: ms("2027-01-07T10:00:00+05:00")
    ok(await post(http, "/api/issues/1/status", {"status": "in_progress", "version": 1}, staff))
    cases.clock = lambda: ms("2027-01-08T10:00:00+05:00")
    ok(await post(http, "/api/issues/1/progress", {"text": "Опоры заказаны"}))
    cases.clock = lambda: ms("2027-01-09T10:00:00+05:00")
    edited = ok(await post(http, "/api/issues/1", {"deadline": "2027-04-01", "version": 3}, staff))
    assert (edited["deadline"], edited["title"], edited["version"]) == (
        "2027-04-01",
        "Нет света на Абая",
        4,
    )
    cases.clock = lambda: ms("2027-01-10T10:00:00+05:00")
    merged = ok(await post(http, "/api/issues/2/merge", {"into": "1"}, staff))
    assert (merged["id"], merged["questions"], merged["merged"]) == ("1", [q1, q2, q3], ["2"])
    cases.clock = lambda: ms("2027-01-11T10:00:00+05:00")
    rejected = ok(
        await post(http, "/api/issues/1/status", {"status": "rejected", "reason": "Нет бюджета"})
    )
    assert (rejected["status"], rejected["reason"]) == ("rejected", "Нет бюджета")
    assert [h["status"] for h in rejected["history"]] == ["in_progress", "rejected"]
    assert rejected["progress"] == [
        {"on": "2027-01-08", "at": ms("2027-01-08T10:00:00+05:00"), "text": "Опоры заказаны"}
    ]

    events = await server.services.store.pool.events()
    assert [(type(e), e.by, e.at) for e in events] == [
        (IssueOpened, "admin token", ms("2027-01-05T10:00:00+05:00")),
        (IssueOpened, "aigerim", ms("2027-01-06T10:00:00+05:00")),
        (IssueStatusChanged, "aigerim", ms("2027-01-07T10:00:00+05:00")),
        (IssueProgress, "admin token", ms("2027-01-08T10:00:00+05:00")),
        (IssueEdited, "aigerim", ms("2027-01-09T10:00:00+05:00")),
        (IssueMerged, "aigerim", ms("2027-01-10T10:00:00+05:00")),
        (IssueStatusChanged, "admin token", ms("2027-01-11T10:00:00+05:00")),
    ]
    assert isinstance(events[0], IssueOpened)
    assert events[0].plan[0].text == "Обследовать опоры"  # nested values survive the record
    gone = ok(await http.get("/api/issues/2"))
    assert (gone["merged_into"], gone["version"]) == ("1", 2)
    assert [i["id"] for i in ok(await http.get("/api/issues"))["issues"]] == ["1"]


async def staff_headers(
    server: LiveServer, http: httpx.AsyncClient, session: str
) -> dict[str, str]:
    """A browser's headers for a staff session: its cookie and its CSRF token."""
    page = await http.get("/console", headers={"Cookie": f"halyq_session={session}"})
    assert page.status_code == 200, page.text
    token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    return {"Cookie": f"halyq_session={session}", "X-CSRF-Token": token}


# Who may change the pool


async def test_staff_need_the_admin_token_or_a_moderating_session_with_its_csrf_token(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await live(server)
    (q1,) = await approved(server, meeting, ["Вопрос про парк"])
    path = f"/api/meetings/{meeting.id}/issues"
    body = {"questions": [q1], "title": "Парк", "executor": "Акимат", "deadline": "2027-03-01"}
    refused(await post(http, path, body, {}), 401, "Authorization: Bearer")
    refused(
        await post(http, path, body, {"Authorization": "Basic x"}), 401, "bearer token is required"
    )
    refused(
        await post(http, path, body, {"Authorization": "Bearer nope"}), 403, "not the admin token"
    )
    producer = await staff_headers(
        server, http, await open_session(server.services.store, "prod", Role.PRODUCER)
    )
    refused(await post(http, path, body, producer), 403, "the producer role may not moderate")
    moderator = await staff_headers(
        server, http, await open_session(server.services.store, "mod", Role.MODERATOR)
    )
    without_csrf = {"Cookie": moderator["Cookie"]}
    refused(await post(http, path, body, without_csrf), 403, "CSRF")
    refused(
        await post(http, path, body, moderator | {"Sec-Fetch-Site": "cross-site"}),
        403,
        "cross-site",
    )
    assert ok(await http.get("/api/issues"))["issues"] == []  # nothing was made
    created(await post(http, path, body, moderator))
    for route in (
        "/api/issues/1",
        "/api/issues/1/status",
        "/api/issues/1/progress",
        "/api/issues/1/merge",
    ):
        refused(await post(http, route, {}, {}), 401, "Authorization")
        refused(await post(http, route, {}, without_csrf), 403, "CSRF")


# Errors


async def test_bad_input_is_400_naming_the_field_and_changes_nothing(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    cases = server.services.usecases
    meeting = await live(server)
    q1, q2 = await approved(server, meeting, ["Первый вопрос", "Второй вопрос"])
    command = AskQuestion(client_msg_id="fresh", name="", text="Новый, не одобрен")
    fresh = await submit(cases, meeting, Submission(what=command, sender="v9"))
    assert isinstance(fresh, Asked)
    path = f"/api/meetings/{meeting.id}/issues"
    good = {"questions": [q1], "title": "Т", "executor": "Акимат", "deadline": "2027-03-01"}
    for body, detail in [
        (good | {"questions": []}, "questions must be a list"),
        (good | {"questions": [fresh.id]}, f"questions: {fresh.id} is new, not approved"),
        (good | {"questions": ["1-1"]}, "questions: no question '1-1'"),
        (good | {"title": ""}, "title is required"),
        ({k: v for k, v in good.items() if k != "executor"}, "executor is required"),
        (good | {"executor": {"official": "X"}}, "organisation is required"),
        (good | {"deadline": "1 марта"}, "deadline must be a date"),
        (good | {"plan": [{"text": "шаг"}]}, "plan[0].deadline must be a date"),
        ([1, 2], "the body must be a JSON object"),
        (b"{not json", "the body is not JSON"),
    ]:
        refused(await post(http, path, body), 400, detail)
    assert ok(await http.get("/api/issues"))["issues"] == []
    refused(await post(http, "/api/meetings/no-such/issues", good), 404, "no meeting")
    refused(await post(http, "/api/meetings/bad%20id/issues", good), 404, "no meeting")
    created(await post(http, path, good))
    refused(
        await post(http, path, good | {"questions": [q2, q1]}),
        409,
        f"question {q1} is already in issue 1",
    )
    for route, body, code, detail in [
        ("/api/issues/1/status", {"status": "rejected"}, 400, "reason is required"),
        ("/api/issues/1/status", {"status": "closed"}, 400, "status must be one of"),
        ("/api/issues/1/status", {"status": "open"}, 409, "cannot become open"),
        ("/api/issues/1/status", {"status": "resolved", "version": 5}, 409, "at version 1, not 5"),
        ("/api/issues/1/status", {"status": "resolved", "version": "1"}, 400, "version must be"),
        ("/api/issues/1/progress", {"text": ""}, 400, "text is required"),
        ("/api/issues/1", {"title": 7}, 400, "title must be a string"),
        ("/api/issues/1", {"title": "Т"}, 400, "nothing to change"),
        ("/api/issues/1/merge", {}, 400, "into must be an issue's id"),
        ("/api/issues/1/merge", {"into": "9"}, 400, "into: no issue '9'"),
        ("/api/issues/1/merge", {"into": "1"}, 400, "into must be another issue"),
        ("/api/issues/9/status", {"status": "resolved"}, 404, "no issue '9'"),
    ]:
        refused(await post(http, route, body), code, detail)
    assert ok(await http.get("/api/issues/1"))["version"] == 1  # nothing changed
    refused(await http.get("/api/issues/9"), 404, "no issue")
    refused(await http.get("/api/issues?status=closed"), 400, "status must be one of")
    assert (await http.get("/issues/9")).status_code == 404


async def test_two_staff_changing_one_issue_at_once_never_lose_a_change(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    meeting = await live(server)
    questions = await approved(server, meeting, [f"Вопрос {n} о парке" for n in range(6)])
    path = f"/api/meetings/{meeting.id}/issues"
    # Six opened at once: each gets its own number (one that lost the race is decided again).
    bodies = [
        {"questions": [q], "title": f"Т{n}", "executor": "А", "deadline": "2027-03-01"}
        for n, q in enumerate(questions)
    ]
    made = await asyncio.gather(*(post(http, path, body) for body in bodies))
    assert sorted(int(created(a)["id"]) for a in made) == [1, 2, 3, 4, 5, 6]
    # Two changes of one issue decided on version 1: one lands, the other is a conflict.
    answers = await asyncio.gather(
        post(http, "/api/issues/1/status", {"status": "in_progress", "version": 1}),
        post(http, "/api/issues/1/progress", {"text": "Начали", "version": 1}),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert ok(await http.get("/api/issues/1"))["version"] == 2
    # Without a version, racing changes all land, one after another, or are refused whole.
    many = await asyncio.gather(
        *(post(http, "/api/issues/2/progress", {"text": f"шаг {n}"}) for n in range(5))
    )
    landed = [a for a in many if a.status_code == 200]
    assert all(a.status_code in (200, 409) for a in many)
    assert len(ok(await http.get("/api/issues/2"))["progress"]) == len(landed) >= 1


# The exports hold exactly what the pages show


class IssueRows(HTMLParser):
    """The issues a page lists: for each `data-issue` card, its `data-field` texts (a status
    and a topic by their codes, `data-value`: the page shows them in its language)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "li" and "data-issue" in found:
            self.rows.append({"id": str(found["data-issue"])})
        elif self.rows and "data-field" in found:
            self._field = str(found["data-field"])
            value = "yes" if self._field == "overdue" else found.get("data-value")
            self.rows[-1][self._field] = str(value or "")

    def handle_data(self, data: str) -> None:
        if self._field and self._field not in ("status", "overdue", "topic"):
            self.rows[-1][self._field] = self.rows[-1].get(self._field, "") + data

    def handle_endtag(self, tag: str) -> None:
        self._field = None


def page_rows(html: str) -> list[dict[str, str]]:
    parser = IssueRows()
    parser.feed(html)
    return [{k: v.strip() for k, v in row.items() if v.strip()} for row in parser.rows]


def from_json(issue: dict[str, Any]) -> dict[str, str]:
    row = {
        "id": issue["id"], "title": issue["title"], "status": issue["status"],
        "executor": issue["executor"]["organisation"], "deadline": issue["deadline"],
    }  # fmt: skip
    optional = {
        "official": issue["executor"]["official"], "district": issue["district"],
        "address": issue["address"], "topic": issue["topic"],
    }  # fmt: skip
    row |= {k: v for k, v in optional.items() if v}
    if issue["overdue"]:
        row["overdue"] = "yes"
    return row


def from_csv(cells: dict[str, str]) -> dict[str, str]:
    """A CSV row as a spreadsheet shows it: a leading `'` only marks text."""
    c = {k: v.removeprefix("'") for k, v in cells.items()}
    row = {
        "id": c["id"], "title": c["title"], "status": c["status"],
        "executor": c["executor_organisation"], "deadline": c["deadline"],
    }  # fmt: skip
    optional = {
        "official": c["executor_official"], "district": c["district"], "address": c["address"],
        "topic": c["topic"],
    }  # fmt: skip
    row |= {k: v for k, v in optional.items() if v}
    if c["overdue"] == "yes":
        row["overdue"] = "yes"
    return row


async def test_the_exports_hold_exactly_what_the_pages_show(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    cases = server.services.usecases
    one = await live(server, starts_at="2027-01-05T18:00:00+05:00")
    other = await live(server, starts_at="2027-01-06T18:00:00+05:00", title="Другая встреча")
    a = await approved(server, one, ["Свет", "Дороги", "Парк"])
    b = await approved(server, other, ["Вода", "Мусор"])
    specs = [
        (one, a[0], '=HYPERLINK("http://evil")', "Энергетика", "2027-02-01", "Almaly", "light"),
        (one, a[1], "Ямы на Абая", "+Дороги", "2027-03-01", "Almaly", "roads"),
        (one, a[2], "Парк Горького", "Зелёное хозяйство", "2027-01-20", "Medeu", ""),
        (other, b[0], "-Нет воды", "Водоканал", "2027-04-01", "Almaly", "water"),
        (other, b[1], "@Мусор", "Энергетика", "2027-01-25", "", "waste"),
    ]
    for meeting, q, title, executor, deadline, district, topic in specs:
        who = {"organisation": executor, "official": "Ә. Ахмет"}
        created(await post(http, f"/api/meetings/{meeting.id}/issues", {
            "questions": [q], "title": title, "executor": who, "deadline": deadline,
            "district": district, "topic": topic, "address": "",
        }))  # fmt: skip
    ok(await post(http, "/api/issues/2/status", {"status": "in_progress"}))
    ok(await post(http, "/api/issues/3/status", {"status": "resolved"}))
    cases.clock = lambda: ms("2027-02-15T12:00:00+05:00")  # 1, 3 (resolved) and 5 past due
    filters: list[dict[str, str]] = [
        {}, {"meeting": one.id}, {"meeting": other.id}, {"status": "in_progress"},
        {"status": "open"}, {"district": "Almaly"}, {"topic": "roads"},
        {"executor": "Энергетика"}, {"meeting": one.id, "district": "Almaly", "status": "open"},
        {"status": "rejected"},
    ]  # fmt: skip
    seen_overdue = False
    for query in filters:
        page = await http.get("/issues", params=query)
        assert page.status_code == 200
        shown = page_rows(page.text)
        listed = ok(await http.get("/api/issues", params=query))["issues"]
        sheet = await http.get("/api/issues.csv", params=query)
        assert sheet.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"), newline="")))
        assert shown == [from_json(i) for i in listed] == [from_csv(r) for r in rows], query
        for row in rows:
            assert not any(cell.lstrip()[:1] in ("=", "+", "-", "@") for cell in row.values()), row
        seen_overdue |= any("overdue" in row for row in shown)
        if list(query) == ["meeting"]:  # what another page includes `_issues.html` with
            assert await issues_of(cases, query["meeting"]) == listed
    assert seen_overdue
    everything = page_rows((await http.get("/issues")).text)
    assert {r["id"]: "overdue" in r for r in everything} == {
        "1": True,
        "2": False,
        "3": False,
        "4": False,
        "5": True,
    }
    assert [
        r["id"] for r in page_rows((await http.get("/issues", params={"status": "rejected"})).text)
    ] == []


async def test_the_pages_work_without_script_in_each_language(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    cases = server.services.usecases
    meeting = await live(server, starts_at="2027-01-05T18:00:00+05:00")
    (q1,) = await approved(server, meeting, ["Когда починят свет? +7 701 234 56 78"])
    cases.clock = lambda: ms("2027-01-10T10:00:00+05:00")
    created(await post(http, f"/api/meetings/{meeting.id}/issues", {
        "questions": [q1], "title": "Свет", "executor": "Энергетика", "deadline": "2027-01-20",
        "plan": [{"text": "Заменить лампы", "deadline": "2027-01-15"}],
        "description": "Нет света во дворе",
    }))  # fmt: skip
    ok(await post(http, "/api/issues/1/progress", {"text": "Лампы закуплены"}))
    cases.clock = lambda: ms("2027-01-16T10:00:00+05:00")
    page = await http.get("/issues/1", params={"lang": "ru"})
    assert page.status_code == 200
    text = page.text
    assert "<script" not in text
    for part in (
        "План мероприятий",
        "Заменить лампы",
        "Лампы закуплены",
        "История статусов",
        "Просрочен",
    ):
        assert part in text, part
    assert f'data-question="{q1}"' in text
    assert "234 56 78" not in text  # contacts in questions are masked (issue 10.8)
    listing = await http.get("/issues", params={"lang": "kk", "meeting": meeting.id})
    assert "Проблемалық мәселелер пулы" in listing.text
    assert 'data-due="2027-01-15"' in listing.text  # the meeting's R6 due dates
    assert "Мерзімі өтті" in listing.text
    english = await http.get("/issues", params={"lang": "en", "status": "open"})
    assert 'href="/issues?status=open&amp;meeting=' not in english.text  # links keep filters...
    assert f'href="/issues?meeting={meeting.id}&amp;status=open"' in english.text  # ...in order
    empty = await http.get("/issues", params={"lang": "en", "status": "resolved"})
    assert "No problem issues yet." in empty.text


# R6: what the pool publishes meets the meeting's due dates


async def test_r6_due_dates_met_by_the_pool_and_the_rest_flagged_for_staff(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    cases = server.services.usecases
    met = await live(server, starts_at="2027-01-05T18:00:00+05:00", title="Published in time")
    late = await live(server, starts_at="2027-01-05T18:00:00+05:00", title="Nothing published")
    await set_receptions(cases, met.id, "2027-01-06")  # results due 2027-01-16
    (q1,) = await approved(server, met, ["Свет во дворе"])
    cases.clock = lambda: ms("2027-01-16T20:00:00+05:00")  # the due day itself
    created(await post(http, f"/api/meetings/{met.id}/issues", {
        "questions": [q1], "title": "Свет", "executor": "Энергетика", "deadline": "2027-06-01",
    }))  # fmt: skip
    cases.clock = lambda: ms("2027-05-01T12:00:00+05:00")  # past Q1's report (25 April)
    due = ok(await http.get(f"/api/meetings/{met.id}/deadlines"))
    assert due["publication_due"] == "2027-01-16"
    assert due["overdue"] == ["2027-04-25"]  # published in time; no progress in Q1 yet
    missed = ok(await http.get(f"/api/meetings/{late.id}/deadlines"))
    assert missed["overdue"] == ["2027-01-15"]  # no issue: the results are overdue (Q1 had none)
    cases.clock = lambda: ms("2027-03-20T12:00:00+05:00")
    ok(await post(http, "/api/issues/1/progress", {"text": "Смета готова"}))
    cases.clock = lambda: ms("2027-05-01T12:00:00+05:00")
    assert ok(await http.get(f"/api/meetings/{met.id}/deadlines"))["overdue"] == []

    staff = await staff_headers(
        server, http, await open_session(server.services.store, "mod", Role.MODERATOR)
    )
    page = await http.get("/console", headers={"Cookie": staff["Cookie"]})
    cards = page.text.split('data-meeting="')
    card = {c.split('"')[0]: c for c in cards[1:]}
    assert 'data-overdue="2027-01-15"' in card[late.id]
    assert "data-overdue" not in card[met.id]
    cases.clock = lambda: ms("2027-06-02T12:00:00+05:00")  # issue 1 is past its deadline now
    page = await http.get("/console", headers={"Cookie": staff["Cookie"]})
    card = {c.split('"')[0]: c for c in page.text.split('data-meeting="')[1:]}
    assert 'data-overdue-issues="1"' in card[met.id]
    assert f'href="/issues?meeting={met.id}"' in card[met.id]
