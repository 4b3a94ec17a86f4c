"""The RTMP ingest: one port for every meeting's studio (OBS, vMix, ffmpeg) (issue 16).

`rtmp://HOST:PORT/live/<stream key>`. Adobe's RTMP specification 1.0: its control messages and
commands here, over the handshake and chunk stream of `server.broadcast.chunks`. We ingest
only: `play` is refused. The stream key is a secret: it is handed to `authorize` and never
logged; a log line names the peer's address only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from server.broadcast import amf
from server.broadcast.chunks import (
    HANDSHAKE_SIZE,
    OUR_CHUNK_SIZE,
    SET_CHUNK_SIZE,
    ChunkReader,
    Message,
    RtmpError,
    chunked,
    handshake_reply,
    uint32,
)
from server.broadcast.flv import AUDIO, DATA, VIDEO, Tag

logger = logging.getLogger(__name__)

ACKNOWLEDGEMENT, USER_CONTROL, WINDOW_ACK_SIZE, PEER_BANDWIDTH = 3, 4, 5, 6
AMF3_DATA, AMF3_COMMAND, AMF0_DATA, AMF0_COMMAND = 15, 17, 18, 20
STREAM_BEGIN, PING_REQUEST, PING_RESPONSE = 0, 6, 7
WINDOW = 2_500_000  # our Window Acknowledgement Size and the peer's bandwidth, as nginx-rtmp
MAX_PENDING = 64  # connections not yet publishing; more are closed at once
STREAM_ID = 1  # the one message stream createStream hands out
SET_DATA_FRAME = amf.encode("@setDataFrame")
ON_METADATA = amf.encode("onMetaData")
REFUSED = "wrong stream key or meeting not live"


class Publishing(Protocol):
    """What the ingest hands one studio connection's media to."""

    async def tag(self, tag: Tag) -> None:
        """The next tag, in order; awaiting it is the backpressure on the studio's TCP."""

    async def closed(self, error: str) -> None:
        """The studio went away: "" on a clean deleteStream/FCUnpublish, else why."""


# (app, stream key, peer "ip:port") -> the session, or None: refused.
Authorize = Callable[[str, str, str], Awaitable[Publishing | None]]


def _control(kind: int, payload: bytes) -> Message:
    return Message(kind, 0, 0, payload, csid=2)


def _command(*values: amf.Value, stream_id: int = 0) -> Message:
    return Message(AMF0_COMMAND, stream_id, 0, amf.encode(*values), csid=5 if stream_id else 3)


def _status(level: str, code: str, description: str) -> Message:
    info: dict[str, amf.Value] = {"level": level, "code": code, "description": description}
    return _command("onStatus", 0, None, info, stream_id=STREAM_ID)


def _parse_command(message: Message) -> tuple[str, amf.Value, list[amf.Value]]:
    """A command's name, transaction id and arguments."""
    payload = message.payload
    if message.type == AMF3_COMMAND:  # a format byte 0, then AMF0 (section 7.1.1)
        if not payload.startswith(b"\x00"):
            raise RtmpError("an AMF3 command")
        payload = payload[1:]
    values = amf.decode(payload)
    if len(values) < 2 or not isinstance(values[0], str):
        raise RtmpError("a command without a name")
    return values[0], values[1], values[2:]


def media_tag(message: Message) -> Tag | None:
    """The FLV tag of an audio, video or metadata message; None for anything else.

    `@setDataFrame onMetaData {...}` is stored as `onMetaData {...}`, as an FLV file has it."""
    if message.type in (AUDIO, VIDEO):
        return Tag(message.type, message.timestamp, message.payload) if message.payload else None
    payload = message.payload
    if message.type == AMF3_DATA:
        payload = payload[1:]
    elif message.type != AMF0_DATA:
        return None
    payload = payload.removeprefix(SET_DATA_FRAME)
    return Tag(DATA, message.timestamp, payload) if payload.startswith(ON_METADATA) else None


# One studio's connection, and the server.


class _Refused(Exception):
    """authorize() said no: the peer was told why; the connection closes."""


