"""The annual calendar end to end (R1, issue 13): `halyq calendar import` through the real entry
point, all or nothing with each bad row named by its line; moves, cancellations, approval and
submission from the shell; each planned meeting a scheduled meeting that moves with it; the
iCalendar feeds and the public page on a real server."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from icalendar import Calendar as ICalendar

from moderation import MeetingStatus
from moderation.territories import ImportRefused
from server.cli.offices import ensure_almaty
from server.settings import Settings
from server.store import Store
from server.usecases import UseCases, create_meeting
from server.usecases import calendar as calendar_cases
from tests.conftest import meeting_command
from tests.helpers import ROOT, TIMEOUT, LiveServer, environment

pytestmark = pytest.mark.anyio
HEADER = "id,office,unit,date,time,place,visiting,planned_minutes,title_kk,title_ru"
GOOD = [
    "medeu-q1,almaty,almaty-medeu,2027-02-10,18:00,Медеу ауданы әкімдігі,yes,120,"
    "Әкіммен кездесу,Встреча с акимом",
    ',almaty,almaty-almaly,2027-02-12,11:30,"ДК «Алмалы», зал 2",no,90,Кездесу,Встреча',
]


def halyq(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`halyq ARGS` as a user runs it, on the tests' Redis under this test's prefix."""
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT * 3)  # fmt: skip


def csv_file(tmp_path: Path, *rows: str) -> str:
    path = tmp_path / "calendar.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return str(path)


async def test_r1_an_import_with_bad_rows_imports_nothing_and_names_each_line(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    cases = UseCases(store=store)
    await ensure_almaty(cases)
    bad = csv_file(tmp_path, GOOD[0],
                   "xx,almaty,nowhere,2027-02-10,18:00,Hall,yes,120,А,Б",
                   GOOD[1],
                   "yy,almaty,almaty-medeu,10.02.2027,18:00,Hall,yes,120,А,Б",
                   "zz,almaty,almaty-medeu,2027-02-11,18:00,Hall,maybe,120,А,Б",
                   "medeu-q1,almaty,almaty-medeu,2027-02-11,18:00,Hall,yes,120,А,Б")  # fmt: skip
    done = await asyncio.to_thread(halyq, settings, "calendar", "import", bad)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "line 3: unit: no unit 'nowhere'",
        "line 5: date must be YYYY-MM-DD",
        "line 6: visiting: 'maybe' is not yes or no",
        "line 7: id: planned meeting medeu-q1 already exists",
        "halyq: nothing imported: 4 bad row(s)",
    ]
    assert (await calendar_cases.calendars(cases)).count == 0
    assert await store.meetings.get("medeu-q1") is None
    header = tmp_path / "header.csv"
    header.write_text("office,unit,date\n", encoding="utf-8")
    refused = await asyncio.to_thread(halyq, settings, "calendar", "import", str(header))
    assert refused.returncode == 1
    assert refused.stderr.startswith("line 1: the header must name")


