"""The embedded Redis under faults: kill -9 of it, FLT-1 (Redis down, then back) and FLT-7 (disk
full), with the supervisor of `server/store/embedded.py` bringing it back by itself.

Each scenario runs its own `halyq serve` (no REDIS_URL: it starts its embedded redis-server,
`appendfsync always`, in a data folder of its own), the clients of `faultclients.py` (commenters
that resend after `retry` or a transient rejection, viewers that resume), and checks the record
afterwards: every acked comment present once under its id, none answered `rejected` in it. The
test tier (tests/e2e/test_redis_faults.py) runs the same scenarios small.

    .venv/bin/python -m bench.reliability.redis_faults              # the catalogue's numbers
    .venv/bin/python -m bench.reliability.redis_faults --quick      # a smoke run (~1 min)
    .venv/bin/python -m bench.reliability.redis_faults --only flt1

FLT-1 keeps the embedded Redis down by swapping its append-only file for a corrupt one before
the kill (the acked appends go on into the original, which Redis still has open): every restart
fails with Redis's own reason until the file is put back. FLT-7 puts the data folder on a small
tmpfs (root only) and fills it. It prints a JSON summary and writes it to
bench/out/<time>-redis-faults.json; exit status 1 if a criterion failed. Run it alone on the
machine (`flock /tmp/halyq-heavy.lock ...`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.reliability import report
from bench.reliability.faultcheck import attempts as attempts_of
from bench.reliability.faultcheck import (
    check_record,
    check_viewers,
    last_entry,
    read_comments,
    record_criteria,
)
from bench.reliability.faultclients import Attempt, Commenter, Crowd, Node, Viewer, waited
from bench.reliability.report import Result
from moderation import AkimLevel, CreateMeeting, StartMeeting
from server.store import Store
from server.store.embedded import redis_binary, socket_path
from server.usecases import UseCases, change_meeting, create_meeting
from tests.helpers import environment, start_server

PREFIX = "halyq:"
TRANSIENT = ("retry", "rejected:unavailable", "rejected:overloaded")
CORRUPT = b"this is not an append-only file\n"


# Scales: the catalogue's, a quick one (the test tier has its own)


@dataclass(frozen=True, slots=True)
class KillNine:
    """kill -9 of the embedded redis-server while commenters comment (issue 8): no acked comment
    lost, a comment acked again within `ack_within` of the kill with nothing typed."""

    viewers: int = 100
    commenters: int = 20
    interval: float = 0.25  # seconds between one commenter's comments
    warm: int = 3  # acks every commenter has before the kill
    after: float = 10.0  # seconds of commenting after the kill
    ack_within: float = 5.0
    told_within: float = 5.0
    drain: float = 30.0


@dataclass(frozen=True, slots=True)
class RedisDown:
    """FLT-1: the embedded Redis is down for `down` seconds (killed; every restart fails) while
    `commenters` post every `interval` seconds (200 msg/s) to `viewers` viewers."""

    viewers: int = 500
    commenters: int = 200
    interval: float = 1.0
    warm: int = 2
    down: float = 30.0
    answer_within: float = 2.0
    told_within: float = 5.0
    resume_within: float = 5.0  # a comment acked again, once Redis can run again
    acked_within: float = 30.0  # every buffered comment acked, once Redis can run again
    drain: float = 60.0


@dataclass(frozen=True, slots=True)
class DiskFull:
    """FLT-7: the data folder on a `disk_mb` MiB tmpfs, filled while commenters post; freed
    `full_for` seconds after the first failed write."""

    viewers: int = 50
    commenters: int = 20
    interval: float = 0.25
    warm: int = 2
    disk_mb: int = 64
    full_for: float = 10.0
    fail_within: float = 30.0  # seconds of commenting on the full disk before a write fails
    told_within: float = 5.0
    resume_within: float = 5.0
    drain: float = 30.0


FULL: dict[str, Any] = {"kill9": KillNine(), "flt1": RedisDown(), "flt7": DiskFull()}
QUICK: dict[str, Any] = {
    "kill9": KillNine(viewers=20, after=3.0),
    "flt1": RedisDown(viewers=50, commenters=40, interval=0.5, down=5.0),
    "flt7": DiskFull(viewers=10, commenters=10, disk_mb=16, full_for=3.0),
}


# The bed: a `halyq serve` with its own embedded Redis, a live meeting, clients


@dataclass
class Bed:
    """One scenario's server (its Redis is its child), meeting and clients."""

    node: Node
    data: Path
    meeting_id: str
    crowd: Crowd

    @property
    def redis_url(self) -> str:
        return f"unix://{socket_path(self.data)}"

    @property
    def nodes(self) -> list[tuple[str, str]]:
        return [(self.node.name, self.node.ws(self.meeting_id))]

    def redis_pid(self) -> int | None:
        """The live embedded server (valkey-server) the node runs (a killed one not yet reaped
        is a zombie)."""
        program = Path(redis_binary()).name
        for child in psutil.Process(self.node.pid).children():
            with contextlib.suppress(psutil.Error):
                if child.name() == program and child.status() != psutil.STATUS_ZOMBIE:
                    return int(child.pid)
        return None

    def kill_redis(self) -> tuple[int, float]:
        """kill -9 of the embedded server; its PID and the wall time of the kill."""
        pid = self.redis_pid()
        assert pid is not None, "the server runs no embedded valkey-server"
        os.kill(pid, signal.SIGKILL)
        return pid, time.time()

    async def readiness(self) -> tuple[int, str]:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(self.node.server.url + "/readyz")
        return answer.status_code, answer.text

    def clients(self) -> list[Viewer | Commenter]:
        return [*self.crowd.viewers, *self.crowd.commenters]


