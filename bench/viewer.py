"""A viewer as cheap as it gets: a hand-made WebSocket client (RFC 6455) on an asyncio Protocol.

No library, no task per connection: the handshake is written by hand, server frames are parsed in
place (counted, and for sampled viewers timed), pings are answered, and nothing else is sent.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import struct
import time
from collections import Counter
from typing import cast

from bench.histogram import Histogram

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
HELLO = b'{"type":"hello"'
POSTED = b'"comment.posted"'
# The commenter writes its send time as `bench t=1_763_614_800_123_456_789 `: underscores keep
# every digit run short (7 digits in a row look like a phone number to the server's filter) and
# int() reads them as they are.
STAMP = re.compile(rb"bench t=([0-9_]+) ")
MAX_HEADER = 16 * 1024

OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
FIN = 0x80
CLOSE_NORMAL = 1000
CLOSE_ABNORMAL = 1006
CLOSE_PROTOCOL = 1002


class HandshakeError(ConnectionError):
    """The server did not switch protocols, or answered with the wrong accept key."""


class ProtocolError(ConnectionError):
    """The server broke RFC 6455; the connection is dropped."""


class Tally:
    """What all viewers of one generator process saw; viewers add to it in place.

    `measuring` is switched on for the measured window: events are counted while it is on.
    Latency is recorded for sampled viewers, for events whose send stamp lies in `window_ns`.
    """

    __slots__ = (
        "all_closed",
        "close_codes",
        "connected",
        "dropped",
        "events",
        "frames",
        "last_sample",
        "latency",
        "measuring",
        "open",
        "window_ns",
    )

    def __init__(self) -> None:
        self.measuring = False
        self.window_ns = (0, 0)
        self.events = 0
        self.frames = 0
        self.open = 0
        self.connected = 0
        self.dropped = 0
        self.close_codes: Counter[int] = Counter()
        self.latency = Histogram()
        self.last_sample = 0.0  # monotonic time of the latest in-window sample
        self.all_closed: asyncio.Event | None = None  # set when `open` falls to 0 at the end

    def sample(self, data: bytes, start: int, stop: int) -> None:
        """Record the delivery latency of every stamped event in data[start:stop]."""
        now = time.time_ns()
        low, high = self.window_ns
        record = self.latency.record
        found = False
        for stamp in STAMP.findall(data, start, stop):  # findall: faster than finditer here
            sent = int(stamp)
            if low <= sent < high:
                record((now - sent) // 1000)
                found = True
        if found:
            self.last_sample = time.monotonic()


def handshake_request(host: str, port: int, path: str) -> tuple[bytes, bytes]:
    """The upgrade request for `path` and the Sec-WebSocket-Accept value the server must send."""
    key = base64.b64encode(os.urandom(16))
    accept = base64.b64encode(hashlib.sha1(key + GUID, usedforsecurity=False).digest())
    request = (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key.decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "User-Agent: halyq-bench\r\n\r\n"
    ).encode()
    return request, accept


def control_frame(opcode: int, payload: bytes = b"") -> bytes:
    """A masked client control frame (control payloads are at most 125 bytes)."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i & 3] for i, byte in enumerate(payload[:125]))
    return bytes((FIN | opcode, 0x80 | len(masked))) + mask + masked


def frame_bounds(data: bytes, pos: int) -> tuple[int, int] | None:
    """Where the payload of the frame at `pos` starts and stops, or None if it is incomplete.

    Raises ProtocolError for a masked frame: servers never mask (RFC 6455, 5.1).
    """
    end = len(data)
    if end - pos < 2:
        return None
    length = data[pos + 1]
    if length & 0x80:
        raise ProtocolError("the server sent a masked frame")
    start = pos + 2
    if length == 126:
        if end - pos < 4:
            return None
        (length,) = struct.unpack_from("!H", data, pos + 2)
        start = pos + 4
    elif length == 127:
        if end - pos < 10:
            return None
        (length,) = struct.unpack_from("!Q", data, pos + 2)
        start = pos + 10
    stop = start + length
    return (start, stop) if stop <= end else None


