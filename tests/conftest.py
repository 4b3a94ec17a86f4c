"""Fixtures: one real embedded Redis for the session, a fresh key prefix and app per test; a
Redis of its own and cheap password hashing for the tests that ask for them."""

from __future__ import annotations

import asyncio
import asyncio.runners
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from moderation import AkimLevel, CreateMeeting, Meeting, StartMeeting
from server.auth import accounts
from server.settings import Settings
from server.store import Store
from server.store.client import close_left_open
from server.store.embedded import EmbeddedRedis
from server.usecases import UseCases, change_meeting, create_meeting
from tests import fakes
from tests.fakes import Providers, fake_providers
from tests.helpers import LiveServer, PrivateRedis, live_server, unique_prefix

STUCK_TASK_TIMEOUT = 10.0
# Cheap hashing keeps the suite fast; production keeps argon2-cffi's defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _cancel_all_tasks_bounded(loop: asyncio.AbstractEventLoop) -> None:
    """asyncio's own `_cancel_all_tasks` (run when anyio's runner closes), but bounded.

    A task that swallows its cancellation (seen once in CI, in teardown after
    tests/server/test_console.py; suspected: a redis-py pool wait) made the whole suite hang.
    Such a task is reported on stderr with its stack and left behind instead. This is a known
    open defect to find, not a fix (see the issue 8 closing note).
    """
    tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in tasks:
        task.cancel()
    done: set[asyncio.Task[object]] = set()
    pending: set[asyncio.Task[object]] = set()
    if tasks:
        done, pending = loop.run_until_complete(asyncio.wait(tasks, timeout=STUCK_TASK_TIMEOUT))
    for task in pending:
        sys.stderr.write(f"\nSTUCK TASK left behind at loop close: {task!r}\n")
        task.print_stack(file=sys.stderr)
        asyncio.tasks._unregister_task(task)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {
                    "message": "unhandled exception during shutdown",
                    "exception": task.exception(),
                    "task": task,
                }
            )

    # A Redis connection still open now would be closed by the garbage collector during some
    # later test, failing it with warnings that are not its own (seen in CI after
    # tests/e2e/test_overlays_browser.py): closed here and named, a known open defect (see
    # the issue 12 closing note).
    for name in close_left_open(loop):
        sys.stderr.write(f"\nREDIS CONNECTION left open at loop close: {name}\n")
    loop.run_until_complete(asyncio.sleep(0))  # the transports' close callbacks run


asyncio.runners._cancel_all_tasks = _cancel_all_tasks_bounded  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same embedded redis-server the product uses (or TEST_REDIS_URL); never skipped."""
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        yield given
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as redis:
        yield redis.url


@pytest.fixture
def settings(redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=redis_url,
        redis_prefix=unique_prefix(),
        data_dir=tmp_path / "data",
        admin_token="test-admin-token",
    )


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    store = Store(settings.redis_url, settings.redis_prefix)
    await store.check_durability()
    yield store
    await store.close()


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with live_server(settings) as live:
        yield live


@pytest.fixture
async def providers() -> AsyncIterator[Providers]:
    """The fake providers answers to senders go to (issue 10; `tests/fakes.py`)."""
    async with fake_providers(twilio_token=fakes.TWILIO_AUTH_TOKEN) as fake:
        yield fake


@pytest.fixture
async def webhooks(settings: Settings, providers: Providers) -> AsyncIterator[LiveServer]:
    """A server with every webhook on and its answers going to the fake providers."""
    async with live_server(fakes.incoming(providers.settings(settings))) as live:
        yield live


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis of this test's own, to stop or break: its record and its command counts are this
    test's alone."""
    redis = PrivateRedis(tmp_path / "redis").start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id made cheap through accounts.py's hook for tests, for the tests that sign in."""
    monkeypatch.setattr(accounts, "HASHER", FAST_HASHER)


def meeting_command(**changes: object) -> CreateMeeting:
    values: dict[str, object] = {
        "title": "Встреча акима Алмалинского района с населением",
        "akim": "Ерлан Сапаров",
        "level": AkimLevel.LOCAL,
        "territory": "Алматы, Алмалы ауданы",
        "planned_minutes": 120,
        "slow_mode_seconds": 0.0,
    }
    values.update(changes)
    return CreateMeeting(**values)  # type: ignore[arg-type]


@pytest.fixture
async def live_meeting(store: Store) -> Meeting:
    """A live meeting with slow mode off (tests that need slow mode make their own)."""
    meeting = await create_meeting(UseCases(store=store), meeting_command())
    return await change_meeting(UseCases(store=store), meeting.id, StartMeeting())


# `make test` runs the suite on two processes, then the `serial` tests alone (see the Makefile).
# Serial: every process and browser test (they start servers, Redis and Chromium, and wait on
# them in real time), the server tests that time fan-out, slow consumers, overload answers and
# storms, and the held-out duplicate scores (their figures go to the terminal, which a worker's
# output never reaches). Beside another worker's load on a 2-core machine the timed ones
# measure that load: in two-process runs a slow console was never cut off, a short scenario
# saw 295 of 300 comments acked, and native HLS playback stalled.
SERIAL_FOLDERS = ("tests/e2e/",)
SERIAL_FILES = frozenset(
    {
        "tests/server/test_hub.py",
        "tests/server/test_slow_consumer.py",
        "tests/server/test_final_rejections.py",
        "tests/server/test_storm.py",
        "tests/server/test_faults.py",
        "tests/server/test_admission_limits.py",
        "tests/server/test_sentinel.py",  # kills Redis primaries during bursts (issue 15)
        "tests/server/test_cluster.py",  # three valkey-server processes (issue 15)
        "tests/server/test_drain.py",  # server processes stopped with SIGTERM (issue 15)
        "tests/moderation/test_duplicate_heldout.py",
        "tests/server/test_broadcasts.py",  # ffmpeg processes, some killed (issue 16)
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(str(config.rootpath))
    for item in items:
        path = Path(str(item.path)).relative_to(root).as_posix()
        if path.startswith(SERIAL_FOLDERS) or path in SERIAL_FILES:
            item.add_marker(pytest.mark.serial)
