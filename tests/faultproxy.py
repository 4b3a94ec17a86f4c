"""A fault proxy for the link between a server and Redis (FLT-2, FLT-5): Toxiproxy's toxics in
pure asyncio, switchable while traffic flows.

`FaultProxy` listens on 127.0.0.1 (TCP) and forwards each connection to an upstream Redis (a unix
socket or a TCP port, given as a Redis URL). Its `Toxics`:

- `latency` seconds added to every chunk, each way (plus up to `jitter` more; order is kept, so a
  request-reply round trip gets twice `latency`);
- `bandwidth` bytes a second, per connection and direction (0: no cap);
- `reset_rate`, the chance that a chunk resets its connection instead of going through: both
  sides are closed at once with a TCP reset where the socket allows it (Toxiproxy's
  `reset_peer`);
- `blackhole`: nothing is forwarded and every connection is held, new ones too, as in a network
  partition; what was sent meanwhile goes through once healed, as TCP would retransmit it
  (Toxiproxy's `timeout` with no deadline);
- `down`: new connections are refused and open ones closed.

`ThreadedProxy` runs one in a thread of its own, so that a loaded client event loop does not add
its own delays to the link's (the bench); its methods are awaitable from any loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

CHUNK = 16 * 1024  # bytes read at once: one chunk is what a toxic delays, caps or resets
BANDWIDTH_SLICE = 0.05  # a capped link writes at most this many seconds' worth at a time
QUEUED_CHUNKS = 256  # per direction: a reader waits while this many are delayed
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Toxics:
    """What the proxy does to the traffic; `Toxics()` is a healthy link."""

    latency: float = 0.0
    jitter: float = 0.0
    bandwidth: int = 0
    reset_rate: float = 0.0
    blackhole: bool = False
    down: bool = False

    def __post_init__(self) -> None:
        if self.latency < 0 or self.jitter < 0 or self.bandwidth < 0:
            raise ValueError(f"latency, jitter and bandwidth cannot be negative: {self}")
        if not 0 <= self.reset_rate <= 1:
            raise ValueError(f"reset_rate is a probability: {self.reset_rate}")


@dataclass(slots=True)
class ProxyStats:
    """What the proxy did: links accepted and refused, resets, bytes each way."""

    accepted: int = 0
    refused: int = 0
    resets: int = 0
    closed_by_down: int = 0
    bytes_up: int = 0
    bytes_down: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the proxy connects: a unix socket `path`, else `host` and `port`."""

    path: str = ""
    host: str = ""
    port: int = 0

    @classmethod
    def from_url(cls, url: str) -> Upstream:
        """From a Redis URL: `unix:///path`, `unix:/path` or `redis://host:port`."""
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return cls(path=parts.path)
        if parts.scheme == "redis" and parts.hostname:
            return cls(host=parts.hostname, port=parts.port or 6379)
        raise ValueError(f"the fault proxy forwards to unix:// or redis:// URLs, not {url!r}")

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.path:
            return await asyncio.open_unix_connection(self.path)
        return await asyncio.open_connection(self.host, self.port)


class FaultProxy:
    """A TCP proxy to Redis whose toxics change at run time (see the module's docstring)."""

    def __init__(self, upstream: str, *, seed: int | None = None) -> None:
        self.upstream_url = upstream
        self.upstream = Upstream.from_url(upstream)
        self.toxics = Toxics()
        self.stats = ProxyStats()
        self.port = 0
        self.random = random.Random(seed)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()

    @property
    def url(self) -> str:
        """The upstream's URL with this proxy in its place (credentials and db kept)."""
        parts = urlsplit(self.upstream_url)
        if parts.scheme == "unix":
            return f"redis://127.0.0.1:{self.port}"
        netloc = parts.netloc.rsplit("@", 1)
        where = f"127.0.0.1:{self.port}"
        return urlunsplit(("redis", f"{netloc[0]}@{where}" if len(netloc) == 2 else where,
                           parts.path, parts.query, ""))  # fmt: skip

    @property
    def open_links(self) -> int:
        """Connections through the proxy now (each is one socket of the proxied client)."""
        return len(self._links)

    async def start(self) -> FaultProxy:
        await self._listen()
        return self

    async def set(self, **changes: Any) -> Toxics:
        """Change some toxics (`latency=0.25`, `blackhole=True`...); returns the new ones."""
        was, self.toxics = self.toxics, dataclasses.replace(self.toxics, **changes)
        if self.toxics.blackhole:
            self.flowing.clear()
        else:
            self.flowing.set()
        if self.toxics.down and not was.down:
            await self._go_down()
        elif was.down and not self.toxics.down:
            await self._listen()
        return self.toxics

    async def heal(self) -> Toxics:
        """Every toxic off: a healthy link again."""
        return await self.set(**dataclasses.asdict(Toxics()))

    async def close(self) -> None:
        await self._go_down(count=False)
        self.flowing.set()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # Listening, and going down

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _go_down(self, *, count: bool = True) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()  # new connections are refused from here on
        links = list(self._links)
        for link in links:
            link.reset()
        if count:
            self.stats.closed_by_down += len(links)
        for link in links:
            await link.finished()
        if server is not None:
            await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.toxics.down:
            self.stats.refused += 1
            _abort(writer)
            return
        self.stats.accepted += 1
        link = _Link(self, reader, writer)
        self._links.add(link)
        try:
            await link.run()
        finally:
            self._links.discard(link)


