"""The RTMP ingest (issue 16): real ffmpeg studios, a raw client for the protocol's corners,
and the handshake and chunk stream (server/broadcast/chunks.py) by hand-made bytes."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import logging
import os
import re
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server import children
from server.broadcast import amf
from server.broadcast.chunks import ChunkReader, Message, RtmpError, chunked, handshake_reply
from server.broadcast.ffmpeg import ffmpeg_program
from server.broadcast.flv import AUDIO, DATA, HEADER, VIDEO, Tag
from server.broadcast.rtmp import (
    AMF0_COMMAND,
    AMF0_DATA,
    AMF3_COMMAND,
    AMF3_DATA,
    RtmpServer,
    media_tag,
    start_rtmp,
)
from tests.helpers import TIMEOUT, wait_for
from tests.media import Session

pytestmark = pytest.mark.anyio

TAIL = bytes.fromhex("F0EEC24A8068BEE82E00D0D1029E7E576EEC5D2D29806FAB93B8E636CFEB31AE")
PLAYER_KEY = b"Genuine Adobe Flash Player 001" + TAIL
SERVER_KEY = b"Genuine Adobe Flash Media Server 001" + TAIL
STUDIO = [
    "-re", "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30", "-f", "lavfi", "-i",
    "sine=frequency=440", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
    "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
]  # fmt: skip


class Studios:
    """authorize(): a session per known key of the app `live`; a key in `failing` raises."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.calls: list[tuple[str, str]] = []
        self.peers: list[str] = []
        self.failing: set[str] = set()

    def add(self, key: str) -> Session:
        self.sessions[key] = Session()
        return self.sessions[key]

    async def __call__(self, app: str, key: str, peer: str) -> Session | None:
        self.calls.append((app, key))
        self.peers.append(peer)
        if key in self.failing:
            raise RuntimeError(f"the store failed for {key}")
        return self.sessions.get(key) if app == "live" else None


@asynccontextmanager
async def ingest(
    handshake_timeout: float = 3.0, idle_timeout: float = 3.0
) -> AsyncIterator[tuple[RtmpServer, Studios]]:
    studios = Studios()
    server = await start_rtmp(
        "127.0.0.1", 0, studios, handshake_timeout=handshake_timeout, idle_timeout=idle_timeout
    )
    try:
        yield server, studios
    finally:
        await server.aclose()
        for writer in OPEN:
            writer.close()
        OPEN.clear()


OPEN: list[asyncio.StreamWriter] = []  # the raw clients' sockets, closed with their ingest


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    OPEN.append(writer)
    return reader, writer


