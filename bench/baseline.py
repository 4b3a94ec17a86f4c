"""The baseline: the least a server can do, with `websockets.broadcast`, no Redis, no durability.

Halyq's path shape and frames (hello, history, one events frame per comment, acks first), on uvloop;
`python -m bench.baseline --port 0 --ready-file FILE` writes {"url", "pid"} once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

PATH = re.compile(r"/ws/meetings/[a-z0-9-]{1,64}")
BACKLOG = 4096  # as Halyq's listener: a burst of connects must not overflow the accept queue
MAX_FRAME = 64 * 1024


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Room:
    """Everyone connected, and the counter that names events like Redis stream ids."""

    def __init__(self) -> None:
        self.connections: set[ServerConnection] = set()
        self.last = "0-0"
        self.ms = 0
        self.seq = 0

    def next_id(self) -> tuple[str, int]:
        now = int(time.time() * 1000)
        self.seq = self.seq + 1 if now <= self.ms else 0
        self.ms = max(now, self.ms)
        self.last = f"{self.ms}-{self.seq}"
        return self.last, now

    async def handler(self, ws: ServerConnection) -> None:
        if ws.request is None or not PATH.fullmatch(ws.request.path.split("?")[0]):
            await ws.close(4404, "unknown meeting")
            return
        meeting = {"id": ws.request.path.rsplit("/", 1)[-1].split("?")[0], "status": "live"}
        await ws.send(dumps({"type": "hello", "meeting": meeting, "held": {}, "as_of": self.last}))
        await ws.send(dumps({"type": "events", "events": [], "last": self.last}))
        self.connections.add(ws)
        try:
            async for message in ws:
                if isinstance(message, str):
                    await self.comment(ws, message)
        except ConnectionClosed:
            pass
        finally:
            self.connections.discard(ws)

    async def comment(self, ws: ServerConnection, message: str) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            return
        if not isinstance(data, dict) or data.get("type") != "comment":
            return
        event_id, now = self.next_id()
        await ws.send(
            dumps(
                {
                    "type": "ack",
                    "client_msg_id": data.get("client_msg_id"),
                    "id": event_id,
                    "status": "posted",
                }
            )
        )
        event = {
            "id": event_id,
            "kind": "comment.posted",
            "at": now,
            "channel": "web",
            "name": data.get("name", ""),
            "text": data.get("text", ""),
        }
        broadcast(self.connections, dumps({"type": "events", "events": [event], "last": event_id}))


async def serve_baseline(host: str, port: int, ready_file: Path | None) -> None:
    """Serve until SIGTERM or SIGINT."""
    room = Room()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with serve(
        room.handler,
        host,
        port,
        compression=None,
        max_size=MAX_FRAME,
        ping_interval=20.0,  # as Halyq's uvicorn
        ping_timeout=20.0,
        backlog=BACKLOG,
    ) as server:
        bound = next(iter(server.sockets)).getsockname()
        _announce(f"http://{bound[0]}:{bound[1]}", ready_file)
        await stop.wait()


def _announce(url: str, ready_file: Path | None) -> None:
    print(f"baseline serving at {url}", flush=True)
    if ready_file is not None:
        ready_file.write_text(json.dumps({"url": url, "pid": os.getpid()}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args(argv)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_baseline(args.host, args.port, args.ready_file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
