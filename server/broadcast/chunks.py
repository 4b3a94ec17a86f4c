"""RTMP's handshake and chunk stream, without I/O (issue 16): bytes in, bytes or messages out.

Adobe's RTMP specification 1.0, sections 5.2 and 5.3, with the FP9 digest handshake as
nginx-rtmp (ngx_rtmp_handshake.c) and librtmp (handshake.h) answer it. `server.broadcast.rtmp`
runs these over a socket.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

SET_CHUNK_SIZE, ABORT = 1, 2  # the two control messages that change how the next byte is read
MAX_CHUNK_SIZE = 16 * 1024 * 1024  # a larger Set Chunk Size is refused: 16 MiB
MAX_MESSAGE = 16 * 1024 * 1024
OUR_CHUNK_SIZE = 4096
HANDSHAKE_SIZE = 1536
DIGEST_SIZE = 32
_KEY_TAIL = bytes.fromhex("F0EEC24A8068BEE82E00D0D1029E7E576EEC5D2D29806FAB93B8E636CFEB31AE")
FMS_KEY = b"Genuine Adobe Flash Media Server 001" + _KEY_TAIL  # the server's; 36 bytes signs S1
PLAYER_KEY = b"Genuine Adobe Flash Player 001" + _KEY_TAIL  # the client's; 30 bytes sign C1
SERVER_VERSION = bytes([13, 14, 10, 13])  # what nginx-rtmp says; nonzero: "FP9 digests here"


class RtmpError(Exception):
    """The peer broke the protocol: its connection is closed, the others go on."""


# The handshake (RTMP 1.0 section 5.2, and the FP9 digests of nginx-rtmp's
# ngx_rtmp_handshake.c and librtmp's handshake.h).


def _digest_offset(packet: bytes | bytearray, base: int) -> int:
    """Where a digest sits: scheme 0 counts from byte 8, scheme 1 from byte 772."""
    return sum(packet[base : base + 4]) % 728 + base + 4


def _digest(packet: bytes | bytearray, offset: int, key: bytes) -> bytes:
    message = bytes(packet[:offset]) + bytes(packet[offset + DIGEST_SIZE :])
    return hmac.new(key, message, hashlib.sha256).digest()


def client_digest(c1: bytes) -> bytes | None:
    """The digest of an FP9 client's C1 (signed with the player's 30-byte key), or None: the
    client did the simple handshake (version zero, or no digest in either scheme)."""
    if c1[4:8] == b"\x00\x00\x00\x00":
        return None
    for base in (772, 8):
        offset = _digest_offset(c1, base)
        digest = c1[offset : offset + DIGEST_SIZE]
        if hmac.compare_digest(_digest(c1, offset, PLAYER_KEY[:30]), digest):
            return digest
    return None


def handshake_reply(c1: bytes, random: Callable[[int], bytes] = os.urandom) -> bytes:
    """S0, S1 and S2 for a client's C1.

    An FP9 client (librtmp with FP9 on, ffmpeg playing) checks S1's digest (the server's
    36-byte key) and S2's signature (keyed by the full server key over its own digest), and
    gives up when either is wrong; anyone else gets the simple handshake: S2 echoes C1."""
    digest = client_digest(c1)
    if digest is None:
        return b"\x03" + bytes(8) + random(HANDSHAKE_SIZE - 8) + c1
    s1 = bytearray(bytes(4) + SERVER_VERSION + random(HANDSHAKE_SIZE - 8))
    offset = _digest_offset(s1, 8)
    s1[offset : offset + DIGEST_SIZE] = _digest(s1, offset, FMS_KEY[:36])
    s2 = bytearray(random(HANDSHAKE_SIZE))
    key = hmac.new(FMS_KEY, digest, hashlib.sha256).digest()
    s2[-DIGEST_SIZE:] = hmac.new(key, bytes(s2[:-DIGEST_SIZE]), hashlib.sha256).digest()
    return b"\x03" + bytes(s1) + bytes(s2)


# The chunk stream (section 5.3): bytes in, whole messages out, no I/O.


@dataclass(frozen=True, slots=True)
class Message:
    """One reassembled RTMP message, its timestamp made absolute (ms)."""

    type: int
    stream_id: int
    timestamp: int
    payload: bytes
    csid: int = 3


@dataclass(slots=True)
class _ChunkStream:
    timestamp: int = 0  # the last message's absolute timestamp
    value: int = 0  # the last header's timestamp or delta (fmt 3 repeats it)
    extended: bool = False  # the last header's timestamp was in the extended field
    length: int = 0
    type: int = 0
    stream_id: int = 0
    partial: bytearray = field(default_factory=bytearray)


class ChunkReader:
    """Messages out of a peer's chunk stream fed in pieces; raises RtmpError on bad input.

    Set Chunk Size and Abort are applied here, between two chunks, because they change how
    the very next byte is read; every message (those two included) is returned in order."""

    def __init__(self, max_message: int = MAX_MESSAGE, max_buffered: int = 2 * MAX_MESSAGE) -> None:
        self.chunk_size = 128
        self._max_message = max_message
        self._max_buffered = max_buffered  # every unfinished message together
        self._buffered = 0
        self._buffer = bytearray()
        self._streams: dict[int, _ChunkStream] = {}

    def feed(self, data: bytes) -> list[Message]:
        """The messages complete after `data`."""
        self._buffer += data
        messages: list[Message] = []
        while True:
            done, message = self._chunk()
            if not done:
                return messages
            if message is not None:
                messages.append(message)

    def _basic(self) -> tuple[int, int, int] | None:
        """fmt, csid (2-65599) and the basic header's size, or None: too few bytes."""
        buffer = self._buffer
        if not buffer:
            return None
        fmt, csid = buffer[0] >> 6, buffer[0] & 0x3F
        if csid == 0:
            return None if len(buffer) < 2 else (fmt, 64 + buffer[1], 2)
        if csid == 1:
            return None if len(buffer) < 3 else (fmt, 64 + buffer[1] + buffer[2] * 256, 3)
        return fmt, csid, 1

    def _chunk(self) -> tuple[bool, Message | None]:  # noqa: C901 - the header is one table
        basic = self._basic()
        if basic is None:
            return False, None
        fmt, csid, pos = basic
        stream = self._streams.get(csid)
        if stream is None and fmt != 0:
            raise RtmpError(f"chunk stream {csid} begins with a type {fmt} header")
        stream = stream or _ChunkStream()
        buffer = self._buffer
        end = pos + (11, 7, 3, 0)[fmt]
        if len(buffer) < end:
            return False, None
        value, length, kind, stream_id = stream.value, stream.length, stream.type, stream.stream_id
        extended = stream.extended
        if fmt <= 2:
            value = int.from_bytes(buffer[pos : pos + 3], "big")
            extended = value == 0xFFFFFF
        if fmt <= 1:
            length, kind = int.from_bytes(buffer[pos + 3 : pos + 6], "big"), buffer[pos + 6]
        if fmt == 0:
            stream_id = int.from_bytes(buffer[pos + 7 : pos + 11], "little")
        starting = not stream.partial
        if not starting and fmt != 3:
            raise RtmpError(f"a type {fmt} header inside an unfinished message")
        if extended:
            if len(buffer) < end + 4:
                return False, None
            field_value = int.from_bytes(buffer[end : end + 4], "big")
            if starting:
                value, end = field_value, end + 4
            elif field_value == stream.value:
                # A continuation chunk repeats the extended timestamp (the specification,
                # ffmpeg, librtmp); a few encoders leave it out: read it only if it is there.
                end += 4
        if starting and length > self._max_message:
            raise RtmpError("a message larger than 16 MiB")
        size = min(self.chunk_size, length - len(stream.partial))
        if len(buffer) < end + size:
            return False, None
        if starting:
            stream.timestamp = value if fmt == 0 else stream.timestamp + value
        stream.value, stream.extended, stream.length, stream.type = value, extended, length, kind
        stream.stream_id = stream_id
        self._streams[csid] = stream
        self._buffered += size
        if self._buffered > self._max_buffered:
            raise RtmpError("too many unfinished messages")
        stream.partial += buffer[end : end + size]
        del buffer[: end + size]
        if len(stream.partial) < length:
            return True, None
        message = Message(
            kind, stream_id, stream.timestamp & 0xFFFFFFFF, bytes(stream.partial), csid
        )
        self._buffered -= length
        stream.partial.clear()
        self._control(message)
        return True, message

    def _control(self, message: Message) -> None:
        if message.type == SET_CHUNK_SIZE:
            size = uint32(message.payload) & 0x7FFFFFFF
            if not 1 <= size <= MAX_CHUNK_SIZE:
                raise RtmpError(f"a chunk size of {size} bytes")
            self.chunk_size = size
        elif message.type == ABORT:
            stream = self._streams.get(uint32(message.payload))
            if stream is not None:
                self._buffered -= len(stream.partial)
                stream.partial.clear()


def uint32(payload: bytes) -> int:
    """The 32-bit number a control message carries."""
    if len(payload) < 4:
        raise RtmpError("a control message shorter than 4 bytes")
    return int.from_bytes(payload[:4], "big")


def chunked(message: Message, chunk_size: int = OUR_CHUNK_SIZE) -> bytes:
    """`message` as chunks on its csid (2-63): a type 0 header, then type 3 continuations."""
    assert 2 <= message.csid < 64
    timestamp = message.timestamp & 0xFFFFFFFF
    extended = struct.pack(">I", timestamp) if timestamp >= 0xFFFFFF else b""
    header = bytes([message.csid]) + min(timestamp, 0xFFFFFF).to_bytes(3, "big")
    header += len(message.payload).to_bytes(3, "big") + bytes([message.type])
    header += struct.pack("<I", message.stream_id) + extended
    pieces = [
        message.payload[i : i + chunk_size] for i in range(0, len(message.payload), chunk_size)
    ]
    continuation = bytes([0xC0 | message.csid]) + extended
    return header + continuation.join(pieces or [b""])
