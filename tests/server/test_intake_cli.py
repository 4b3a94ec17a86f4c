"""The intake's commands as a user runs them (issue 10): `halyq meeting route` routes channel
addresses to a meeting, `halyq retention run` deletes raw contacts past their retention."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from moderation import MeetingStatus
from server.store import Store
from server.store.embedded import EmbeddedRedis
from server.store.record import Write
from tests.helpers import ROOT, TIMEOUT, environment
from tests.server.test_cli import CREATE

SENDER = "s-sender"  # a sender's pseudonym, as the intake names them
CONTACT = {"channel": "whatsapp", "contact": "+77011234567", "reply_to": "77011234567",
           "via": "106540352242922", "name": "Айгүл"}  # fmt: skip


def halyq(data: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`halyq --data-dir DATA ARGS...` in a shell whose environment has `settings`."""
    return subprocess.run(
        [sys.executable, "-m", "server", "--data-dir", str(data), *args],
        cwd=ROOT,
        env=environment(**settings),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )


def create(data: Path) -> str:
    created = halyq(data, *CREATE, "--json")
    assert created.returncode == 0, created.stderr
    meeting_id: str = json.loads(created.stdout)["id"]
    return meeting_id


def routes(data: Path, meeting_id: str, *args: str) -> dict[str, str]:
    routed = halyq(data, "meeting", "route", meeting_id, *args, "--json")
    assert routed.returncode == 0, routed.stderr
    found: dict[str, str] = json.loads(routed.stdout)["routes"]
    return found


def test_meeting_route_routes_each_address_in_the_form_the_intake_matches(tmp_path: Path) -> None:
    first, second = create(tmp_path), create(tmp_path)
    assert routes(tmp_path, first, "--whatsapp", "106540352242922", "--telegram", "AkimatBot",
                  "--email", "Akim.Questions@Almaty.kz", "--sms", "8 (701) 234-56-78") == {
        "whatsapp": "106540352242922", "telegram": "AkimatBot",
        "email": "akim.questions@almaty.kz", "sms": "+77012345678",
    }  # fmt: skip
    # A new address on a channel replaces the meeting's earlier one; the others stay.
    assert routes(tmp_path, first, "--telegram", "HalyqBot")["telegram"] == "HalyqBot"
    assert routes(tmp_path, second, "--email", "district@almaty.kz") == {
        "email": "district@almaty.kz"
    }
    printed = halyq(tmp_path, "meeting", "route", first, "--sms", "+7 701 234 5678")
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.split("\n")[:4] == [
        "email     akim.questions@almaty.kz",
        "sms       +77012345678",
        "telegram  HalyqBot",
        "whatsapp  106540352242922",
    ]


def test_meeting_route_refuses_bad_input_clearly_and_changes_nothing(tmp_path: Path) -> None:
    meeting_id = create(tmp_path)
    nothing = halyq(tmp_path, "meeting", "route", meeting_id)
    assert nothing.returncode == 1
    assert "give at least one of --whatsapp, --telegram, --email, --sms" in nothing.stderr
    unknown = halyq(tmp_path, "meeting", "route", "no-such-meeting", "--telegram", "AkimatBot")
    assert unknown.returncode == 1
    assert "no meeting 'no-such-meeting'" in unknown.stderr
    for flag, value, said in (
        ("--sms", "call me", "is not a phone number"),
        ("--sms", "+7 000 000 0000", "is not a valid number"),
        ("--email", "nobody", "is not an e-mail address"),
        ("--telegram", "Akimat Bot", "is not an address"),
    ):
        refused = halyq(tmp_path, "meeting", "route", meeting_id, flag, value)
        assert refused.returncode == 1, (flag, value)
        assert said in refused.stderr, refused.stderr
    assert routes(tmp_path, meeting_id, "--telegram", "AkimatBot") == {"telegram": "AkimatBot"}


async def in_data_folder(data: Path, meeting_id: str, *, plant: bool) -> dict[str, str] | None:
    """The sender's contact in the data folder's own Redis, after keeping it there as the
    intake does when `plant`."""
    with EmbeddedRedis(data) as redis:
        store = Store(redis.url, "halyq:")
        try:
            if plant:
                write = Write()
                store.intake.keep_contact(write, meeting_id, SENDER, CONTACT)
                await store.record.run(write)
            meeting = await store.meetings.get(meeting_id)
            assert meeting is not None
            assert meeting.status is MeetingStatus.ENDED
            return await store.intake.contact(meeting_id, SENDER)
        finally:
            await store.close()


def test_retention_run_deletes_the_contacts_of_meetings_ended_long_enough_ago(
    tmp_path: Path,
) -> None:
    meeting_id = create(tmp_path)
    for step in ("start", "end"):
        assert halyq(tmp_path, "meeting", step, meeting_id).returncode == 0
    assert asyncio.run(in_data_folder(tmp_path, meeting_id, plant=True)) == CONTACT
    kept = halyq(tmp_path, "retention", "run")  # 30 days by default: it ended just now
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.startswith("contacts of 0 meetings deleted (ended 30 or more days ago)")
    assert asyncio.run(in_data_folder(tmp_path, meeting_id, plant=False)) == CONTACT
    swept = halyq(tmp_path, "retention", "run", "--days", "0", "--json")
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout) == {"days": 0, "meetings": [meeting_id]}
    assert asyncio.run(in_data_folder(tmp_path, meeting_id, plant=False)) is None  # gone
    again = halyq(tmp_path, "retention", "run", "--days", "0")
    assert again.stdout.startswith("contacts of 0 meetings deleted")
    bad = halyq(tmp_path, "retention", "run", "--days", "-1")
    assert bad.returncode == 2
    assert "is not a whole number of days" in bad.stderr


def test_retention_run_reads_the_period_from_the_environment(tmp_path: Path) -> None:
    ran = halyq(tmp_path, "retention", "run", HALYQ_CONTACT_RETENTION_DAYS="7")
    assert ran.returncode == 0, ran.stderr
    assert "ended 7 or more days ago" in ran.stdout