@contextlib.asynccontextmanager
async def bed(result: Result, workdir: Path, data: Path) -> AsyncIterator[Bed]:
    """`halyq serve` on `data` and a live meeting; stops the clients and the server (by PID)
    however the scenario ends, keeping the server's last log lines."""
    env = environment(
        HALYQ_DATA_DIR=str(data),
        HALYQ_VIEWER_WARMUP_SECONDS="0",  # slow mode is off; warm-up is not under test here
        HALYQ_MAX_CONNECTIONS_PER_ADDRESS="10000",
        HALYQ_ADDRESS_COMMENTS_PER_MINUTE="1200",  # each client has an address of its own;
        HALYQ_ADDRESS_COMMENT_BURST="100",  # the per-address bucket is not under test here
        HALYQ_LOG_LEVEL="info",
    )
    server = await asyncio.to_thread(start_server, workdir, env=env)
    node = Node("a", server)
    crowd = Crowd()
    try:
        meeting_id = await live_meeting(f"unix://{socket_path(data)}")
        yield Bed(node, data, meeting_id, crowd)
    finally:
        with contextlib.suppress(RuntimeError):
            await crowd.close()
        result.logs[node.name] = node.log_tail(25)
        node.stop()


async def live_meeting(redis_url: str) -> str:
    """A live meeting with slow mode off, made as a guest of the server's Redis."""
    store = Store(redis_url, PREFIX)
    try:
        cases = UseCases(store=store)
        meeting = await create_meeting(cases, CreateMeeting(
            title="Әкімнің тұрғындармен кездесуі: Redis сынағы", akim="Сынақ Әкім",
            level=AkimLevel.DISTRICT, territory="Сынақ ауданы", planned_minutes=120,
            slow_mode_seconds=0.0))  # fmt: skip
        await change_meeting(cases, meeting.id, StartMeeting())
    finally:
        await store.close()
    return meeting.id


async def crowd_up(result: Result, place: Bed, viewers: int, commenters: int, interval: float,
                   warm: int) -> bool:  # fmt: skip
    """Viewers served and every commenter with `warm` acks; False (and a failed check) if not."""
    for _ in range(viewers):
        place.crowd.viewer(place.nodes)
    for _ in range(commenters):
        place.crowd.commenter("c", place.nodes, count=None, interval=interval)
    ready = await waited(
        lambda: place.crowd.all_served() and all(c.acked >= warm for c in place.crowd.commenters),
        60.0 + viewers / 50,
    )
    result.figures["warm_up_s"] = ready
    if ready is None:
        result.check("the crowd is up before the fault", False, None, "within 60 s")
    return ready is not None


async def settle(result: Result, place: Bed, drain: float) -> float | None:
    """No new comments; every pending one resent until acked. Then the record check: acked means
    present once under its id; none answered `rejected` is in it; viewers gap-free."""
    for commenter in place.crowd.commenters:
        commenter.stop()
    drained = await waited(place.crowd.finished, drain)
    result.check("every comment settled by resending, with no command typed", drained is not None,
                 drained, f"within {drain} s")  # fmt: skip
    last = await last_entry(place.redis_url, PREFIX, place.meeting_id)
    await waited(lambda: place.crowd.caught_up(last), 10.0)
    entries = await read_comments(place.redis_url, PREFIX, place.meeting_id)
    record_criteria(
        result,
        check_record(entries, place.crowd.commenters),
        check_viewers(entries, place.crowd.viewers),
    )
    return drained


# What the clients saw


