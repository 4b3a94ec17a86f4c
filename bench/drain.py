"""A node drained during a burst, behind HAProxy (issue 15): the long version of
tests/e2e/test_balancer.py's scenario.

    python -m bench.drain --viewers 2000 --commenters 10 --comments 300 [--nodes 3] [--runs 3]

N nodes on one embedded Redis behind HAProxy (`bench/balancer.py`, from deploy/haproxy.cfg); V
viewers connect through the balancer, C commenters send a burst through it, and once A comments
are acknowledged the first node gets SIGTERM. Each viewer reconnects through the balancer on
1012 with `after` and `epoch`, as the page does; each commenter sends again what was not
acknowledged, as the page does. It measures how long the node took to exit, how many viewers it
had, how long they took to be back (the close to the catch-up on another node), and checks that
every viewer shows every event since it joined once and in order, and that every acknowledged
comment is in the record once under the id its ack gave. A run fails on any gap, duplicate or
lost ack. Figures go to `bench/results.md` ("Draining a node behind HAProxy").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench import report
from bench.balanced import NODE_SETTINGS, create_meeting
from bench.balancer import Balanced, balanced
from moderation import CommentPosted
from server.cli.serve import DRAIN_NOTICE
from server.fanout.uvicorn import SETTINGS
from server.store import Store
from server.store.embedded import EmbeddedRedis
from tests.helpers import TIMEOUT, comment, wait_for
from tests.viewers import Viewer, closing, gather_all, in_order_once

OPEN_AT_ONCE = 100  # viewers connecting together (a storm is another scenario's concern)
EXIT_BOUND = DRAIN_NOTICE + SETTINGS["timeout_graceful_shutdown"] + 5.0
AGAIN = ("rate_limited", "overloaded", "unavailable")  # not recorded: send it again later
UNAVAILABLE_WAIT = 3.0  # seconds
PATIENCE = 120.0  # seconds a commenter or a viewer has to finish, however large the run


@dataclass(frozen=True, slots=True)
class Drain:
    """One run's shape: `comments` per commenter, SIGTERM once `sigterm_after` are acked."""

    viewers: int = 600
    commenters: int = 10
    comments: int = 60
    sigterm_after: int = 200
    nodes: int = 3


@dataclass(slots=True)
class Drained:
    """What one run saw (see the module); `problems` is empty when nothing was missed, shown
    twice or lost."""

    spread: dict[str, int]
    victim: str
    acked_before: int
    acked_by_exit: int
    acked: int
    returncode: int | None
    exited_s: float
    closes: dict[str, int]  # each viewer's close codes, joined ("" for none) -> viewers
    commenter_closes: list[int]
    back_ms: list[float]  # each moved viewer's close to its catch-up elsewhere
    recorded: int
    problems: list[str] = field(default_factory=list)


class Commenter:
    """A client on the balancer that sends its comments, keeps the acks, sends again what it
    was told to (after `retry_after`) and, when its socket closes, reconnects through the
    balancer and sends again everything not acknowledged, as the page does."""

    def __init__(self, number: int, comments: int) -> None:
        self.ids = [f"c{number:03d}-{i:04d}" for i in range(comments)]
        self.acked: dict[str, str] = {}
        self.closes: list[int] = []
        self._later: set[asyncio.TimerHandle] = set()

    async def run(self, url: str) -> None:
        deadline = time.monotonic() + PATIENCE
        while len(self.acked) < len(self.ids):
            assert time.monotonic() < deadline, "the commenter never got all its acks"
            with contextlib.suppress(ConnectionClosed):
                async with connect(url, open_timeout=TIMEOUT, compression=None) as ws:
                    for client_msg_id in self.ids:
                        if client_msg_id not in self.acked:
                            await ws.send(comment(client_msg_id, f"Сұрақ {client_msg_id}"))
                    await self._answers(ws)
                    return
            self.closes.append(ws.close_code or 0)
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

        # `unavailable` may come without a wait: the page waits 3 s then (docs/protocol.md).
        wait = frame.get("retry_after", UNAVAILABLE_WAIT)
        self._later.add(asyncio.get_running_loop().call_later(wait, send))


async def follow(
    viewer: Viewer, url: str, meeting_id: str, final: list[str], back_ms: list[float]
) -> list[int]:
    """Read until the viewer has the record's last id; each time its socket closes, resume
    through the balancer with `after` and `epoch` (as the page does), timing the way back.
    Returns the close codes."""
    codes: list[int] = []
    deadline = time.monotonic() + PATIENCE
    while not (final and viewer.has_seen(final[0])):
        assert time.monotonic() < deadline, "a viewer never caught up"
        try:
            await viewer.read_until(lambda v: bool(final) and v.has_seen(final[0]), 0.5)
        except TimeoutError:
            continue
        except ConnectionClosed:
            assert viewer.ws is not None
            codes.append(viewer.ws.close_code or 0)
            closed = time.perf_counter()
            await viewer.open(url, meeting_id)
            back_ms.append((time.perf_counter() - closed) * 1000)
    return codes


