"""The embedded Redis's supervisor on its own (FLT-1, FLT-7): a server that dies is reaped and
started again on the same folder, socket and lock; a start that fails is reported with Redis's
reason and tried again until it works; stopping ends it all.

Each test starts an `EmbeddedRedis` in a folder of its own and kills its valkey-server by PID.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from bench.reliability.redis_faults import corrupt_append_only_file, fill, small_disk
from server.store.embedded import (
    MIN_FREE_BYTES,
    EmbeddedRedis,
    EmbeddedRedisError,
    State,
    Supervision,
    redis_binary,
)
from tests import helpers
from tests.helpers import wait_until

RESTARTED_WITHIN = 5.0  # commenting resumes within 5 s of Redis being able to run again


def cli(redis: EmbeddedRedis, *args: str) -> str:
    """One command on the folder's socket, as an operator runs it ("" when nobody answers)."""
    return helpers.cli(redis.socket, *args).strip()


def redis_children() -> list[int]:
    """The live embedded servers (valkey-server) this test process has running."""
    program = Path(redis_binary()).name
    return [p.pid for p in psutil.Process().children(recursive=True)
            if p.name() == program and p.status() != psutil.STATUS_ZOMBIE]  # fmt: skip


def pid_of(redis: EmbeddedRedis) -> int:
    assert redis.process is not None
    return redis.process.pid


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[tuple[EmbeddedRedis, list[Supervision]]]:
    """A supervised embedded Redis on `tmp_path` and every change its supervisor reported."""
    heard: list[Supervision] = []
    redis = EmbeddedRedis(tmp_path).start()
    try:
        redis.listen(heard.append)
        redis.supervise()
        yield redis, heard
    finally:
        redis.stop()


def test_a_killed_server_is_reaped_and_started_again_on_its_folder(
    supervised: tuple[EmbeddedRedis, list[Supervision]], tmp_path: Path
) -> None:
    """kill -9: the dead server is reaped (no zombie), a new one serves the same socket from
    the same files within 5 s, and the folder stays locked to this process throughout."""
    redis, heard = supervised
    assert cli(redis, "SET", "acked", "before the kill") == "OK"
    url, old = redis.url, pid_of(redis)
    killed = time.monotonic()
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: redis.supervision.restarts == 1, what="the restart")
    assert time.monotonic() - killed < RESTARTED_WITHIN
    assert not psutil.pid_exists(old)  # reaped, not left a zombie
    new = pid_of(redis)
    assert redis.supervision == Supervision(State.RUNNING, "", 1, new)
    assert heard == [
        Supervision(State.RESTARTING, f"valkey-server (pid {old}) was killed by SIGKILL", 0),
        Supervision(State.RUNNING, "", 1, new),
    ]
    assert (redis.url, redis.owned) == (url, True)
    assert cli(redis, "GET", "acked") == "before the kill"
    with EmbeddedRedis(tmp_path) as guest:  # the same lock: another command joins, as before
        assert (guest.owned, guest.url) == (False, url)
    assert new in redis_children()


def test_a_start_that_fails_is_reported_with_its_reason_until_it_is_fixed(
    supervised: tuple[EmbeddedRedis, list[Supervision]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A corrupt append-only file: every restart fails, the supervision says why in Redis's own
    words (from redis.log) and the log says so loudly; nobody else may open the folder
    meanwhile; once the file is right again, the next attempt serves everything acked."""
    caplog.set_level(logging.ERROR, logger="server.store.embedded")
    redis, heard = supervised
    assert cli(redis, "SET", "first", "1") == "OK"
    with corrupt_append_only_file(tmp_path) as put_back:
        assert cli(redis, "SET", "second", "2") == "OK"  # appended to the original file
        os.kill(pid_of(redis), signal.SIGKILL)
        wait_until(lambda: redis.supervision.state is State.START_FAILED, what="a failed start")
        reason = redis.supervision.detail
        assert reason.startswith("valkey-server exited at start: Bad file format reading the")
        assert [h.state for h in heard] == [State.RESTARTING, State.START_FAILED]
        logged = [r.getMessage() for r in caplog.records]
        assert f"EMBEDDED REDIS CANNOT START: {reason}; trying again" in logged
        with pytest.raises(EmbeddedRedisError, match="is locked but does not answer"):
            EmbeddedRedis(tmp_path, timeout=0.3).start()
        put_back()
        fixed = time.monotonic()
        wait_until(lambda: redis.supervision.state is State.RUNNING, what="the restart")
        assert time.monotonic() - fixed < RESTARTED_WITHIN
    assert redis.supervision.restarts == 1
    assert (cli(redis, "GET", "first"), cli(redis, "GET", "second")) == ("1", "2")


def test_stopping_while_starts_fail_ends_the_supervisor_and_lets_the_folder_go(
    supervised: tuple[EmbeddedRedis, list[Supervision]], tmp_path: Path
) -> None:
    redis, _ = supervised
    before = set(redis_children()) - {pid_of(redis)}
    with corrupt_append_only_file(tmp_path):
        os.kill(pid_of(redis), signal.SIGKILL)
        wait_until(lambda: redis.supervision.state is State.START_FAILED, what="a failed start")
        began = time.monotonic()
        redis.stop()
        assert time.monotonic() - began < 2.0
        assert not redis.owned
        assert set(redis_children()) == before  # no restart left running
    with EmbeddedRedis(tmp_path, timeout=5) as again:  # the folder is free, its data intact
        assert again.owned
        assert EmbeddedRedis.serving(again.url) is again
    assert EmbeddedRedis.serving(again.url) is None


def test_a_full_disk_holds_the_restart_until_space_is_freed(tmp_path: Path) -> None:
    """FLT-7: with `appendfsync always` Redis exits on its first failed write; a server started
    on the full disk would die at the next comment, so none is started until space is freed.
    Every write Redis answered OK is there afterwards."""
    with small_disk(tmp_path / "disk", 4) as disk:
        redis = EmbeddedRedis(disk / "data").start()
        try:
            redis.supervise()
            stored = [f"before{n}" for n in range(20)]
            assert all(cli(redis, "SET", key, "x" * 100) == "OK" for key in stored)
            filler = disk / "filler"
            fill(filler)
            stored += write_until_refused(redis)
            wait_until(lambda: redis.supervision.state is State.START_FAILED, what="no start")
            assert (
                redis.supervision.detail == "no space left on the data folder's disk (0 KiB free)"
            )
            filler.unlink()
            freed = time.monotonic()
            wait_until(lambda: redis.supervision.state is State.RUNNING, what="the restart")
            assert time.monotonic() - freed < RESTARTED_WITHIN
            assert os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize >= MIN_FREE_BYTES
            assert [cli(redis, "GET", key) for key in stored] == ["x" * 100] * len(stored)
        finally:
            redis.stop()


def write_until_refused(redis: EmbeddedRedis) -> list[str]:
    """SETs, one at a time, until Redis dies on its failed append (the first, or once the last
    page of its file is full); the keys answered OK."""
    stored: list[str] = []
    for n in range(10_000):
        key = f"k{n}"
        if cli(redis, "SET", key, "x" * 100) != "OK":
            return stored
        stored.append(key)
    raise AssertionError("Redis never failed a write on the full disk")
