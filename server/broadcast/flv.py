"""FLV tags: the unit of media between the ingest and the ffmpeg processes (issue 16).

RTMP's audio (8), video (9) and data (18) messages are FLV tags without the tag header; an
FLV stream is `HEADER` followed by tags, each followed by its size (E.4 of Adobe's FLV
specification, version 10.1). A sink that joins mid-stream needs the metadata and the codecs'
sequence headers first, then media from a video keyframe on: `Tag` says which is which.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

AUDIO, VIDEO, DATA = 8, 9, 18
HEADER = b"FLV\x01\x05\x00\x00\x00\x09" + b"\x00\x00\x00\x00"  # audio and video; PreviousTagSize0
TAG_HEADER = 11
AVC, HEVC_ENHANCED = 7, 0x80  # CodecID of H.264; the enhanced-RTMP flag (FourCC codecs)
AAC = 10


class FlvError(ValueError):
    """Bytes that are not an FLV stream."""


@dataclass(frozen=True, slots=True)
class Tag:
    """One FLV tag: `kind` AUDIO, VIDEO or DATA; `timestamp` in ms (32 bits); `data` its body."""

    kind: int
    timestamp: int
    data: bytes

    @property
    def keyframe(self) -> bool:
        """A video keyframe (FrameType 1): a sink may start here."""
        return self.kind == VIDEO and bool(self.data) and self.data[0] >> 4 & 0x7 == 1

    @property
    def sequence_header(self) -> bool:
        """The codec's configuration (AVC or enhanced-RTMP sequence start, AAC's
        AudioSpecificConfig), or the stream's metadata: what a late sink needs first."""
        if self.kind == DATA:
            return True
        if self.kind == VIDEO and len(self.data) >= 2:
            if self.data[0] & HEVC_ENHANCED:  # enhanced RTMP: PacketType 0 is SequenceStart
                return self.data[0] & 0x0F == 0
            return self.data[0] & 0x0F == AVC and self.data[1] == 0
        if self.kind == AUDIO and len(self.data) >= 2:
            return self.data[0] >> 4 == AAC and self.data[1] == 0
        return False

    def encode(self) -> bytes:
        """The tag as it goes in an FLV stream, with its PreviousTagSize after it."""
        size = len(self.data)
        ts = self.timestamp & 0xFFFFFFFF
        header = bytes([self.kind]) + size.to_bytes(3, "big")
        header += (ts & 0xFFFFFF).to_bytes(3, "big") + bytes([ts >> 24]) + b"\x00\x00\x00"
        return header + self.data + struct.pack(">I", TAG_HEADER + size)

    def shifted(self, by: int) -> Tag:
        """The same tag `by` ms later (a sink's clock continues across the studio's parts)."""
        return Tag(self.kind, max(0, self.timestamp + by), self.data)


class FlvReader:
    """Tags out of an FLV byte stream fed in pieces (ffmpeg's output, a file)."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._header_seen = False

    def feed(self, chunk: bytes) -> list[Tag]:
        """The tags complete after `chunk`; raises FlvError on bytes that are not FLV."""
        self._buffer += chunk
        tags: list[Tag] = []
        if not self._header_seen:
            if len(self._buffer) < len(HEADER):
                return tags
            if self._buffer[:3] != b"FLV":
                raise FlvError("not an FLV stream")
            offset = int.from_bytes(self._buffer[5:9], "big") + 4
            if len(self._buffer) < offset:
                return tags
            del self._buffer[:offset]
            self._header_seen = True
        while len(self._buffer) >= TAG_HEADER:
            kind = self._buffer[0] & 0x1F
            size = int.from_bytes(self._buffer[1:4], "big")
            end = TAG_HEADER + size + 4
            if len(self._buffer) < end:
                break
            if kind not in (AUDIO, VIDEO, DATA):
                raise FlvError(f"FLV tag of unknown type {kind}")
            ts = int.from_bytes(self._buffer[4:7], "big") | self._buffer[7] << 24
            tags.append(Tag(kind, ts, bytes(self._buffer[TAG_HEADER : TAG_HEADER + size])))
            del self._buffer[:end]
        return tags
