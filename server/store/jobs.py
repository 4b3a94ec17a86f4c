"""Archive jobs (issue 11): a Redis stream read by one consumer group, so a queued job survives
any crash and is run by one worker at a time, and one hash per job with its state and progress
for `halyq archive --list` and the console.

A job taken and not finished stays pending under its worker. A live worker refreshes its claim
while it downloads (`keep`); one that died stops doing so, and after the reclaim time another
worker claims the job (XAUTOCLAIM) and resumes it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from server.store.client import Redis, translated
from server.store.keys import Keys
from server.store.record import Record

GROUP = "archivers"
KEPT = 10_000
STATES = ("queued", "running", "complete", "failed")


@dataclass(frozen=True, slots=True)
class Job:
    """An archive job as stored: `state` is one of STATES; `percent` is None until yt-dlp knows
    the size; `reason` says why it failed (or why it is retrying); `entry` is its queue entry
    (set on a job a worker holds); `deliveries` counts the workers that took it."""

    id: str
    meeting_id: str
    url: str
    state: str
    queued_at: int
    updated_at: int
    percent: float | None = None
    downloaded: int = 0
    total: int | None = None
    attempt: int = 0
    reason: str = ""
    media: str = ""
    captions: tuple[str, ...] = ()
    live_chat: str = ""
    deliveries: int = 0
    entry: str = ""

    def as_json(self) -> dict[str, Any]:
        """The job as `halyq archive --list --json` and the console's route show it."""
        return {
            "id": self.id, "meeting_id": self.meeting_id, "url": self.url, "state": self.state,
            "percent": self.percent, "downloaded": self.downloaded, "total": self.total,
            "attempt": self.attempt, "reason": self.reason, "media": self.media,
            "captions": list(self.captions), "live_chat": self.live_chat,
            "queued_at": self.queued_at, "updated_at": self.updated_at,
        }  # fmt: skip


