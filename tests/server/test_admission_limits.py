"""Admission control on a live server (issue 8, item 3; OVL-5 in small): the per-address cap
(429), the handshake queue (503), the handshake deadline and the cap on unfinished connections,
and X-Forwarded-For believed only from trusted proxies. The flood at a 1,024 open-file limit is
tests/e2e/test_admission.py; the catalogue's numbers are bench/reliability/admission.py."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from moderation import Meeting
from server.fanout import uvicorn as fast_path
from server.fanout.admission import (
    Admission,
    Handshakes,
    RefusalLog,
    address_key,
    trusted_networks,
)
from server.metrics import Metrics
from server.settings import Settings
from tests.helpers import TIMEOUT, LiveServer, catch_up, comment, live_server, recv_until, wait_for

pytestmark = pytest.mark.anyio


def refusals(server: LiveServer, kind: str) -> float:
    value = server.services.metrics.registry.get_sample_value(
        "halyq_refusals_total", {"kind": kind}
    )
    return value or 0.0


def admission(server: LiveServer) -> Admission:
    found = server.app.admission
    assert found is not None
    return found


async def refused(server: LiveServer, path: str, **options: Any) -> InvalidStatus:
    """The refusal of an upgrade that the server must refuse."""
    with pytest.raises(InvalidStatus) as refusal:
        async with connect(server.ws(path), open_timeout=TIMEOUT, **options):
            pass
    return refusal.value


@contextlib.asynccontextmanager
async def viewers(
    server: LiveServer, meeting_id: str, count: int, **options: Any
) -> AsyncIterator[list[ClientConnection]]:
    async with contextlib.AsyncExitStack() as stack:
        opened = []
        for _ in range(count):
            ws = await stack.enter_async_context(server.socket(meeting_id, **options))
            await catch_up(ws)
            opened.append(ws)
        yield opened


async def test_past_the_per_address_cap_sockets_are_refused_429_and_other_addresses_are_not(
    settings: Settings, live_meeting: Meeting, caplog: pytest.LogCaptureFixture
) -> None:
    """OVL-5: viewer and staff sockets count against their address; a closed one frees its
    place; the refusal comes before the upgrade, with Retry-After, counted and logged."""
    caplog.set_level(logging.WARNING, "server.fanout.admission")
    async with live_server(settings.replace(max_connections_per_address=3)) as server:
        async with viewers(server, live_meeting.id, 3) as first:
            over = await refused(server, f"/ws/meetings/{live_meeting.id}")
            assert over.response.status_code == 429
            assert over.response.headers["Retry-After"] == "10"
            staff = await refused(server, f"/ws/console/{live_meeting.id}")
            assert staff.response.status_code == 429  # before any sign-in check
            async with viewers(server, live_meeting.id, 3, local_addr=("127.0.0.2", 0)) as other:
                await other[0].send(comment("other-address", "Басқа мекенжайдан"))
                ack, _ = await recv_until(other[0], lambda f: f["type"] == "ack")
                assert ack["client_msg_id"] == "other-address"
            await first[0].close()
            await wait_for(lambda: admission(server).open_sockets("127.0.0.1") == 2)
            async with viewers(server, live_meeting.id, 1):
                pass
        assert refusals(server, "per_address") == 2
    assert "admission: 1 sockets refused with 429" in caplog.text
    assert "127.0.0.1" not in caplog.text  # logs never hold addresses


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(
    settings: Settings, live_meeting: Meeting
) -> None:
    """Issue 8, item 5: from an untrusted peer X-Forwarded-For and X-Real-IP change nothing;
    from a trusted proxy X-Forwarded-For names the client, and X-Real-IP never does."""
    one = settings.replace(max_connections_per_address=1)
    path = f"/ws/meetings/{live_meeting.id}"

    def headers(**values: str) -> dict[str, Any]:
        named = {k.replace("_", "-").title().replace("Ip", "IP"): v for k, v in values.items()}
        return {"additional_headers": named}

    first = headers(x_forwarded_for="10.0.0.1")
    async with live_server(one) as server, viewers(server, live_meeting.id, 1, **first):
        spoofed = headers(x_forwarded_for="10.0.0.2", x_real_ip="10.0.0.3")
        assert (await refused(server, path, **spoofed)).response.status_code == 429
    async with live_server(one.replace(trusted_proxies=("127.0.0.0/8",))) as server:
        first, second = headers(x_forwarded_for="10.0.0.1"), headers(x_forwarded_for="10.0.0.2")
        async with (
            viewers(server, live_meeting.id, 1, **first),
            viewers(server, live_meeting.id, 1, **second),
            viewers(server, live_meeting.id, 1, **headers(x_real_ip="10.0.0.4")),
        ):
            assert admission(server).open_sockets("10.0.0.1") == 1
            assert admission(server).open_sockets("127.0.0.1") == 1  # X-Real-IP: not believed
            again = headers(x_forwarded_for="10.0.0.1", x_real_ip="10.0.0.5")
            assert (await refused(server, path, **again)).response.status_code == 429
            real_ip_only = headers(x_real_ip="10.0.0.6")
            assert (await refused(server, path, **real_ip_only)).response.status_code == 429


@pytest.mark.parametrize("proxied", [False, True], ids=["direct", "behind-a-proxy"])
async def test_a_flood_of_handshakes_waits_its_turn_and_past_the_queue_gets_503(
    settings: Settings, live_meeting: Meeting, proxied: bool
) -> None:
    """OVL-5: one handshake at a time, four waiting: of 100 at once, the rest are refused with
    503 and Retry-After, each socket gets exactly one of the two answers, and the server then
    serves the next one at once. Direct clients are refused before any WebSocket work; behind
    a trusted proxy, once the client's address is known."""
    one_at_a_time = settings.replace(max_handshakes=1)
    if proxied:
        one_at_a_time = one_at_a_time.replace(trusted_proxies=("127.0.0.1",))
    async with live_server(one_at_a_time) as server:

        async def one(number: int) -> int:
            sent = {"X-Forwarded-For": f"10.0.{number // 250}.{number % 250}"} if proxied else {}
            try:
                async with server.socket(live_meeting.id, additional_headers=sent) as ws:
                    await catch_up(ws)
                    return 101
            except InvalidStatus as refusal:
                retry_after[refusal.response.headers["Retry-After"]] += 1
                return refusal.response.status_code

        retry_after: Counter[str] = Counter()
        answers = Counter(await asyncio.gather(*(one(n) for n in range(100))))
        assert set(answers) == {101, 503}, answers
        assert retry_after == {"5": answers[503]}
        assert answers[101] >= 5  # the one served and the four waiting
        assert refusals(server, "handshake_queue") == answers[503]
        async with viewers(server, live_meeting.id, 1):
            pass
        assert admission(server).handshakes.free == 1  # every slot came back