@asynccontextmanager
async def ffmpeg(*arguments: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """An ffmpeg child, killed by its PID if it is still running at the end."""
    process = await asyncio.create_subprocess_exec(
        ffmpeg_program(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        *arguments,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=children.preexec(),
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()


def studio(port: int, key: str, seconds: float | None) -> list[str]:
    bounded = ["-t", str(seconds)] if seconds else []
    return [*STUDIO, *bounded, "-f", "flv", f"rtmp://127.0.0.1:{port}/live/{key}"]


async def finished(process: asyncio.subprocess.Process) -> tuple[int, str]:
    _, stderr = await asyncio.wait_for(process.communicate(), 2 * TIMEOUT)
    assert process.returncode is not None
    return process.returncode, stderr.decode(errors="replace")


def span(tags: list[Tag]) -> int:
    return tags[-1].timestamp - tags[0].timestamp


def assert_in_order(tags: list[Tag]) -> None:
    for kind in (AUDIO, VIDEO):
        stamps = [tag.timestamp for tag in tags if tag.kind == kind]
        assert stamps == sorted(stamps)
        gaps = [later - earlier for earlier, later in itertools.pairwise(stamps)]
        assert max(gaps) < 250, "a gap: the publish was disturbed"


# Real ffmpeg as the studio.


async def test_a_studio_s_three_seconds_arrive_as_flv_tags_ffmpeg_decodes(tmp_path: Path) -> None:
    async with ingest() as (server, studios):
        session = studios.add("meeting1-secret")
        async with ffmpeg(*studio(server.port, "meeting1-secret", 3)) as process:
            assert await finished(process) == (0, "")
        await wait_for(lambda: session.reasons == [""], what="closed('') on a clean end")
        await wait_for(lambda: server.connections == 0, what="the connection gone")
    assert studios.calls == [("live", "meeting1-secret")]
    assert re.fullmatch(r"127\.0\.0\.1:\d+", studios.peers[0])
    metadata, first_video, first_audio = (
        session.tags[0],
        session.kinds(VIDEO)[0],
        session.kinds(AUDIO)[0],
    )
    assert metadata.kind == DATA
    name, fields = amf.decode(metadata.data)[:2]
    assert name == "onMetaData"
    assert isinstance(fields, dict)
    assert fields["width"] == 640
    assert first_video.sequence_header
    assert first_audio.sequence_header
    media = [tag for tag in session.tags if not tag.sequence_header]
    assert session.tags.index(media[0]) > session.tags.index(first_audio)
    assert next(tag for tag in media if tag.kind == VIDEO).keyframe
    assert len([tag for tag in media if tag.keyframe]) >= 3  # -g 30 over 90 frames
    assert_in_order(session.tags)
    assert 2800 <= span(session.kinds(VIDEO)) <= 3100
    flv = tmp_path / "studio.flv"
    flv.write_bytes(HEADER + b"".join(tag.encode() for tag in session.tags))
    async with ffmpeg("-i", str(flv), "-progress", "pipe:1", "-f", "null", "-") as decoder:
        stdout, stderr = await asyncio.wait_for(decoder.communicate(), TIMEOUT)
    assert decoder.returncode == 0
    assert stderr == b""  # decodes cleanly: not one error
    decoded = [int(line.split(b"=")[1]) for line in stdout.splitlines() if b"out_time_us=" in line]
    assert abs(decoded[-1] / 1e6 - 3.0) < 0.2


async def test_two_meetings_publish_at_once_undisturbed_by_a_refusal_and_garbage() -> None:
    async with ingest() as (server, studios):
        first, second = studios.add("m1-key"), studios.add("m2-key")
        async with (
            ffmpeg(*studio(server.port, "m1-key", 2)) as one,
            ffmpeg(*studio(server.port, "m2-key", 2)) as two,
        ):
            await wait_for(lambda: len(first.tags) > 10 and len(second.tags) > 10, what="both live")
            async with ffmpeg(*studio(server.port, "m1-wrong", 1)) as wrong:
                code, stderr = await finished(wrong)
            assert code != 0
            assert "wrong stream key or meeting not live" in stderr
            reader, writer = await connect(server.port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""  # closed at once
            writer.close()
            assert await finished(one) == (0, "")
            assert await finished(two) == (0, "")
        await wait_for(lambda: first.reasons == second.reasons == [""], what="both ended")
    assert ("live", "m1-wrong") in studios.calls
    for session in (first, second):
        assert_in_order(session.tags)
        assert 1800 <= span(session.kinds(VIDEO)) <= 2100


async def test_a_wrong_key_is_refused_and_nothing_reaches_a_session() -> None:
    async with ingest() as (server, studios):
        session = studios.add("m1-right")
        async with ffmpeg(*studio(server.port, "m1-wrong", 1)) as process:
            code, stderr = await finished(process)
        await wait_for(lambda: server.connections == 0, what="the refused connection closed")
    assert code != 0
    assert "wrong stream key or meeting not live" in stderr
    assert studios.calls == [("live", "m1-wrong")]
    assert session.tags == []
    assert session.reasons == []


async def test_a_killed_studio_closes_its_session_with_a_reason() -> None:
    async with ingest() as (server, studios):
        session = studios.add("m1-key")
        async with ffmpeg(*studio(server.port, "m1-key", None)) as process:
            await wait_for(lambda: len(session.kinds(VIDEO)) > 15, what="half a second of video")
            process.kill()
            await process.wait()
            await wait_for(lambda: session.reasons != [], what="the session closed")
    assert session.reasons == ["connection lost"]


async def test_ffmpeg_playing_checks_our_fp9_digests_then_is_refused() -> None:
    # ffmpeg as a player verifies S1's digest and S2's signature ("Server response validating
    # failed", "Signature mismatch" otherwise): getting to "play" proves the FP9 handshake.
    async with ingest() as (server, studios):
        url = f"rtmp://127.0.0.1:{server.port}/live/m1-key"
        async with ffmpeg("-i", url, "-f", "null", "-") as process:
            code, stderr = await finished(process)
    assert code != 0
    assert "we only ingest" in stderr
    assert studios.calls == []


# A raw client, for what ffmpeg does not do.


def fp9_c1(base: int) -> bytes:
    """An FP9 C1 (librtmp's, FP10 on: base 772; ffmpeg's: base 8) signed with the player key."""
    c1 = bytearray(os.urandom(1536))
    c1[:8] = bytes([0, 0, 0, 0, 9, 0, 124, 2])
    offset = sum(c1[base : base + 4]) % 728 + base + 4
    c1[offset : offset + 32] = hmac.new(
        PLAYER_KEY[:30], bytes(c1[:offset] + c1[offset + 32 :]), hashlib.sha256
    ).digest()
    return bytes(c1)


def s1_digest(s1: bytes) -> bytes | None:
    """The server digest as librtmp finds it: base 772 first, then base 8."""
    for base in (772, 8):
        offset = sum(s1[base : base + 4]) % 728 + base + 4
        mac = hmac.new(SERVER_KEY[:36], s1[:offset] + s1[offset + 32 :], hashlib.sha256)
        if mac.digest() == s1[offset : offset + 32]:
            return s1[offset : offset + 32]
    return None


@pytest.mark.parametrize("base", [772, 8])
def test_an_fp9_client_can_verify_s1_and_s2(base: int) -> None:
    c1 = fp9_c1(base)
    reply = handshake_reply(c1)
    assert len(reply) == 1 + 1536 + 1536
    assert reply[0] == 3
    s1, s2 = reply[1:1537], reply[1537:]
    assert s1[4:8] != bytes(4)
    assert s1_digest(s1) is not None
    offset = sum(c1[base : base + 4]) % 728 + base + 4
    key = hmac.new(SERVER_KEY, c1[offset : offset + 32], hashlib.sha256).digest()
    assert hmac.new(key, s2[:-32], hashlib.sha256).digest() == s2[-32:]


@pytest.mark.parametrize("version", [bytes(4), bytes([9, 0, 124, 2])])
def test_a_simple_or_unsigned_c1_gets_the_simple_handshake(version: bytes) -> None:
    c1 = bytes(4) + version + os.urandom(1528)  # a nonzero version without a digest too
    reply = handshake_reply(c1)
    assert reply[0] == 3
    assert reply[5:9] == bytes(4)  # S1's version zero: librtmp then stops expecting digests
    assert reply[1537:] == c1  # S2 echoes C1


class Client:
    """A publisher speaking RTMP by hand; replies are read with the ingest's own reader."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.chunks = ChunkReader()
        self.inbox: list[Message] = []
        self.chunk_size = 128

    @classmethod
    async def open(cls, port: int, c1: bytes | None = None) -> Client:
        reader, writer = await connect(port)
        client = cls(reader, writer)
        writer.write(b"\x03" + (c1 or fp9_c1(8)))
        await reader.readexactly(1 + 1536 + 1536)
        writer.write(os.urandom(1536))
        return client

    def send(self, raw: bytes) -> None:
        self.writer.write(raw)

    def message(
        self, kind: int, payload: bytes, csid: int = 4, stream_id: int = 1, at: int = 0
    ) -> None:
        self.send(chunked(Message(kind, stream_id, at, payload, csid), self.chunk_size))

    def command(self, *values: amf.Value, stream_id: int = 0) -> None:
        self.message(AMF0_COMMAND, amf.encode(*values), csid=3, stream_id=stream_id)

    async def reply(self, kind: int, *first: amf.Value) -> Message:
        """The next message of `kind` (a command whose first values are `first`), reading as
        needed."""
        while True:
            for message in self.inbox:
                if message.type == kind and (
                    not first or tuple(amf.decode(message.payload)[: len(first)]) == first
                ):
                    self.inbox.remove(message)
                    return message
            data = await asyncio.wait_for(self.reader.read(65536), TIMEOUT)
            assert data, "the ingest closed the connection"
            self.inbox += self.chunks.feed(data)

    async def publish(self, key: str, amf3: bool = False) -> dict[str, amf.Value]:
        self.command("connect", 1, {"app": "live", "tcUrl": "rtmp://127.0.0.1/live"})
        connected = amf.decode((await self.reply(AMF0_COMMAND, "_result", 1)).payload)
        information = connected[3]
        assert isinstance(information, dict)
        assert information["code"] == "NetConnection.Connect.Success"
        self.command("releaseStream", 2, None, key)
        self.command("FCPublish", 3, None, key)
        assert (await self.reply(AMF0_COMMAND, "onFCPublish")).stream_id == 0
        self.command("createStream", 4, None)
        created = await self.reply(AMF0_COMMAND, "_result", 4)
        assert amf.decode(created.payload) == ["_result", 4, None, 1]
        publish = amf.encode("publish", 3, None, key, "live")
        if amf3:
            self.message(AMF3_COMMAND, b"\x00" + publish, csid=8)
        else:
            self.message(AMF0_COMMAND, publish, csid=8)
        return await self.status()

    async def status(self) -> dict[str, amf.Value]:
        info = amf.decode((await self.reply(AMF0_COMMAND, "onStatus")).payload)[3]
        assert isinstance(info, dict)
        return info

    async def closed(self) -> bool:
        while await asyncio.wait_for(self.reader.read(65536), TIMEOUT):
            pass
        return True


AVC_HEADER = bytes([0x17, 0, 0, 0, 0]) + b"avcC"
AAC_HEADER = bytes([0xAF, 0, 0x12, 0x10])


async def test_a_raw_publisher_s_corners_extended_times_interleaving_abort_big_chunks() -> None:
    async with ingest() as (server, studios):
        session = studios.add("m1-key")
        client = await Client.open(server.port, fp9_c1(772))
        client.message(5, struct.pack(">I", 3000), csid=2, stream_id=0)  # our window: 3000 bytes
        assert await client.publish("m1-key?obs=1", amf3=True) == {
            "level": "status",
            "code": "NetStream.Publish.Start",
            "description": "publishing",
        }
        client.message(4, struct.pack(">HII", 3, 1, 1000), csid=2, stream_id=0)  # SetBufferLength
        client.send(b"\x02" + bytes(3) + b"\x00\x00\x06\x04" + bytes(4) + b"\x00\x06" + b"ping")
        begin = await client.reply(4)
        assert begin.payload == b"\x00\x00\x00\x00\x00\x01"  # StreamBegin of stream 1
        ping = await client.reply(4)
        assert ping.payload == b"\x00\x07ping"  # PingResponse with the request's timestamp
        client.message(
            AMF0_DATA, amf.encode("@setDataFrame", "onMetaData", amf.EcmaArray(width=640.0))
        )
        # Video (csid 6) and audio (csid 4) interleaved, 128-byte chunks; the video message's
        # timestamp is extended and repeated on its continuation chunks.
        video = AVC_HEADER + bytes(291)
        audio = AAC_HEADER + bytes(196)
        client.send(
            b"\x06\xff\xff\xff" + len(video).to_bytes(3, "big") + b"\x09\x01\x00\x00\x00"
            + struct.pack(">I", 0x01000000) + video[:128]
            + b"\x04" + b"\x00\x00\x05" + len(audio).to_bytes(3, "big") + b"\x08\x01\x00\x00\x00"
            + audio[:128]
            + b"\xc6" + struct.pack(">I", 0x01000000) + video[128:256]
            + b"\xc4" + audio[128:]
            + b"\xc6" + struct.pack(">I", 0x01000000) + video[256:]
        )  # fmt: skip
        # Abort drops a half message on csid 7; the next message there starts afresh.
        client.send(
            b"\x07" + bytes(3) + (300).to_bytes(3, "big") + b"\x09\x01\x00\x00\x00" + bytes(128)
        )
        client.message(2, struct.pack(">I", 7), csid=2, stream_id=0)
        client.message(VIDEO, bytes([0x27, 1]) + bytes(10), csid=7, at=0x01000000 + 40)
        # One chunk for a 200 KB frame once the chunk size is 1 MiB.
        client.message(1, struct.pack(">I", 1 << 20), csid=2, stream_id=0)
        client.chunk_size = 1 << 20
        frame = bytes([0x17, 1]) + os.urandom(200_000)
        client.message(VIDEO, frame, csid=6, at=0x01000000 + 80)
        acknowledgement = await client.reply(3)  # the window filled: at least one ack
        assert struct.unpack(">I", acknowledgement.payload)[0] >= 3000
        client.command("deleteStream", 5, None, 1)
        await wait_for(lambda: session.reasons == [""], what="closed('') on deleteStream")
        client.writer.close()
    assert studios.calls == [("live", "m1-key")]
    assert [(tag.kind, tag.timestamp, len(tag.data)) for tag in session.tags] == [
        (DATA, 0, len(amf.encode("onMetaData", amf.EcmaArray(width=640.0)))),
        (AUDIO, 5, len(audio)),
        (VIDEO, 0x01000000, len(video)),
        (VIDEO, 0x01000000 + 40, 12),
        (VIDEO, 0x01000000 + 80, len(frame)),
    ]
    assert session.tags[0].data.startswith(amf.encode("onMetaData"))
    assert session.tags[4].data == frame
    assert session.tags[2].data == video


async def test_publishing_twice_is_refused_the_second_time_and_the_first_goes_on() -> None:
    async with ingest() as (server, studios):
        session = studios.add("m1-key")
        client = await Client.open(server.port)
        assert (await client.publish("m1-key"))["code"] == "NetStream.Publish.Start"
        client.command("publish", 4, None, "m1-key", "live", stream_id=1)
        again = await client.status()
        assert (again["level"], again["code"]) == ("error", "NetStream.Publish.BadName")
        client.message(AUDIO, AAC_HEADER)
        await wait_for(lambda: len(session.tags) == 1, what="media after the refusal")
        client.writer.close()
        await wait_for(lambda: session.reasons == ["connection lost"], what="closed")
    assert len(studios.calls) == 1


async def test_a_refusal_says_why_and_never_logs_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with ingest() as (server, studios):
        studios.failing.add("m9-failing-key")
        for key in ("m9-unknown-key", "m9-failing-key"):
            client = await Client.open(server.port, c1=bytes(1536))  # the simple handshake
            refused = await client.publish(key)
            assert refused == {
                "level": "error",
                "code": "NetStream.Publish.BadName",
                "description": "wrong stream key or meeting not live",
            }
            assert await client.closed()
        session = studios.add("m9-good-key")
        client = await Client.open(server.port)
        await client.publish("m9-good-key")
        client.command("FCUnpublish", 6, None, "m9-good-key")
        await wait_for(lambda: session.reasons == [""], what="closed('') on FCUnpublish")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused" in logged
    assert "m9-" not in logged  # neither the key nor the meeting


@pytest.mark.parametrize(
    ("send", "reason"),
    [
        (struct.pack(">I", (1 << 24) + 1), "a chunk size of 16777217 bytes"),
        (struct.pack(">I", 0), "a chunk size of 0 bytes"),
    ],
)
async def test_a_bad_chunk_size_closes_that_connection_only(send: bytes, reason: str) -> None:
    async with ingest() as (server, studios):
        bad, good = studios.add("m1-key"), studios.add("m2-key")
        other = await Client.open(server.port)
        await other.publish("m2-key")
        client = await Client.open(server.port)
        await client.publish("m1-key")
        client.message(1, send, csid=2, stream_id=0)
        assert await client.closed()
        await wait_for(lambda: bad.reasons == [reason], what=reason)
        other.message(AUDIO, AAC_HEADER)
        await wait_for(lambda: len(good.tags) == 1, what="the other publish goes on")
        assert good.reasons == []


async def test_play_and_unknown_chunk_streams_close_the_connection() -> None:
    async with ingest() as (server, _):
        client = await Client.open(server.port)
        client.command("connect", 1)  # no command object: app ""
        assert (await client.reply(AMF0_COMMAND, "_result", 1)).stream_id == 0
        client.command("play", 2, None, "m1-key")
        assert (await client.status())["code"] == "NetStream.Play.Failed"
        assert await client.closed()
        client = await Client.open(server.port)
        client.send(b"\x49" + bytes(7))  # a type 1 header on a chunk stream never opened
        assert await client.closed()
        await wait_for(lambda: server.connections == 0, what="both closed")


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            Message(AMF0_COMMAND, 1, 0, amf.encode("publish", 1, None)),
            "publish without a stream name",
        ),
        (Message(AMF3_COMMAND, 0, 0, b"\x11\x02"), "an AMF3 command"),
        (Message(AMF0_COMMAND, 0, 0, amf.encode(1, 2)), "a command without a name"),
        (Message(AMF0_COMMAND, 0, 0, b"\x02\x00\x09ab"), "truncated AMF0"),
    ],
)
async def test_bad_commands_close_the_connection(
    message: Message, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with ingest() as (server, _):
        client = await Client.open(server.port)
        client.send(chunked(message, 128))
        assert await client.closed()
        await wait_for(lambda: server.connections == 0, what="closed")
    assert any(record.getMessage().endswith(f"closed: {reason}") for record in caplog.records)


async def test_timeouts_close_a_silent_socket_and_a_silent_publisher() -> None:
    async with ingest(handshake_timeout=0.5, idle_timeout=0.5) as (server, studios):
        session = studios.add("m1-key")
        reader, writer = await connect(server.port)
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""  # no handshake in 0.5 s
        writer.close()
        client = await Client.open(server.port)
        await client.publish("m1-key")
        assert await client.closed()  # silent for 0.5 s after publish
        await wait_for(lambda: session.reasons == ["idle"], what="closed('idle')")
        client = await Client.open(server.port)
        assert await client.closed()  # handshake done, never published
        await wait_for(lambda: server.connections == 0, what="all closed")


async def test_at_most_64_connections_wait_to_publish() -> None:
    async with ingest(handshake_timeout=TIMEOUT) as (server, studios):
        session = studios.add("m1-key")
        publisher = await Client.open(server.port)
        await publisher.publish("m1-key")
        waiting = [await connect(server.port) for _ in range(64)]
        await wait_for(lambda: server.connections == 65, what="64 waiting and one publishing")
        reader, writer = await connect(server.port)
        assert await asyncio.wait_for(reader.read(), TIMEOUT) == b""  # the 65th: closed at once
        writer.close()
        assert server.connections == 65
        for _, other in waiting:
            other.close()
        await wait_for(lambda: server.connections == 1, what="the waiting ones gone")
        publisher.message(AUDIO, AAC_HEADER)
        await wait_for(lambda: len(session.tags) == 1, what="the publisher undisturbed")


class FailingSession(Session):
    async def closed(self, error: str) -> None:
        await super().closed(error)
        raise RuntimeError("the session's own failure")

    async def tag(self, tag: Tag) -> None:
        raise RuntimeError("the session's own failure")


async def test_a_session_that_fails_on_a_tag_closes_its_connection_only() -> None:
    async with ingest() as (server, studios):
        studios.sessions["m0-key"] = failing = FailingSession()
        good = studios.add("m1-key")
        client, other = await Client.open(server.port), await Client.open(server.port)
        await client.publish("m0-key")
        await other.publish("m1-key")
        client.message(AUDIO, AAC_HEADER)
        assert await client.closed()
        await wait_for(lambda: failing.reasons == ["internal error"], what="closed")
        other.message(AUDIO, AAC_HEADER)
        await wait_for(lambda: len(good.tags) == 1, what="the other publish goes on")


async def test_closing_the_server_closes_every_session() -> None:
    async with ingest() as (server, studios):
        studios.sessions["m0-key"] = failing = FailingSession()  # logged; the others go on
        sessions = [failing, studios.add("m1-key"), studios.add("m2-key")]
        for key in ("m0-key", "m1-key", "m2-key"):
            await (await Client.open(server.port)).publish(key)
        await server.aclose()
        assert [session.reasons for session in sessions] == [["server closing"]] * 3
        assert server.connections == 0


# The chunk stream by hand-made bytes.


def header0(csid: int, at: int, length: int, kind: int, stream_id: int = 1) -> bytes:
    return (
        bytes([csid])
        + at.to_bytes(3, "big")
        + length.to_bytes(3, "big")
        + bytes([kind])
        + stream_id.to_bytes(4, "little")
    )


def test_one_chunk_one_message() -> None:
    reader = ChunkReader()
    assert reader.feed(header0(4, 100, 3, AUDIO) + b"abc") == [Message(AUDIO, 1, 100, b"abc", 4)]


def test_type_1_2_and_3_headers_add_their_deltas() -> None:
    raw = header0(4, 100, 2, AUDIO) + b"a1"
    raw += b"\x44" + (20).to_bytes(3, "big") + (3).to_bytes(3, "big") + bytes([VIDEO]) + b"v22"
    raw += b"\x84" + (30).to_bytes(3, "big") + b"v33"
    raw += b"\xc4" + b"v44"  # type 3 starting a message: the last delta again
    assert [(m.type, m.timestamp, m.payload) for m in ChunkReader().feed(raw)] == [
        (AUDIO, 100, b"a1"),
        (VIDEO, 120, b"v22"),
        (VIDEO, 150, b"v33"),
        (VIDEO, 180, b"v44"),
    ]


def test_type_3_after_type_0_repeats_its_timestamp_as_the_delta() -> None:
    # ffmpeg writes type 3 when the new delta equals the last header's timestamp field.
    raw = header0(4, 23, 1, AUDIO) + b"a" + b"\xc4" + b"b"
    assert [m.timestamp for m in ChunkReader().feed(raw)] == [23, 46]


def test_extended_timestamps_on_type_3_with_or_without_the_repeat() -> None:
    ext = struct.pack(">I", 0x01234567)
    payload = bytes(range(200))
    start = (
        bytes([5]) + b"\xff\xff\xff" + (200).to_bytes(3, "big") + bytes([VIDEO]) + bytes(4) + ext
    )
    with_repeat = start + payload[:128] + b"\xc5" + ext + payload[128:]
    without = start + payload[:128] + b"\xc5" + payload[128:]
    for raw in (with_repeat, without):
        assert ChunkReader().feed(raw) == [Message(VIDEO, 0, 0x01234567, payload, 5)]
    # A type 3 chunk starting a message after an extended header carries the delta.
    raw = start + payload[:128] + b"\xc5" + ext + payload[128:] + b"\xc5" + ext + payload[:128]
    raw += b"\xc5" + ext + payload[128:]
    assert [m.timestamp for m in ChunkReader().feed(raw)] == [0x01234567, 0x01234567 * 2]


def test_two_and_three_byte_chunk_stream_ids() -> None:
    raw = b"\x00\x00" + header0(4, 1, 1, AUDIO)[1:] + b"x"  # csid 64
    raw += b"\x01\xff\xff" + header0(4, 2, 1, AUDIO)[1:] + b"y"  # csid 65599
    assert [(m.csid, m.payload) for m in ChunkReader().feed(raw)] == [(64, b"x"), (65599, b"y")]


def test_set_chunk_size_applies_to_the_very_next_chunk() -> None:
    big = bytes(range(256)) * 2
    raw = header0(2, 0, 4, 1, 0) + struct.pack(">I", 4096) + header0(4, 0, len(big), VIDEO) + big
    reader = ChunkReader()
    messages = reader.feed(raw)
    assert [m.type for m in messages] == [1, VIDEO]
    assert messages[1].payload == big
    assert reader.chunk_size == 4096


def test_abort_drops_the_unfinished_message() -> None:
    raw = header0(6, 0, 300, VIDEO) + bytes(128) + header0(2, 0, 4, 2, 0) + struct.pack(">I", 6)
    raw += header0(6, 9, 1, VIDEO) + b"z"
    raw += header0(2, 0, 4, 2, 0) + struct.pack(">I", 33)  # an abort of nothing
    assert [(m.type, m.payload) for m in ChunkReader().feed(raw)][-2] == (VIDEO, b"z")


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x44" + bytes(7), "chunk stream 4 begins with a type 1 header"),
        (header0(4, 0, 90, VIDEO) + bytes(60) + b"\x84" + bytes(3), "inside an unfinished message"),
        (header0(4, 0, 101, VIDEO), "larger than 16 MiB"),
        (header0(2, 0, 2, 1, 0) + b"\x00\x01", "shorter than 4 bytes"),
        (
            header0(4, 0, 99, VIDEO)
            + bytes(60)
            + header0(5, 0, 99, VIDEO)
            + bytes(60)
            + header0(6, 0, 99, VIDEO)
            + bytes(60),
            "too many unfinished messages",
        ),
    ],
)
def test_bad_chunk_streams_raise(raw: bytes, why: str) -> None:
    reader = ChunkReader(max_message=100, max_buffered=150)
    reader.chunk_size = 60
    with pytest.raises(RtmpError, match=why):
        reader.feed(raw)


messages = st.lists(
    st.builds(
        Message,
        st.sampled_from([AUDIO, VIDEO, AMF0_DATA]),
        st.integers(0, 3),
        st.integers(0, 0xFFFFFFFF),
        st.binary(max_size=700),
        st.integers(2, 63),
    ),
    max_size=6,
)


@given(messages, st.sampled_from([1, 128, 4096]), st.integers(1, 300))
def test_our_chunks_read_back_whatever_the_pieces(
    sent: list[Message], size: int, piece: int
) -> None:
    raw = b"".join(chunked(message, size) for message in sent)
    reader = ChunkReader()
    reader.chunk_size = size
    received = [
        m for start in range(0, len(raw), piece) for m in reader.feed(raw[start : start + piece])
    ]
    assert received == sent


def test_media_tags_out_of_messages() -> None:
    meta = amf.encode("onMetaData", {"width": 1.0})
    assert media_tag(Message(AMF0_DATA, 1, 5, amf.encode("@setDataFrame") + meta)) == Tag(
        DATA, 5, meta
    )
    assert media_tag(Message(AMF0_DATA, 1, 5, meta)) == Tag(DATA, 5, meta)
    assert media_tag(Message(AMF3_DATA, 1, 5, b"\x00" + meta)) == Tag(DATA, 5, meta)
    assert media_tag(Message(AMF0_DATA, 1, 5, amf.encode("onCuePoint"))) is None
    assert media_tag(Message(AUDIO, 1, 5, b"")) is None
    assert media_tag(Message(VIDEO, 1, 7, b"\x17")) == Tag(VIDEO, 7, b"\x17")
    assert media_tag(Message(AMF0_COMMAND, 1, 5, meta)) is None