async def drain(cluster: Balanced, store: Store, meeting_id: str, shape: Drain) -> Drained:
    """One run on a running `cluster` whose meeting `meeting_id` is live (see the module)."""
    ws_url = "ws" + cluster.url.removeprefix("http") + f"/ws/meetings/{meeting_id}"
    viewers = [Viewer() for _ in range(shape.viewers)]
    async with closing(viewers):
        for start in range(0, shape.viewers, OPEN_AT_ONCE):
            chunk = viewers[start : start + OPEN_AT_ONCE]
            await gather_all(*(v.open(cluster.url, meeting_id) for v in chunk))
        [joined_at] = {v.last or "" for v in viewers}  # all joined before any comment
        spread = cluster.connections()
        victim = cluster.nodes[0]
        final: list[str] = []
        back_ms: list[float] = []
        watching = [
            asyncio.create_task(follow(v, cluster.url, meeting_id, final, back_ms)) for v in viewers
        ]
        commenters = [Commenter(number, shape.comments) for number in range(shape.commenters)]
        burst = [asyncio.create_task(c.run(ws_url)) for c in commenters]
        await wait_for(
            lambda: sum(len(c.acked) for c in commenters) >= shape.sigterm_after,
            PATIENCE,  # one client process reads every viewer: a large run is slow to start
            "the burst to be under way",
        )
        acked_before = sum(len(c.acked) for c in commenters)
        victim.process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        await wait_for(lambda: cluster.states()[victim.name] != "UP", what="HAProxy: down")
        await wait_for(lambda: not victim.running(), EXIT_BOUND, "the node to exit")
        exited = time.monotonic() - signalled
        acked_by_exit = sum(len(c.acked) for c in commenters)
        await gather_all(*burst)
        entries = await store.record.range(meeting_id, "(" + joined_at, "+", count=1_000_000)
        final.append(entries[-1][0])
        closes = await gather_all(*watching)
    expected = [entry_id for entry_id, _ in entries]
    recorded = {e.client_msg_id: i for i, e in entries if isinstance(e, CommentPosted)}
    acked = {mid: sid for c in commenters for mid, sid in c.acked.items()}
    return Drained(
        spread=spread,
        victim=victim.name,
        acked_before=acked_before,
        acked_by_exit=acked_by_exit,
        acked=len(acked),
        returncode=victim.process.returncode,
        exited_s=exited,
        closes=dict(Counter(",".join(map(str, codes)) for codes in closes)),
        commenter_closes=[code for c in commenters for code in c.closes],
        back_ms=back_ms,
        recorded=len(recorded),
        problems=_problems(viewers, expected, entries, recorded, acked),
    )


def _problems(
    viewers: list[Viewer],
    expected: list[str],
    entries: list[tuple[str, Any]],
    recorded: dict[str, str],
    acked: dict[str, str],
) -> list[str]:
    problems = []
    for number, viewer in enumerate(viewers):
        if viewer.reloads:
            problems.append(f"viewer {number} was told to reload")
        try:
            in_order_once(viewer.ids, expected)
        except (AssertionError, ValueError) as error:
            problems.append(f"viewer {number}: {error or 'nothing of the burst shown'}")
    posted = Counter(e.client_msg_id for _, e in entries if isinstance(e, CommentPosted))
    problems += [f"{mid} recorded {n} times" for mid, n in posted.items() if n != 1]
    if recorded != acked:
        lost = sorted(set(acked) - set(recorded))
        problems.append(f"acked and recorded differ ({len(lost)} acked, not in the record)")
    return problems


# Command line


def run(shape: Drain, runs: int) -> list[Drained]:
    """`runs` runs, each on a fresh Redis and fresh nodes; blocks."""
    env = NODE_SETTINGS  # every client is 127.0.0.1 behind the balancer: no per-address caps
    results = []
    for _ in range(runs):
        with (
            tempfile.TemporaryDirectory(prefix="halyq-bench-drain-") as folder,
            EmbeddedRedis(Path(folder) / "redis") as redis,
        ):
            meeting = create_meeting(Path(folder) / "redis")
            with balanced(redis.url, Path(folder) / "nodes", nodes=shape.nodes, env=env) as lb:
                results.append(asyncio.run(_once(lb, redis.url, meeting, shape)))
    return results


async def _once(lb: Balanced, url: str, meeting: str, shape: Drain) -> Drained:
    store = Store(url)
    try:
        return await drain(lb, store, meeting, shape)
    finally:
        await store.close()


def row(shape: Drain, result: Drained, commit: str) -> str:
    """One line of the results table."""
    back = sorted(result.back_ms) or [0.0]
    p99 = back[min(len(back) - 1, int(len(back) * 0.99))]
    moved = result.spread.get(result.victim, 0)
    return (
        f"| {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} | {commit} | {report.machine()} "
        f"| {shape.nodes} | {shape.viewers:,} ({moved:,} on the stopped node) "
        f"| {shape.commenters} x {shape.comments} | {result.acked_before:,} / "
        f"{result.acked_by_exit:,} / {result.acked:,} | {result.exited_s:.1f} "
        f"| {back[len(back) // 2]:.0f}/{p99:.0f}/{back[-1]:.0f} | {result.recorded:,} "
        f"| {len(result.problems)} | {'PASS' if not result.problems else 'FAIL'} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drain", description=__doc__)
    parser.add_argument("--viewers", type=int, default=2000)
    parser.add_argument("--commenters", type=int, default=10)
    parser.add_argument("--comments", type=int, default=300, help="per commenter")
    parser.add_argument("--sigterm-after", type=int, default=0, help="acks (default: a third)")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args(argv)
    total = args.commenters * args.comments
    shape = Drain(
        viewers=args.viewers,
        commenters=args.commenters,
        comments=args.comments,
        sigterm_after=args.sigterm_after or total // 3,
        nodes=args.nodes,
    )
    commit = report.commit()
    failed = False
    for result in run(shape, args.runs):
        sys.stdout.write(json.dumps(asdict(result) | {"back_ms": len(result.back_ms)}) + "\n")
        sys.stdout.write(row(shape, result, commit) + "\n")
        failed |= bool(result.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
