"""A client that follows the primary the Sentinels name (issue 15): `REDIS_SENTINELS` and
`REDIS_SENTINEL_MASTER`, as `redis+sentinel://host:port,host:port/master`.

It keeps what `client.connect` gives a plain URL: a bounded pool that makes a reconnect storm
wait for a connection, the same timeouts and retries, decoded replies, no CLIENT SETINFO, and
every connection remembered (`close_left_open`). What changes is where a connection goes: each
new one asks the Sentinels for the primary, so after a failover the connections that fail (the
old primary is gone) are made again to the new one. A connection that finds its server demoted
to a replica (a READONLY reply) is dropped too, and its command fails as a link failure.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import (
    MasterNotFoundError,
    Sentinel,
    SentinelConnectionPool,
    SentinelManagedConnection,
)
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as LinkError
from redis.exceptions import RedisError

from server.store import client

SCHEME = "redis+sentinel"
SENTINEL_TIMEOUT = 0.5  # a Sentinel that takes longer is skipped for the next one


class SentinelAddressError(ValueError):
    """A `redis+sentinel://` URL without Sentinels or without the primary's name."""


def parse(url: str) -> tuple[list[tuple[str, int]], str]:
    """The Sentinels' (host, port) and the name of the primary they monitor, from `url`."""
    parts = urlsplit(url)
    master = parts.path.strip("/")
    if parts.scheme != SCHEME or not parts.netloc or not master:
        raise SentinelAddressError(f"not a {SCHEME}://host:port,host:port/master URL: {url!r}")
    sentinels = []
    for address in parts.netloc.split(","):
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise SentinelAddressError(f"{address!r} is not a Sentinel's host:port")
        sentinels.append((host.strip("[]"), int(port)))
    return sentinels, master


class _Sentinels(Sentinel):
    """The Sentinels, asked all at once: right after a failover, one that has not heard of it
    yet still names the old primary, and once that one is back (restarted as a replica) it
    would be taken for the primary. The most recent configuration (the highest
    `config-epoch`) wins."""

    async def discover_master(self, service_name: str) -> tuple[str, int]:
        newest: tuple[int, tuple[str, int]] | None = None
        for sentinel in self.sentinels:
            try:
                masters: Any = await sentinel.sentinel_masters()
            except (RedisError, OSError):
                continue
            state = masters.get(service_name)
            if state and self.check_master_state(state, service_name):
                epoch = int(state.get("config-epoch", 0))
                if newest is None or epoch > newest[0]:
                    newest = (epoch, (str(state["ip"]), int(state["port"])))
        if newest is None:
            raise MasterNotFoundError(f"no Sentinel names a primary for {service_name!r}")
        return newest[1]


class _Connection(SentinelManagedConnection):
    """A connection to the primary that makes sure it is one (ROLE) when it connects: a
    server that is a replica now is never written to or read from as the record. (Halyq asks
    the Sentinels for the primary only, never for a replica.)"""

    async def connect_to(self, address: tuple[str, int]) -> None:
        await super().connect_to(address)  # type: ignore[no-untyped-call]
        await self.send_command("ROLE", check_health=False)
        role = await self.read_response()
        if str(role[0]) != "master":
            await self.disconnect()
            raise LinkError(f"{address[0]}:{address[1]} is not the primary (it is a {role[0]})")


class _Pool(SentinelConnectionPool, aioredis.BlockingConnectionPool):
    """The Sentinels' pool of connections to the primary, bounded and blocking like
    `client.connect`'s, remembering its connections; closing it closes the Sentinels' too."""

    def make_connection(self) -> Any:
        return client.made(super().make_connection())  # type: ignore[no-untyped-call]

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        if inuse_connections:  # closing for good (a failover only drops the idle ones)
            for sentinel in self.sentinel_manager.sentinels:
                await sentinel.connection_pool.disconnect()


def connect(url: str, connections: int) -> client.Redis:
    """A client of the primary the Sentinels at `url` name, with at most `connections`."""
    sentinels, master = parse(url)
    manager = _Sentinels(  # type: ignore[no-untyped-call]
        sentinels,
        socket_timeout=SENTINEL_TIMEOUT,
        sentinel_kwargs={
            "socket_timeout": SENTINEL_TIMEOUT,
            "socket_connect_timeout": SENTINEL_TIMEOUT,
            "decode_responses": True,
            "driver_info": None,
            "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=client.RETRY_CAP), 1),
        },
    )
    pool = _Pool(  # type: ignore[no-untyped-call]
        master,
        manager,
        connection_class=_Connection,
        max_connections=connections,
        timeout=client.SOCKET_TIMEOUT,
        decode_responses=True,
        health_check_interval=10,
        socket_timeout=client.SOCKET_TIMEOUT,
        socket_connect_timeout=2.0,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=client.RETRY_CAP), client.RETRIES),
        driver_info=None,
    )
    return aioredis.Redis(connection_pool=pool)
