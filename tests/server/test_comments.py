"""Comments over the viewer WebSocket: durable acks, idempotency, the filter, slow mode (R3)."""

from __future__ import annotations

import pytest

from moderation import CommentHeld, CommentPosted, EndMeeting, Meeting, StartMeeting
from server.store import Durability, Store
from server.usecases import UseCases, change_meeting, create_meeting
from tests.conftest import meeting_command
from tests.helpers import LiveServer, catch_up, comment, recv_json, recv_until

pytestmark = pytest.mark.anyio


def is_type(kind: str) -> object:
    return lambda frame: frame["type"] == kind


async def comments_in(
    store: Store, meeting_id: str
) -> list[tuple[str, CommentPosted | CommentHeld]]:
    entries = await store.record.range(meeting_id, "-", "+", count=100_000)
    return [(i, e) for i, e in entries if isinstance(e, CommentPosted | CommentHeld)]


async def test_ack_comes_after_the_durable_append_and_other_viewers_see_it(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with server.socket(live_meeting.id) as author, server.socket(live_meeting.id) as viewer:
        await catch_up(author)
        await catch_up(viewer)
        await author.send(comment("c-1", "Когда отремонтируют дорогу на Абая?", "Айгерім"))
        ack = await recv_until(author, lambda f: f["type"] == "ack")
        # When the ack arrives the comment is already in the record, on a Redis that fsyncs
        # every write before it replies (appendfsync always).
        recorded = await comments_in(store, live_meeting.id)
        assert [entry_id for entry_id, _ in recorded] == [ack[0]["id"]]
        assert (await store.check_durability()).mode is Durability.ALWAYS
        assert ack[0] == {
            "type": "ack",
            "client_msg_id": "c-1",
            "id": ack[0]["id"],
            "status": "posted",
        }
        frame, _ = await recv_until(viewer, lambda f: f["type"] == "events" and bool(f["events"]))
        [event] = frame["events"]
        assert event["id"] == ack[0]["id"]
        assert event["kind"] == "comment.posted"
        assert (event["name"], event["text"]) == ("Айгерім", "Когда отремонтируют дорогу на Абая?")
        assert frame["last"] == event["id"]
        assert set(event) == {"id", "kind", "at", "channel", "name", "text"}  # no viewer pseudonym


async def test_a_repeated_client_msg_id_gets_the_same_id_and_makes_one_event(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with server.socket(live_meeting.id) as first, server.socket(live_meeting.id) as second:
        await first.send(comment("same-id", "Су қашан беріледі?"))
        await second.send(comment("same-id", "Су қашан беріледі?"))
        await first.send(comment("same-id", "Су қашан беріледі?"))
        acks = [
            (await recv_until(ws, lambda f: f["type"] == "ack"))[0] for ws in (first, second, first)
        ]
    assert len({ack["id"] for ack in acks}) == 1
    recorded = await comments_in(store, live_meeting.id)
    assert [e.client_msg_id for _, e in recorded] == ["same-id"]


async def test_the_first_filter_holds_with_a_public_reason_instead_of_dropping(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    """R3: commenting is mandatory, so the filter holds a comment back with a reason."""
    async with server.socket(live_meeting.id) as author, server.socket(live_meeting.id) as viewer:
        hello, _ = await catch_up(viewer)
        assert hello["held"] == {}
        await author.send(comment("p-1", "Позвоните мне: +7 701 234 56 78"))
        ack, _ = await recv_until(author, lambda f: f["type"] == "ack")
        assert (ack["status"], ack["reason"]) == ("held", "phone")
        frame, _ = await recv_until(viewer, lambda f: f["type"] == "events" and bool(f["events"]))
        assert frame["events"] == [
            {"id": ack["id"], "kind": "comment.held", "at": frame["events"][0]["at"],
             "channel": "web", "reason": "phone"}
        ]  # fmt: skip
    async with server.socket(live_meeting.id) as late:
        hello = await recv_json(late)
        assert hello["held"] == {"phone": 1}
        assert hello["as_of"] == ack["id"]
    [(_, held)] = await comments_in(store, live_meeting.id)
    assert isinstance(held, CommentHeld)
    assert held.text == "Позвоните мне: +7 701 234 56 78"  # kept in the record for moderators


async def test_slow_mode_limits_a_viewer_with_a_burst_and_says_when_to_retry(
    server: LiveServer, store: Store
) -> None:
    meeting = await create_meeting(
        UseCases(store=store), meeting_command(slow_mode_seconds=5.0, slow_mode_burst=2)
    )
    await change_meeting(UseCases(store=store), meeting.id, StartMeeting())
    async with server.socket(meeting.id) as ws:
        for number in range(3):
            await ws.send(comment(f"s-{number}", f"Сұрақ {number}"))
        answers = [
            (await recv_until(ws, lambda f: f["type"] in ("ack", "rejected")))[0] for _ in range(3)
        ]
    assert [a["type"] for a in answers] == ["ack", "ack", "rejected"]
    assert answers[2]["reason"] == "rate_limited"
    assert 4 <= answers[2]["retry_after"] <= 5


async def test_a_comment_is_refused_with_the_documented_reasons(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    async with server.socket(live_meeting.id) as ws:
        await ws.send(comment("long", "ы" * 501))
        too_long, _ = await recv_until(ws, lambda f: f["type"] == "rejected")
        await ws.send(comment("exact", "ы" * 500))
        exact, _ = await recv_until(ws, lambda f: f["type"] in ("ack", "rejected"))
        await ws.send(comment("empty", " \u200b\u202e "))
        empty, _ = await recv_until(ws, lambda f: f["type"] == "rejected")
        await change_meeting(UseCases(store=store), live_meeting.id, EndMeeting())
        await ws.send(comment("late", "Ещё вопрос"))
        late, _ = await recv_until(ws, lambda f: f["type"] == "rejected")
        await ws.send(comment("exact", "ы" * 500))
        retried, _ = await recv_until(ws, lambda f: f["type"] in ("ack", "rejected"))
    assert (too_long["client_msg_id"], too_long["reason"]) == ("long", "too_long")
    assert exact["type"] == "ack"
    assert (empty["client_msg_id"], empty["reason"]) == ("empty", "invalid")
    assert (late["client_msg_id"], late["reason"]) == ("late", "meeting_closed")
    # A retry of a comment accepted before the meeting ended still gets its ack (G2).
    assert (retried["type"], retried["id"]) == ("ack", exact["id"])
