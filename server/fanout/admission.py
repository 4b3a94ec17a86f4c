"""Admission control: who may open a socket, and when (issue 8, item 3; OVL-5).

- Per address: at most `max_connections_per_address` open viewer and staff sockets; past it the
  upgrade is refused with 429 and `Retry-After`.
- Handshakes: at most `max_handshakes` sockets in their upgrade and catch-up at once; the others
  wait their turn, first come first served, and past a long queue or a long wait get 503 and
  `Retry-After`. A flood of new sockets queues instead of starving the established ones.
- Pending connections (TCP connections that have not finished their request or upgrade): each
  is closed after `handshake_timeout`; one address may hold only a few of them (more are closed
  at once), and once connections take three quarters of the open-file limit each new one closes
  the oldest pending one. Idle and half-sent connections cannot take every file descriptor.

Every refusal is counted (`halyq_refusals_total{kind}`) and logged, at most one line per kind
every ten seconds, with the count and never the address. Nothing here knows uvicorn:
`server/fanout/uvicorn.py` calls it from its protocols and from `FastPath`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from http import HTTPStatus
from typing import Protocol

from prometheus_client import Counter as Counted
from starlette import status
from starlette.types import Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

QUEUE_PER_SLOT = 4  # handshakes that may wait, per handshake slot (256 at the default 64)
MAX_WAIT = 5.0  # seconds a handshake may wait for a slot (at most half the handshake timeout)
PENDING_FLOOR = 16  # pending connections always allowed, however low the open-file limit
LOG_EVERY = 10.0  # seconds between two log lines about one kind of refusal
DENIAL = "websocket.http.response"  # the ASGI extension that lets an app answer the upgrade
RETRY_AFTER = {"per_address": 10, "handshake_queue": 5}  # seconds, in `Retry-After`
BODIES = {
    "per_address": b"too many connections from this address; try again later\n",
    "handshake_queue": b"the server is busy; try again later\n",
}
STATUS = {
    "per_address": status.HTTP_429_TOO_MANY_REQUESTS,
    "handshake_queue": status.HTTP_503_SERVICE_UNAVAILABLE,
}


def _answer(kind: str) -> bytes:
    code, body = STATUS[kind], BODIES[kind]
    return (
        f"HTTP/1.1 {code} {HTTPStatus(code).phrase}\r\nretry-after: {RETRY_AFTER[kind]}\r\n"
        f"content-type: text/plain; charset=utf-8\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + body


ANSWERS = {kind: _answer(kind) for kind in STATUS}  # refusals before the upgrade, as bytes
EXPLAINED = {
    "per_address": "sockets refused with 429: their address had HALYQ_MAX_CONNECTIONS_PER_ADDRESS"
    " sockets open",
    "handshake_queue": "sockets refused with 503: the handshake queue (HALYQ_MAX_HANDSHAKES) was"
    " full or too slow",
    "handshake_timeout": "connections closed: no complete request or upgrade within"
    " HALYQ_HANDSHAKE_TIMEOUT",
    "pending": "connections closed at once: too many unfinished handshakes from one address or"
    " in all",
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class Limits(Protocol):
    """The settings admission control reads (`server.settings.Settings` has them)."""

    @property
    def max_connections_per_address(self) -> int: ...
    @property
    def max_handshakes(self) -> int: ...
    @property
    def handshake_timeout(self) -> float: ...
    @property
    def trusted_proxies(self) -> tuple[str, ...]: ...


class Closable(Protocol):
    """A connection's transport, as far as admission control touches it."""

    def close(self) -> None: ...


def open_files_limit() -> int:
    """The process's open-file limit (the soft one, which is the one that applies)."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """HALYQ_TRUSTED_PROXIES as networks; a single address is a network of one.

    Raises:
        ValueError: an entry is neither an address nor a network (its message names it).
    """
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"HALYQ_TRUSTED_PROXIES: {entry!r} is not an address or a network like 10.0.0.0/8"
            ) from None
    return tuple(networks)


def address_key(host: str) -> str:
    """What one client is counted by: its IPv4 address, or its IPv6 /64 (one subscriber's
    prefix: an attacker with a /64 has 2^64 addresses)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP address (a Unix socket): counted as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


