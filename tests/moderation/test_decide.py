"""Decisions on meetings and comments: pure functions, whole event lists compared."""

from __future__ import annotations

import dataclasses

import pytest

from moderation import (
    AkimLevel,
    Channel,
    CommentHeld,
    CommentPosted,
    CommentRejected,
    CreateMeeting,
    EndMeeting,
    Event,
    HoldReason,
    InvalidInput,
    InvalidTransition,
    Meeting,
    MeetingCreated,
    MeetingEnded,
    MeetingStarted,
    MeetingStatus,
    PostComment,
    RejectReason,
    SlowMode,
    StartMeeting,
    apply,
    change_meeting,
    create_meeting,
    post_comment,
)
from moderation.audiences import for_viewer, held_counts, meeting_for_viewer

NOW = 1_763_614_800_000  # 2025-11-20 10:00 Asia/Almaty


def command(**changes: object) -> CreateMeeting:
    values: dict[str, object] = {
        "title": "Встреча акима Медеуского района",
        "akim": "Ерлан Сапаров",
        "level": AkimLevel.LOCAL,
        "territory": "Алматы, Медеу ауданы",
        "planned_minutes": 120,
    }
    return CreateMeeting(**(values | changes))  # type: ignore[arg-type]


def meeting(status: MeetingStatus) -> Meeting:
    created = apply(None, create_meeting(command(), now=NOW), meeting_id="medeu")
    assert created is not None
    return dataclasses.replace(created, status=status)


def test_create_meeting_records_the_announcement() -> None:
    event = create_meeting(
        command(
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
        create_meeting(command(**changes), now=NOW)


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
        create_meeting(command(slow_mode_seconds=10.0, slow_mode_burst=3), now=NOW),
        MeetingStarted(at=NOW + 1),
        MeetingEnded(at=NOW + 2),
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
        status=MeetingStatus.ENDED,
        created_at=NOW,
        started_at=NOW + 1,
        ended_at=NOW + 2,
        slow_mode_seconds=10.0,
        slow_mode_burst=3,
    )
    assert apply(None, MeetingStarted(at=NOW), meeting_id="x") is None


def test_r3_a_live_meeting_takes_comments_and_the_filter_holds_instead_of_dropping() -> None:
    live = meeting(MeetingStatus.LIVE)
    posted = post_comment(
        live, PostComment(client_msg_id="a", name=" Айгерім\u202e ", text="Жол  қашан?"),
        viewer="v1", now=NOW,
    )  # fmt: skip
    assert posted == CommentPosted(
        at=NOW,
        channel=Channel.WEB,
        client_msg_id="a",
        viewer="v1",
        name="Айгерім",
        text="Жол қашан?",
    )
    held = post_comment(
        live,
        PostComment(client_msg_id="b", name="", text="Звоните 87012345678"),
        viewer="v1",
        now=NOW,
    )
    assert isinstance(held, CommentHeld)
    assert held.reason is HoldReason.PHONE


@pytest.mark.parametrize(
    ("status", "text", "name", "reason"),
    [
        (MeetingStatus.SCHEDULED, "Сұрақ", "", RejectReason.MEETING_CLOSED),
        (MeetingStatus.ENDED, "Сұрақ", "", RejectReason.MEETING_CLOSED),
        (MeetingStatus.LIVE, "ы" * 501, "", RejectReason.TOO_LONG),
        (MeetingStatus.LIVE, "\u200b\u2066 \n", "", RejectReason.INVALID),
        (MeetingStatus.LIVE, "Сұрақ", "Н" * 41, RejectReason.INVALID),
    ],
)
def test_a_comment_is_rejected_with_its_reason(
    status: MeetingStatus, text: str, name: str, reason: RejectReason
) -> None:
    with pytest.raises(CommentRejected) as rejected:
        post_comment(
            meeting(status), PostComment(client_msg_id="x", name=name, text=text),
            viewer="v", now=NOW,
        )  # fmt: skip
    assert rejected.value.reason is reason


def test_500_characters_are_allowed_after_cleaning() -> None:
    text = "ы" * 500 + "\u200b" * 20  # zero-width characters do not count: they are removed
    event = post_comment(
        meeting(MeetingStatus.LIVE), PostComment(client_msg_id="x", name="", text=text),
        viewer="v", now=NOW,
    )  # fmt: skip
    assert event.text == "ы" * 500


def test_viewers_see_no_held_text_no_pseudonym_and_no_message_id() -> None:
    posted = CommentPosted(
        at=NOW, channel=Channel.WEB, client_msg_id="m", viewer="v9", name="Аян", text="Сәлем"
    )
    held = CommentHeld(
        at=NOW, channel=Channel.WEB, client_msg_id="n", viewer="v9", name="Аян",
        text="mail@example.kz", reason=HoldReason.EMAIL,
    )  # fmt: skip
    assert for_viewer("1-0", posted) == {
        "id": "1-0", "kind": "comment.posted", "at": NOW, "channel": "web", "name": "Аян",
        "text": "Сәлем",
    }  # fmt: skip
    assert for_viewer("2-0", held) == {
        "id": "2-0", "kind": "comment.held", "at": NOW, "channel": "web", "reason": "email"
    }  # fmt: skip
    assert for_viewer("3-0", create_meeting(command(), now=NOW)) is None
    assert for_viewer("4-0", MeetingEnded(at=NOW)) == {
        "id": "4-0",
        "kind": "meeting.ended",
        "at": NOW,
    }
    assert held_counts([posted, held, held]) == {"email": 2}


def test_the_public_meeting_has_no_internal_fields() -> None:
    shown = meeting_for_viewer(meeting(MeetingStatus.LIVE))
    assert shown["status"] == "live"
    assert not {"slow_mode_seconds", "slow_mode_burst", "created_at"} & shown.keys()
    assert "stream_url" not in shown
    assert meeting(MeetingStatus.LIVE).title_in("kk") == "Встреча акима Медеуского района"


@pytest.mark.parametrize(("seconds", "burst"), [(-1.0, 2), (300.5, 2), (5.0, 0), (5.0, 21)])
def test_r3_slow_mode_can_never_close_commenting(seconds: float, burst: int) -> None:
    with pytest.raises(ValueError, match="between"):
        SlowMode(seconds=seconds, burst=burst)