async def test_idle_and_half_sent_connections_are_closed_at_the_handshake_timeout(
    settings: Settings, live_meeting: Meeting
) -> None:
    """A connection that sends nothing, or half a request, or half an upgrade, is closed after
    HALYQ_HANDSHAKE_TIMEOUT; a viewer that finished its upgrade and a kept-alive HTTP client
    that finished its request are not."""
    async with live_server(settings.replace(handshake_timeout=1.0)) as server:
        host, port = server.url.removeprefix("http://").split(":")
        async with server.socket(live_meeting.id) as viewer, httpx.AsyncClient() as http:
            await catch_up(viewer)
            assert (await http.get(server.url + "/healthz")).status_code == 200
            upgrade = f"GET /ws/meetings/{live_meeting.id} HTTP/1.1\r\nUpgrade: websocket\r\n"
            silent = [await asyncio.open_connection(host, int(port)) for _ in range(3)]
            for (_, writer), sent in zip(
                silent, [b"", b"GET /healthz HTTP/1.1\r\n", upgrade.encode()], strict=True
            ):
                writer.write(sent)
            for reader, _ in silent:
                assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""  # closed by the server
            assert refusals(server, "handshake_timeout") == 3
            await viewer.send(comment("still-here", "Әлі осындамын"))
            ack, _ = await recv_until(viewer, lambda f: f["type"] == "ack")
            assert ack["client_msg_id"] == "still-here"
            assert (await http.get(server.url + "/healthz")).status_code == 200  # same connection
            for _, writer in silent:
                writer.close()


