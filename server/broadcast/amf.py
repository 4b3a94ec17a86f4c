"""AMF0, the encoding of RTMP's commands and of the stream's metadata (issue 16).

Adobe's "Action Message Format -- AMF 0" (2007): what OBS, vMix and ffmpeg send in `connect`,
`publish` and `@setDataFrame`. Decoding is bounded (nesting depth, lengths checked against the
bytes present) because the bytes come from the network before the stream key is checked.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime

NUMBER, BOOLEAN, STRING, OBJECT, NULL, UNDEFINED_MARKER = 0, 1, 2, 3, 5, 6
ECMA_ARRAY, OBJECT_END, STRICT_ARRAY, DATE, LONG_STRING, XML, TYPED_OBJECT = (
    8,
    9,
    10,
    11,
    12,
    15,
    16,
)
MAX_DEPTH = 32


class AmfError(ValueError):
    """Bytes that are not AMF0 we can read (truncated, too deep, an unsupported marker)."""


class Undefined:
    """AMF0's `undefined`, distinct from `null` (None)."""

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED = Undefined()


class EcmaArray(dict[str, "Value"]):
    """An associative array (marker 8): what `onMetaData` usually carries."""


@dataclass(frozen=True, slots=True)
class TypedObject:
    """An object with a class name (marker 16)."""

    name: str
    fields: dict[str, Value]


Value = (
    float
    | int
    | bool
    | str
    | None
    | Undefined
    | datetime
    | TypedObject
    | dict[str, "Value"]
    | list["Value"]
)


def encode(*values: Value) -> bytes:
    """The values, one after the other, as AMF0."""
    return b"".join(_encode(value) for value in values)


def _encode(value: Value) -> bytes:  # noqa: C901 - one branch per marker, a table in code
    if value is None:
        return bytes([NULL])
    if isinstance(value, Undefined):
        return bytes([UNDEFINED_MARKER])
    if isinstance(value, bool):
        return bytes([BOOLEAN, int(value)])
    if isinstance(value, int | float):
        return bytes([NUMBER]) + struct.pack(">d", float(value))
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) > 0xFFFF:
            return bytes([LONG_STRING]) + struct.pack(">I", len(raw)) + raw
        return bytes([STRING]) + _short(value)
    if isinstance(value, datetime):
        return bytes([DATE]) + struct.pack(">dh", value.timestamp() * 1000, 0)
    if isinstance(value, TypedObject):
        return bytes([TYPED_OBJECT]) + _short(value.name) + _properties(value.fields)
    if isinstance(value, EcmaArray):
        return bytes([ECMA_ARRAY]) + struct.pack(">I", len(value)) + _properties(value)
    if isinstance(value, dict):
        return bytes([OBJECT]) + _properties(value)
    return bytes([STRICT_ARRAY]) + struct.pack(">I", len(value)) + encode(*value)


def _short(text: str) -> bytes:
    raw = text.encode()
    if len(raw) > 0xFFFF:
        raise AmfError("a property name or class name longer than 65535 bytes")
    return struct.pack(">H", len(raw)) + raw


def _properties(fields: dict[str, Value]) -> bytes:
    body = b"".join(_short(name) + _encode(value) for name, value in fields.items())
    return body + b"\x00\x00" + bytes([OBJECT_END])


def decode(data: bytes) -> list[Value]:
    """Every value in `data`; raises AmfError on anything else."""
    reader = _Reader(data)
    values: list[Value] = []
    while reader.offset < len(data):
        values.append(reader.value(0))
    return values


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.offset = 0

    def take(self, size: int) -> bytes:
        if self.offset + size > len(self.data):
            raise AmfError("truncated AMF0")
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    def unpack(self, fmt: str) -> tuple[float | int, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def text(self, long: bool = False) -> str:
        size = int(self.unpack(">I" if long else ">H")[0])
        try:
            return self.take(size).decode()
        except UnicodeDecodeError as error:
            raise AmfError("a string that is not UTF-8") from error

    def value(self, depth: int) -> Value:  # noqa: C901 - one branch per marker, a table in code
        if depth > MAX_DEPTH:
            raise AmfError("AMF0 nested too deep")
        marker = self.take(1)[0]
        if marker == NUMBER:
            return float(self.unpack(">d")[0])
        if marker == BOOLEAN:
            return self.take(1) != b"\x00"
        if marker == STRING:
            return self.text()
        if marker in (LONG_STRING, XML):
            return self.text(long=True)
        if marker == NULL:
            return None
        if marker == UNDEFINED_MARKER:
            return UNDEFINED
        if marker == OBJECT:
            return self.properties(depth, {})
        if marker == ECMA_ARRAY:
            self.take(4)  # the count is a hint only: encoders get it wrong; the end marker rules
            return self.properties(depth, EcmaArray())
        if marker == TYPED_OBJECT:
            name = self.text()
            return TypedObject(name, self.properties(depth, {}))
        if marker == STRICT_ARRAY:
            count = int(self.unpack(">I")[0])
            if count > len(self.data) - self.offset:  # each value takes a byte at least
                raise AmfError("a strict array longer than its message")
            return [self.value(depth + 1) for _ in range(count)]
        if marker == DATE:
            millis, _zone = self.unpack(">dh")
            return _date(float(millis))
        raise AmfError(f"unsupported AMF0 marker {marker}")

    def properties(self, depth: int, into: dict[str, Value]) -> dict[str, Value]:
        while True:
            name = self.text()
            if not name and self.data[self.offset : self.offset + 1] == bytes([OBJECT_END]):
                self.offset += 1
                return into
            into[name] = self.value(depth + 1)


def _date(millis: float) -> datetime:
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise AmfError("a date out of range") from error
