"""INP-1 and INP-2 of the reliability catalogue: malformed, huge and fragmented frames from a raw
WebSocket client (every frame made by hand), each case with the reaction docs/protocol.md
documents for it. `bench/reliability/admission.py` runs them against a `halyq serve` process
while a control viewer counts what it receives; tests/server/test_bad_input.py has the smaller
cases these grew from.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
REACTION_WITHIN = 1.0  # INP-1: each case gets its reaction within a second
MAX_HEAD = 16 * 1024


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    masked: bool = True,
    rsv: int = 0,
    declared: int | None = None,
) -> bytes:
    """One client frame (RFC 6455, 5.2); `declared` puts another length in its header."""
    length = len(payload) if declared is None else declared
    head = bytes([(0x80 if fin else 0) | rsv << 4 | opcode])
    bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([bit | length])
    elif length < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + mask(payload, key)


def mask(payload: bytes, key: bytes) -> bytes:
    size = len(payload)
    if not size:
        return b""
    keys = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(size, "big")


def text(value: str | bytes) -> bytes:
    return frame(OP_TEXT, value.encode() if isinstance(value, str) else value)


def comment(client_msg_id: str, body: Any, **more: Any) -> bytes:
    message = {"type": "comment", "client_msg_id": client_msg_id, "name": "Бенч", "text": body}
    return text(json.dumps(message | more))


class Raw:
    """A WebSocket client connection with nothing done for it: frames in and out as bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.head = b""
        self.sent = 0

    @classmethod
    async def open(
        cls, host: str, port: int, path: str, headers: dict[str, str] | None = None
    ) -> Raw:
        """Send the upgrade request for `path` (with a key unless `headers` says otherwise) and
        read the answer's head."""
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        raw = cls(reader, writer)
        given = {"Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
        given |= headers or {}
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Version: 13"]  # fmt: skip
        lines += [f"{name}: {value}" for name, value in given.items() if value]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        raw.head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REACTION_WITHIN * 5)
        return raw

    @property
    def status(self) -> int:
        return int(self.head.split(b" ", 2)[1])

    def header(self, name: str) -> str | None:
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    async def send(self, data: bytes) -> bool:
        """Write `data`; False once the server has closed the connection."""
        try:
            self.writer.write(data)
            await self.writer.drain()
        except ConnectionError:
            return False
        self.sent += len(data)
        return True

    async def next_frame(self, within: float) -> tuple[int, bytes] | None:
        """The server's next frame (opcode, payload); None at the end of the connection."""
        try:
            async with asyncio.timeout(within):
                head = await self.reader.readexactly(2)
                length = head[1] & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
                return head[0] & 0x0F, await self.reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None

    def close(self) -> None:
        with contextlib.suppress(ConnectionError):
            self.writer.close()


# What a case expects: each is a predicate over one server frame, with a description.


@dataclass(frozen=True, slots=True)
class Reaction:
    what: str
    matches: Callable[[int, bytes], bool]


def _json(opcode: int, payload: bytes) -> dict[str, Any]:
    if opcode != OP_TEXT:
        return {}
    try:
        found = json.loads(payload)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def error(code: str) -> Reaction:
    return Reaction(f"error {code}", lambda o, p: _json(o, p).get("error") == code)


def rejected(reason: str) -> Reaction:
    def matches(opcode: int, payload: bytes) -> bool:
        found = _json(opcode, payload)
        return found.get("type") == "rejected" and found.get("reason") == reason

    return Reaction(f"rejected {reason}", matches)


def acked() -> Reaction:
    return Reaction("ack", lambda o, p: _json(o, p).get("type") == "ack")


def closed(code: int) -> Reaction:
    def matches(opcode: int, payload: bytes) -> bool:
        return opcode == OP_CLOSE and payload[:2] == struct.pack("!H", code)

    return Reaction(f"close {code}", matches)


def pong(payload: bytes) -> Reaction:
    return Reaction("pong", lambda o, p: o == OP_PONG and p == payload)


@dataclass(frozen=True, slots=True)
class Case:
    """Frames sent on a fresh viewer socket (`query` and `path` change where it connects), and
    the reaction to wait for; `status` instead expects the upgrade to be refused."""

    name: str
    frames: tuple[bytes, ...] = ()
    reaction: Reaction | None = None
    path: str | None = None
    query: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 101


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    expected: str
    passed: bool
    seconds: float
    detail: str = ""


