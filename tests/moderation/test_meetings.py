"""Meetings: announcing one (R5), starting and ending it, and replaying its stream into it."""

from __future__ import annotations

import dataclasses

import pytest

from moderation import (
    AkimLevel,
    Channel,
    CommentPosted,
    EndMeeting,
    Event,
    InvalidInput,
    InvalidTransition,
    Meeting,
    MeetingCreated,
    MeetingEnded,
    MeetingReceptionsSet,
    MeetingRescheduled,
    MeetingStarted,
    MeetingStatus,
    StartMeeting,
    apply,
    change_meeting,
    create_meeting,
)
from moderation.events import BroadcastChanged
from moderation.meetings import change_broadcast, reschedule
from tests.moderation._records import NOW, announcement, meeting


def test_create_meeting_records_the_announcement() -> None:
    event = create_meeting(
        announcement(
            titles={"kk": "Медеу ауданы әкімінің кездесуі", "ru": " "},
            starts_at="2026-12-01T18:00:00+05:00",
        ),
        now=NOW,
    )
    assert event == MeetingCreated(
        at=NOW,
        title="Встреча акима Медеуского района",
        akim="Ерлан Сапаров",
        level=AkimLevel.LOCAL,
        territory="Алматы, Медеу ауданы",
        planned_minutes=120,
        titles={"kk": "Медеу ауданы әкімінің кездесуі"},
        starts_at="2026-12-01T18:00:00+05:00",
    )


def test_r5_an_announcement_is_recorded_cleaned_and_in_one_form() -> None:
    event = create_meeting(
        announcement(
            title="  Встреча\u200b акима\n Медеуского района ",
            stream_url="  https://www.youtube.com/live/akimat-medeu ",
            starts_at="2026-12-01 18:00+05:00",
            planned_minutes=10,
            slow_mode_seconds=0.0,
            slow_mode_burst=20,
        ),
        now=NOW,
    )
    assert event == MeetingCreated(
        at=NOW,
        title="Встреча акима Медеуского района",
        akim="Ерлан Сапаров",
        level=AkimLevel.LOCAL,
        territory="Алматы, Медеу ауданы",
        planned_minutes=10,  # R4: the shortest meeting that can still be planned
        stream_url="https://www.youtube.com/live/akimat-medeu",
        starts_at="2026-12-01T18:00:00+05:00",
        slow_mode_seconds=0.0,
        slow_mode_burst=20,
    )