def attempts(place: Bed) -> list[Attempt]:
    return attempts_of(place.crowd.commenters)


def first_ack(place: Bed, sent_after: float) -> float | None:
    """Seconds from `sent_after` to the first ack of a comment sent after it."""
    acks = [a.answered for a in attempts(place) if a.answer == "ack" and a.sent > sent_after]
    return min(acks) - sent_after if acks else None


def first_status(client: Viewer | Commenter, state: str, since: float,
                 reasons: tuple[str, ...] = ()) -> float | None:  # fmt: skip
    """Seconds from `since` to the client's first `state` status (with one of `reasons`)."""
    return next((t - since for t, s, r in client.statuses
                 if s == state and t >= since and (not reasons or r in reasons)), None)  # fmt: skip


def told(place: Bed, state: str, since: float, reasons: tuple[str, ...] = ()) -> bool:
    return all(first_status(c, state, since, reasons) is not None for c in place.clients())


def check_told(result: Result, place: Bed, state: str, since: float, within: float,
               reasons: tuple[str, ...] = ()) -> None:  # fmt: skip
    """Every viewer and commenter socket got a `state` status within `within` of `since`."""
    delays = [first_status(c, state, since, reasons) for c in place.clients()]
    known = [d for d in delays if d is not None]
    result.check(
        f"every socket told `{state}`{' (' + ', '.join(reasons) + ')' if reasons else ''}"
        f" within {within:g} s",
        len(known) == len(delays) and max(known, default=0) <= within,
        {"told": len(known), "of": len(delays), "slowest_s": max(known, default=None)},
        f"all, within {within} s",
    )


