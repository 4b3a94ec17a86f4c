"""Three nodes behind HAProxy on loopback (issue 15): the documented configs are valid, the
balancer spreads 600 viewers over the nodes, and a node stopped with SIGTERM during a burst of
comments drains: its viewers resume on the others with nothing missed and nothing twice, and
every acknowledged comment is in the record once.

The nodes and HAProxy are started by bench/balancer.py from deploy/haproxy.cfg (a loopback copy
of it: only its bind, server and stats socket lines differ). Skipped only on a developer's
machine without haproxy; never in CI (`.ci/run` installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.balancer import CONFIG, Node, balanced, loopback_config
from moderation import CommentPosted, Meeting
from server.cli.serve import DRAIN_NOTICE
from server.fanout.uvicorn import CLOSE_DRAINING, SETTINGS
from server.settings import Settings
from server.store import Store
from tests.helpers import ROOT, TIMEOUT, comment, wait_for
from tests.viewers import Viewer, closing, gather_all, in_order_once

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

NGINX_CONFIG = ROOT / "deploy" / "nginx.conf"
VIEWERS = 600
OPEN_AT_ONCE = 100  # viewers connecting together (a storm is another test's concern)
COMMENTERS = 10
COMMENTS = 60  # each: 30 at once (the flood limit's burst), then 10 a second
SIGTERM_AFTER = 200  # acks before the node is stopped: well inside the burst of 600
EXIT_BOUND = DRAIN_NOTICE + SETTINGS["timeout_graceful_shutdown"] + 5.0
AGAIN = ("rate_limited", "overloaded", "unavailable")  # not recorded: send it again later


NO_PROCESS: Any = None  # nodes named in a config that is only checked, never run


def require(program: str) -> str:
    """The program's path; skip on a developer's machine without it, never in CI."""
    found = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program,) if p.exists()), None
    )
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the balancer tests: {program} is missing")
        pytest.skip(f"no {program} on this machine (CI installs it)")
    return found


def test_haproxy_accepts_the_documented_config_and_its_loopback_copy(tmp_path: Path) -> None:
    haproxy = require("haproxy")
    checked = subprocess.run(
        [haproxy, "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    nodes = [Node(f"node{i}", NO_PROCESS, tmp_path, f"http://127.0.0.1:{8000 + i}") for i in (1, 2)]
    copy = loopback_config(CONFIG.read_text(), 18080, nodes, tmp_path / "haproxy.sock")
    assert "    server node1 127.0.0.1:8001\n    server node2 127.0.0.1:8002\n" in copy
    assert "bind 127.0.0.1:18080" in copy
    assert "10.0.0." not in copy
    (tmp_path / "loopback.cfg").write_text(copy)
    checked = subprocess.run(
        [haproxy, "-c", "-f", str(tmp_path / "loopback.cfg")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_nginx_accepts_the_documented_config(tmp_path: Path) -> None:
    nginx = require("nginx")
    checked = subprocess.run(
        [nginx, "-t", "-c", str(NGINX_CONFIG), "-p", f"{tmp_path}/"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "test is successful" in checked.stderr


class Commenter:
    """A client on the balancer that sends its comments, keeps the acks, sends again what it
    was told to (after `retry_after`) and, when its socket closes, reconnects through the
    balancer and sends again everything not acknowledged, as the page does."""

    def __init__(self, number: int) -> None:
        self.ids = [f"c{number:02d}-{i:03d}" for i in range(COMMENTS)]
        self.acked: dict[str, str] = {}
        self.closes: list[int | None] = []
        self._later: set[asyncio.TimerHandle] = set()

    async def run(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while len(self.acked) < len(self.ids):
            assert time.monotonic() < deadline, "the commenter never got all its acks"
            with contextlib.suppress(ConnectionClosed):
                async with connect(url, open_timeout=TIMEOUT, compression=None) as ws:
                    for client_msg_id in self.ids:
                        if client_msg_id not in self.acked:
                            await ws.send(comment(client_msg_id, f"Сұрақ {client_msg_id}"))
                    await self._answers(ws)
                    return
            self.closes.append(ws.close_code)
            for handle in self._later:
                handle.cancel()

    async def _answers(self, ws: ClientConnection) -> None:
        while len(self.acked) < len(self.ids):
            frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
            if frame["type"] == "ack":
                self.acked[frame["client_msg_id"]] = frame["id"]
            elif frame["type"] == "retry" or (
                frame["type"] == "rejected" and frame["reason"] in AGAIN
            ):
                self._again(ws, frame)
            elif frame["type"] == "rejected":
                raise AssertionError(f"rejected: {frame}")

    def _again(self, ws: ClientConnection, frame: dict[str, Any]) -> None:
        client_msg_id = frame["client_msg_id"]
        text = comment(client_msg_id, f"Сұрақ {client_msg_id}")

        def send() -> None:
            task = asyncio.ensure_future(ws.send(text))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

        self._later.add(asyncio.get_running_loop().call_later(frame["retry_after"], send))


async def follow(viewer: Viewer, url: str, meeting_id: str, final: list[str]) -> list[int]:
    """Read until the viewer has the record's last id; each time its socket closes, resume
    through the balancer with `after` and `epoch` (as the page does). The close codes."""
    codes: list[int] = []
    deadline = time.monotonic() + 60
    while not (final and viewer.has_seen(final[0])):
        assert time.monotonic() < deadline, "a viewer never caught up"
        try:
            await viewer.read_until(lambda v: bool(final) and v.has_seen(final[0]), 0.5)
        except TimeoutError:
            continue
        except ConnectionClosed:
            assert viewer.ws is not None
            codes.append(viewer.ws.close_code or 0)
            await viewer.open(url, meeting_id)
    return codes


async def test_a_node_stopped_during_a_burst_hands_its_viewers_to_the_others(
    settings: Settings, store: Store, live_meeting: Meeting, tmp_path: Path
) -> None:
    require("haproxy")
    # Every viewer here is 127.0.0.1, which the nodes see through X-Forwarded-For (the
    # balancer is a trusted proxy): one address, allowed as many sockets as there are viewers.
    env = {
        "HALYQ_REDIS_PREFIX": settings.redis_prefix,
        "HALYQ_MAX_CONNECTIONS_PER_ADDRESS": str(VIEWERS + COMMENTERS),
    }
    meeting_id = live_meeting.id
    with balanced(settings.redis_url, tmp_path / "balanced", nodes=3, env=env) as cluster:
        ws_url = "ws" + cluster.url.removeprefix("http") + f"/ws/meetings/{meeting_id}"
        viewers = [Viewer() for _ in range(VIEWERS)]
        async with closing(viewers):
            for start in range(0, VIEWERS, OPEN_AT_ONCE):
                chunk = viewers[start : start + OPEN_AT_ONCE]
                await gather_all(*(v.open(cluster.url, meeting_id) for v in chunk))
            [joined_at] = {v.last or "" for v in viewers}  # all joined before any comment
            spread = cluster.connections()
            assert sum(spread.values()) == VIEWERS
            assert min(spread.values()) >= VIEWERS // 6, spread  # leastconn: about a third each
            victim = cluster.nodes[0]

            final: list[str] = []
            watching = [
                asyncio.create_task(follow(v, cluster.url, meeting_id, final)) for v in viewers
            ]
            commenters = [Commenter(number) for number in range(COMMENTERS)]
            burst = [asyncio.create_task(c.run(ws_url)) for c in commenters]
            await wait_for(
                lambda: sum(len(c.acked) for c in commenters) >= SIGTERM_AFTER,
                what="the burst to be under way",
            )
            acked_before = sum(len(c.acked) for c in commenters)
            victim.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            await wait_for(lambda: cluster.states()[victim.name] != "UP", what="HAProxy: down")
            await wait_for(lambda: not victim.running(), EXIT_BOUND, "the node to exit")
            exited = time.monotonic() - signalled
            acked_by_exit = sum(len(c.acked) for c in commenters)
            await gather_all(*burst)

            entries = await store.record.range(meeting_id, "(" + joined_at, "+", count=10_000)
            final.append(entries[-1][0])
            closes = await gather_all(*watching)
    # The node drained in the middle of the burst: comments were acked before and after.
    assert acked_before < acked_by_exit < COMMENTERS * COMMENTS
    assert victim.process.returncode == 0
    assert exited < EXIT_BOUND
    # Every viewer of the stopped node was told to go (1012), and no other viewer was.
    assert sorted(Counter(tuple(codes) for codes in closes).items()) == [
        ((), VIEWERS - spread[victim.name]),
        ((CLOSE_DRAINING,), spread[victim.name]),
    ]
    # Each viewer has every event since it joined, in order, once: none missed, none twice.
    expected = [entry_id for entry_id, _ in entries]
    for viewer in viewers:
        assert viewer.reloads == 0
        in_order_once(viewer.ids, expected)
    # Every comment is in the record once, under the id its ack gave.
    posted = Counter(e.client_msg_id for _, e in entries if isinstance(e, CommentPosted))
    assert set(posted.values()) == {1}
    recorded = {e.client_msg_id: i for i, e in entries if isinstance(e, CommentPosted)}
    assert recorded == {mid: sid for c in commenters for mid, sid in c.acked.items()}
    assert len(recorded) == COMMENTERS * COMMENTS
    # The commenters on the stopped node were closed 1012 too, and finished on the others.
    assert {code for c in commenters for code in c.closes} <= {CLOSE_DRAINING}
