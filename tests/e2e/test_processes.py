"""Real `halyq` processes: two servers on one Redis, and a kill -9 in the middle of a burst."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from moderation import CommentPosted, Meeting
from server.settings import Settings
from server.store import Store
from server.store.embedded import redis_binary, socket_path
from tests.helpers import (
    ROOT,
    TIMEOUT,
    ServerProcess,
    comment,
    environment,
    free_port,
    recv_until,
    running_server,
    start_server,
    wait_for,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


async def test_a_comment_sent_to_one_process_reaches_viewers_of_the_other(
    settings: Settings, store: Store, live_meeting: Meeting, tmp_path: Path
) -> None:
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    with running_server(tmp_path, env=env) as first, running_server(tmp_path, env=env) as second:
        path = f"/ws/meetings/{live_meeting.id}"
        async with connect(first.ws(path)) as author, connect(second.ws(path)) as viewer:
            await recv_until(viewer, lambda f: f["type"] == "events")
            await author.send(comment("two-processes", "Сәлем екінші процеске!"))
            ack, _ = await recv_until(author, lambda f: f["type"] == "ack")
            frame, _ = await recv_until(
                viewer, lambda f: f["type"] == "events" and bool(f["events"])
            )
            assert [(e["id"], e["text"]) for e in frame["events"]] == [
                (ack["id"], "Сәлем екінші процеске!")
            ]
            # The same client_msg_id on the other process: the same id, no second event.
            await viewer.send(comment("two-processes", "Сәлем екінші процеске!"))
            again, _ = await recv_until(viewer, lambda f: f["type"] == "ack")
            assert again["id"] == ack["id"]
    entries = await store.record.range(live_meeting.id, "-", "+", count=1000)
    assert [e.client_msg_id for _, e in entries if isinstance(e, CommentPosted)] == [
        "two-processes"
    ]


def halyq(data_dir: Path, *args: str) -> str:
    """Run the `halyq` command (as a user would, beside a running server) and return its output."""
    result = subprocess.run(
        [sys.executable, "-m", "server", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
        check=True,
    )
    return result.stdout


AGAIN = ("overloaded", "unavailable")  # refusals of a comment not recorded: send it again


class Commenter:
    """A client that sends its comments, keeps the acks, and resends what was not acked."""

    def __init__(self, number: int, count: int) -> None:
        self.ids = [f"c{number:02d}-{i:03d}" for i in range(count)]
        self.acked: dict[str, str] = {}
        self.resends: set[asyncio.Task[None]] = set()  # kept until done (asyncio holds weakly)

    async def run(self, url: str, stop_after_acks: asyncio.Event | None = None) -> None:
        try:
            async with connect(url, open_timeout=TIMEOUT) as ws:
                pending = [i for i in self.ids if i not in self.acked]
                for client_msg_id in pending:
                    await ws.send(comment(client_msg_id, f"Сұрақ {client_msg_id}"))
                while len(self.acked) < len(self.ids):
                    frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
                    if frame["type"] == "ack":
                        self.acked[frame["client_msg_id"]] = frame["id"]
                    elif frame["type"] == "rejected" and frame["reason"] in AGAIN:
                        self.again(ws, frame)
                    elif frame["type"] == "rejected":
                        raise AssertionError(f"rejected: {frame}")
        except (ConnectionClosed, OSError):
            return  # the server died: what is not acked is resent after the restart

    def again(self, ws: ClientConnection, frame: dict[str, Any]) -> None:
        """A comment the server was too busy for was not recorded: sent again after the
        `retry_after` it gave, as a real client does (docs/protocol.md)."""
        client_msg_id = frame["client_msg_id"]
        text = comment(client_msg_id, f"Сұрақ {client_msg_id}")

        async def send() -> None:
            with contextlib.suppress(ConnectionClosed, OSError):
                await ws.send(text)

        def start() -> None:
            task = loop.create_task(send())
            self.resends.add(task)
            task.add_done_callback(self.resends.discard)

        loop = asyncio.get_running_loop()
        loop.call_later(frame.get("retry_after", 1), start)


def kill_hard(server: ServerProcess) -> None:
    """kill -9 the server and the Redis it started, as a power cut would leave them."""
    parent = psutil.Process(server.process.pid)
    program = Path(redis_binary()).name  # valkey-server
    redis = [child for child in parent.children() if child.name() == program]
    assert redis, f"the server runs no embedded {program}"
    for process in (*redis, parent):
        os.kill(process.pid, signal.SIGKILL)
    server.process.wait()
    psutil.wait_procs(redis, timeout=TIMEOUT)


async def test_kill_9_during_a_burst_loses_no_acknowledged_comment(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = environment(HALYQ_DATA_DIR=str(data))
    server = start_server(tmp_path, env=env)
    try:
        created = json.loads(
            halyq(
                data,
                "meeting",
                "create",
                "--title",
                "Кездесу",
                "--akim",
                "Әкім",
                "--level",
                "district",
                "--territory",
                "Алатау",
                "--planned-minutes",
                "60",
                "--slow-mode",
                "0",
                "--json",
            )
        )
        halyq(data, "meeting", "start", created["id"])
        url = server.ws(f"/ws/meetings/{created['id']}")
        clients = [Commenter(number, 30) for number in range(20)]
        burst = [asyncio.create_task(c.run(url)) for c in clients]
        while sum(len(c.acked) for c in clients) < 150:
            await asyncio.wait(burst, timeout=0.01)
            assert not all(task.done() for task in burst), "the burst ended before the kill"
        kill_hard(server)
        await asyncio.gather(*burst)
    finally:
        server.stop()
    acked_before = {mid: sid for c in clients for mid, sid in c.acked.items()}
    assert 150 <= len(acked_before) < 600, "the kill must land inside the burst"

    with running_server(tmp_path, env=env) as restarted:
        url = restarted.ws(f"/ws/meetings/{created['id']}")
        await asyncio.gather(*(c.run(url) for c in clients))
        store = Store(f"unix://{socket_path(data)}")
        entries = await store.record.range(created["id"], "-", "+", count=10_000)
        await store.close()
    recorded: dict[str, Any] = {
        e.client_msg_id: entry_id for entry_id, e in entries if isinstance(e, CommentPosted)
    }
    counts = Counter(e.client_msg_id for _, e in entries if isinstance(e, CommentPosted))
    # Every comment acknowledged before the crash is there, once, under the id it was given.
    assert all(recorded.get(mid) == sid for mid, sid in acked_before.items())
    # After resending the unacknowledged ones with the same ids, every comment is in once.
    assert set(counts) == {mid for c in clients for mid in c.ids}
    assert set(counts.values()) == {1}
    assert {mid: sid for c in clients for mid, sid in c.acked.items()} == recorded


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "server", *args], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


async def test_serve_with_two_workers_shares_one_redis(
    settings: Settings, live_meeting: Meeting, tmp_path: Path
) -> None:
    port = free_port()
    env = environment(REDIS_URL=settings.redis_url, HALYQ_REDIS_PREFIX=settings.redis_prefix)
    server = spawn(["serve", "--workers", "2", "--port", str(port)], env, tmp_path / "workers.log")
    try:
        base = f"http://127.0.0.1:{port}"

        async def answers() -> bool:
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{base}/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_for(answers, TIMEOUT * 3, "two workers to serve")
        path = f"ws://127.0.0.1:{port}/ws/meetings/{live_meeting.id}"
        viewers = [await connect(path).__aenter__() for _ in range(4)]
        for viewer in viewers:
            await recv_until(viewer, lambda f: f["type"] == "events")
        await viewers[0].send(comment("workers", "Екі процесс"))
        for viewer in viewers:
            frame, _ = await recv_until(
                viewer, lambda f: f["type"] == "events" and bool(f["events"])
            )
            assert frame["events"][0]["text"] == "Екі процесс"
        for viewer in viewers:
            await viewer.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(TIMEOUT * 3)
    assert "several workers" not in (tmp_path / "workers.log").read_text()


def test_several_workers_need_a_fixed_port(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "server", "serve", "--workers", "2", "--port", "0"],
        cwd=ROOT, env=environment(REDIS_URL="unix:///nonexistent.sock"),
        capture_output=True, text=True, timeout=TIMEOUT * 3,
    )  # fmt: skip
    assert result.returncode == 1
    assert "several workers need a fixed port" in result.stderr