DEEP = 10_000
PING = b"p" * 125

COMMAND = '{"type": "command", "cmd": "c1", "action": "approve", "item": "1-0"}'
NUMBER_ID = '{"type": "comment", "client_msg_id": 7}'
HUGE_NUMBER = '{"type": "comment", "client_msg_id": "i1", "text": 1e999}'
NAN = '{"type": "comment", "client_msg_id": "i2", "text": NaN}'
SURROGATE = '{"type": "comment", "client_msg_id": "i6", "text": "\\ud800"}'
TWICE = '{"type": "vote", "type": "comment", "client_msg_id": "i7", "text": "Екі рет"}'
DISTRICT = '{"type": "question", "client_msg_id": "i8", "text": "Су?", "district": 7}'
BAD_UTF8 = b'{"type": "comment", "text": "\xed\xa0\x80"}'

INP1: tuple[Case, ...] = (
    Case("not JSON", (text("not json at all"),), error("invalid_json")),
    Case("a JSON array", (text("[1, 2, 3]"),), error("invalid_json")),
    Case("a JSON string", (text('"comment"'),), error("invalid_json")),
    Case("JSON null", (text("null"),), error("invalid_json")),
    Case("a truncated object", (text('{"type": "comment"'),), error("invalid_json")),
    Case("an empty frame", (text(""),), error("invalid_json")),
    Case("10,000-deep arrays", (text("[" * DEEP + "]" * DEEP),), error("invalid_json")),
    Case("10,000-deep objects", (text('{"a":' * DEEP + "1" + "}" * DEEP),), error("invalid_json")),
    Case("no type", (text('{"text": "no type"}'),), error("unknown_type")),
    Case("an unknown type", (text('{"type": "approve", "id": "1-0"}'),), error("unknown_type")),
    Case("a type that is not text", (text('{"type": 7}'),), error("unknown_type")),
    Case(
        "a second hello (auth)", (text('{"type": "hello", "token": "x"}'),), error("unknown_type")
    ),
    Case("a staff command before any sign-in", (text(COMMAND),), error("forbidden")),
    Case("a comment without an id", (text('{"type": "comment", "text": "x"}'),), error("invalid")),
    Case("an id with bad characters", (comment("a b*", "x"),), error("invalid")),
    Case("an id of 65 characters", (comment("x" * 65, "x"),), error("invalid")),
    Case("an id that is a number", (text(NUMBER_ID),), error("invalid")),
    Case("text 1e999", (text(HUGE_NUMBER),), rejected("invalid")),
    Case("text NaN", (text(NAN),), rejected("invalid")),
    Case("text a list", (comment("i3", ["a", "b"]),), rejected("invalid")),
    Case("a name that is an object", (comment("i4", "x", name={"a": 1}),), rejected("invalid")),
    Case("only invisible characters", (comment("i5", "\u200b\u2066\u0000"),), rejected("invalid")),
    Case("a lone surrogate", (text(SURROGATE),), rejected("invalid")),
    Case("duplicate keys: the last counts", (text(TWICE),), acked()),
    Case("a vote without a question", (text('{"type": "vote"}'),), error("invalid")),
    Case("a vote for a number", (text('{"type": "vote", "question": 7}'),), error("invalid")),
    Case("a district that is a number", (text(DISTRICT),), rejected("invalid")),
    Case("a binary frame", (frame(OP_BINARY, b"\x00\x01"),), error("binary")),
    Case("invalid UTF-8", (text(BAD_UTF8),), closed(1007)),
    Case("51 bad frames", tuple(text("{") for _ in range(51)), closed(1008)),
    Case("a reserved opcode", (frame(0x3, b"x"),), closed(1002)),
    Case("an unmasked frame", (frame(OP_TEXT, b"{}", masked=False),), closed(1002)),
    Case("RSV1 without an extension", (frame(OP_TEXT, b"{}", rsv=4),), closed(1002)),
    Case("a ping of 125 bytes", (frame(OP_PING, PING),), pong(PING)),
    Case("an unknown meeting (channel)", (), closed(4404), path="/ws/meetings/no-such-meeting"),
    Case("a 300-character meeting id", (), closed(4404), path="/ws/meetings/" + "m" * 300),
    Case("an invalid after", (), error("invalid_after"), query="?after=yesterday"),
    Case("an upgrade without a key", headers={"Sec-WebSocket-Key": ""}, status=400),
    Case("another site's Origin", headers={"Origin": "https://evil.example"}, status=403),
)