class _Connection:
    """One peer: handshake, commands, then its media handed to its Publishing."""

    def __init__(
        self,
        server: RtmpServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
    ) -> None:
        self.server, self.reader, self.writer, self.peer = server, reader, writer, peer
        self.chunks = ChunkReader()
        self.app = ""
        self.publishing: Publishing | None = None
        self.has_published = False
        self.has_ended = False  # closed() was called
        self.received = self.acknowledged = self.window = 0

    async def run(self) -> None:
        reason = "connection lost"
        try:
            await asyncio.wait_for(self._handshake(), self.server.handshake_timeout)
            reason = await self._serve()
        except TimeoutError:
            reason = "idle" if self.has_published else "handshake or publish timeout"
        except _Refused:
            reason = "refused"
        except (RtmpError, amf.AmfError) as error:
            reason = str(error)
        except (ConnectionError, asyncio.IncompleteReadError):
            reason = "connection lost"
        except asyncio.CancelledError:  # aclose(): the only one that cancels a connection
            reason = "server closing"
            raise
        except Exception:  # the connection's root: a bug here, or the session's tag() failed
            logger.exception("rtmp: peer %s failed", self.peer)
            reason = "internal error"
        finally:
            await self._finish(reason)

    async def _finish(self, reason: str) -> None:
        self.writer.close()
        logger.info("rtmp: peer %s closed: %s", self.peer, reason)
        if self.publishing is not None and not self.has_ended:
            await self._end(reason)

    async def _end(self, reason: str) -> None:
        self.has_ended = True
        assert self.publishing is not None
        try:
            await self.publishing.closed(reason)
        except Exception as error:  # the session's own failure: logged, never ours to raise
            logger.warning("rtmp: peer %s: closing its session failed: %r", self.peer, error)

    async def _handshake(self) -> None:
        version = await self.reader.readexactly(1)
        if version != b"\x03":
            raise RtmpError(f"not RTMP (first byte {version[0]:#04x})")
        c1 = await self.reader.readexactly(HANDSHAKE_SIZE)
        self.writer.write(handshake_reply(c1))
        await self.writer.drain()
        await self.reader.readexactly(HANDSHAKE_SIZE)  # C2: nginx-rtmp does not check it either

    async def _serve(self) -> str:
        publish_by = time.monotonic() + self.server.handshake_timeout
        while True:
            if self.publishing is None:
                timeout = publish_by - time.monotonic()
            else:
                timeout = self.server.idle_timeout
            data = await asyncio.wait_for(self.reader.read(65536), max(timeout, 0))
            if not data:
                return "connection lost"
            await self._acknowledge(len(data))
            for message in self.chunks.feed(data):
                await self._message(message)

    async def _acknowledge(self, size: int) -> None:
        """Acknowledgement each time the peer's window is full (section 5.4.3)."""
        self.received += size
        if self.window and self.received - self.acknowledged >= self.window:
            self.acknowledged = self.received
            await self._send(
                _control(ACKNOWLEDGEMENT, struct.pack(">I", self.received & 0xFFFFFFFF))
            )

    async def _send(self, *messages: Message) -> None:
        self.writer.write(b"".join(chunked(message) for message in messages))
        await self.writer.drain()

    async def _message(self, message: Message) -> None:
        if message.type in (AMF0_COMMAND, AMF3_COMMAND):
            await self._command(message)
        elif message.type == WINDOW_ACK_SIZE:
            self.window = uint32(message.payload)
        elif message.type == USER_CONTROL:
            await self._user_control(message.payload)
        elif self.publishing is not None and not self.has_ended:
            tag = media_tag(message)
            if tag is not None:
                await self.publishing.tag(tag)

    async def _user_control(self, payload: bytes) -> None:
        if len(payload) >= 6 and int.from_bytes(payload[:2], "big") == PING_REQUEST:
            await self._send(
                _control(USER_CONTROL, struct.pack(">H", PING_RESPONSE) + payload[2:6])
            )

    async def _command(self, message: Message) -> None:
        name, transaction, arguments = _parse_command(message)
        if name == "connect":
            await self._connect(transaction, arguments)
        elif name in ("releaseStream", "createStream"):
            result = STREAM_ID if name == "createStream" else amf.UNDEFINED
            await self._send(_command("_result", transaction, None, result))
        elif name == "FCPublish":
            info: dict[str, amf.Value] = {"code": "NetStream.Publish.Start", "description": ""}
            await self._send(_command("onFCPublish", 0, None, info))
        elif name == "publish":
            await self._publish(arguments)
        elif name in ("FCUnpublish", "deleteStream", "closeStream"):
            if self.publishing is not None and not self.has_ended:
                logger.info("rtmp: peer %s stopped publishing", self.peer)
                await self._end("")
        elif name == "play":
            await self._send(_status("error", "NetStream.Play.Failed", "we only ingest"))
            raise RtmpError("play refused: we only ingest")

    async def _connect(self, transaction: amf.Value, arguments: list[amf.Value]) -> None:
        if arguments and isinstance(arguments[0], dict):
            app = arguments[0].get("app")
            self.app = app if isinstance(app, str) else ""
        properties: dict[str, amf.Value] = {"fmsVer": "FMS/3,0,1,123", "capabilities": 31}
        information: dict[str, amf.Value] = {
            "level": "status",
            "code": "NetConnection.Connect.Success",
            "description": "Connection succeeded.",
            "objectEncoding": 0,
        }
        await self._send(
            _control(WINDOW_ACK_SIZE, struct.pack(">I", WINDOW)),
            _control(PEER_BANDWIDTH, struct.pack(">IB", WINDOW, 2)),
            _control(SET_CHUNK_SIZE, struct.pack(">I", OUR_CHUNK_SIZE)),
            _command("_result", transaction, properties, information),
        )

    async def _publish(self, arguments: list[amf.Value]) -> None:
        if len(arguments) < 2 or not isinstance(arguments[1], str):
            raise RtmpError("publish without a stream name")
        if self.has_published:
            await self._send(_status("error", "NetStream.Publish.BadName", "already publishing"))
            return
        key = arguments[1].split("?", 1)[0]  # encoders may add ?parameters to the key
        session = await self._authorize(key)
        if session is None:
            logger.warning("rtmp: peer %s refused", self.peer)
            await self._send(_status("error", "NetStream.Publish.BadName", REFUSED))
            raise _Refused
        self.publishing, self.has_published = session, True
        self.server.published(self)
        logger.info("rtmp: peer %s publishing", self.peer)
        begin = struct.pack(">HI", STREAM_BEGIN, STREAM_ID)
        await self._send(
            _control(USER_CONTROL, begin),
            _status("status", "NetStream.Publish.Start", "publishing"),
        )

    async def _authorize(self, key: str) -> Publishing | None:
        try:
            return await self.server.authorize(self.app, key, self.peer)
        except Exception as error:  # counts as refused; its message may hold the key: type only
            logger.warning("rtmp: peer %s: authorize failed: %s", self.peer, type(error).__name__)
            return None