class RefusalLog:
    """Counts refusals by kind, and logs them: the first at once, then what came meanwhile at
    most once every `LOG_EVERY` seconds, so that a flood cannot flood the log."""

    def __init__(self, counter: Counted, every: float = LOG_EVERY) -> None:
        self._counter = counter
        self._every = every
        self._waiting: Counter[str] = Counter()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def refused(self, kind: str) -> None:
        self._counter.labels(kind).inc()
        self._waiting[kind] += 1
        if kind not in self._timers:
            self._flush(kind)

    def is_counting(self, kind: str) -> bool:
        """Whether refusals of `kind` are being counted for a line at the end of a period."""
        return kind in self._timers

    def _flush(self, kind: str) -> None:
        count = self._waiting.pop(kind, 0)
        if not count:
            del self._timers[kind]
            return
        logger.warning("admission: %d %s", count, EXPLAINED[kind])
        self._timers[kind] = asyncio.get_running_loop().call_later(self._every, self._flush, kind)


class Handshakes:
    """At most `slots` handshakes at once; the others wait in arrival order, up to `queue` of
    them and `wait` seconds each."""

    def __init__(self, slots: int, queue: int, wait: float) -> None:
        self.free = slots
        self.capacity = slots + queue
        self.queue = queue
        self.wait = wait
        self._turns: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._turns)

    async def enter(self) -> bool:
        """Take a slot, waiting for one if need be; False when the queue is full or the wait
        was too long (the caller answers 503)."""
        if self.free and not self._turns:
            self.free -= 1
            return True
        if len(self._turns) >= self.queue:
            return False
        turn = asyncio.get_running_loop().create_future()
        self._turns.append(turn)
        try:
            async with asyncio.timeout(self.wait):
                await turn
        except TimeoutError:
            return self._settle(turn)
        except asyncio.CancelledError:  # the connection went away while it waited
            if self._settle(turn):
                self.leave()
            raise
        return True

    def _settle(self, turn: asyncio.Future[None]) -> bool:
        """After a wait was cut short: whether the slot was handed over all the same."""
        if turn.done() and not turn.cancelled():
            return True
        turn.cancel()
        with contextlib.suppress(ValueError):
            self._turns.remove(turn)
        return False

    def leave(self) -> None:
        """Give a slot back: to the first in the queue, if anyone waits (a turn leaves the
        queue when it is given a slot, or when its wait ends)."""
        if self._turns:
            self._turns.popleft().set_result(None)
        else:
            self.free += 1


class Handshake:
    """One socket's slot, held through its upgrade and catch-up: given back when its app first
    waits for a client frame after accepting, when the app ends, or after the handshake timeout
    (a client that reads nothing cannot hold a slot), whichever comes first."""

    __slots__ = ("_accepted", "_gate", "_receive", "_send", "_timer")

    def __init__(self, gate: Handshakes, receive: Receive, send: Send, hold: float) -> None:
        self._gate = gate
        self._receive = receive
        self._send = send
        self._accepted = False
        self._timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            hold, self.release
        )

    async def receive(self) -> Message:
        if self._accepted and self._timer is not None:
            self.release()  # caught up: the app now waits for the client
        return await self._receive()

    async def send(self, message: Message) -> None:
        if message["type"] == "websocket.accept":
            self._accepted = True
        await self._send(message)

    def release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._gate.leave()


