"""The Redis client every adapter shares, and the one error they raise: `StoreUnavailable`."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

P = ParamSpec("P")
T = TypeVar("T")
Redis = aioredis.Redis
SOCKET_TIMEOUT = 5.0


class StoreUnavailable(Exception):
    """Redis cannot be reached or refuses writes; nothing was acknowledged."""


def translated(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Redis's and the socket's errors, as `StoreUnavailable`: callers know only that one."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (RedisError, OSError) as error:
            raise StoreUnavailable(f"{type(error).__name__}: {error}") from error

    return wrapper


def connect(url: str, connections: int) -> Redis:
    """A client with a bounded pool: a reconnect storm waits for a connection instead of
    opening thousands of them. Blocking reads must stay well under the socket timeout."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=connections,
        timeout=SOCKET_TIMEOUT,
        decode_responses=True,
        health_check_interval=10,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=2.0,
    )
    return aioredis.Redis(connection_pool=pool)


async def disconnect(client: Redis) -> None:
    await client.aclose()
    await client.connection_pool.disconnect()
