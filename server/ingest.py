"""The broadcast on this node (issue 16): the studio's RTMP ingest and the manager of every
meeting's ffmpeg, started and stopped with the app, and what every node needs to answer for them
(the status snapshot in Redis, the empty status before any broadcast).

A studio is let in when its stream key is a meeting's now and that meeting is live (R3: a
broadcast belongs to a live meeting). Every second the status of each meeting broadcasting here
goes to Redis (with a short time to live, so that a dead node's snapshot lapses), and a meeting
that ended has its broadcast ended: its studio let go, its outputs stopped, its playlist closed.

With `HALYQ_WORKERS` > 1 every worker process builds the app: the first to bind the RTMP port
runs the ingest and its ffmpeg; the others serve the same files from the data folder and answer
`/broadcast` from the snapshot.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
from typing import Any

from moderation import MeetingStatus
from server.auth.keys import stream_key_meeting
from server.broadcast.ffmpeg import Output, ffmpeg_program, masked
from server.broadcast.manager import Broadcasts
from server.broadcast.rtmp import Publishing, RtmpServer, start_rtmp
from server.services import Services
from server.settings import SettingsError
from server.store import StoreUnavailable
from server.usecases.broadcast import broadcast_changed

logger = logging.getLogger(__name__)

APP = "live"  # rtmp://HOST:PORT/live/<stream key>
SNAPSHOT_EVERY = 1.0  # seconds
SNAPSHOT_TTL = 10  # seconds a snapshot outlives the node that stopped writing it


class Ingest:
    """The ingest of this process: `broadcasts` (None when `HALYQ_RTMP_PORT` is not set) and
    `rtmp` (None also in a worker that did not get the port)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.broadcasts: Broadcasts | None = None
        self.rtmp: RtmpServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._reported: set[str] = set()  # meetings whose snapshot this process writes

    @property
    def port(self) -> int:
        """The RTMP port this process listens on; 0: none."""
        return self.rtmp.port if self.rtmp is not None else 0

    async def start(self) -> None:
        settings, cases = self.services.settings, self.services.usecases
        if not settings.rtmp_port:
            return
        self.broadcasts = Broadcasts(
            folder=settings.data_dir / "broadcast",
            ffmpeg=ffmpeg_program(settings.ffmpeg),
            grace=settings.broadcast_grace_seconds,
            segment_seconds=settings.hls_segment_seconds,
            list_size=settings.hls_list_size,
            low_rendition=settings.hls_low_rendition,
            outputs=self.outputs,
            changed=functools.partial(broadcast_changed, cases),
        )
        host = settings.rtmp_host or settings.host
        try:
            self.rtmp = await start_rtmp(host, settings.rtmp_port, self.authorize)
        except OSError as error:
            if settings.workers > 1 and error.errno == errno.EADDRINUSE:
                logger.info("rtmp: another worker of this node runs the ingest")
                return
            raise SettingsError(
                f"cannot listen on {host}:{settings.rtmp_port} (RTMP): {error.strerror or error}"
            ) from None
        logger.info("rtmp: the ingest listens on %s:%d", host, self.rtmp.port)
        self._task = asyncio.get_running_loop().create_task(self._snapshots())

    async def stop(self) -> None:
        """The RTMP server first (no studio comes in any more), then every ffmpeg."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.rtmp is not None:
            await self.rtmp.aclose()
        if self.broadcasts is not None:
            await self.broadcasts.aclose()

    async def outputs(self, meeting_id: str) -> list[Output]:
        """The meeting's restream destinations (`halyq meeting outputs`), for the manager."""
        found = await self.services.store.broadcasts.outputs(meeting_id)
        return [Output(name, url) for name, url in found.items()]

    async def authorize(self, app: str, key: str, peer: str) -> Publishing | None:
        """The studio's session, or None: a wrong app or key, a meeting not live (R3), or one
        whose studio is connected already. Logged without the key, which is a secret."""
        assert self.broadcasts is not None
        store = self.services.store
        meeting_id = await stream_key_meeting(store, key) if app == APP else None
        if meeting_id is None:
            logger.warning("rtmp: %s refused: not a stream key of a meeting", peer)
            return None
        meeting = await store.meetings.get(meeting_id)
        if meeting is None or meeting.status is not MeetingStatus.LIVE:
            logger.warning("rtmp: %s refused: meeting %s is not live (R3)", peer, meeting_id)
            return None
        session = await self.broadcasts.publish(meeting_id)
        if session is None:
            logger.warning("rtmp: %s refused: meeting %s has its studio already", peer, meeting_id)
        return session

    async def status(self, meeting_id: str, broadcast: str) -> dict[str, Any]:
        """`GET /api/meetings/{id}/broadcast`: this process's status while it runs the
        broadcast, else the snapshot of the node that does, else this process's last (an ended
        broadcast), else an empty status in the state the record knows (`broadcast`)."""
        here = self.broadcasts
        if here is not None and meeting_id in here.live:
            found = here.status(meeting_id)
            assert found is not None
            return found
        snapshot = await self.services.store.broadcasts.status(meeting_id)
        if snapshot is not None:
            return snapshot
        if here is not None and (found := here.status(meeting_id)) is not None:
            return found
        return await self._empty(meeting_id, broadcast)

    async def _empty(self, meeting_id: str, state: str) -> dict[str, Any]:
        outputs = await self.services.store.broadcasts.outputs(meeting_id)
        return {
            "meeting": meeting_id, "state": state,
            "ingest": {"state": state, "since": 0, "bitrate_kbps": 0, "part": 0,
                       "grace_until": 0, "video": "", "audio": ""},
            "hls": {"state": "stopped", "playlist": f"/m/{meeting_id}/live.m3u8", "restarts": 0,
                    "low_rendition": self.services.settings.hls_low_rendition},
            "outputs": [{"name": name, "url": masked(url), "state": "stopped", "restarts": 0,
                         "error": "", "retry_at": 0, "bitrate_kbps": 0}
                        for name, url in outputs.items()],
            "recording": {"bytes": 0, "parts": []},
        }  # fmt: skip

    async def _snapshots(self) -> None:
        """Every second: each broadcast's status to Redis (one last time after it left), and
        the broadcast of a meeting that ended, ended."""
        while True:
            try:
                await self.snapshot()
            except StoreUnavailable as error:
                logger.warning("broadcast: status not stored now (%s)", error)
            except Exception:  # the task's root: logged, and tried again in a second
                logger.exception("broadcast: the status snapshot failed")
            await asyncio.sleep(SNAPSHOT_EVERY)

    async def snapshot(self) -> None:
        broadcasts, store = self.broadcasts, self.services.store
        assert broadcasts is not None
        live = broadcasts.live
        for meeting_id in sorted(live | self._reported):
            meeting = await store.meetings.get(meeting_id)
            if meeting_id in live and (meeting is None or meeting.status is MeetingStatus.ENDED):
                await broadcasts.end(meeting_id)  # R3: the broadcast ends with the meeting
            status = broadcasts.status(meeting_id)
            assert status is not None  # it broadcast here: it has one
            await store.broadcasts.report(meeting_id, status, SNAPSHOT_TTL)
        self._reported = set(broadcasts.live)
