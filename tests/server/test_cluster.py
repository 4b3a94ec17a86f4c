"""Halyq on a Redis Cluster (issue 15): three valkey-server masters on loopback, a real server
with REDIS_CLUSTER_NODES, thirty meetings with viewers, comments and consoles; every key of a
meeting in one slot, on the node owning that slot, and the meetings spread over every shard."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.auth.accounts import Role
from server.settings import Settings
from server.store import Store, Write
from server.store.client import Attempt, first_key
from server.store.cluster import HEADROOM, connect, nodes_of
from server.store.keys import Keys
from server.store.record import Written
from server.usecases import UseCases
from server.usecases import create_meeting as create
from tests.clusters import Cluster, running_cluster
from tests.conftest import meeting_command
from tests.consoles import Console, ask, console, open_session
from tests.helpers import (
    LiveServer,
    catch_up,
    comment,
    live_server,
    recv_until,
    unique_prefix,
)
from tests.server.test_auth import add_user, login

pytestmark = pytest.mark.anyio

MEETINGS = 30
ADMIN = {"Authorization": "Bearer test-admin-token"}
NEW = {
    "title": "Встреча акима Турксибского района",
    "akim": "Асхат Нұрланұлы",
    "level": "local",
    "territory": "Алматы, Түрксіб ауданы",
    "planned_minutes": 90,
    "slow_mode_seconds": 0,
}
MEETING_KEY = re.compile(r"m:\{([^}]+)\}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running


def cluster_settings(cluster: Cluster, tmp_path: Path) -> Settings:
    return Settings(
        redis_cluster_nodes=tuple(cluster.nodes.split(",")),
        redis_prefix=unique_prefix(),
        data_dir=tmp_path / "data",
        admin_token="test-admin-token",
    )


async def one_meeting(server: LiveServer, meeting_id: str, session: str) -> None:
    """Two viewers and a console on one meeting: a comment acked and seen by the other viewer,
    a question in the console's hello, approved there and seen by the viewers."""
    async with server.socket(meeting_id) as first, server.socket(meeting_id) as second:
        await catch_up(first)
        await catch_up(second)
        await first.send(comment(f"c-{meeting_id}", f"Сәлем из {meeting_id}"))
        ack, _ = await recv_until(first, lambda f: f.get("client_msg_id") == f"c-{meeting_id}")
        assert ack["type"] == "ack", ack
        await recv_until(second, lambda f: f["type"] == "events" and any(
            e.get("text") == f"Сәлем из {meeting_id}" for e in f["events"]))  # fmt: skip
        question = await ask(first, f"q-{meeting_id}", f"Когда отремонтируют дорогу {meeting_id}?")
        async with console(server.url, meeting_id, session) as ws:
            desk = await Console(ws).start()
            assert question in desk.items, desk.hello  # in its hello: acked before it opened
            answer = await desk.act("approve", question)
            assert (answer["type"], answer["kind"]) == ("result", "question.approved"), answer
        await recv_until(second, lambda f: f["type"] == "events" and any(
            e["kind"] == "question.approved" for e in f["events"]))  # fmt: skip


def meeting_keys(cluster: Cluster, prefix: str) -> dict[str, list[tuple[str, int]]]:
    """Every key of every meeting under `prefix`, with the port of the master holding it."""
    found: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for master in cluster.masters:
        for key in master.keys(f"{prefix}*"):
            matched = MEETING_KEY.match(key.removeprefix(prefix))
            if matched:
                found[matched[1]].append((key, master.port))
    return found