FRAGMENTS = 10_000
FRAGMENT = b"x" * 7  # 10,000 of them: 70,000 bytes, over the 64 KiB limit
HUGE = 16 * 1024 * 1024

INP2: tuple[Case, ...] = (
    Case("a 65,537-byte frame", (text(b"x" * 65_537),), closed(1009)),
    Case("a frame declaring 2^40 bytes", (frame(OP_TEXT, declared=1 << 40),), closed(1009)),
    Case(
        "10,000 continuation fragments (70,000 bytes)",
        (frame(OP_TEXT, FRAGMENT, fin=False),
         *(frame(OP_CONT, FRAGMENT, fin=i == FRAGMENTS - 2) for i in range(FRAGMENTS - 1))),
        closed(1009),
    ),
    Case("a comment of 2,001 characters", (comment("long", "я" * 2_001),), rejected("too_long")),
)  # fmt: skip


async def run_case(host: str, port: int, meeting_path: str, case: Case) -> Outcome:
    """Connect, send the case's frames, and wait at most a second for its reaction."""
    expected = case.reaction.what if case.reaction else f"HTTP {case.status}"
    raw = await Raw.open(host, port, (case.path or meeting_path) + case.query, case.headers)
    try:
        if raw.status != case.status or case.reaction is None:
            return Outcome(case.name, expected, raw.status == case.status, 0.0, f"{raw.status}")
        began = time.monotonic()
        await raw.send(b"".join(case.frames))  # all at once: the clock runs from here
        return await _react(raw, case, expected, began)
    finally:
        raw.close()


async def _react(raw: Raw, case: Case, expected: str, began: float) -> Outcome:
    """Read until the case's reaction, at most a second after its first frame was sent."""
    assert case.reaction is not None
    seen = []
    while (left := began + REACTION_WITHIN - time.monotonic()) > 0:
        got = await raw.next_frame(left)
        if got is None:
            break
        if case.reaction.matches(*got):
            return Outcome(case.name, expected, True, time.monotonic() - began)
        seen.append(_describe(*got))
    detail = "; ".join(s for s in seen if "events" not in s and "hello" not in s)[:300]
    return Outcome(case.name, expected, False, time.monotonic() - began, detail or "nothing")


def _describe(opcode: int, payload: bytes) -> str:
    if opcode == OP_CLOSE:
        return f"close {struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else 1005}"
    return payload[:120].decode(errors="replace") if opcode == OP_TEXT else f"opcode {opcode}"


async def huge_frame(host: str, port: int, meeting_path: str) -> Outcome:
    """INP-2: a 16 MiB frame is refused from its header: the close comes before the payload."""
    raw = await Raw.open(host, port, meeting_path)
    began = time.monotonic()
    try:
        await raw.send(frame(OP_TEXT, declared=HUGE))  # the header alone (and its mask key)
        outcome = await _react(raw, Case("16 MiB", reaction=closed(1009)), "close 1009", began)
        chunk = b"\0" * (1 << 20)
        for _ in range(HUGE // len(chunk)):  # the rest of the payload, until the server is gone
            if not await raw.send(chunk):
                break
        detail = (
            f"{raw.sent} bytes written before the write failed; closed in {outcome.seconds:.3f} s"
        )
        return Outcome(
            "a 16 MiB frame", "close 1009", outcome.passed, time.monotonic() - began, detail
        )
    finally:
        raw.close()


async def deflate_offer(host: str, port: int, meeting_path: str) -> Outcome:
    """INP-2: a handshake offering permessage-deflate is accepted without it."""
    offer = {"Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"}
    raw = await Raw.open(host, port, meeting_path, offer)
    raw.close()
    extensions = raw.header("Sec-WebSocket-Extensions")
    return Outcome(
        "permessage-deflate offered", "101 without Sec-WebSocket-Extensions",
        raw.status == 101 and extensions is None, 0.0, f"{raw.status} {extensions or ''}".strip(),
    )  # fmt: skip
