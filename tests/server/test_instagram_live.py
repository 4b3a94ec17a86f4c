"""Instagram Live comments into the one queue (issue 16): the Graph API gives a Business or
Creator account's live media only while it is broadcast (`GET /{ig-user-id}/live_media`), and
that media's comments (`GET /{ig-media-id}/comments`). The reader waits for a broadcast, reads
its comments with channel `instagram` once each across restarts, and looks for the next one
when it ends; against the fake Graph API (`tests/fakes_graph.py`), a real server and Redis."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from moderation import Meeting
from server.channels.graph_live import INSTAGRAM, NOT_LIVE, LiveReader, created_ms
from tests.fakes_graph import (
    FakeGraph,
    channel_items,
    fake_graph,
    feed_state,
    graph_fixture,
    graph_reading,
)
from tests.helpers import LiveServer, wait_for

pytestmark = pytest.mark.anyio

IG_USER = "17841405822304914"
MEDIA = "17969782069736132"
POLL = 0.02


@pytest.fixture
async def graph() -> AsyncIterator[FakeGraph]:
    async with fake_graph() as fake:
        yield fake


def reading(
    server: LiveServer, graph: FakeGraph, meeting: Meeting
) -> contextlib.AbstractAsyncContextManager[LiveReader]:
    return graph_reading(server, graph, meeting, platform=INSTAGRAM, target=IG_USER, poll=POLL)


def go_live(graph: FakeGraph, media: str = MEDIA) -> None:
    graph.live[IG_USER] = [dict(graph_fixture("instagram_live_media")["data"][0], id=media)]


async def items(server: LiveServer, meeting: Meeting, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def enough() -> bool:
        found[:] = await channel_items(server, meeting.id, "instagram")
        return len(found) >= n

    await wait_for(enough, what=f"{n} instagram comments")
    return found


async def test_the_reader_waits_for_the_broadcast_then_reads_its_comments_once(
    server: LiveServer, graph: FakeGraph, live_meeting: Meeting
) -> None:
    rows: list[dict[str, Any]] = graph_fixture("instagram_live_comments")["data"]
    graph.add(MEDIA, *rows)
    async with reading(server, graph, live_meeting) as reader:
        waiting: dict[str, Any] = {}

        async def not_live() -> bool:
            waiting.update(await feed_state(server, live_meeting.id, f"instagram:{IG_USER}"))
            return waiting.get("problem") == NOT_LIVE

        await wait_for(not_live, what="the console shows the account is not live")
        assert waiting["state"] == "following"
        assert graph.served("/comments") == 0
        go_live(graph)
        found = await items(server, live_meeting, 2)
        await wait_for(lambda: graph.served("/comments") >= 2, what="a poll past the page")
    first = next(i for i in found if i["text"].startswith("Аким мырза"))
    assert first | {"channel": "instagram", "name": "aigerim.almaty",
                    "received_at": created_ms(rows[0]["timestamp"])} == first  # fmt: skip
    assert first["contact"] == "17841405309211844"
    assert reader.tally == {"added": 2}
    media_asks = [query for path, query, _ in graph.requests if path.endswith("/live_media")]
    assert media_asks[0]["fields"] == "id,media_type,media_product_type"
    comment_asks = [query for path, query, _ in graph.requests if path.endswith("/comments")]
    assert set(comment_asks[0]["fields"].split(",")) == {
        "id", "text", "timestamp", "username", "from",
    }  # fmt: skip


async def test_a_restart_adds_nothing_twice_and_the_next_broadcast_is_found(
    server: LiveServer, graph: FakeGraph, live_meeting: Meeting
) -> None:
    rows: list[dict[str, Any]] = graph_fixture("instagram_live_comments")["data"]
    graph.add(MEDIA, *rows)
    go_live(graph)
    async with reading(server, graph, live_meeting):
        await items(server, live_meeting, 2)
    graph.rewind = True  # Instagram serves the same page again
    asked = graph.served("/comments")
    async with reading(server, graph, live_meeting) as again:
        await wait_for(lambda: graph.served("/comments") >= asked + 2, what="two more polls")
        assert again.tally == {"repeated": 2}
        # The broadcast ends: its media is gone; a new one starts with a comment of its own.
        del graph.comments[MEDIA]
        graph.live[IG_USER] = []
        await wait_for(lambda: again.problem == NOT_LIVE, what="the end of the broadcast seen")
        graph.add("17969782069736999", dict(rows[0], id="17873440459149999", text="Екінші эфир"))
        go_live(graph, "17969782069736999")
        found = await items(server, live_meeting, 3)
    assert sorted(i["text"] for i in found) == sorted([rows[0]["text"], rows[1]["text"],
                                                       "Екінші эфир"])  # fmt: skip
    assert again.tally.get("added") == 1