class JobStore:
    """Queueing, taking, updating and finishing archive jobs."""

    def __init__(self, redis: Redis, keys: Keys, record: Record) -> None:
        self._redis = redis
        self._keys = keys
        self._record = record
        self._group_ready = False

    @translated
    async def queue(self, meeting_id: str, url: str, now_ms: int) -> Job:
        """A new job, queued: its state first, then its queue entry (a worker finds it whole)."""
        job = Job(secrets.token_hex(8), meeting_id, url, "queued", now_ms, now_ms)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.archive_job(job.id), mapping=_fields(job))
            pipe.zadd(self._keys.archive_jobs(), {job.id: now_ms})
            await pipe.execute()
        await self._record.log(self._keys.archive_queue(), {"job": job.id}, maxlen=KEPT)
        return job

    @translated
    async def take(self, consumer: str, *, block_ms: int, reclaim_ms: int) -> Job | None:
        """The next job for `consumer`: first one whose worker stopped refreshing its claim for
        `reclaim_ms` (it died), else a new one, waiting up to `block_ms` for it."""
        key = self._keys.archive_queue()
        await self._group()
        reply: Any = await self._redis.xautoclaim(key, GROUP, consumer, reclaim_ms, "0-0", count=1)
        entries = [(i, f) for i, f in reply[1] if f]
        if not entries:
            found: Any = await self._redis.xreadgroup(
                GROUP, consumer, {key: ">"}, count=1, block=block_ms or None
            )
            entries = [(i, f) for _, rows in found or [] for i, f in rows]
        if not entries:
            return None
        entry, fields = entries[0]
        deliveries = await self._redis.hincrby(self._keys.archive_job(fields["job"]), "deliveries")
        job = await self.get(str(fields["job"]))
        if job is None:  # its state is gone: nothing to run
            await self._ack(str(entry))
            return None
        return _with(job, entry=str(entry), deliveries=int(deliveries))

    @translated
    async def keep(self, job: Job, consumer: str) -> None:
        """Still working on it: the claim is refreshed, so no other worker reclaims it."""
        await self._redis.xclaim(
            self._keys.archive_queue(), GROUP, consumer, 0, [job.entry], justid=True
        )

    @translated
    async def update(self, job: Job, now_ms: int, **changes: Any) -> Job:
        """The job with `changes` (state, progress, reason...), stored."""
        changed = _with(job, updated_at=now_ms, **changes)
        await self._redis.hset(self._keys.archive_job(job.id), mapping=_fields(changed))
        return changed

    @translated
    async def finish(self, job: Job, now_ms: int, **changes: Any) -> Job:
        """Complete or failed: stored, and its queue entry acknowledged and deleted."""
        done = _with(job, updated_at=now_ms, **changes)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.archive_job(job.id), mapping=_fields(done))
            pipe.xack(self._keys.archive_queue(), GROUP, job.entry)
            pipe.xdel(self._keys.archive_queue(), job.entry)
            await pipe.execute()
        return done

    @translated
    async def get(self, job_id: str) -> Job | None:
        found: Any = await self._redis.hgetall(self._keys.archive_job(job_id))
        return _job(found) if found else None

    @translated
    async def all(self, meeting_id: str = "", count: int = 100) -> list[Job]:
        """The latest `count` jobs, newest first; only the meeting's with `meeting_id`."""
        ids: Any = await self._redis.zrevrange(self._keys.archive_jobs(), 0, -1)
        jobs = []
        for job_id in ids:
            job = await self.get(str(job_id))
            if job is not None and meeting_id in ("", job.meeting_id):
                jobs.append(job)
                if len(jobs) == count:
                    break
        return jobs

    @translated
    async def pending(self) -> list[tuple[str, str]]:
        """(job id, worker) of every job a worker took and did not finish."""
        key = self._keys.archive_queue()
        await self._group()
        rows: Any = await self._redis.xpending_range(key, GROUP, min="-", max="+", count=1000)
        held = []
        for row in rows:
            found: Any = await self._redis.xrange(key, row["message_id"], row["message_id"])
            held += [(str(fields["job"]), str(row["consumer"])) for _, fields in found]
        return held

    async def _ack(self, entry: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._keys.archive_queue(), GROUP, entry)
            pipe.xdel(self._keys.archive_queue(), entry)
            await pipe.execute()

    async def _group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(self._keys.archive_queue(), GROUP, "0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True


def _with(job: Job, **changes: Any) -> Job:
    return Job(**{name: changes.get(name, getattr(job, name)) for name in Job.__slots__})


def _fields(job: Job) -> dict[Any, str]:
    return {
        "id": job.id, "meeting_id": job.meeting_id, "url": job.url, "state": job.state,
        "queued_at": str(job.queued_at), "updated_at": str(job.updated_at),
        "percent": "" if job.percent is None else f"{job.percent:.1f}",
        "downloaded": str(job.downloaded), "total": "" if job.total is None else str(job.total),
        "attempt": str(job.attempt), "reason": job.reason, "media": job.media,
        "captions": "\n".join(job.captions), "live_chat": job.live_chat,
    }  # fmt: skip


def _job(found: dict[str, str]) -> Job:
    return Job(
        id=found["id"],
        meeting_id=found["meeting_id"],
        url=found["url"],
        state=found["state"],
        queued_at=int(found["queued_at"]),
        updated_at=int(found["updated_at"]),
        percent=float(found["percent"]) if found.get("percent") else None,
        downloaded=int(found.get("downloaded") or 0),
        total=int(found["total"]) if found.get("total") else None,
        attempt=int(found.get("attempt") or 0),
        reason=found.get("reason", ""),
        media=found.get("media", ""),
        captions=tuple(c for c in found.get("captions", "").split("\n") if c),
        live_chat=found.get("live_chat", ""),
        deliveries=int(found.get("deliveries") or 0),
    )
