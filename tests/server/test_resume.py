"""Catch-up and resume: recent history, everything, exactly what was missed, or reload."""

from __future__ import annotations

import functools
import random

import pytest

from moderation import AskQuestion, Meeting, Moderate, PostComment, Submission
from server.settings import Settings
from server.store import Store
from server.usecases import Asked, Posted, UseCases, act, submit
from tests.helpers import (
    PROTOCOLS,
    LiveServer,
    catch_up,
    live_server,
    recv_json,
    recv_until,
    wait_for,
)
from tests.viewers import Viewer, closing, gather_all, in_order_once

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
        # An event of the record, but under another epoch (FLT-6): the record lost history
        # since, as far as the client can know, so it reloads; its own epoch resumes.
        older, last = await post(store, live_meeting, 2, "last")
        viewer = Viewer()
        viewer.last, viewer.epoch = older, "an-older-epoch"  # one missed: well within the limit
        async with closing([viewer]):
            hello = await viewer.open(server.url, live_meeting.id)
            assert (viewer.reloads, viewer.ids[-1]) == (1, last)
            viewer.last = last
            await viewer.open(server.url, live_meeting.id)
            assert (viewer.reloads, viewer.epoch) == (1, hello["epoch"])


async def test_dur7_viewers_dropped_again_and_again_end_with_every_item_once_in_order(
    settings: Settings, store: Store, live_meeting: Meeting
) -> None:
    """DUR-7 (CI tier): 20 viewers lose their connection three times each, at random, while
    a moderator approves 100 questions, and resume; one more stays away past the resume
    window (`HALYQ_RESUME_LIMIT`) and is told to reload. The full tier (1,000 viewers) is
    `bench/reliability/storm.py`."""
    cases, rng = UseCases(store=store), random.Random(7)
    questions = [await asked(cases, live_meeting, n) for n in range(100)]
    approved: list[str] = []
    limits = settings.replace(resume_limit=40, history_limit=500)
    viewers, away = [Viewer() for _ in range(20)], Viewer()
    async with live_server(limits) as server, closing([*viewers, away]):
        await gather_all(*(v.open(server.url, live_meeting.id) for v in [*viewers, away]))

        async def moderate() -> None:
            for question in questions:
                command = Moderate(action="approve", item=question, version=1)
                approved.append((await act(cases, live_meeting, command, by="aliya")).id)

        def past(number: int) -> bool:
            return len(approved) > number

        def shown(viewer: Viewer, number: int) -> bool:
            return past(number) and viewer.has_seen(approved[number])

        async def come_and_go(viewer: Viewer, gaps: list[tuple[int, int]]) -> None:
            for seen, back in gaps:  # drop once approval `seen` is shown; back after `back`
                await viewer.read_until(functools.partial(shown, number=seen))
                viewer.drop()
                await wait_for(functools.partial(past, back), what="more approvals")
                await viewer.open(server.url, live_meeting.id)
            await wait_for(lambda: len(approved) == len(questions), what="every approval")
            await viewer.read_until(lambda v: v.has(approved[-1:]))

        def short_gaps() -> list[tuple[int, int]]:
            starts = sorted(rng.sample(range(5, 80), 3))
            return [(start, start + rng.randint(1, 15)) for start in starts]

        await gather_all(
            moderate(),
            *(come_and_go(viewer, short_gaps()) for viewer in viewers),
            come_and_go(away, [(10, 70)]),  # 60 missed: more than the window of 40
        )
    for viewer in [*viewers, away]:
        in_order_once(viewer.ids, approved)
    assert {(v.resumes, v.reloads) for v in viewers} == {(3, 0)}
    assert (away.resumes, away.reloads) == (1, 1)


async def asked(cases: UseCases, meeting: Meeting, number: int) -> str:
    command = AskQuestion(client_msg_id=f"q{number}", name="Дана", text=f"Сұрақ {number}?")
    outcome = await submit(cases, meeting, Submission(what=command, sender=f"v{number}"))
    assert isinstance(outcome, Asked), outcome
    return outcome.id
