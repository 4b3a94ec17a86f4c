"""The codec: every event kind survives the stream, and client frames parse or fail clearly."""

from __future__ import annotations

import json

import pytest

from moderation import (
    KINDS,
    AkimLevel,
    Channel,
    ClockOverrun,
    ClockWarned,
    CommentHeld,
    CommentPosted,
    Event,
    HoldReason,
    MeetingCreated,
    MeetingEnded,
    MeetingReceptionsSet,
    MeetingRescheduled,
    MeetingStarted,
    Phase,
    PhaseChanged,
    PostComment,
    RejectReason,
)
from moderation.events import (
    BroadcastChanged,
    CommentHidden,
    CommentReleased,
    QuestionAnswered,
    QuestionApproved,
    QuestionAsked,
    QuestionDeferred,
    QuestionEdited,
    QuestionMerged,
    QuestionOffAir,
    QuestionOnAir,
    QuestionPromoted,
    QuestionQueued,
    QuestionRejected,
    QuestionTagged,
    QuestionVoted,
    RundownMoved,
)
from moderation.model import ModerationReason
from server.wire import (
    WireError,
    ack_frame,
    decode_event,
    encode_event,
    id_key,
    is_stream_id,
    parse_client_message,
    rejected_frame,
)

EXAMPLES: list[Event] = [
    MeetingCreated(
        at=1, title="Кездесу", akim="Әкім", level=AkimLevel.OBLAST, territory="Алматы облысы",
        planned_minutes=90, stream_url="https://youtu.be/abcdefghijk", titles={"ru": "Встреча"},
        starts_at="2026-12-01T18:00:00+05:00", slow_mode_seconds=2.5, slow_mode_burst=3,
    ),
    MeetingStarted(at=2),
    MeetingEnded(at=3),
    PhaseChanged(at=19, by="aliya", phase=Phase.QA, presentation_ms=1_830_500, qa_ms=7,
                 budget_ms=1_800_000),
    ClockWarned(at=20, percent=80, used_ms=1_440_000, budget_ms=1_800_000),
    ClockOverrun(at=21, overrun_ms=30_500),
    BroadcastChanged(at=22, state="reconnecting", part=2),  # issue 16
    CommentPosted(at=4, channel=Channel.WEB, client_msg_id="a", viewer="v", name="Ә", text="Сәлем"),
    CommentHeld(
        at=5, channel=Channel.WEB, client_msg_id="b", viewer="v", name="", text="x@y.kz",
        reason=HoldReason.EMAIL,
    ),
    QuestionAsked(
        at=6, channel=Channel.WEB, client_msg_id="q", viewer="v", name="", text="Су қашан?",
        district="Алмалы", held="", suggested_topic="water", suggested_district="Алмалы",
        similar=("1-0", "2-0"),
    ),
    QuestionVoted(at=7, question="6-0", viewer="v", votes=3),
    QuestionPromoted(
        at=8, by="aliya", item="4-0", version=2, channel=Channel.WEB, viewer="v", name="Ә",
        text="Сәлем", suggested_topic="other", similar=(),
    ),
    CommentHidden(at=9, by="aliya", item="4-0", version=3, reason=ModerationReason.SPAM),
    CommentReleased(at=10, by="aliya", item="5-0", version=2, posted_at=5, channel=Channel.WEB,
                    name="", text="x@y.kz"),
    QuestionApproved(at=11, by="aliya", item="6-0", version=2, asked_at=6, channel=Channel.WEB,
                     name="", text="Су қашан?", topic="water", district="Алмалы", votes=0),
    QuestionRejected(at=12, by="b", item="6-0", version=3, reason=ModerationReason.OFF_TOPIC),
    QuestionMerged(at=13, by="b", item="8-0", version=2, into="6-0", into_version=4, votes=3),
    QuestionQueued(at=14, by="b", item="6-0", version=5),
    QuestionOnAir(at=15, by="b", item="6-0", version=6),
    QuestionOffAir(at=18, by="producer key", item="6-0", version=7),
    RundownMoved(at=21, by="producer key", question="6-0", position=2, order=("5-0", "7-0", "6-0")),
    QuestionAnswered(at=16, by="b", item="6-0", version=7),
    QuestionDeferred(at=17, by="b", item="6-0", version=8),
    QuestionTagged(at=18, by="b", item="6-0", version=9, topic="water", district=""),
    MeetingReceptionsSet(at=20, until="2026-12-10"),
    MeetingRescheduled(at=22, starts_at="2026-12-11T11:00:00+05:00"),  # issue 13
    QuestionEdited(at=19, by="s1", item="6-0", version=2, text="Жаңа", language="kk", held=""),
]  # fmt: skip


def test_every_event_kind_has_an_example() -> None:
    assert {e.kind for e in EXAMPLES} == set(KINDS)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.kind)
def test_events_round_trip_through_the_stream_encoding(event: Event) -> None:
    kind, data = encode_event(event)
    assert kind == event.kind
    assert json.loads(data)["at"] == event.at
    assert decode_event(kind, data) == event


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        decode_event("comment.eaten", "{}")


def test_a_whole_number_float_decodes_as_float() -> None:
    kind, data = encode_event(EXAMPLES[0])
    raw = json.loads(data) | {"slow_mode_seconds": 5}
    decoded = decode_event(kind, json.dumps(raw))
    assert isinstance(decoded, MeetingCreated)
    assert decoded.slow_mode_seconds == 5.0


def test_a_comment_frame_parses() -> None:
    frame = '{"type": "comment", "client_msg_id": "Ab_-9", "name": "Аян", "text": "Сәлем"}'
    assert parse_client_message(frame) == PostComment(
        client_msg_id="Ab_-9", name="Аян", text="Сәлем"
    )
    no_name = '{"type": "comment", "client_msg_id": "x", "text": "t"}'
    parsed = parse_client_message(no_name)
    assert isinstance(parsed, PostComment)
    assert parsed.name == ""


def test_a_frame_over_64_kib_is_too_large() -> None:
    with pytest.raises(WireError) as error:
        parse_client_message('"' + "я" * 40_000 + '"')
    assert error.value.code == "too_large"


def test_a_lone_surrogate_escape_parses_and_is_cleaned_later() -> None:
    frame = '{"type": "comment", "client_msg_id": "s", "text": "a\\ud800b"}'
    parsed = parse_client_message(frame)
    assert isinstance(parsed, PostComment)
    assert parsed.text == "a\ud800b"


def test_frames_to_the_client() -> None:
    assert json.loads(ack_frame("c", "1-0", "posted")) == {
        "type": "ack", "client_msg_id": "c", "id": "1-0", "status": "posted"
    }  # fmt: skip
    assert json.loads(ack_frame("c", "1-0", "held", "link"))["reason"] == "link"
    assert json.loads(rejected_frame("c", RejectReason.RATE_LIMITED, "slow", 3)) == {
        "type": "rejected", "client_msg_id": "c", "reason": "rate_limited", "detail": "slow",
        "retry_after": 3,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("value", "valid"),
    [("0", True), ("1763614800000-0", True), ("1-2", True), ("1", False), ("-1-0", False),
     ("1-0-0", False), ("abc", False), ("", False), ("1" * 21 + "-0", False)],
)  # fmt: skip
def test_stream_ids(value: str, valid: bool) -> None:
    assert is_stream_id(value) is valid


def test_stream_ids_sort_by_time_then_sequence() -> None:
    assert sorted(["10-1", "9-5", "10-0", "0"], key=id_key) == ["0", "9-5", "10-0", "10-1"]