def answers(found: Iterable[Attempt]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for attempt in found:
        counts[attempt.answer or "none"] = counts.get(attempt.answer or "none", 0) + 1
    return counts


def drops(place: Bed, start: float, end: float) -> int:
    """Connections of viewers and commenters lost between the wall times given."""
    return sum(1 for c in place.clients() for t in c.drops if start <= t < end)


def no_path(text: str, place: Bed) -> bool:
    return str(place.data) not in text and str(socket_path(place.data).parent) not in text


async def check_unready(result: Result, place: Bed, label: str, reason: str) -> None:
    """`/readyz` answers 503, `redis_start_failed` with Redis's `reason`, and names no path."""
    status, body = await place.readiness()
    result.check(
        f"/readyz: 503, redis_start_failed {label}, no file path",
        status == 503
        and '"redis_start_failed"' in body
        and reason in body
        and no_path(body, place),
        {"status": status, "body": body[:400]},
        "503, the reason, no path",
    )


# kill -9 of the embedded redis-server


async def kill_nine(workdir: Path, scale: KillNine) -> Result:
    """The supervisor reaps the killed server and starts it again on the same folder; clients
    that resend what was refused meanwhile get every comment acked once."""
    result = Result("kill -9 of the embedded Redis", dataclasses.asdict(scale))
    async with bed(result, workdir, workdir / "data") as place:
        if not await crowd_up(result, place, scale.viewers, scale.commenters, scale.interval,
                              scale.warm):  # fmt: skip
            return result
        server_pid = place.node.pid
        old, killed = place.kill_redis()
        again = await waited(lambda: first_ack(place, killed) is not None, scale.ack_within + 10)
        acked_after = first_ack(place, killed)
        result.check(f"a comment acked again within {scale.ack_within:g} s of the kill",
                     acked_after is not None and acked_after <= scale.ack_within, acked_after,
                     f"<= {scale.ack_within} s")  # fmt: skip
        await waited(lambda: told(place, "ok", killed), scale.told_within + 10)
        check_told(result, place, "degraded", killed, scale.told_within,
                   ("redis_restarting", "redis_unreachable"))  # fmt: skip
        check_told(result, place, "ok", killed, scale.ack_within)
        reaped = await waited(lambda: not psutil.pid_exists(old), 5.0)
        result.check("the killed redis-server reaped (no zombie)", reaped is not None,
                     reaped, "gone within 5 s")  # fmt: skip
        new = place.redis_pid()
        result.check("a new redis-server, started by the same server process",
                     new is not None and new != old and place.node.server.process.poll() is None
                     and place.node.pid == server_pid, {"old": old, "new": new},
                     "a new PID, the server not restarted")  # fmt: skip
        await asyncio.sleep(max(0.0, killed + scale.after - time.time()))
        metrics = await place.node.metrics()
        result.check("halyq_redis_restarts_total is 1", metrics.get("halyq_redis_restarts_total")
                     == 1, metrics.get("halyq_redis_restarts_total"), "1")  # fmt: skip
        result.figures["answers_after_kill"] = answers(
            a for a in attempts(place) if killed <= a.sent < killed + (again or 0)
        )
        await settle(result, place, scale.drain)
    return result


# FLT-1: Redis down, then back


def appended_to(data: Path) -> Path:
    """The file the server in `data` appends to: the last incremental file its manifest names
    in appendonlydir/ (Redis >= 7, Valkey), else appendonly.aof (Redis 6)."""
    manifest = data / "appendonlydir" / "appendonly.aof.manifest"
    if not manifest.exists():
        return data / "appendonly.aof"
    # "file appendonly.aof.1.incr.aof seq 1 type i" per file, in order
    files = [line.split() for line in manifest.read_text().splitlines()]
    return manifest.parent / [words[1] for words in files if words[-1] == "i"][-1]


@contextlib.contextmanager
def corrupt_append_only_file(data: Path) -> Iterator[Callable[[], None]]:
    """The append-only file swapped for a corrupt one: the running server keeps appending to
    the original (it has it open), and a restart fails until `put_back` is called."""
    aof = appended_to(data)
    kept = aof.with_name(aof.name + ".kept")
    os.replace(aof, kept)
    aof.write_bytes(CORRUPT)

    def put_back() -> None:
        if kept.exists():
            os.replace(kept, aof)

    try:
        yield put_back
    finally:
        put_back()


async def redis_down(workdir: Path, scale: RedisDown) -> Result:
    """FLT-1: while down, every submission is answered `unavailable` (or `retry`) within 2 s,
    none is acked, sockets stay open and are told `degraded`; once Redis can run again the
    supervisor starts it, commenting resumes by itself, every buffered comment is acked once."""
    result = Result("FLT-1 Redis down, then back", dataclasses.asdict(scale))
    async with bed(result, workdir, workdir / "data") as place:
        if not await crowd_up(result, place, scale.viewers, scale.commenters, scale.interval,
                              scale.warm):  # fmt: skip
            return result
        server_pid = place.node.pid
        with corrupt_append_only_file(place.data) as put_back:
            _, down = place.kill_redis()
            await waited(lambda: told(place, "degraded", down, ("redis_start_failed",)),
                         scale.told_within + 10)  # fmt: skip
            check_told(result, place, "degraded", down, scale.told_within)
            check_told(result, place, "degraded", down, scale.told_within,
                       ("redis_start_failed",))  # fmt: skip
            await check_unready(result, place, "with Redis's reason", "Bad file format")
            await asyncio.sleep(max(0.0, down + scale.down - time.time()))
            put_back()
            up = time.time()
        _down_criteria(result, place, scale, down, up)
        await waited(lambda: first_ack(place, up) is not None, scale.resume_within + 10)
        resumed = first_ack(place, up)
        result.check(f"commenting resumes within {scale.resume_within:g} s of Redis being able"
                     " to run", resumed is not None and resumed <= scale.resume_within,
                     resumed, f"<= {scale.resume_within} s")  # fmt: skip
        await waited(lambda: told(place, "ok", up), scale.told_within + 10)
        check_told(result, place, "ok", up, scale.resume_within + 1)
        result.check("no process restart", place.node.pid == server_pid
                     and place.node.server.process.poll() is None, place.node.pid,
                     "the same server process")  # fmt: skip
        drained = await settle(result, place, scale.drain)
        everything = (time.time() - up) if drained is not None else None
        result.check(f"every buffered comment acked within {scale.acked_within:g} s of the return",
                     everything is not None and everything <= scale.acked_within, everything,
                     f"<= {scale.acked_within} s")  # fmt: skip
    result.notes.append("Restarts of the embedded Redis back off from 0.2 s to 3 s (at most"
                        " 5 a second); the health check pings twice a second.")  # fmt: skip
    return result


def _down_criteria(result: Result, place: Bed, scale: RedisDown, down: float, up: float) -> None:
    during = [a for a in attempts(place) if down <= a.sent < up]
    acked = [a for a in during if a.answer == "ack" and a.answered < up]
    result.check("0 acks while Redis is down", not acked, len(acked), "0")
    judged = [a for a in during if a.sent < up - scale.answer_within]
    slow = [a for a in judged if a.answer not in TRANSIENT
            or a.answered - a.sent > scale.answer_within]  # fmt: skip
    delays = [a.answered - a.sent for a in judged if a.answered]
    result.check(f"every submission answered `unavailable` or `retry` within"
                 f" {scale.answer_within:g} s", bool(judged) and not slow,
                 {"judged": len(judged), "late_or_other": len(slow),
                  "slowest_s": max(delays, default=None)},
                 f"each of >= 1 within {scale.answer_within} s")  # fmt: skip
    result.figures["answers_while_down"] = answers(during)
    lost = drops(place, down, up)
    result.check("sockets stay open while Redis is down", lost == 0, lost, "0 dropped")


# FLT-7: disk full


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[Path]:
    """A tmpfs of `megabytes` MiB mounted on `folder` (root only); unmounted on the way out."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
                   check=True, capture_output=True, timeout=30)  # fmt: skip
    try:
        yield folder
    finally:
        done = subprocess.run(["umount", str(folder)], capture_output=True, timeout=30,
                              check=False)  # fmt: skip
        if done.returncode != 0:  # still busy: let it go once its last file closes
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30,
                           check=False)  # fmt: skip


def fill(path: Path) -> int:
    """Write `path` until its disk is full; the bytes written."""
    written = 0
    with path.open("wb", buffering=0) as file:
        for chunk in (1 << 20, 4096, 512):
            block = b"\0" * chunk
            while True:
                try:
                    written += file.write(block) or 0
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    return written


async def disk_full(workdir: Path, scale: DiskFull) -> Result:
    """FLT-7: from the first failed write on, 0 acks and a degraded status within 5 s; once
    space is freed the supervisor starts Redis again, and no acked comment is lost."""
    result = Result("FLT-7 disk full", dataclasses.asdict(scale))
    with small_disk(workdir / "disk", scale.disk_mb) as disk:
        async with bed(result, workdir, disk / "data") as place:
            if not await crowd_up(result, place, scale.viewers, scale.commenters,
                                  scale.interval, scale.warm):  # fmt: skip
                return result
            filler = disk / "filler"
            filled = time.time()
            result.figures["filler_bytes"] = await asyncio.to_thread(fill, filler)
            await waited(lambda: _first_failure(place, filled) is not None, scale.fail_within)
            failed = _first_failure(place, filled)
            result.check("a write fails once the disk is full", failed is not None,
                         None if failed is None else failed - filled,
                         f"within {scale.fail_within} s")  # fmt: skip
            if failed is None:
                filler.unlink()
                return result
            await waited(lambda: told(place, "degraded", failed, ("redis_start_failed",)),
                         scale.told_within + 10)  # fmt: skip
            check_told(result, place, "degraded", failed, scale.told_within)
            await check_unready(result, place, "(no space)", "no space left")
            await asyncio.sleep(max(0.0, failed + scale.full_for - time.time()))
            filler.unlink()
            freed = time.time()
            full = [a for a in attempts(place) if failed <= a.sent < freed]
            acked = [a for a in full if a.answer == "ack" and a.answered < freed]
            result.check("0 acks from the first failed write until space is freed", not acked,
                         len(acked), "0")  # fmt: skip
            result.figures["answers_while_full"] = answers(full)
            await waited(lambda: first_ack(place, freed) is not None, scale.resume_within + 10)
            resumed = first_ack(place, freed)
            result.check(f"Redis back by itself and commenting resumes within"
                         f" {scale.resume_within:g} s of freeing space",
                         resumed is not None and resumed <= scale.resume_within, resumed,
                         f"<= {scale.resume_within} s")  # fmt: skip
            await waited(lambda: told(place, "ok", freed), scale.told_within + 10)
            check_told(result, place, "ok", freed, scale.resume_within + 1)
            await settle(result, place, scale.drain)
    return result


def _first_failure(place: Bed, since: float) -> float | None:
    """When the first comment sent after `since` was answered with anything but an ack."""
    failed = [a.answered for a in attempts(place)
              if a.sent >= since and a.answered and a.answer in TRANSIENT]  # fmt: skip
    return min(failed) if failed else None


# Running it


SCENARIOS: dict[str, Callable[[Path, Any], Awaitable[Result]]] = {
    "kill9": kill_nine,
    "flt1": redis_down,
    "flt7": disk_full,
}


async def run(names: list[str], scales: dict[str, Any]) -> list[Result]:
    results = []
    with tempfile.TemporaryDirectory(prefix="halyq-redis-faults-") as tmp:
        for name in names:
            (Path(tmp) / name).mkdir()
            results.append(await SCENARIOS[name](Path(tmp) / name, scales[name]))
    return results


def main(argv: list[str] | None = None) -> int:
    return report.main(
        argv,
        prog="python -m bench.reliability.redis_faults",
        description=report.headline(__doc__),
        out="redis-faults",
        run=lambda names, quick: asyncio.run(run(names, QUICK if quick else FULL)),
        scenarios=list(SCENARIOS),
    )


if __name__ == "__main__":
    raise SystemExit(main())