async def test_thirty_meetings_spread_over_three_shards_with_viewers_and_consoles(
    cluster: Cluster, tmp_path: Path, fast_hashing: None
) -> None:
    settings = cluster_settings(cluster, tmp_path)
    ids = [f"cl-{n:02d}" for n in range(MEETINGS)]
    async with live_server(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        for meeting_id in ids:
            created = await http.post("/api/meetings", json=NEW | {"id": meeting_id},
                                      headers=ADMIN)  # fmt: skip
            assert created.status_code == 201, created.text
            started = await http.post(f"/api/meetings/{meeting_id}/start", headers=ADMIN)
            assert started.status_code == 200, started.text
        session = await open_session(server.services.store, "aliya", Role.MODERATOR)
        await asyncio.gather(*(one_meeting(server, m, session) for m in ids))

        listed = (await http.get("/api/meetings")).json()["meetings"]
        assert sorted(m["id"] for m in listed) == ids
        index = (await http.get("/")).text
        assert all(f"/m/{m}" in index for m in ids), index

        # Staff sign in (their sessions live on one shard) and open a staff page.
        await add_user(server.services, "bolat", Role.ADMIN)
        assert (await login(http, "bolat")).status_code in (302, 303)
        page = await http.get("/console")
        assert page.status_code == 200, page.text
        assert "cl-00" in page.text

    # Every key of a meeting is in one slot, on the master owning that slot.
    keys = meeting_keys(cluster, settings.redis_prefix)
    assert sorted(keys) == ids
    shards: dict[int, set[str]] = defaultdict(set)
    for meeting_id, held in keys.items():
        slots = {cluster.slot(key) for key, _ in held}
        assert len(slots) == 1, (meeting_id, held)
        (slot,) = slots
        assert {port for _, port in held} == {cluster.owner(slot).port}, (meeting_id, held)
        assert len(held) > 5, held  # the record, the items, the seen ids, the meeting...
        shards[cluster.owner(slot).port].add(meeting_id)
    assert set(shards) == {m.port for m in cluster.masters}, shards  # each holds some


async def test_a_write_whose_slot_moved_is_sent_once_to_its_new_node(cluster: Cluster) -> None:
    """A MOVED reply (the slot was resharded after the client learnt the slot map) means the
    node ran nothing: `call_once` sends the write to the slot's new owner, where it lands once."""
    prefix = unique_prefix()
    key = Keys(prefix).seen("moved")
    slot = cluster.slot(key)
    store = Store(f"redis+cluster://{cluster.nodes}", prefix)
    try:
        await store.ping()  # the client learns the slot map now
        before = cluster.owner(slot)
        after = next(m for m in cluster.masters if m is not before)
        cluster.move_empty_slot(slot, after)
        write = Write()
        write.hincrby(key, "n", 1)
        attempt = Attempt()
        assert isinstance(await store.record.run(write, attempt), Written)
        assert attempt.sent
        assert after.ask("HGET", key, "n") == "1"  # once, on the new owner
        assert before.keys(f"{prefix}*") == []
        write = Write()
        write.hincrby(key, "n", 1)
        assert isinstance(await store.record.run(write, Attempt()), Written)
        assert after.ask("HGET", key, "n") == "2"  # the client's map learnt the move
    finally:
        await store.close()


async def test_blocking_reads_beyond_a_nodes_connections_wait_for_one(cluster: Cluster) -> None:
    """A process reads every live meeting with a blocking XREAD on its readers' client: more
    reads at once than a node's connections wait for one, as with one Redis, instead of failing
    at once; and a burst as the client's very first commands waits for its slot map."""
    client = connect(f"redis+cluster://{cluster.nodes}", 2)  # 2 for commands, 4 in all
    waiting = 2 * HEADROOM + 4
    key = Keys(unique_prefix()).stream("busy")
    try:
        reads = [client.xread({key: "$"}, block=100) for _ in range(waiting)]
        assert await asyncio.gather(*reads) == [[]] * waiting
    finally:
        await client.aclose()


async def test_the_breaker_probes_a_cluster_on_a_connection_of_its_own(cluster: Cluster) -> None:
    """FLT-2 on a cluster: once the breaker opened, a submission's probe asks a node the time on a
    fresh connection, and its answer closes the breaker."""
    store = Store(f"redis+cluster://{cluster.nodes}", unique_prefix())
    breaker = store.record.breaker
    try:
        for _ in range(3):
            breaker.failed("a test's timeouts")
        assert breaker.is_open
        await breaker.admit()  # the probe answered within its wait: the write may go
        assert not breaker.is_open
    finally:
        await store.close()


def test_a_cluster_url_names_host_port_pairs() -> None:
    assert nodes_of("redis+cluster://127.0.0.1:7000,[::1]:7001") == [
        ("127.0.0.1", 7000),
        ("[::1]", 7001),
    ]
    for bad in ("redis://127.0.0.1:7000", "redis+cluster://", "redis+cluster://host"):
        with pytest.raises(ValueError, match=r"cluster|host:port"):
            nodes_of(bad)


def test_a_write_is_routed_by_its_first_key() -> None:
    assert first_key(("EVALSHA", "abc", 2, "k1", "k2", "arg")) == "k1"
    assert first_key(("EVAL", "return 1", 1, "k", "arg")) == "k"
    assert first_key(("HSET", "k", "f", "v")) == "k"


async def test_a_meeting_the_index_missed_is_listed_again_by_the_repair(store: Store) -> None:
    """Single Redis: a process that stopped between a meeting's write and its index entry
    leaves it out of the list until `repair` (run at every start) finds it by a SCAN."""
    listed = await create(UseCases(store=store), meeting_command(), meeting_id="listed-1")
    write = Write()
    store.meetings.create(write, dataclasses.replace(listed, id="orphan-1"))
    assert isinstance(await store.record.run(write), Written)
    assert [m.id for m in await store.meetings.all()] == ["listed-1"]  # the index missed it
    assert await store.meetings.repair() == ["orphan-1"]
    assert sorted(m.id for m in await store.meetings.all()) == ["listed-1", "orphan-1"]
    assert await store.meetings.repair() == []  # nothing more to mend