def test_r4_the_longest_meeting_that_can_be_planned_is_twelve_hours() -> None:
    assert create_meeting(announcement(planned_minutes=720), now=NOW).planned_minutes == 720


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": "  "}, "title is required"),
        ({"title": "я" * 201}, "title is over 200"),
        ({"akim": "\u200b"}, "akim is required"),
        ({"territory": "x" * 121}, "territory is over 120"),
        ({"planned_minutes": 5}, "between 10 and 720"),
        ({"planned_minutes": 721}, "between 10 and 720"),
        ({"stream_url": "javascript:alert(1)"}, "http(s) address"),
        ({"stream_url": "https://"}, "http(s) address"),
        ({"stream_url": "https://a.kz/x y"}, "spaces"),
        ({"titles": {"de": "Treffen"}}, "not de"),
        ({"starts_at": "tomorrow"}, "ISO 8601"),
        ({"starts_at": "2026-12-01T18:00:00"}, "UTC offset"),
        ({"slow_mode_seconds": 301.0}, "between 0 and 300"),
        ({"slow_mode_burst": 0}, "burst"),
    ],
)
def test_create_meeting_refuses_bad_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_meeting(announcement(**changes), now=NOW)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"stream_url": "https://a.kz/live\x07"}, "control characters"),
        ({"stream_url": "https://a.kz/" + "x" * 2000}, "http(s) address"),
        ({"titles": {"kk": "ә" * 201}}, "title (kk) is over 200"),
        ({"titles": {"ru": "Встреча", "de": "Treffen", "fr": "Réunion"}}, "not de, fr"),
    ],
)
def test_a_stream_url_and_titles_by_language_are_checked_too(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        create_meeting(announcement(**changes), now=NOW)
    assert message in refused.value.detail


@pytest.mark.parametrize(
    ("status", "change", "expected"),
    [
        (MeetingStatus.SCHEDULED, StartMeeting(), MeetingStarted(at=NOW)),
        (MeetingStatus.SCHEDULED, EndMeeting(), InvalidTransition),
        (MeetingStatus.LIVE, StartMeeting(), InvalidTransition),
        (MeetingStatus.LIVE, EndMeeting(), MeetingEnded(at=NOW)),
        (MeetingStatus.ENDED, StartMeeting(), InvalidTransition),
        (MeetingStatus.ENDED, EndMeeting(), InvalidTransition),
    ],
)
def test_the_meeting_lifecycle_table_is_exhaustive(
    status: MeetingStatus, change: StartMeeting | EndMeeting, expected: object
) -> None:
    if isinstance(expected, type):
        with pytest.raises(InvalidTransition):
            change_meeting(meeting(status), change, now=NOW)
    else:
        assert change_meeting(meeting(status), change, now=NOW) == expected


def test_replaying_the_events_rebuilds_the_meeting() -> None:
    events: list[Event] = [
        create_meeting(announcement(slow_mode_seconds=10.0, slow_mode_burst=3), now=NOW),
        MeetingRescheduled(at=NOW, starts_at="2026-12-02T11:00:00+05:00"),  # R1 (issue 13)
        MeetingStarted(at=NOW + 1),
        MeetingEnded(at=NOW + 2),
        MeetingReceptionsSet(at=NOW + 3, until="2026-12-05"),  # R6 (issue 12)
    ]
    state = None
    for event in events:
        state = apply(state, event, meeting_id="medeu")
    assert state == Meeting(
        id="medeu",
        title="Встреча акима Медеуского района",
        akim="Ерлан Сапаров",
        level=AkimLevel.LOCAL,
        territory="Алматы, Медеу ауданы",
        planned_minutes=120,
        starts_at="2026-12-02T11:00:00+05:00",
        status=MeetingStatus.ENDED,
        created_at=NOW,
        started_at=NOW + 1,
        ended_at=NOW + 2,
        receptions_until="2026-12-05",
        slow_mode_seconds=10.0,
        slow_mode_burst=3,
    )
    assert apply(None, MeetingStarted(at=NOW), meeting_id="x") is None


def test_comments_in_the_stream_leave_the_meeting_as_it_was() -> None:
    live = meeting(MeetingStatus.LIVE)
    comment = CommentPosted(
        at=NOW + 5, channel=Channel.WEB, client_msg_id="a", viewer="v1", name="", text="Сәлем"
    )
    assert apply(live, comment, meeting_id="medeu") is live
    assert apply(None, comment, meeting_id="medeu") is None


def test_r1_a_scheduled_meeting_moves_with_its_calendar_entry_and_no_other() -> None:
    """Issue 13: a moved calendar entry moves its meeting; its announcement stays (R5)."""
    moved = reschedule(meeting(MeetingStatus.SCHEDULED), "2026-12-02T11:00:00+05:00", now=NOW)
    assert moved == MeetingRescheduled(at=NOW, starts_at="2026-12-02T11:00:00+05:00")
    with pytest.raises(InvalidInput, match="starts_at"):
        reschedule(meeting(MeetingStatus.SCHEDULED), "", now=NOW)
    for status in (MeetingStatus.LIVE, MeetingStatus.ENDED):
        with pytest.raises(InvalidTransition):
            reschedule(meeting(status), "2026-12-02T11:00:00+05:00", now=NOW)


# Issue 16: the studio's broadcast to our ingest


@pytest.mark.parametrize("state", ["live", "reconnecting", "ended"])
def test_r3_a_live_meetings_broadcast_records_each_state_of_each_part(state: str) -> None:
    live = meeting(MeetingStatus.LIVE)
    event = change_broadcast(live, state, 2, at=NOW + 9)
    assert event == BroadcastChanged(at=NOW + 9, state=state, part=2)
    assert event is not None
    assert apply(live, event, meeting_id="medeu") == dataclasses.replace(live, broadcast=state)


@pytest.mark.parametrize("status", [MeetingStatus.SCHEDULED, MeetingStatus.ENDED])
def test_r3_a_meeting_not_live_gets_only_the_end_of_its_broadcast(status: MeetingStatus) -> None:
    """A studio's late `live` or `reconnecting` must not tell viewers of a broadcast that is
    over; the broadcast's own end is still recorded (the meeting ended before the grace did)."""
    over = meeting(status)
    assert change_broadcast(over, "live", 1, at=NOW) is None
    assert change_broadcast(over, "reconnecting", 1, at=NOW) is None
    assert change_broadcast(over, "ended", 1, at=NOW) == BroadcastChanged(
        at=NOW, state="ended", part=1
    )


@pytest.mark.parametrize(
    ("state", "part", "message"),
    [("waiting", 1, "state must be one of live, reconnecting, ended"), ("live", 0, "part")],
)
def test_a_broadcast_change_with_a_bad_state_or_part_is_refused(
    state: str, part: int, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        change_broadcast(meeting(MeetingStatus.LIVE), state, part, at=NOW)


def test_replaying_the_broadcasts_changes_rebuilds_its_state() -> None:
    """A page opened mid-broadcast shows the state the record last said ("waiting" first)."""
    state = meeting(MeetingStatus.LIVE)
    assert state.broadcast == "waiting"
    changes: list[tuple[Event, str]] = [
        (BroadcastChanged(at=NOW, state="live", part=1), "live"),
        (BroadcastChanged(at=NOW + 1, state="reconnecting", part=1), "reconnecting"),
        (BroadcastChanged(at=NOW + 2, state="live", part=2), "live"),
        (MeetingEnded(at=NOW + 3), "live"),
        (BroadcastChanged(at=NOW + 4, state="ended", part=2), "ended"),
    ]
    for event, expected in changes:
        after = apply(state, event, meeting_id="medeu")
        assert after is not None
        assert after.broadcast == expected
        state = after
    assert apply(None, BroadcastChanged(at=NOW, state="live", part=1), meeting_id="x") is None
