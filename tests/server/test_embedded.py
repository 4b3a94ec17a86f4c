"""The embedded Redis: durable settings, found again after a restart, shared with guests."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.store import Durability, Store
from server.store.embedded import EmbeddedRedis, socket_path
from server.usecases import UseCases, create_meeting
from tests.conftest import meeting_command

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
