"""FLT-4 in the CI tier: a reconnect storm shares its reads, and every viewer ends gap-free.

The full tier (10,000 viewers, memory across storms) is `bench/reliability/storm.py`.
"""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from moderation import Meeting
from server.fanout.audiences import VIEWER
from server.fanout.connection import Connection
from server.fanout.hub import Hub
from server.fanout.sweeper import Sweeper
from server.metrics import Metrics
from server.settings import Settings
from server.store import Store
from tests.helpers import LiveServer, PrivateRedis, catch_up, live_server, wait_for
from tests.server.test_faults import own_record
from tests.server.test_resume import post
from tests.viewers import Viewer, closing, gather_all, in_order_once, range_reads

pytestmark = pytest.mark.anyio

VIEWERS = 250


@pytest.fixture
async def storm(
    private_redis: PrivateRedis, tmp_path: Path
) -> AsyncIterator[tuple[Settings, Store, Meeting]]:
    async with own_record(
        private_redis,
        tmp_path / "data",
        max_connections_per_address=4 * VIEWERS,  # every viewer comes from 127.0.0.1 here
    ) as record:
        yield record


async def test_flt4_a_reconnect_storm_shares_its_reads_and_no_viewer_misses_anything(
    private_redis: PrivateRedis, storm: tuple[Settings, Store, Meeting]
) -> None:
    settings, store, meeting = storm
    viewers = [Viewer() for _ in range(VIEWERS)]
    await post(store, meeting, 5, "before")
    async with closing(viewers), live_server(settings) as first:
        await gather_all(*(v.open(first.url, meeting.id) for v in viewers))
        during = await post(store, meeting, 20, "during")
        # Viewers read more or less of it before the server goes: their resumes differ.
        await gather_all(
            *(v.read_until(has_read(during, i % 5 * 5)) for i, v in enumerate(viewers))
        )
    away = await post(store, meeting, 30, "away")  # while the server restarts
    async with closing(viewers), live_server(settings) as second:
        reads = range_reads(private_redis.url)
        await gather_all(*(v.open(second.url, meeting.id) for v in viewers))
        storm_reads = range_reads(private_redis.url) - reads
        live = await post(store, meeting, 3, "live")
        await gather_all(*(v.read_until(lambda v: v.has(live)) for v in viewers))
        metrics = second.services.metrics.registry.get_sample_value
        shared = metrics("halyq_resume_reads_total")
    for viewer in viewers:
        in_order_once(viewer.ids, [*during, *away, *live])
        assert (viewer.resumes, viewer.reloads) == (1, 0)
    # One read filled the feed's window for every resume; the hellos' snapshots were shared
    # too (each is a MULTI with one XREVRANGE). Not one read per viewer: 250 resumes.
    assert shared == 1
    assert storm_reads <= VIEWERS // 10, storm_reads


def has_read(ids: list[str], count: int) -> Callable[[Viewer], bool]:
    return lambda viewer: len(set(ids) & set(viewer.ids)) >= count


async def test_a_resume_from_past_what_this_feed_has_read_is_checked_against_the_record(
    store: Store, live_meeting: Meeting
) -> None:
    """Another process may have read further: its viewers' `after` is past this feed."""
    hub, sent = Hub(store, Metrics()), []

    async def send(text: str) -> None:
        sent.append(text)

    joined = await hub.join(live_meeting.id, Connection(send, 1 << 20, lambda: None), VIEWER)
    await hub.close()  # the reader stops: what comes next is past this feed's position
    (newer,) = await post(store, live_meeting, 1, "newer")
    assert await joined.since(newer, 10) == []  # the client has it: nothing to send
    assert await joined.since("9999999999999-0", 10) is None  # no such event: reload
    assert joined.position < newer


async def test_a_closed_viewer_socket_leaves_no_cycle_behind(
    server: LiveServer, live_meeting: Meeting
) -> None:
    """Memory after a storm (issue 8): a socket's objects go when it closes, by reference
    counting, not at a full collection that `halyq serve` seldom runs. Either way of closing:
    by the client, or by a connection simply lost."""
    hub = server.services.hub
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        async with server.socket(live_meeting.id) as ws:
            await catch_up(ws)
        lost = Viewer()
        await lost.open(server.url, live_meeting.id)
        lost.drop()
        await wait_for(lambda: hub.connections == 0, what="both sockets gone")
        gc.collect()
        left = {type(o).__qualname__ for o in gc.garbage if type(o).__module__ in OURS}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert left == set()


OURS = {"server.web.viewer", "server.fanout.connection", "server.fanout.hub",
        "starlette.websockets", "websockets.server"}  # fmt: skip


async def test_a_full_collection_follows_a_storm_once_it_has_passed() -> None:
    sweeper = Sweeper(after=3, quiet=0.05)
    for _ in range(3):
        sweeper.left()
    until = time.monotonic() + 0.2

    def churning() -> bool:  # connections keep coming for a while: no sweep meanwhile
        sweeper.moved()
        return time.monotonic() > until

    await wait_for(churning, what="the churn")
    assert sweeper.sweeps == 0
    await wait_for(lambda: sweeper.sweeps == 1, what="the sweep")
    assert sweeper.gone == 0
    for _ in range(3):
        sweeper.left()
    sweeper.stop()  # the hub closes: no sweep pending any more
    assert (sweeper.gone, sweeper.sweeps) == (3, 1)