class _Link:
    """One client connection and its upstream twin, with a pump each way."""

    def __init__(
        self, proxy: FaultProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.proxy = proxy
        self.client = (reader, writer)
        self.server: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.pumps: list[asyncio.Task[None]] = []
        self.runner: asyncio.Task[Any] | None = None
        self.done = asyncio.Event()
        self.was_reset = False

    async def run(self) -> None:
        self.runner = asyncio.current_task()
        try:
            await self.proxy.flowing.wait()  # a partition holds the connection attempt too
            self.server = await self.proxy.upstream.connect()
            loop = asyncio.get_running_loop()
            self.pumps = [
                loop.create_task(self._pump(self.client[0], self.server[1], up=True)),
                loop.create_task(self._pump(self.server[0], self.client[1], up=False)),
            ]
            await asyncio.wait(self.pumps, return_when=asyncio.FIRST_COMPLETED)
        except OSError:
            self.proxy.stats.refused += 1  # the upstream is not there: close the client too
        except asyncio.CancelledError:
            if not self.was_reset:
                raise
        finally:
            self._close()
            self.done.set()

    def reset(self) -> None:
        """Close both sides at once (a TCP reset where the socket allows it)."""
        self.was_reset = True
        for writer in self._writers():
            _abort(writer)
        current = asyncio.current_task()
        for task in self.pumps:
            if task is not current:
                task.cancel()
        if not self.pumps and self.runner is not None and self.runner is not current:
            self.runner.cancel()  # held by a partition, or still connecting upstream

    async def finished(self) -> None:
        await self.done.wait()

    def _writers(self) -> list[asyncio.StreamWriter]:
        return [self.client[1]] + ([self.server[1]] if self.server is not None else [])

    def _close(self) -> None:
        for task in self.pumps:
            task.cancel()
        for writer in self._writers():
            writer.close()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, up: bool
    ) -> None:
        """Read chunks, roll the reset die, and hand them to a writer that keeps the delays."""
        proxy = self.proxy
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUED_CHUNKS)
        writer = asyncio.get_running_loop().create_task(self._deliver(queue, sink, up=up))
        clock = asyncio.get_running_loop().time
        due = 0.0
        try:
            while True:
                await proxy.flowing.wait()
                data = await source.read(CHUNK)
                if not data:
                    await queue.put(None)  # the sender is done: flush, then close the link
                    await writer
                    return
                toxics = proxy.toxics
                if toxics.reset_rate and proxy.random.random() < toxics.reset_rate:
                    proxy.stats.resets += 1
                    self.reset()
                    return
                extra = proxy.random.uniform(0, toxics.jitter) if toxics.jitter else 0.0
                due = max(due, clock() + toxics.latency + extra)
                await queue.put((due, data))
        except (OSError, asyncio.IncompleteReadError):
            return
        finally:
            if not writer.done():
                writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await writer

    async def _deliver(
        self, queue: asyncio.Queue[tuple[float, bytes] | None], sink: asyncio.StreamWriter,
        *, up: bool,
    ) -> None:  # fmt: skip
        clock = asyncio.get_running_loop().time
        try:
            while (item := await queue.get()) is not None:
                due, data = item
                if (wait := due - clock()) > 0:
                    await asyncio.sleep(wait)
                await self._write(sink, data, up=up)
        except OSError:
            self.reset()  # the receiving side is gone: so is the link

    async def _write(self, sink: asyncio.StreamWriter, data: bytes, *, up: bool) -> None:
        """Write `data`, a slice at a time under a bandwidth cap, none while held."""
        proxy = self.proxy
        while data:
            await proxy.flowing.wait()
            rate = proxy.toxics.bandwidth
            piece = data[: max(1, int(rate * BANDWIDTH_SLICE))] if rate else data
            data = data[len(piece) :]
            sink.write(piece)
            await sink.drain()
            if up:
                proxy.stats.bytes_up += len(piece)
            else:
                proxy.stats.bytes_down += len(piece)
            if rate:
                await asyncio.sleep(len(piece) / rate)


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close at once, with a TCP reset (SO_LINGER 0) on TCP sockets."""
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ThreadedProxy:
    """A `FaultProxy` on an event loop in a thread of its own; every method may be awaited
    from another loop (or called with `call` from plain code)."""

    def __init__(self, upstream: str, *, seed: int | None = None) -> None:
        self._upstream = upstream
        self._seed = seed
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy")
        self.proxy: FaultProxy | None = None

    def start(self) -> ThreadedProxy:
        self._thread.start()
        self.proxy = self.call(self._made())
        return self

    async def _made(self) -> FaultProxy:
        return await FaultProxy(self._upstream, seed=self._seed).start()

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the proxy's loop and wait for it here."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _on_proxy_loop(self, coroutine: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return await asyncio.wrap_future(future)

    @property
    def _running(self) -> FaultProxy:
        assert self.proxy is not None, "start the proxy first"
        return self.proxy

    @property
    def url(self) -> str:
        return self._running.url

    @property
    def toxics(self) -> Toxics:
        return self._running.toxics

    @property
    def stats(self) -> ProxyStats:
        return self._running.stats

    @property
    def open_links(self) -> int:
        return self._running.open_links

    async def set(self, **changes: Any) -> Toxics:
        return await self._on_proxy_loop(self._running.set(**changes))

    async def heal(self) -> Toxics:
        return await self._on_proxy_loop(self._running.heal())

    def close(self) -> None:
        if self.proxy is not None:
            self.call(self.proxy.close())
            self.proxy = None
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
        self._loop.close()

    def __enter__(self) -> ThreadedProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
