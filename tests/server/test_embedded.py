"""The embedded Redis: durable settings, found again after a restart, shared with guests."""

from __future__ import annotations

from pathlib import Path

import httpx
import psutil
import pytest

from server.settings import Settings
from server.store import Durability, Store
from server.store.embedded import EmbeddedRedis, EmbeddedRedisError, socket_path
from server.usecases import UseCases, create_meeting
from tests.conftest import meeting_command
from tests.helpers import live_server

pytestmark = pytest.mark.anyio


async def test_a_restart_on_the_same_folder_finds_everything_again(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as redis:
        assert redis.owned
        store = Store(redis.url)
        assert (await store.check_durability()).mode is Durability.ALWAYS
        created = await create_meeting(
            UseCases(store=store), meeting_command(), meeting_id="kept-meeting"
        )
        await store.close()
    assert (tmp_path / "appendonly.aof").exists()
    with EmbeddedRedis(tmp_path) as redis:
        store = Store(redis.url)
        assert await store.meetings.get("kept-meeting") == created
        await store.close()


async def test_a_second_process_joins_the_running_server_as_a_guest(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as owner:
        with EmbeddedRedis(tmp_path) as guest:
            assert not guest.owned
            assert guest.url == owner.url
        store = Store(owner.url)  # the guest leaving did not stop the owner's server
        await store.ping()
        await store.close()


def test_a_deep_data_folder_gets_a_short_socket_path(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["very-long-folder-name"] * 8)
    path = socket_path(deep)
    assert len(str(path)) <= 100
    assert path == socket_path(deep)  # every process finds the same one
    assert socket_path(tmp_path) == tmp_path.resolve() / "redis.sock"


def redis_children() -> list[str]:
    """The redis-servers this test process has running."""
    return [p.name() for p in psutil.Process().children(recursive=True) if "redis" in p.name()]


async def test_without_redis_url_the_server_runs_its_own_durable_redis_and_stops_it(
    settings: Settings,
) -> None:
    """`halyq serve` with no REDIS_URL: the app starts the embedded Redis in HALYQ_DATA_DIR,
    acknowledges only durable appends there, and leaves no redis-server behind on shutdown."""
    before = redis_children()
    own = settings.replace(redis_url="")
    async with live_server(own) as server, httpx.AsyncClient(base_url=server.url) as http:
        ready = await http.get("/readyz")
        assert (ready.status_code, ready.json()["durability"]) == (200, "appendfsync-always")
        admin = {"Authorization": f"Bearer {own.admin_token}"}
        body = {"id": "own-redis", "title": "Кездесу", "akim": "Әкім", "level": "local",
                "territory": "Алматы", "planned_minutes": 60}  # fmt: skip
        assert (await http.post("/api/meetings", json=body, headers=admin)).status_code == 201
        assert len(redis_children()) == len(before) + 1
    assert redis_children() == before
    assert (own.data_dir / "appendonly.aof").exists()
    with EmbeddedRedis(own.data_dir) as redis:
        assert redis.owned  # nobody else holds the folder
        store = Store(redis.url, own.redis_prefix)
        found = await store.meetings.get("own-redis")
        await store.close()
    assert found is not None
    assert found.title == "Кездесу"


def test_a_folder_whose_redis_died_under_its_owner_is_not_opened_twice(tmp_path: Path) -> None:
    """The owner (a `halyq serve`) still holds the folder but its redis-server is gone: another
    command must not start a second server on the same files; it says so and gives up."""
    owner = EmbeddedRedis(tmp_path).start()
    try:
        assert owner.process is not None
        owner.process.kill()  # our own child, by its PID
        owner.process.wait()
        with pytest.raises(EmbeddedRedisError, match="is locked but does not answer"):
            EmbeddedRedis(tmp_path, timeout=0.3).start()
    finally:
        owner.stop()
    with EmbeddedRedis(tmp_path) as again:  # once the owner let go, the folder opens again
        assert again.owned


def test_a_redis_server_that_exits_at_start_is_reported_with_its_log(tmp_path: Path) -> None:
    (tmp_path / "appendonly.aof").write_text("this is not an append-only file\n")
    redis = EmbeddedRedis(tmp_path)
    try:
        with pytest.raises(EmbeddedRedisError) as failed:
            redis.start()
    finally:
        redis.stop()
    log = tmp_path / "redis.log"
    assert str(failed.value) == f"redis-server exited at start; see {log.resolve()}"
    assert "Bad file format reading the append only file" in log.read_text()


def test_a_redis_server_that_does_not_answer_in_time_is_stopped(tmp_path: Path) -> None:
    before = redis_children()
    with pytest.raises(EmbeddedRedisError, match="did not answer within"):
        EmbeddedRedis(tmp_path, timeout=0.0).start()
    assert redis_children() == before  # stopped, not left to run unseen


def test_a_failed_start_does_not_keep_the_folder_locked(tmp_path: Path) -> None:
    aof = tmp_path / "appendonly.aof"
    aof.write_text("this is not an append-only file\n")
    with pytest.raises(EmbeddedRedisError, match="exited at start"), EmbeddedRedis(tmp_path):
        pass
    aof.unlink()
    with EmbeddedRedis(tmp_path, timeout=2) as redis:
        assert redis.owned