class Pending:
    """A connection that has not finished its request or upgrade: closed if it has not by its
    deadline. Counted per address and in all until its request is in, then among the upgrades
    under way if it is one; `settle()` once it is done, or gone."""

    __slots__ = ("_timer", "admission", "counted", "key", "transport", "upgrading")

    def __init__(
        self, admission: Admission, transport: Closable, key: str | None, *, counted: bool
    ) -> None:
        self.admission = admission
        self.transport = transport
        self.key = key
        self.counted = counted
        self.upgrading = False
        loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = loop.call_later(
            admission.timeout, self.close, "handshake_timeout"
        )

    def upgrade(self) -> None:
        """Its request is in, and it is an upgrade: no longer an unfinished request (eviction
        is for connections that keep their request coming), but a handshake under way until
        the app accepts or refuses the socket, still on its deadline."""
        self._request_done()
        self.upgrading = True
        self.admission.upgrades += 1

    def settle(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._request_done()
            if self.upgrading:
                self.upgrading = False
                self.admission.upgrades -= 1

    def _request_done(self) -> None:
        if self.counted:
            self.counted = False
            self.admission.forget(self)

    def close(self, kind: str) -> None:
        """Refuse it: count, log, close."""
        if self._timer is not None:
            self.settle()
            self.admission.log.refused(kind)
            self.transport.close()


class Admission:
    """Admission control of one app (see the module's docstring)."""

    def __init__(self, limits: Limits, refusals: Counted, open_files: int) -> None:
        self.per_address = limits.max_connections_per_address
        self.timeout = limits.handshake_timeout
        self.pending_per_address = min(self.per_address, max(PENDING_FLOOR, open_files // 8))
        self.crowded = open_files * 3 // 4
        slots = limits.max_handshakes
        self.handshakes = Handshakes(slots, QUEUE_PER_SLOT * slots, min(MAX_WAIT, self.timeout / 2))
        self.log = RefusalLog(refusals)
        self._proxies = trusted_networks(limits.trusted_proxies)
        self._open: Counter[str] = Counter()  # open sockets by address
        self._pending: dict[Pending, None] = {}  # oldest first
        self._pending_at: Counter[str] = Counter()
        self.upgrades = 0  # upgrades handed to the WebSocket protocol, not yet accepted or refused

    # Connections, from their first byte to their request or upgrade (the HTTP protocol calls)

    def arrive(self, transport: Closable, host: str | None, connections: int) -> Pending | None:
        """A new connection from `host` (its TCP peer), `connections` open with it: its
        deadline starts; None if it was closed at once because its address has too many
        pending already. When connections take three quarters of the open files, the oldest
        pending one is closed to make room: most likely a slow attacker's."""
        key = None if host is None or self._is_proxy(host) else address_key(host)
        if key is not None and self._pending_at[key] >= self.pending_per_address:
            self.log.refused("pending")
            transport.close()
            return None
        if connections >= self.crowded and self._pending:
            next(iter(self._pending)).close("pending")
        pending = Pending(self, transport, key, counted=True)
        self._pending[pending] = None
        if key is not None:
            self._pending_at[key] += 1
        return pending

    def again(self, transport: Closable) -> Pending:
        """A further request on a kept-alive connection: it has the same deadline, uncounted."""
        return Pending(self, transport, None, counted=False)

    def forget(self, pending: Pending) -> None:
        del self._pending[pending]
        if pending.key is not None:
            self._pending_at[pending.key] -= 1
            if not self._pending_at[pending.key]:
                del self._pending_at[pending.key]

    def refuse_early(self, host: str | None) -> bytes | None:
        """The whole HTTP answer refusing an upgrade from `host` (its TCP peer) before any
        WebSocket work is done for it, or None to go on: a flood's refusals must cost little.
        The per-address cap only when the peer is the client (behind a trusted proxy `serve`
        decides, by the address the proxy gives); the queue when more upgrades are under way
        than it and the slots can take."""
        direct = host is not None and not self._is_proxy(host)
        if direct and self._open[address_key(host or "")] >= self.per_address:
            kind = "per_address"
        elif self.upgrades >= self.handshakes.capacity:
            kind = "handshake_queue"
        else:
            return None
        self.log.refused(kind)
        return ANSWERS[kind]

    def _is_proxy(self, host: str) -> bool:
        """A trusted proxy's connections carry many clients: not capped as one address."""
        if not self._proxies:
            return False
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)

    # Sockets, from the app's first call to their end (`FastPath` calls)

    def open_sockets(self, host: str) -> int:
        return self._open[address_key(host)]

    async def serve(self, scope: Scope, receive: Receive, send: Send, app: App) -> None:
        """Run `app` for this socket if the per-address cap and the handshake queue let it in."""
        client = scope.get("client")
        key = address_key(client[0]) if client else ""
        if self._open[key] >= self.per_address:
            await self._deny(scope, send, "per_address")
            return
        self._open[key] += 1
        try:
            if not await self.handshakes.enter():
                await self._deny(scope, send, "handshake_queue")
                return
            handshake = Handshake(self.handshakes, receive, send, self.timeout)
            try:
                await app(scope, handshake.receive, handshake.send)
            finally:
                handshake.release()
        finally:
            self._open[key] -= 1
            if not self._open[key]:
                del self._open[key]

    async def _deny(self, scope: Scope, send: Send, kind: str) -> None:
        """Answer the upgrade with its status and `Retry-After` (ASGI's denial response)."""
        self.log.refused(kind)
        if DENIAL not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": status.WS_1013_TRY_AGAIN_LATER})  # a 403
            return
        headers = [
            (b"retry-after", str(RETRY_AFTER[kind]).encode()),
            (b"content-type", b"text/plain; charset=utf-8"),
        ]
        start = {"type": "websocket.http.response.start", "status": STATUS[kind]}
        await send(start | {"headers": headers})
        await send({"type": "websocket.http.response.body", "body": BODIES[kind]})