class Viewer(asyncio.Protocol):
    """One viewer's connection; `ready` resolves once the server's hello has arrived."""

    __slots__ = (
        "accept",
        "buffer",
        "close_code",
        "closing",
        "fragments",
        "greeted",
        "ready",
        "request",
        "sampled",
        "tally",
        "transport",
        "upgraded",
    )

    def __init__(
        self,
        tally: Tally,
        request: tuple[bytes, bytes],
        ready: asyncio.Future[None],
        *,
        sampled: bool,
    ) -> None:
        self.tally = tally
        self.request, self.accept = request
        self.ready: asyncio.Future[None] | None = ready
        self.sampled = sampled
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.upgraded = False
        self.greeted = False
        self.closing = False
        self.close_code = CLOSE_ABNORMAL
        self.fragments: bytearray | None = None

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they have its methods.
        self.transport = cast(asyncio.Transport, transport)
        self.tally.open += 1
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.buffer:
            data, self.buffer = self.buffer + data, b""
        if not self.upgraded:
            rest = self._handshake(data)
            if rest is None:
                return
            data = rest
        pos = 0
        try:
            while (bounds := frame_bounds(data, pos)) is not None:
                start, stop = bounds
                self._frame(data[pos], data, start, stop)
                pos = stop
        except ProtocolError as error:
            self._fail(error)
            return
        if pos < len(data):
            self.buffer = data[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        tally = self.tally
        tally.open -= 1
        if tally.open == 0 and tally.all_closed is not None:
            tally.all_closed.set()
        if self.greeted and not self.closing:
            tally.dropped += 1
            tally.close_codes[self.close_code] += 1
        self._resolve(exc or ConnectionError(f"closed before hello ({self.close_code})"))
        self.transport = None

    # Closing from our side

    def close(self) -> None:
        """Start the closing handshake; the server answers and closes the TCP connection."""
        if self.transport is not None and not self.closing:
            self.closing = True
            self.transport.write(control_frame(OP_CLOSE, struct.pack("!H", CLOSE_NORMAL)))

    def abort(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    # Parsing

    def _handshake(self, data: bytes) -> bytes | None:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            if len(data) > MAX_HEADER:
                self._fail(HandshakeError("response headers too long"))
            else:
                self.buffer = data
            return None
        head = data[:end].lower()
        if not head.startswith(b"http/1.1 101"):
            self._fail(HandshakeError(data[: data.find(b"\r\n")].decode("latin-1")))
            return None
        if b"\r\nsec-websocket-accept: " + self.accept.lower() not in head:
            self._fail(HandshakeError("wrong Sec-WebSocket-Accept"))
            return None
        self.upgraded = True
        return data[end + 4 :]

    def _frame(self, head: int, data: bytes, start: int, stop: int) -> None:
        opcode = head & 0x0F
        if opcode == OP_TEXT and head & FIN:
            self._message(data, start, stop)
        elif opcode == OP_PING:
            self._send(control_frame(OP_PONG, data[start:stop]))
        elif opcode == OP_CLOSE:
            self._closed_by_server(data[start:stop])
        elif opcode in (OP_TEXT, OP_BINARY):
            # The first fragment of a message (binary payloads are kept only to skip them).
            self.fragments = bytearray(data[start:stop]) if opcode == OP_TEXT else None
        elif opcode == OP_CONTINUATION and self.fragments is not None:
            self.fragments += data[start:stop]
            if head & FIN:
                message, self.fragments = bytes(self.fragments), None
                self._message(message, 0, len(message))

    def _message(self, data: bytes, start: int, stop: int) -> None:
        tally = self.tally
        if not self.greeted:
            if data.startswith(HELLO, start):
                self.greeted = True
                tally.connected += 1
                self._resolve(None)
            return
        if tally.measuring:
            tally.frames += 1
            tally.events += data.count(POSTED, start, stop)
        if self.sampled:
            tally.sample(data, start, stop)

    def _closed_by_server(self, payload: bytes) -> None:
        self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        if not self.closing:  # echo the close, as the RFC asks; the server then ends TCP
            self._send(control_frame(OP_CLOSE, payload[:2]))
        if self.transport is not None:
            self.transport.close()

    def _send(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def _fail(self, error: Exception) -> None:
        self.close_code = CLOSE_PROTOCOL
        self._resolve(error)
        self.abort()

    def _resolve(self, error: BaseException | None) -> None:
        ready, self.ready = self.ready, None
        if ready is None or ready.done():
            return
        if error is None:
            ready.set_result(None)
        else:
            ready.set_exception(error)
