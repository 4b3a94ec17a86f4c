"""R6's deadlines from the shell and over HTTP (issue 12): `halyq meeting receptions ID --until`
records when the personal receptions end, and `GET /api/meetings/{id}/deadlines` (public) gives
the results' due date, the quarterly progress reports' and those already past."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from moderation import EndMeeting, StartMeeting
from server.usecases import UseCases, change_meeting, create_meeting
from server.usecases.meetings import set_receptions
from tests.conftest import meeting_command
from tests.helpers import LiveServer
from tests.server.test_cli import CREATE
from tests.server.test_intake_cli import halyq

pytestmark = pytest.mark.anyio


async def test_the_deadlines_api_gives_r6_due_dates_and_what_is_past(server: LiveServer) -> None:
    cases = server.services.usecases
    meeting = await create_meeting(cases, meeting_command(starts_at="2026-12-28T18:00:00+05:00"))
    async with httpx.AsyncClient(base_url=server.url) as http:
        path = f"/api/meetings/{meeting.id}/deadlines"
        planned = (await http.get(path)).json()
        assert planned["publication_due"] == "2027-01-07"  # a planned meeting: its planned day
        await set_receptions(cases, meeting.id, "2027-01-05")
        moved = (await http.get(path)).json()
        assert moved == {
            "publication_due": "2027-01-15",
            "progress_due": ["2027-04-25", "2027-07-25", "2027-10-25", "2028-01-25"],
            "overdue": [],  # the server's clock is before any of them
        }
        cases.clock = lambda: 1_800_000_000_000  # 2027-01-15T08:00Z: 15 January in Almaty
        assert (await http.get(path)).json()["overdue"] == []
        cases.clock = lambda: 1_800_100_000_000  # 16 January
        assert (await http.get(path)).json()["overdue"] == ["2027-01-15"]
        assert (await http.get("/api/meetings/no-such-meeting/deadlines")).status_code == 404


async def test_an_ended_meeting_counts_from_its_end(server: LiveServer) -> None:
    cases = UseCases(store=server.services.store, clock=lambda: 1_798_457_400_000)
    meeting = await create_meeting(cases, meeting_command())  # no planned date given
    async with httpx.AsyncClient(base_url=server.url) as http:
        path = f"/api/meetings/{meeting.id}/deadlines"
        assert (await http.get(path)).json() == {
            "publication_due": None, "progress_due": [], "overdue": [],
        }  # fmt: skip
        await change_meeting(cases, meeting.id, StartMeeting())
        await change_meeting(cases, meeting.id, EndMeeting())  # 2026-12-28 23:10 in Almaty
        assert (await http.get(path)).json()["publication_due"] == "2027-01-07"


def test_receptions_from_the_shell(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = halyq(data, *CREATE, "--starts-at", "2026-11-30T18:00:00+05:00", "--json")
    assert created.returncode == 0, created.stderr
    meeting_id = json.loads(created.stdout)["id"]
    told = halyq(data, "meeting", "receptions", meeting_id, "--until", "2026-12-10", "--json")
    assert told.returncode == 0, told.stderr
    answer = json.loads(told.stdout)
    assert answer["meeting"]["receptions_until"] == "2026-12-10"
    assert answer["deadlines"]["publication_due"] == "2026-12-20"
    text = halyq(data, "meeting", "receptions", meeting_id, "--until", "2026-12-11")
    assert "results due 2026-12-21" in text.stdout, text.stdout
    for bad in ("10.12.2026", "2020-01-01"):
        refused = halyq(data, "meeting", "receptions", meeting_id, "--until", bad)
        assert refused.returncode == 1
        assert "until must be a date" in refused.stderr or "not before" in refused.stderr
    unknown = halyq(data, "meeting", "receptions", "no-such-meeting", "--until", "2026-12-10")
    assert unknown.returncode == 1
    assert "no meeting" in unknown.stderr