async def test_an_address_with_too_many_unfinished_connections_has_the_rest_closed_at_once(
    settings: Settings,
) -> None:
    """At most `min(HALYQ_MAX_CONNECTIONS_PER_ADDRESS, open files / 8)` unfinished connections
    per address: the next ones from it are closed at once, another address is not."""
    async with live_server(settings.replace(max_connections_per_address=20)) as server:
        host, port = server.url.removeprefix("http://").split(":")
        held = [await asyncio.open_connection(host, int(port)) for _ in range(30)]
        other = await asyncio.open_connection(host, int(port), local_addr=("127.0.0.2", 0))
        closed = [asyncio.ensure_future(reader.read()) for reader, _ in [*held, other]]
        await wait_for(lambda: sum(task.done() for task in closed) >= 10)
        assert [task.done() for task in closed] == [False] * 20 + [True] * 10 + [False]
        assert all(task.result() == b"" for task in closed[20:30])
        assert refusals(server, "pending") == 10
        for _, writer in [*held, other]:
            writer.close()
        for task in closed:
            with contextlib.suppress(ConnectionError):
                await task


async def test_the_open_file_limit_is_reported(server: LiveServer) -> None:
    async with httpx.AsyncClient() as http:
        text = (await http.get(server.url + "/metrics")).text
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert f"halyq_open_files_limit {float(soft)}" in text
    opened = next(line for line in text.splitlines() if line.startswith("halyq_open_files "))
    assert 10 < float(opened.split()[1]) < soft


def test_trusted_proxies_become_uvicorn_options_and_a_bad_one_is_refused(
    settings: Settings,
) -> None:
    assert fast_path.options(settings) is fast_path.SETTINGS  # no proxy: no header believed
    assert fast_path.SETTINGS["proxy_headers"] is False
    trusting = fast_path.options(settings.replace(trusted_proxies=("10.0.0.0/8", "192.0.2.7")))
    assert trusting["proxy_headers"] is True
    assert trusting["forwarded_allow_ips"] == ["10.0.0.0/8", "192.0.2.7/32"]
    with pytest.raises(ValueError, match=r"HALYQ_TRUSTED_PROXIES: 'proxy\.example' is not"):
        fast_path.options(settings.replace(trusted_proxies=("proxy.example",)))


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("unix-socket", "unix-socket"),
    ],
)
def test_an_ipv6_client_is_counted_by_its_64_prefix(host: str, key: str) -> None:
    assert address_key(host) == key


def test_trusted_networks_take_addresses_and_networks() -> None:
    assert trusted_networks(["10.1.2.3", "fd00::/8"]) == (
        ipaddress.ip_network("10.1.2.3/32"),
        ipaddress.ip_network("fd00::/8"),
    )


async def test_the_handshake_queue_is_first_come_first_served_and_bounded_in_time() -> None:
    gate = Handshakes(1, queue=3, wait=0.2)
    assert await gate.enter()
    order: list[int] = []

    async def wait(number: int) -> bool:
        entered = await gate.enter()
        if entered:
            order.append(number)
            gate.leave()
        return entered

    first, second = asyncio.ensure_future(wait(1)), asyncio.ensure_future(wait(2))
    await wait_for(lambda: gate.waiting == 2)
    cancelled = asyncio.ensure_future(wait(3))
    await wait_for(lambda: gate.waiting == 3)
    assert not await gate.enter()  # the queue is full: refused at once
    cancelled.cancel()
    await wait_for(lambda: gate.waiting == 2)
    gate.leave()
    assert await first
    assert await second
    assert order == [1, 2]
    assert gate.free == 1
    assert await gate.enter()
    assert not await gate.enter()  # waited 0.2 s for a slot that never came
    assert gate.waiting == 0


async def test_a_waiter_cancelled_as_its_turn_comes_passes_the_slot_on() -> None:
    gate = Handshakes(1, queue=2, wait=5.0)
    assert await gate.enter()
    waiter = asyncio.ensure_future(gate.enter())
    await wait_for(lambda: gate.waiting == 1)
    gate.leave()  # its turn: the slot is handed over...
    waiter.cancel()  # ...and the connection goes away before it runs
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert (gate.free, gate.waiting) == (1, 0)


async def test_refusals_are_logged_once_per_kind_and_period_with_their_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "server.fanout.admission")
    metrics = Metrics()
    log = RefusalLog(metrics.refusals, every=0.05)
    for _ in range(3):
        log.refused("pending")
    log.refused("per_address")

    def lines() -> list[str]:
        return [record.getMessage() for record in caplog.records]

    await wait_for(lambda: len(lines()) == 3)
    assert lines() == [
        "admission: 1 connections closed at once: too many unfinished handshakes from one"
        " address or in all",
        "admission: 1 sockets refused with 429: their address had"
        " HALYQ_MAX_CONNECTIONS_PER_ADDRESS sockets open",
        "admission: 2 connections closed at once: too many unfinished handshakes from one"
        " address or in all",
    ]
    await wait_for(lambda: not log.is_counting("pending"))  # a period without any
    log.refused("pending")  # starts a new one: logged at once
    assert len(lines()) == 4
    counted = metrics.registry.get_sample_value("halyq_refusals_total", {"kind": "pending"})
    assert counted == 4