async def test_r1_each_planned_meeting_becomes_a_scheduled_meeting_that_moves_with_it(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    cases = UseCases(store=store)
    await ensure_almaty(cases)
    good = csv_file(tmp_path, *GOOD)
    done = await asyncio.to_thread(halyq, settings, "calendar", "import", good, "--json")
    assert done.returncode == 0, done.stderr
    planned = json.loads(done.stdout)
    assert [(p["id"], p["starts_at"], p["visiting"]) for p in planned] == [
        ("medeu-q1", "2027-02-10T18:00:00+05:00", True),
        ("almaty-almaly-2027-02-12", "2027-02-12T11:30:00+05:00", False),
    ]
    meeting = await store.meetings.get("medeu-q1")
    assert meeting is not None
    assert (meeting.status, meeting.office, meeting.starts_at, meeting.planned_minutes) == (
        MeetingStatus.SCHEDULED, "almaty", "2027-02-10T18:00:00+05:00", 120)  # fmt: skip
    assert meeting.titles == {"kk": "Әкіммен кездесу", "ru": "Встреча с акимом"}
    assert meeting.territory == "Медеуский район"
    assert meeting.created_at > 0  # R5: the announcement is the moment it was planned
    moved = await asyncio.to_thread(halyq, settings, "calendar", "move", "medeu-q1", "--date",
                                    "2027-02-17", "--time", "15:00", "--json")  # fmt: skip
    assert moved.returncode == 0, moved.stderr
    assert json.loads(moved.stdout)[0]["sequence"] == 1
    after = await store.meetings.get("medeu-q1")
    assert after is not None
    assert after.starts_at == "2027-02-17T15:00:00+05:00"
    assert after.created_at == meeting.created_at  # the announcement stays
    kinds = [e.kind for _, e in await store.record.range("medeu-q1", "-", "+", count=10)]
    assert kinds == ["meeting.created", "meeting.rescheduled"]
    cancelled = await asyncio.to_thread(halyq, settings, "calendar", "cancel",
                                        "almaty-almaly-2027-02-12")  # fmt: skip
    assert cancelled.returncode == 0, cancelled.stderr
    assert "cancelled" in cancelled.stdout
    again = await asyncio.to_thread(halyq, settings, "calendar", "cancel",
                                    "almaty-almaly-2027-02-12")  # fmt: skip
    assert again.returncode == 1
    assert "is cancelled" in again.stderr
    listed = await asyncio.to_thread(halyq, settings, "calendar", "list", "--office", "almaty")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "almaty-almaly-2027-02-12", "medeu-q1"]  # fmt: skip


async def test_r1_approval_and_submission_from_the_shell(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    cases = UseCases(store=store)
    await ensure_almaty(cases)
    empty = await asyncio.to_thread(halyq, settings, "calendar", "list")
    assert "no planned meetings yet" in empty.stdout
    imported = await asyncio.to_thread(halyq, settings, "calendar", "import",
                                       csv_file(tmp_path, *GOOD))  # fmt: skip
    assert imported.stdout == "imported 2 planned meeting(s)\n"
    early = await asyncio.to_thread(halyq, settings, "calendar", "submit", "almaty", "2027",
                                    "--on", "2027-01-18")  # fmt: skip
    assert (early.returncode, early.stderr.strip()) == (
        1,
        "halyq: invalid_transition: the 2027 calendar of almaty is not approved yet",
    )
    approved = await asyncio.to_thread(halyq, settings, "calendar", "approve", "almaty", "2027",
                                       "--on", "2027-01-16")  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    submitted = await asyncio.to_thread(halyq, settings, "calendar", "submit", "almaty", "2027",
                                        "--on", "2027-01-19")  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    nowhere = await asyncio.to_thread(halyq, settings, "calendar", "approve", "nowhere", "2027",
                                      "--on", "2027-01-10")  # fmt: skip
    assert nowhere.returncode == 1
    assert "no office 'nowhere'" in nowhere.stderr
    calendar = (await calendar_cases.calendars(cases)).calendar
    approval = calendar.approval("almaty", 2027)
    assert (approval.approved_on, approval.submitted_on) == ("2027-01-16", "2027-01-19")


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (b"\xff\xfe", ["line 1: the file is not UTF-8 text"]),
        (HEADER + "\n", ["line 1: no rows: the file has only its header"]),
        ("\ufeff" + HEADER + "\n\nmedeu-q1,almaty\n,,,,,,,,,\n" + GOOD[0] + ",extra\n",
         ["line 3: 2 fields, the header has 10", "line 5: 11 fields, the header has 10"]),
        (HEADER + "\n" + GOOD[0].replace(",120,", ",two hours,") + "\n",
         ["line 2: planned_minutes: 'two hours' is not a number"]),
        (HEADER + "\n" + GOOD[0].replace("medeu-q1", "taken") + "\n",
         ["line 2: id: a meeting taken already exists"]),
    ],
)  # fmt: skip
async def test_a_bad_file_is_refused_whole_naming_each_bad_line(
    store: Store, data: bytes | str, problems: list[str]
) -> None:
    cases = UseCases(store=store)
    await ensure_almaty(cases)
    await create_meeting(cases, meeting_command(), meeting_id="taken")
    with pytest.raises(ImportRefused) as refused:
        await calendar_cases.import_csv(cases, data, by="test")
    assert [str(p) for p in refused.value.problems] == problems
    assert (await calendar_cases.calendars(cases)).count == 0


