"""The store's guards: check-and-set on meetings, durability checks, per-viewer slow mode."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from moderation import (
    AskQuestion,
    Conflict,
    EndMeeting,
    Meeting,
    Moderate,
    NotFound,
    PostComment,
    RejectReason,
    StartMeeting,
    Submission,
    apply,
)
from moderation import change_meeting as decide_change
from moderation.events import QuestionVoted
from server.settings import Settings
from server.store import Durability, Refused, Store, Write, Written
from server.store.client import close_left_open
from server.store.embedded import redis_binary
from server.usecases import (
    Asked,
    NotVoted,
    Outcome,
    Posted,
    Rejected,
    Repeated,
    UseCases,
    Voted,
    act,
    change_meeting,
    create_meeting,
    submit,
    vote,
)
from tests.conftest import meeting_command
from tests.helpers import (
    TIMEOUT,
    catch_up,
    comment,
    live_server,
    recv_until,
    unique_prefix,
    wait_until,
)

pytestmark = pytest.mark.anyio


async def test_a_meeting_id_is_created_once(store: Store) -> None:
    await create_meeting(UseCases(store=store), meeting_command(), meeting_id="almaly-2026")
    with pytest.raises(Conflict):
        await create_meeting(UseCases(store=store), meeting_command(), meeting_id="almaly-2026")


async def test_concurrent_changes_apply_once_and_the_other_is_a_conflict(store: Store) -> None:
    meeting = await create_meeting(UseCases(store=store), meeting_command())
    started = decide_change(meeting, StartMeeting(), now=1)
    after = apply(meeting, started, meeting_id=meeting.id)
    assert after is not None

    async def change() -> Written | Refused:
        write = Write()
        store.meetings.change(write, meeting, after)
        store.record.append(write, meeting.id, started)
        return await store.record.run(write)

    results = await asyncio.gather(change(), change())
    assert sorted(type(r).__name__ for r in results) == ["Refused", "Written"]
    assert (await store.meetings.get(meeting.id)) == after
    entries = await store.record.range(meeting.id, "-", "+", count=10)
    assert [e.kind for _, e in entries] == ["meeting.created", "meeting.started"]


async def test_changing_an_unknown_meeting_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        await change_meeting(UseCases(store=store), "no-such-meeting", EndMeeting())
    with pytest.raises(NotFound):
        await change_meeting(UseCases(store=store), "../bad id", EndMeeting())


async def test_the_session_redis_is_durable(store: Store) -> None:
    report = await store.check_durability()
    assert report.mode is Durability.ALWAYS


async def test_slow_mode_is_per_viewer(store: Store) -> None:
    cases = UseCases(store=store)
    meeting = await create_meeting(
        cases, meeting_command(slow_mode_seconds=60.0, slow_mode_burst=1)
    )
    live = await change_meeting(cases, meeting.id, StartMeeting())

    async def send(viewer: str, number: int) -> Outcome:
        command = PostComment(client_msg_id=f"{viewer}-{number}", name="", text="Сұрақ")
        return await submit(cases, live, Submission(what=command, sender=viewer))

    first, second, other = await send("a", 1), await send("a", 2), await send("b", 1)
    assert isinstance(first, Posted)
    assert isinstance(other, Posted)
    assert isinstance(second, Rejected)
    assert second.reason == "rate_limited"
    assert 59_000 <= second.retry_after_ms <= 60_000
    again = await send("a", 1)  # a retry of an accepted comment is not slowed down
    assert isinstance(again, Repeated)
    assert again.first == first
    assert again.id == first.id


@pytest.fixture
def nondurable_redis(tmp_path: Path) -> Iterator[str]:
    """A Redis that keeps no append-only file (appendonly no), as many caches run: nothing
    (not even WAITAOF on Valkey / Redis >= 7.2) can make an append durable there."""
    sock = tmp_path / "r.sock"
    process = subprocess.Popen(
        [redis_binary(), "--port", "0", "--unixsocket", str(sock), "--dir", str(tmp_path),
         "--appendonly", "no", "--appendfsync", "everysec", "--save", ""],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(sock.exists, TIMEOUT, "the second valkey-server")
        yield f"unix://{sock}"
    finally:
        process.terminate()
        process.wait(TIMEOUT)


async def test_a_redis_without_fsync_is_reported_and_comments_are_refused(
    nondurable_redis: str, settings: Settings
) -> None:
    """Ack means durable: without an append-only file, acks could be lost in a power cut. (With
    one but everysec, Redis 6/7.0 is refused the same way; Valkey waits for WAITAOF:
    tests/server/test_waitaof.py.)"""
    store = Store(nondurable_redis, settings.redis_prefix)
    cases = UseCases(store=store)
    meeting = await create_meeting(cases, meeting_command())
    await change_meeting(cases, meeting.id, StartMeeting())
    await store.close()
    async with live_server(settings.replace(redis_url=nondurable_redis)) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["durability"] == "none"
        assert "appendonly=no appendfsync=everysec" in ready.json()["durability_detail"]
        async with server.socket(meeting.id) as ws:
            await catch_up(ws)
            await ws.send(comment("c", "Сәлем"))
            answer, _ = await recv_until(ws, lambda f: f["type"] in ("ack", "rejected"))
        assert (answer["type"], answer["reason"]) == ("rejected", "unavailable")
    async with (
        live_server(settings.replace(redis_url=nondurable_redis, accept_nondurable=True)) as server,
        server.socket(meeting.id) as ws,
    ):
        await catch_up(ws)
        await ws.send(comment("c", "Сәлем"))
        answer, _ = await recv_until(ws, lambda f: f["type"] in ("ack", "rejected"))
        assert answer["type"] == "ack"  # the operator chose to accept the risk, loudly


async def test_one_client_msg_id_sent_at_once_on_many_connections_is_recorded_once(
    store: Store, live_meeting: Meeting
) -> None:
    """DUR-3, G2: the retries race each other; the idempotency guard lets one append and the
    others get the same id."""
    cases = UseCases(store=store)
    command = PostComment(client_msg_id="same", name="Айдос", text="Когда дадут воду?")
    outcomes = await asyncio.gather(
        *(submit(cases, live_meeting, Submission(what=command, sender="v1")) for _ in range(10))
    )
    posted = [o for o in outcomes if isinstance(o, Posted)]
    assert len(posted) == 1
    assert all(o == Repeated(posted[0]) for o in outcomes if o is not posted[0])
    entries = await store.record.range(live_meeting.id, "-", "+", count=100)
    assert [e.kind for _, e in entries].count("comment.posted") == 1


async def approved_question(store: Store, meeting: Meeting) -> str:
    cases = UseCases(store=store)
    command = AskQuestion(client_msg_id="q1", name="", text="Когда отремонтируют школу №12?")
    asked = await submit(cases, meeting, Submission(what=command, sender="asker"))
    assert isinstance(asked, Asked), asked
    await act(cases, meeting, Moderate(action="approve", item=asked.id, version=1), by="aliya")
    return asked.id


async def test_racing_votes_are_each_counted_once(store: Store, live_meeting: Meeting) -> None:
    """R4: votes for one question at the same moment; a refused count guard makes the loser
    read the new count and decide again, so no vote is lost or counted twice."""
    question = await approved_question(store, live_meeting)
    cases = UseCases(store=store)
    results = await asyncio.gather(
        *(vote(cases, live_meeting, question, viewer=f"viewer{n}") for n in range(5))
    )
    assert all(isinstance(r, Voted) and not r.repeated for r in results), results
    assert sorted(r.votes for r in results if isinstance(r, Voted)) == [1, 2, 3, 4, 5]
    entries = await store.record.range(live_meeting.id, "-", "+", count=100)
    counts = [e.votes for _, e in entries if isinstance(e, QuestionVoted)]
    assert counts == [1, 2, 3, 4, 5]
    assert (await store.board.items(live_meeting.id, [question]))[question].votes == 5


async def test_a_vote_on_a_stale_copy_of_an_ended_meeting_is_refused(
    store: Store, live_meeting: Meeting
) -> None:
    """A socket's copy of the meeting may lag its end by a moment: the store's status guard
    has the last word, and the vote is refused `meeting_closed`, not counted."""
    question = await approved_question(store, live_meeting)
    cases = UseCases(store=store)
    await change_meeting(cases, live_meeting.id, EndMeeting())
    assert live_meeting.is_live  # the copy the socket still holds
    assert await vote(cases, live_meeting, question, viewer="late") == NotVoted("meeting_closed")
    entries = await store.record.range(live_meeting.id, "-", "+", count=100)
    assert not [e for _, e in entries if isinstance(e, QuestionVoted)]


async def test_two_starts_at_the_same_moment_apply_once_and_the_other_is_a_conflict(
    store: Store,
) -> None:
    """Both read the meeting as scheduled and both decide to start it; the status guard lets
    one write and refuses the other as a `Conflict` (never an overwrite, never two events)."""
    cases = UseCases(store=store)
    meeting = await create_meeting(cases, meeting_command())
    # Two connections already open, as in a running server: both reads go out before a write.
    await asyncio.gather(*(store.meetings.get(meeting.id) for _ in range(2)))
    results = await asyncio.gather(
        *(change_meeting(cases, meeting.id, StartMeeting()) for _ in range(2)),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Meeting"], results
    conflict = next(r for r in results if isinstance(r, Conflict))
    assert str(conflict) == f"meeting {meeting.id} is now live"
    entries = await store.record.range(meeting.id, "-", "+", count=10)
    assert [e.kind for _, e in entries] == ["meeting.created", "meeting.started"]


async def test_a_comment_on_a_stale_copy_of_an_ended_meeting_is_refused(
    store: Store, live_meeting: Meeting
) -> None:
    """R3, G3: commenting closes with the meeting; a socket whose copy still says live is
    answered `meeting_closed` by the store's status guard, and nothing is recorded."""
    cases = UseCases(store=store)
    await change_meeting(cases, live_meeting.id, EndMeeting())
    command = PostComment(client_msg_id="late", name="", text="Успел?")
    outcome = await submit(cases, live_meeting, Submission(what=command, sender="v1"))
    assert outcome == Rejected(RejectReason.MEETING_CLOSED, "the meeting is not live")
    assert await store.record.seen(live_meeting.id, "late") is None


def test_a_connection_still_open_when_its_loop_ends_is_closed_and_named(redis_url: str) -> None:
    """What the suite does as each test loop ends (tests/conftest.py): a connection nobody
    closed is closed then, on its own loop only, instead of by the garbage collector later."""
    ending, other = asyncio.new_event_loop(), asyncio.new_event_loop()
    left, kept = Store(redis_url, unique_prefix()), Store(redis_url, unique_prefix())
    try:
        ending.run_until_complete(left.ping())
        other.run_until_complete(kept.ping())
        [named] = close_left_open(ending)
        assert "Connection" in named
        assert close_left_open(ending) == []  # closed once
        other.run_until_complete(kept.ping())  # the other loop's connection still works
    finally:
        other.run_until_complete(kept.close())
        ending.run_until_complete(left.close())
        ending.close()
        other.close()
