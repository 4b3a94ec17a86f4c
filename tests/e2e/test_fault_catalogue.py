"""FLT-2, FLT-3 and FLT-5 of the reliability catalogue, small: a slow, flaky Redis link; a node
killed, its clients resuming on the other; a node partitioned from Redis. Real `halyq serve`
processes, real clients, the fault proxy of tests/faultproxy.py. The catalogue's numbers are in
bench/reliability/faults.py, which runs the same scenarios at full size.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bench.reliability.faults import (
    Bed,
    FlakyLink,
    NodeDown,
    Partition,
    flaky_link,
    node_down,
    partition,
)
from moderation import Meeting
from server.settings import Settings
from tests.faultproxy import FaultProxy, Toxics, Upstream
from tests.helpers import TIMEOUT, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

PING = b"*1\r\n$4\r\nPING\r\n"
# Test-tier scales: each scenario well under 30 s, the three about 45 s together. Latency
# criteria are relaxed 2x in the CI tier only, as reliability.md's rig says (a loaded CI core);
# the full tier in bench/ holds the catalogue's 2.5 s.
FLT2 = FlakyLink(duration=8, rate=16, viewers=4, latency=0.1, jitter=0.15, reset_rate=0.02,
                 drain=10, settle=10, ack_p99=5.0, p99_from_writing=False)  # fmt: skip
FLT3 = NodeDown(viewers=16, commenters=6, comments=12, interval=0.5, drain=20)
FLT5 = Partition(viewers=8, commenters=4, interval=0.5, partition=7, partition_cap=10, drain=20)


def bed(settings: Settings, meeting: Meeting, workdir: Path) -> Bed:
    return Bed(settings.redis_url, settings.redis_prefix, meeting.id, workdir)


async def test_flt2_a_slow_flaky_redis_link_loses_doubles_and_leaks_nothing(
    settings: Settings, live_meeting: Meeting, tmp_path: Path
) -> None:
    """FLT-2: latency of 200-500 ms a round trip, resets and a 64 KiB/s cap: every comment is
    acked once in the end (idempotent resends), none answered `rejected` is in the record,
    ack p99 <= 2.5 s, viewers gap-free, and the node's sockets come back to their baseline."""
    result = await flaky_link(bed(settings, live_meeting, tmp_path), FLT2)
    assert not result.failures, result.explain()
    assert result.figures["record"]["acked"] >= FLT2.rate * FLT2.duration / 2


async def test_flt3_a_killed_node_s_clients_resume_on_the_other_exactly_once(
    settings: Settings, live_meeting: Meeting, tmp_path: Path
) -> None:
    """FLT-3: kill -9 of node A; its viewers and commenters reconnect to B with full-jitter
    backoff within 15 s, every comment is acked exactly once, every viewer is gap-free."""
    result = await node_down(bed(settings, live_meeting, tmp_path), FLT3)
    assert not result.failures, result.explain()
    assert result.figures["viewers_on_a"] == FLT3.viewers // 2
    assert result.figures["record"]["acked"] == FLT3.commenters * FLT3.comments


async def test_flt5_a_node_cut_off_from_redis_stops_acking_and_says_so(
    settings: Settings, live_meeting: Meeting, tmp_path: Path
) -> None:
    """FLT-5: node B's link to Redis goes black: within 3 s B answers `retry` or `unavailable`
    and acks nothing, and its viewers are told `degraded` (the status frame); node A keeps
    acking and serving; healed, B's viewers are told `ok` and catch up gap-free within 5 s."""
    result = await partition(bed(settings, live_meeting, tmp_path), FLT5)
    assert not result.failures, result.explain()


# The proxy itself: each toxic does what it says (else the scenarios above prove nothing)


async def ping(port: int, timeout: float = TIMEOUT) -> float:
    """One PING through the proxy; the seconds its PONG took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        began = time.monotonic()
        writer.write(PING)
        await writer.drain()
        assert await asyncio.wait_for(reader.readline(), timeout) == b"+PONG\r\n"
        return time.monotonic() - began
    finally:
        writer.close()


async def test_the_fault_proxy_applies_each_toxic_and_heals(redis_url: str) -> None:
    async with FaultProxy(redis_url, seed=1) as proxy:
        await ping(proxy.port)
        await proxy.set(latency=0.15)
        assert await ping(proxy.port) >= 0.3  # each way
        await proxy.set(latency=0.0, bandwidth=1000)
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        began = time.monotonic()
        writer.write(b"*2\r\n$4\r\nECHO\r\n$400\r\n" + b"x" * 400 + b"\r\n")
        await reader.readexactly(len(b"$400\r\n") + 402)
        assert time.monotonic() - began >= 0.6  # ~420 bytes each way at 1,000 bytes a second
        writer.close()
        await proxy.set(bandwidth=0, reset_rate=1.0)
        with pytest.raises(ConnectionError):
            await ping(proxy.port)
        assert proxy.stats.resets == 1
        await proxy.set(reset_rate=0.0, blackhole=True)
        held = asyncio.get_running_loop().create_task(ping(proxy.port))
        await wait_for(lambda: proxy.open_links >= 1, what="a held connection")
        assert not held.done()
        await proxy.set(blackhole=False)  # healed: what was held goes through
        await held
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        await wait_for(lambda: proxy.stats.accepted == 6, what="the connection accepted")
        await proxy.set(down=True)  # closes the open connection, refuses new ones
        assert await closed(reader)
        writer.close()
        with pytest.raises(ConnectionRefusedError):
            await ping(proxy.port)
        assert await proxy.heal() == Toxics()
        await ping(proxy.port)
        assert proxy.stats.closed_by_down >= 1
        assert f"127.0.0.1:{proxy.port}" in proxy.url


async def closed(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), TIMEOUT) == b""
    except ConnectionResetError:
        return True


def test_the_fault_proxy_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="probability"):
        Toxics(reset_rate=2.0)
    with pytest.raises(ValueError, match="negative"):
        Toxics(latency=-1.0)
    with pytest.raises(ValueError, match="forwards to"):
        Upstream.from_url("rediss://example.kz:6380")
    assert Upstream.from_url("redis://127.0.0.1:7000") == Upstream(host="127.0.0.1", port=7000)