class Transport:
    """The one thing admission does to a transport: close it."""

    closed = False

    def close(self) -> None:
        self.closed = True


async def test_upgrades_past_the_queue_are_refused_early_and_proxies_by_their_client() -> None:
    """Upgrades under way past the slots and the queue get 503 before any WebSocket work,
    whoever sends them; a trusted proxy is not refused by its own address (it carries many
    clients: the app decides by the one it names), nor capped as one among unfinished ones."""
    admission = Admission(
        Settings(max_handshakes=1, max_connections_per_address=1, trusted_proxies=("10.0.0.0/8",)),
        Metrics().refusals,
        open_files=1024,
    )
    upgrades = [admission.arrive(Transport(), "10.1.2.3", 0) for _ in range(20)]
    for pending in upgrades[:4]:
        assert pending is not None
        pending.upgrade()
    assert admission.refuse_early("10.1.2.3") is None  # 4 under way: the queue takes one more
    assert admission.refuse_early("unix-socket") is None  # not an address: not a proxy
    assert upgrades[4] is not None
    upgrades[4].upgrade()
    answer = admission.refuse_early("203.0.113.7")
    assert answer is not None
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 5\r\n")
    assert admission.refuse_early("10.1.2.3") == answer
    for pending in upgrades:
        assert pending is not None
        pending.settle()
    assert admission.upgrades == 0
    assert admission.refuse_early("10.1.2.3") is None


async def test_past_the_queue_the_app_refuses_with_503_if_the_protocol_did_not() -> None:
    """The queue, not the early check, is the rule: a socket that reaches the app while the
    slots and the queue are taken is refused 503 by the app."""
    admission = Admission(Settings(max_handshakes=1), Metrics().refusals, 1024)
    assert await admission.handshakes.enter()
    queue = [asyncio.ensure_future(admission.handshakes.enter()) for _ in range(4)]
    await wait_for(lambda: admission.handshakes.waiting == 4)
    scope: dict[str, Any] = {"type": "websocket", "client": ("198.51.100.4", 5000),
                             "extensions": {"websocket.http.response": {}}}  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    await admission.serve(scope, noop, send, noop)
    assert [m["type"] for m in sent] == [
        "websocket.http.response.start", "websocket.http.response.body"
    ]  # fmt: skip
    assert sent[0]["status"] == 503
    assert (b"retry-after", b"5") in sent[0]["headers"]
    for _ in range(5):
        admission.handshakes.leave()
    assert all(await asyncio.gather(*queue))
    assert admission.handshakes.free == 1


async def noop(*_: Any) -> Any:
    return {"type": "websocket.connect"}


async def test_without_asgi_denial_responses_a_refusal_is_a_close_before_accept() -> None:
    """Under an ASGI server without the `websocket.http.response` extension, a socket past
    the per-address cap is closed before it is accepted (such a server answers 403)."""
    admission = Admission(Settings(max_connections_per_address=1), Metrics().refusals, 1024)
    scope: dict[str, Any] = {"type": "websocket", "client": ("198.51.100.4", 5000)}
    held, sent = asyncio.Event(), []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await held.wait()

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    first = asyncio.ensure_future(admission.serve(scope, receive, send, app))
    await wait_for(lambda: admission.open_sockets("198.51.100.4") == 1)
    await admission.serve(scope, receive, send, app)
    assert sent == [{"type": "websocket.close", "code": 1013}]
    held.set()
    await first
    assert admission.open_sockets("198.51.100.4") == 0


def test_changed_uvicorn_http_internals_turn_our_http_protocol_off(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    monkeypatch.setattr(HttpToolsProtocol, "on_message_begin", lambda self, extra: None)
    assert fast_path.problems() == ["HttpToolsProtocol.on_message_begin(self) is gone or changed"]
    chosen = fast_path.options(settings)
    assert (chosen["http"], chosen["ws"]) == ("httptools", "websockets-sansio")
