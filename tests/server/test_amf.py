"""AMF0 (issue 16): what RTMP's commands and the stream's metadata are written in."""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.broadcast import amf
from server.broadcast.amf import UNDEFINED, AmfError, EcmaArray, TypedObject, decode, encode


def test_each_type_has_its_marker_and_bytes() -> None:
    assert encode(1.5) == b"\x00" + struct.pack(">d", 1.5)
    assert encode(3) == b"\x00" + struct.pack(">d", 3.0)
    assert encode(True, False) == b"\x01\x01\x01\x00"
    assert encode("live") == b"\x02\x00\x04live"
    assert encode(None) == b"\x05"
    assert encode(UNDEFINED) == b"\x06"
    assert encode({"a": 1}) == b"\x03\x00\x01a\x00" + struct.pack(">d", 1) + b"\x00\x00\x09"
    assert encode(EcmaArray(a=None)) == b"\x08\x00\x00\x00\x01\x00\x01a\x05\x00\x00\x09"
    assert encode([None, "x"]) == b"\x0a\x00\x00\x00\x02\x05\x02\x00\x01x"
    assert encode(TypedObject("T", {})) == b"\x10\x00\x01T\x00\x00\x09"
    moment = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert encode(moment) == b"\x0b" + struct.pack(">dh", moment.timestamp() * 1000, 0)
    assert repr(UNDEFINED) == "UNDEFINED"


def test_a_string_over_65535_bytes_is_a_long_string() -> None:
    text = "қ" * 40_000  # 80,000 bytes in UTF-8
    raw = encode(text)
    assert raw[0] == amf.LONG_STRING
    assert struct.unpack(">I", raw[1:5])[0] == 80_000
    assert decode(raw) == [text]


def test_what_ffmpeg_sends_in_connect_decodes() -> None:
    body = (
        b"\x02\x00\x07connect\x00?\xf0\x00\x00\x00\x00\x00\x00\x03"
        b"\x00\x03app\x02\x00\x04live\x00\x04type\x02\x00\x0anonprivate"
        b"\x00\x08flashVer\x02\x00\x05FMLE/\x00\x05tcUrl\x02\x00\x05rtmp:\x00\x00\x09"
    )
    assert decode(body) == [
        "connect",
        1.0,
        {"app": "live", "type": "nonprivate", "flashVer": "FMLE/", "tcUrl": "rtmp:"},
    ]


def test_an_ecma_array_s_count_is_only_a_hint() -> None:
    # Encoders write a wrong count; the end marker decides (as ffmpeg and nginx-rtmp read it).
    raw = b"\x08\x00\x00\x00\x07\x00\x05width\x00" + struct.pack(">d", 640) + b"\x00\x00\x09"
    (value,) = decode(raw)
    assert isinstance(value, EcmaArray)
    assert value == {"width": 640.0}


def test_xml_and_typed_objects_and_dates_decode() -> None:
    raw = b"\x0f\x00\x00\x00\x03<a>" + b"\x10\x00\x01T\x00\x01x\x01\x01\x00\x00\x09"
    raw += b"\x0b" + struct.pack(">dh", 1_796_050_000_000, 0)
    assert decode(raw) == [
        "<a>",
        TypedObject("T", {"x": True}),
        datetime.fromtimestamp(1_796_050_000, tz=UTC),
    ]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x00\x00\x00", "truncated"),
        (b"\x02\x00\x05ab", "truncated"),
        (b"\x07\x00\x01", "unsupported AMF0 marker 7"),  # references: no encoder we take uses them
        (b"\x11\x02", "unsupported AMF0 marker 17"),  # the switch to AMF3
        (b"\x02\x00\x02\xff\xfe", "not UTF-8"),
        (b"\x0a\xff\xff\xff\xff\x05", "strict array longer"),
        (b"\x0a\x00\x00\x00\x01" * 40 + b"\x05", "too deep"),
        (b"\x0b" + struct.pack(">dh", 1e300, 0), "date out of range"),
        (b"\x03\x00\x01a\x05", "truncated"),  # an object without its end
    ],
)
def test_bad_amf0_raises_amf_error(raw: bytes, why: str) -> None:
    with pytest.raises(AmfError, match=why):
        decode(raw)


def test_a_property_name_over_65535_bytes_cannot_be_encoded() -> None:
    with pytest.raises(AmfError, match="longer than 65535"):
        encode({"n" * 70_000: 1})


names = st.text(max_size=8)
scalars = (
    st.floats(allow_nan=False)
    | st.booleans()
    | st.text(max_size=20)
    | st.none()
    | st.just(UNDEFINED)
    | st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(names, inner, max_size=4)
        | st.dictionaries(names, inner, max_size=4).map(EcmaArray)
    ),
    max_leaves=12,
)


@given(st.lists(values, max_size=4))
def test_any_values_survive_encode_then_decode(items: list[amf.Value]) -> None:
    decoded = decode(encode(*items))
    assert decoded == items
    for before, after in zip(items, decoded, strict=True):
        assert type(before) is type(after) or isinstance(before, float | int)
        if isinstance(before, float) and math.copysign(1, before) < 0:
            assert isinstance(after, float)
            assert math.copysign(1, after) < 0
