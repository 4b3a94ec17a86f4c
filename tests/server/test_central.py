"""The central level on a real server and Redis (R8, issue 13.6): problem issues that need a
central body go into the lists of 15 February and 15 August, grouped by body; a list holds the
issues opened by its day (in Almaty) and neither resolved nor rejected by then; the CSV holds
the same rows with every cell neutralised; a wrong period is a 400 naming it."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from moderation import Meeting
from recordings.exports import CENTRAL_COLUMNS, next_list_day
from server.usecases import pool as pool_cases
from tests.helpers import LiveServer
from tests.server.test_pool import approved, live

pytestmark = pytest.mark.anyio

ENERGY = "Министерство энергетики"
TRANSPORT = "Министерство транспорта"
FORMULA = '=HYPERLINK("x")'


def ms(moment: str) -> int:
    """Milliseconds since the epoch of an Almaty time (UTC+5)."""
    return int(datetime.fromisoformat(moment + "+05:00").timestamp() * 1000)


class Clock:
    """The use cases' clock, set by the test."""

    def __init__(self) -> None:
        self.now = ms("2027-01-01T12:00")

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def http(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def issues(server: LiveServer, meeting: Meeting, clock: Clock) -> dict[str, str]:
    """The pool the lists are cut from: each issue opened (and moved) at an Almaty time."""
    cases = server.services.usecases
    questions = await approved(server, meeting, [f"Сұрақ {n}" for n in range(9)])
    plan = [
        ("energy-january", "2027-01-10T12:00", ENERGY, []),
        ("transport-last-minute", "2027-02-15T23:30", TRANSPORT, []),
        ("energy-too-late", "2027-02-16T00:30", ENERGY, []),
        ("energy-resolved-before", "2027-01-11T12:00", ENERGY, [("2027-02-10T12:00", "resolved")]),
        ("no-body", "2027-01-12T12:00", "", []),
        ("transport-resolved-after", "2027-01-13T12:00", TRANSPORT,
         [("2027-02-20T12:00", "resolved")]),
        ("financing", "2027-01-14T12:00", "  " + ENERGY + " ", [("2027-01-20T12:00",
                                                                 "needs_financing")]),
        ("reopened", "2027-01-15T12:00", FORMULA, [("2027-01-20T12:00", "rejected"),
                                                   ("2027-02-01T12:00", "open")]),
        ("rejected-on-the-day", "2027-01-16T12:00", ENERGY, [("2027-02-15T20:00", "rejected")]),
    ]  # fmt: skip
    ids = {}
    for question, (title, opened, body, moves) in zip(questions, plan, strict=True):
        clock.now = ms(opened)
        fields = {"questions": [question], "title": title, "executor": "Әкімдік",
                  "deadline": "2027-12-31", "central_body": body}  # fmt: skip
        issue = await pool_cases.open_issue(cases, meeting.id, fields, by="test")
        for moment, status in moves:
            clock.now = ms(moment)
            await pool_cases.change_status(cases, issue.id, {"status": status, "reason": "x"},
                                           by="test")  # fmt: skip
        ids[title] = issue.id
    return ids


def titles(shown: Any) -> dict[str, list[str]]:
    return {g["central_body"]: [i["title"] for i in g["issues"]] for g in shown["bodies"]}


async def test_r8_lists_group_by_body_what_is_open_on_the_day(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    server.services.usecases.clock = clock
    await issues(server, await live(server), clock)
    february = (await http.get("/api/central", params={"period": "2027-02-15"})).json()
    assert february["period"] == "2027-02-15"
    assert titles(february) == {
        FORMULA: ["reopened"],
        ENERGY: ["energy-january", "financing"],
        TRANSPORT: ["transport-last-minute", "transport-resolved-after"],
    }
    assert february["count"] == 5
    assert [g["central_body"] for g in february["bodies"]] == [FORMULA, TRANSPORT, ENERGY]
    assert february["bodies"][2]["issues"][1]["central_body"] == ENERGY  # trimmed
    august = (await http.get("/api/central", params={"period": "2027-08-15"})).json()
    assert titles(august) == {
        FORMULA: ["reopened"],
        ENERGY: ["energy-january", "energy-too-late", "financing"],
        TRANSPORT: ["transport-last-minute"],
    }
    before = (await http.get("/api/central", params={"period": "2026-08-15"})).json()
    assert before == {"period": "2026-08-15", "count": 0, "bodies": []}


async def test_the_csv_holds_the_same_rows_neutralised(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    server.services.usecases.clock = clock
    await issues(server, await live(server), clock)
    answer = await http.get("/api/central.csv", params={"period": "2027-02-15"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="central-2027-02-15.csv"' in answer.headers["content-disposition"]
    assert answer.text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(answer.text.removeprefix("\ufeff"))))
    assert tuple(rows[0]) == CENTRAL_COLUMNS
    found = [(row[0], row[CENTRAL_COLUMNS.index("title")]) for row in rows[1:]]
    assert found == [
        ("'" + FORMULA, "reopened"),  # a body that starts a formula is text in a spreadsheet
        (TRANSPORT, "transport-last-minute"),
        (TRANSPORT, "transport-resolved-after"),
        (ENERGY, "energy-january"),
        (ENERGY, "financing"),
    ]


async def test_the_default_list_is_the_next_one_and_a_wrong_period_is_refused(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    server.services.usecases.clock = clock
    clock.now = ms("2027-08-15T23:59")
    assert (await http.get("/api/central")).json()["period"] == "2027-08-15"
    clock.now = ms("2027-08-16T00:00")
    assert (
        (await http.get("/api/central.csv"))
        .headers["content-disposition"]
        .endswith('filename="central-2028-02-15.csv"')
    )
    for period in ("2027-03-01", "2027-02-30", "february", "2027-02-15T00:00"):
        refused = await http.get("/api/central", params={"period": period})
        assert refused.status_code == 400, period
        assert "period must be a list's date" in refused.json()["detail"]


async def test_staff_set_the_central_body_when_editing(
    server: LiveServer, http: httpx.AsyncClient
) -> None:
    clock = Clock()
    server.services.usecases.clock = clock
    meeting = await live(server)
    [question] = await approved(server, meeting, ["Жол жөндеу"])
    body = {"questions": [question], "title": "Жол", "executor": "Әкімдік",
            "deadline": "2027-12-31"}  # fmt: skip
    issue = await pool_cases.open_issue(server.services.usecases, meeting.id, body, by="t")
    assert issue.central_body == ""
    edited = await http.post(f"/api/issues/{issue.id}", json={"central_body": TRANSPORT},
                             headers={"Authorization": "Bearer test-admin-token"})  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert edited.json()["central_body"] == TRANSPORT
    long = await http.post(f"/api/issues/{issue.id}", json={"central_body": "x" * 201},
                           headers={"Authorization": "Bearer test-admin-token"})  # fmt: skip
    assert long.status_code == 400
    assert "central_body" in long.json()["detail"]
    shown = (await http.get("/api/central", params={"period": "2027-02-15"})).json()
    assert titles(shown) == {TRANSPORT: ["Жол"]}


@pytest.mark.parametrize(
    ("today", "next_day"),
    [
        (date(2027, 1, 1), date(2027, 2, 15)),
        (date(2027, 2, 15), date(2027, 2, 15)),
        (date(2027, 2, 16), date(2027, 8, 15)),
        (date(2027, 8, 15), date(2027, 8, 15)),
        (date(2027, 12, 31), date(2028, 2, 15)),
    ],
)
def test_r8_the_next_list_day(today: date, next_day: date) -> None:
    assert next_list_day(today) == next_day
