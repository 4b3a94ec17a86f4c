"""What every `halyq` command shares: printing, and the store of the data folder or REDIS_URL.

Commands work whether or not a server runs on the same data folder: they join its embedded
Redis as guests, or start it for the time of the command.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from server.settings import Settings
from server.store import Store
from server.store.embedded import EmbeddedRedis
from server.usecases import UseCases

T = TypeVar("T")


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@contextmanager
def redis_url(settings: Settings) -> Iterator[str]:
    """Where the store connects: REDIS_URL, the Sentinels, the cluster (`store_url`), or else
    the data folder's embedded Redis, started (or joined) for the time of the block."""
    if settings.store_url():
        yield settings.store_url()
        return
    with EmbeddedRedis(settings.data_dir) as embedded:
        # Restarted whenever it dies, also under `halyq serve --workers N`, whose app processes
        # do not own it (the app supervises it itself when it runs in this process).
        embedded.supervise()
        yield embedded.url


def at(settings: Settings, url: str) -> Settings:
    """`settings` with the embedded Redis's `url` as REDIS_URL (for the app and its workers);
    unchanged when they name a Redis of their own."""
    return settings if settings.store_url() else settings.replace(redis_url=url)


def with_store(settings: Settings, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run(url: str) -> T:
        store = Store(url, settings.redis_prefix, replicas=settings.required_replicas())
        try:
            return await work(store)
        finally:
            await store.close()

    with redis_url(settings) as url:
        return asyncio.run(run(url))


def with_usecases(settings: Settings, work: Callable[[UseCases], Awaitable[T]]) -> T:
    """`work` with the use cases of the store (durability checked, as a server would)."""

    async def run(store: Store) -> T:
        await store.check_durability()
        return await work(UseCases(store=store, accept_nondurable=settings.accept_nondurable))

    return with_store(settings, run)