def events(data: bytes) -> dict[str, dict[str, object]]:
    return {
        str(e["UID"]): {"start": e.decoded("DTSTART"), "location": str(e["LOCATION"]),
                        "sequence": int(str(e["SEQUENCE"])), "status": str(e["STATUS"]),
                        "summary": str(e["SUMMARY"]), "url": str(e["URL"])}
        for e in ICalendar.from_ical(data).walk("VEVENT")
    }  # fmt: skip


async def test_r1_the_feeds_and_the_page(server: LiveServer) -> None:
    cases = server.services.usecases
    await ensure_almaty(cases)
    await calendar_cases.import_csv(cases, "\n".join([HEADER, *GOOD]), by="test")
    await calendar_cases.move_planned(cases, "medeu-q1", "2027-02-17", "15:00", by="test")
    now = datetime(2027, 2, 1, 12, tzinfo=UTC)
    cases.clock = lambda: int(now.timestamp() * 1000)
    async with httpx.AsyncClient(base_url=server.url) as http:
        whole = await http.get("/calendar.ics")
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "text/calendar; charset=utf-8"
        found = events(whole.content)
        assert set(found) == {"medeu-q1@halyq", "almaty-almaly-2027-02-12@halyq"}
        medeu = found["medeu-q1@halyq"]
        assert medeu["start"].isoformat() == "2027-02-17T15:00:00+05:00"  # type: ignore[attr-defined]
        assert (medeu["sequence"], medeu["location"]) == (1, "Медеу ауданы әкімдігі")
        assert medeu["url"] == f"{server.url}/m/medeu-q1"
        ru = events((await http.get("/calendar/offices/almaty.ics?lang=ru")).content)
        assert ru["medeu-q1@halyq"]["summary"] == "Встреча с акимом"
        unit = await http.get("/calendar/units/almaty-almaly.ics")
        assert list(events(unit.content)) == ["almaty-almaly-2027-02-12@halyq"]
        assert events(unit.content)["almaty-almaly-2027-02-12@halyq"]["location"] == (
            "ДК «Алмалы», зал 2"
        )
        for missing in ("/calendar/offices/nowhere.ics", "/calendar/units/nowhere.ics",
                        "/calendar?unit=nowhere"):  # fmt: skip
            assert (await http.get(missing)).status_code == 404, missing
        # Tap 1: the districts with meetings; tap 2: the next meeting's page.
        page = await http.get("/calendar?lang=ru")
        assert page.status_code == 200
        links = re.findall(r'href="(/calendar\?unit=[^"]+)"', page.text)
        assert links == ["/calendar?unit=almaty-almaly", "/calendar?unit=almaty-medeu"]
        assert "Ближайшая: 17.02.2027 15:00" in page.text
        unit_page = await http.get("/calendar?unit=almaty-medeu&lang=kk")
        assert unit_page.status_code == 200
        assert 'class="calendar-next-link" href="/m/medeu-q1"' in unit_page.text
        assert "Келесі кездесу" in unit_page.text
        assert (await http.get("/m/medeu-q1")).status_code == 200
        cancelled = await http.get("/calendar?unit=almaty-almaly")
        assert "calendar-next-link" in cancelled.text
    await calendar_cases.cancel_planned(cases, "almaty-almaly-2027-02-12", by="test")
    async with httpx.AsyncClient(base_url=server.url) as http:
        gone = await http.get("/calendar?unit=almaty-almaly&lang=en")
        assert "calendar-next-link" not in gone.text
        assert "No meeting ahead" in gone.text
        feed = events((await http.get("/calendar.ics")).content)
        assert feed["almaty-almaly-2027-02-12@halyq"]["status"] == "CANCELLED"
