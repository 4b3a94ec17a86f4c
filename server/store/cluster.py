"""A Redis Cluster as the store (issue 15): `redis+cluster://host:port,host:port` names some of
its nodes, and the client learns the rest (and which node owns which slot) from them.

Every key of a meeting shares the hash tag `{meeting id}`, and every global key that a write
touches together with another shares one too (`server/store/keys.py`): no script, transaction or
multi-key command ever spans two slots, so each runs whole on the node that owns its slot."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import MaxConnectionsError

if TYPE_CHECKING:
    from server.store.client import Redis

SCHEME = "redis+cluster"
SOCKET_TIMEOUT = 5.0
CONNECT_TIMEOUT = 2.0
RETRIES = 3
RETRY_CAP = 0.25
# A node's connections: `connections` for commands, which wait for one of them; as many again
# for what takes a connection directly (pipelines, `call_once`), which never waits.
HEADROOM = 2


class _Cluster(RedisCluster):
    """A cluster client whose commands wait (up to `SOCKET_TIMEOUT`) for a free connection to
    their node, as the bounded pool of a single Redis makes them wait: redis-py's cluster nodes
    refuse at once when all theirs are taken, and a process has one blocking read per live
    meeting on its readers' client (`server/fanout/hub.py`), more of them than connections."""

    def __init__(self, *args: Any, commands: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._commands = commands
        self._gates: dict[str, asyncio.Semaphore] = {}

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """The first commands wait for the slot map: redis-py's own first command loads it while
        others it lets run on the start-up nodes' connections, which the loading then closes
        under them (seen with 40 reads at once: "Connection closed by server")."""
        await self.initialize()  # at once when loaded; one loads it, the others wait
        return await super().execute_command(*args, **kwargs)

    async def _determine_slot(self, *args: Any) -> int:
        """A stream read's slot from its first stream's key, here: redis-py asks a node
        (COMMAND GETKEYS) for every XREAD, a round trip more on a connection outside the
        bound."""
        if str(args[0]).upper() in ("XREAD", "XREADGROUP"):
            words = [arg.upper() if isinstance(arg, bytes) else arg for arg in args]
            return int(self.keyslot(args[words.index(b"STREAMS") + 1]))  # redis-py's word
        return int(await super()._determine_slot(*args))

    async def _execute_command(self, target_node: ClusterNode, *args: Any, **kwargs: Any) -> Any:
        gate = self._gates.setdefault(target_node.name, asyncio.Semaphore(self._commands))
        try:
            async with asyncio.timeout(SOCKET_TIMEOUT):
                await gate.acquire()
        except TimeoutError as error:
            raise MaxConnectionsError(
                f"no connection to {target_node.name} came free in {SOCKET_TIMEOUT:.0f} s"
            ) from error
        try:
            return await super()._execute_command(target_node, *args, **kwargs)
        finally:
            gate.release()


def nodes_of(url: str) -> list[tuple[str, int]]:
    """The (host, port) pairs a `redis+cluster://` URL names; a `ValueError` names a bad one."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME or not parts.netloc:
        raise ValueError(f"not a cluster URL: {url!r} (redis+cluster://host:port,host:port)")
    nodes = []
    for address in parts.netloc.split(","):
        host, _, port = address.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"REDIS_CLUSTER_NODES: {address!r} is not host:port")
        nodes.append((host, int(port)))
    return nodes


def connect(url: str, connections: int) -> Redis:
    """A cluster client whose commands share `connections` connections to each node (see
    `_Cluster`).

    A command goes to the node owning its first key's slot; a MOVED or ASK reply (a resharding)
    refreshes the slot map and sends it again there, which is safe because the node that answered
    MOVED did not run it. Writes that must never be sent twice go through `call_once`
    (`server/store/client.py`), which follows a MOVED the same way and reports an ASK as not
    recorded."""
    client = _Cluster(
        startup_nodes=[ClusterNode(host, port) for host, port in nodes_of(url)],
        commands=connections,
        decode_responses=True,
        max_connections=connections * HEADROOM,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=RETRY_CAP), RETRIES),
        # No CLIENT SETINFO on connecting: a round trip more before a new connection's first
        # command (the same choice as for a single Redis, FLT-2).
        driver_info=None,
    )
    # The adapters call it as they call a single Redis's client: the commands they use route
    # by key (the only difference, `call_once`'s, is handled there).
    return cast("Redis", client)