class RtmpServer:
    """The listening ingest; `port` is the bound one, `connections` those open now."""

    _server: asyncio.Server  # set by start_rtmp()

    def __init__(self, authorize: Authorize, handshake_timeout: float, idle_timeout: float) -> None:
        self.authorize = authorize
        self.handshake_timeout = handshake_timeout
        self.idle_timeout = idle_timeout
        self.port = 0
        self._open: dict[_Connection, asyncio.Task[Any]] = {}
        self._pending: set[_Connection] = set()

    @property
    def connections(self) -> int:
        """Studio connections open now, published or not yet."""
        return len(self._open)

    def published(self, connection: _Connection) -> None:
        self._pending.discard(connection)

    async def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername") or ("?", 0)
        peer = f"{address[0]}:{address[1]}"
        if len(self._pending) >= MAX_PENDING:
            logger.warning("rtmp: peer %s closed: too many connections not yet publishing", peer)
            writer.close()
            return
        connection = _Connection(self, reader, writer, peer)
        task = asyncio.current_task()
        assert task is not None  # asyncio runs a client_connected_cb coroutine as a task
        self._open[connection] = task
        self._pending.add(connection)
        try:
            await connection.run()
        except asyncio.CancelledError:
            # Cancelled by aclose() or the loop's end, and ending right here: quietly, for
            # asyncio's streams (3.11) log a cancelled handler as an error.
            pass
        finally:
            self._open.pop(connection, None)
            self._pending.discard(connection)

    async def aclose(self) -> None:
        """Stop listening and close every connection: each Publishing gets
        closed("server closing")."""
        self._server.close()
        tasks = list(self._open.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._server.wait_closed()


async def start_rtmp(
    host: str,
    port: int,
    authorize: Authorize,
    *,
    handshake_timeout: float = 10.0,
    idle_timeout: float = 30.0,
) -> RtmpServer:
    """Listen for studios on `host:port` (0: a free port, in `RtmpServer.port`)."""
    server = RtmpServer(authorize, handshake_timeout, idle_timeout)
    server._server = await asyncio.start_server(server.accept, host, port)
    server.port = server._server.sockets[0].getsockname()[1]
    return server
