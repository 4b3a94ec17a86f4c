"""Catch-up and resume: recent history, everything, exactly what was missed, or reload."""

from __future__ import annotations

import pytest

from moderation import Meeting, PostComment, Submission
from server.settings import Settings
from server.store import Store
from server.usecases import Posted, UseCases, submit
from tests.helpers import PROTOCOLS, LiveServer, catch_up, live_server, recv_json, recv_until

pytestmark = pytest.mark.anyio


async def post(store: Store, meeting: Meeting, count: int, tag: str, text: str = "") -> list[str]:
    """Append `count` comments through `submit`, as any channel does; returns their ids."""
    cases, ids = UseCases(store=store), []
    for number in range(count):
        body = f"{tag} {number} {text}".strip()
        command = PostComment(client_msg_id=f"{tag}-{number}", name="Бот", text=body)
        outcome = await submit(cases, meeting, Submission(what=command, sender="tester"))
        assert isinstance(outcome, Posted), outcome
        ids.append(outcome.id)
    return ids


async def test_without_after_a_client_gets_the_recent_history(
    redis_url: str, settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    ids = await post(store, live_meeting, 120, "h")
    async with (
        live_server(settings.replace(history_limit=100)) as server,
        server.socket(live_meeting.id) as ws,
    ):
        _, events = await catch_up(ws)
    assert [e["id"] for e in events[:-1]] == ids[-100:]
    assert events[-1]["last"] == ids[-1]


async def test_after_zero_gets_everything_from_the_start(
    server: LiveServer, store: Store, live_meeting: Meeting
) -> None:
    ids = await post(store, live_meeting, 1200, "z")
    async with server.socket(live_meeting.id, after="0") as ws:
        await recv_json(ws)  # hello
        received: list[str] = []
        while len(received) < 1201:  # meeting.started + the comments, in chunks
            frame = await recv_json(ws)
            assert frame["type"] == "events"
            received += [e["id"] for e in frame["events"]]
    assert received[1:] == ids


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_client_that_resumes_gets_exactly_what_it_missed_in_order(
    settings: Settings, store: Store, live_meeting: Meeting, protocol: str
) -> None:
    async with live_server(settings, ws=protocol) as server:
        await resume_exactly(server, store, live_meeting)


async def resume_exactly(server: LiveServer, store: Store, live_meeting: Meeting) -> None:
    await post(store, live_meeting, 5, "before")
    async with server.socket(live_meeting.id) as ws:
        _, events = await catch_up(ws)
        last = events[-1]["last"]
    missed = await post(store, live_meeting, 30, "missed")
    async with server.socket(live_meeting.id, after=last) as ws:
        hello, events = await catch_up(ws)
        assert "reload" not in hello
        assert [e["id"] for e in events[:-1]] == missed
        assert events[-1]["last"] == missed[-1]
        live = await post(store, live_meeting, 3, "live")
        got: list[str] = []
        while len(got) < 3:
            frame, _ = await recv_until(ws, lambda f: f["type"] == "events")
            got += [e["id"] for e in frame["events"]]
        assert got == live  # and nothing twice


async def test_a_client_whose_history_is_gone_is_told_to_reload(
    settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    first = await post(store, live_meeting, 1, "old")
    await post(store, live_meeting, 20, "many")
    async with live_server(settings.replace(resume_limit=10)) as server:
        async with server.socket(live_meeting.id, after=first[0]) as ws:
            hello, events = await catch_up(ws)
            assert hello.get("reload") is True
            assert events[-1]["last"] != first[0]  # fresh history follows the reload
        async with server.socket(live_meeting.id, after="1-0") as ws:  # an id never in the stream
            hello, _ = await catch_up(ws)
            assert hello.get("reload") is True
